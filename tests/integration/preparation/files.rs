//! Files renamed in the randomized preparation: a DJ renames a track's file in the work tree and
//! commits; Mixxx's rescan marks the old row missing and adds an empty row at the new path
//! ([`rescan_after_rename`]); every other laptop's Mixxx does the same once `git annex sync`
//! brings the rename. Track `t` is renamed by laptop `t % 3` only, so no two laptops rename one
//! file concurrently (that would be git's rename/rename conflict, not git-mixxx's).

use super::{Crew, TRACKS, key_of};
use crate::laptops::rescan_after_rename;
use crate::util::loc;

impl Crew {
    /// Laptop `i` renames one of its tracks' files and its Mixxx rescans.
    pub(super) fn rename_file(&mut self, i: usize) {
        let mine: Vec<usize> = (0..TRACKS)
            .filter(|t| t % 3 == i && !self.laptops[i].pending.contains(t))
            .collect();
        if mine.is_empty() {
            return;
        }
        let t = *self.dice.pick(&mine);
        let repo = self.laptops[i].repo.clone();
        let old = self.laptops[i].files[t].clone();
        let new = format!("music/t{t}-{}.flac", self.log.len());
        self.env.git(&repo, &["mv", &old, &new]);
        self.env
            .git(&repo, &["commit", "-q", "-m", &format!("Rename {old}")]);
        self.say(format!("{i}: git mv {old} {new}"));
        self.moved(i, t, &new);
    }

    /// After `git annex sync` on laptop `i`: its Mixxx rescans the files other laptops renamed.
    pub(super) fn follow_renames(&mut self, i: usize) {
        let repo = self.laptops[i].repo.clone();
        let listed = self.env.git(&repo, &["ls-files", "music"]);
        for file in listed.lines() {
            let key = key_of(&repo, file);
            let t = (self.keys.iter().position(|k| *k == key)).expect("a file of a track");
            if self.laptops[i].files[t] != file {
                self.say(format!("{i}: Mixxx rescans t{t} at {file}"));
                self.moved(i, t, file);
            }
        }
    }

    /// Track `t`'s file is at `new` in laptop `i`'s work tree: its Mixxx rescans.
    fn moved(&mut self, i: usize, t: usize, new: &str) {
        let l = &mut self.laptops[i];
        let (old, new_loc) = (loc(&l.repo, &l.files[t]), loc(&l.repo, new));
        rescan_after_rename(&l.db, &old, &new_loc);
        l.known.insert(new_loc, t);
        l.files[t] = new.to_owned();
        l.pending.insert(t);
    }
}

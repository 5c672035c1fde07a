//! What `undo` puts back of a run, per kind of change: the run's commit changed branch files of
//! a few kinds ([`Kind`]), each read and reverted its own way into [`FileRevert`]s.
//!
//! In a key's metadata log, each field the run changed reverts part by part, by the shape of
//! its value ([`crate::fields`]): a single value (a rating, a key, the beat grid) is one part,
//! the whole value; a set (crate and playlist memberships) has one part per element; cues have
//! one part per cue, by its kind and slot ([`Cue::identity`]). A part that holds what the run
//! left is put back as it was before the run; one that holds that again needs nothing; one
//! changed again since is left alone unless forced. Parts the run did not change (a cue or a
//! crate another laptop added) are never touched, forced or not. Play counts and last played
//! (and history sessions, which are no metadata) record what was played: undo leaves them.

use super::log::{self, Atom, Commit};
use super::{FileRevert, Result, Revert};
use crate::annex::logmet::{self, MetLog, Order, Timestamp};
use crate::annex::{Annex, key};
use crate::fields::cue::Cue;
use crate::fields::{Field, Source, plays};
use crate::sync::branch::{self, Logs};
use crate::sync::order;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The kinds of branch files a run writes that undo puts back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A key's metadata log (`.log.met`).
    Metadata { key: String },
    /// A playlist's order file (`mixxx/playlists/<id>.log`), reverted by [`super::order`].
    Order,
}

impl Kind {
    /// The kind of the branch file at `path`, if undo reverts it.
    pub fn of(path: &str) -> Option<Kind> {
        if order::line::is_file(path) {
            return Some(Kind::Order);
        }
        key::key_of_metadata_log_path(path).map(|key| Kind::Metadata { key })
    }
}

/// What undo reads: the branch's history (to tell what the run wrote: its commit among
/// `commits`, oldest first by `order`), the branch now as a sync reads it, and the work tree's
/// path of each key.
pub struct Sources<'a, 'c> {
    annex: &'a Annex,
    history: log::Branch<'a>,
    commits: &'c [Commit],
    order: Vec<usize>,
    /// The run's commit, in `commits`.
    run: usize,
    now: branch::Branch<'a>,
    paths: HashMap<String, String>,
}

impl<'a, 'c> Sources<'a, 'c> {
    /// The sources on the branch whose tip is `tip`, for the run whose commit is
    /// `commits[run]`.
    pub fn open(
        annex: &'a Annex,
        tip: gix::ObjectId,
        commits: &'c [Commit],
        order: Vec<usize>,
        run: usize,
    ) -> Result<Sources<'a, 'c>> {
        let mut mapper =
            crate::worktree::Mapper::new(&annex.repo, &[]).map_err(crate::annex::Error::from)?;
        let paths = mapper
            .annexed()
            .into_iter()
            .map(|(path, key)| (key, path))
            .collect();
        Ok(Sources {
            annex,
            history: log::Branch::new(annex, tip)?,
            commits,
            order,
            run,
            now: branch::Branch::open(annex, tip, None)?,
            paths,
        })
    }

    /// The branch files the run's commit changed that undo reverts, with their kinds.
    pub fn changed(&mut self) -> Result<Vec<(String, Kind)>> {
        let commit = &self.commits[self.run];
        let paths = self
            .history
            .changed_files(commit, |p| Kind::of(p).is_some())?;
        Ok(paths
            .into_iter()
            .filter_map(|p| Kind::of(&p).map(|kind| (p, kind)))
            .collect())
    }

    /// What undo does to the file at `path`, of `kind`.
    pub fn revert(&mut self, path: &str, kind: &Kind, force: bool) -> Result<FileRevert> {
        match kind {
            Kind::Metadata { key } => self.metadata(path, key, force),
            Kind::Order => {
                let commit = &self.commits[self.run];
                super::order::revert(self.annex, commit, &mut self.now, path, &self.paths, force)
            }
        }
    }

    /// A key's metadata log: each field the run changed, part by part, against the run's own
    /// version of the log without what it wrote; the reverting changes as one new line.
    fn metadata(&mut self, path: &str, key: &str, force: bool) -> Result<FileRevert> {
        let attributed = log::attributed(&mut self.history, self.commits, &self.order, path)?;
        let Some((_, (text, new))) = attributed.into_iter().find(|(i, _)| *i == self.run) else {
            return Ok(FileRevert::default());
        };
        let before = without(&text, &new).current();
        let after = MetLog::parse(&text).current();
        let now_log = self.now.now(key)?;
        let now_met = MetLog::parse(&now_log.text);
        let now = now_met.current();
        // Play counts and last played record what was played: undo leaves them.
        let fields: BTreeSet<&str> = new
            .iter()
            .map(|(_, field, _, _)| field.as_str())
            .filter(|f| !plays::is_play_field(f))
            .collect();
        let mut out = FileRevert::default();
        let mut line = Vec::new();
        for field in fields {
            let [b, a, n] = [&before, &after, &now].map(|c| values(c, field));
            for part in changed_parts(field, &b, &a, &n) {
                let standing = part.standing();
                let revert = Revert {
                    path: self.paths.get(key).cloned(),
                    key: key.to_owned(),
                    field: field.to_owned(),
                    before: part.before.iter().cloned().collect(),
                    after: part.after.iter().cloned().collect(),
                    now: part.now.iter().cloned().collect(),
                };
                match standing {
                    Standing::AsBefore => continue,
                    Standing::ChangedSince => out.changed_since.push(revert.clone()),
                    Standing::AsRunLeft => {}
                }
                if standing == Standing::AsRunLeft || force {
                    line.extend(part.reverting(field));
                    out.reverted.push(revert);
                }
            }
        }
        if !line.is_empty() {
            let time = Order::after(Timestamp::now(), now_met.max_order());
            let mut content = now_log.text;
            if !content.is_empty() && !content.ends_with(['\n', '\r']) {
                content.push('\n');
            }
            let changes = line.iter().map(|(f, set, v)| (*f, *set, v.as_str()));
            content.push_str(&logmet::format_line_of(time, changes));
            content.push('\n');
            out.write = Some((content, now_log.in_journal));
        }
        Ok(out)
    }
}

/// The log `text` without the changes `atoms`.
fn without(text: &str, atoms: &HashSet<Atom>) -> MetLog {
    let mut log = MetLog::parse(text);
    for line in &mut log.lines {
        let time = line.order.to_string();
        line.changes
            .retain(|c| !atoms.contains(&(time.clone(), c.field.clone(), c.set, c.value.clone())));
    }
    log
}

fn values(current: &logmet::Current, field: &str) -> BTreeSet<String> {
    current
        .get(field)
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default()
}

/// A part of a field's value that changes on its own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// A single-valued field: its whole value.
    Whole,
    /// An element of a set, or a cue value that is no cue git-mixxx reads.
    Element(String),
    /// A cue: its kind and slot.
    Cue(i64, i64),
}

impl Part {
    /// The part of `field` that `value` belongs to.
    fn of(field: &str, value: &str) -> Part {
        match Field::from_name(field).map(Field::source) {
            Some(Source::Cues) => match Cue::parse(value) {
                Some(cue) => {
                    let (kind, slot) = cue.identity();
                    Part::Cue(kind, slot)
                }
                None => Part::Element(value.to_owned()),
            },
            Some(Source::Member(_)) => Part::Element(value.to_owned()),
            _ => Part::Whole,
        }
    }
}

/// Where a part the run changed stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// It holds what the run left: undo puts back its values before the run.
    AsRunLeft,
    /// It holds its values before the run again: nothing to do.
    AsBefore,
    /// Changed again since the run: left alone unless forced.
    ChangedSince,
}

/// One part of a field that the run changed: its values before the run, after it, and now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PartChange {
    before: BTreeSet<String>,
    after: BTreeSet<String>,
    now: BTreeSet<String>,
}

impl PartChange {
    fn standing(&self) -> Standing {
        if self.now == self.before {
            Standing::AsBefore
        } else if self.now == self.after {
            Standing::AsRunLeft
        } else {
            Standing::ChangedSince
        }
    }

    /// The changes of `field` that put it back: its values now that it did not have before
    /// the run unset, and those before that it lacks now set.
    fn reverting<'f>(&self, field: &'f str) -> Vec<(&'f str, bool, String)> {
        let unset = self.now.difference(&self.before).map(|v| (false, v));
        let set = self.before.difference(&self.now).map(|v| (true, v));
        unset
            .chain(set)
            .map(|(set, v)| (field, set, v.clone()))
            .collect()
    }
}

/// The parts of `field` that the run changed, from `before` to `after`, with their values
/// `now`.
fn changed_parts(
    field: &str,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
    now: &BTreeSet<String>,
) -> Vec<PartChange> {
    let mut parts: BTreeMap<Part, PartChange> = BTreeMap::new();
    for (values, side) in [(before, 0), (after, 1), (now, 2)] {
        for v in values {
            let part = parts.entry(Part::of(field, v)).or_default();
            let set = match side {
                0 => &mut part.before,
                1 => &mut part.after,
                _ => &mut part.now,
            };
            set.insert(v.clone());
        }
    }
    parts
        .into_values()
        .filter(|p| p.before != p.after)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn standings(
        field: &str,
        before: &[&str],
        after: &[&str],
        now: &[&str],
    ) -> Vec<(Standing, Vec<(bool, String)>)> {
        changed_parts(field, &set(before), &set(after), &set(now))
            .into_iter()
            .map(|p| {
                let line = p
                    .reverting(field)
                    .into_iter()
                    .map(|(_, s, v)| (s, v))
                    .collect();
                (p.standing(), line)
            })
            .collect()
    }

    #[test]
    fn a_single_value_reverts_whole_unless_changed_since() {
        let reverted = standings("rating", &["3"], &["5"], &["5"]);
        assert_eq!(
            reverted,
            [(
                Standing::AsRunLeft,
                vec![(false, "5".into()), (true, "3".into())]
            )]
        );
        assert_eq!(
            standings("rating", &["3"], &["5"], &["4"])[0].0,
            Standing::ChangedSince
        );
        assert_eq!(
            standings("rating", &["3"], &["5"], &["3"])[0].0,
            Standing::AsBefore
        );
        assert!(standings("rating", &["3"], &["3"], &["4"]).is_empty());
    }

    #[test]
    fn a_set_reverts_each_element_the_run_changed_and_no_other() {
        // The run added Peak and Warm and removed Old; since, another laptop added Late,
        // removed Warm and added Old back.
        let parts = standings(
            "crate",
            &["Old", "Keep"],
            &["Keep", "Peak", "Warm"],
            &["Keep", "Late", "Old", "Peak"],
        );
        assert_eq!(
            parts,
            [
                (Standing::AsBefore, vec![]),
                (Standing::AsRunLeft, vec![(false, "Peak".into())]),
                (Standing::AsBefore, vec![]),
            ]
        );
        // Playlist memberships alike.
        let parts = standings("playlist", &["Set"], &[], &["Other"]);
        assert_eq!(parts, [(Standing::AsRunLeft, vec![(true, "Set".into())])]);
    }

    #[test]
    fn a_cue_reverts_by_kind_and_slot_and_other_cues_stay() {
        let drop = "hotcue 1 44100 0 #FF0000 Drop";
        let moved = "hotcue 1 99999 0 #FF0000 Drop";
        let moved_again = "hotcue 1 77777 0 #FF0000 Drop";
        let other = "hotcue 2 200000 0 #0000FF BreakB";
        let intro = "intro - 1000 5000 #000000";
        // The run moved hot cue 1 and deleted the intro; another laptop added hot cue 2.
        let parts = standings("cue", &[drop, intro], &[moved], &[moved, other]);
        assert_eq!(
            parts,
            [
                (
                    Standing::AsRunLeft,
                    vec![(false, moved.into()), (true, drop.into())]
                ),
                (Standing::AsRunLeft, vec![(true, intro.into())]),
            ]
        );
        // Hot cue 1 moved again since: changed since; reverting it touches hot cue 1 alone.
        let parts = standings("cue", &[drop], &[moved], &[moved_again, other]);
        assert_eq!(
            parts,
            [(
                Standing::ChangedSince,
                vec![(false, moved_again.into()), (true, drop.into())]
            )]
        );
        // A value that is no cue is an element of its own.
        let parts = standings("cue", &[], &["not a cue"], &["not a cue", other]);
        assert_eq!(
            parts,
            [(Standing::AsRunLeft, vec![(false, "not a cue".into())])]
        );
    }
}

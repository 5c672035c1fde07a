//! A DJ's month: three laptops and a NAS, thirty rounds of edits in Mixxx, renamed files, a
//! database reset and a restored backup, synced in random orders. At the end every clone agrees
//! with the branch, and every edit that no later edit overwrote is there.
//!
//! The oracle tracks which edits each Mixxx and each clone's branch have seen: an edit
//! supersedes the edits of the same field (or crate) that its Mixxx had seen when it was made;
//! an edit that never left a Mixxx that was reset or restored is the DJ's own loss and is
//! dropped. The final value of a field must be one of the edits that nothing superseded.

use crate::laptops::rescan_after_rename;
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FILES: [&str; 8] = [
    "House/a.flac",
    "House/b.flac",
    "House/c.flac",
    "House/d.flac",
    "Techno/e.flac",
    "Techno/f.flac",
    "Techno/g.flac",
    "Techno/h.flac",
];
const CRATES: [&str; 3] = ["Peak", "Warmup", "Closing"];
const ROUNDS: usize = 30;

/// One edit: a field (`rating`, `color`, or `crate:NAME` for a membership) of a key, set to a
/// value (`None`: left the crate).
#[derive(Debug)]
struct Edit {
    key: String,
    slot: String,
    value: Option<String>,
    /// Edits of the same key and slot that the Mixxx it was made in had seen.
    supersedes: BTreeSet<usize>,
}

struct Laptop {
    repo: PathBuf,
    db: PathBuf,
    /// Edits this Mixxx has seen, and this clone's branch.
    mixxx: BTreeSet<usize>,
    branch: BTreeSet<usize>,
    backup: Option<(Vec<u8>, BTreeSet<usize>)>,
}

struct Month {
    env: Env,
    laptops: Vec<Laptop>,
    nas: BTreeSet<usize>,
    edits: Vec<Edit>,
    dropped: BTreeSet<usize>,
    dice: Dice,
    log: Vec<String>,
}

/// The key of a locked file: the name its symlink points to.
fn key_of(repo: &Path, file: &str) -> String {
    let target = std::fs::read_link(repo.join(file)).expect("locked file");
    target.file_name().unwrap().to_str().unwrap().to_owned()
}

/// The annexed files of a work tree.
fn files(repo: &Path) -> Vec<String> {
    let listed = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo)
        .output()
        .expect("git ls-files");
    String::from_utf8(listed.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| f.ends_with(".flac"))
        .map(str::to_owned)
        .collect()
}

impl Month {
    fn new(seed: u64) -> Month {
        let env = Env::new();
        let nas = env.nas();
        let mut laptops = Vec::new();
        for name in ["laptop-a", "laptop-b", "laptop-c"] {
            let repo = env.laptop(&nas, name);
            if name == "laptop-a" {
                env.add_files(&repo, &FILES, &[]);
                env.git(&repo, &["annex", "sync", "-q", "--content"]);
            } else {
                env.git(&repo, &["annex", "get", "-q", "."]);
            }
            let db = env.root.join(format!("mixxx-{name}/mixxxdb.sqlite"));
            laptops.push(Laptop {
                repo,
                db,
                mixxx: BTreeSet::new(),
                branch: BTreeSet::new(),
                backup: None,
            });
        }
        let mut month = Month {
            env,
            laptops,
            nas: BTreeSet::new(),
            edits: Vec::new(),
            dropped: BTreeSet::new(),
            dice: Dice(seed),
            log: Vec::new(),
        };
        for i in 0..3 {
            month.rescan_all(i);
        }
        month
    }

    /// A Mixxx that scans the collection into an empty database: a row for every file.
    fn rescan_all(&mut self, i: usize) {
        let l = &self.laptops[i];
        let tracks: Vec<(String, Values)> = files(&l.repo)
            .iter()
            .map(|f| (loc(&l.repo, f), Values::new()))
            .collect();
        create_db(&l.db, 32, &tracks);
        db_exec(
            &l.db,
            "UPDATE library SET datetime_added = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        );
    }

    fn say(&mut self, what: String) {
        self.log.push(what);
    }

    /// One to three edits in laptop `i`'s Mixxx, on rows at the files' current paths.
    fn edit(&mut self, i: usize) {
        let repo = self.laptops[i].repo.clone();
        let db = self.laptops[i].db.clone();
        for _ in 0..1 + self.dice.below(3) {
            let here = db_values(&db);
            let file = self.dice.pick(&files(&repo)).clone();
            let Some(now) = here.get(&loc(&repo, &file)) else {
                continue; // this Mixxx has no row there yet (a rename it has not relinked)
            };
            let (slot, value, sql) = self.random_change(now);
            let location = loc(&repo, &file).replace('\'', "''");
            let id = format!(
                "(SELECT l.id FROM library l JOIN track_locations t ON t.id = l.location WHERE t.location = '{location}')"
            );
            db_exec(&db, &sql.replace("ID", &id));
            let key = key_of(&repo, &file);
            let supersedes = self.laptops[i]
                .mixxx
                .iter()
                .copied()
                .filter(|e| self.edits[*e].key == key && self.edits[*e].slot == slot)
                .collect();
            self.say(format!("{i}: {file} {slot} = {value:?}"));
            self.laptops[i].mixxx.insert(self.edits.len());
            self.edits.push(Edit {
                key,
                slot,
                value,
                supersedes,
            });
        }
    }

    /// A change to a row holding `now`: (slot, value, SQL with `ID` for the row's id).
    fn random_change(&mut self, now: &Values) -> (String, Option<String>, String) {
        match self.dice.below(3) {
            0 => {
                let rating = 1 + self.dice.below(5);
                let sql = format!("UPDATE library SET rating = {rating} WHERE id = ID");
                ("rating".into(), Some(rating.to_string()), sql)
            }
            1 => {
                let rgb = self.dice.below(0x100_0000);
                let sql = format!("UPDATE library SET color = {rgb} WHERE id = ID");
                ("color".into(), Some(format!("#{rgb:06X}")), sql)
            }
            _ => {
                let name = *self.dice.pick(&CRATES);
                let member = now.get("crate").is_some_and(|c| c.contains(name));
                let sql = if member {
                    format!(
                        "DELETE FROM crate_tracks WHERE track_id = ID AND crate_id = (SELECT id FROM crates WHERE name = '{name}')"
                    )
                } else {
                    format!(
                        "INSERT OR IGNORE INTO crates (name) VALUES ('{name}');
                         INSERT INTO crate_tracks (crate_id, track_id) SELECT (SELECT id FROM crates WHERE name = '{name}'), ID"
                    )
                };
                let value = (!member).then(|| "in".to_owned());
                (format!("crate:{name}"), value, sql)
            }
        }
    }

    fn mixxx_sync(&mut self, i: usize) -> serde_json::Value {
        let l = &self.laptops[i];
        let report = self.env.sync(&l.repo, &l.db, &["--allow-clears"]);
        assert_eq!(report["failed"], serde_json::json!([]), "{report}");
        assert!(report["pull_pending"].is_null(), "{report}");
        let l = &mut self.laptops[i];
        l.branch.extend(l.mixxx.iter().copied());
        l.mixxx.extend(l.branch.iter().copied());
        self.say(format!("{i}: git mixxx sync"));
        report
    }

    fn annex_sync(&mut self, i: usize) {
        let l = &mut self.laptops[i];
        self.env.annex_sync(&l.repo);
        self.nas.extend(l.branch.iter().copied());
        l.branch.extend(self.nas.iter().copied());
        self.say(format!("{i}: git annex sync"));
    }

    /// Renames a file to a new name on the newest tree, pushes it, and lets this Mixxx rescan.
    fn rename(&mut self, i: usize, round: usize) {
        self.annex_sync(i);
        let repo = self.laptops[i].repo.clone();
        let file = self.dice.pick(&files(&repo)).clone();
        let (dir, name) = file.rsplit_once('/').unwrap();
        let stem = name.split(['.', ' ']).next().unwrap();
        let new = format!("{dir}/{stem} r{round}.flac");
        self.env.git(&repo, &["mv", &file, &new]);
        self.env.git(&repo, &["commit", "-q", "-m", "rename"]);
        let db = &self.laptops[i].db;
        if db_values(db).contains_key(&loc(&repo, &file)) {
            rescan_after_rename(db, &loc(&repo, &file), &loc(&repo, &new));
        }
        self.say(format!("{i}: git mv {file} {new:?}"));
        self.annex_sync(i);
    }

    /// What a Mixxx loses that never left it.
    fn drop_unsynced(&mut self, i: usize) {
        let l = &self.laptops[i];
        let lost: Vec<usize> = l.mixxx.difference(&l.branch).copied().collect();
        self.dropped.extend(lost);
    }

    fn reset(&mut self, i: usize) {
        self.drop_unsynced(i);
        std::fs::remove_file(&self.laptops[i].db).unwrap();
        self.rescan_all(i);
        self.laptops[i].mixxx.clear();
        self.say(format!("{i}: Mixxx reinstalled, library rescanned"));
    }

    fn backup(&mut self, i: usize) {
        let _ = self.mixxx_sync(i);
        let l = &mut self.laptops[i];
        l.backup = Some((std::fs::read(&l.db).unwrap(), l.mixxx.clone()));
        self.say(format!("{i}: backup taken"));
    }

    /// Puts the backup back, and Mixxx rescans: rows for files it does not know.
    fn restore(&mut self, i: usize) {
        let Some((bytes, seen)) = self.laptops[i].backup.clone() else {
            return self.backup(i);
        };
        self.drop_unsynced(i);
        let l = &mut self.laptops[i];
        std::fs::write(&l.db, bytes).unwrap();
        l.mixxx = seen;
        let known = db_values(&l.db);
        for file in files(&l.repo) {
            if !known.contains_key(&loc(&l.repo, &file)) {
                add_row(&l.db, &loc(&l.repo, &file));
            }
        }
        self.say(format!("{i}: backup restored"));
    }

    /// The values a field may end with: those of the edits nothing superseded.
    fn allowed(&self) -> BTreeMap<(String, String), BTreeSet<Option<String>>> {
        let kept: Vec<usize> = (0..self.edits.len())
            .filter(|e| !self.dropped.contains(e))
            .collect();
        let superseded: BTreeSet<usize> = kept
            .iter()
            .flat_map(|e| self.edits[*e].supersedes.iter().copied())
            .collect();
        let mut allowed: BTreeMap<_, BTreeSet<_>> = BTreeMap::new();
        for e in kept.iter().filter(|e| !superseded.contains(e)) {
            let edit = &self.edits[*e];
            allowed
                .entry((edit.key.clone(), edit.slot.clone()))
                .or_default()
                .insert(edit.value.clone());
        }
        allowed
    }
}

/// A new, empty row for `location`, as Mixxx's scanner adds one.
fn add_row(db: &Path, location: &str) {
    let (directory, filename) = location.rsplit_once('/').unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    // Mixxx's declared foreign keys are broken; Mixxx never enforces them.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute(
        "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, needs_verification) \
         VALUES (?1, ?2, ?3, 100, 0, 0)",
        [location, filename, directory],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO library (location, datetime_added, mixxx_deleted, played, filetype, duration, samplerate, channels, bitrate, header_parsed) \
         VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, 0, 'flac', 240.0, 44100, 2, 320, 1)",
        [conn.last_insert_rowid()],
    )
    .unwrap();
}

/// A field's value as the oracle names it, from a file's values.
fn slot_value(values: &Values, slot: &str) -> Option<String> {
    match slot.strip_prefix("crate:") {
        Some(name) => values
            .get("crate")
            .is_some_and(|c| c.contains(name))
            .then(|| "in".to_owned()),
        None => values.get(slot).and_then(|v| v.iter().next().cloned()),
    }
}

#[test]
fn a_djs_month_on_three_laptops_loses_nothing() {
    let seed = std::env::var("GIT_MIXXX_MONTH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2026);
    let mut m = Month::new(seed);
    for round in 0..ROUNDS {
        let i = m.dice.below(3);
        m.edit(i);
        match (round, m.dice.below(12)) {
            // A replaced database's rows have no base: edits made in it before a sync lose
            // to the branch's history (the design's rule), so the DJ syncs right away.
            (10, _) => {
                m.reset(i);
                let _ = m.mixxx_sync(i);
            }
            (20, _) => {
                m.restore(i);
                let _ = m.mixxx_sync(i);
            }
            (_, 0 | 1) => m.rename(i, round),
            (_, 2) => m.backup(i),
            _ => {}
        }
        match m.dice.below(4) {
            0 => {
                let _ = m.mixxx_sync(i);
                m.annex_sync(i);
            }
            1 => {
                m.annex_sync(i);
                let _ = m.mixxx_sync(i);
            }
            2 => {
                let _ = m.mixxx_sync(i);
                m.annex_sync(i);
                let _ = m.mixxx_sync(i);
            }
            _ => {} // offline this round
        }
    }
    // The end of the month: every laptop syncs until a round changes nothing anywhere.
    let mut settled = false;
    for _ in 0..4 {
        for i in 0..3 {
            m.annex_sync(i);
            let _ = m.mixxx_sync(i);
        }
        for i in 0..3 {
            m.annex_sync(i);
        }
        let tips: BTreeSet<String> = m
            .laptops
            .iter()
            .map(|l| m.env.branch_tip(&l.repo))
            .collect();
        let quiet = (0..3).all(|i| m.mixxx_sync(i)["commit"].is_null());
        if quiet && tips.len() == 1 {
            settled = true;
            break;
        }
    }
    assert!(
        settled,
        "the clones never settled (seed {seed})\n{}",
        m.log.join("\n")
    );
    let story = m.log.join("\n");
    let allowed = m.allowed();
    for (i, l) in m.laptops.iter().enumerate() {
        let in_mixxx = db_values(&l.db);
        for file in files(&l.repo) {
            let branch = m.env.metadata(&l.repo, &file);
            let mixxx = in_mixxx.get(&loc(&l.repo, &file)).cloned();
            assert_eq!(
                mixxx.as_ref(),
                Some(&branch),
                "laptop {i}, {file}: Mixxx and the branch differ (seed {seed})\n{story}"
            );
            let key = key_of(&l.repo, &file);
            for ((k, slot), values) in allowed.iter().filter(|((k, _), _)| *k == key) {
                let got = slot_value(&branch, slot);
                assert!(
                    values.contains(&got),
                    "laptop {i}, {file} ({k}) {slot}: {got:?}, expected one of {values:?} (seed {seed})\n{story}"
                );
            }
        }
    }
}

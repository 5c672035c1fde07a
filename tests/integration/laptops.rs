//! The two-laptop fixture the two-way and safety tests share: a NAS and two laptops, each with
//! its own Mixxx, and the DJ's edits in Mixxx as SQL.
//!
//! Each laptop has its own Mixxx database holding its own absolute paths; laptop B's track ids
//! differ from A's (B has an extra track first and the others in reverse order).

use crate::util::*;
use git_mixxx::annex::logmet::Values;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const A: &str = "music/House/a.flac";
pub const B: &str = "music/Techno/b.flac";
pub const C: &str = "music/c d.flac";

/// A NAS and two laptops; A added the music and pushed it before B was cloned.
pub struct Laptops {
    pub env: Env,
    pub a: PathBuf,
    pub b: PathBuf,
    pub db_a: PathBuf,
    pub db_b: PathBuf,
}

impl Laptops {
    pub fn new() -> Laptops {
        let env = Env::new();
        let nas = env.nas();
        let a = env.laptop(&nas, "laptop-a");
        env.add_files(&a, &[A, B], &[C]);
        env.annex_sync(&a);
        let b = env.laptop(&nas, "laptop-b");
        env.annex_sync(&b);
        let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
        let db_b = env.root.join("mixxx-b/mixxxdb.sqlite");
        Laptops {
            env,
            a,
            b,
            db_a,
            db_b,
        }
    }

    /// Creates A's Mixxx (schema 32) with `tracks` (file, values) in this order.
    pub fn mixxx_a(&self, tracks: &[(&str, Values)]) {
        let tracks: Vec<(String, Values)> = tracks
            .iter()
            .map(|(f, v)| (loc(&self.a, f), v.clone()))
            .collect();
        create_db(&self.db_a, 32, &tracks);
    }

    /// Creates B's Mixxx (schema 39): a track outside the repository first, then `tracks` in
    /// reverse order, so that B's track ids differ from A's.
    pub fn mixxx_b(&self, tracks: &[(&str, Values)]) {
        let mut all = vec![(
            "/elsewhere/extra.flac".to_owned(),
            vals(&[("rating", &["1"])]),
        )];
        all.extend(
            tracks
                .iter()
                .rev()
                .map(|(f, v)| (loc(&self.b, f), v.clone())),
        );
        create_db(&self.db_b, 39, &all);
    }

    pub fn sync_a(&self, args: &[&str]) -> Value {
        self.env.sync(&self.a, &self.db_a, args)
    }

    pub fn sync_b(&self, args: &[&str]) -> Value {
        self.env.sync(&self.b, &self.db_b, args)
    }

    /// `git annex sync` on each laptop in turn (through the NAS).
    pub fn exchange(&self, order: &[&Path]) {
        for repo in order {
            self.env.annex_sync(repo);
        }
    }

    /// Both laptops synced once with A's `tracks` (B's Mixxx starts empty and pulls them),
    /// and each has the other's state.
    pub fn synced(tracks: &[(&str, Values)]) -> Laptops {
        let l = Laptops::new();
        l.mixxx_a(tracks);
        let empty: Vec<(&str, Values)> = tracks.iter().map(|(f, _)| (*f, Values::new())).collect();
        l.mixxx_b(&empty);
        l.sync_a(&[]);
        l.exchange(&[&l.a, &l.b]);
        let report = l.sync_b(&[]);
        assert_eq!(report["pulled"], tracks.len(), "{report}");
        l.exchange(&[&l.b, &l.a]);
        l
    }
}

pub fn set_of(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// The library id of the track at `location`, as an SQL subquery.
pub fn track(location: &str) -> String {
    format!(
        "(SELECT l.id FROM library l JOIN track_locations t ON t.id = l.location WHERE t.location = '{location}')"
    )
}

/// `UPDATE library SET <assignment>` for one track, as editing it in Mixxx would.
pub fn edit(db: &Path, location: &str, assignment: &str) {
    db_exec(
        db,
        &format!(
            "UPDATE library SET {assignment} WHERE id = {}",
            track(location)
        ),
    );
}

pub fn add_to_crate(db: &Path, location: &str, name: &str) {
    db_exec(
        db,
        &format!(
            "INSERT OR IGNORE INTO crates (name) VALUES ('{name}');
             INSERT INTO crate_tracks (crate_id, track_id)
               SELECT (SELECT id FROM crates WHERE name = '{name}'), {};",
            track(location)
        ),
    );
}

pub fn remove_from_crate(db: &Path, location: &str, name: &str) {
    db_exec(
        db,
        &format!(
            "DELETE FROM crate_tracks WHERE crate_id = (SELECT id FROM crates WHERE name = '{name}')
               AND track_id = {}",
            track(location)
        ),
    );
}

pub fn track_id(db: &Path, location: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
    conn.query_row(&format!("SELECT {}", track(location)), [], |r| r.get(0))
        .expect("track id")
}

pub fn status(env: &Env, repo: &Path, db: &Path) -> Value {
    serde_json::from_str(&env.mixxx_ok(
        repo,
        &["status", "--json", "--db", db.to_str().expect("utf-8")],
    ))
    .expect("status --json prints JSON")
}

/// The descriptions of the clones whose last-sync record, as `status` shows it, lists a
/// conflict on `field`.
pub fn clones_with_conflict(status: &Value, field: &str) -> Vec<String> {
    status["clones"]
        .as_array()
        .expect("clones")
        .iter()
        .filter(|c| {
            c["conflicts"]
                .as_array()
                .expect("conflicts")
                .iter()
                .any(|x| x["field"] == field)
        })
        .map(|c| c["description"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Removes git-mixxx's recorded no-change shortcut, so that the next run reads everything.
pub fn forget_shortcut(repo: &Path) {
    let dir = repo.join(".git/mixxx");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "quiet") {
            std::fs::remove_file(entry.path()).expect("remove the shortcut");
        }
    }
}

/// A sync right now has nothing to do: nothing pushed or pulled, no commit on the branch; and
/// whether or not it takes the no-change shortcut, it reports what a run that reads
/// everything finds.
pub fn assert_settled(env: &Env, repo: &Path, db: &Path) {
    let tip = env.branch_tip(repo);
    let bytes = std::fs::read(db).expect("read db");
    let first = env.sync(repo, db, &[]);
    forget_shortcut(repo);
    let report = env.sync(repo, db, &[]);
    assert_eq!(
        first, report,
        "the shortcut reports what a full check finds"
    );
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["pulled"], 0, "{report}");
    assert_eq!(report["conflicts"], json!([]), "{report}");
    assert_eq!(report["commit"], Value::Null, "{report}");
    assert_eq!(env.branch_tip(repo), tip, "a settled sync makes no commit");
    assert!(
        std::fs::read(db).expect("read db") == bytes,
        "Mixxx unchanged"
    );
}

/// A process that holds the database open, as a running Mixxx does; killed when dropped,
/// also when the test fails.
pub struct Holder(Child);

impl Holder {
    pub fn spawn(db: &Path) -> Holder {
        let child = Command::new("sh")
            .args(["-c", "exec 3<\"$DB\"; exec sleep 60"])
            .env("DB", db)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn holder");
        let holder = Holder(child);
        let target = std::fs::canonicalize(db).expect("canonical db");
        let fds = format!("/proc/{}/fd", holder.0.id());
        let start = Instant::now();
        loop {
            let holds = std::fs::read_dir(&fds).is_ok_and(|d| {
                d.flatten()
                    .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == target))
            });
            if holds {
                return holder;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "holder never opened the database"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A file's values on the branch as a Mixxx holds them: without the clones' parts of its play
/// count (`plays.<id>`), which only the branch has.
pub fn branch_values(env: &Env, repo: &Path, file: &str) -> Values {
    let mut values = env.metadata(repo, file);
    values.retain(|field, _| !field.starts_with("plays."));
    values
}

pub fn values_of(db: &Path, location: &str) -> Values {
    db_values(db).remove(location).unwrap_or_default()
}

/// What Mixxx's rescan does after a file moved to a new name: the old row stays, marked
/// missing, and the new path gets a new, empty row (`TrackDAO::addTracksAddTrack`).
pub fn rescan_after_rename(db: &Path, old: &str, new: &str) {
    let (directory, filename) = new.rsplit_once('/').unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    // Mixxx's declared foreign keys are broken; Mixxx never enforces them.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn.execute(
        "UPDATE track_locations SET fs_deleted = 1 WHERE location = ?1",
        [old],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, needs_verification) \
         VALUES (?1, ?2, ?3, 100, 0, 0)",
        [new, filename, directory],
    )
    .unwrap();
    let location = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO library (location, datetime_added, mixxx_deleted, played, filetype, duration, samplerate, channels, bitrate, header_parsed) \
         VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, 0, 'flac', 240.0, 44100, 2, 320, 1)",
        [location],
    )
    .unwrap();
}

/// A NAS and three laptops: the two of [`Laptops::synced`], then laptop C cloned, with a
/// Mixxx (schema 32) that starts empty and pulls the values; every clone has the others' state.
pub struct Trio {
    pub l: Laptops,
    pub c: PathBuf,
    pub db_c: PathBuf,
}

impl Trio {
    pub fn synced(tracks: &[(&str, Values)]) -> Trio {
        let l = Laptops::synced(tracks);
        let c = l.env.laptop(&l.env.root.join("nas.git"), "laptop-c");
        l.env.annex_sync(&c);
        let db_c = l.env.root.join("mixxx-c/mixxxdb.sqlite");
        let empty: Vec<(String, Values)> = tracks
            .iter()
            .map(|(f, _)| (loc(&c, f), Values::new()))
            .collect();
        create_db(&db_c, 32, &empty);
        let trio = Trio { l, c, db_c };
        let report = trio.sync_c(&[]);
        assert_eq!(report["pulled"], tracks.len(), "{report}");
        trio.exchange_all();
        trio
    }

    pub fn sync_c(&self, args: &[&str]) -> Value {
        self.l.env.sync(&self.c, &self.db_c, args)
    }

    /// `git annex sync` on A, B and C, then A and B again: every clone has every commit.
    pub fn exchange_all(&self) {
        self.l
            .exchange(&[&self.l.a, &self.l.b, &self.c, &self.l.a, &self.l.b]);
    }

    /// Each laptop's (repository, database).
    pub fn clones(&self) -> [(&Path, &Path); 3] {
        [
            (&self.l.a, &self.l.db_a),
            (&self.l.b, &self.l.db_b),
            (&self.c, &self.db_c),
        ]
    }
}

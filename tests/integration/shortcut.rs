//! The no-change shortcut right after a sync: git-mixxx tells its own write to the Mixxx
//! database from another program's (SQLite's change counter, the WAL's header, the files'
//! stat), so the run after a sync skips at once and reports what a full check finds; and no
//! write by another program, however soon after, is ever skipped.

use crate::laptops::*;
use crate::util::*;
use serde_json::Value;
use std::path::Path;

/// `git mixxx sync --json` traced: the report, and whether the run read Mixxx (no shortcut).
fn traced_sync(env: &Env, repo: &Path, db: &Path) -> (Value, bool) {
    let (report, trace) = env.traced_sync(repo, db);
    (report, trace.contains("reading Mixxx"))
}

/// The run right after `repo`'s sync takes the shortcut, and reports what a full check finds.
fn shortcut_after_sync(env: &Env, repo: &Path, db: &Path) {
    let (shortcut, read) = traced_sync(env, repo, db);
    assert!(!read, "the run after a sync reads Mixxx again: {shortcut}");
    forget_shortcut(repo);
    let (full, read) = traced_sync(env, repo, db);
    assert!(read);
    assert_eq!(
        shortcut, full,
        "the shortcut reports what a full check finds"
    );
    assert_eq!(full["commit"], Value::Null, "{full}");
}

#[test]
fn the_run_after_a_sync_takes_the_shortcut_and_reports_as_a_full_check() {
    let l = Laptops::new();
    l.mixxx_a(&[
        (A, vals(&[("rating", &["3"]), ("crate", &["Peak"])])),
        (B, vals(&[("bpm", &["124.00"])])),
        (C, vals(&[("playlist", &["Set"])])),
    ]);
    l.mixxx_b(&[(A, vals(&[])), (B, vals(&[])), (C, vals(&[]))]);
    // A first sync (pushes everything), then one that pushes an edit made in Mixxx.
    let first = l.sync_a(&[]);
    assert_eq!(first["pushed"], 3, "{first}");
    shortcut_after_sync(&l.env, &l.a, &l.db_a);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    assert_eq!(l.sync_a(&[])["pushed"], 1);
    shortcut_after_sync(&l.env, &l.a, &l.db_a);
    // A sync that pulls into Mixxx: its own write is told from another program's too.
    l.exchange(&[&l.a, &l.b]);
    let pulled = l.sync_b(&[]);
    assert_eq!(pulled["pulled"], 3, "{pulled}");
    shortcut_after_sync(&l.env, &l.b, &l.db_b);
    assert_eq!(values_of(&l.db_b, &loc(&l.b, A))["rating"], set_of(&["5"]));
}

// Another program writing the database right after a sync (within the same second, even with
// the same size and modification time) is seen by the next run.
#[test]
fn a_write_right_after_a_sync_is_never_skipped() {
    let l = Laptops::new();
    l.mixxx_a(&[(A, vals(&[("rating", &["3"])]))]);
    l.sync_a(&[]);
    let mtime = std::fs::metadata(&l.db_a).unwrap().modified().unwrap();
    edit(&l.db_a, &loc(&l.a, A), "rating = 4");
    std::fs::File::options()
        .write(true)
        .open(&l.db_a)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (report, read) = traced_sync(&l.env, &l.a, &l.db_a);
    assert!(read, "the edit was skipped: {report}");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(l.env.metadata(&l.a, A)["rating"], set_of(&["4"]));
    assert_settled(&l.env, &l.a, &l.db_a);
}

// A copy of the database put back in its place with the modification time it had (a restored
// backup, a database copied from elsewhere) is another database: never skipped.
#[test]
fn a_database_put_back_with_the_same_time_is_never_skipped() {
    let l = Laptops::new();
    l.mixxx_a(&[(A, vals(&[("rating", &["3"])]))]);
    l.sync_a(&[]);
    let backup = l.env.root.join("mixxxdb.backup");
    std::fs::copy(&l.db_a, &backup).unwrap();
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    l.sync_a(&[]);
    shortcut_after_sync(&l.env, &l.a, &l.db_a);
    let mtime = std::fs::metadata(&l.db_a).unwrap().modified().unwrap();
    let size = std::fs::metadata(&l.db_a).unwrap().len();
    assert_eq!(std::fs::metadata(&backup).unwrap().len(), size);
    // `cp -p` of the backup: same size, same modification time.
    std::fs::copy(&backup, &l.db_a).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&l.db_a)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (report, read) = traced_sync(&l.env, &l.a, &l.db_a);
    assert!(read, "the restored database was skipped: {report}");
    // The branch is the truth for a restored database: the later rating comes back.
    assert_eq!(values_of(&l.db_a, &loc(&l.a, A))["rating"], set_of(&["5"]));
    assert_settled(&l.env, &l.a, &l.db_a);
}

// In WAL mode (newer Mixxx versions may use it), the same holds: the run after a sync skips,
// another program's commit right after it is seen.
#[test]
fn wal_databases_take_the_shortcut_and_never_skip_a_commit() {
    let l = Laptops::new();
    l.mixxx_a(&[(A, vals(&[("rating", &["3"])])), (B, vals(&[]))]);
    db_exec(&l.db_a, "PRAGMA journal_mode = WAL");
    l.sync_a(&[]);
    shortcut_after_sync(&l.env, &l.a, &l.db_a);
    edit(&l.db_a, &loc(&l.a, A), "rating = 2");
    let (report, read) = traced_sync(&l.env, &l.a, &l.db_a);
    assert!(read, "the commit was skipped: {report}");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(l.env.metadata(&l.a, A)["rating"], set_of(&["2"]));
    shortcut_after_sync(&l.env, &l.a, &l.db_a);
}

// A sync that leaves something unsettled (here a conflict) records no shortcut: the next run
// reads everything.
#[test]
fn a_sync_with_a_conflict_records_no_shortcut() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    edit(&l.db_b, &loc(&l.b, A), "rating = 1");
    let report = l.sync_b(&[]);
    assert_eq!(
        report["conflicts"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    let (_, read) = traced_sync(&l.env, &l.b, &l.db_b);
    assert!(read);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// Mixxx writing all the time while git-mixxx reads and writes (each sync pushes and marks the
// database): whatever the interleaving, no run records a state that hides a later write, so
// the sync after the last write brings it to the branch. In both journal modes.
#[test]
fn writes_during_syncs_are_never_skipped() {
    for wal in [false, true] {
        let l = Laptops::new();
        l.mixxx_a(&[(A, vals(&[("rating", &["1"])])), (B, vals(&[]))]);
        if wal {
            db_exec(&l.db_a, "PRAGMA journal_mode = WAL");
        }
        l.sync_a(&[]);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (db, stop) = (l.db_a.clone(), stop.clone());
            let sql = format!(
                "UPDATE library SET rating = rating % 5 + 1 WHERE id = {}",
                track(&loc(&l.a, A))
            );
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open(&db).unwrap();
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .unwrap();
                let mut writes = 0;
                for pause in (0..).map(|i| (i * 7) % 23) {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    conn.execute(&sql, []).unwrap();
                    writes += 1;
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                }
                writes
            })
        };
        for _ in 0..8 {
            l.sync_a(&[]);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            writer.join().unwrap() > 8,
            "the writer wrote between the syncs"
        );
        let last = values_of(&l.db_a, &loc(&l.a, A))["rating"].clone();
        l.sync_a(&[]);
        assert_eq!(l.env.metadata(&l.a, A)["rating"], last, "wal: {wal}");
        assert_settled(&l.env, &l.a, &l.db_a);
    }
}

/// Runs `git mixxx sync` on laptop A, pausing it at `point` while Mixxx sets A's rating to
/// `rating` (it waits for SQLite's lock if the sync holds it).
fn sync_with_a_write_at(l: &Laptops, point: &str, rating: u8) {
    let pause = l.env.root.join("paused");
    let mut sync = l
        .env
        .command(
            &l.a,
            "git",
            &["mixxx", "sync", "--json", "--db", l.db_a.to_str().unwrap()],
        )
        .env("GIT_MIXXX_TEST_PAUSE", point)
        .env("GIT_MIXXX_TEST_PAUSE_FILE", &pause)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !pause.exists() {
        assert!(
            start.elapsed().as_secs() < 60,
            "the sync never reached {point}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (db, location) = (l.db_a.clone(), loc(&l.a, A));
    let mixxx = std::thread::spawn(move || edit(&db, &location, &format!("rating = {rating}")));
    // Let Mixxx's write start (and, outside WAL mode, wait for the sync's lock).
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::fs::remove_file(&pause).unwrap();
    mixxx.join().unwrap();
    assert!(sync.wait().unwrap().success());
}

// Mixxx committing while git-mixxx reads the database (inside its read, or between its read
// and its own write): the next run sees the commit, in both journal modes.
#[test]
fn a_write_while_git_mixxx_reads_is_never_skipped() {
    for wal in [false, true] {
        for point in ["reading-mixxx", "after-reading-mixxx"] {
            let l = Laptops::new();
            l.mixxx_a(&[(A, vals(&[("rating", &["1"])])), (B, vals(&[]))]);
            if wal {
                db_exec(&l.db_a, "PRAGMA journal_mode = WAL");
            }
            l.sync_a(&[]);
            // An edit for the paused sync to push (and mark the database).
            edit(&l.db_a, &loc(&l.a, B), "rating = 2");
            sync_with_a_write_at(&l, point, 4);
            let (report, read) = traced_sync(&l.env, &l.a, &l.db_a);
            assert!(read, "{point}, wal {wal}: the write was skipped: {report}");
            assert_eq!(l.env.metadata(&l.a, A)["rating"], set_of(&["4"]));
            assert_eq!(l.env.metadata(&l.a, B)["rating"], set_of(&["2"]));
            assert_settled(&l.env, &l.a, &l.db_a);
        }
    }
}

/// Records a no-change run of laptop A that read everything (so that it knows the database's
/// content), and returns its report.
fn full_check(l: &Laptops) -> Value {
    forget_shortcut(&l.a);
    let (report, read) = traced_sync(&l.env, &l.a, &l.db_a);
    assert!(read);
    assert_eq!(report["commit"], Value::Null, "{report}");
    report
}

/// `git mixxx sync` on laptop A traced: the report, whether it read Mixxx and whether it
/// compared the database's content with the last no-change run's.
fn content_traced_sync(l: &Laptops) -> (Value, bool, bool) {
    let (report, trace) = l.env.traced_sync(&l.a, &l.db_a);
    (
        report,
        trace.contains("reading Mixxx"),
        trace.contains("comparing Mixxx's content"),
    )
}

// Mixxx writes columns git-mixxx does not read (a rescan's bookkeeping, tags parsed again) or
// the same values again: the database's files change, its content as git-mixxx reads it does
// not, and the next run finds that by scanning the rows, without syncing them; `status` too.
// The run after records the new state, and the one after that takes the shortcut by stat.
#[test]
fn mixxx_rewriting_what_git_mixxx_does_not_read_is_settled_by_content() {
    for wal in [false, true] {
        rewriting_what_git_mixxx_does_not_read(wal);
    }
}

fn rewriting_what_git_mixxx_does_not_read(wal: bool) {
    let l = Laptops::new();
    l.mixxx_a(&[
        (A, vals(&[("rating", &["3"]), ("crate", &["Peak"])])),
        (B, vals(&[("playlist", &["Set"])])),
    ]);
    if wal {
        db_exec(&l.db_a, "PRAGMA journal_mode = WAL");
    }
    l.sync_a(&[]);
    let full = full_check(&l);
    let status = |l: &Laptops| -> Value {
        let db = l.db_a.to_str().unwrap();
        serde_json::from_str(&l.env.mixxx_ok(&l.a, &["status", "--json", "--db", db])).unwrap()
    };
    let status_before = status(&l);
    db_exec(
        &l.db_a,
        "UPDATE track_locations SET needs_verification = 1, fs_deleted = 0; \
         UPDATE library SET header_parsed = 1, played = 1; \
         UPDATE library SET rating = rating",
    );
    assert_eq!(status(&l), status_before);
    let (report, read, compared) = content_traced_sync(&l);
    assert!(compared && !read, "wal {wal}: {report}");
    assert_eq!(
        report, full,
        "the content check reports what a full check finds"
    );
    // Once the write is old enough to trust, a run records the database's new state (the first
    // after the pause, or already the one above on a slow machine), and the next takes the
    // shortcut by stat. (In WAL mode, SQLite run as root gives the `-wal` file to the
    // database's owner on every open, which changes its status time: the state never repeats
    // there, and each run compares the content.)
    std::thread::sleep(std::time::Duration::from_secs(3));
    for _ in 0..2 {
        let (report, read, _) = content_traced_sync(&l);
        assert!(!read, "wal {wal}: {report}");
    }
    let (_, read, compared) = content_traced_sync(&l);
    assert!(!read);
    assert!(
        wal || !compared,
        "the state recorded after the content check is trusted"
    );
    assert_settled(&l.env, &l.a, &l.db_a);
}

// Whatever a DJ changes in Mixxx that git-mixxx reads (a track's values, a cue, a crate, a
// playlist's order, a history session, a library folder, a file Mixxx knows) is never
// settled by the content check, however soon after the no-change run it is written.
#[test]
fn every_edit_git_mixxx_reads_defeats_the_content_check() {
    let edits: Vec<(&str, String)> =
        vec![
        ("rating", format!("UPDATE library SET rating = 1 WHERE id = {}", track_a())),
        (
            "hot cue",
            format!(
                "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
                 VALUES ({}, 1, 88200, 0, 2, 'Drop', 16711680)",
                track_a()
            ),
        ),
        ("crate", "UPDATE crates SET name = 'Warmup'".to_owned()),
        (
            "playlist order",
            "UPDATE PlaylistTracks SET position = 3 - position".to_owned(),
        ),
        (
            "history",
            format!(
                "INSERT INTO Playlists (name, position, hidden, date_created, date_modified) \
                 VALUES ('2026-12-07', 9, 2, '2026-12-07 21:00:00', '2026-12-07 21:00:00'); \
                 INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
                 VALUES (last_insert_rowid(), {}, 1, '2026-12-07 21:05:00')",
                track_a()
            ),
        ),
        (
            "library folder",
            "INSERT INTO directories (directory) VALUES ('/media/usb/music')".to_owned(),
        ),
        (
            "known file",
            "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, \
             needs_verification) VALUES ('/media/usb/music/x.flac', 'x.flac', \
             '/media/usb/music', 1, 1, 0)"
                .to_owned(),
        ),
    ];
    for (what, sql) in edits {
        let l = Laptops::new();
        l.mixxx_a(&[
            (
                A,
                vals(&[
                    ("rating", &["3"]),
                    ("crate", &["Peak"]),
                    ("playlist", &["Set"]),
                ]),
            ),
            (B, vals(&[("playlist", &["Set"])])),
        ]);
        l.sync_a(&[]);
        full_check(&l);
        db_exec(&l.db_a, &sql.replace("{A}", &loc(&l.a, A)));
        let (report, read, compared) = content_traced_sync(&l);
        assert!(
            compared && read,
            "{what}: the edit was settled by content: {report}"
        );
    }
}

/// Track A's id in laptop A's database, as an SQL subquery (its location filled in per
/// laptop).
fn track_a() -> String {
    track("{A}")
}

// A sync whose pull is larger than SQLite's page cache (many tracks pulled, or a pull into a
// large library) spills its changes into the database file before it commits, which locks
// every reader out; its own write is still told from another program's, at once: the run
// after it takes the shortcut. (The database's suggested cache size, `PRAGMA
// default_cache_size`, makes this library's small pull spill as a large one does.)
#[test]
fn a_pull_larger_than_sqlites_cache_is_told_as_its_own_write() {
    let env = Env::new();
    let files: Vec<String> = (0..400)
        .map(|i| format!("d{}/t{i:03}.flac", i % 4))
        .collect();
    let values = vals(&[("rating", &["3"]), ("comment", &["x"])]);
    let (repo, db) = env.synced_library(&files, 32, &values);
    db_exec(&db, "PRAGMA default_cache_size = 10");
    let set = [
        "annex",
        "metadata",
        "-q",
        "--all",
        "--set",
        "rating=5",
        "--set",
        "comment=a longer comment",
    ];
    env.git(&repo, &set);
    let (pulled, _) = env.traced_sync(&repo, &db);
    assert_eq!(pulled["pulled"], 400, "{pulled}");
    let (after, trace) = env.traced_sync(&repo, &db);
    assert!(
        !trace.contains("reading Mixxx"),
        "the run after a large pull reads Mixxx again: {trace}"
    );
    assert_eq!(after["pulled"], 0, "{after}");
    assert_eq!(
        values_of(&db, &loc(&repo, &files[7]))["rating"],
        set_of(&["5"])
    );
}

//! Two-way sync between two laptops through a NAS: values reach another laptop's Mixxx,
//! offline divergence converges, clearing propagates, a running Mixxx defers pulls, the backup,
//! interrupted runs, untouched columns, and `--prefer`, `--pull-only`, `--push-only`.

use crate::laptops::*;
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use rusqlite::types::Value as SqlValue;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
// 1. Values set on A reach B's Mixxx for the same files.
#[test]
fn values_from_laptop_a_reach_laptop_b_mixxx() {
    let l = Laptops::new();
    let a_values = [
        (
            A,
            vals(&[
                ("rating", &["5"]),
                ("color", &["#FF0000"]),
                ("crate", &["Peak", "Warmup"]),
                ("key", &["Am"]),
                ("bpm", &["124.00"]),
            ]),
        ),
        (B, vals(&[("rating", &["2"]), ("crate", &["Warmup"])])),
        (
            C,
            vals(&[("color", &["#00AAFF"]), ("playlist", &["Friday"])]),
        ),
    ];
    l.mixxx_a(&a_values);
    let report = l.sync_a(&[]);
    assert_eq!(report["pushed"], 3, "{report}");
    l.exchange(&[&l.a, &l.b]);

    l.mixxx_b(&[(A, Values::new()), (B, Values::new()), (C, Values::new())]);
    for (file, _) in &a_values {
        assert_ne!(
            track_id(&l.db_a, &loc(&l.a, file)),
            track_id(&l.db_b, &loc(&l.b, file)),
            "track ids of {file} must differ between the laptops for this test"
        );
    }
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 3, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["conflicts"], json!([]), "{report}");
    assert_eq!(report["pull_pending"], Value::Null, "{report}");
    let in_b = db_values(&l.db_b);
    for (file, values) in &a_values {
        assert_eq!(&in_b[&loc(&l.b, file)], values, "B's Mixxx for {file}");
    }
    // The track outside the repository is left alone.
    assert_eq!(in_b["/elsewhere/extra.flac"], vals(&[("rating", &["1"])]));
    assert_settled(&l.env, &l.b, &l.db_b);
}

// 2. Offline divergence on both laptops converges to one value, crates combine, and the
// conflict is visible in `status` from both laptops.
#[test]
fn offline_divergence_converges_and_conflict_is_recorded() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"]), ("crate", &["Old"])]))]);
    let (la, lb) = (loc(&l.a, A), loc(&l.b, A));
    assert_eq!(db_values(&l.db_b)[&lb]["rating"], set_of(&["3"]));

    // Offline, both edit the same track.
    edit(&l.db_a, &la, "rating = 5");
    add_to_crate(&l.db_a, &la, "X");
    edit(&l.db_b, &lb, "rating = 2");
    add_to_crate(&l.db_b, &lb, "Y");
    let ra = l.sync_a(&[]);
    assert_eq!(ra["pushed"], 1, "{ra}");
    let rb = l.sync_b(&[]);
    assert_eq!(rb["pushed"], 1, "{rb}");

    // Back online: merge the branches, sync both Mixxx, twice.
    for _ in 0..2 {
        l.exchange(&[&l.a, &l.b, &l.a]);
        l.sync_a(&[]);
        l.sync_b(&[]);
    }

    let in_a = db_values(&l.db_a)[&la].clone();
    let in_b = db_values(&l.db_b)[&lb].clone();
    assert_eq!(in_a, in_b, "both Mixxx databases hold the same values");
    assert_eq!(in_a["crate"], set_of(&["Old", "X", "Y"]), "{in_a:?}");
    let rating = in_a["rating"].clone();
    assert_eq!(rating.len(), 1, "{in_a:?}");
    assert!(
        rating == set_of(&["2"]) || rating == set_of(&["5"]),
        "{rating:?}"
    );
    for repo in [&l.a, &l.b] {
        let md = l.env.metadata(repo, A);
        assert_eq!(md["rating"], rating, "metadata in {}", repo.display());
        assert_eq!(md["crate"], set_of(&["Old", "X", "Y"]));
    }

    // The conflict is recorded, and each laptop can see it.
    for (repo, db) in [(&l.a, &l.db_a), (&l.b, &l.db_b)] {
        let st = status(&l.env, repo, db);
        let with = clones_with_conflict(&st, "rating");
        assert!(
            !with.is_empty(),
            "no clone's last sync as seen from {} lists the rating conflict: {st:#}",
            repo.display()
        );
    }

    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// 3. Values cleared on A disappear from B's Mixxx.
#[test]
fn cleared_values_disappear_from_the_other_mixxx() {
    let l = Laptops::synced(&[
        (
            A,
            vals(&[
                ("rating", &["4"]),
                ("color", &["#FF0000"]),
                ("crate", &["X", "Y"]),
            ]),
        ),
        (B, vals(&[("color", &["#00FF00"]), ("crate", &["X"])])),
    ]);
    let b_before = db_values(&l.db_b);
    assert_eq!(b_before[&loc(&l.b, A)]["color"], set_of(&["#FF0000"]));
    assert_eq!(b_before[&loc(&l.b, A)]["crate"], set_of(&["X", "Y"]));

    edit(&l.db_a, &loc(&l.a, A), "color = NULL");
    remove_from_crate(&l.db_a, &loc(&l.a, A), "X");
    remove_from_crate(&l.db_a, &loc(&l.a, B), "X");
    let report = l.sync_a(&[]);
    assert_eq!(report["pushed"], 2, "{report}");
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 2, "{report}");

    let b_after = db_values(&l.db_b);
    assert_eq!(
        b_after[&loc(&l.b, A)],
        vals(&[("rating", &["4"]), ("crate", &["Y"])])
    );
    assert_eq!(b_after[&loc(&l.b, B)], vals(&[("color", &["#00FF00"])]));
    // B's Mixxx has no crate membership left for X.
    let conn =
        rusqlite::Connection::open_with_flags(&l.db_b, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let members: i64 = conn
        .query_row(
            "SELECT count(*) FROM crate_tracks ct JOIN crates c ON c.id = ct.crate_id WHERE c.name = 'X'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    assert_eq!(members, 0);
    assert!(!l.env.metadata(&l.b, A).contains_key("color"));
    assert_settled(&l.env, &l.b, &l.db_b);
}

/// A on the branch with values, B's Mixxx empty: B has 3 tracks to pull.
fn b_has_pulls() -> (Laptops, Vec<(&'static str, Values)>) {
    let l = Laptops::new();
    let values = vec![
        (
            A,
            vals(&[
                ("rating", &["5"]),
                ("color", &["#FF0000"]),
                ("crate", &["Peak"]),
                ("artist", &["Alpha"]),
                ("title", &["First"]),
                ("bpm", &["124.00"]),
                ("key", &["Am"]),
            ]),
        ),
        (
            B,
            vals(&[
                ("rating", &["3"]),
                ("crate", &["Warmup"]),
                ("comment", &["nice"]),
            ]),
        ),
        (C, vals(&[("genre", &["House"]), ("year", &["1999"])])),
    ];
    l.mixxx_a(&values);
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    l.mixxx_b(&[(A, Values::new()), (B, Values::new()), (C, Values::new())]);
    (l, values)
}

// 4. While Mixxx runs, pulls wait; the next run after it closed applies them.
#[test]
fn running_mixxx_defers_pulls_until_it_is_closed() {
    let (l, values) = b_has_pulls();
    let before = std::fs::read(&l.db_b).unwrap();
    {
        let _mixxx = Holder::spawn(&l.db_b);
        let report = l.sync_b(&[]);
        let pending = report["pull_pending"].as_str().unwrap_or_default();
        assert!(pending.contains("Mixxx is running"), "{report}");
        assert_eq!(report["pulled"], 0, "held back, not pulled: {report}");
        assert_eq!(report["held_back"], 3, "{report}");
        assert_eq!(report["backup"], Value::Null, "{report}");
        assert!(
            std::fs::read(&l.db_b).unwrap() == before,
            "the database must not change while Mixxx runs"
        );
        assert!(!l.db_b.with_file_name("git-mixxx-backups").exists());
        // Status (a dry run) says the same.
        let st = status(&l.env, &l.b, &l.db_b);
        assert_eq!(st["pending"]["pulled"], 3, "{st:#}");
        assert!(st["mixxx_running"].is_string(), "{st:#}");
        let text = l
            .env
            .mixxx_ok(&l.b, &["status", "--db", l.db_b.to_str().unwrap()]);
        assert!(
            text.contains("Mixxx is running") && text.contains("from the branch for 3 tracks"),
            "{text}"
        );
    }
    let report = l.sync_b(&[]);
    assert_eq!(report["pull_pending"], Value::Null, "{report}");
    assert_eq!(report["pulled"], 3, "{report}");
    let in_b = db_values(&l.db_b);
    for (file, v) in &values {
        assert_eq!(&in_b[&loc(&l.b, file)], v, "{file}");
    }
    assert_settled(&l.env, &l.b, &l.db_b);
}

// 5. The backup holds the database exactly as it was before the pulling sync.
#[test]
fn backup_is_the_exact_previous_database() {
    let (l, _) = b_has_pulls();
    let before = std::fs::read(&l.db_b).unwrap();
    let values_before = db_values(&l.db_b);
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 3, "{report}");
    let backup = PathBuf::from(report["backup"].as_str().expect("backup path in report"));
    assert_eq!(
        backup.parent().unwrap(),
        l.db_b.parent().unwrap().join("git-mixxx-backups")
    );
    let name = backup.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("mixxxdb-") && name.ends_with(".sqlite"),
        "{name}"
    );
    assert!(std::fs::read(&backup).unwrap() == before, "backup differs");
    assert!(
        std::fs::read(&l.db_b).unwrap() != before,
        "sync wrote Mixxx"
    );

    // Restoring the backup gives back the exact previous content.
    std::fs::copy(&backup, &l.db_b).unwrap();
    assert!(std::fs::read(&l.db_b).unwrap() == before);
    assert_eq!(db_values(&l.db_b), values_before);
}

/// B has something to pull (A's new rating and crate on a.flac) and something to push (its
/// own colour on b.flac) when a run is interrupted at `point`; the next runs converge.
fn interrupted_run_converges(point: &str) {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["4"])])),
    ]);
    let (la, lb) = (loc(&l.a, A), loc(&l.b, A));
    edit(&l.db_a, &la, "rating = 5");
    add_to_crate(&l.db_a, &la, "Peak");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    edit(&l.db_b, &loc(&l.b, B), "color = 65280");

    let tip = l.env.branch_tip(&l.b);
    let bytes = std::fs::read(&l.db_b).unwrap();
    let out = l
        .env
        .command(
            &l.b,
            "git",
            &["mixxx", "sync", "--db", l.db_b.to_str().unwrap()],
        )
        .env("GIT_MIXXX_TEST_CRASH", point)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(99), "{}", text(&out));
    match point {
        "before-mixxx-commit" => {
            assert!(
                std::fs::read(&l.db_b).unwrap() == bytes,
                "Mixxx committed nothing"
            );
            // Still readable (as Mixxx would open it), with the values from before.
            assert_eq!(db_values(&l.db_b)[&lb]["rating"], set_of(&["3"]));
            assert_eq!(l.env.branch_tip(&l.b), tip, "the branch is unchanged");
        }
        "after-mixxx-commit" => {
            assert_eq!(db_values(&l.db_b)[&lb]["rating"], set_of(&["5"]));
            assert_eq!(l.env.branch_tip(&l.b), tip, "the branch is unchanged");
        }
        "after-branch-commit" => {
            assert_eq!(db_values(&l.db_b)[&lb]["rating"], set_of(&["5"]));
            assert_ne!(l.env.branch_tip(&l.b), tip, "the branch commit happened");
        }
        _ => unreachable!(),
    }

    l.sync_b(&[]);
    assert_settled(&l.env, &l.b, &l.db_b);
    let in_b = db_values(&l.db_b);
    assert_eq!(in_b[&lb], vals(&[("rating", &["5"]), ("crate", &["Peak"])]));
    assert_eq!(
        in_b[&loc(&l.b, B)],
        vals(&[("rating", &["4"]), ("color", &["#00FF00"])])
    );
    assert_eq!(
        l.env.metadata(&l.b, B),
        vals(&[("rating", &["4"]), ("color", &["#00FF00"])])
    );
    assert_eq!(
        l.env.metadata(&l.b, A),
        vals(&[("rating", &["5"]), ("crate", &["Peak"])])
    );

    // And A gets B's colour.
    l.exchange(&[&l.b, &l.a]);
    let report = l.sync_a(&[]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(
        db_values(&l.db_a)[&loc(&l.a, B)],
        vals(&[("rating", &["4"]), ("color", &["#00FF00"])])
    );
    assert_settled(&l.env, &l.a, &l.db_a);
}

// 6. Interrupted runs converge, at each crash point.
#[test]
fn crash_before_mixxx_commit_converges() {
    interrupted_run_converges("before-mixxx-commit");
}

#[test]
fn crash_after_mixxx_commit_converges() {
    interrupted_run_converges("after-mixxx-commit");
}

#[test]
fn crash_after_branch_commit_converges() {
    interrupted_run_converges("after-branch-commit");
}

/// The columns of `library` that git-mixxx writes.
const OWNED: &[&str] = &[
    "artist",
    "title",
    "album",
    "album_artist",
    "genre",
    "year",
    "tracknumber",
    "comment",
    "composer",
    "grouping",
    "rating",
    "bpm",
    "key",
    "key_id",
    "color",
];

type Rows = Vec<Vec<SqlValue>>;

/// Everything git-mixxx must not touch: the `settings` rows but its own marker, `library`
/// minus the owned columns, and the whole `track_locations`, `cues` and `LibraryHashes` tables.
fn untouched(db: &Path) -> Vec<(String, Rows)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
    let columns = |table: &str| -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(1))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut out = Vec::new();
    for table in [
        "settings",
        "library",
        "track_locations",
        "cues",
        "LibraryHashes",
    ] {
        let cols: Vec<String> = columns(table)
            .into_iter()
            .filter(|c| table != "library" || !OWNED.contains(&c.as_str()))
            .collect();
        let sql = format!(
            "SELECT {} FROM {table} {} ORDER BY rowid",
            cols.iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            if table == "settings" {
                "WHERE name <> 'git-mixxx.database'"
            } else {
                ""
            }
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows: Rows = stmt
            .query_map([], |r| {
                (0..cols.len())
                    .map(|i| r.get::<_, SqlValue>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.push((format!("{table} ({})", cols.join(", ")), rows));
    }
    out
}

// 7. A pulling sync leaves a sound database and touches only the columns it owns.
#[test]
fn pulling_sync_keeps_database_sound_and_other_columns_untouched() {
    let (l, values) = b_has_pulls();
    let dir = l.b.join("music");
    db_exec(
        &l.db_b,
        &format!(
            "UPDATE library SET timesplayed = 7, replaygain = 0.5, played = 1,
               datetime_added = '2020-01-01T00:00:00.000Z', bpm_lock = 1, beats = x'00010203',
               beats_version = 'BeatGrid-2.0', coverart_location = 'cover.jpg',
               last_played_at = '2021-02-03 04:05:06', url = 'http://example.invalid/',
               duration = 301.25, wavesummaryhex = x'ff00ff';
             INSERT INTO cues (track_id, type, position, length, hotcue, label, color)
               VALUES ({a}, 1, 44100, 0, 0, 'Drop', 4294901760),
                      ({b}, 2, 88200, 1000, -1, 'Intro', 123);
             INSERT INTO LibraryHashes (directory_path, hash, directory_deleted, needs_verification)
               VALUES ('{dir}', 123456789, 0, 0);
             UPDATE track_locations SET filesize = 4242, needs_verification = 1;",
            a = track(&loc(&l.b, A)),
            b = track(&loc(&l.b, B)),
            dir = dir.display(),
        ),
    );
    let before = untouched(&l.db_b);
    assert_eq!(before[3].1.len(), 2, "two cues");
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 3, "{report}");
    // The owned columns did change; the cues B's DJ made stay (and go to the branch), and so
    // do its plays (pushed as B's, so its count stays as it is).
    let in_b = db_values(&l.db_b);
    for (file, v) in &values {
        let mut got = in_b[&loc(&l.b, file)].clone();
        let cues = got.remove("cue").map_or(0, |c| c.len());
        assert_eq!(cues, usize::from(*file != C), "{file}: {got:?}");
        assert_eq!(got.remove("plays"), Some(set_of(&["7"])), "{file}");
        let last = got.remove("lastplayed");
        assert_eq!(last, Some(set_of(&["2021-02-03T04:05:06Z"])), "{file}");
        assert_eq!(&got, v, "{file}");
    }

    let conn =
        rusqlite::Connection::open_with_flags(&l.db_b, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let check: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);
    assert_eq!(check, ["ok"]);
    let after = untouched(&l.db_b);
    for ((table, rows_before), (_, rows_after)) in before.iter().zip(&after) {
        assert_eq!(rows_before, rows_after, "{table}");
    }
}

/// Both laptops synced with a.flac rated 3; A changed it to 5 and shared that; B changed it
/// to 2 offline and has not synced since.
fn rating_conflict() -> Laptops {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    edit(&l.db_b, &loc(&l.b, A), "rating = 2");
    l
}

// The default, --prefer git: the branch's value wins and the conflict is recorded.
#[test]
fn conflict_prefers_git_by_default_and_status_shows_it() {
    let l = rating_conflict();
    let report = l.sync_b(&[]);
    let key = l.env.git(&l.b, &["annex", "lookupkey", A]);
    assert_eq!(
        report["conflicts"],
        json!([{"path": A, "key": key.trim(), "field": "rating",
                "mixxx": ["2"], "branch": ["5"], "winner": "git", "result": ["5"]}]),
        "{report}"
    );
    assert_eq!(db_values(&l.db_b)[&loc(&l.b, A)]["rating"], set_of(&["5"]));
    assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["5"]));
    let st = status(&l.env, &l.b, &l.db_b);
    assert_eq!(clones_with_conflict(&st, "rating"), ["laptop-b"], "{st:#}");
    assert_eq!(st["clones"][0]["this_clone"], true);
    assert_eq!(st["clones"][0]["conflict_count"], 1);
    // A sees it in B's record once the branches are exchanged.
    l.exchange(&[&l.b, &l.a]);
    let st = status(&l.env, &l.a, &l.db_a);
    assert_eq!(clones_with_conflict(&st, "rating"), ["laptop-b"], "{st:#}");
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// 8. --prefer mixxx: Mixxx's value wins on the branch.
#[test]
fn prefer_mixxx_makes_mixxx_win_a_conflict() {
    let l = rating_conflict();
    let before = (untouched(&l.db_b), db_values(&l.db_b));
    let report = l.sync_b(&["--prefer", "mixxx"]);
    assert_eq!(report["conflicts"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["conflicts"][0]["field"], "rating");
    assert_eq!(report["conflicts"][0]["winner"], "mixxx");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(report["pulled"], 0, "{report}");
    assert!(
        (untouched(&l.db_b), db_values(&l.db_b)) == before,
        "Mixxx unchanged"
    );
    assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["2"]));
    // A takes B's value on its next sync.
    l.exchange(&[&l.b, &l.a]);
    let report = l.sync_a(&[]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(db_values(&l.db_a)[&loc(&l.a, A)]["rating"], set_of(&["2"]));
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

/// B has A's new values to pull and its own colour on c.flac to push.
fn pull_and_push() -> Laptops {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (C, vals(&[("rating", &["1"])])),
    ]);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    add_to_crate(&l.db_a, &loc(&l.a, A), "Peak");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    edit(&l.db_b, &loc(&l.b, C), "color = 255");
    l
}

// 8. --pull-only writes Mixxx and only git-mixxx's state on the branch, no metadata logs.
#[test]
fn pull_only_writes_no_metadata_logs() {
    let l = pull_and_push();
    let tip = l.env.branch_tip(&l.b);
    let report = l.sync_b(&["--pull-only"]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(
        db_values(&l.db_b)[&loc(&l.b, A)],
        vals(&[("rating", &["5"]), ("crate", &["Peak"])])
    );
    assert_eq!(
        db_values(&l.db_b)[&loc(&l.b, C)],
        vals(&[("rating", &["1"]), ("color", &["#0000FF"])])
    );
    let after = l.env.branch_tip(&l.b);
    let changed = l
        .env
        .git(&l.b, &["diff", "--name-only", &tip, &after, "--"]);
    assert!(
        changed.lines().all(|p| p.starts_with("mixxx/")),
        "only git-mixxx's state changes: {changed}"
    );
    assert!(!l.env.metadata(&l.b, C).contains_key("color"));
    // A normal sync then pushes B's colour.
    let report = l.sync_b(&[]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(report["pulled"], 0, "{report}");
    assert_eq!(l.env.metadata(&l.b, C)["color"], set_of(&["#0000FF"]));
    assert_settled(&l.env, &l.b, &l.db_b);
}

// 8. --push-only leaves Mixxx untouched and says why the pulls wait.
#[test]
fn push_only_leaves_mixxx_untouched() {
    let l = pull_and_push();
    let before = std::fs::read(&l.db_b).unwrap();
    let report = l.sync_b(&["--push-only"]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert!(
        report["pull_pending"]
            .as_str()
            .is_some_and(|p| p.contains("--push-only")),
        "{report}"
    );
    assert_eq!(report["backup"], Value::Null);
    assert!(std::fs::read(&l.db_b).unwrap() == before, "Mixxx unchanged");
    assert_eq!(l.env.metadata(&l.b, C)["color"], set_of(&["#0000FF"]));
    // A normal sync then pulls A's values.
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(
        db_values(&l.db_b)[&loc(&l.b, A)],
        vals(&[("rating", &["5"]), ("crate", &["Peak"])])
    );
    assert_settled(&l.env, &l.b, &l.db_b);
}

// Key notations: each Mixxx writes keys in its own notation, the branch holds one, so two
// laptops with different notations never conflict; a hand-written spelling on the branch is
// read as the same value and left as it is.
#[test]
fn key_notations_and_spellings_do_not_conflict() {
    let l = Laptops::synced(&[
        (A, vals(&[("key", &["Am"]), ("bpm", &["124.00"])])),
        (B, vals(&[("key", &["C#m"])])),
    ]);
    // Laptop B's DJ uses the Lancelot notation: Mixxx rewrote the key texts.
    let lancelot = [(A, "8A"), (B, "12A")];
    for (file, text) in lancelot {
        edit(&l.db_b, &loc(&l.b, file), &format!("key = '{text}'"));
    }
    let report = l.sync_b(&[]);
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["conflicts"], json!([]), "{report}");

    // A git-annex user writes the BPM by hand in another spelling.
    l.env
        .git(&l.a, &["annex", "metadata", "-q", "--set", "bpm=124", A]);
    let tip = l.env.branch_tip(&l.a);
    let report = l.sync_a(&[]);
    assert_eq!(
        report["pushed"], 0,
        "never rewritten for its spelling: {report}"
    );
    assert_eq!(report["pulled"], 0, "{report}");
    assert_eq!(report["conflicts"], json!([]), "{report}");
    assert_eq!(l.env.metadata(&l.a, A)["bpm"], set_of(&["124"]));

    // A new key from laptop A reaches B in B's notation, with key_id.
    edit(&l.db_a, &loc(&l.a, A), "key = 'Em', key_id = 17");
    let report = l.sync_a(&[]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_ne!(l.env.branch_tip(&l.a), tip);
    assert_eq!(l.env.metadata(&l.a, A)["key"], set_of(&["Em"]));
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 1, "{report}");
    let conn = rusqlite::Connection::open(&l.db_b).unwrap();
    let (text, id): (String, i64) = conn
        .query_row(
            "SELECT l.key, l.key_id FROM library l JOIN track_locations tl ON tl.id = l.location \
             WHERE tl.location = ?1",
            [loc(&l.b, A)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((text.as_str(), id), ("9A", 17));
    assert_settled(&l.env, &l.b, &l.db_b);
}

// A value on the branch that Mixxx cannot hold is reported (exit 1) and left alone on both
// sides, run after run, until the DJ edits the field in Mixxx.
#[test]
fn a_value_mixxx_cannot_hold_is_reported_not_overwritten() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"]), ("bpm", &["120.00"])]))]);
    l.env
        .git(&l.b, &["annex", "metadata", "-q", "--set", "rating=9", A]);
    l.env
        .git(&l.b, &["annex", "metadata", "-q", "--set", "bpm=abc", A]);
    let lb = loc(&l.b, A);
    for _ in 0..2 {
        let out = l
            .env
            .mixxx(&l.b, &["sync", "--json", "--db", l.db_b.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let failed: Vec<&str> = report["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(failed, ["rating", "bpm"], "{report}");
        assert!(
            report["failed"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("\"9\"")
        );
        assert_eq!(report["pushed"], 0, "{report}");
        assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["9"]));
        assert_eq!(db_values(&l.db_b)[&lb]["rating"], set_of(&["3"]));
    }
    // The DJ fixes it in Mixxx: the edit replaces the invalid value.
    edit(&l.db_b, &lb, "rating = 4");
    let out = l
        .env
        .mixxx(&l.b, &["sync", "--json", "--db", l.db_b.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["4"]));
}

// The README's first command: the demonstration carries laptop A's values, then an edit made
// in A's Mixxx, to laptop B's Mixxx with `git annex sync` and the hooks alone, shows a conflict,
// and refuses a directory that holds something.
#[test]
fn the_demo_carries_laptop_a_edit_to_laptop_b_through_the_hooks() {
    let env = Env::new();
    let dir = env.root.join("demo");
    // An existing empty directory is used.
    std::fs::create_dir(&dir).unwrap();
    let out = env.mixxx(&env.root, &["demo", dir.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(said.contains("12 pulled into Mixxx"), "{said}");
    assert!(
        said.contains("laptop A's edit reached it through the hooks"),
        "{said}"
    );
    assert!(
        said.contains("1 conflict (see `git mixxx status`)"),
        "{said}"
    );
    assert!(!said.contains("Mixxx is running"), "{said}");
    let track = |n: usize, laptop: &str| {
        loc(
            &dir.join(laptop),
            &format!(
                "music/{}/Artist {n} - Track {n}.flac",
                ["House", "Techno", "Disco"][n % 3]
            ),
        )
    };
    let in_a = db_values(&dir.join("mixxx-a/mixxxdb.sqlite"));
    let in_b = db_values(&dir.join("mixxx-b/mixxxdb.sqlite"));
    let rated = in_b.values().filter(|v| v.contains_key("rating")).count();
    assert_eq!((in_b.len(), rated), (12, 11), "{in_b:?}");
    // A's edit (track 0 rated 5) is in B's Mixxx; the conflict on track 2 settled on B's 4 in
    // both.
    assert_eq!(in_b[&track(0, "laptop-b")]["rating"], set_of(&["5"]));
    assert_eq!(in_b[&track(2, "laptop-b")]["rating"], set_of(&["4"]));
    assert_eq!(in_a[&track(2, "laptop-a")]["rating"], set_of(&["4"]));
    // The hooks stay installed for the commands the demo suggests, and git-mixxx is in them.
    let hook = std::fs::read_to_string(dir.join("laptop-b/.git/hooks/reference-transaction"));
    assert!(
        hook.unwrap()
            .contains("git_mixxx hook reference-transaction")
    );
    // The user's global git configuration is not written.
    assert!(!env.root.join("home/.gitconfig").exists());

    // Again in the same directory: refused with one sentence, exit 2, nothing changed.
    let before = env.git(&dir.join("laptop-b"), &["rev-parse", "git-annex"]);
    let out = env.mixxx(&env.root, &["demo", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not an empty directory: give a new or empty directory"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out));
    assert_eq!(
        env.git(&dir.join("laptop-b"), &["rev-parse", "git-annex"]),
        before
    );
}

// A rating and a comment changed on laptop A and cleared on laptop B, both offline, each synced
// to its own branch before `git annex sync` joins them (git-annex keeps A's values: B's clear
// unset only the values it saw): the later edit wins on both laptops, whichever it is, and the
// laptop whose edit lost lists the conflicts (before, B's clear was lost without a word).
#[test]
fn a_value_changed_on_one_laptop_and_cleared_on_another_settles_on_the_later_edit() {
    for clear_last in [true, false] {
        let l = Laptops::synced(&[(A, vals(&[("rating", &["3"]), ("comment", &["old"])]))]);
        let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
        let change = || {
            edit(&l.db_a, &at_a, "rating = 5, comment = 'new'");
            l.sync_a(&[]);
        };
        let clear = || {
            edit(&l.db_b, &at_b, "rating = 0, comment = ''");
            l.sync_b(&["--allow-clears"]);
        };
        if clear_last {
            change();
            clear();
        } else {
            clear();
            change();
        }
        l.exchange(&[&l.a, &l.b, &l.a]);
        let (report_a, report_b) = (l.sync_a(&[]), l.sync_b(&[]));
        l.exchange(&[&l.b, &l.a]);
        l.sync_a(&[]);
        let expected = match clear_last {
            true => Values::new(),
            false => vals(&[("rating", &["5"]), ("comment", &["new"])]),
        };
        assert_eq!(
            values_of(&l.db_a, &at_a),
            expected,
            "clear last: {clear_last}"
        );
        assert_eq!(
            values_of(&l.db_b, &at_b),
            expected,
            "clear last: {clear_last}"
        );
        assert_eq!(
            l.env.metadata(&l.a, A),
            expected,
            "clear last: {clear_last}"
        );
        let loser = match clear_last {
            true => &report_a,
            false => &report_b,
        };
        let fields: Vec<&str> = (loser["conflicts"].as_array().unwrap().iter())
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["comment", "rating"], "{loser}");
        // The branch's side is what it settled on: a clear that won is no value.
        let settled = expected.get("comment").cloned().unwrap_or_default();
        assert_eq!(loser["conflicts"][0]["branch"], json!(settled), "{loser}");
        // Settled: no laptop lists them again.
        for report in [l.sync_a(&[]), l.sync_b(&[])] {
            assert_eq!(report["conflicts"], json!([]), "{report}");
        }
    }
}

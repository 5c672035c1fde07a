//! What was played travels: play counts add up across laptops (each laptop's plays are its own
//! part of the count, so plays made offline on two laptops never collide, and no play counts
//! twice however often they sync), last played is the latest of all, and every laptop's
//! history sessions arrive on the others as history playlists, in play order with their times.

use crate::laptops::*;
use crate::util::*;
use serde_json::{Value, json};
use std::path::Path;

/// What Mixxx does when a track is played at `at` (UTC, as Mixxx writes it): its count goes
/// up, its last played time is `at` (from schema revision 35), and the session's history
/// playlist (the newest) gets an entry.
pub fn play(db: &Path, location: &str, at: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    // Mixxx's declared foreign keys are broken; Mixxx never enforces them.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let has_last_played: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('library') WHERE name = 'last_played_at'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .unwrap();
    let id = track(location);
    let last = match has_last_played {
        true => format!(", last_played_at = '{at}'"),
        false => String::new(),
    };
    conn.execute_batch(&format!(
        "UPDATE library SET timesplayed = timesplayed + 1, played = 1{last} WHERE id = {id};
         INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added)
           SELECT p, {id}, COALESCE((SELECT max(position) FROM PlaylistTracks
                                     WHERE playlist_id = p), 0) + 1, '{at}'
           FROM (SELECT max(id) AS p FROM Playlists WHERE hidden = 2);"
    ))
    .unwrap();
}

/// What Mixxx does when it starts: a new history playlist for the session, named by its date
/// (`2026-12-05`, then `2026-12-05 (2)`...).
pub fn start_session(db: &Path, at: &str) {
    let date = &at[..10];
    db_exec(
        db,
        &format!(
            "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked)
             SELECT CASE WHEN n = 0 THEN '{date}' ELSE '{date} (' || (n + 1) || ')' END,
                    (SELECT max(position) FROM Playlists) + 1, 2, '{at}', '{at}', 0
             FROM (SELECT count(*) AS n FROM Playlists WHERE name LIKE '{date}%');"
        ),
    );
}

/// A track's play count in a Mixxx database.
pub fn times_played(db: &Path, location: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            &format!(
                "SELECT timesplayed FROM library WHERE id = {}",
                track(location)
            ),
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// A Mixxx database's history playlists: (name, [(location, time played)]) in Mixxx's order.
pub fn history(db: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT p.name, tl.location, pt.pl_datetime_added FROM Playlists p
             JOIN PlaylistTracks pt ON pt.playlist_id = p.id
             JOIN library l ON l.id = pt.track_id JOIN track_locations tl ON tl.id = l.location
             WHERE p.hidden = 2 ORDER BY p.id, pt.position",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for row in rows {
        let (name, location, at) = row.unwrap();
        match out.last_mut() {
            Some((n, entries)) if *n == name => entries.push((location, at)),
            _ => out.push((name, vec![(location, at)])),
        }
    }
    out
}

/// The newest history playlist of a Mixxx database: its id and name.
fn newest_session(db: &Path) -> (i64, String) {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT id, name FROM Playlists WHERE hidden = 2 ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The play fields of a file on the branch, as `git annex metadata` shows them.
fn plays_on_branch(env: &Env, repo: &Path, file: &str) -> Vec<(String, Vec<String>)> {
    env.metadata(repo, file)
        .into_iter()
        .filter(|(f, _)| f.starts_with("plays") || f == "lastplayed")
        .map(|(f, v)| (f, v.into_iter().collect()))
        .collect()
}

/// This clone's part of play counts on the branch.
fn part(env: &Env, repo: &Path) -> String {
    let uuid = env.git(repo, &["config", "annex.uuid"]);
    git_mixxx::fields::plays::part_field(uuid.trim())
}

/// Laptops A, B and C have synced track A played 4 times on A; A then plays it twice and B
/// three times, offline; they sync in the order given (A first, or B first): both end with 9,
/// each laptop's plays in its own part; syncing again changes nothing, and C, filled from the
/// branch, has the same.
fn offline_plays_add_up(a_first: bool) {
    let t = Trio::synced(&[
        (A, vals(&[("rating", &["3"]), ("plays", &["4"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let l = &t.l;
    assert_eq!(times_played(&l.db_b, &loc(&l.b, A)), 4);
    assert_eq!(times_played(&t.db_c, &loc(&t.c, A)), 4);
    for at in ["2026-12-05 21:00:00", "2026-12-05 21:30:00"] {
        play(&l.db_a, &loc(&l.a, A), at);
    }
    for at in [
        "2026-12-06 20:00:00",
        "2026-12-06 20:10:00",
        "2026-12-06 20:20:00",
    ] {
        play(&l.db_b, &loc(&l.b, A), at);
    }
    let (first, second) = match a_first {
        true => ((&l.a, &l.db_a), (&l.b, &l.db_b)),
        false => ((&l.b, &l.db_b), (&l.a, &l.db_a)),
    };
    let report = l.env.sync(first.0, first.1, &[]);
    assert_eq!(report["plays"], if a_first { 2 } else { 3 }, "{report}");
    l.exchange(&[first.0, second.0]);
    let report = l.env.sync(second.0, second.1, &[]);
    assert_eq!(report["plays"], if a_first { 3 } else { 2 }, "{report}");
    l.exchange(&[second.0, first.0]);
    l.env.sync(first.0, first.1, &[]);
    t.exchange_all();
    t.sync_c(&[]);
    t.exchange_all();
    for (repo, db) in t.clones() {
        assert_eq!(times_played(db, &loc(repo, A)), 9, "{}", repo.display());
    }
    let on_branch = plays_on_branch(&l.env, &l.a, A);
    let want = [
        (
            "lastplayed".to_owned(),
            vec!["2026-12-06T20:20:00Z".to_owned()],
        ),
        ("plays".to_owned(), vec!["9".to_owned()]),
        (part(&l.env, &l.a), vec!["6".to_owned()]),
        (part(&l.env, &l.b), vec!["3".to_owned()]),
    ];
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(on_branch, want);
    assert_eq!(
        l.env.find(&l.a, "plays>=9"),
        [A],
        "git annex find works on the total"
    );
    assert!(l.env.find(&l.a, "plays>=10").is_empty());
    for (repo, db) in t.clones() {
        assert_settled(&l.env, repo, db);
    }
    for (repo, db) in t.clones() {
        assert_eq!(times_played(db, &loc(repo, A)), 9, "settled at 9");
    }
}

#[test]
fn plays_made_offline_on_two_laptops_add_up_a_first() {
    offline_plays_add_up(true);
}

#[test]
fn plays_made_offline_on_two_laptops_add_up_b_first() {
    offline_plays_add_up(false);
}

// A restored backup (a database from before some plays that were synced since) neither loses
// those plays nor counts its own again: the branch's count wins where it has one, and plays
// made after the restore count as usual.
#[test]
fn a_restored_backup_neither_loses_nor_doubles_plays() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"]), ("plays", &["4"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let db_a = l.db_a.to_str().unwrap();
    play(&l.db_b, &loc(&l.b, A), "2026-12-06 20:00:00");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    let pulled = l.sync_a(&[]);
    assert_eq!(times_played(&l.db_a, &loc(&l.a, A)), 5, "{pulled}");
    // The backup taken before that pull holds 4; A plays twice more and syncs.
    play(&l.db_a, &loc(&l.a, A), "2026-12-07 20:00:00");
    play(&l.db_a, &loc(&l.a, A), "2026-12-07 20:05:00");
    assert_eq!(l.sync_a(&[])["plays"], 2);
    let list: Value = serde_json::from_str(
        &l.env
            .mixxx_ok(&l.a, &["restore", "--list", "--json", "--db", db_a]),
    )
    .unwrap();
    let oldest = list["backups"].as_array().unwrap().last().unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    l.env.mixxx_ok(&l.a, &["restore", &oldest, "--db", db_a]);
    assert_eq!(
        times_played(&l.db_a, &loc(&l.a, A)),
        4,
        "the backup's count"
    );
    let report = l.sync_a(&[]);
    assert_eq!(report["database_replaced"], true, "{report}");
    assert_eq!(report["plays"], 0, "nothing counted again: {report}");
    assert_eq!(times_played(&l.db_a, &loc(&l.a, A)), 7, "nothing lost");
    assert_eq!(l.env.metadata(&l.a, A)["plays"], set_of(&["7"]));
    play(&l.db_a, &loc(&l.a, A), "2026-12-08 20:00:00");
    assert_eq!(l.sync_a(&[])["plays"], 1);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    assert_eq!(times_played(&l.db_b, &loc(&l.b, A)), 8);
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// Last played is the latest of every laptop's, whichever line is newest; a Mixxx before schema
// revision 35 (laptop A, Mixxx 2.3) has no such column: the branch keeps it and A is never
// written.
#[test]
fn last_played_is_the_latest_and_kept_on_the_branch_for_mixxx_2_3() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    play(&l.db_b, &loc(&l.b, A), "2026-12-06 20:00:00");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    // Another tool sets an older time afterwards, as a newer line.
    l.env.git(
        &l.a,
        &[
            "annex",
            "metadata",
            "-q",
            "-s",
            "lastplayed+=2026-01-01T00:00:00Z",
            A,
        ],
    );
    let report = l.sync_a(&[]);
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(
        l.env.metadata(&l.a, A)["lastplayed"],
        set_of(&["2026-12-06T20:00:00Z"]),
        "the latest, not the newest line"
    );
    assert_eq!(times_played(&l.db_a, &loc(&l.a, A)), 1);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let last_played: String = rusqlite::Connection::open(&l.db_b)
        .unwrap()
        .query_row(
            &format!(
                "SELECT last_played_at FROM library WHERE id = {}",
                track(&loc(&l.b, A))
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(last_played, "2026-12-06 20:00:00", "as Mixxx writes it");
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// A's history sessions arrive on B as history playlists named with A's description, in play
// order with their times (a track played twice stays twice) and grow as A's session grows; a
// copy B's DJ deletes stays deleted there and on A; B never pushes a copy as its own.
#[test]
fn history_sessions_travel_in_order_and_deleting_one_leaves_the_others() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
        (C, vals(&[("rating", &["1"])])),
    ]);
    start_session(&l.db_a, "2026-12-05 20:00:00");
    play(&l.db_a, &loc(&l.a, A), "2026-12-05 20:01:00");
    play(&l.db_a, &loc(&l.a, B), "2026-12-05 20:05:00");
    play(&l.db_a, &loc(&l.a, A), "2026-12-05 20:09:00");
    let report = l.sync_a(&[]);
    assert_eq!(report["sessions_pushed"], 1, "{report}");
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert_eq!(report["sessions_added"], 1, "{report}");
    let gig = |entries: &[(&str, &str)]| {
        (
            "2026-12-05 (laptop-a)".to_owned(),
            entries
                .iter()
                .map(|(f, at)| (loc(&l.b, f), at.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    let first = [
        (A, "2026-12-05 20:01:00"),
        (B, "2026-12-05 20:05:00"),
        (A, "2026-12-05 20:09:00"),
    ];
    assert_eq!(history(&l.db_b), vec![gig(&first)]);
    assert_eq!(
        times_played(&l.db_b, &loc(&l.b, A)),
        2,
        "counts travel as counts"
    );
    l.exchange(&[&l.b, &l.a]);
    assert_settled(&l.env, &l.b, &l.db_b);
    let b_uuid = l.env.git(&l.b, &["config", "annex.uuid"]);
    let b_history = l.env.output(
        &l.b,
        "git",
        &[
            "ls-tree",
            "-r",
            "--name-only",
            "git-annex",
            &format!("mixxx/{}/history", b_uuid.trim()),
        ],
    );
    assert!(b_history.stdout.is_empty(), "B pushes no copy as its own");

    // A's session grows: B's copy grows.
    play(&l.db_a, &loc(&l.a, C), "2026-12-05 20:14:00");
    assert_eq!(l.sync_a(&[])["sessions_pushed"], 1);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let mut grown = first.to_vec();
    grown.push((C, "2026-12-05 20:14:00"));
    assert_eq!(history(&l.db_b), vec![gig(&grown)]);

    // B's DJ deletes the copy: it stays deleted on B, and stays on A. B's next session takes
    // the deleted playlist's id, as SQLite gives it: it is B's own all the same.
    let (copy_id, _) = newest_session(&l.db_b);
    db_exec(
        &l.db_b,
        &format!(
            "DELETE FROM PlaylistTracks WHERE playlist_id = {copy_id};
             DELETE FROM Playlists WHERE id = {copy_id};"
        ),
    );
    let report = l.sync_b(&[]);
    assert_eq!(report["sessions_added"], 0, "{report}");
    start_session(&l.db_b, "2026-12-07 19:00:00");
    let (id, name) = newest_session(&l.db_b);
    assert_eq!(id, copy_id);
    play(&l.db_b, &loc(&l.b, C), "2026-12-07 19:05:00");
    assert_eq!(l.sync_b(&[])["sessions_pushed"], 1, "B's own session");
    l.exchange(&[&l.b, &l.a]);
    play(&l.db_a, &loc(&l.a, B), "2026-12-05 20:20:00");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let entry = (loc(&l.b, C), "2026-12-07 19:05:00".to_owned());
    let own = (name.clone(), vec![entry]);
    assert_eq!(
        history(&l.db_b),
        vec![own],
        "A's session deleted there only"
    );
    assert_eq!(history(&l.db_a)[0].1.len(), 5, "A keeps its session");
    let from_b = format!("{name} (laptop-b)");
    assert!(
        history(&l.db_a).iter().any(|(n, _)| *n == from_b),
        "{from_b}"
    );
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// `git mixxx log` shows a run's plays as one line, not as changed values.
#[test]
fn log_shows_plays_as_one_summary_line() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    start_session(&l.db_a, "2026-12-05 20:00:00");
    for i in 0..12 {
        let file = if i % 2 == 0 { A } else { B };
        play(
            &l.db_a,
            &loc(&l.a, file),
            &format!("2026-12-05 20:{:02}:00", i * 4),
        );
    }
    l.sync_a(&[]);
    let text = l.env.mixxx_ok(&l.a, &["log"]);
    assert!(
        text.contains("    12 plays, 1 session from laptop-a\n"),
        "{text}"
    );
    assert!(
        !text.contains("plays  "),
        "no play counts as values: {text}"
    );
    assert!(!text.contains("lastplayed"), "{text}");
    let log: Value = serde_json::from_str(&l.env.mixxx_ok(&l.a, &["log", "--json"])).unwrap();
    assert_eq!(
        log["runs"][0]["played"],
        json!({"plays": 12, "sessions": 1})
    );
    assert_eq!(log["runs"][0]["changes"], json!([]));
}

// Play counts and last played only grow: a run that settles them on many tracks (here, a last
// played time each set again by another tool, so each track has two) is never refused by the
// clear guard.
#[test]
fn the_clear_guard_never_counts_plays() {
    let env = Env::new();
    let files: Vec<String> = (0..30).map(|i| format!("t{i:02}.flac")).collect();
    let played = vals(&[("plays", &["2"]), ("lastplayed", &["2026-12-05T20:00:00Z"])]);
    let (repo, db) = env.synced_library(&files, 39, &played);
    env.git(
        &repo,
        &[
            "annex",
            "metadata",
            "-q",
            "--all",
            "-s",
            "lastplayed+=2025-01-01T00:00:00Z",
            "-s",
            "plays=1",
        ],
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["refused"], Value::Null, "{report}");
    assert_eq!(
        env.find(&repo, "plays=2").len(),
        30,
        "the total is the parts' sum again"
    );
    assert_eq!(env.find(&repo, "lastplayed=2025-01-01T00:00:00Z").len(), 0);
    assert_settled(&env, &repo, &db);
}

// A new laptop filled in one sync (its empty Mixxx gets the files whose content is here) gets
// the play counts, last played and the other laptop's history sessions with them.
#[test]
fn a_new_laptop_filled_in_one_sync_gets_counts_last_played_and_history() {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "gig-laptop");
    let files = ["Set/one.flac", "Set/two.flac"];
    env.add_files(&a, &files, &[]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let tracks: Vec<_> = files
        .iter()
        .map(|f| (loc(&a, f), vals(&[("rating", &["4"])])))
        .collect();
    create_db(&db_a, 39, &tracks);
    start_session(&db_a, "2026-12-05 20:00:00");
    play(&db_a, &loc(&a, files[1]), "2026-12-05 20:01:00");
    play(&db_a, &loc(&a, files[0]), "2026-12-05 20:06:00");
    play(&db_a, &loc(&a, files[1]), "2026-12-05 20:11:00");
    env.sync(&a, &db_a, &[]);
    env.annex_sync(&a);

    let c = env.laptop(&nas, "new-laptop");
    env.annex_sync(&c);
    env.git(&c, &["annex", "get", "-q", "."]);
    let db_c = env.root.join("mixxx-c/mixxxdb.sqlite");
    create_db(&db_c, 39, &[]);
    let report = env.sync(&c, &db_c, &[]);
    assert_eq!(report["imported"], json!(files), "{report}");
    assert_eq!(report["sessions_added"], 1, "{report}");
    assert_eq!(report["plays"], 0, "nothing counted as C's: {report}");
    assert_eq!(times_played(&db_c, &loc(&c, files[0])), 1);
    assert_eq!(times_played(&db_c, &loc(&c, files[1])), 2);
    assert_eq!(
        values_of(&db_c, &loc(&c, files[1]))["lastplayed"],
        set_of(&["2026-12-05T20:11:00Z"])
    );
    let entry = |f: &str, at: &str| (loc(&c, f), at.to_owned());
    let session = (
        "2026-12-05 (gig-laptop)".to_owned(),
        vec![
            entry(files[1], "2026-12-05 20:01:00"),
            entry(files[0], "2026-12-05 20:06:00"),
            entry(files[1], "2026-12-05 20:11:00"),
        ],
    );
    assert_eq!(history(&db_c), vec![session]);
    assert_settled(&env, &c, &db_c);
}

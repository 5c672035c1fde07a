//! Mixxx's development schema (revision 41: several files per track): read and written like
//! the others, syncing with older Mixxx versions; relinks keep `track_locations.track_id`
//! right and a track's secondary locations intact; a secondary location's file gets none of
//! its track's values (its cue positions are shifted by its codec offset) and is reported.

use crate::laptops::*;
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use serde_json::json;
use std::path::Path;

const HOTCUE: &str = "hotcue 1 88200 0 #FF0000 Drop";

/// Adds a secondary location of the track at `primary`: `file` (absolute), another encoding
/// of it `offset` samples apart, as Mixxx 41 stores it.
fn add_secondary(db: &Path, primary: &str, file: &str, offset: f64) {
    let (directory, filename) = file.rsplit_once('/').unwrap();
    db_exec(
        db,
        &format!(
            "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, \
             needs_verification, track_id, offset_samples, quality_indicator) \
             VALUES ('{file}', '{filename}', '{directory}', 100, 0, 0, {}, {offset}, 1)",
            track(primary)
        ),
    );
}

/// Every `track_locations` row: (location, `track_id`, `offset_samples`), by location.
fn locations(db: &Path) -> Vec<(String, Option<i64>, f64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT location, track_id, offset_samples FROM track_locations ORDER BY location")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every `library` row: (id, its location).
fn library(db: &Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT l.id, tl.location FROM library l JOIN track_locations tl ON tl.id = l.location \
             ORDER BY l.id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

// Laptop A runs Mixxx 2.3 (schema 32), laptop B Mixxx's development branch (41): ratings,
// crates and cues travel both ways through the NAS.
#[test]
fn a_revision_41_laptop_syncs_both_ways_with_a_revision_32_laptop() {
    let l = Laptops::new();
    let prepared = vals(&[("rating", &["5"]), ("crate", &["Peak"]), ("cue", &[HOTCUE])]);
    l.mixxx_a(&[(A, prepared.clone()), (B, vals(&[("rating", &["2"])]))]);
    let empty = [(loc(&l.b, B), Values::new()), (loc(&l.b, A), Values::new())];
    create_db(&l.db_b, 41, &empty);
    assert_eq!(l.sync_a(&[])["pushed"], 2);
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled"], 2, "{report}");
    assert_eq!(report["skipped"], json!({}), "{report}");
    assert_eq!(values_of(&l.db_b, &loc(&l.b, A)), prepared);

    // B edits all three kinds; A gets them.
    let loop_cue = "loop 2 500000 88200 #00FF00";
    edit(&l.db_b, &loc(&l.b, A), "rating = 3");
    add_to_crate(&l.db_b, &loc(&l.b, A), "Warmup");
    add_to_crate(&l.db_b, &loc(&l.b, B), "Warmup");
    db_exec(
        &l.db_b,
        &format!(
            "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
             VALUES ({}, 4, 500000, 88200, 1, '', 65280)",
            track(&loc(&l.b, A))
        ),
    );
    let report = l.sync_b(&[]);
    assert_eq!(report["pushed"], 2, "{report}");
    l.exchange(&[&l.b, &l.a]);
    let report = l.sync_a(&[]);
    assert_eq!(report["pulled"], 2, "{report}");
    let expected = vals(&[
        ("rating", &["3"]),
        ("crate", &["Peak", "Warmup"]),
        ("cue", &[HOTCUE, loop_cue]),
    ]);
    assert_eq!(values_of(&l.db_a, &loc(&l.a, A)), expected);
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, B)),
        vals(&[("rating", &["2"]), ("crate", &["Warmup"])])
    );
    assert_eq!(values_of(&l.db_b, &loc(&l.b, A)), expected);
    assert_settled(&l.env, &l.a, &l.db_a);
    l.exchange(&[&l.a, &l.b]);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// At revision 41, a file renamed with `git mv` and rescanned as Mixxx does (the old row
// missing, a new row whose location names it): the old row takes the new location, which now
// names the old row; the old location row goes and the track's secondary location stays as
// it was. A second rename without a rescan moves the location row in place.
#[test]
fn a_rename_and_rescan_at_revision_41_relinks_with_track_ids_right() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &[A, "music/House/a.mp3"], &[]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let prepared = vals(&[("rating", &["4"]), ("cue", &[HOTCUE])]);
    create_db(&db, 41, &[(loc(&repo, A), prepared.clone())]);
    let mp3 = loc(&repo, "music/House/a.mp3");
    add_secondary(&db, &loc(&repo, A), &mp3, 1234.5);
    env.sync(&repo, &db, &[]);
    let [(id, _)] = library(&db)[..] else {
        panic!("one row: {:?}", library(&db))
    };

    let renamed = "music/House/a (renamed).flac";
    env.git(&repo, &["mv", A, renamed]);
    env.git(&repo, &["commit", "-q", "-m", "rename"]);
    rescan_after_rename(&db, &loc(&repo, A), &loc(&repo, renamed));
    db_exec(
        &db,
        &format!(
            "UPDATE track_locations SET track_id = (SELECT id FROM library WHERE location = track_locations.id) \
             WHERE location = '{}'",
            loc(&repo, renamed)
        ),
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(
        report["relinked"],
        json!([{"from": A, "to": renamed}]),
        "{report}"
    );
    assert_eq!(
        library(&db),
        [(id, loc(&repo, renamed))],
        "the rescan's row is gone"
    );
    assert_eq!(
        locations(&db),
        [
            (loc(&repo, renamed), Some(id), 0.0),
            (mp3.clone(), Some(id), 1234.5),
        ],
        "the new location names the old row, the old one is gone, the secondary one stays"
    );
    assert_eq!(values_of(&db, &loc(&repo, renamed)), prepared);
    assert_eq!(env.metadata(&repo, renamed), prepared);

    let again = "music/a.flac";
    env.git(&repo, &["mv", renamed, again]);
    env.git(&repo, &["commit", "-q", "-m", "move"]);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(
        report["relinked"],
        json!([{"from": renamed, "to": again}]),
        "{report}"
    );
    assert_eq!(library(&db), [(id, loc(&repo, again))]);
    assert_eq!(
        locations(&db),
        [(mp3, Some(id), 1234.5), (loc(&repo, again), Some(id), 0.0)]
    );
    assert_settled(&env, &repo, &db);
}

// A track with a primary file and a secondary one (another encoding, 1234.5 samples apart):
// its values and cues go to the branch under the primary file's key only; the secondary file
// is reported as skipped, is not counted as a track this Mixxx lacks when the branch has
// metadata for it, and nothing is pulled into the track from it.
#[test]
fn a_secondary_location_gets_none_of_its_tracks_cues_and_is_reported() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["a.flac", "a.mp3"], &[]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let prepared = vals(&[("rating", &["5"]), ("cue", &[HOTCUE])]);
    create_db(&db, 41, &[(loc(&repo, "a.flac"), prepared.clone())]);
    add_secondary(&db, &loc(&repo, "a.flac"), &loc(&repo, "a.mp3"), 1234.5);

    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["tracks"], 1, "{report}");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(
        report["skipped"],
        json!({"secondary_location": 1}),
        "{report}"
    );
    assert_eq!(report["relinked"], json!([]), "{report}");
    assert_eq!(env.metadata(&repo, "a.flac"), prepared);
    assert_eq!(env.metadata(&repo, "a.mp3"), Values::new());
    let text = env.mixxx_ok(&repo, &["sync", "--db", db.to_str().unwrap()]);
    assert!(
        text.contains(
            "skipped 1 track: 1 at a secondary location of a track (its metadata travels with the primary file)"
        ),
        "{text}"
    );

    // Another clone gave the MP3 metadata of its own: not a track this Mixxx lacks, and it
    // does not reach the track.
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "rating=1", "a.mp3"],
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["unknown_tracks"], 0, "{report}");
    assert_eq!(report["pulled"], 0, "{report}");
    assert_eq!(values_of(&db, &loc(&repo, "a.flac")), prepared);
    assert_eq!(env.metadata(&repo, "a.mp3"), vals(&[("rating", &["1"])]));
    assert_eq!(
        locations(&db),
        [
            (loc(&repo, "a.flac"), Some(1), 0.0),
            (loc(&repo, "a.mp3"), Some(1), 1234.5),
        ]
    );
    let status = status(&env, &repo, &db);
    assert_eq!(
        status["pending"]["skipped"],
        json!({"secondary_location": 1}),
        "{status}"
    );
}

// A file removed while a copy of it (same key) is another track's secondary location: the
// removed file's row is not relinked onto that location, which stays its own track's.
#[test]
fn no_row_is_relinked_to_another_tracks_secondary_location() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["a.flac", "y.flac"], &[]);
    std::fs::write(
        repo.join("copy.flac"),
        std::fs::read(repo.join("a.flac")).unwrap(),
    )
    .unwrap();
    env.git(&repo, &["annex", "add", "-q", "copy.flac"]);
    env.git(&repo, &["commit", "-q", "-m", "copy"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let tracks = [
        (loc(&repo, "a.flac"), vals(&[("rating", &["4"])])),
        (loc(&repo, "y.flac"), vals(&[("rating", &["2"])])),
    ];
    create_db(&db, 41, &tracks);
    add_secondary(&db, &loc(&repo, "y.flac"), &loc(&repo, "copy.flac"), 0.0);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 2, "{report}");
    let before = (library(&db), locations(&db));

    env.git(&repo, &["rm", "-q", "a.flac"]);
    env.git(&repo, &["commit", "-q", "-m", "remove"]);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["relinked"], json!([]), "{report}");
    assert_eq!((library(&db), locations(&db)), before);
    assert_eq!(values_of(&db, &loc(&repo, "y.flac")), tracks[1].1);
}

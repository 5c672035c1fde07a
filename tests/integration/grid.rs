//! The beat grid travels byte for byte with its version, sub-version and lock, and stays tied to
//! `bpm`: a BPM pulled alone moves a beat grid (and clears a beat map), a grid pulled alone sets
//! the BPM, and a grid on the branch that Mixxx could not load is reported, never written.

use crate::laptops::*;
use crate::util::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::path::Path;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Gives a track a grid (sub-version `NULL` when `None`) and the BPM Mixxx derives from it.
fn set_grid(db: &Path, location: &str, blob: &[u8], version: &str, sub: Option<&str>, bpm: f64) {
    let sub = sub.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    db_exec(
        db,
        &format!(
            "UPDATE library SET beats = X'{}', beats_version = '{version}', \
             beats_sub_version = {sub}, bpm_lock = {}, bpm = {bpm:?} WHERE id = {}",
            hex(blob),
            i32::from(version == "BeatGrid-2.0"),
            track(location)
        ),
    );
}

/// A track's grid columns and BPM, exactly (blob in hex, each with its SQLite type).
fn grid_columns(db: &Path, location: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        &format!(
            "SELECT quote(beats) || '|' || quote(beats_version) || '|' || \
             quote(beats_sub_version) || '|' || quote(bpm_lock) || '|' || quote(bpm) \
             FROM library WHERE id = {}",
            track(location)
        ),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

// Laptop A sets a locked beat grid on one track and a beat map on another; after a sync, `git
// annex sync` and a sync on B, B's grid columns and BPM equal A's exactly. Then a BPM set on
// the branch alone (`git annex metadata -s bpm=130`) moves B's beat grid to 130 keeping its
// first beat and clears the beat map; A gets the same, and the next run on each writes nothing.
#[test]
fn grids_travel_exactly_and_a_pulled_bpm_moves_them() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["4"])])),
    ]);
    let grid = beat_grid(128.0, 1234);
    let map = beat_map(&[0, 21_000, 42_100, 63_050]);
    set_grid(
        &l.db_a,
        &loc(&l.a, A),
        &grid,
        "BeatGrid-2.0",
        Some("mixxx-queenmarydf 2.0"),
        128.0,
    );
    set_grid(&l.db_a, &loc(&l.a, B), &map, "BeatMap-1.0", None, 125.7);
    let report = l.sync_a(&[]);
    assert_eq!(report["pushed_fields"]["grid"], 2, "{report}");
    assert_eq!(
        l.env.metadata(&l.a, A)["grid"],
        set_of(&[&format!(
            "BeatGrid-2.0 1 {} mixxx-queenmarydf 2.0",
            B64.encode(&grid)
        )])
    );
    assert_eq!(
        l.env.metadata(&l.a, B)["grid"],
        set_of(&[&format!("BeatMap-1.0 0 {}", B64.encode(&map))])
    );
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    for file in [A, B] {
        let at_a = grid_columns(&l.db_a, &loc(&l.a, file));
        assert_eq!(grid_columns(&l.db_b, &loc(&l.b, file)), at_a, "{file}");
    }
    assert_eq!(
        grid_columns(&l.db_b, &loc(&l.b, A)),
        format!(
            "X'{}'|'BeatGrid-2.0'|'mixxx-queenmarydf 2.0'|1|128.0",
            hex(&grid)
        )
    );
    l.exchange(&[&l.b, &l.a]);

    // A BPM alone on the branch, as a git-annex user sets it.
    l.env
        .git(&l.a, &["annex", "metadata", "-q", "-s", "bpm=130", A]);
    l.env
        .git(&l.a, &["annex", "metadata", "-q", "-s", "bpm=126.5", B]);
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert_eq!(report["pulled_fields"]["grid"], 2, "{report}");
    assert_eq!(report["pushed_fields"]["grid"], 2, "{report}");
    assert_eq!(
        grid_columns(&l.db_b, &loc(&l.b, A)),
        format!(
            "X'{}'|'BeatGrid-2.0'|'mixxx-queenmarydf 2.0'|1|130.0",
            hex(&beat_grid(130.0, 1234))
        )
    );
    assert_eq!(
        grid_columns(&l.db_b, &loc(&l.b, B)),
        "NULL|NULL|NULL|0|126.5"
    );
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);
    for file in [A, B] {
        let at_b = grid_columns(&l.db_b, &loc(&l.b, file));
        assert_eq!(grid_columns(&l.db_a, &loc(&l.a, file)), at_b, "{file}");
    }
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// A grid set on the branch alone sets the BPM from it (its exact BPM in Mixxx, two decimals
// pushed); a grid on the branch that Mixxx could not load (not base64, an unknown version) is
// reported with its track and field, exit status 1, never written, and the track's other
// fields still sync.
#[test]
fn a_pulled_grid_sets_the_bpm_and_a_hostile_grid_is_reported() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    let location = loc(&repo, "a.flac");
    set_grid(
        &db,
        &location,
        &beat_grid(128.0, 0),
        "BeatGrid-2.0",
        None,
        128.0,
    );
    env.sync(&repo, &db, &[]);
    let pulled = beat_grid(124.456, 500);
    let value = format!("BeatGrid-2.0 0 {}", B64.encode(&pulled));
    env.git(
        &repo,
        &[
            "annex",
            "metadata",
            "-q",
            "-s",
            &format!("grid={value}"),
            "a.flac",
        ],
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed_fields"]["bpm"], 1, "{report}");
    assert_eq!(
        grid_columns(&db, &location),
        format!("X'{}'|'BeatGrid-2.0'|NULL|0|124.456", hex(&pulled))
    );
    assert_eq!(env.metadata(&repo, "a.flac")["bpm"], set_of(&["124.46"]));
    assert_settled(&env, &repo, &db);

    let before = grid_columns(&db, &location);
    let hostile = [
        "BeatGrid-2.0 0 %%%not-base64%%%".to_owned(),
        format!("BeatGrid-9.9 0 {}", B64.encode(&pulled)),
    ];
    for (value, rating) in hostile.iter().zip(["5", "2"]) {
        env.git(
            &repo,
            &[
                "annex",
                "metadata",
                "-q",
                "-s",
                &format!("grid={value}"),
                "-s",
                &format!("rating={rating}"),
                "a.flac",
            ],
        );
        let out = env.mixxx(&repo, &["sync", "--json", "--db", db.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let failed = report["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{report}");
        assert_eq!(
            (&failed[0]["path"], &failed[0]["field"]),
            (&"a.flac".into(), &"grid".into())
        );
        assert_eq!(grid_columns(&db, &location), before, "never written");
        assert_eq!(values_of(&db, &location)["rating"], set_of(&[rating]));
        assert_eq!(env.metadata(&repo, "a.flac")["grid"], set_of(&[value]));
    }
}

// Editing only the grid (no other column) is a change; the run after it has nothing to do.
#[test]
fn a_grid_edit_alone_is_synced_and_then_nothing_is_left_to_do() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    env.sync(&repo, &db, &[]);
    assert_settled(&env, &repo, &db);
    let grid = beat_grid(128.0, 77);
    db_exec(
        &db,
        &format!(
            "UPDATE library SET beats = X'{}', beats_version = 'BeatGrid-2.0', \
             beats_sub_version = 'a b', bpm_lock = 1",
            hex(&grid)
        ),
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(
        env.metadata(&repo, "a.flac")["grid"],
        set_of(&[&format!("BeatGrid-2.0 1 {} a b", B64.encode(&grid))])
    );
    assert_settled(&env, &repo, &db);
}

// A typo on the branch, `git annex metadata -s bpm=1000` (Mixxx's BPM goes up to 500), is held:
// the sync says so and exits 1, Mixxx keeps its BPM, and the beat grid stays in Mixxx and on
// the branch (it is not moved to 1000 nor deleted). Fixing the typo (`bpm=100`) moves the grid
// to 100 keeping its first beat, on the branch too.
#[test]
fn a_bpm_beyond_what_mixxx_accepts_is_held_and_leaves_the_grid_alone() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    let at = loc(&repo, "a.flac");
    set_grid(
        &db,
        &at,
        &beat_grid(128.0, 1000),
        "BeatGrid-2.0",
        None,
        128.0,
    );
    env.sync(&repo, &db, &[]);
    let grid_before = env.metadata(&repo, "a.flac")["grid"].clone();
    let columns_before = grid_columns(&db, &at);
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "bpm=1000", "a.flac"],
    );
    let out = env.mixxx(&repo, &["sync", "--json", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["failed"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["field"] == "bpm")),
        "{report}"
    );
    assert_eq!(grid_columns(&db, &at), columns_before);
    assert_eq!(env.metadata(&repo, "a.flac")["grid"], grid_before);
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "bpm=100", "a.flac"],
    );
    env.sync(&repo, &db, &[]);
    let moved = format!("X'{}'", hex(&beat_grid(100.0, 1000)));
    assert!(
        grid_columns(&db, &at).starts_with(&moved),
        "{}",
        grid_columns(&db, &at)
    );
    assert_eq!(
        env.metadata(&repo, "a.flac")["grid"],
        set_of(&[&format!(
            "BeatGrid-2.0 1 {}",
            B64.encode(beat_grid(100.0, 1000))
        )])
    );
}

// Offline, laptop A re-analyses a track (a new beat grid at 126, the BPM with it) while laptop
// B types a BPM of 130 (Mixxx moves B's grid to 130, keeping its first beat). Whichever syncs
// first, both end with one consistent pair (the BPM is the grid's), and the side that lost is
// recorded as a conflict that `status` lists.
#[test]
fn a_reanalysis_and_a_typed_bpm_settle_on_one_pair_and_record_the_loser() {
    for a_first in [true, false] {
        let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
        let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
        set_grid(
            &l.db_a,
            &at_a,
            &beat_grid(128.0, 1000),
            "BeatGrid-2.0",
            None,
            128.0,
        );
        l.sync_a(&[]);
        l.exchange(&[&l.a, &l.b]);
        l.sync_b(&[]);
        set_grid(
            &l.db_a,
            &at_a,
            &beat_grid(126.0, 2000),
            "BeatGrid-2.0",
            None,
            126.0,
        );
        set_grid(
            &l.db_b,
            &at_b,
            &beat_grid(130.0, 1000),
            "BeatGrid-2.0",
            None,
            130.0,
        );
        l.sync_a(&[]);
        l.sync_b(&[]);
        let order: [&Path; 2] = match a_first {
            true => [&l.a, &l.b],
            false => [&l.b, &l.a],
        };
        l.exchange(&order);
        let mut reports = vec![];
        for _ in 0..2 {
            reports.push(l.sync_a(&[]));
            reports.push(l.sync_b(&[]));
            l.exchange(&[order[1], order[0]]);
        }
        let (a, b) = (grid_columns(&l.db_a, &at_a), grid_columns(&l.db_b, &at_b));
        assert_eq!(a, b, "A first: {a_first}");
        let pairs = [(126.0, 2000), (130.0, 1000)];
        assert!(
            pairs.iter().any(|(bpm, first)| a
                .starts_with(&format!("X'{}'", hex(&beat_grid(*bpm, *first))))
                && a.ends_with(&format!("|{bpm:?}"))),
            "one consistent pair: {a}"
        );
        let conflicts: Vec<&serde_json::Value> = reports
            .iter()
            .flat_map(|r| r["conflicts"].as_array().into_iter().flatten())
            .collect();
        assert!(
            conflicts
                .iter()
                .any(|c| c["field"] == "grid" || c["field"] == "bpm"),
            "the losing side is recorded: {conflicts:?}"
        );
        let listed = status(&l.env, &l.a, &l.db_a);
        assert!(
            !clones_with_conflict(&listed, "grid").is_empty()
                || !clones_with_conflict(&listed, "bpm").is_empty(),
            "{listed}"
        );
        assert_settled(&l.env, &l.a, &l.db_a);
        assert_settled(&l.env, &l.b, &l.db_b);
    }
}

//! Each real Mixxx (2.3.3 and 2.5.0) writes a library that round-trips through push and pull
//! into another clone unchanged, fills a new laptop's empty Mixxx in one sync that its own
//! rescan keeps as it is, and still saves a hot cue pressed on a track git-mixxx filled.

use super::*;
use crate::laptops::*;

/// The cues the key presses of [`Mixxx::cue_keys`] leave on the first file, as (type, slot):
/// hot cues 1 and 2, hot cue 4 pressed while a loop is on (a plain hot cue in 2.3.3, a saved
/// loop in 2.5.0), and the track's last loop (type 4, no slot).
fn key_cues(mixxx: &Mixxx) -> Vec<String> {
    let fourth = match mixxx.revision {
        32 => "integer 1 | integer 3",
        _ => "integer 4 | integer 3",
    };
    let mut kinds = vec![
        "integer 1 | integer 0",
        "integer 1 | integer 1",
        fourth,
        "integer 4 | integer -1",
    ];
    kinds.sort();
    kinds.into_iter().map(str::to_owned).collect()
}

/// The track's analysis columns: `columns` of `library`.
fn analysis(db: &Path, location: &str, columns: &str) -> Vec<String> {
    rows(
        db,
        &format!(
            "SELECT {columns} FROM library WHERE id = {}",
            track(location)
        ),
    )
}

/// Key and BPM columns.
const KEY_BPM: &str = "bpm, key, key_id";
/// The beat grid columns.
const GRID: &str = "beats, beats_version, beats_sub_version, bpm_lock";

/// Everything of A's library and cues a push must leave alone.
fn snapshot(db: &Path) -> Vec<String> {
    let mut all = rows(
        db,
        "SELECT id, bpm, key, key_id, beats, beats_version, beats_sub_version, bpm_lock, \
         rating, color, location FROM library",
    );
    all.extend(rows(db, "SELECT * FROM cues"));
    all
}

/// What the real Mixxx wrote for `location`: its schema revision, a beat grid, key and BPM, the
/// main cue, intro, outro and sound markers.
fn assert_analysed(mixxx: &Mixxx, db: &Path, location: &str) {
    assert_eq!(
        rows(
            db,
            "SELECT value FROM settings WHERE name = 'mixxx.schema.version'"
        ),
        [format!("text \"{}\"", mixxx.revision)]
    );
    let row = analysis(
        db,
        location,
        "beats_version, typeof(beats), bpm > 0, key_id",
    );
    assert_eq!(row.len(), 1, "{location} in Mixxx {}", mixxx.version);
    assert!(
        row[0].starts_with("text \"BeatGrid-2.0\" | text \"blob\" | integer 1 | integer "),
        "{row:?}"
    );
    let types = rows(
        db,
        &format!(
            "SELECT DISTINCT type FROM cues WHERE track_id = {}",
            track(location)
        ),
    );
    for t in [2, 6, 7, 8] {
        assert!(
            types.contains(&format!("integer {t}")),
            "{location}: {types:?}"
        );
    }
}

/// Laptops A and B of one NAS, A with two click tracks (120 and 133⅓ BPM) whose content B has
/// too: (env, a, b, the files).
fn two_click_tracks() -> (Env, PathBuf, PathBuf, [&'static str; 2]) {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let files = ["music/Four to the floor.flac", "music/Fast/b.flac"];
    click_track(&env, &a.join(files[0]), 0.5, 60, 1.3, 2.0);
    click_track(&env, &a.join(files[1]), 0.45, 60, 0.7, 1.5);
    env.git(&a, &["annex", "add", "-q", "--", files[0], files[1]]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);
    (env, a, b, files)
}

// Laptop A's real Mixxx analyses two click tracks and takes hot cue and loop key presses, and
// the DJ adds a hot cue and a saved loop as Mixxx's CueDAO writes them; laptop B's Mixxx (the
// same version) scanned the same files and knows nothing about them. After `git mixxx sync` on
// A, `git annex sync` and `git mixxx sync` on B, B holds A's cues of every synced type exactly
// (position and length with their SQLite types, colour, label; the last loop without a slot
// too), A's key, exact BPM (133⅓ too) and beat grid byte for byte; the audible-sound markers
// (type 8) stay on A. The push left A's database as Mixxx wrote it; a second sync on either
// laptop has nothing to do.
fn a_library_the_real_mixxx_wrote_round_trips_unchanged(mixxx: Mixxx) {
    let start = Instant::now();
    let (env, a, b, files) = two_click_tracks();
    let paths: Vec<PathBuf> = files.iter().map(|f| a.join(f)).collect();
    let db_a = mixxx.analysed(&env, &env.root.join("mixxx-a"), &paths);
    let db_b = mixxx.scanned(&env, &env.root.join("mixxx-b"), &b.join("music"), 2);
    let (at_a, at_b): (Vec<String>, Vec<String>) =
        files.iter().map(|f| (loc(&a, f), loc(&b, f))).unzip();
    for location in &at_a {
        assert_analysed(&mixxx, &db_a, location);
    }
    assert_eq!(
        cue_kinds(&db_a, &at_a[0], "1, 4"),
        key_cues(&mixxx),
        "the cues of the keys pressed: {:#?}",
        cues(&db_a, &at_a[0], SYNCED)
    );
    // The DJ's own preparation on the second track, written as Mixxx's CueDAO writes a cue
    // (`position` and `length` bound as doubles: a whole number is stored as an integer, a
    // fraction as a real): a labelled hot cue between two samples and a saved loop.
    db_exec(
        &db_a,
        &format!(
            "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
             VALUES ({0}, 1, 1234567.5, 0.0, 2, 'Drop ♪', 16711680), \
                    ({0}, 4, 705600.0, 88200.0, 3, 'Loop', 255)",
            track(&at_a[1])
        ),
    );
    for location in &at_a {
        eprintln!(
            "A's Mixxx {}, {location}:\n  {:?}\n  {:#?}",
            mixxx.version,
            analysis(&db_a, location, &format!("{KEY_BPM}, {GRID}")),
            cues(&db_a, location, "0, 1, 2, 3, 4, 5, 6, 7, 8")
        );
    }
    for location in &at_b {
        assert_eq!(
            analysis(&db_b, location, "bpm, key_id, beats"),
            ["real 0.0 | integer 0 | null"],
            "{location} in B's Mixxx, unanalysed"
        );
        assert!(cues(&db_b, location, "1, 2, 3, 4, 5, 6, 7, 8").is_empty());
    }

    let before = snapshot(&db_a);
    let report = env.sync(&a, &db_a, &[]);
    assert_eq!(report["pushed"], 2, "{report}");
    assert_eq!(report["pushed_fields"]["cue"], 2, "{report}");
    assert_eq!(
        snapshot(&db_a),
        before,
        "the push left A's Mixxx as Mixxx wrote it"
    );
    env.annex_sync(&a);
    env.annex_sync(&b);
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["pulled"], 2, "{report}");

    for (at_a, at_b) in at_a.iter().zip(&at_b) {
        assert_eq!(
            cues(&db_b, at_b, SYNCED),
            cues(&db_a, at_a, SYNCED),
            "{at_a}"
        );
        assert_eq!(
            cues(&db_b, at_b, "8"),
            Vec::<String>::new(),
            "type 8 stays local"
        );
        let (key_bpm, grid) = (analysis(&db_a, at_a, KEY_BPM), analysis(&db_a, at_a, GRID));
        assert_eq!(analysis(&db_b, at_b, KEY_BPM), key_bpm, "{at_a}");
        assert_eq!(analysis(&db_b, at_b, GRID), grid, "{at_a}");
    }
    assert_settled(&env, &a, &db_a);
    assert_settled(&env, &b, &db_b);
    assert_eq!(snapshot(&db_a), before);
    eprintln!(
        "real Mixxx {} round trip: {:.1} s",
        mixxx.version,
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn a_library_the_real_mixxx_2_3_wrote_round_trips_unchanged() {
    if let Some(mixxx) = Mixxx::v2_3() {
        a_library_the_real_mixxx_wrote_round_trips_unchanged(mixxx);
    }
}

#[test]
fn a_library_the_real_mixxx_2_5_wrote_round_trips_unchanged() {
    if let Some(mixxx) = Mixxx::v2_5() {
        a_library_the_real_mixxx_wrote_round_trips_unchanged(mixxx);
    }
}

/// The values git-mixxx reads from B's Mixxx for `files`, in order.
fn filled(db: &Path, b: &Path, files: &[&str]) -> Vec<git_mixxx::annex::logmet::Values> {
    let values = db_values(db);
    files.iter().map(|f| values[&loc(b, f)].clone()).collect()
}

// A new laptop: the real Mixxx creates an empty database; `git mixxx sync` fills it with the two
// tracks whose content is here and A's values (a hot cue among them); then the real Mixxx opens
// it and rescans its library folders: each track is there once, with the values git-mixxx
// wrote, and the next sync has nothing to push. That Mixxx then loads a filled track, takes a
// hot cue key press and saves it beside the pulled hot cue, and the next sync pushes it. `git
// mixxx launch` starts the real Mixxx (headless, via `mixxx.command`) and syncs around it.
fn the_real_mixxx_rescans_a_filled_database_without_duplicates(mixxx: Mixxx) {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let files = ["music/Warm up.flac", "music/Peak/b.flac"];
    for (i, f) in files.iter().enumerate() {
        click_track(&env, &a.join(f), 0.5 - 0.05 * i as f64, 20, 0.5, 0.5);
    }
    env.git(&a, &["annex", "add", "-q", "--", files[0], files[1]]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let tracks: Vec<(String, _)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let values = vals(&[
                ("rating", &[["4", "5"][i]]),
                ("crate", &["Tonight"]),
                ("title", &[["Warm up (edit)", "Peak"][i]]),
                ("cue", &["hotcue 4 88200 0 #00FF00 Break"]),
            ]);
            (loc(&a, f), values)
        })
        .collect();
    create_db(&db_a, 32, &tracks);
    env.sync(&a, &db_a, &[]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);

    // The DJ gives the new Mixxx an empty ~/Music as its library folder.
    let settings = env.root.join("mixxx-b");
    let music = env.home().join("Music");
    std::fs::create_dir_all(&music).unwrap();
    let db_b = mixxx.start(&env, &settings, &music);
    assert_eq!(rows(&db_b, "SELECT count(*) FROM library"), ["integer 0"]);
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["imported"].as_array().unwrap().len(), 2, "{report}");
    let written = filled(&db_b, &b, &files);
    assert_eq!(written[0]["title"], set_of(&["Warm up (edit)"]));

    // Mixxx opens the filled database and rescans its library folders.
    mixxx.rescan(&env, &settings);
    assert_eq!(
        rows(&db_b, "SELECT count(*) FROM library"),
        ["integer 2"],
        "each track once"
    );
    assert_eq!(
        rows(&db_b, "SELECT count(*) FROM track_locations"),
        ["integer 2"]
    );
    assert_eq!(
        rows(&db_b, "SELECT DISTINCT header_parsed FROM library"),
        ["integer 1"]
    );
    assert_eq!(
        filled(&db_b, &b, &files),
        written,
        "Mixxx kept the values git-mixxx wrote"
    );
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["conflicts"], serde_json::json!([]), "{report}");
    // Mixxx rescans once more: whatever it writes, nothing git-mixxx reads changes, and the
    // next sync knows it without a full run (by the database's content, or its stat when
    // Mixxx wrote nothing).
    mixxx.rescan(&env, &settings);
    let (_, trace) = env.traced_sync(&b, &db_b);
    assert!(
        !trace.contains("reading Mixxx"),
        "a full run after a rescan: {trace}"
    );

    // Mixxx loads the first track (analysing it) and saves a hot cue pressed on it.
    let first = loc(&b, files[0]);
    mixxx.press_hot_cue(&env, &settings, &[b.join(files[0])], true);
    assert_eq!(
        cue_kinds(&db_b, &first, "1"),
        ["integer 1 | integer 0", "integer 1 | integer 3"],
        "the new hot cue beside the pulled one: {:#?}",
        cues(&db_b, &first, SYNCED)
    );
    let now = filled(&db_b, &b, &files);
    for field in ["title", "rating", "crate"] {
        assert_eq!(now[0][field], written[0][field], "{field}");
    }
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["pushed_fields"]["cue"], 1, "{report}");
    assert_eq!(rows(&db_b, "SELECT count(*) FROM library"), ["integer 2"]);
    launch(&env, &mixxx, &b, &settings, &db_b);
}

/// `git mixxx launch` with the real Mixxx (headless: the driver starts it and quits): it syncs,
/// runs Mixxx and syncs again, with nothing to push.
fn launch(env: &Env, mixxx: &Mixxx, b: &Path, settings: &Path, db_b: &Path) {
    let driver = env.root.join("driver.sh");
    std::fs::write(&driver, DRIVER).unwrap();
    let source = format!(". '{}'", driver.display());
    let command = mixxx.command_line(&source, &[settings.to_str().unwrap(), "start"]);
    env.git(b, &["config", "mixxx.command", &shell_words_join(&command)]);
    let session = mixxx.session(env);
    let out = env
        .command(
            b,
            "git",
            &["mixxx", "launch", "--json", "--db", db_b.to_str().unwrap()],
        )
        .env("QT_QPA_PLATFORM", "xcb")
        .output()
        .unwrap();
    drop(session);
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mixxx_exit_code"], 0, "{doc}");
    assert_eq!(doc["after"]["pushed"], 0, "{doc}");
    assert_eq!(rows(db_b, "SELECT count(*) FROM library"), ["integer 2"]);
}

#[test]
fn the_real_mixxx_2_3_rescans_a_filled_database_without_duplicates() {
    if let Some(mixxx) = Mixxx::v2_3() {
        the_real_mixxx_rescans_a_filled_database_without_duplicates(mixxx);
    }
}

#[test]
fn the_real_mixxx_2_5_rescans_a_filled_database_without_duplicates() {
    if let Some(mixxx) = Mixxx::v2_5() {
        the_real_mixxx_rescans_a_filled_database_without_duplicates(mixxx);
    }
}

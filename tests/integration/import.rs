//! A new laptop is ready in one sync: its empty Mixxx gets every annexed track whose content
//! is here, as Mixxx's own scanner would add it, with the branch's values, crates, playlists
//! in order and cues; a file whose content arrives later is added on the sync after `git annex
//! get` (the hook fires on git-annex's branch commit).

use crate::laptops::{assert_settled, set_of, status, track};
use crate::util::*;
use lofty::config::WriteOptions;
use lofty::file::{AudioFile as _, TaggedFileExt as _};
use lofty::tag::{Accessor as _, Tag, TagType};
use std::path::{Path, PathBuf};

/// A one-second stereo 44.1 kHz 16-bit WAV of silence (`tone` varies its bytes, so each file
/// has its own key), tagged with `artist` and `title`.
fn wav(path: &Path, tone: u8, artist: &str, title: &str) {
    let data = vec![tone; 44_100 * 4];
    let mut bytes = Vec::with_capacity(44 + data.len());
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&2u16.to_le_bytes()); // channels
    bytes.extend_from_slice(&44_100u32.to_le_bytes());
    bytes.extend_from_slice(&(44_100u32 * 4).to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&data);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let mut file = lofty::read_from_path(path).unwrap();
    let mut tag = Tag::new(TagType::RiffInfo);
    tag.set_artist(artist.to_owned());
    tag.set_title(title.to_owned());
    file.insert_tag(tag);
    file.save_to_path(path, WriteOptions::default()).unwrap();
}

const FILES: [&str; 3] = ["Set/one.wav", "Set/two.wav", "Later/three.wav"];

/// A NAS with three tagged WAV files and their content; laptop A's Mixxx has them, prepared
/// (ratings, a crate, an ordered playlist with one track twice, a hot cue); A has synced.
/// Laptop B is a fresh clone with an empty Mixxx database: (env, a, b, db_a, db_b).
fn prepared() -> (Env, PathBuf, PathBuf, PathBuf, PathBuf) {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    for (i, f) in FILES.iter().enumerate() {
        wav(
            &a.join(f),
            i as u8 + 1,
            "Tag Artist",
            &format!("Tag title {i}"),
        );
    }
    env.git(&a, &["annex", "add", "-q", "."]);
    env.git(&a, &["commit", "-q", "-m", "three tracks"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let tracks: Vec<(String, _)> = FILES
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let rating = (i + 3).to_string();
            let values = vals(&[
                ("rating", &[rating.as_str()]),
                ("crate", &["Warm-up"]),
                ("title", &[format!("Mixxx title {i}").as_str()]),
            ]);
            (loc(&a, f), values)
        })
        .collect();
    create_db(&db_a, 32, &tracks);
    let mut sql = String::from(
        "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
         VALUES ('Friday', 3, 0, '2026-12-04 20:00:00', '2026-12-04 20:00:00', 0);",
    );
    for (position, i) in [2usize, 0, 1, 2].iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
             SELECT (SELECT id FROM Playlists WHERE name = 'Friday'), {}, {}, '';",
            track(&loc(&a, FILES[*i])),
            position + 1
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
         SELECT {}, 1, 88200, 0, 0, 'Drop', 16711680;",
        track(&loc(&a, FILES[0]))
    ));
    db_exec(&db_a, &sql);
    env.sync(&a, &db_a, &[]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    let db_b = env.root.join("mixxx-b/mixxxdb.sqlite");
    create_db(&db_b, 32, &[]);
    (env, a, b, db_a, db_b)
}

fn one(db: &Path, sql: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| {
            Ok(match r.get_ref(0)? {
                rusqlite::types::ValueRef::Null => "null".to_owned(),
                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                rusqlite::types::ValueRef::Real(x) => x.to_string(),
                v => String::from_utf8_lossy(v.as_bytes().unwrap()).into_owned(),
            })
        })
        .unwrap()
}

// B gets the content of two files and syncs once: both are in its Mixxx as Mixxx's scanner adds
// a file (audio properties, the file's tags where the branch has no value, header parsed,
// its folder a library folder), with A's values, crate, playlist order and cue; the next sync
// has nothing to do. The third file's content arrives with `git annex get` and the hook adds it.
#[test]
fn an_empty_mixxx_is_filled_by_one_sync() {
    let (env, a, b, db_a, db_b) = prepared();
    env.git(&b, &["annex", "get", "-q", FILES[0], FILES[1]]);
    let dry = env.sync(&b, &db_b, &["--dry-run"]);
    assert_eq!(
        dry["imported"],
        serde_json::json!([FILES[0], FILES[1]]),
        "{dry}"
    );
    assert_eq!(dry["conflicts"], serde_json::json!([]), "{dry}");
    assert_eq!(
        one(&db_b, "SELECT count(*) FROM library"),
        "0",
        "a dry run adds nothing"
    );
    let pending = status(&env, &b, &db_b);
    assert_eq!(pending["pending"]["imported"].as_array().unwrap().len(), 2);

    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["imported"], serde_json::json!([FILES[0], FILES[1]]));
    assert_eq!(report["pulled"], 2, "{report}");
    assert_eq!(
        report["conflicts"],
        serde_json::json!([]),
        "the branch's values go on top"
    );
    let values = db_values(&db_b);
    for (i, f) in FILES[..2].iter().enumerate() {
        let row = &values[&loc(&b, f)];
        assert_eq!(row["rating"], set_of(&[&(i + 3).to_string()]));
        assert_eq!(row["crate"], set_of(&["Warm-up"]));
        assert_eq!(row["title"], set_of(&[&format!("Mixxx title {i}")]));
        assert_eq!(row["artist"], set_of(&["Tag Artist"]), "the file's tag");
        let id = track(&loc(&b, f));
        let sql = |column: &str| format!("SELECT {column} FROM library WHERE id = {id}");
        assert_eq!(one(&db_b, &sql("header_parsed")), "1");
        assert_eq!(one(&db_b, &sql("samplerate")), "44100");
        assert_eq!(one(&db_b, &sql("channels")), "2");
        assert_eq!(one(&db_b, &sql("filetype")), "wav");
        assert_eq!(one(&db_b, &sql("round(duration, 2)")), "1");
        assert_eq!(one(&db_b, &sql("mixxx_deleted")), "0");
    }
    assert_eq!(
        one(&db_b, "SELECT group_concat(directory) FROM directories"),
        loc(&b, "").trim_end_matches('/')
    );
    assert_eq!(
        one(
            &db_b,
            "SELECT group_concat(filename, ',') FROM (SELECT tl.filename FROM PlaylistTracks pt \
             JOIN library l ON l.id = pt.track_id JOIN track_locations tl ON tl.id = l.location \
             ORDER BY pt.position)"
        ),
        "one.wav,two.wav",
        "the playlist's tracks this laptop has, in order"
    );
    assert_eq!(
        one(
            &db_b,
            "SELECT label || ' ' || position FROM cues WHERE type = 1"
        ),
        "Drop 88200"
    );
    assert_settled(&env, &b, &db_b);

    // The third file's content arrives; with the hooks installed, `git annex get` alone adds it.
    env.mixxx_ok(&b, &["install-hooks"]);
    env.git(&b, &["config", "mixxx.db", db_b.to_str().unwrap()]);
    env.git(&b, &["annex", "get", "-q", FILES[2]]);
    // git-annex commits its branch at the end of `get`; the reference-transaction hook runs
    // then, in the background as git-annex holds its lock.
    crate::hooks::wait_background(&b);
    assert_eq!(one(&db_b, "SELECT count(*) FROM library"), "3");
    assert_eq!(
        values_on(&db_b, &loc(&b, FILES[2]), "rating"),
        set_of(&["5"])
    );
    assert_eq!(
        one(
            &db_b,
            "SELECT group_concat(filename, ',') FROM (SELECT tl.filename FROM PlaylistTracks pt \
             JOIN library l ON l.id = pt.track_id JOIN track_locations tl ON tl.id = l.location \
             ORDER BY pt.position)"
        ),
        "three.wav,one.wav,two.wav,three.wav"
    );
    assert_settled(&env, &b, &db_b);
    // A is untouched by all this.
    assert_settled(&env, &a, &db_a);
}

fn values_on(db: &Path, location: &str, field: &str) -> std::collections::BTreeSet<String> {
    db_values(db)[location]
        .get(field)
        .cloned()
        .unwrap_or_default()
}

// Tracks this Mixxx hides stay out, and so does everything with `--no-import` or
// `git config mixxx.import false`.
#[test]
fn hidden_tracks_and_no_import_stay_out() {
    let (env, _a, b, _db_a, db_b) = prepared();
    env.git(&b, &["annex", "get", "-q", "."]);
    let report = env.sync(&b, &db_b, &["--no-import"]);
    assert_eq!(report["imported"], serde_json::json!([]));
    env.git(&b, &["config", "mixxx.import", "false"]);
    env.sync(&b, &db_b, &[]);
    assert_eq!(one(&db_b, "SELECT count(*) FROM library"), "0");
    env.git(&b, &["config", "mixxx.import", "true"]);
    // Hide one file in Mixxx (as Mixxx's "hide from library" does): it stays out.
    db_exec(
        &db_b,
        &format!(
            "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, needs_verification) \
             VALUES ('{0}', 'one.wav', '', 0, 0, 0);
             INSERT INTO library (location, mixxx_deleted) SELECT id, 1 FROM track_locations WHERE location = '{0}';",
            loc(&b, FILES[0])
        ),
    );
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(
        report["imported"],
        serde_json::json!([FILES[2], FILES[1]]),
        "{report}"
    );
    assert_eq!(
        one(
            &db_b,
            "SELECT count(*) FROM library WHERE mixxx_deleted = 0"
        ),
        "2"
    );
}

// A sync killed while adding files (before its Mixxx transaction commits) leaves Mixxx as it
// was; the next sync adds them all, once, with their values.
#[test]
fn a_sync_killed_while_importing_is_finished_by_the_next() {
    let (env, _a, b, _db_a, db_b) = prepared();
    env.git(&b, &["annex", "get", "-q", "."]);
    for point in ["before-import-commit", "before-mixxx-commit"] {
        let out = env
            .command(
                &b,
                "git",
                &["mixxx", "sync", "--db", db_b.to_str().unwrap()],
            )
            .env("GIT_MIXXX_TEST_KILL", point)
            .output()
            .unwrap();
        assert!(!out.status.success(), "killed at {point}: {}", text(&out));
    }
    assert_eq!(one(&db_b, "PRAGMA integrity_check"), "ok");
    let report = env.sync(&b, &db_b, &[]);
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(one(&db_b, "SELECT count(*) FROM library"), "3");
    assert_eq!(one(&db_b, "SELECT count(*) FROM track_locations"), "3");
    assert_eq!(
        values_on(&db_b, &loc(&b, FILES[1]), "rating"),
        set_of(&["4"])
    );
    assert_settled(&env, &b, &db_b);
}

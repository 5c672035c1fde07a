//! A library Mixxx reaches through a symlink: `~/Music` links to the clone on a data disk, and
//! Mixxx's rows and library folder name the files under `~/Music`. git-mixxx compares paths
//! with symlinks resolved, so it syncs the DJ's own rows, imports nothing twice, adds no second
//! library folder, gives a file it adds the path Mixxx sees, and relinks a moved file to the
//! path Mixxx's rescan would find.

use crate::laptops::{assert_settled, set_of, track_id};
use crate::util::*;
use std::path::Path;

/// The locations of the rows of `db` and the library folders, sorted.
fn rows_and_folders(db: &Path) -> (Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(db).expect("open");
    let read = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).expect("prepare");
        let mut out: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .expect("rows");
        out.sort();
        out
    };
    (
        read("SELECT location FROM track_locations"),
        read("SELECT directory FROM directories"),
    )
}

// Laptop A rated two tracks and synced. Laptop C's clone is on a data disk and `~/Music` links
// to it; C's Mixxx scanned `~/Music/music` and has a row for the first file there. The first
// sync gives that row A's rating (no "outside the repository"), adds the second file at
// `~/Music/music/…` (where Mixxx's own rescan finds it) and no second library folder; a second
// sync has nothing to do. A file moved with `git mv` is relinked under `~/Music` too.
#[test]
fn a_library_reached_through_a_symlinked_folder_syncs_its_own_rows() {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    env.add_files(&a, &["music/f1.flac", "music/f2.flac"], &[]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let rated = |r: &str| vals(&[("rating", &[r])]);
    create_db(
        &db_a,
        32,
        &[
            (loc(&a, "music/f1.flac"), rated("4")),
            (loc(&a, "music/f2.flac"), rated("5")),
        ],
    );
    env.sync(&a, &db_a, &[]);
    env.annex_sync(&a);

    std::fs::create_dir_all(env.root.join("data")).unwrap();
    env.git(
        &env.root,
        &["clone", "-q", nas.to_str().unwrap(), "data/music-repo"],
    );
    let c = env.root.join("data/music-repo");
    env.git(&c, &["annex", "init", "-q", "laptop-c"]);
    env.annex_sync(&c);
    env.git(&c, &["annex", "get", "-q", "."]);
    let music = env.home().join("Music");
    std::os::unix::fs::symlink(&c, &music).unwrap();
    let seen = |file: &str| format!("{}/{file}", music.display());
    let db_c = env.root.join("mixxx-c/mixxxdb.sqlite");
    create_db(&db_c, 39, &[(seen("music/f1.flac"), vals(&[]))]);
    let library_folder = seen("music");
    db_exec(
        &db_c,
        &format!("INSERT INTO directories (directory) VALUES ('{library_folder}')"),
    );
    let own_row = track_id(&db_c, &seen("music/f1.flac"));

    // From the symlinked folder, as the DJ works.
    let report = env.sync(&music, &db_c, &[]);
    assert_eq!(report["skipped"], serde_json::json!({}), "{report}");
    assert_eq!(
        report["imported"],
        serde_json::json!(["music/f2.flac"]),
        "{report}"
    );
    let (rows, folders) = rows_and_folders(&db_c);
    assert_eq!(rows, [seen("music/f1.flac"), seen("music/f2.flac")]);
    assert_eq!(
        folders,
        std::slice::from_ref(&library_folder),
        "no second library folder"
    );
    assert_eq!(track_id(&db_c, &seen("music/f1.flac")), own_row);
    let values = db_values(&db_c);
    assert_eq!(values[&seen("music/f1.flac")]["rating"], set_of(&["4"]));
    assert_eq!(values[&seen("music/f2.flac")]["rating"], set_of(&["5"]));
    assert_settled(&env, &c, &db_c);

    // A move in the clone: the row follows it under the folder Mixxx sees.
    std::fs::create_dir_all(c.join("music/Moved")).unwrap();
    env.git(&c, &["mv", "music/f1.flac", "music/Moved/f1.flac"]);
    env.git(&c, &["commit", "-q", "-m", "move"]);
    let report = env.sync(&c, &db_c, &[]);
    assert_eq!(
        report["relinked"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(track_id(&db_c, &seen("music/Moved/f1.flac")), own_row);
    let (rows, folders) = rows_and_folders(&db_c);
    assert_eq!(rows, [seen("music/Moved/f1.flac"), seen("music/f2.flac")]);
    assert_eq!(folders, [library_folder]);
    assert_settled(&env, &c, &db_c);
}

//! The playlist merge: a playlist of 5,000 tracks (all of them in a smaller library) reordered
//! offline on two clones, the first half reversed on one and the second half on the other; the
//! measured run is the sync that finds both orders on the branch and merges them with its own.

use crate::checks::report;
use crate::generate::Library;
use crate::measure::{Sample, measure};
use crate::support::{Env, db_exec};
use std::path::Path;

/// Entries of the merged playlist.
const ENTRIES: usize = 5000;
const NAME: &str = "Bench merge";

/// Makes playlist `NAME` hold the tracks `ids` in order, as dragging tracks in Mixxx does.
fn set_playlist(db: &Path, ids: &[usize]) {
    let mut sql = format!(
        "BEGIN;
         INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked)
           SELECT '{NAME}', 99, 0, '2026-12-04 20:00:00', '2026-12-04 20:00:00', 0
           WHERE NOT EXISTS (SELECT 1 FROM Playlists WHERE name = '{NAME}');
         DELETE FROM PlaylistTracks WHERE playlist_id = (SELECT id FROM Playlists WHERE name = '{NAME}');"
    );
    for (position, id) in (1..).zip(ids) {
        sql.push_str(&format!(
            "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added)
               SELECT id, {id}, {position}, '2026-12-04T20:00:00.000Z' FROM Playlists WHERE name = '{NAME}';"
        ));
    }
    sql.push_str("COMMIT;");
    db_exec(db, &sql);
}

/// The track ids of playlist `NAME`, by position.
fn playlist(db: &Path) -> Vec<usize> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT pt.track_id FROM PlaylistTracks pt JOIN Playlists p ON p.id = pt.playlist_id \
             WHERE p.name = ?1 ORDER BY pt.position",
        )
        .expect("prepare");
    stmt.query_map([NAME], |r| r.get::<_, i64>(0))
        .expect("query")
        .map(|id| id.expect("row") as usize)
        .collect()
}

/// One run of the merge on a fresh copy of the library; returns the measured sync.
pub fn playlist_merge(env: &Env, lib: &Library) -> Sample {
    let dir = &lib.work_dir;
    lib.fresh_copy(dir);
    let (a, db_a) = (Library::repo(dir), Library::db(dir));
    let bin = env.bin();
    let me = bin.to_str().expect("utf-8 binary path");
    let sync = |repo: &Path, db: &Path| {
        let db = db.to_str().expect("utf-8 path");
        let out = env.run(repo, me, &["sync", "--json", "--db", db]);
        serde_json::from_str::<serde_json::Value>(&out).expect("sync --json")
    };
    let n = lib.n.min(ENTRIES);
    let half = n / 2;
    let ids: Vec<usize> = (1..=n).collect();
    set_playlist(&db_a, &ids);
    sync(&a, &db_a);

    // Clone B: its own annex, and a copy of A's Mixxx at its paths.
    let b = dir.join("clone-b");
    let db_b = dir.join("mixxx-b").join("mixxxdb.sqlite");
    let (a_text, b_text) = (a.to_str().expect("utf-8"), b.to_str().expect("utf-8"));
    env.git(dir, &["clone", "-q", a_text, b_text]);
    env.git(&b, &["annex", "init", "-q", "bench-b"]);
    std::fs::create_dir_all(db_b.parent().expect("parent")).expect("mkdir");
    std::fs::copy(&db_a, &db_b).expect("copy the database");
    db_exec(
        &db_b,
        &format!(
            "UPDATE track_locations SET location = replace(location, '{a_text}/', '{b_text}/'),
                                        directory = replace(directory, '{a_text}', '{b_text}')"
        ),
    );
    sync(&b, &db_b);
    env.git(&a, &["remote", "add", "b", b_text]);

    // Offline, A reverses the first half and B the second; each syncs its Mixxx.
    let mut on_a = ids.clone();
    on_a[..half].reverse();
    let mut on_b = ids.clone();
    on_b[half..].reverse();
    set_playlist(&db_a, &on_a);
    set_playlist(&db_b, &on_b);
    sync(&a, &db_a);
    sync(&b, &db_b);
    env.git(&a, &["annex", "sync", "-q", "b"]);

    let db = db_a.to_str().expect("utf-8 path");
    let merged = measure(env, &a, me, &["sync", "--json", "--db", db], None);
    let r = report(&merged);
    assert_eq!(
        r["pulled_fields"]["order"], 1,
        "the merge reorders A: {r:#}"
    );
    assert_eq!(r["conflicts"], serde_json::json!([]), "no conflict: {r:#}");
    let mut want = on_a[..half].to_vec();
    want.extend(&on_b[half..]);
    assert!(playlist(&db_a) == want, "A holds both halves reversed");
    merged.sample
}

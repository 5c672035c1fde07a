//! Mixxx databases from the real schema, written and read back through git-mixxx's own code
//! (so the field encodings live in one place: the library).

use git_mixxx::annex::logmet::Values;
use std::collections::BTreeMap;
use std::path::Path;

/// Creates a Mixxx database (and its directory) at schema `revision` holding `tracks`
/// (absolute location, values), as git-mixxx writes Mixxx: track ids 1, 2, … in order.
pub fn create_db(path: &Path, revision: i64, tracks: &[(String, Values)]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    git_mixxx::demo::create_library(path, revision, tracks).expect("create Mixxx database");
}

/// A database's tracks in id order, read through git-mixxx's reader: (id, location, values
/// by annex field name).
pub fn db_tracks(path: &Path) -> Vec<(i64, String, Values)> {
    let db = git_mixxx::mixxx::Database::open_read_only(path).expect("open");
    db.read_library()
        .expect("read")
        .tracks
        .into_iter()
        .map(|t| {
            let values = git_mixxx::fields::by_name(&t.row.to_values());
            (t.id, t.location, values)
        })
        .collect()
}

/// A database's tracks by location, read through git-mixxx's reader.
pub fn db_values(path: &Path) -> BTreeMap<String, Values> {
    db_tracks(path)
        .into_iter()
        .map(|(_, location, values)| (location, values))
        .collect()
}

/// Runs SQL on a database (as the DJ editing in Mixxx would), foreign keys off.
pub fn db_exec(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("pragma");
    conn.execute_batch(sql).expect("sql");
}

/// Location of `file` in `repo`, as Mixxx stores it.
pub fn loc(repo: &Path, file: &str) -> String {
    format!("{}/{file}", repo.display())
}

/// A protobuf varint.
pub fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A `BeatGrid-2.0` blob as Mixxx writes it: `BeatGrid { bpm { bpm }, first_beat {
/// frame_position } }`.
pub fn beat_grid(bpm: f64, first: u64) -> Vec<u8> {
    let mut out = vec![0x0A, 9, 0x09];
    out.extend_from_slice(&bpm.to_le_bytes());
    let mut beat = vec![0x08];
    varint(first, &mut beat);
    out.extend([0x12, beat.len() as u8]);
    out.extend(beat);
    out
}

/// A `BeatMap-1.0` blob: one `Beat { frame_position }` per position.
pub fn beat_map(positions: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in positions {
        let mut beat = vec![0x08];
        varint(*p, &mut beat);
        out.extend([0x0A, beat.len() as u8]);
        out.extend(beat);
    }
    out
}

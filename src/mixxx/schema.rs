//! Creating Mixxx databases exactly as Mixxx does: the DDL of real Mixxx 2.3.3 (revision 32),
//! plus the later revisions' `library` columns, the `settings` rows and the playlists a fresh
//! Mixxx creates. Used by the demo, the tests and the benchmark to build real libraries.

use super::write::{self, Writer};
use crate::annex::logmet::Values;
use crate::fields::Field;
use rusqlite::{Connection, params};
use std::path::Path;

/// The DDL that real Mixxx 2.3.3 creates (schema revision 32).
pub const DDL_REV32: &str = include_str!("schema-rev32.sql");

/// `library` columns added after revision 32, by the revision that added them.
const LATER_COLUMNS: &[(i64, &str)] = &[
    (33, "ALTER TABLE library ADD COLUMN coverart_color INTEGER"),
    (33, "ALTER TABLE library ADD COLUMN coverart_digest BLOB"),
    (
        35,
        "ALTER TABLE library ADD COLUMN last_played_at DATETIME DEFAULT NULL",
    ),
    (
        37,
        "ALTER TABLE library ADD COLUMN source_synchronized_ms INTEGER DEFAULT NULL",
    ),
    (
        40,
        "ALTER TABLE library ADD COLUMN tuning_frequency_hz REAL DEFAULT 0",
    ),
];

/// Creates a new database at `path` as Mixxx at `revision` would on first start.
pub fn create(path: &Path, revision: i64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    super::no_foreign_keys(&conn)?;
    conn.execute_batch(DDL_REV32)?;
    for (rev, sql) in LATER_COLUMNS {
        if *rev <= revision {
            conn.execute_batch(sql)?;
        }
    }
    let settings = [
        ("mixxx.schema.version", revision.to_string()),
        ("mixxx.schema.min_compatible_version", "3".to_owned()),
        ("mixxx.schema.last_used_version", revision.to_string()),
    ];
    for (name, value) in settings {
        conn.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)",
            params![name, value],
        )?;
    }
    conn.execute(
        "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
         VALUES ('Auto DJ', 0, 1, datetime('now'), datetime('now'), 0)",
        [],
    )?;
    conn.execute(
        "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
         VALUES (strftime('%Y-%m-%d', 'now'), 1, 2, datetime('now'), datetime('now'), 0)",
        [],
    )?;
    Ok(conn)
}

/// Adds a track at absolute `location` with mapped `values` (annex field names and values,
/// crates and playlists included, created when missing), as Mixxx would store it. Returns the
/// track id.
pub fn insert_track(
    writer: &mut Writer<'_>,
    location: &str,
    values: &Values,
) -> Result<i64, write::Error> {
    let (directory, filename) = location.rsplit_once('/').unwrap_or(("", location));
    let tx = writer.transaction();
    tx.execute(
        "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, needs_verification) \
         VALUES (?1, ?2, ?3, 0, 0, 0)",
        params![location, filename, directory],
    )?;
    let location_id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO library (location, datetime_added, mixxx_deleted, played, filetype, duration, samplerate, channels, bitrate) \
         VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, 0, ?2, 240.0, 44100, 2, 320)",
        params![location_id, filename.rsplit('.').next().unwrap_or("?")],
    )?;
    let id = tx.last_insert_rowid();
    for (name, set) in values {
        let field =
            Field::from_name(name).ok_or_else(|| write::Error::UnknownField(name.clone()))?;
        writer.set_field(id, field, set)?;
    }
    Ok(id)
}

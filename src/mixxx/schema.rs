//! Creating Mixxx databases exactly as Mixxx does: the DDL of real Mixxx 2.3.3 (revision 32),
//! plus the later revisions' `library` columns and revision 41's `track_locations` columns and
//! indexes (from Mixxx's `res/schema.xml`), the `settings` rows and the playlists a fresh
//! Mixxx creates. Used by the demo, the tests and the benchmark to build real libraries.

use super::write::{self, Writer};
use crate::annex::logmet::Values;
use crate::fields::Field;
use rusqlite::{Connection, params};
use std::path::Path;

/// The DDL that real Mixxx 2.3.3 creates (schema revision 32).
pub const DDL_REV32: &str = include_str!("schema-rev32.sql");

/// The DDL of the revisions after 32 that git-mixxx depends on, by revision.
const LATER_DDL: &[(i64, &str)] = &[
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
    (41, REV41_MULTIPLE_FILES),
];

/// Revision 41 (Mixxx's development branch): several files per track, exactly as Mixxx's
/// `res/schema.xml` has it.
const REV41_MULTIPLE_FILES: &str = "
      ALTER TABLE track_locations ADD COLUMN track_id INTEGER REFERENCES library(id);
      ALTER TABLE track_locations ADD COLUMN offset_samples REAL DEFAULT 0.0;
      ALTER TABLE track_locations ADD COLUMN quality_indicator INTEGER DEFAULT 0;
      ALTER TABLE track_locations ADD COLUMN fingerprint_hash TEXT DEFAULT NULL;

      CREATE INDEX IF NOT EXISTS idx_track_locations_track_id
          ON track_locations(track_id);

      CREATE INDEX IF NOT EXISTS idx_track_locations_fingerprint
          ON track_locations(fingerprint_hash)
          WHERE fingerprint_hash IS NOT NULL;
";

/// Creates a new database at `path` as Mixxx at `revision` would on first start.
pub fn create(path: &Path, revision: i64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    super::no_foreign_keys(&conn)?;
    conn.execute_batch(DDL_REV32)?;
    for (rev, sql) in LATER_DDL {
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
/// crates and playlists included, created when missing), as Mixxx would store it (from
/// revision 41 on, the location row names its track in `track_id`). Returns the track id.
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
    if super::has_track_ids(tx)? {
        tx.execute(
            "UPDATE track_locations SET track_id = ?1 WHERE id = ?2",
            params![id, location_id],
        )?;
    }
    for (name, set) in values {
        let field =
            Field::from_name(name).ok_or_else(|| write::Error::UnknownField(name.clone()))?;
        writer.set_field(id, field, set)?;
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::Values;

    /// A column: name, declared type, default.
    type Column = (String, String, Option<String>);

    /// `track_locations`' columns and indexes.
    fn locations_schema(conn: &Connection) -> (Vec<Column>, Vec<String>) {
        let columns = conn
            .prepare("SELECT name, type, dflt_value FROM pragma_table_info('track_locations') ORDER BY cid")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("columns");
        let indexes = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'track_locations' \
                 AND sql IS NOT NULL ORDER BY name",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>())
            .expect("indexes");
        (columns, indexes)
    }

    #[test]
    fn revision_41_links_each_file_to_its_track() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mixxxdb.sqlite");
        let mut conn = create(&path, 41).expect("create");
        let (columns, indexes) = locations_schema(&conn);
        let added: Vec<_> = columns
            .iter()
            .skip_while(|(name, _, _)| name != "track_id")
            .map(|(n, t, d)| (n.as_str(), t.as_str(), d.as_deref()))
            .collect();
        assert_eq!(
            added,
            [
                ("track_id", "INTEGER", None),
                ("offset_samples", "REAL", Some("0.0")),
                ("quality_indicator", "INTEGER", Some("0")),
                ("fingerprint_hash", "TEXT", Some("NULL")),
            ]
        );
        assert_eq!(
            indexes,
            [
                "idx_track_locations_fingerprint",
                "idx_track_locations_track_id"
            ]
        );
        let version: String = conn
            .query_row(
                "SELECT value FROM settings WHERE name = 'mixxx.schema.version'",
                [],
                |r| r.get(0),
            )
            .expect("version");
        assert_eq!(version, "41");

        let tx = rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)
            .expect("transaction");
        let mut writer = Writer::new(tx);
        let a = insert_track(&mut writer, "/music/a.flac", &Values::new()).expect("insert");
        let b = insert_track(&mut writer, "/music/b.flac", &Values::new()).expect("insert");
        writer.commit().expect("commit");
        let linked: Vec<(i64, i64, f64)> = conn
            .prepare(
                "SELECT l.id, tl.track_id, tl.offset_samples FROM library l \
                 JOIN track_locations tl ON tl.id = l.location ORDER BY l.id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("rows");
        assert_eq!(linked, [(a, a, 0.0), (b, b, 0.0)]);
    }

    #[test]
    fn revision_40_has_no_track_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mixxxdb.sqlite");
        let conn = create(&path, 40).expect("create");
        let (columns, indexes) = locations_schema(&conn);
        assert!(
            columns.iter().all(|(name, _, _)| name != "track_id"),
            "{columns:?}"
        );
        assert!(indexes.is_empty(), "{indexes:?}");
        assert!(!super::super::has_track_ids(&conn).expect("pragma"));
    }
}

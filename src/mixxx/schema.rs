//! Creating Mixxx databases exactly as Mixxx does: the DDL of real Mixxx 2.3.3 (revision 32),
//! plus the migrations of revisions 33 to 40 that change the schema, as Mixxx's `res/schema.xml`
//! has them (a test compares revision 39 with what the real Mixxx 2.5.0 creates), the `settings`
//! rows and the playlists a fresh Mixxx creates. Used by the demo, the tests and the benchmark
//! to build real libraries.

use super::write::{self, Writer};
use crate::annex::logmet::Values;
use crate::fields::Field;
use rusqlite::{Connection, params};
use std::path::Path;

/// The DDL that real Mixxx 2.3.3 creates (schema revision 32).
pub const DDL_REV32: &str = include_str!("schema-rev32.sql");

/// The migrations after revision 32 that change the schema, by revision, as Mixxx's
/// `res/schema.xml` has them (36, 38 and 39 only update rows, which a new database has none of).
const LATER_DDL: &[(i64, &str)] = &[
    (
        33,
        "ALTER TABLE library ADD COLUMN coverart_color INTEGER;
         ALTER TABLE library ADD COLUMN coverart_digest BLOB;",
    ),
    (
        34,
        "CREATE INDEX IF NOT EXISTS idx_PlaylistTracks_playlist_id_track_id ON PlaylistTracks (
          playlist_id,
          track_id
      );
      CREATE INDEX IF NOT EXISTS idx_PlaylistTracks_track_id ON PlaylistTracks (
          track_id
      );
      CREATE INDEX IF NOT EXISTS idx_crate_tracks_track_id ON crate_tracks (
          track_id
      );",
    ),
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
        "ALTER TABLE library ADD COLUMN tuning_frequency_hz FLOAT DEFAULT 0.0",
    ),
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// What Mixxx 2.5.0 creates (revision 39), dumped from its database.
    const MIXXX_2_5_0: &str = include_str!("../../tests/fixtures/mixxx-2.5.0-schema-rev39.sql");

    /// A column as SQLite declares it: name, type, NOT NULL, default, primary key (types and
    /// defaults as written, up to case and quotes: Mixxx 2.5.0 spells 2.3.3's `integer`,
    /// `"?"` as `INTEGER`, `'?'`).
    type Column = (String, String, bool, Option<String>, bool);

    /// Every table's columns and every index's table and columns, by name.
    #[derive(Debug, PartialEq)]
    struct Schema {
        tables: BTreeMap<String, Vec<Column>>,
        indexes: BTreeMap<String, (String, Vec<String>)>,
    }

    fn names(conn: &Connection, kind: &str) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = ?1 \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .expect("prepare");
        stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .expect("names")
    }

    fn schema(conn: &Connection) -> Schema {
        let mut tables = BTreeMap::new();
        for (table, _) in names(conn, "table") {
            let mut stmt = conn
                .prepare(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
                )
                .expect("prepare");
            let columns = stmt
                .query_map([&table], |r| {
                    let default: Option<String> = r.get(3)?;
                    Ok((
                        r.get(0)?,
                        r.get::<_, String>(1)?.to_uppercase(),
                        r.get(2)?,
                        default.map(|d| d.replace('"', "'")),
                        r.get::<_, i64>(4)? > 0,
                    ))
                })
                .and_then(|rows| rows.collect())
                .expect("columns");
            tables.insert(table, columns);
        }
        let mut indexes = BTreeMap::new();
        for (index, table) in names(conn, "index") {
            let mut stmt = conn
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .expect("prepare");
            let columns = stmt
                .query_map([&index], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .expect("index columns");
            indexes.insert(index, (table, columns));
        }
        Schema { tables, indexes }
    }

    fn created(revision: i64) -> Schema {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = create(&dir.path().join("mixxxdb.sqlite"), revision).expect("create");
        schema(&conn)
    }

    /// The schema of Mixxx 2.5.0 plus the tables it creates while it runs and drops when it
    /// quits (Rekordbox's and Serato's, which 2.3.3 keeps).
    fn mixxx_2_5_0() -> Schema {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(MIXXX_2_5_0).expect("fixture");
        let mut expected = schema(&conn);
        let revision_32 = created(32);
        for (name, columns) in revision_32.tables {
            if name.starts_with("rekordbox_") || name.starts_with("serato_") {
                expected.tables.insert(name, columns);
            }
        }
        expected
    }

    #[test]
    fn revision_39_is_what_the_real_mixxx_2_5_0_creates() {
        let expected = mixxx_2_5_0();
        assert!(
            expected.tables["library"]
                .iter()
                .any(|c| c.0 == "source_synchronized_ms")
        );
        assert!(expected.indexes.contains_key("idx_crate_tracks_track_id"));
        assert_eq!(created(39), expected);
    }

    #[test]
    fn revision_40_adds_the_tuning_frequency() {
        let mut expected = mixxx_2_5_0();
        let library = expected.tables.get_mut("library").expect("library");
        library.push((
            "tuning_frequency_hz".into(),
            "FLOAT".into(),
            false,
            Some("0.0".into()),
            false,
        ));
        assert_eq!(created(40), expected);
    }

    #[test]
    fn revision_32_has_none_of_the_later_columns_and_indexes() {
        let schema = created(32);
        let indexes: Vec<&str> = schema.indexes.keys().map(String::as_str).collect();
        assert_eq!(indexes, ["track_analysis_track_id_index"]);
        assert!(
            !schema.tables["library"]
                .iter()
                .any(|c| c.0 == "coverart_color")
        );
    }
}

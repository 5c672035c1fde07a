//! Writing the Mixxx database: one transaction per run, after a byte-exact backup, touching only
//! the columns and rows git-mixxx owns (the mapped `library` columns with `key_id` kept
//! consistent, and crate / user-playlist membership, creating crates and playlists that do
//! not exist yet).

use super::{Database, Error as DbError};
use crate::fields;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OpenFlags, Transaction, TransactionBehavior, params};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// How many backups are kept per database.
pub const BACKUPS_KEPT: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{field}` value {value:?} cannot be stored in Mixxx")]
    InvalidValue { field: String, value: String },
    #[error("`{field}` holds several values ({values}); Mixxx stores one")]
    SeveralValues { field: String, values: String },
    #[error("`{0}` is not a field git-mixxx writes")]
    UnknownField(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The backup folder for a database: `git-mixxx-backups/` beside it.
pub fn backup_dir(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("git-mixxx-backups")
}

impl Database {
    /// Opens the database for writing (it must exist and have a known schema revision).
    pub fn open_for_writing(path: &Path) -> Result<Database, DbError> {
        let db = Self::open(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        db.check_writable()?;
        Ok(db)
    }

    /// Starts the run's one write transaction, taking SQLite's write lock at once, then copies
    /// the database byte for byte into the backup folder (the copy is consistent: no other
    /// writer can run while we hold the lock). Returns the writer and the backup's path.
    pub fn begin_write(&mut self) -> Result<(Writer<'_>, PathBuf), DbError> {
        let path = self.path.clone();
        let sqlite = |source| super::sqlite_error(&path, source);
        let wal: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(sqlite)?;
        let tx =
            Transaction::new(&mut self.conn, TransactionBehavior::Immediate).map_err(sqlite)?;
        let dir = backup_dir(&path);
        let name = format!(
            "{}-{}.sqlite",
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("mixxxdb"),
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
        );
        let backup = dir.join(name);
        let io = |source| DbError::Backup {
            path: backup.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        if wal.eq_ignore_ascii_case("wal") {
            // In WAL mode the main file alone is not the database: use SQLite's backup.
            tx.backup(
                rusqlite::MAIN_DB,
                &backup,
                None::<fn(rusqlite::backup::Progress)>,
            )
            .map_err(sqlite)?;
        } else {
            std::fs::copy(&path, &backup).map_err(io)?;
        }
        prune_backups(&dir, BACKUPS_KEPT).map_err(io)?;
        Ok((Writer::new(tx), backup))
    }
}

/// Deletes all but the newest `keep` backups (names sort by time).
fn prune_backups(dir: &Path, keep: usize) -> std::io::Result<()> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for old in &names[..excess] {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

/// The write transaction, with crate and playlist ids looked up once.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    crates: Option<HashMap<String, i64>>,
    playlists: Option<HashMap<String, i64>>,
    /// Per set field (crate, playlist), loaded once: each track's memberships (name,
    /// container id, and for playlists the `PlaylistTracks` row ids). Mixxx's schema has no
    /// index by track, so per-track queries would read whole tables.
    members: [Option<HashMap<i64, Vec<Membership>>>; 2],
    /// The highest position in each playlist, loaded once.
    ends: Option<HashMap<i64, i64>>,
    /// Playlists with removed entries, renumbered 1..n once at commit.
    gaps: BTreeSet<i64>,
}

/// A track's membership of one crate or playlist.
#[derive(Clone, Debug)]
struct Membership {
    name: String,
    container: i64,
    rows: Vec<i64>,
}

fn single<'v>(field: &str, values: &'v BTreeSet<String>) -> Result<Option<&'v str>, Error> {
    if values.len() > 1 {
        return Err(Error::SeveralValues {
            field: field.to_owned(),
            values: values.iter().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(values.iter().next().map(String::as_str))
}

impl<'a> Writer<'a> {
    pub fn new(tx: Transaction<'a>) -> Self {
        Writer {
            tx,
            crates: None,
            playlists: None,
            members: [None, None],
            ends: None,
            gaps: BTreeSet::new(),
        }
    }

    pub fn transaction(&self) -> &Transaction<'a> {
        &self.tx
    }

    pub fn commit(self) -> Result<(), Error> {
        // Mixxx expects playlist positions 1..n without gaps.
        for playlist in &self.gaps {
            self.tx.execute(
                "WITH ranked AS MATERIALIZED (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS rn \
                 FROM PlaylistTracks WHERE playlist_id = ?1) \
                 UPDATE PlaylistTracks SET position = ranked.rn FROM ranked WHERE ranked.id = PlaylistTracks.id",
                params![playlist],
            )?;
        }
        Ok(self.tx.commit()?)
    }

    /// Sets `field` of track `id` to exactly `values` (empty = unset).
    pub fn set_field(
        &mut self,
        id: i64,
        field: &str,
        values: &BTreeSet<String>,
    ) -> Result<(), Error> {
        if fields::is_set_field(field) {
            return self.set_membership(id, field, values);
        }
        let invalid = |v: &str| Error::InvalidValue {
            field: field.to_owned(),
            value: v.to_owned(),
        };
        let value = single(field, values)?;
        // Numeric columns: the annex value parsed back, or Mixxx's "unset".
        type Parse = fn(&str) -> Option<SqlValue>;
        let numeric: Option<(&str, Parse, SqlValue)> = match field {
            "rating" => Some((
                "rating",
                |v| fields::parse_rating(v).map(SqlValue::Integer),
                SqlValue::Integer(0),
            )),
            "bpm" => Some((
                "bpm",
                |v| fields::parse_bpm(v).map(SqlValue::Real),
                SqlValue::Real(0.0),
            )),
            "color" => Some((
                "color",
                |v| fields::parse_color(v).map(SqlValue::Integer),
                SqlValue::Null,
            )),
            _ => None,
        };
        if let Some((column, parse, unset)) = numeric {
            let sql_value = match value {
                Some(v) => parse(v).ok_or_else(|| invalid(v))?,
                None => unset,
            };
            let sql = format!("UPDATE library SET \"{column}\" = ?1 WHERE id = ?2");
            self.tx.execute(&sql, params![sql_value, id])?;
            return Ok(());
        }
        match field {
            "key" => {
                let text = value.unwrap_or("");
                self.tx.execute(
                    "UPDATE library SET key = ?1, key_id = ?2 WHERE id = ?3",
                    params![text, fields::key::key_id(text), id],
                )?;
            }
            _ => {
                let column = fields::SINGLE
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map(|(_, c)| *c)
                    .ok_or_else(|| Error::UnknownField(field.to_owned()))?;
                let sql = format!("UPDATE library SET \"{column}\" = ?1 WHERE id = ?2");
                self.tx.execute(&sql, params![value.unwrap_or(""), id])?;
            }
        }
        Ok(())
    }

    fn ids(&mut self, field: &str) -> Result<&mut HashMap<String, i64>, Error> {
        let (slot, sql) = if field == "crate" {
            (
                &mut self.crates,
                "SELECT name, id FROM crates ORDER BY id DESC",
            )
        } else {
            (
                &mut self.playlists,
                "SELECT name, id FROM Playlists WHERE hidden = 0 ORDER BY id DESC",
            )
        };
        if slot.is_none() {
            let mut stmt = self.tx.prepare(sql)?;
            // Descending ids: the oldest playlist of a duplicated name ends up in the map.
            let map = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
                })?
                .filter_map(|row| match row {
                    Ok((Some(name), id)) => Some(Ok((name, id))),
                    Ok((None, _)) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<rusqlite::Result<HashMap<_, _>>>()?;
            *slot = Some(map);
        }
        Ok(slot.get_or_insert_with(HashMap::new))
    }

    /// The id of crate or user playlist `name`, created when missing.
    fn container(&mut self, field: &str, name: &str) -> Result<i64, Error> {
        if let Some(id) = self.ids(field)?.get(name) {
            return Ok(*id);
        }
        let id = if field == "crate" {
            self.tx
                .execute("INSERT INTO crates (name) VALUES (?1)", params![name])?;
            self.tx.last_insert_rowid()
        } else {
            let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
            self.tx.execute(
                "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
                 VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM Playlists), 0, ?2, ?2, 0)",
                params![name, now],
            )?;
            self.tx.last_insert_rowid()
        };
        self.ids(field)?.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Every track's memberships for `field`, read once.
    fn members(&mut self, field: &str) -> Result<&mut HashMap<i64, Vec<Membership>>, Error> {
        let slot = usize::from(field != "crate");
        if self.members[slot].is_none() {
            let sql = if slot == 0 {
                "SELECT ct.track_id, c.name, c.id, NULL FROM crate_tracks ct JOIN crates c ON c.id = ct.crate_id"
            } else {
                "SELECT pt.track_id, p.name, p.id, pt.id FROM PlaylistTracks pt \
                 JOIN Playlists p ON p.id = pt.playlist_id WHERE p.hidden = 0"
            };
            let mut map: HashMap<i64, Vec<Membership>> = HashMap::new();
            let mut stmt = self.tx.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let (Some(track), name, container, row_id) = (
                    row.get::<_, Option<i64>>(0)?,
                    row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<i64>>(3)?,
                ) else {
                    continue;
                };
                let list = map.entry(track).or_default();
                match list.iter_mut().find(|m| m.container == container) {
                    Some(m) => m.rows.extend(row_id),
                    None => list.push(Membership {
                        name,
                        container,
                        rows: row_id.into_iter().collect(),
                    }),
                }
            }
            self.members[slot] = Some(map);
        }
        Ok(self.members[slot].get_or_insert_with(HashMap::new))
    }

    fn set_membership(
        &mut self,
        id: i64,
        field: &str,
        names: &BTreeSet<String>,
    ) -> Result<(), Error> {
        let current = self.members(field)?.remove(&id).unwrap_or_default();
        let mut kept = Vec::with_capacity(names.len());
        for m in current {
            if names.contains(&m.name) {
                kept.push(m);
            } else {
                self.remove_member(field, &m, id)?;
            }
        }
        for name in names {
            if !kept.iter().any(|m| m.name == *name) {
                let container = self.container(field, name)?;
                let rows = self.add_member(field, container, id)?;
                kept.push(Membership {
                    name: name.clone(),
                    container,
                    rows,
                });
            }
        }
        self.members(field)?.insert(id, kept);
        Ok(())
    }

    /// Adds the track; returns the new `PlaylistTracks` row ids (none for crates).
    fn add_member(&mut self, field: &str, container: i64, track: i64) -> Result<Vec<i64>, Error> {
        if field == "crate" {
            self.tx.execute(
                "INSERT OR IGNORE INTO crate_tracks (crate_id, track_id) VALUES (?1, ?2)",
                params![container, track],
            )?;
            return Ok(Vec::new());
        }
        if self.ends.is_none() {
            let mut stmt = self.tx.prepare(
                "SELECT playlist_id, MAX(position) FROM PlaylistTracks GROUP BY playlist_id",
            )?;
            let ends = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    ))
                })?
                .collect::<rusqlite::Result<HashMap<_, _>>>()?;
            self.ends = Some(ends);
        }
        let end = self
            .ends
            .get_or_insert_with(HashMap::new)
            .entry(container)
            .or_insert(0);
        *end += 1;
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        self.tx.execute(
            "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) VALUES (?1, ?2, ?3, ?4)",
            params![container, track, *end, now],
        )?;
        Ok(vec![self.tx.last_insert_rowid()])
    }

    fn remove_member(&mut self, field: &str, member: &Membership, track: i64) -> Result<(), Error> {
        if field == "crate" {
            self.tx.execute(
                "DELETE FROM crate_tracks WHERE crate_id = ?1 AND track_id = ?2",
                params![member.container, track],
            )?;
        } else {
            for row in &member.rows {
                self.tx
                    .execute("DELETE FROM PlaylistTracks WHERE id = ?1", params![row])?;
            }
            self.gaps.insert(member.container);
        }
        Ok(())
    }
}

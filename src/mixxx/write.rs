//! Writing the Mixxx database: one transaction per run, after a byte-exact backup
//! ([`super::backups`]), touching only the columns and rows git-mixxx owns (the mapped
//! `library` columns with `key_id` kept consistent, and crate / user-playlist membership,
//! creating crates and playlists that do not exist yet).

use super::disk::{State, Watch};
use super::marker::Marker;
use super::{Database, Error as DbError};
use crate::fields::cue::Cue;
use crate::fields::grid::Grid;
use crate::fields::key::{self, Notation};
use crate::fields::{Codec, Container, Field, Source, codec};
use rusqlite::types::Value as SqlValue;
use rusqlite::{OpenFlags, Transaction, TransactionBehavior, params};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{field}` value {value:?} cannot be stored in Mixxx: it is not {expected}")]
    InvalidValue {
        field: Field,
        value: String,
        expected: &'static str,
    },
    #[error("`{field}` holds several values ({values}); Mixxx stores one")]
    SeveralValues { field: Field, values: String },
    #[error("`{0}` is not a field git-mixxx writes")]
    UnknownField(String),
    #[error(
        "this Mixxx database has no `{0}` column (an older schema revision), so `{0}` cannot be written to it"
    )]
    MissingColumn(&'static str),
    #[error(
        "the disk holding the Mixxx database is full, so nothing was written to it (SQLite rolled the change back): free space and sync again"
    )]
    DiskFull(#[source] rusqlite::Error),
    #[error(transparent)]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::DiskFull(e),
            _ => Error::Sqlite(e),
        }
    }
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
    /// writer can run while we hold the lock). Returns the writer and the backup's path;
    /// `watch` started before the run read the database, if it did ([`committing`]).
    pub fn begin_write(&mut self, watch: Option<&Watch>) -> Result<(Writer<'_>, PathBuf), DbError> {
        let path = self.path.clone();
        let sqlite = |source| super::sqlite_error(&path, source);
        let wal: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(sqlite)?;
        let tx =
            Transaction::new(&mut self.conn, TransactionBehavior::Immediate).map_err(sqlite)?;
        let backup = super::backups::back_up(&path, wal.eq_ignore_ascii_case("wal"))?;
        let mut writer = Writer::new(tx, watch).map_err(sqlite)?;
        writer.config = path.parent().map(|dir| dir.join("mixxx.cfg"));
        Ok((writer, backup))
    }

    /// The state of the database's files that this connection's commit `committed` left,
    /// when no other connection has committed since (SQLite's `data_version`, read before the
    /// commit and after the state, moves with every other connection's commit).
    pub fn after_commit(&self, committed: &Committed) -> Option<State> {
        let state = State::read(&self.path);
        let version: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .ok()?;
        (version == committed.data_version).then_some(state)
    }
}

/// A commit of git-mixxx's: whether it was made on exactly what the run read (no other
/// connection committed since the run's [`Watch`] started), and SQLite's `data_version` of its
/// connection just before it.
#[derive(Clone, Debug)]
pub struct Committed {
    pub on_read: bool,
    data_version: i64,
}

/// [`Committed`] from inside the write transaction `tx`, before it writes: from its start to its
/// commit it holds the write lock, so no other commit can come between `watch`'s answer and
/// this commit. (Asked later, the watch would wait in vain: once a large transaction spills its
/// changes into the database file, it holds the lock that keeps every reader out, the watch's
/// connection too, until it commits.)
fn committing(tx: &Transaction<'_>, watch: Option<&Watch>) -> rusqlite::Result<Committed> {
    let data_version = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    Ok(Committed {
        on_read: watch.is_some_and(Watch::unchanged),
        data_version,
    })
}

impl Database {
    /// Stores git-mixxx's marker alone, in its own short transaction: it is git-mixxx's own
    /// row, not the DJ's data, so no backup is taken for it. `watch` started before the run
    /// read the database, if it did.
    pub fn write_marker(
        &mut self,
        marker: &Marker,
        watch: Option<&Watch>,
    ) -> Result<Committed, DbError> {
        let path = self.path.clone();
        let sqlite = |source| super::sqlite_error(&path, source);
        let tx =
            Transaction::new(&mut self.conn, TransactionBehavior::Immediate).map_err(sqlite)?;
        let committed = committing(&tx, watch).map_err(sqlite)?;
        super::marker::write(&tx, marker).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(committed)
    }
}

/// The write transaction, with crate and playlist ids looked up once.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    /// What the commit will be ([`committing`]).
    committed: Committed,
    crates: Option<HashMap<String, i64>>,
    playlists: Option<HashMap<String, i64>>,
    /// Per set field (crate, playlist), loaded once: each track's memberships (name,
    /// container id, and for playlists the `PlaylistTracks` row ids). Mixxx's schema has no
    /// index by track, so per-track queries would read whole tables.
    members: [Option<HashMap<i64, Vec<Membership>>>; 2],
    /// Each track's cues that git-mixxx syncs, loaded once.
    cues: Option<TrackCues>,
    /// The highest position in each playlist, loaded once.
    ends: Option<HashMap<i64, i64>>,
    /// Playlists with removed entries, renumbered 1..n once at commit.
    gaps: BTreeSet<i64>,
    /// The key notation of this Mixxx, found when a key is first written.
    notation: Option<Notation>,
    /// This Mixxx's configuration file (`mixxx.cfg` beside the database), if known.
    config: Option<PathBuf>,
    /// The `library` table's columns, read when a column is first written.
    columns: Option<std::collections::HashSet<String>>,
}

/// Each track's synced cues: (`cues` row id, [`Cue`] value).
type TrackCues = HashMap<i64, Vec<(i64, String)>>;

/// A track's membership of one crate or playlist.
#[derive(Clone, Debug)]
struct Membership {
    name: String,
    container: i64,
    rows: Vec<i64>,
}

fn single(field: Field, values: &BTreeSet<String>) -> Result<Option<&str>, Error> {
    if values.len() > 1 {
        return Err(Error::SeveralValues {
            field,
            values: values.iter().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(values.iter().next().map(String::as_str))
}

impl<'a> Writer<'a> {
    /// A writer in the write transaction `tx`, before it writes; `watch` started before the run
    /// read the database, if it did ([`committing`]).
    pub fn new(tx: Transaction<'a>, watch: Option<&Watch>) -> rusqlite::Result<Self> {
        Ok(Writer {
            committed: committing(&tx, watch)?,
            tx,
            crates: None,
            playlists: None,
            members: [None, None],
            cues: None,
            ends: None,
            gaps: BTreeSet::new(),
            notation: None,
            config: None,
            columns: None,
        })
    }

    pub fn transaction(&self) -> &Transaction<'a> {
        &self.tx
    }

    /// Stores git-mixxx's marker ([`super::marker`]) with the rest of the transaction.
    pub fn set_marker(&mut self, marker: &Marker) -> Result<(), Error> {
        Ok(super::marker::write(&self.tx, marker)?)
    }

    /// Commits.
    pub fn commit(self) -> Result<Committed, Error> {
        // Mixxx expects playlist positions 1..n without gaps.
        for playlist in &self.gaps {
            self.tx.execute(
                "WITH ranked AS MATERIALIZED (SELECT id, ROW_NUMBER() OVER (ORDER BY position, id) AS rn \
                 FROM PlaylistTracks WHERE playlist_id = ?1) \
                 UPDATE PlaylistTracks SET position = ranked.rn FROM ranked WHERE ranked.id = PlaylistTracks.id",
                params![playlist],
            )?;
        }
        self.tx.commit()?;
        Ok(self.committed)
    }

    /// Sets `field` of track `id` to exactly `values` (canonical values; empty = unset).
    pub fn set_field(
        &mut self,
        id: i64,
        field: Field,
        values: &BTreeSet<String>,
    ) -> Result<(), Error> {
        let column = match field.source() {
            Source::Member(container) => return self.set_membership(id, container, values),
            Source::Cues => return self.set_cues(id, values),
            Source::Grid => return self.set_grid(id, values),
            Source::Column(column) => column,
        };
        let value = single(field, values)?;
        if !self.has_column(column)? {
            // Nothing to clear; a value waits on the branch for a Mixxx that holds it.
            return match value {
                None => Ok(()),
                Some(_) => Err(Error::MissingColumn(column)),
            };
        }
        let codec = field.codec();
        let invalid = |e: codec::Invalid| Error::InvalidValue {
            field,
            value: e.value,
            expected: e.expected,
        };
        let sql_value = codec.to_mixxx(value).map_err(invalid)?;
        if codec == Codec::Key {
            let key_id = match &sql_value {
                SqlValue::Integer(id) => *id,
                _ => 0,
            };
            let text = key::render(key_id, self.notation()?).unwrap_or_default();
            self.tx.execute(
                "UPDATE library SET key = ?1, key_id = ?2 WHERE id = ?3",
                params![text, key_id, id],
            )?;
            return Ok(());
        }
        let sql = format!("UPDATE library SET \"{column}\" = ?1 WHERE id = ?2");
        self.tx.execute(&sql, params![sql_value, id])?;
        if field == Field::Bpm {
            self.bpm_from_grid(id)?;
        }
        Ok(())
    }

    /// Whether the `library` table has `column` (`last_played_at` came with revision 35).
    fn has_column(&mut self, column: &str) -> Result<bool, Error> {
        if self.columns.is_none() {
            self.columns = Some(super::library_columns(&self.tx)?);
        }
        Ok(self.columns.as_ref().is_some_and(|c| c.contains(column)))
    }

    /// Gives `bpm` the track's beat grid's exact BPM where it is that BPM to the two decimals
    /// the branch carries, as Mixxx keeps the column (the grid's BPM, whole): a grid and its
    /// BPM pulled from another clone then arrive exactly as that clone's Mixxx wrote them, and
    /// read back as the same branch value.
    fn bpm_from_grid(&mut self, id: i64) -> Result<(), Error> {
        let sql = format!(
            "SELECT bpm, {} FROM library WHERE id = ?1",
            crate::fields::grid::COLUMNS.join(", ")
        );
        let found = self.tx.query_row(&sql, params![id], |r| {
            let bpm = match r.get_ref(0)? {
                rusqlite::types::ValueRef::Real(x) => Some(x),
                rusqlite::types::ValueRef::Integer(i) => Some(i as f64),
                _ => None,
            };
            let grid =
                Grid::from_columns([r.get_ref(1)?, r.get_ref(2)?, r.get_ref(3)?, r.get_ref(4)?]);
            Ok((bpm, grid.and_then(|g| g.bpm())))
        });
        let (Some(bpm), Some(exact)) = found? else {
            return Ok(());
        };
        let text = |x: f64| {
            Codec::Bpm
                .from_mixxx(rusqlite::types::ValueRef::Real(x), None)
                .map(|t| t.into_owned())
        };
        if bpm != exact && text(bpm).is_some() && text(bpm) == text(exact) {
            self.tx.execute(
                "UPDATE library SET bpm = ?1 WHERE id = ?2",
                params![exact, id],
            )?;
        }
        Ok(())
    }

    /// The key notation this Mixxx writes: the one its rows are written in, else the one its
    /// configuration (`mixxx.cfg` beside the database) makes it write (Mixxx 2.5 and later
    /// write ID3v2 names whatever the preference says), else Mixxx's default.
    fn notation(&mut self) -> Result<&Notation, Error> {
        if self.notation.is_none() {
            let mut stmt = self.tx.prepare(
                "SELECT key_id, key FROM library WHERE key_id BETWEEN 1 AND 24 \
                 AND key IS NOT NULL AND key <> '' LIMIT 1000",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let notation = Notation::detect(rows.iter().map(|(id, t)| (*id, t.as_str())))
                .or_else(|| {
                    let text = std::fs::read_to_string(self.config.as_deref()?).ok()?;
                    Notation::written_by(&text)
                })
                .unwrap_or_default();
            self.notation = Some(notation);
        }
        Ok(self.notation.get_or_insert_with(Notation::default))
    }

    /// Sets the track's beat grid ([`Grid`]) in one statement; no grid clears the blob and
    /// its versions and leaves `bpm_lock` as it is.
    fn set_grid(&mut self, id: i64, values: &BTreeSet<String>) -> Result<(), Error> {
        let grid = match single(Field::Grid, values)? {
            Some(value) => Some(Grid::parse(value).map_err(|expected| Error::InvalidValue {
                field: Field::Grid,
                value: value.to_owned(),
                expected,
            })?),
            None => None,
        };
        let [beats, version, sub_version, lock] = Grid::to_columns(grid.as_ref());
        self.tx.execute(
            "UPDATE library SET beats = ?1, beats_version = ?2, beats_sub_version = ?3, \
             bpm_lock = COALESCE(?4, bpm_lock) WHERE id = ?5",
            params![beats, version, sub_version, lock, id],
        )?;
        if grid.is_some() {
            self.bpm_from_grid(id)?;
        }
        Ok(())
    }

    /// Makes the track's synced cues exactly `values` ([`Cue`] values): rows of other values
    /// are deleted, missing ones inserted; the others (and cues of other types) stay as they
    /// are, with their ids.
    fn set_cues(&mut self, id: i64, values: &BTreeSet<String>) -> Result<(), Error> {
        let current = self.cues()?.remove(&id).unwrap_or_default();
        let mut kept = Vec::with_capacity(values.len());
        for (row, value) in current {
            if values.contains(&value) && !kept.iter().any(|(_, v)| *v == value) {
                kept.push((row, value));
            } else {
                self.tx
                    .execute("DELETE FROM cues WHERE id = ?1", params![row])?;
            }
        }
        for value in values {
            if kept.iter().any(|(_, v)| v == value) {
                continue;
            }
            let cue = Cue::parse(value).ok_or_else(|| Error::InvalidValue {
                field: Field::Cue,
                value: value.clone(),
                expected: "a cue",
            })?;
            let [kind, position, length, slot, label, color] = cue.to_row();
            self.tx.execute(
                "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, kind, position, length, slot, label, color],
            )?;
            kept.push((self.tx.last_insert_rowid(), value.clone()));
        }
        self.cues()?.insert(id, kept);
        Ok(())
    }

    /// Every track's synced cues, read once.
    fn cues(&mut self) -> Result<&mut TrackCues, Error> {
        if self.cues.is_none() {
            let mut map = TrackCues::new();
            super::for_each_cue(&self.tx, |id, track, cue| {
                map.entry(track).or_default().push((id, cue.to_string()));
            })?;
            self.cues = Some(map);
        }
        Ok(self.cues.get_or_insert_with(HashMap::new))
    }

    fn ids(&mut self, kind: Container) -> Result<&mut HashMap<String, i64>, Error> {
        let (slot, sql) = if kind == Container::Crate {
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
    fn container(&mut self, kind: Container, name: &str) -> Result<i64, Error> {
        if let Some(id) = self.ids(kind)?.get(name) {
            return Ok(*id);
        }
        let id = if kind == Container::Crate {
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
        self.ids(kind)?.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Every track's memberships for `field`, read once.
    fn members(&mut self, kind: Container) -> Result<&mut HashMap<i64, Vec<Membership>>, Error> {
        let slot = usize::from(kind != Container::Crate);
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
        kind: Container,
        names: &BTreeSet<String>,
    ) -> Result<(), Error> {
        let current = self.members(kind)?.remove(&id).unwrap_or_default();
        let mut kept = Vec::with_capacity(names.len());
        for m in current {
            if names.contains(&m.name) {
                kept.push(m);
            } else {
                self.remove_member(kind, &m, id)?;
            }
        }
        for name in names {
            if !kept.iter().any(|m| m.name == *name) {
                let container = self.container(kind, name)?;
                let rows = self.add_member(kind, container, id)?;
                kept.push(Membership {
                    name: name.clone(),
                    container,
                    rows,
                });
            }
        }
        self.members(kind)?.insert(id, kept);
        Ok(())
    }

    /// Renames crate or user playlist `from` to `to`, keeping its id, settings and (for a
    /// playlist) order, when `to` does not exist and `from` has exactly `leaving` tracks: the
    /// ones the run moves to `to`. Returns whether it did.
    pub fn rename(
        &mut self,
        kind: Container,
        from: &str,
        to: &str,
        leaving: usize,
    ) -> Result<bool, Error> {
        let ids = self.ids(kind)?;
        let (None, Some(&id)) = (ids.get(to), ids.get(from)) else {
            return Ok(false);
        };
        let count = match kind {
            Container::Crate => {
                "SELECT count(DISTINCT track_id) FROM crate_tracks WHERE crate_id = ?1"
            }
            Container::Playlist => {
                "SELECT count(DISTINCT track_id) FROM PlaylistTracks WHERE playlist_id = ?1"
            }
        };
        let members: i64 = self.tx.query_row(count, [id], |r| r.get(0))?;
        if usize::try_from(members).ok() != Some(leaving) {
            return Ok(false);
        }
        self.rename_id(kind, id, from, to)?;
        Ok(true)
    }

    /// Renames user playlist `from` to `to`, keeping its id, settings and order, unless a
    /// playlist named `to` exists. Returns whether it did.
    pub fn rename_playlist(&mut self, from: &str, to: &str) -> Result<bool, Error> {
        let ids = self.ids(Container::Playlist)?;
        let (None, Some(&id)) = (ids.get(to), ids.get(from)) else {
            return Ok(false);
        };
        self.rename_id(Container::Playlist, id, from, to)?;
        Ok(true)
    }

    fn rename_id(&mut self, kind: Container, id: i64, from: &str, to: &str) -> Result<(), Error> {
        let sql = match kind {
            Container::Crate => "UPDATE crates SET name = ?2 WHERE id = ?1",
            Container::Playlist => "UPDATE Playlists SET name = ?2 WHERE id = ?1",
        };
        self.tx.execute(sql, params![id, to])?;
        let ids = self.ids(kind)?;
        ids.remove(from);
        ids.insert(to.to_owned(), id);
        self.members[usize::from(kind != Container::Crate)] = None;
        Ok(())
    }

    /// Arranges the user playlist `name` as `slots`, creating it when missing. A slot is one
    /// key's track ids (one file at several paths): it takes an entry of one of them, else a
    /// new entry of the first. Surplus entries of the slots' tracks go; entries of tracks in
    /// no slot (files git-mixxx does not sync) keep their order after the others.
    pub fn set_order(&mut self, name: &str, slots: &[&[i64]]) -> Result<(), Error> {
        let playlist = match self.ids(Container::Playlist)?.get(name) {
            Some(id) => *id,
            None if slots.is_empty() => return Ok(()),
            None => self.container(Container::Playlist, name)?,
        };
        let entries: Vec<(i64, i64)> = self
            .tx
            .prepare(
                "SELECT id, track_id FROM PlaylistTracks WHERE playlist_id = ?1 \
                 ORDER BY position, id",
            )?
            .query_map([playlist], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(-1)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut used = vec![false; entries.len()];
        // Each track's entries, first first.
        let mut by_track: HashMap<i64, std::collections::VecDeque<usize>> = HashMap::new();
        for (i, (_, track)) in entries.iter().enumerate() {
            by_track.entry(*track).or_default().push_back(i);
        }
        let in_slots: std::collections::HashSet<i64> =
            slots.iter().flat_map(|s| s.iter().copied()).collect();
        let mut arranged = Vec::with_capacity(entries.len().max(slots.len()));
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        for slot in slots {
            let found = slot
                .iter()
                .find_map(|t| by_track.get_mut(t).and_then(|q| q.pop_front()));
            match (found, slot.first()) {
                (Some(i), _) => {
                    used[i] = true;
                    arranged.push(entries[i].0);
                }
                (None, Some(track)) => {
                    self.tx.execute(
                        "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
                         VALUES (?1, ?2, 0, ?3)",
                        params![playlist, track, now],
                    )?;
                    arranged.push(self.tx.last_insert_rowid());
                }
                (None, None) => {}
            }
        }
        for (i, (row, track)) in entries.iter().enumerate() {
            if used[i] {
                continue;
            }
            if in_slots.contains(track) {
                self.tx
                    .execute("DELETE FROM PlaylistTracks WHERE id = ?1", [row])?;
            } else {
                arranged.push(*row);
            }
        }
        for (position, row) in (1i64..).zip(&arranged) {
            self.tx.execute(
                "UPDATE PlaylistTracks SET position = ?1 WHERE id = ?2",
                params![position, row],
            )?;
        }
        let modified = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        self.tx.execute(
            "UPDATE Playlists SET date_modified = ?1 WHERE id = ?2",
            params![modified, playlist],
        )?;
        self.gaps.remove(&playlist);
        if let Some(ends) = &mut self.ends {
            ends.insert(playlist, arranged.len() as i64);
        }
        // Memberships changed under the cache: read again if needed.
        self.members[1] = None;
        Ok(())
    }

    /// Adds the track; returns the new `PlaylistTracks` row ids (none for crates).
    fn add_member(
        &mut self,
        kind: Container,
        container: i64,
        track: i64,
    ) -> Result<Vec<i64>, Error> {
        if kind == Container::Crate {
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

    fn remove_member(
        &mut self,
        kind: Container,
        member: &Membership,
        track: i64,
    ) -> Result<(), Error> {
        if kind == Container::Crate {
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

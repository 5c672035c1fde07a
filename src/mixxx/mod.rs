//! The Mixxx library database: opening it read-only, detecting and checking the schema
//! revision, and reading every track's mapped values, crates, playlists and history sessions
//! ([`history`]) in one consistent read transaction, with the digest of everything it saw
//! ([`content`]), checked again without decoding in [`check`]. Its default locations live in
//! [`location`], writing in [`write`], detecting a running Mixxx in [`running`]; creating
//! databases from the real Mixxx DDL (for the demo, tests and benchmarks) in [`schema`].

pub mod backups;
pub mod check;
pub mod content;
pub mod disk;
pub mod history;
pub mod import;
pub mod location;
pub mod marker;
pub mod relink;
pub mod running;
pub mod schema;
pub mod write;

use crate::fields::cue::{self, Cue, CueRow};
use crate::fields::grid::{self, Grid};
use crate::fields::{COLUMN_COUNT, Codec, Container, Field, FieldSet, Row, Set, Source};
use content::{Digests, scan};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The oldest schema revision git-mixxx reads (Mixxx 2.3).
pub const MIN_REVISION: i64 = 32;
/// The newest schema revision git-mixxx knows and writes (Mixxx 2.6 and Mixxx's development
/// branch; 39 is Mixxx 2.4 and 2.5). A newer one is read, never written.
pub const MAX_REVISION: i64 = 40;

/// The Mixxx releases that create schema revision `revision`, as `status` names them.
pub fn releases(revision: i64) -> &'static str {
    match revision {
        ..MIN_REVISION => "older than Mixxx 2.3: git-mixxx cannot read it",
        MIN_REVISION => "Mixxx 2.3",
        33..=38 => "a development version between Mixxx 2.3 and 2.4",
        39 => "Mixxx 2.4 or 2.5",
        MAX_REVISION => "Mixxx 2.6 or Mixxx's development branch",
        _ => "newer than git-mixxx knows: read only, sync with --push-only",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the Mixxx database {0} does not exist: start Mixxx once (then sync), or use `git mixxx launch`, which starts it and syncs; or pass the right --db PATH (`git config mixxx.db`)"
    )]
    Missing(PathBuf),
    #[error(
        "{path} is not a Mixxx library database ({reason}); pass the right --db PATH or restore it from a backup"
    )]
    NotMixxx { path: PathBuf, reason: String },
    #[error(
        "the Mixxx database {path} has schema revision {revision}, older than Mixxx 2.3's {MIN_REVISION}, which git-mixxx cannot read: open it once in Mixxx 2.3 or newer (which upgrades it), then sync"
    )]
    TooOld { path: PathBuf, revision: i64 },
    #[error(
        "the Mixxx database {path} has schema revision {revision}, newer than the {MAX_REVISION} (Mixxx 2.6) git-mixxx knows, so git-mixxx reads it but never writes to it: sync with --push-only, or upgrade git-mixxx"
    )]
    TooNew { path: PathBuf, revision: i64 },
    #[error(
        "the Mixxx database {path} is damaged (SQLite: database disk image is malformed); restore it from a backup (git-mixxx keeps its last ones in {backups}) or let Mixxx build a new one"
    )]
    Corrupt { path: PathBuf, backups: PathBuf },
    #[error(
        "the Mixxx database {path} is locked by another program (is Mixxx writing to it?); try again in a moment"
    )]
    Locked { path: PathBuf },
    #[error("reading the Mixxx database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the Mixxx database {path} holds an interrupted write that must be rolled back, and {holder} {}: close Mixxx (it rolls the write back) and sync again",
        running::HOLDS
    )]
    HotJournal { path: PathBuf, holder: String },
    #[error(
        "backing up the Mixxx database to {path} failed, so nothing was written (free space on that disk, or make the folder writable, and sync again): {source}"
    )]
    Backup {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One track of the library with its mapped values.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub id: i64,
    pub location: String,
    pub row: Row,
}

/// Everything git-mixxx reads from a database, from one read transaction.
#[derive(Clone, Debug, Default)]
pub struct Library {
    pub revision: i64,
    pub tracks: Vec<Track>,
    /// git-mixxx's marker in this database ([`marker`]), if it has one.
    pub marker: Option<marker::Marker>,
    /// The user playlists (not `hidden`) with their entries in order.
    pub playlists: Vec<Playlist>,
    /// The state of the database's files when it was read, if no commit happened while it was
    /// read ([`disk::State`]).
    pub disk: Option<disk::State>,
    /// The history playlists, one per session ([`history`]).
    pub history: Vec<history::Session>,
    /// The fields this database has no column for (`lastplayed` before revision 35).
    pub missing: FieldSet,
    /// The digest of everything the read saw ([`content`]).
    pub content: content::Content,
}

/// A user playlist: its name and its entries' track ids, by position (a track may appear
/// twice).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Playlist {
    pub name: String,
    pub tracks: Vec<i64>,
}

/// An open database and its schema revision.
pub struct Database {
    pub(crate) conn: Connection,
    pub path: PathBuf,
    pub revision: i64,
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Locked {
            path: path.to_owned(),
        },
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt {
            path: path.to_owned(),
            backups: backups::dir(path),
        },
        Some(ErrorCode::NotADatabase) => Error::NotMixxx {
            path: path.to_owned(),
            reason: "the file is not an SQLite database or is corrupt".into(),
        },
        _ => Error::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

impl Database {
    /// Opens the database read-only: never blocks Mixxx and never modifies the file, so it
    /// works while Mixxx runs.
    ///
    /// A hot journal (a writer killed mid-transaction) cannot be rolled back read-only: when
    /// Mixxx is not running, the database is opened read-write once to let SQLite roll it back.
    ///
    /// A database in WAL mode needs its shared-memory file, which a read-only connection
    /// cannot create: it is opened read-write, and reads only (`query_only`).
    pub fn open_read_only(path: &Path) -> Result<Database> {
        if wal_mode(path) {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let db = Self::open(path, flags)?;
            db.conn
                .pragma_update(None, "query_only", true)
                .map_err(|e| sqlite_error(path, e))?;
            return Ok(db);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match Self::open(path, flags) {
            Err(Error::Sqlite { source, .. }) if hot_journal(&source) => {
                roll_back_hot_journal(path)?;
                Self::open(path, flags)
            }
            other => other,
        }
    }

    pub(crate) fn open(path: &Path, flags: OpenFlags) -> Result<Database> {
        if !path.is_file() {
            return Err(Error::Missing(path.to_owned()));
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite_error(path, e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| sqlite_error(path, e))?;
        no_foreign_keys(&conn).map_err(|e| sqlite_error(path, e))?;
        no_checkpoint_on_close(&conn).map_err(|e| sqlite_error(path, e))?;
        let revision = schema_revision(&conn).map_err(|e| match e {
            Error::Sqlite { source, .. } => sqlite_error(path, source),
            Error::NotMixxx { reason, .. } => Error::NotMixxx {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })?;
        for table in REQUIRED_TABLES {
            if !has_table(&conn, table).map_err(|e| sqlite_error(path, e))? {
                return Err(Error::NotMixxx {
                    path: path.to_owned(),
                    reason: format!("it has no `{table}` table"),
                });
            }
        }
        if revision < MIN_REVISION {
            return Err(Error::TooOld {
                path: path.to_owned(),
                revision,
            });
        }
        Ok(Database {
            conn,
            path: path.to_owned(),
            revision,
        })
    }

    /// Fails unless git-mixxx knows this revision well enough to write to it.
    pub fn check_writable(&self) -> Result<()> {
        if self.revision > MAX_REVISION {
            return Err(Error::TooNew {
                path: self.path.clone(),
                revision: self.revision,
            });
        }
        Ok(())
    }

    /// Reads all tracks (not `mixxx_deleted`) with their mapped values, crates and user
    /// playlists, in bulk, inside one read transaction.
    pub fn read_library(&self) -> Result<Library> {
        let err = |e| sqlite_error(&self.path, e);
        let before = disk::State::read(&self.path);
        // A deferred transaction holds one SQLite read snapshot for all the queries below.
        self.conn.execute_batch("BEGIN").map_err(err)?;
        let result = self.read_snapshot();
        crate::error::pause_point("reading-mixxx");
        // Ending a read transaction cannot lose anything; its error is not interesting.
        let _ = self.conn.execute_batch("COMMIT");
        let mut library = result.map_err(err)?;
        // The same state before and after: the read saw exactly that state's content.
        library.disk = Some(before).filter(|b| *b == disk::State::read(&self.path));
        Ok(library)
    }

    /// Reads the library in the open read transaction. Outside WAL mode, the `cues` table (the
    /// largest, read whole) is read meanwhile on a second connection: this transaction's
    /// shared lock, taken first, keeps any writer from committing until both reads are done,
    /// so both see the same database. If that read fails (a writer waiting for the lock makes
    /// new readers wait), the cues are read here after all.
    fn read_snapshot(&self) -> rusqlite::Result<Library> {
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
        if wal_mode(&self.path) {
            return self.read_in_transaction(None);
        }
        let path = self.path.as_path();
        std::thread::scope(|scope| {
            let cues = scope.spawn(move || cues_by_track(path));
            self.read_in_transaction(Some(cues))
        })
    }

    fn read_in_transaction(&self, cues: Option<CueReader<'_>>) -> rusqlite::Result<Library> {
        let mut digests = Digests::default();
        digests.note("revision", self.revision);
        let (columns, missing) = single_columns(&self.conn)?;
        let mut tracks = Vec::new();
        let mut index: FxHashMap<i64, usize> = FxHashMap::default();
        scan(&self.conn, &library_sql(&columns), &mut digests, |row| {
            if let Some(track) = library_track(row) {
                index.insert(track.id, tracks.len());
                tracks.push(track);
            }
            Ok(())
        })?;
        // What is left but the cues first: they may still be read on the other connection.
        let marker = marker::read_digested(&self.conn, &mut digests)?;
        let playlists = read_playlists(&self.conn, &mut digests)?;
        let history = history::read(&self.conn, &mut digests)?;
        digest_import_queries(&self.conn, &mut digests)?;
        let mut cues = cues;
        for field in Field::ALL {
            match field.source() {
                Source::Member(container) => {
                    let mut members = Grouped::default();
                    scan(&self.conn, members_sql(container), &mut digests, |row| {
                        if let (Some(track), Some(name)) = (integer(row[0]), text(row[1])) {
                            members.push(track, |text| text.push_str(&name));
                        }
                        Ok(())
                    })?;
                    set_members(&mut tracks, &index, field, members.sets());
                }
                Source::Cues => {
                    let (by_track, cue_digests) = match cues.take().map(|c| c.join()) {
                        Some(Ok(Ok(read))) => read,
                        _ => cue_values(&self.conn)?,
                    };
                    digests.extend(cue_digests);
                    set_members(&mut tracks, &index, field, by_track);
                }
                Source::Column(_) | Source::Grid => {}
            }
        }
        Ok(Library {
            revision: self.revision,
            tracks,
            marker,
            playlists,
            disk: None,
            history,
            missing,
            content: digests.finish(),
        })
    }

    /// git-mixxx's marker in this database, if it has one.
    pub fn marker(&self) -> rusqlite::Result<Option<marker::Marker>> {
        marker::read(&self.conn)
    }
}

/// The single-valued fields' columns as the library query selects them (`NULL` for a column
/// this database does not have: `last_played_at` before revision 35), then `key_id` for the
/// key's codec; and the fields whose column is missing.
fn single_columns(conn: &Connection) -> rusqlite::Result<(Vec<String>, FieldSet)> {
    let have = library_columns(conn)?;
    Ok(columns_where(|c| have.contains(c)))
}

/// The `library` columns the single-valued fields read, `NULL` for each one `has` says is
/// missing, and the fields missing.
fn columns_where(has: impl Fn(&str) -> bool) -> (Vec<String>, FieldSet) {
    let mut missing = FieldSet::default();
    let mut columns: Vec<String> = Vec::new();
    for field in Field::singles() {
        match field.source() {
            Source::Column(c) if has(c) => columns.push(format!("l.\"{c}\"")),
            Source::Column(_) => {
                missing.insert(field);
                columns.push("NULL".to_owned());
            }
            Source::Grid => columns.extend(grid::COLUMNS.map(|c| format!("l.\"{c}\""))),
            Source::Member(_) | Source::Cues => {}
        }
    }
    (columns, missing)
}

/// The names of the `library` table's columns.
pub(crate) fn library_columns(conn: &Connection) -> rusqlite::Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('library')")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    names.collect()
}

/// The thread reading the cues on a second connection ([`cues_by_track`]).
type CueReader<'s> = std::thread::ScopedJoinHandle<'s, rusqlite::Result<(CuesByTrack, Digests)>>;

/// Each track's cue values, by track id (in its order).
type CuesByTrack = Vec<(i64, Set)>;

/// Values of many tracks' set fields as a scan finds them, in one string (no allocation a
/// value), to be grouped by track once the scan is over.
#[derive(Default)]
struct Grouped {
    text: String,
    /// (track id, where its value starts and ends in `text`)
    values: Vec<(i64, usize, usize)>,
}

impl Grouped {
    /// Adds the value `write` writes to `track`'s.
    fn push(&mut self, track: i64, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        self.values.push((track, start, self.text.len()));
    }

    /// Each track's values as a set, in track id order.
    fn sets(mut self) -> Vec<(i64, Set)> {
        // Stable, and linear when the rows come grouped by track (as Mixxx mostly writes them).
        self.values.sort_by_key(|&(track, _, _)| track);
        let text = &self.text;
        (self.values.chunk_by(|a, b| a.0 == b.0))
            .map(|group| {
                let values = group.iter().map(|&(_, s, e)| &text[s..e]);
                (group[0].0, Set::new(values))
            })
            .collect()
    }
}

/// Gives each track of `sets` (by id, found by `index`) its values of `field`.
fn set_members(
    tracks: &mut [Track],
    index: &FxHashMap<i64, usize>,
    field: Field,
    sets: Vec<(i64, Set)>,
) {
    for (track, values) in sets {
        if let Some(i) = index.get(&track) {
            tracks[*i].row.set_members(field, values);
        }
    }
}

/// Every track's cues that a user made, as their values, read on a connection of its own;
/// and the digest of that read.
fn cues_by_track(path: &Path) -> rusqlite::Result<(CuesByTrack, Digests)> {
    cue_values(&reading_connection(path)?)
}

/// A second read-only connection, which gives up soon when a writer waits for the lock.
fn reading_connection(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_millis(200))?;
    no_checkpoint_on_close(&conn)?;
    Ok(conn)
}

/// The query of the library's tracks: id, location, the single-valued fields' columns, then
/// `key_id` (for the key's codec) last.
fn library_sql(columns: &[String]) -> String {
    format!(
        "SELECT l.id, tl.location, {}, l.key_id FROM library l \
         JOIN track_locations tl ON tl.id = l.location \
         WHERE COALESCE(l.mixxx_deleted, 0) = 0 ORDER BY l.id",
        columns.join(", ")
    )
}

/// One row of [`library_sql`] as a track with its column fields' values (none without an
/// id or a location).
fn library_track(row: &[ValueRef<'_>]) -> Option<Track> {
    let id = integer(row[0])?;
    let location = text(row[1])?;
    let key_id = row.last().copied().and_then(integer);
    let mut singles: [Option<Cow<'_, str>>; COLUMN_COUNT] = Default::default();
    let mut column = 2;
    for (i, field) in Field::singles().enumerate() {
        singles[i] = match field.source() {
            Source::Grid => {
                let [a, b, c, d] = [0, 1, 2, 3].map(|j| row[column + j]);
                column += grid::COLUMNS.len();
                Grid::from_columns([a, b, c, d]).map(|g| Cow::Owned(g.to_string()))
            }
            _ => {
                column += 1;
                field.codec().from_mixxx(row[column - 1], key_id)
            }
        };
    }
    let row = Row::new(singles);
    Some(Track { id, location, row })
}

/// The query of every track's memberships of one kind of container: track id, container name.
fn members_sql(container: Container) -> &'static str {
    match container {
        Container::Crate => {
            "SELECT ct.track_id, c.name FROM crate_tracks ct JOIN crates c ON c.id = ct.crate_id"
        }
        Container::Playlist => {
            "SELECT pt.track_id, p.name FROM PlaylistTracks pt \
             JOIN Playlists p ON p.id = pt.playlist_id WHERE p.hidden = 0"
        }
    }
}

/// The queries whose rows decide which of the index's files a sync adds to this Mixxx
/// ([`import`]: the library folders, and the locations Mixxx knows): digested with the read,
/// though the import reads them itself.
const IMPORT_QUERIES: [&str; 2] = [
    "SELECT directory FROM directories",
    "SELECT location FROM track_locations",
];

fn digest_import_queries(conn: &Connection, digests: &mut Digests) -> rusqlite::Result<()> {
    for sql in IMPORT_QUERIES {
        scan(conn, sql, digests, |_| Ok(()))?;
    }
    Ok(())
}

/// The query of the cues git-mixxx syncs, with their track: the types from 1 to 7 but 3
/// (beat markers), [`cue::SYNCED_TYPES`], a range being cheaper for SQLite to test than a
/// list.
const CUES_SQL: &str = "SELECT track_id, type, position, length, hotcue, label, color FROM cues \
     WHERE type BETWEEN 1 AND 7 AND type <> 3";

impl Database {
    /// The queries of the library and cue columns a sync reads in this database (the
    /// benchmark times them with the `sqlite3` program as the reference for reading it).
    pub fn read_queries(&self) -> Result<[String; 2]> {
        let (columns, _) = single_columns(&self.conn).map_err(|e| sqlite_error(&self.path, e))?;
        Ok([library_sql(&columns), CUES_SQL.to_owned()])
    }
}

/// Every track's cues that a user made ([`Cue`]), as their values, by track id (one scan:
/// Mixxx's schema has no index on `cues.track_id`; each value is written straight from the
/// row, [`Grouped`]); and the digest of the scan.
fn cue_values(conn: &Connection) -> rusqlite::Result<(CuesByTrack, Digests)> {
    let mut digests = Digests::default();
    let mut cues = Grouped::default();
    scan(conn, CUES_SQL, &mut digests, |row| {
        let Some(track) = integer(row[0]) else {
            return Ok(());
        };
        if let Some(cue) = CueRow::from_row([row[1], row[2], row[3], row[4], row[5], row[6]]) {
            cues.push(track, |text| {
                let _ = write!(text, "{cue}");
            });
        }
        Ok(())
    })?;
    Ok((cues.sets(), digests))
}

/// Calls `f` with (row id, track id, cue) for every row of `cues` git-mixxx syncs (one scan:
/// Mixxx's schema has no index on `cues.track_id`).
pub(crate) fn for_each_cue(
    conn: &rusqlite::Connection,
    mut f: impl FnMut(i64, i64, Cue),
) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT id, track_id, type, position, length, hotcue, label, color FROM cues \
         WHERE type IN ({})",
        cue::SYNCED_TYPES
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (id, track): (i64, Option<i64>) = (row.get(0)?, row.get(1)?);
        let [a, b, c, d, e, g] = [2, 3, 4, 5, 6, 7].map(|i| row.get_ref(i));
        if let (Some(track), Some(cue)) = (track, Cue::from_row([a?, b?, c?, d?, e?, g?])) {
            f(id, track, cue);
        }
    }
    Ok(())
}

/// Every user playlist with its entries in order (by position, then row id, as Mixxx shows
/// them). Two playlists of one name read as one, the older first.
pub(crate) fn read_playlists(
    conn: &Connection,
    digests: &mut Digests,
) -> rusqlite::Result<Vec<Playlist>> {
    let sql = "SELECT p.name, pt.track_id FROM Playlists p \
               LEFT JOIN PlaylistTracks pt ON pt.playlist_id = p.id \
               WHERE p.hidden = 0 ORDER BY p.id, pt.position, pt.id";
    let mut out: Vec<Playlist> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    scan(conn, sql, digests, |row| {
        let Some(name) = text(row[0]) else {
            return Ok(());
        };
        let track = integer(row[1]);
        let i = *index.entry(name.clone()).or_insert_with(|| {
            out.push(Playlist {
                name,
                tracks: Vec::new(),
            });
            out.len() - 1
        });
        out[i].tracks.extend(track);
        Ok(())
    })?;
    Ok(out)
}

/// Whether the database file says it is in WAL mode (its header's read and write versions
/// are 2).
fn wal_mode(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2)
}

/// Whether SQLite refused a read-only read because a hot journal needs rolling back.
fn hot_journal(e: &rusqlite::Error) -> bool {
    e.sqlite_error()
        .is_some_and(|e| e.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK)
}

/// Lets SQLite roll back a hot journal by reading through a read-write connection, unless
/// Mixxx has the database open (then it is Mixxx's to roll back).
fn roll_back_hot_journal(path: &Path) -> Result<()> {
    if let Some(holder) = running::holder(path) {
        return Err(Error::HotJournal {
            path: path.to_owned(),
            holder,
        });
    }
    let sqlite = |source| sqlite_error(path, source);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(sqlite)?;
    Ok(())
}

/// In WAL mode, the last connection to close copies the WAL into the database and removes it:
/// git-mixxx's connections leave that to Mixxx, so that the files stay as git-mixxx's own
/// last commit left them ([`disk`]).
pub(crate) fn no_checkpoint_on_close(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::config::DbConfig;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map(drop)
}

/// Mixxx's declared foreign keys reference a table that no longer exists (`library_old`), so
/// enforcing them breaks every write; rusqlite's bundled SQLite enables them by default.
pub(crate) fn no_foreign_keys(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", false)
}

/// The tables git-mixxx reads, which every Mixxx library database has.
const REQUIRED_TABLES: [&str; 6] = [
    "library",
    "track_locations",
    "crates",
    "crate_tracks",
    "Playlists",
    "PlaylistTracks",
];

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Reads `mixxx.schema.version` from `settings`.
fn schema_revision(conn: &Connection) -> Result<i64> {
    let not_mixxx = |reason: &str| Error::NotMixxx {
        path: PathBuf::new(),
        reason: reason.to_owned(),
    };
    let has_settings: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'settings'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|source| Error::Sqlite {
            path: PathBuf::new(),
            source,
        })?;
    if !has_settings {
        return Err(not_mixxx("it has no `settings` table"));
    }
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE name = 'mixxx.schema.version'",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|source| Error::Sqlite {
            path: PathBuf::new(),
            source,
        })?;
    version
        .as_deref()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| not_mixxx("it records no schema revision"))
}

/// Any SQLite value as text (SQLite does not enforce column types); empty text is none.
fn text(v: ValueRef<'_>) -> Option<String> {
    Codec::Text.from_mixxx(v, None).map(Cow::into_owned)
}

/// An integer column's value (none for any other type: a row ids no track).
fn integer(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_grouped_by_track_however_the_rows_come() {
        let mut grouped = Grouped::default();
        for (track, value) in [(2, "b"), (2, "a"), (1, "x"), (2, "c"), (2, "a"), (3, "")] {
            grouped.push(track, |text| text.push_str(value));
        }
        let sets = grouped.sets();
        let got: Vec<(i64, Vec<&str>)> = (sets.iter())
            .map(|(track, set)| (*track, set.iter().collect()))
            .collect();
        let want = [(1, vec!["x"]), (2, vec!["a", "b", "c"]), (3, vec![""])];
        assert_eq!(got, want);
        assert!(Grouped::default().sets().is_empty());
    }

    #[test]
    fn the_cue_query_selects_the_synced_types() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE cues (track_id, type, position, length, hotcue, label, color);
             WITH RECURSIVE t(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM t WHERE n < 9)
             INSERT INTO cues SELECT 1, n, 0, 0, -1, '', 0 FROM t;",
        )
        .unwrap();
        let mut stmt = conn
            .prepare(&CUES_SQL.replacen("track_id", "type", 1))
            .unwrap();
        let types: Vec<String> = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|t| t.unwrap().to_string())
            .collect();
        assert_eq!(types.join(", "), cue::SYNCED_TYPES);
    }
}

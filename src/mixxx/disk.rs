//! What a database's files on disk say about its content, read without SQLite: the
//! [`Version`] (SQLite's file change counter in the database header, which every write
//! transaction in rollback mode changes, and the WAL's size and header, which every commit in
//! WAL mode changes while another connection holds the database open), and the [`State`]: that
//! version with each file's stat. The no-change shortcut compares states; a write of
//! git-mixxx's own records the state it left ([`State::after_own_write`]), so that its own
//! recent write is told from another program's (git-mixxx's connections never copy the WAL
//! into the database on closing, so the WAL its write left is there until another program
//! commits). A [`Watch`] tells whether git-mixxx's write is made on exactly what it read.

use rusqlite::{Connection, OpenFlags};
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The files of a database besides the main one, by suffix.
const SIDE_FILES: [&str; 2] = ["-wal", "-journal"];

/// The database's content version: the main file's inode, size and change counter (header
/// bytes 24 to 27), and the WAL's size and 32-byte header. Two reads that give the same
/// version saw the same committed content: a commit in rollback mode increments the counter;
/// one in WAL mode appends frames (the WAL grows) or restarts the WAL (a new salt in its
/// header).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version(String);

impl Version {
    fn read(db: &Path) -> Version {
        let mut text = String::new();
        match std::fs::File::open(db) {
            Ok(mut file) => {
                let mut header = [0u8; 28];
                let counter = match file.read_exact(&mut header) {
                    Ok(()) => u32::from_be_bytes([header[24], header[25], header[26], header[27]]),
                    Err(_) => 0,
                };
                let (ino, len) = file.metadata().map_or((0, 0), |m| (m.ino(), m.len()));
                text.push_str(&format!("db {ino} {len} {counter}"));
            }
            Err(_) => text.push_str("db absent"),
        }
        match std::fs::File::open(side(db, "-wal")) {
            Ok(mut file) => {
                let mut header = [0u8; 32];
                let len = file.metadata().map_or(0, |m| m.len());
                let read = file.read(&mut header).unwrap_or(0);
                let hex = faster_hex::hex_string(&header[..read]);
                text.push_str(&format!(" wal {len} {hex}"));
            }
            Err(_) => text.push_str(" wal absent"),
        }
        Version(text)
    }
}

/// A connection kept open from before git-mixxx reads the database until its own write to
/// it: SQLite's `data_version` on it moves with every commit of another connection, whatever
/// the journal mode (the [`Version`] misses a commit in WAL mode whose connection, the last to
/// close, copies the WAL into the database and removes it; this open connection also keeps
/// that from happening meanwhile).
pub struct Watch {
    conn: Connection,
    data_version: i64,
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}

impl Watch {
    /// Starts watching the database at `db`; `None` when it cannot be opened (then no write
    /// counts as made on what was read).
    pub fn open(db: &Path) -> Option<Watch> {
        let flags = match super::wal_mode(db) {
            // WAL mode needs the shared-memory file, which a read-only connection cannot create.
            true => OpenFlags::SQLITE_OPEN_READ_WRITE,
            false => OpenFlags::SQLITE_OPEN_READ_ONLY,
        };
        let conn = Connection::open_with_flags(db, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).ok()?;
        conn.pragma_update(None, "query_only", true).ok()?;
        super::no_checkpoint_on_close(&conn).ok()?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
        let data_version = data_version(&conn).ok()?;
        Some(Watch { conn, data_version })
    }

    /// Whether no other connection has committed since the watch started.
    pub fn unchanged(&self) -> bool {
        data_version(&self.conn).is_ok_and(|v| v == self.data_version)
    }
}

/// A database's [`Version`] with the stat of its files (size, inode, modification and change
/// times: a copy put in place with the old modification time has another inode or change
/// time), and when the newest of them was last modified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    text: String,
    /// The latest modification time of the files; `None` when one is unknown. (A later write
    /// sets it anew, so a file whose time was set back is not racy.)
    changed: Option<SystemTime>,
}

fn side(db: &Path, suffix: &str) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn nanos(secs: i64, nsec: i64) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nsec)
}

impl State {
    pub fn read(db: &Path) -> State {
        let mut text = String::new();
        let mut changed = Some(UNIX_EPOCH);
        for suffix in std::iter::once("").chain(SIDE_FILES) {
            let path = side(db, suffix);
            let Ok(meta) = std::fs::metadata(&path) else {
                text.push_str("absent\n");
                continue;
            };
            text.push_str(&format!(
                "{} {} {} {}\n",
                meta.len(),
                meta.ino(),
                nanos(meta.mtime(), meta.mtime_nsec()),
                nanos(meta.ctime(), meta.ctime_nsec()),
            ));
            changed = changed.zip(meta.modified().ok()).map(|(a, b)| a.max(b));
        }
        text.push_str(&Version::read(db).0);
        State { text, changed }
    }

    /// The state as text, for the fingerprint.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a file changed within `window` of `now` (or at an unknown time): a later change
    /// in the same timestamp tick would not show in its stat.
    pub fn changed_within(&self, window: Duration, now: SystemTime) -> bool {
        self.changed
            .is_none_or(|t| now.duration_since(t).map_or(true, |age| age <= window))
    }

    /// Where the state git-mixxx's own last write left is kept, in git-mixxx's local folder
    /// `dir`, for the clone `uuid`.
    fn own_path(dir: &Path, uuid: &str) -> PathBuf {
        dir.join(format!("{uuid}.wrote"))
    }

    /// Records this state as the one git-mixxx's own write left (errors only cost speed: the
    /// next run then reads everything).
    pub fn after_own_write(&self, dir: &Path, uuid: &str) {
        use std::io::Write as _;
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?;
            tmp.write_all(self.text.as_bytes())?;
            tmp.persist(Self::own_path(dir, uuid))
                .map_err(|e| e.error)?;
            Ok(())
        };
        let _ = write();
    }

    /// Forgets the state git-mixxx's own write left: a write it could not verify.
    pub fn forget_own_write(dir: &Path, uuid: &str) {
        let _ = std::fs::remove_file(Self::own_path(dir, uuid));
    }

    /// Whether this is the state git-mixxx's own last write left.
    pub fn is_own_write(&self, dir: &Path, uuid: &str) -> bool {
        std::fs::read(Self::own_path(dir, uuid)).is_ok_and(|own| own == self.text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn every_commit_changes_the_version_in_both_journal_modes() {
        for wal in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("mixxxdb.sqlite");
            let conn = Connection::open(&db).unwrap();
            if wal {
                conn.pragma_update(None, "journal_mode", "wal").unwrap();
            }
            conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
                .unwrap();
            let before = Version::read(&db);
            assert_eq!(before, Version::read(&db), "reading changes nothing");
            let other = Connection::open(&db).unwrap();
            let _: i64 = other
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(before, Version::read(&db), "a reader changes nothing");
            // The same size, the same page: only the change counter (or the WAL) tells.
            other.execute("UPDATE t SET x = 2", []).unwrap();
            let after = Version::read(&db);
            assert_ne!(before, after, "wal: {wal}");
            let state = State::read(&db);
            other.execute("UPDATE t SET x = 3", []).unwrap();
            assert_ne!(state, State::read(&db), "wal: {wal}");
        }
    }

    #[test]
    fn a_copy_with_the_same_times_is_another_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mixxxdb.sqlite");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(conn);
        let state = State::read(&db);
        let copy = dir.path().join("copy.sqlite");
        std::fs::copy(&db, &copy).unwrap();
        let mtime = std::fs::metadata(&db).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::rename(&copy, &db).unwrap();
        assert_ne!(state, State::read(&db));
        assert!(State::read(&db).changed_within(Duration::from_secs(2), SystemTime::now()));
        assert!(!state.changed_within(
            Duration::from_secs(2),
            SystemTime::now() + Duration::from_secs(5)
        ));
    }

    /// A Mixxx database at `db` (rollback or WAL mode) with one track.
    fn mixxx_db(db: &Path, wal: bool) {
        let conn = crate::mixxx::schema::create(db, 39).unwrap();
        if wal {
            conn.pragma_update(None, "journal_mode", "wal").unwrap();
        }
        conn.execute_batch(
            "INSERT INTO track_locations (id, location, directory, filename)
               VALUES (1, '/m/a.flac', '/m', 'a.flac');
             INSERT INTO library (id, location, rating) VALUES (1, 1, 3);",
        )
        .unwrap();
    }

    /// Another program's write: it opens the database, commits and closes (in WAL mode, the
    /// last connection to close copies the WAL into the database and removes it).
    fn mixxx_writes(db: &Path, rating: i64) {
        let conn = Connection::open(db).unwrap();
        conn.execute("UPDATE library SET rating = ?1", [rating])
            .unwrap();
    }

    // git-mixxx's commit is made on what the run read only when no other commit came after the
    // watch started; and known as its own only when no other commit came right after it.
    #[test]
    fn another_commit_before_or_right_after_git_mixxx_s_own_is_told() {
        use crate::mixxx::Database;
        use crate::mixxx::marker::Marker;
        for wal in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("mixxxdb.sqlite");
            mixxx_db(&db, wal);
            let marker = Marker::next(None, "a", &[]);
            let watch = Watch::open(&db).unwrap();
            let mut own = Database::open_for_writing(&db).unwrap();
            let committed = own.write_marker(&marker, Some(&watch)).unwrap();
            assert!(committed.on_read, "wal: {wal}");
            let left = own.after_commit(&committed);
            assert_eq!(left, Some(State::read(&db)), "wal: {wal}");
            // Mixxx writes between the read (the watch) and git-mixxx's write.
            let watch = Watch::open(&db).unwrap();
            drop(own);
            mixxx_writes(&db, 4);
            let mut own = Database::open_for_writing(&db).unwrap();
            let committed = own.write_marker(&marker, Some(&watch)).unwrap();
            assert!(!committed.on_read, "wal: {wal}");
            assert!(!own.write_marker(&marker, None).unwrap().on_read);
            // Mixxx writes right after git-mixxx's write.
            let committed = own.write_marker(&marker, None).unwrap();
            mixxx_writes(&db, 5);
            assert_eq!(own.after_commit(&committed), None, "wal: {wal}");
        }
    }

    #[test]
    fn the_own_write_is_known_until_the_database_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mixxxdb.sqlite");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let local = dir.path().join("mixxx");
        let state = State::read(&db);
        assert!(!state.is_own_write(&local, "u"));
        state.after_own_write(&local, "u");
        assert!(State::read(&db).is_own_write(&local, "u"));
        assert!(!State::read(&db).is_own_write(&local, "other clone"));
        conn.execute("UPDATE t SET x = 2", []).unwrap();
        assert!(!State::read(&db).is_own_write(&local, "u"));
        State::forget_own_write(&local, "u");
        assert!(!state.is_own_write(&local, "u"));
    }
}

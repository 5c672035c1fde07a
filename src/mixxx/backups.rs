//! The database backups git-mixxx takes before it writes Mixxx (in `git-mixxx-backups/`
//! beside the database, each named `<database name>-<UTC time>.sqlite`): taking one (a copy
//! SQLite's check passes), their names, the list of them, which to keep, and putting one back
//! over the database. They are kept by age, not by count ([`keep`]): every one of the last hour
//! (at most [`LAST_HOUR_KEPT`]), the newest of each hour for a day, the newest of each day for
//! a month, nothing older except the newest of all. So the folder holds at most 10 + 24 + 31 +
//! 1 copies of the database, however often it syncs.

use super::Error as DbError;
use crate::error::{PathError, at, kill_point};
use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Backups of the last hour kept at most (the newest ones).
pub const LAST_HOUR_KEPT: usize = 10;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// Backups older than this are not kept (except the newest of all).
const MONTH: i64 = 30 * DAY;

/// The time format in backup names, UTC to the microsecond (names sort by time).
const NAME_TIME: &str = "%Y%m%dT%H%M%S%.6fZ";

/// A backup file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// Its file name, which `git mixxx restore` accepts.
    pub name: String,
    pub path: PathBuf,
    /// When it was taken.
    pub time: DateTime<Utc>,
    pub bytes: u64,
}

/// The backup folder for a database: `git-mixxx-backups/` beside it.
pub fn dir(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("git-mixxx-backups")
}

/// The path of a backup of `db_path` taken at `time`.
pub fn path_for(db_path: &Path, time: DateTime<Utc>) -> PathBuf {
    let stem = db_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("mixxxdb");
    dir(db_path).join(format!("{stem}-{}.sqlite", time.format(NAME_TIME)))
}

/// When the backup named `name` was taken, if it is a backup's name.
fn time_of(name: &str) -> Option<DateTime<Utc>> {
    let stem = name.strip_suffix(".sqlite")?;
    let (_, time) = stem.rsplit_once('-')?;
    let naive = NaiveDateTime::parse_from_str(time, NAME_TIME).ok()?;
    Some(naive.and_utc())
}

/// The backups in `dir`, newest first; none when the folder does not exist.
pub fn list(dir: &Path) -> std::io::Result<Vec<Backup>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(time) = time_of(&name) else {
            continue;
        };
        out.push(Backup {
            path: entry.path(),
            bytes: entry.metadata()?.len(),
            name,
            time,
        });
    }
    out.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
    Ok(out)
}

/// Which backups to keep, taken at `times` (any order), at `now`: the answer is in the same
/// order. Every one of the last hour (the newest [`LAST_HOUR_KEPT`]), the newest of each
/// clock hour for a day, the newest of each UTC day for 30 days, and the newest of all
/// whatever its age (a library not synced for months keeps its last backup).
pub fn keep(times: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<bool> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let mut kept = vec![false; times.len()];
    let mut last_hour = 0;
    let mut buckets = std::collections::HashSet::new();
    for (rank, i) in order.into_iter().enumerate() {
        let t = times[i].timestamp();
        let age = now.timestamp() - t;
        let by_age = if age < HOUR {
            last_hour += 1;
            last_hour <= LAST_HOUR_KEPT
        } else if age < DAY {
            buckets.insert(("hour", t.div_euclid(HOUR)))
        } else if age < MONTH {
            buckets.insert(("day", t.div_euclid(DAY)))
        } else {
            false
        };
        kept[i] = by_age || rank == 0;
    }
    kept
}

/// Deletes the backups in `dir` that [`keep`] does not keep at `now`, and copies a killed run
/// left unfinished (`.partial`).
pub fn prune(dir: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "partial") {
            std::fs::remove_file(&path)?;
        }
    }
    let backups = list(dir)?;
    let times: Vec<DateTime<Utc>> = backups.iter().map(|b| b.time).collect();
    for (backup, kept) in backups.iter().zip(keep(&times, now)) {
        if !kept {
            std::fs::remove_file(&backup.path)?;
        }
    }
    Ok(())
}

/// Backs up the database at `db` (in WAL mode when `wal`) into its backup folder, then
/// prunes the folder by age ([`keep`]); returns the backup's path. The caller makes sure
/// nobody writes the database meanwhile (holding its write lock, or Mixxx closed).
pub fn back_up(db: &Path, wal: bool) -> Result<PathBuf, DbError> {
    let backup = back_up_unpruned(db, wal)?;
    prune_beside(db)?;
    Ok(backup)
}

/// [`back_up`] without pruning (when the caller still needs an older backup).
pub fn back_up_unpruned(db: &Path, wal: bool) -> Result<PathBuf, DbError> {
    let backup = path_for(db, Utc::now());
    take(db, &backup, wal)?;
    Ok(backup)
}

/// Prunes the backups of the database at `db` by age ([`keep`]).
pub fn prune_beside(db: &Path) -> Result<(), DbError> {
    let dir = dir(db);
    prune(&dir, Utc::now()).map_err(|source| DbError::Backup { path: dir, source })
}

/// Copies the database at `db` to `backup` (through `backup.partial`, renamed once SQLite's
/// `quick_check` passes on the copy), so that only whole, sound copies count as backups; a
/// failed copy (a full disk) leaves nothing behind. Called while the write lock is held: in
/// WAL mode the copy is SQLite's backup from a second connection (the writing one cannot be a
/// backup's source), which sees the last commit, as no one else can write meanwhile.
fn take(db: &Path, backup: &Path, wal: bool) -> Result<(), DbError> {
    let partial = backup.with_extension("sqlite.partial");
    let dir = backup.parent().unwrap_or(Path::new("."));
    let copied = std::fs::create_dir_all(dir)
        .and_then(|()| copy_database(db, &partial, wal))
        .and_then(|()| check(&partial));
    let done = copied.and_then(|()| std::fs::rename(&partial, backup));
    done.map_err(|source| {
        let _ = std::fs::remove_file(&partial);
        DbError::Backup {
            path: backup.to_owned(),
            source,
        }
    })
}

fn copy_database(db: &Path, to: &Path, wal: bool) -> std::io::Result<()> {
    if !wal {
        return std::fs::copy(db, to).map(drop);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(db, flags)
        .and_then(|reader| {
            reader.backup(
                rusqlite::MAIN_DB,
                to,
                None::<fn(rusqlite::backup::Progress)>,
            )
        })
        .map_err(std::io::Error::other)
}

/// SQLite's `quick_check` on a database file: `Err` with what it found when it fails.
pub fn check(path: &Path) -> std::io::Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let check: String = Connection::open_with_flags(path, flags)
        .and_then(|c| c.query_row("PRAGMA quick_check", [], |r| r.get(0)))
        .map_err(std::io::Error::other)?;
    if check == "ok" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "the copy fails SQLite's check: {check}"
        )))
    }
}

/// Why a backup could not be put back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "putting {} back failed ({source}); the database is as it was (SQLite rolls an unfinished restore back), and it is also backed up in {}",
        backup.display(),
        saved.display()
    )]
    Copy {
        backup: PathBuf,
        saved: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Mixxx(#[from] DbError),
    #[error(transparent)]
    Io(#[from] PathError),
}

/// What became of the database a backup was put back over.
#[derive(Debug)]
pub struct Replaced {
    /// Its backup, or the file itself set aside when `damaged`; `None` when there was none.
    pub saved: Option<PathBuf>,
    /// Whether it failed SQLite's check (it cannot be backed up as a database).
    pub damaged: bool,
}

/// Puts the (checked) backup `backup` back as the database `db`, Mixxx closed: a missing
/// database is simply replaced; a damaged one is moved aside into the backup folder first; a
/// sound one is backed up first (not pruned: `backup` may be among the oldest), then
/// overwritten by SQLite's backup API in one transaction, so a killed restore leaves it as it
/// was.
pub fn put_back(db: &Path, backup: &Path) -> Result<Replaced, RestoreError> {
    if !db.exists() {
        replace_file(db, backup)?;
        return Ok(Replaced {
            saved: None,
            damaged: false,
        });
    }
    if check(db).is_err() {
        let aside = set_aside(db)?;
        replace_file(db, backup)?;
        return Ok(Replaced {
            saved: Some(aside),
            damaged: true,
        });
    }
    let sqlite = |source| super::sqlite_error(db, source);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(db, flags).map_err(sqlite)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(sqlite)?;
    let saved = back_up_unpruned(db, mode.eq_ignore_ascii_case("wal"))?;
    kill_point("restore-after-backup");
    conn.restore(
        rusqlite::MAIN_DB,
        backup,
        None::<fn(rusqlite::backup::Progress)>,
    )
    .map_err(|source| RestoreError::Copy {
        backup: backup.to_owned(),
        saved: saved.clone(),
        source,
    })?;
    Ok(Replaced {
        saved: Some(saved),
        damaged: false,
    })
}

/// `db` with `suffix` added to its file name (`mixxxdb.sqlite-wal`).
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Puts a copy of `backup` at `db` in one rename, removing the journal files of the database
/// that was there (they would be applied to the copy).
fn replace_file(db: &Path, backup: &Path) -> Result<(), PathError> {
    let partial = beside(db, ".restoring");
    std::fs::copy(backup, &partial).map_err(at("copying a backup to", &partial))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(at("writing", &partial))?;
    for stale in ["-wal", "-shm", "-journal"].map(|s| beside(db, s)) {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(at("removing", &stale)(e));
            }
            _ => {}
        }
    }
    std::fs::rename(&partial, db).map_err(at("replacing", db))
}

/// Moves a damaged database (with its journal files) into the backup folder, named
/// `<name>-damaged-<time>.sqlite.damaged`, where pruning leaves it alone.
fn set_aside(db: &Path) -> Result<PathBuf, PathError> {
    let dir = dir(db);
    std::fs::create_dir_all(&dir).map_err(at("creating", &dir))?;
    let stem = db.file_stem().and_then(|s| s.to_str()).unwrap_or("mixxxdb");
    let time = Utc::now().format(NAME_TIME);
    let aside = dir.join(format!("{stem}-damaged-{time}.sqlite.damaged"));
    std::fs::rename(db, &aside).map_err(at("moving aside", db))?;
    for suffix in ["-wal", "-journal"] {
        let file = beside(db, suffix);
        if file.exists() {
            let to = beside(&aside, suffix);
            std::fs::rename(&file, &to).map_err(at("moving aside", &file))?;
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn names_carry_the_time_and_sort_by_it() {
        let db = Path::new("/home/dj/.mixxx/mixxxdb.sqlite");
        let time = Utc.timestamp_opt(1_800_000_000, 123_456_000).unwrap();
        let path = path_for(db, time);
        assert_eq!(
            path,
            Path::new("/home/dj/.mixxx/git-mixxx-backups/mixxxdb-20270115T080000.123456Z.sqlite")
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(time_of(name), Some(time));
        assert_eq!(time_of("mixxxdb-x.sqlite"), None);
        assert_eq!(time_of("notes.txt"), None);
    }

    #[test]
    fn the_last_hour_is_kept_then_one_an_hour_then_one_a_day_then_nothing() {
        let now = at(100 * DAY);
        // Twelve in the last hour, every ten minutes for the day before, every six hours
        // for sixty days before that.
        let mut times: Vec<DateTime<Utc>> = (0..12).map(|i| at(100 * DAY - 60 - i * 240)).collect();
        times.extend((6..144).map(|i| at(100 * DAY - i * 600)));
        times.extend((4..240).map(|i| at(100 * DAY - i * 6 * HOUR)));
        let kept = keep(&times, now);
        let ages: Vec<i64> = times
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(t, _)| now.timestamp() - t.timestamp())
            .collect();
        assert_eq!(ages.iter().filter(|a| **a < HOUR).count(), LAST_HOUR_KEPT);
        let hours: std::collections::BTreeSet<i64> = times
            .iter()
            .zip(&kept)
            .filter(|(t, k)| **k && (HOUR..DAY).contains(&(now.timestamp() - t.timestamp())))
            .map(|(t, _)| t.timestamp().div_euclid(HOUR))
            .collect();
        let kept_in_day = ages.iter().filter(|a| (HOUR..DAY).contains(*a)).count();
        assert_eq!(kept_in_day, hours.len(), "one an hour");
        assert!((23..=24).contains(&kept_in_day), "{kept_in_day}");
        let kept_in_month = ages.iter().filter(|a| (DAY..MONTH).contains(*a)).count();
        assert!((29..=30).contains(&kept_in_month), "{kept_in_month}");
        assert!(
            ages.iter().all(|a| *a < MONTH),
            "nothing older than a month"
        );
        assert!(ages.len() <= LAST_HOUR_KEPT + 24 + 31 + 1);
        // The newest of each kept bucket is the one kept.
        assert!(kept[0], "the newest");
    }

    #[test]
    fn the_newest_backup_is_kept_however_old() {
        let now = at(400 * DAY);
        let times = [at(0), at(DAY)];
        assert_eq!(keep(&times, now), [false, true]);
        assert_eq!(keep(&[], now), Vec::<bool>::new());
    }

    #[test]
    fn pruning_removes_what_is_not_kept_and_leaves_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mixxxdb.sqlite");
        let now = Utc::now();
        let old = path_for(&db, now - chrono::Duration::days(40));
        let recent = path_for(&db, now - chrono::Duration::minutes(5));
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        for p in [&old, &recent] {
            std::fs::write(p, b"copy").unwrap();
        }
        let notes = dir.path().join("git-mixxx-backups/notes.txt");
        std::fs::write(&notes, b"mine").unwrap();
        let partial = recent.with_extension("sqlite.partial");
        std::fs::write(&partial, b"half").unwrap();
        prune(&dir.path().join("git-mixxx-backups"), now).unwrap();
        assert!(!old.exists() && !partial.exists());
        assert!(recent.exists() && notes.exists());
        let listed = list(&dir.path().join("git-mixxx-backups")).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].bytes, 4);
    }
}

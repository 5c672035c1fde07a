//! `git mixxx restore`: the backups of this Mixxx database, each with the run it preceded, and
//! putting one back ([`backups::put_back`]: the database as it is is backed up first, or set
//! aside when damaged; SQLite copies the backup in one transaction). Mixxx must be closed, and
//! the backup must pass SQLite's check. The restored database loses git-mixxx's marker, so the
//! next sync treats it as a database without a base: the branch's values win wherever it has
//! history (see [`crate::mixxx::marker`]), and nothing newer from another clone is lost.

use super::{Error, Result};
use crate::context::Context;
use crate::error::{at, kill_point};
use crate::mixxx::{backups, marker, running};
use crate::state::{self, RunRecord};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use std::path::PathBuf;

/// A run starts at most this long after the backup it takes (seconds).
const RUN_AFTER_BACKUP: i64 = 600;

/// A backup as `restore --list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct BackupInfo {
    /// Its file name: what `restore` takes.
    pub name: String,
    pub path: String,
    /// When it was taken (UTC, RFC 3339).
    pub time: String,
    pub bytes: u64,
    /// The run that took it, before writing this Mixxx (its short id), when one is recorded.
    pub run: Option<String>,
}

/// What `restore BACKUP` did.
#[derive(Debug, Serialize)]
pub struct Restored {
    pub restored: BackupInfo,
    /// The database as it was, backed up before (`None` when there was none).
    pub backup: Option<String>,
    /// Whether that database was damaged (failed SQLite's check): then `backup` is the file
    /// as it was, set aside, not a checked copy.
    pub damaged: bool,
    pub db: String,
}

/// The backups of this clone's Mixxx database, newest first.
pub fn list(ctx: &Context) -> Result<Vec<BackupInfo>> {
    let dir = backups::dir(&ctx.db);
    let found = backups::list(&dir).map_err(crate::error::at("listing", &dir))?;
    let runs = state::vouch::own_runs(&ctx.annex)?;
    let db = ctx.db.display().to_string();
    let runs: Vec<(chrono::DateTime<chrono::Utc>, &RunRecord)> = runs
        .iter()
        .map(|r| &r.record)
        .filter(|r| r.db == db)
        .filter_map(|r| {
            let time = chrono::DateTime::parse_from_rfc3339(&r.time).ok()?;
            Some((time.to_utc(), r))
        })
        .collect();
    Ok(found
        .into_iter()
        .map(|b| {
            let taken = b.time;
            let run = runs
                .iter()
                .filter(|(t, _)| *t >= taken && (*t - taken).num_seconds() <= RUN_AFTER_BACKUP)
                .min_by_key(|(t, _)| *t)
                .map(|(_, r)| r.run_id());
            BackupInfo {
                name: b.name,
                path: b.path.display().to_string(),
                time: b.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                bytes: b.bytes,
                run,
            }
        })
        .collect())
}

/// Puts the backup `name` (its file name, or the start of it when only one matches) back as
/// this clone's Mixxx database, after backing up the database as it is.
pub fn restore(ctx: &Context, name: &str) -> Result<Restored> {
    let all = list(ctx)?;
    let chosen = match all.iter().find(|b| b.name == name) {
        Some(exact) => exact.clone(),
        None => {
            let mut matching = all.iter().filter(|b| b.name.starts_with(name));
            match (matching.next(), matching.next()) {
                (Some(one), None) => one.clone(),
                (Some(_), Some(_)) => return Err(Error::AmbiguousBackup(name.to_owned())),
                (None, _) => {
                    return Err(Error::NoBackup {
                        name: name.to_owned(),
                        dir: backups::dir(&ctx.db),
                    });
                }
            }
        }
    };
    if let Some(holder) = running::holder(&ctx.db) {
        return Err(Error::MixxxRunning { holder });
    }
    let source = PathBuf::from(&chosen.path);
    backups::check(&source).map_err(|e| Error::BadBackup {
        path: source.clone(),
        reason: e.to_string(),
    })?;
    let db = &ctx.db;
    let replaced = backups::put_back(db, &source)?;
    kill_point("restore-after-copy");
    // A database without a base, whatever marker the backup held.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let sqlite = |source| crate::mixxx::Error::Sqlite {
        path: db.clone(),
        source,
    };
    let conn = Connection::open_with_flags(db, flags).map_err(sqlite)?;
    conn.execute("DELETE FROM settings WHERE name = ?1", [marker::SETTING])
        .map_err(sqlite)?;
    drop(conn);
    // Nor the base of a database at this path that held no marker.
    let local = state::local::Local::new(&ctx.annex.repo, &ctx.annex.uuid);
    let unmarked = state::local::tag(None, db);
    local
        .forget_base(&unmarked)
        .map_err(at("removing the base of", db))?;
    backups::prune_beside(db)?;
    Ok(Restored {
        restored: chosen,
        backup: replaced.saved.map(|p| p.display().to_string()),
        damaged: replaced.damaged,
        db: db.display().to_string(),
    })
}

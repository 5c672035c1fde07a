//! Every change explainable and reversible: [`log`] (which run of which clone changed which
//! value, from the branch's metadata logs and commits), [`undo`] (a run's changes reverted as
//! new log lines, then synced into this Mixxx; playlist orders by [`order`]) and [`restore`]
//! (the database backups, and putting one back).

pub mod log;
mod order;
pub mod restore;
mod revert;
pub mod undo;

use crate::mixxx::running;
use crate::{annex, mixxx, sync};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Annex(#[from] annex::Error),
    #[error(transparent)]
    Mixxx(#[from] mixxx::Error),
    #[error(transparent)]
    Sync(#[from] sync::Error),
    #[error(
        "the undo is on the git-annex branch, but syncing it into this Mixxx failed; `git mixxx sync` applies it"
    )]
    SyncAfterUndo(#[source] sync::Error),
    #[error(
        "no run {0:?} on the git-annex branch: `git mixxx log` and `git mixxx status` show runs' ids"
    )]
    NoRun(String),
    #[error("{0:?} names several runs ({1}): give more of the id")]
    AmbiguousRun(String, String),
    #[error(
        "this clone has no run that changed the git-annex branch: name the run to undo (`git mixxx log` shows runs' ids)"
    )]
    NothingToUndo,
    #[error(
        "the commit of run {0} is not on this git-annex branch (not merged yet, or forgotten): `git annex sync` and try again"
    )]
    RunCommitMissing(String),
    #[error("no backup named {name:?} in {}: `git mixxx restore --list` lists them", dir.display())]
    NoBackup { name: String, dir: PathBuf },
    #[error(
        "{0:?} names several backups: give the whole name (`git mixxx restore --list` lists them)"
    )]
    AmbiguousBackup(String),
    #[error(
        "Mixxx is running ({holder} {}): close Mixxx and restore again; nothing was changed",
        running::HOLDS
    )]
    MixxxRunning { holder: String },
    #[error(
        "the backup {} fails SQLite's check ({reason}): choose another (`git mixxx restore --list`); nothing was changed",
        path.display()
    )]
    BadBackup { path: PathBuf, reason: String },
    #[error(transparent)]
    PutBack(#[from] mixxx::backups::RestoreError),
    #[error(transparent)]
    Io(#[from] crate::error::PathError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One part of a field of one file: before the run, what the run left, and the branch now.
#[derive(Clone, Debug, Serialize)]
pub struct Revert {
    pub path: Option<String>,
    pub key: String,
    pub field: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub now: Vec<String>,
}

/// What undo does to one branch file the run changed.
#[derive(Debug, Default)]
pub struct FileRevert {
    /// The parts put back (with `force`, those changed since too).
    pub reverted: Vec<Revert>,
    /// The parts changed again since the run.
    pub changed_since: Vec<Revert>,
    /// The file's new content, and whether git-annex's journal holds the file, when it changes.
    pub write: Option<(String, bool)>,
}

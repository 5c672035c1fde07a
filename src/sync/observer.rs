//! What the engine tells whoever runs it, while it works: stages as they finish, progress of
//! long stages, the plan before anything is written, and warnings that do not stop a run. The
//! engine prints nothing; the binary renders these as a progress bar, trace lines or `-v`
//! output.

use std::time::Duration;

/// The stages of a run, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Checking the no-change shortcut.
    Fingerprint,
    /// Scanning the database's rows for the content the last no-change run read, when only
    /// its files changed.
    ComparingContent,
    ReadingMixxx,
    /// Waiting for the local cache, read on another thread.
    WaitingForCache,
    MappingTracks,
    LoadingBase,
    Planning,
    WritingMixxx,
    Committing,
    SavingCache,
    RecordingShortcut,
}

impl Stage {
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Fingerprint => "fingerprint",
            Stage::ComparingContent => "comparing Mixxx's content with the last no-change run",
            Stage::ReadingMixxx => "reading Mixxx",
            Stage::WaitingForCache => "waiting for the cache",
            Stage::MappingTracks => "mapping tracks to keys",
            Stage::LoadingBase => "loading the base",
            Stage::Planning => "planning",
            Stage::WritingMixxx => "writing Mixxx and preparing the commit",
            Stage::Committing => "committing",
            Stage::SavingCache => "saving this clone's state",
            Stage::RecordingShortcut => "recording the no-change shortcut",
        }
    }
}

/// Something that went wrong without stopping the run.
#[derive(Debug, thiserror::Error)]
pub enum Warning {
    #[error("could not save the local cache ({0}); the next run rebuilds it from the branch")]
    CacheNotSaved(std::io::Error),
    #[error(
        "could not save which history sessions were added to this Mixxx ({0}); the next run recognises them by their entries"
    )]
    LedgerNotSaved(std::io::Error),
    #[error(
        "could not save this clone's sync state in .git/mixxx ({0}); the next run syncs from the state before this run, which still holds: free space or make .git writable"
    )]
    StateNotSaved(std::io::Error),
    #[error("skipped on the git-annex branch: {0}")]
    Skipped(crate::bounds::Skipped),
}

/// Receives a run's events; every method does nothing unless overridden.
pub trait Observer {
    /// A stage finished; it took `took`.
    fn stage_done(&mut self, _stage: Stage, _took: Duration) {}
    /// `done` of `total` items of a long stage are through.
    fn progress(&mut self, _stage: Stage, _done: usize, _total: usize) {}
    fn warning(&mut self, _warning: Warning) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}

/// Measures stages and reports each to an observer as it finishes.
pub(crate) struct Clock<'o> {
    pub observer: &'o mut dyn Observer,
    last: std::time::Instant,
}

impl<'o> Clock<'o> {
    pub fn new(observer: &'o mut dyn Observer) -> Clock<'o> {
        Clock {
            observer,
            last: std::time::Instant::now(),
        }
    }

    /// `stage` ends now.
    pub fn done(&mut self, stage: Stage) {
        let now = std::time::Instant::now();
        self.observer.stage_done(stage, now - self.last);
        self.last = now;
    }
}

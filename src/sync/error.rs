//! What stops a run, and the test hook that stops one on purpose.

use crate::{annex, mixxx};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Annex(#[from] annex::Error),
    #[error(transparent)]
    Mixxx(#[from] mixxx::Error),
    #[error("writing the Mixxx database")]
    MixxxWrite(#[from] mixxx::write::Error),
    #[error("the git-annex branch kept moving while git-mixxx tried to commit; run the sync again")]
    Contended,
    #[error(
        "saving the play counts this sync writes to Mixxx in {path} failed, so nothing was written (make that folder writable, or free space, and sync again): {source}"
    )]
    Ledger {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A fault injected by the tests (`GIT_MIXXX_TEST_CRASH`): the run stops as if killed.
    #[error("simulated crash at {0}")]
    SimulatedCrash(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Test hook: stops the run at a named point, to prove interrupted runs converge: with
/// `GIT_MIXXX_TEST_CRASH` as an error, with `GIT_MIXXX_TEST_KILL` as a kill
/// ([`crate::error::kill_point`]).
pub(super) fn crash_point(name: &'static str) -> Result<()> {
    crate::error::kill_point(name);
    if std::env::var("GIT_MIXXX_TEST_CRASH").is_ok_and(|v| v == name) {
        return Err(Error::SimulatedCrash(name));
    }
    Ok(())
}

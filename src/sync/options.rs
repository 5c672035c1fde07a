//! What a run is asked to do: its options and the conflict policy.

pub use crate::merge::Prefer;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Restrict the sync to these repo-relative files or directories (empty: everything).
    pub paths: Vec<String>,
    pub dry_run: bool,
    /// Ignore change detection: write every Mixxx value that differs from the branch.
    pub all: bool,
    pub push_only: bool,
    pub pull_only: bool,
    pub prefer: Prefer,
    /// Let this run clear values beyond the clear guard's limits.
    pub allow_clears: bool,
    /// List every field that changes, track by track, in the report (`Report::changes`).
    pub details: bool,
    /// Add no files to Mixxx ([`super::import`]).
    pub no_import: bool,
}

impl Options {
    /// Whether the no-change shortcut may settle this run: only a whole-library run that
    /// would look at changes both ways.
    pub(crate) fn shortcut_allowed(&self) -> bool {
        !self.all && self.paths.is_empty() && !self.push_only && !self.pull_only
    }
}

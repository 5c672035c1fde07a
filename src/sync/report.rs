//! What a run did (or, with `--dry-run`, would do): counts, failures and conflicts, tallied
//! from the plan and the outcome of applying it.

use super::guard::Refusal;
use super::plan::Plan;
use super::relink::Relink;
use crate::state::Conflict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Counts per field as `name n, name n` (for the summary and the commit message).
pub fn field_counts(map: &BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value that could not be synced, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub path: String,
    pub field: String,
    pub reason: String,
}

/// What a run did (or, with `--dry-run`, would do).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub dry_run: bool,
    pub first_sync: bool,
    /// The database is not the one this clone synced last (new, restored or copied): its
    /// rows have no base, and the branch is the truth wherever it has history.
    pub database_replaced: bool,
    /// Tracks of this Mixxx that map to annexed files (within the PATH restriction).
    pub tracks: usize,
    /// Tracks whose values were (or would be) written to the branch.
    pub pushed: usize,
    /// Tracks whose values were (or would be) written to Mixxx.
    pub pulled: usize,
    /// Tracks whose changes from the branch wait (see `pull_pending`) instead of being pulled.
    pub held_back: usize,
    pub unchanged: usize,
    pub pushed_fields: BTreeMap<String, usize>,
    pub pulled_fields: BTreeMap<String, usize>,
    /// Skipped tracks by reason.
    pub skipped: BTreeMap<String, usize>,
    pub failed: Vec<Failure>,
    pub conflicts: Vec<Conflict>,
    /// Tracks changed on the branch since the base that this Mixxx does not have.
    pub unknown_tracks: usize,
    /// Why changes from the branch were not written to Mixxx, when they were not.
    pub pull_pending: Option<String>,
    /// Set when the clear guard refused the run: nothing was written.
    pub refused: Option<Refusal>,
    /// Rows moved to their file's new path ([`super::relink`]), or with `dry_run` that would be.
    pub relinked: Vec<Relink>,
    /// Rows that would move but wait, for the reason in `pull_pending`.
    pub relinks_waiting: Vec<Relink>,
    pub backup: Option<PathBuf>,
    pub commit: Option<String>,
    /// The work-tree paths of the library's tracks, hashed, for the no-change shortcut.
    #[serde(skip)]
    pub(crate) library_paths: Vec<u64>,
}

impl Report {
    /// Whether the run changed nothing and has nothing to say.
    pub fn is_quiet(&self) -> bool {
        self.commit.is_none()
            && self.backup.is_none()
            && self.pull_pending.is_none()
            && self.relinked.is_empty()
            && self.refused.is_none()
            && self.failed.is_empty()
            && self.conflicts.is_empty()
    }

    /// Whether the run counts as failed: values failed, or the guard refused it.
    pub fn failed_any(&self) -> bool {
        !self.failed.is_empty() || self.refused.is_some()
    }

    /// The plan's pulls wait, for `why`: they count as held back, not pulled.
    pub(crate) fn hold_back(&mut self, why: String) {
        self.pull_pending.get_or_insert(why);
        self.held_back = std::mem::take(&mut self.pulled);
        self.pulled_fields.clear();
    }

    /// Counts the plan's decisions.
    pub(crate) fn tally(&mut self, plan: &Plan<'_>) {
        self.unchanged += plan.unchanged;
        for track in &plan.tracks {
            let rows = track.item.track_ids.len();
            if let Some(push) = &track.push {
                self.pushed += rows;
                for f in push.fields.iter() {
                    *self.pushed_fields.entry(f.name().to_owned()).or_default() += 1;
                }
            }
            if !track.pull.is_empty() {
                self.pulled += rows;
                for (f, _) in &track.pull {
                    *self.pulled_fields.entry(f.name().to_owned()).or_default() += 1;
                }
            }
            self.conflicts
                .extend(track.conflicts.iter().map(|c| Conflict {
                    path: track.item.path.clone(),
                    key: track.key.clone(),
                    field: c.field.name().to_owned(),
                    mixxx: c.mixxx.iter().cloned().collect(),
                    branch: c.branch.iter().cloned().collect(),
                    winner: c.winner.name().to_owned(),
                }));
            self.failed.extend(track.held.iter().map(|h| Failure {
                path: track.item.path.clone(),
                field: h.field.name().to_owned(),
                reason: format!(
                    "the branch's value {}; Mixxx keeps its own (edit it in Mixxx, or sync with --prefer mixxx, to replace it)",
                    h.invalid
                ),
            }));
        }
    }
}

//! What a run did (or, with `--dry-run`, would do): counts, failures and conflicts, tallied
//! from the plan and the outcome of applying it.

use super::guard::Refusal;
use super::options::Prefer;
use super::plan::{Plan, TrackPlan};
use super::relink::Relink;
use crate::mixxx::disk::State;
use crate::state::Conflict;
use crate::worktree::Skip;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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

/// What happens to one field of one track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Mixxx's value goes to the branch.
    Pushed,
    /// The branch's value goes to Mixxx.
    Pulled,
    /// Both sides changed it differently since the last sync; `winner` says whose value stays.
    Conflict,
}

/// One field of one track, old → new, for `-v`, `--dry-run` and `--json -v`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackChange {
    pub path: String,
    pub field: String,
    /// The values before: the branch's for a push, Mixxx's for a pull, the losing side's
    /// for a conflict.
    pub old: Vec<String>,
    /// The values after, on both sides.
    pub new: Vec<String>,
    pub action: Action,
    /// For a conflict: the side whose value stays (`git` or `mixxx`).
    pub winner: Option<String>,
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
    /// The fields of those changes, counted as `pulled_fields` counts them.
    #[serde(default)]
    pub held_fields: BTreeMap<String, usize>,
    /// Plays made in this Mixxx that the run added to the branch (this clone's play counts).
    #[serde(default)]
    pub plays: u64,
    /// This clone's history sessions the run wrote to the branch, new or grown.
    #[serde(default)]
    pub sessions_pushed: usize,
    /// Other clones' history sessions added to this Mixxx as history playlists.
    #[serde(default)]
    pub sessions_added: usize,
    pub unchanged: usize,
    pub pushed_fields: BTreeMap<String, usize>,
    pub pulled_fields: BTreeMap<String, usize>,
    /// Skipped tracks by reason.
    pub skipped: BTreeMap<Skip, usize>,
    pub failed: Vec<Failure>,
    pub conflicts: Vec<Conflict>,
    /// Every field that changes, track by track (only when the options ask for details).
    pub changes: Vec<TrackChange>,
    /// Tracks changed on the branch since the base that this Mixxx does not have.
    pub unknown_tracks: usize,
    /// Playlist orders on the branch that no playlist of this Mixxx shows (none of their
    /// tracks is here, or the file is over the size limit).
    #[serde(default)]
    pub unmatched_orders: Vec<super::order::UnmatchedOrder>,
    /// Tracks whose newest metadata line is dated in the future (more than a day past this
    /// machine's clock): a value set without git-mixxx (`git annex metadata`) cannot win over
    /// it until then. Their paths.
    #[serde(default)]
    pub future_dated: Vec<String>,
    /// Why changes from the branch were not written to Mixxx, when they were not.
    pub pull_pending: Option<String>,
    /// Set when the clear guard refused the run: nothing was written.
    pub refused: Option<Refusal>,
    /// Rows moved to their file's new path ([`super::relink`]), or with `dry_run` that would be.
    pub relinked: Vec<Relink>,
    /// Rows that would move but wait, for the reason in `pull_pending`.
    pub relinks_waiting: Vec<Relink>,
    /// Files added to this Mixxx from the branch ([`super::import`]), or with `dry_run` that
    /// would be: their paths in the work tree.
    pub imported: Vec<String>,
    /// Files that would be added but wait, for the reason in `pull_pending`.
    pub imports_waiting: Vec<String>,
    pub backup: Option<PathBuf>,
    pub commit: Option<String>,
    /// The work-tree paths of the library's tracks, hashed, for the no-change shortcut.
    #[serde(skip)]
    pub(crate) library_paths: Vec<u64>,
    /// The state of the database's files that the run's outcome reflects (as read, or as the
    /// run's own write left it), for the no-change shortcut; `None` when another program
    /// wrote meanwhile.
    #[serde(skip)]
    pub(crate) disk: Option<State>,
    /// The digest of the database's content as the run read it, for the no-change shortcut.
    #[serde(skip)]
    pub(crate) content: Option<crate::mixxx::content::Content>,
}

impl Report {
    /// Whether the run changed nothing and has nothing to say.
    pub fn is_quiet(&self) -> bool {
        self.commit.is_none()
            && self.backup.is_none()
            && self.pull_pending.is_none()
            && self.relinked.is_empty()
            && self.imported.is_empty()
            && self.refused.is_none()
            && self.failed.is_empty()
            && self.conflicts.is_empty()
    }

    /// The report of a run that finds nothing to do right after this one, when this run
    /// committed and left Mixxx and the branch settled: it finished, nothing failed, waits or
    /// conflicted, no row was relinked or added and no track is dated in the future.
    pub(crate) fn settled(&self) -> Option<Report> {
        let settled = self.commit.is_some()
            && !self.dry_run
            && self.pull_pending.is_none()
            && self.refused.is_none()
            && self.failed.is_empty()
            && self.conflicts.is_empty()
            && self.relinked.is_empty()
            && self.relinks_waiting.is_empty()
            && self.imported.is_empty()
            && self.imports_waiting.is_empty()
            && self.future_dated.is_empty();
        settled.then(|| Report {
            tracks: self.tracks,
            unchanged: self.tracks,
            skipped: self.skipped.clone(),
            library_paths: self.library_paths.clone(),
            disk: self.disk.clone(),
            ..Report::default()
        })
    }

    /// Whether the run counts as failed: values failed, or the guard refused it.
    pub fn failed_any(&self) -> bool {
        !self.failed.is_empty() || self.refused.is_some()
    }

    /// The plan's pulls wait, for `why`: they count as held back, not pulled.
    pub(crate) fn hold_back(&mut self, why: String) {
        self.pull_pending.get_or_insert(why);
        self.held_back = std::mem::take(&mut self.pulled);
        self.held_fields = std::mem::take(&mut self.pulled_fields);
        self.sessions_added = 0;
    }

    /// Counts the plan's decisions; with `details`, lists each field that changes.
    pub(crate) fn tally(&mut self, plan: &Plan<'_>, details: bool) {
        if details {
            self.changes = plan.tracks.iter().flat_map(track_changes).collect();
        }
        self.unchanged += plan.unchanged;
        self.plays = plan.tracks.iter().map(|t| t.plays).sum();
        self.sessions_pushed = plan.sessions.pushed;
        self.sessions_added = plan.sessions.add.len();
        for order in &plan.orders.playlists {
            let name = super::order::FIELD.to_owned();
            if order.push.is_some() {
                *self.pushed_fields.entry(name.clone()).or_default() += 1;
            }
            if order.writes_mixxx() {
                *self.pulled_fields.entry(name).or_default() += 1;
            }
            self.conflicts.extend(order.conflicts.iter().cloned());
        }
        self.unmatched_orders.clone_from(&plan.orders.unmatched);
        for track in &plan.tracks {
            let rows = track.item.rows();
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
                    key: track.key.to_string(),
                    field: c.field.name().to_owned(),
                    mixxx: c.mixxx.iter().cloned().collect(),
                    branch: c.branch.iter().cloned().collect(),
                    winner: c.winner.name().to_owned(),
                    result: c.result.iter().cloned().collect(),
                }));
            self.failed.extend(track.held.iter().map(|h| Failure {
                path: track.item.path.clone(),
                field: h.field.name().to_owned(),
                reason: format!(
                    "the branch's value {}; Mixxx keeps its own (edit it in Mixxx, or sync with --prefer mixxx, to replace it)",
                    h.invalid
                ),
            }));
            self.failed.extend(track.rejected.iter().map(|(field, invalid)| Failure {
                path: track.item.path.clone(),
                field: field.name().to_owned(),
                reason: format!(
                    "the branch's value {invalid}; it is not written to Mixxx, and the track's other values sync"
                ),
            }));
        }
    }
}

/// The fields one track's plan changes, old → new; a conflict stands for its field's push or
/// pull.
fn track_changes(track: &TrackPlan<'_>) -> Vec<TrackChange> {
    let path = &track.item.path;
    let mixxx = track.item.m.to_values();
    let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>();
    let mut out: Vec<TrackChange> = track
        .conflicts
        .iter()
        .map(|c| {
            let old = match c.winner {
                Prefer::Git => &c.mixxx,
                Prefer::Mixxx => &c.branch,
            };
            TrackChange {
                path: path.clone(),
                field: c.field.name().to_owned(),
                old: list(old),
                new: list(&c.result),
                action: Action::Conflict,
                winner: Some(c.winner.name().to_owned()),
            }
        })
        .collect();
    let in_conflict = |field: &str| out.iter().any(|c| c.field == field);
    let mut more = Vec::new();
    if let Some(push) = &track.push {
        for field in push.fields.iter().filter(|f| !in_conflict(f.name())) {
            let new = mixxx.get(&field).cloned().unwrap_or_default();
            let mut old: BTreeSet<String> = new.clone();
            for c in push
                .changes()
                .into_iter()
                .filter(|c| c.field == field.name())
            {
                match c.set {
                    true => old.remove(&c.value),
                    false => old.insert(c.value),
                };
            }
            more.push(TrackChange {
                path: path.clone(),
                field: field.name().to_owned(),
                old: list(&old),
                new: list(&new),
                action: Action::Pushed,
                winner: None,
            });
        }
    }
    for (field, new) in track.pull.iter().filter(|(f, _)| !in_conflict(f.name())) {
        more.push(TrackChange {
            path: path.clone(),
            field: field.name().to_owned(),
            old: list(&mixxx.get(field).cloned().unwrap_or_default()),
            new: list(new),
            action: Action::Pulled,
            winner: None,
        });
    }
    out.extend(more);
    out
}

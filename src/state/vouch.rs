//! The one way from the branch back into this clone's own state ([`super::local`]): the runs
//! this clone's own history vouches for, for a clone whose local state is missing (re-made
//! with the same UUID, or last synced by a git-mixxx that kept its state on the branch) or
//! behind (killed between its commit and its local write).
//!
//! The reflog of `refs/heads/git-annex` is this repository's own: no other clone can write
//! it. git-mixxx's commits are its entries with [`REFLOG_MESSAGE`] (git-annex writes its
//! own), and such a commit's run record is the line it appended to this clone's `runs` file on
//! the branch: its last line there. Records anywhere else (another clone's, a line a forged
//! commit added under this clone's UUID) vouch for nothing.

use super::local::{Local, OwnRun, RUNS_KEPT};
use super::{RunRecord, TRAILER_CLONE, TRAILER_RUN, runs_path};
use crate::annex::{self, Annex, REFLOG_MESSAGE};
use crate::bounds;
use crate::mixxx::marker::Marker;
use gix::ObjectId;
use std::collections::HashSet;

/// This clone's runs, oldest first: those kept locally, then those of its own commits that the
/// local state lacks.
pub fn own_runs(annex: &Annex) -> annex::Result<Vec<OwnRun>> {
    let mut runs = Local::new(&annex.repo, &annex.uuid).runs();
    let missing = unrecorded(annex, &runs)?;
    runs.extend(missing);
    let from = runs.len().saturating_sub(RUNS_KEPT);
    Ok(runs.split_off(from))
}

/// The runs of this clone's own commits newer than every run in `known`, oldest first: the
/// git-mixxx entries of the reflog after the newest known commit.
pub fn unrecorded(annex: &Annex, known: &[OwnRun]) -> annex::Result<Vec<OwnRun>> {
    let known: HashSet<&str> = known.iter().map(|r| r.commit.as_str()).collect();
    let Some(reference) = annex.repo.try_find_reference(annex::BRANCH)? else {
        return Ok(Vec::new());
    };
    let mut platform = reference.log_iter();
    let reflog = |e: std::io::Error| annex::Error::Git(gix::Error::from_error(e));
    let Some(entries) = platform.rev().map_err(reflog)? else {
        return Ok(Vec::new());
    };
    let mut commits = Vec::new();
    // A damaged entry vouches for nothing.
    for entry in entries.flatten() {
        if entry.message != REFLOG_MESSAGE {
            continue;
        }
        if known.contains(entry.new_oid.to_string().as_str()) || commits.len() >= RUNS_KEPT {
            break;
        }
        commits.push(entry.new_oid);
    }
    let mut runs = Vec::new();
    for commit in commits.into_iter().rev() {
        runs.extend(run_of(annex, commit)?);
    }
    Ok(runs)
}

/// The run of one of this clone's own commits: the last line of its `runs` file there, when
/// it is this clone's and the run the commit's trailer names.
fn run_of(annex: &Annex, commit: ObjectId) -> annex::Result<Option<OwnRun>> {
    if annex.repo.try_find_header(commit)?.is_none() {
        // Pruned since (the branch was rewritten, by `git annex forget` say).
        return Ok(None);
    }
    let message = annex::commit_message(&annex.repo, commit)?;
    let trailer = |name: &str| message.lines().find_map(|l| l.strip_prefix(name));
    if trailer(TRAILER_CLONE).map(str::trim) != Some(annex.uuid.as_str()) {
        return Ok(None);
    }
    let Some(text) = annex.tree_reader(commit)?.read(&runs_path(&annex.uuid))? else {
        return Ok(None);
    };
    let Some(line) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    let record = (line.len() <= bounds::RECORD_BYTES)
        .then(|| RunRecord::parse_line(line))
        .flatten()
        .filter(|r| r.uuid == annex.uuid)
        .filter(|r| trailer(TRAILER_RUN).is_none_or(|id| r.run_id() == id.trim()));
    Ok(record.map(|record| OwnRun {
        commit: commit.to_string(),
        record,
    }))
}

/// The run whose base a database gets back from the branch: this clone's newest finished run
/// with a marker the database holds (for a database without a marker, its newest finished run
/// at the database's path that recorded none), unless a later run moved that database on to a
/// marker it does not hold (its previous marker was the run's, or is not recorded, by an older
/// git-mixxx): then the database is an older copy, and has no base.
pub fn base_run<'r>(runs: &'r [OwnRun], marker: Option<&Marker>, db: &str) -> Option<&'r OwnRun> {
    let holds = |m: Option<&str>| match (marker, m) {
        (Some(held), Some(m)) => held.accepts(m),
        (None, None) => true,
        _ => false,
    };
    let (i, run) = runs.iter().enumerate().rev().find(|(_, r)| {
        r.record.finished
            && holds(r.record.marker.as_deref())
            && (marker.is_some() || r.record.db == db)
    })?;
    let moved_on = runs[i + 1..].iter().any(|later| {
        !holds(later.record.marker.as_deref())
            && later
                .record
                .previous
                .as_deref()
                .is_none_or(|p| Some(p) == run.record.marker.as_deref())
    });
    (!moved_on).then_some(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(marker: Option<&str>, previous: Option<&str>, finished: bool) -> OwnRun {
        let line = r#"2026-01-01T10:00:00Z {"time":"2026-01-01T10:00:00Z","uuid":"u","host":"h","db":"/d","version":"0.1.0","tracks":1,"pushed":1,"pulled":0,"reconciled":"c","finished":true,"conflict_count":0,"conflicts":[]}"#;
        let mut record = RunRecord::parse_line(line).unwrap();
        record.marker = marker.map(str::to_owned);
        record.previous = previous.map(str::to_owned);
        record.finished = finished;
        OwnRun {
            commit: format!("{:?}{:?}", marker, previous),
            record,
        }
    }

    fn held(current: &str, previous: Option<&str>) -> Marker {
        Marker {
            current: current.to_owned(),
            previous: previous.map(str::to_owned),
        }
    }

    #[test]
    fn a_database_gets_back_the_base_of_its_own_newest_run_only() {
        // Database one: m1, then m2; database two: n1 in between.
        let runs = [
            run(Some("m1"), Some(""), true),
            run(Some("n1"), Some(""), true),
            run(Some("m2"), Some("m1"), true),
        ];
        let base = |m: &Marker| base_run(&runs, Some(m), "/d").map(|r| r.commit.clone());
        assert_eq!(base(&held("m2", Some("m1"))), Some(runs[2].commit.clone()));
        assert_eq!(base(&held("n1", None)), Some(runs[1].commit.clone()));
        // A copy of database one from before its last run is no longer it.
        assert_eq!(base(&held("m1", None)), None);
        assert_eq!(base(&held("zz", None)), None);
        // A run that marked the database but did not finish leaves it the base before.
        let unfinished = [runs[0].clone(), run(Some("m2"), Some("m1"), false)];
        let held_now = held("m2", Some("m1"));
        assert_eq!(
            base_run(&unfinished, Some(&held_now), "/d").map(|r| &r.commit),
            Some(&runs[0].commit)
        );
        // Runs of an older git-mixxx did not record the marker before: one of another
        // database after the run may have moved this one on.
        let old = [runs[0].clone(), run(Some("n1"), None, true)];
        assert_eq!(base_run(&old, Some(&held("m1", None)), "/d"), None);
        // A database without a marker: the newest finished run at its path without one.
        let unmarked = [run(None, None, true)];
        assert!(base_run(&unmarked, None, "/d").is_some());
        assert!(base_run(&unmarked, None, "/elsewhere").is_none());
    }
}

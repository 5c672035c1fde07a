//! `git mixxx undo`: reverts what one run wrote on the branch. The run's commit says which
//! branch files it changed and which changes it wrote (as `log` finds them); for every part of
//! a value those changes touched (a field's single value, one crate or playlist membership, one
//! cue), the value before the run is written back as a new log line (so the revert travels
//! with `git annex sync` and shows in `log`); a playlist's order the run wrote is merged
//! back (the order before the run against the branch's now, [`super::order`]); then the
//! normal sync brings it into this Mixxx (only while Mixxx is closed, as any sync).
//! `revert.rs` says what is put back, per kind of change; the branch now is read as a sync
//! reads it ([`crate::sync::branch`]). A part
//! changed again since the run is listed and left alone, unless forced; other clones' parts are
//! never touched. The undo is a run of its own: recorded, with an id, and undoable in turn. Its
//! commit is not a finished sync, so this clone's base stays where it was and the sync that
//! follows pulls the reverted values.

use super::log::{self, Commit};
use super::revert::{Kind, Sources};
use super::{Error, Result};
use crate::annex::Annex;
use crate::context::Context;
use crate::error::kill_point;
use crate::state::local::OwnRun;
use crate::state::{self, RunRecord, vouch};
use crate::sync::commit::{self, Files};
use crate::sync::observer::Observer;
use crate::sync::{self, Report};
use gix::ObjectId;
use serde::Serialize;

pub use super::Revert;

/// What to undo, and how.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The run's id, or the start of it (default: this clone's last run that changed the
    /// branch).
    pub run: Option<String>,
    pub dry_run: bool,
    /// Revert values changed again since the run too.
    pub force: bool,
}

/// The run undone.
#[derive(Debug, Serialize)]
pub struct RunInfo {
    pub id: String,
    pub clone: String,
    pub description: String,
    pub host: String,
    pub time: String,
    pub commit: String,
}

/// What an undo did (or, in a dry run, would do).
#[derive(Debug, Serialize)]
pub struct Undo {
    pub dry_run: bool,
    pub force: bool,
    pub run: RunInfo,
    /// The parts of values put back as they were before the run.
    pub reverted: Vec<Revert>,
    /// The parts changed again since the run: left alone, unless `force` (then also in
    /// `reverted`).
    pub changed_since: Vec<Revert>,
    /// The undo's own run id and its commit on the branch, when it wrote one.
    pub undo_run: Option<String>,
    pub commit: Option<String>,
    /// The sync that then applied it to this Mixxx.
    pub sync: Option<Report>,
}

/// The run to undo, and its commit when it is one of this clone's own (which this clone knows
/// itself, whatever trailers other commits carry).
struct Target {
    record: RunRecord,
    commit: Option<gix::ObjectId>,
}

impl Target {
    fn own(run: &OwnRun) -> Target {
        Target {
            record: run.record.clone(),
            commit: gix::ObjectId::from_hex(run.commit.as_bytes()).ok(),
        }
    }
}

/// The run `wanted` names (an id or the start of one, at least 4 digits; this clone's own
/// runs, `own`, or another clone's `records`), else this clone's last run that wrote values on
/// the branch, as this clone kept it: no record on the branch can stand in for it.
fn choose(own: &[OwnRun], records: &[RunRecord], wanted: Option<&str>) -> Result<Target> {
    let Some(wanted) = wanted else {
        return own
            .iter()
            .rev()
            .find(|r| r.record.pushed > 0)
            .map(Target::own)
            .ok_or(Error::NothingToUndo);
    };
    let wanted = wanted.to_ascii_lowercase();
    let named = |r: &RunRecord| wanted.len() >= 4 && r.run_id().starts_with(&wanted);
    let mut matching: Vec<Target> = own
        .iter()
        .filter(|r| named(&r.record))
        .map(Target::own)
        .collect();
    for record in records.iter().filter(|r| named(r)) {
        if matching
            .iter()
            .all(|t| t.record.run_id() != record.run_id())
        {
            matching.push(Target {
                record: record.clone(),
                commit: None,
            });
        }
    }
    matching.sort_by_key(|t| t.record.run_id());
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(Error::NoRun(wanted)),
        _ => Err(Error::AmbiguousRun(
            wanted,
            matching
                .iter()
                .map(|t| t.record.run_id())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// The commit of `record` among `commits`: the one its trailer names, or (records older than
/// run ids) its clone's commit on the branch commit it reconciled with.
fn commit_of<'c>(commits: &'c [Commit], record: &RunRecord) -> Option<&'c Commit> {
    let id = record.run_id();
    commits
        .iter()
        .find(|c| match c.trailer(state::TRAILER_RUN) {
            Some(run) => run == id,
            None => {
                c.trailer(state::TRAILER_CLONE) == Some(record.uuid.as_str())
                    && c.parents.first().map(|p| p.to_string()).as_ref() == Some(&record.reconciled)
            }
        })
}

/// The run to undo on the branch as git-annex will merge it (its tip and the remote-tracking
/// git-annex branches not merged yet): its record and commit, among the commits since a day
/// before it (clocks may be a little off).
struct Found {
    record: RunRecord,
    records: Vec<RunRecord>,
    tips: Vec<ObjectId>,
    commits: Vec<Commit>,
    /// The run's commit, in `commits`.
    index: usize,
}

fn find(annex: &Annex, wanted: Option<&str>) -> Result<Found> {
    let (tips, records) = log::tips_and_records(annex)?;
    let own = vouch::own_runs(annex)?;
    let Target { record, commit } = choose(&own, &records, wanted)?;
    let id = record.run_id();
    let since = chrono::DateTime::parse_from_rfc3339(&record.time)
        .ok()
        .map(|t| t.timestamp() - 86_400);
    let commits = log::Branch::new(annex, tips[0])?.commits(&tips, since)?;
    // This clone's own run: the commit it made, whatever trailers other commits carry.
    let found = match commit {
        Some(own) => commits.iter().find(|c| c.id == own),
        None => commit_of(&commits, &record),
    };
    let index = found
        .and_then(|commit| commits.iter().position(|c| c.id == commit.id))
        .ok_or(Error::RunCommitMissing(id))?;
    Ok(Found {
        record,
        records,
        tips,
        commits,
        index,
    })
}

/// What reverting a run writes: the parts reverted and those changed since, the branch files
/// with their new content, and how many tracks they are.
#[derive(Default)]
struct Reverts {
    reverted: Vec<Revert>,
    changed_since: Vec<Revert>,
    files: Files,
    tracks: usize,
}

/// Reverts, file by file, what the run wrote to the branch files its commit changed.
fn reverts(annex: &Annex, found: &Found, force: bool) -> Result<Reverts> {
    let order = log::oldest_first(&found.commits, &found.records);
    let mut sources = Sources::open(annex, found.tips[0], &found.commits, order, found.index)?;
    let mut out = Reverts::default();
    for (path, kind) in sources.changed()? {
        let file = sources.revert(&path, &kind, force)?;
        out.reverted.extend(file.reverted);
        out.changed_since.extend(file.changed_since);
        match (file.write, kind) {
            (Some((content, in_journal)), Kind::Metadata { .. }) => {
                out.tracks += 1;
                out.files.add_log(path, content, in_journal);
            }
            (Some((content, _)), Kind::Order) => out.files.add_order(path, content),
            (None, _) => {}
        }
    }
    Ok(out)
}

/// Undoes a run as `opts` says; the sync that follows reports to `observer`.
pub fn undo(ctx: &Context, opts: &Options, observer: &mut dyn Observer) -> Result<Undo> {
    let annex = &ctx.annex;
    let lock = match opts.dry_run {
        true => None,
        false => Some(annex.lock_journal()?),
    };
    let found = find(annex, opts.run.as_deref())?;
    let run = run_info(annex, &found)?;
    let reverts = reverts(annex, &found, opts.force)?;
    let mut undo = Undo {
        dry_run: opts.dry_run,
        force: opts.force,
        run,
        reverted: reverts.reverted,
        changed_since: reverts.changed_since,
        undo_run: None,
        commit: None,
        sync: None,
    };
    if opts.dry_run || reverts.files.files.is_empty() {
        return Ok(undo);
    }
    commit_undo(ctx, &found, &mut undo, reverts.files, reverts.tracks)?;
    kill_point("undo-after-branch-commit");
    drop(lock);
    let report =
        sync::run(ctx, &sync::Options::default(), observer).map_err(Error::SyncAfterUndo)?;
    undo.sync = Some(report);
    Ok(undo)
}

/// The run undone, as the undo shows it: with its clone's description in git-annex.
fn run_info(annex: &Annex, found: &Found) -> Result<RunInfo> {
    let mut reader = annex.tree_reader(found.tips[0])?;
    let descriptions = crate::annex::descriptions(&reader.read("uuid.log")?.unwrap_or_default());
    let target = &found.record;
    let description = descriptions
        .iter()
        .rev()
        .find(|(u, _)| *u == target.uuid)
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    Ok(RunInfo {
        id: target.run_id(),
        clone: target.uuid.clone(),
        description,
        host: target.host.clone(),
        time: target.time.clone(),
        commit: found.commits[found.index].id.to_string(),
    })
}

/// Commits `files` as a run of this clone that undid `found`'s run (counting `tracks`), and
/// records it in `undo`.
fn commit_undo(
    ctx: &Context,
    found: &Found,
    undo: &mut Undo,
    mut files: Files,
    tracks: usize,
) -> Result<()> {
    let annex = &ctx.annex;
    let tip = found.tips[0];
    let own = vouch::own_runs(annex)?;
    let report = Report {
        tracks: own.last().map_or(0, |r| r.record.tracks),
        pushed: tracks,
        ..Report::default()
    };
    let mut record = sync::run_record(ctx, &report, tip, 0, false);
    record.undid = Some(undo.run.id.clone());
    files.add_record(&mut annex.tree_reader(tip)?, &record)?;
    let message = message(&record, undo);
    let Some(new) = files.commit(annex, tip, &message)? else {
        return Err(sync::Error::Contended.into());
    };
    undo.undo_run = Some(record.run_id());
    undo.commit = Some(new.to_string());
    Ok(())
}

/// The undo commit's message: what it reverted, and the run trailers.
fn message(record: &RunRecord, undo: &Undo) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let who = if undo.run.description.is_empty() {
        &undo.run.clone
    } else {
        &undo.run.description
    };
    let mut by_field: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &undo.reverted {
        *by_field.entry(r.field.as_str()).or_default() += 1;
    }
    let fields: Vec<String> = by_field.iter().map(|(f, n)| format!("{f} {n}")).collect();
    format!(
        "git-mixxx undo{}: run {} of {who} reverted, {} track{}\n\nreverted: {}\n{}",
        commit::on_host(record),
        undo.run.id,
        record.pushed,
        plural(record.pushed),
        fields.join(", "),
        commit::trailers(record)
    )
}

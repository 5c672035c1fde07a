//! `git mixxx undo`: reverts what one run wrote on the branch. The run's commit says which
//! metadata logs it changed and which lines it wrote (as `log` finds them); for every field
//! those lines changed, the value before the run is written back as a new log line (so the
//! revert travels with `git annex sync` and shows in `log`), then the normal sync brings it
//! into this Mixxx (only while Mixxx is closed, as any sync). A field changed again since the
//! run is listed and left alone, unless forced. The undo is a run of its own: recorded, with
//! an id, and undoable in turn. Its commit is not a finished sync, so this clone's base stays
//! where it was and the sync that follows pulls the reverted values.

use super::log::{Atom, Branch, Commit};
use super::{Error, Result};
use crate::annex::key;
use crate::annex::logmet::{self, Current, MetLog, Order, Timestamp};
use crate::context::Context;
use crate::error::kill_point;
use crate::state::local::OwnRun;
use crate::state::{self, RunRecord, vouch};
use crate::sync::commit::{self, Files};
use crate::sync::observer::Observer;
use crate::sync::{self, Report};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

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

/// One field of one track: before the run, what the run wrote, and the branch now.
#[derive(Clone, Debug, Serialize)]
pub struct Revert {
    pub path: Option<String>,
    pub key: String,
    pub field: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub now: Vec<String>,
}

/// What an undo did (or, in a dry run, would do).
#[derive(Debug, Serialize)]
pub struct Undo {
    pub dry_run: bool,
    pub force: bool,
    pub run: RunInfo,
    /// The fields put back to their value before the run.
    pub reverted: Vec<Revert>,
    /// The fields changed again since the run: left alone, unless `force` (then also in
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

/// The log `text` without the changes `atoms`.
fn without(text: &str, atoms: &HashSet<Atom>) -> MetLog {
    let mut log = MetLog::parse(text);
    for line in &mut log.lines {
        let time = line.order.to_string();
        line.changes
            .retain(|c| !atoms.contains(&(time.clone(), c.field.clone(), c.set, c.value.clone())));
    }
    log
}

fn values(current: &Current, field: &str) -> Vec<String> {
    current
        .get(field)
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default()
}

/// Undoes a run as `opts` says; the sync that follows reports to `observer`.
pub fn undo(ctx: &Context, opts: &Options, observer: &mut dyn Observer) -> Result<Undo> {
    let annex = &ctx.annex;
    let lock = match opts.dry_run {
        true => None,
        false => Some(annex.lock_journal()?),
    };
    let (tips, records) = super::log::tips_and_records(annex)?;
    let tip = tips[0];
    let mut reader = annex.tree_reader(tip)?;
    let own = vouch::own_runs(annex)?;
    let Target {
        record: target,
        commit: own_commit,
    } = choose(&own, &records, opts.run.as_deref())?;
    let id = target.run_id();
    let descriptions = crate::status::descriptions(&reader.read("uuid.log")?.unwrap_or_default());
    // Its commit is at most a day older than its record (clocks may be a little off).
    let since = chrono::DateTime::parse_from_rfc3339(&target.time)
        .ok()
        .map(|t| t.timestamp() - 86_400);
    let mut branch = Branch::new(annex, tip)?;
    let commits = branch.commits(&tips, since)?;
    let commit = match own_commit {
        Some(own) => commits.iter().find(|c| c.id == own),
        None => commit_of(&commits, &target),
    }
    .ok_or_else(|| Error::RunCommitMissing(id.clone()))?;
    let target_index = commits
        .iter()
        .position(|c| c.id == commit.id)
        .ok_or_else(|| Error::RunCommitMissing(id.clone()))?;
    let order = super::log::oldest_first(&commits, &records);

    let mut mapper =
        crate::worktree::Mapper::new(&annex.repo, &[]).map_err(crate::annex::Error::from)?;
    let paths: HashMap<String, String> = mapper
        .annexed()
        .into_iter()
        .map(|(path, key)| (key, path))
        .collect();
    let mut reverted = Vec::new();
    let mut changed_since = Vec::new();
    let mut files = Files::default();
    let mut tracks = 0;
    for log_path in branch.changed_logs(commit)? {
        let own = super::log::attributed(&mut branch, &commits, &order, &log_path)?
            .into_iter()
            .find(|(i, _)| *i == target_index);
        let Some((_, (text, new))) = own else {
            continue;
        };
        let Some(key) = key::key_of_metadata_log_path(&log_path) else {
            continue;
        };
        let fields: BTreeSet<String> = new.iter().map(|(_, field, _, _)| field.clone()).collect();
        // The run's version of the log without what the run wrote, and with it.
        let before = without(&text, &new).current();
        let after = MetLog::parse(&text).current();
        let journal = annex.journal_entry(&log_path)?;
        let mut current = match &journal {
            Some(entry) => entry.clone(),
            None => branch
                .read(tip, &log_path)?
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        };
        // With the lines of the remote branches not merged yet, as git-annex will merge them.
        for remote in &tips[1..] {
            if let Some(text) = branch.read(*remote, &log_path)? {
                let have: HashSet<&str> = super::log::lines(&current).collect();
                let missing: Vec<&str> = super::log::lines(&text)
                    .filter(|l| !have.contains(l))
                    .collect();
                for l in missing {
                    if !current.is_empty() && !current.ends_with('\n') {
                        current.push('\n');
                    }
                    current.push_str(l);
                    current.push('\n');
                }
            }
        }
        let now_log = MetLog::parse(&current);
        let now = now_log.current();
        let mut line: Vec<(String, bool, String)> = Vec::new();
        for field in fields {
            let change = Revert {
                path: paths.get(&key).cloned(),
                key: key.clone(),
                field: field.clone(),
                before: values(&before, &field),
                after: values(&after, &field),
                now: values(&now, &field),
            };
            if change.before == change.after || change.now == change.before {
                continue;
            }
            if change.now != change.after {
                changed_since.push(change.clone());
                if !opts.force {
                    continue;
                }
            }
            for v in change.now.iter().filter(|v| !change.before.contains(v)) {
                line.push((field.clone(), false, v.clone()));
            }
            for v in change.before.iter().filter(|v| !change.now.contains(v)) {
                line.push((field.clone(), true, v.clone()));
            }
            reverted.push(change);
        }
        if line.is_empty() {
            continue;
        }
        tracks += 1;
        let time = Order::after(Timestamp::now(), now_log.max_order());
        let mut content = current;
        if !content.is_empty() && !content.ends_with('\n') {
            content.push('\n');
        }
        content.push_str(&logmet::format_line_of(
            time,
            line.iter()
                .map(|(f, set, v)| (f.as_str(), *set, v.as_str())),
        ));
        content.push('\n');
        if journal.is_some() {
            files.journal.push((log_path.clone(), content.clone()));
        }
        files.files.push((log_path, logmet::bytes_of(&content)));
    }
    let describe = |uuid: &str| {
        descriptions
            .iter()
            .rev()
            .find(|(u, _)| u == uuid)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    };
    let mut undo = Undo {
        dry_run: opts.dry_run,
        force: opts.force,
        run: RunInfo {
            id: id.clone(),
            clone: target.uuid.clone(),
            description: describe(&target.uuid),
            host: target.host.clone(),
            time: target.time.clone(),
            commit: commit.id.to_string(),
        },
        reverted,
        changed_since,
        undo_run: None,
        commit: None,
        sync: None,
    };
    if opts.dry_run || files.files.is_empty() {
        return Ok(undo);
    }
    let report = Report {
        tracks: own.last().map_or(0, |r| r.record.tracks),
        pushed: tracks,
        ..Report::default()
    };
    let mut record = sync::run_record(ctx, &report, tip, 0, false);
    record.undid = Some(id.clone());
    files.add_record(&mut reader, &record)?;
    let message = message(&record, &undo, &describe(&target.uuid));
    let Some(new) = files.commit(annex, tip, &message)? else {
        return Err(sync::Error::Contended.into());
    };
    undo.undo_run = Some(record.run_id());
    undo.commit = Some(new.to_string());
    kill_point("undo-after-branch-commit");
    drop(lock);
    let report =
        sync::run(ctx, &sync::Options::default(), observer).map_err(Error::SyncAfterUndo)?;
    undo.sync = Some(report);
    Ok(undo)
}

/// The undo commit's message: what it reverted, and the run trailers.
fn message(record: &RunRecord, undo: &Undo, description: &str) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let who = if description.is_empty() {
        undo.run.clone.as_str()
    } else {
        description
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

//! `git mixxx log`: the history of the Mixxx metadata, from the branch alone. A track's
//! `.log.met` holds every value it ever had, dated. The run that wrote a line is the commit
//! whose version of the file has the line while none of its parents' versions has it: a
//! git-annex merge only carries lines another clone wrote, which belong to that clone's commit
//! on one of its parents. git-mixxx's commits name their clone and run in trailers
//! ([`crate::state::TRAILER_CLONE`], [`crate::state::TRAILER_RUN`]); lines in other commits were
//! written by `git annex metadata` (or another program), shown with the commit's author.
//!
//! The history of a few files reads their logs in each commit of the branch (a few tree
//! lookups per commit), never the other tracks; the whole library's walks the commits newest
//! first and reads only the logs each one changed.

use super::Error;
use crate::annex::logmet::{self, Order};
use crate::annex::{Annex, TreeReader, key};
use crate::state::{self, RunRecord};
use gix::ObjectId;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

/// What to show.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Repository paths of files or folders; empty for the whole library.
    pub paths: Vec<String>,
    /// Only runs committed at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// Only runs committed at or before this time (seconds since the epoch).
    pub until: Option<i64>,
    /// At most this many runs, newest first.
    pub max_runs: Option<usize>,
}

/// The history: the runs that changed values, newest first.
#[derive(Debug, Serialize)]
pub struct Log {
    pub runs: Vec<RunChanges>,
}

/// Who wrote a commit's lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Writer {
    /// A git-mixxx run (a sync or an undo).
    GitMixxx,
    /// Anything else: `git annex metadata`, another program.
    GitAnnex,
}

/// One commit's changes.
#[derive(Debug, Serialize)]
pub struct RunChanges {
    pub commit: String,
    /// When it was committed (UTC, RFC 3339).
    pub time: String,
    pub writer: Writer,
    /// The run's short id (git-mixxx's commits).
    pub run: Option<String>,
    /// The clone's uuid, its description in git-annex and the host of the run.
    pub clone: Option<String>,
    pub description: Option<String>,
    pub host: Option<String>,
    /// The commit's author.
    pub author: String,
    /// The run an undo reverted.
    pub undid: Option<String>,
    pub changes: Vec<FieldChange>,
    /// Tracks the run pulled into its Mixxx (from its run record; 0 for other commits).
    pub pulled: usize,
    /// For a run that pulled and wrote no value: the commits that wrote what it pulled.
    pub pulled_from: Vec<Source>,
}

/// A commit that wrote values a pull-only run pulled: its run and clone (git-mixxx's
/// commits) or its author, and how many tracks' logs it changed.
#[derive(Debug, Serialize)]
pub struct Source {
    pub commit: String,
    pub run: Option<String>,
    pub clone: Option<String>,
    pub description: Option<String>,
    pub author: String,
    pub tracks: usize,
}

/// One field of one track changed by one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The file in the work tree, when there is one for the key.
    pub path: Option<String>,
    pub key: String,
    pub field: String,
    pub old: Vec<String>,
    pub new: Vec<String>,
    /// The line's own time (UTC, RFC 3339, or the log's digits when beyond any date).
    pub time: String,
}

/// A commit of the branch, as the history needs it.
pub(crate) struct Commit {
    pub id: ObjectId,
    pub parents: Vec<ObjectId>,
    pub time: i64,
    pub message: String,
    pub author: String,
}

impl Commit {
    /// The value of the trailer `name` (`git-mixxx-run:`), if the message has it.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.message
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    }
}

/// A walked commit as the history needs it.
fn commit_of(info: &gix::revision::walk::Info<'_>) -> crate::annex::Result<Commit> {
    let commit = info.object()?;
    let author = commit
        .author()
        .map(|a| a.name.to_string())
        .unwrap_or_default();
    Ok(Commit {
        id: info.id,
        parents: info.parent_ids.iter().copied().collect(),
        time: commit.time()?.seconds,
        message: crate::annex::message_of(&commit)?,
        author,
    })
}

/// Reads the branch's commits and the files in them, caching trees and texts.
pub(crate) struct Branch<'a> {
    pub annex: &'a Annex,
    reader: TreeReader<'a>,
    trees: HashMap<ObjectId, ObjectId>,
    texts: HashMap<ObjectId, Rc<String>>,
}

impl<'a> Branch<'a> {
    pub fn new(annex: &'a Annex, tip: ObjectId) -> Result<Branch<'a>, Error> {
        let tree = annex.tree_of(tip)?;
        Ok(Branch {
            annex,
            reader: TreeReader::new(&annex.repo, tree),
            trees: HashMap::from([(tip, tree)]),
            texts: HashMap::new(),
        })
    }

    /// The commits reachable from `tips`, newest first by commit time, down to `since`.
    pub fn commits(
        &self,
        tips: &[ObjectId],
        since: Option<i64>,
    ) -> crate::annex::Result<Vec<Commit>> {
        use gix::revision::walk::Sorting;
        use gix::traverse::commit::simple::CommitTimeOrder;
        let walk = self
            .annex
            .repo
            .rev_walk(tips.iter().copied())
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .all()?;
        let mut out = Vec::new();
        for info in walk {
            let commit = commit_of(&info?)?;
            if since.is_some_and(|s| commit.time < s) {
                break;
            }
            out.push(commit);
        }
        Ok(out)
    }

    /// The commits reachable from `tips` and not from `hidden`, newest first, at most `max`.
    pub fn commits_between(
        &self,
        tips: &[ObjectId],
        hidden: Option<ObjectId>,
        max: usize,
    ) -> crate::annex::Result<Vec<Commit>> {
        use gix::revision::walk::Sorting;
        use gix::traverse::commit::simple::CommitTimeOrder;
        let walk = self
            .annex
            .repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden)
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .all()?;
        let mut out = Vec::new();
        for info in walk.take(max) {
            out.push(commit_of(&info?)?);
        }
        Ok(out)
    }

    fn tree(&mut self, commit: ObjectId) -> Result<ObjectId, Error> {
        if let Some(tree) = self.trees.get(&commit) {
            return Ok(*tree);
        }
        let tree = self.annex.tree_of(commit)?;
        self.trees.insert(commit, tree);
        Ok(tree)
    }

    /// The blob at `path` in `commit`.
    pub fn blob(&mut self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>, Error> {
        let tree = self.tree(commit)?;
        self.reader.set_root(tree);
        Ok(self.reader.blob_id(path)?)
    }

    /// The text of a blob, the file at `path` (empty when beyond the file limit).
    pub fn text(&mut self, blob: ObjectId, path: &str) -> Result<Rc<String>, Error> {
        if let Some(text) = self.texts.get(&blob) {
            return Ok(Rc::clone(text));
        }
        let text = crate::annex::read_blob(&self.annex.repo, blob, path)?;
        let text = Rc::new(text.unwrap_or_default());
        self.texts.insert(blob, Rc::clone(&text));
        Ok(text)
    }

    /// What `commit` wrote to the file at `path`: the changes none of its parents has, with
    /// the file's text in `commit`; `None` when it wrote none. Changes, not lines: git-annex
    /// rewrites a log when it adds to it (compacting it), so a line can change its form.
    pub fn new_changes(&mut self, commit: &Commit, path: &str) -> Result<Option<Written>, Error> {
        let Some(blob) = self.blob(commit.id, path)? else {
            return Ok(None);
        };
        let mut before = Vec::new();
        for parent in &commit.parents {
            match self.blob(*parent, path)? {
                Some(b) if b == blob => return Ok(None),
                Some(b) => before.push(self.text(b, path)?),
                None => {}
            }
        }
        let text = self.text(blob, path)?;
        let old: HashSet<Atom> = before.iter().flat_map(|t| atoms(t)).collect();
        let new: HashSet<Atom> = atoms(&text).filter(|a| !old.contains(a)).collect();
        Ok((!new.is_empty()).then_some((text, new)))
    }

    /// The metadata logs `commit` changed against every parent (a merge's own changes).
    pub fn changed_logs(&mut self, commit: &Commit) -> Result<Vec<String>, Error> {
        self.changed_files(commit, |p| p.ends_with(".log.met"))
    }

    /// The files `commit` changed against every parent (a merge's own changes) that `wanted`.
    pub fn changed_files(
        &mut self,
        commit: &Commit,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, Error> {
        let tree = self.tree(commit.id)?;
        let mut common: Option<HashSet<String>> = None;
        for parent in &commit.parents {
            let parent_tree = self.tree(*parent)?;
            let changed: HashSet<String> = self
                .annex
                .changed_paths(parent_tree, tree)?
                .into_iter()
                .filter(|p| wanted(p))
                .collect();
            common = Some(match common {
                None => changed,
                Some(c) => c.intersection(&changed).cloned().collect(),
            });
        }
        let mut out: Vec<String> = common.unwrap_or_default().into_iter().collect();
        out.sort();
        Ok(out)
    }
}

/// The lines of a log's text, as git-annex splits them.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\r']).filter(|l| !l.is_empty())
}

/// What a commit wrote to a log: the log's text there, and the changes it added.
pub(crate) type Written = (Rc<String>, HashSet<Atom>);

/// One change of a log: its time (as written by git-annex), field, set or unset, value.
pub(crate) type Atom = (String, String, bool, String);

fn atoms_of(line: &logmet::Line) -> impl Iterator<Item = Atom> + '_ {
    let time = line.order.to_string();
    line.changes
        .iter()
        .map(move |c| (time.clone(), c.field.clone(), c.set, c.value.clone()))
}

/// Every change in a log's text.
fn atoms(text: &str) -> impl Iterator<Item = Atom> + '_ {
    lines(text)
        .filter_map(logmet::parse_line)
        .flat_map(|l| atoms_of(&l).collect::<Vec<_>>())
}

/// A line's time as people read it.
fn shown_time(order: &Order) -> String {
    match order {
        Order::Exact(t) => i64::try_from(t.secs)
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, (t.picos / 1000) as u32))
            .map_or_else(
                || order.to_string(),
                |d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        Order::Huge { .. } => order.to_string(),
    }
}

/// What the `new` changes of a log (its full `text` at that commit) changed: for each field
/// they touch, line by line, the values before the line (from the lines dated before it) and
/// after it. Lines that leave a field as it was are no change.
pub(crate) fn line_changes(
    text: &str,
    new: &HashSet<Atom>,
) -> Vec<(String, Vec<String>, Vec<String>, Order)> {
    let mut parsed: Vec<logmet::Line> = lines(text).filter_map(logmet::parse_line).collect();
    parsed.sort_by(|a, b| a.order.cmp(&b.order));
    let mut state: BTreeMap<(String, String), bool> = BTreeMap::new();
    let values = |state: &BTreeMap<(String, String), bool>, field: &str| -> Vec<String> {
        state
            .range((field.to_owned(), String::new())..)
            .take_while(|((f, _), _)| f == field)
            .filter(|(_, set)| **set)
            .map(|((_, v), _)| v.clone())
            .collect()
    };
    let mut out = Vec::new();
    for line in parsed {
        let mut fields: Vec<String> = atoms_of(&line)
            .filter(|a| new.contains(a))
            .map(|a| a.1)
            .collect();
        fields.dedup();
        let before: Vec<Vec<String>> = fields.iter().map(|f| values(&state, f)).collect();
        for c in &line.changes {
            state.insert((c.field.clone(), c.value.clone()), c.set);
        }
        for (field, old) in fields.into_iter().zip(before) {
            let now = values(&state, &field);
            if now != old {
                out.push((field, old, now, line.order.clone()));
            }
        }
    }
    out
}

/// The run record of a git-mixxx commit: the one its run trailer names, or (commits older
/// than run ids) its clone's record of a run on the commit's parent.
pub(crate) fn record_of<'r>(commit: &Commit, records: &'r [RunRecord]) -> Option<&'r RunRecord> {
    let uuid = commit.trailer(state::TRAILER_CLONE)?;
    let run = commit.trailer(state::TRAILER_RUN);
    let parent = commit.parents.first().map(|p| p.to_string());
    records.iter().find(|r| {
        r.uuid == uuid
            && match run {
                Some(id) => r.run_id() == id,
                None => Some(&r.reconciled) == parent.as_ref(),
            }
    })
}

/// Who wrote a commit: its writer, run, clone, host and the run undone, from its trailers and
/// the run records.
fn describe(
    commit: &Commit,
    records: &[RunRecord],
    descriptions: &[(String, String)],
) -> RunChanges {
    let clone = commit.trailer(state::TRAILER_CLONE).map(str::to_owned);
    let run = commit.trailer(state::TRAILER_RUN).map(str::to_owned);
    let record = record_of(commit, records);
    let description = clone
        .as_deref()
        .map(|uuid| description_of(descriptions, uuid));
    RunChanges {
        commit: commit.id.to_string(),
        time: chrono::DateTime::from_timestamp(commit.time, 0)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        writer: if clone.is_some() {
            Writer::GitMixxx
        } else {
            Writer::GitAnnex
        },
        run: run.or_else(|| record.map(RunRecord::run_id)),
        description,
        host: record.map(|r| r.host.clone()),
        author: commit.author.clone(),
        undid: commit.trailer(state::TRAILER_UNDO).map(str::to_owned),
        clone,
        changes: Vec::new(),
        pulled: record.map_or(0, |r| r.pulled),
        pulled_from: Vec::new(),
    }
}

/// A description of `uuid` from `descriptions` (newest last).
fn description_of(descriptions: &[(String, String)], uuid: &str) -> String {
    descriptions
        .iter()
        .rev()
        .find(|(u, _)| u == uuid)
        .map(|(_, d)| d.clone())
        .unwrap_or_default()
}

/// How many commits a pull-only run's sources are looked for in, at most: a clone's first
/// run may have read the whole history.
const SOURCES_WALKED: usize = 1000;

/// The commits that wrote what the run of `record` (committed as `run`) pulled: those of the
/// branch (`tips`: as git-annex sees it, with the unmerged remote branches the run read too)
/// that its clone's previous run had not read, committed before the run, by another writer,
/// that changed metadata logs; newest first.
fn sources(
    branch: &mut Branch<'_>,
    (run, tips): (&Commit, &[ObjectId]),
    record: &RunRecord,
    records: &[RunRecord],
    descriptions: &[(String, String)],
) -> Result<Vec<Source>, Error> {
    let previous = records
        .iter()
        .filter(|r| r.uuid == record.uuid && r.time < record.time)
        .max_by(|a, b| a.time.cmp(&b.time))
        .and_then(|r| ObjectId::from_hex(r.reconciled.as_bytes()).ok());
    let mut out = Vec::new();
    for commit in branch.commits_between(tips, previous, SOURCES_WALKED)? {
        if commit.parents.len() > 1
            || commit.time > run.time
            || commit.trailer(state::TRAILER_CLONE) == Some(&record.uuid)
        {
            continue;
        }
        let tracks = branch.changed_logs(&commit)?.len();
        if tracks == 0 {
            continue;
        }
        let run = describe(&commit, records, descriptions);
        out.push(Source {
            commit: run.commit,
            run: run.run,
            clone: run.clone,
            description: run.description,
            author: run.author,
            tracks,
        });
    }
    Ok(out)
}

/// The indices of `commits`, oldest first: by commit time, then (runs in one second) by their
/// records' times, as a sync records after the runs it read.
pub(crate) fn oldest_first(commits: &[Commit], records: &[RunRecord]) -> Vec<usize> {
    let when: Vec<i128> = commits
        .iter()
        .map(|c| {
            record_of(c, records)
                .and_then(|r| chrono::DateTime::parse_from_rfc3339(&r.time).ok())
                .and_then(|t| t.timestamp_nanos_opt())
                .map_or(i128::from(c.time) * 1_000_000_000, i128::from)
        })
        .collect();
    let mut order: Vec<usize> = (0..commits.len()).collect();
    order.sort_by_key(|&i| (commits[i].time, when[i]));
    order
}

/// What each commit (`order`: indices into `commits`, oldest first) wrote to the log at
/// `log_path`: a change two commits both hold as new (a sync that read another clone's
/// unmerged branch carries that clone's changes too) belongs to the older.
pub(crate) fn attributed(
    branch: &mut Branch<'_>,
    commits: &[Commit],
    order: &[usize],
    log_path: &str,
) -> Result<Vec<(usize, Written)>, Error> {
    let mut seen: HashSet<Atom> = HashSet::new();
    let mut out = Vec::new();
    for &i in order {
        if let Some((text, mut new)) = branch.new_changes(&commits[i], log_path)? {
            new.retain(|a| seen.insert(a.clone()));
            if !new.is_empty() {
                out.push((i, (text, new)));
            }
        }
    }
    Ok(out)
}

/// The branch as git-annex sees it: its tip and the remote-tracking git-annex branches not
/// merged yet; and every run record they hold, except those under this clone's UUID that are
/// not its own runs ([`state::vouch`]): a record any clone can write does not speak for this
/// one.
pub(crate) fn tips_and_records(annex: &Annex) -> Result<(Vec<ObjectId>, Vec<RunRecord>), Error> {
    let tip = annex.tip()?;
    let mut tips = vec![tip];
    tips.extend(annex.unmerged_remotes(tip)?);
    let own: HashSet<String> = state::vouch::own_runs(annex)?
        .iter()
        .map(|r| r.record.run_id())
        .collect();
    let mut records: Vec<RunRecord> = Vec::new();
    for t in &tips {
        for record in state::all_runs(&mut annex.tree_reader(*t)?)?
            .into_iter()
            .flatten()
            .filter(|r| r.uuid != annex.uuid || own.contains(&r.run_id()))
        {
            if !records
                .iter()
                .any(|r| r.uuid == record.uuid && r.time == record.time)
            {
                records.push(record);
            }
        }
    }
    Ok((tips, records))
}

/// Whether a commit at `time` is in the window `opts` asks for.
fn in_window(opts: &Options, time: i64) -> bool {
    opts.since.is_none_or(|s| time >= s) && opts.until.is_none_or(|u| time <= u)
}

/// The whole library: the commits that changed logs (merges only carry what others wrote),
/// newest first, while more are wanted (twice as many: a sync that read another clone's
/// unmerged branch may hold none of its own), and the logs they changed.
fn library_logs(
    branch: &mut Branch<'_>,
    commits: &[Commit],
    opts: &Options,
) -> Result<(Vec<String>, HashSet<usize>), Error> {
    let mut wanted = HashSet::new();
    let mut log_paths = std::collections::BTreeSet::new();
    for (i, commit) in commits.iter().enumerate() {
        if opts.since.is_some_and(|s| commit.time < s)
            || opts.max_runs.is_some_and(|n| wanted.len() >= 2 * n)
        {
            break;
        }
        if commit.parents.len() > 1 || !in_window(opts, commit.time) {
            continue;
        }
        let changed = branch.changed_logs(commit)?;
        if !changed.is_empty() {
            wanted.insert(i);
            log_paths.extend(changed);
        }
    }
    Ok((log_paths.into_iter().collect(), wanted))
}

/// What the history knows: the commits (newest first), the tips they were read from, every
/// run record and the clones' descriptions.
struct Known<'h> {
    commits: &'h [Commit],
    tips: &'h [ObjectId],
    records: &'h [RunRecord],
    descriptions: &'h [(String, String)],
}

/// This clone's runs that pulled and wrote no value (by commit index), with where what they
/// pulled came from; among the commits newer than the last of `runs` that `-n` shows.
fn pull_only_runs(
    branch: &mut Branch<'_>,
    known: &Known<'_>,
    runs: &[(usize, RunChanges)],
    opts: &Options,
) -> Result<Vec<(usize, RunChanges)>, Error> {
    let taken: HashSet<usize> = runs.iter().map(|(i, _)| *i).collect();
    let last = match opts.max_runs {
        Some(n) if n > 0 && n <= runs.len() => runs.iter().map(|(i, _)| *i).nth(n - 1),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, commit) in known
        .commits
        .iter()
        .enumerate()
        .take(last.map_or(usize::MAX, |l| l + 1))
    {
        if taken.contains(&i) || !in_window(opts, commit.time) {
            continue;
        }
        let Some(record) = record_of(commit, known.records)
            .filter(|r| r.pulled > 0 && r.uuid == branch.annex.uuid)
        else {
            continue;
        };
        let mut run = describe(commit, known.records, known.descriptions);
        run.pulled_from = sources(
            branch,
            (commit, known.tips),
            record,
            known.records,
            known.descriptions,
        )?;
        out.push((i, run));
    }
    Ok(out)
}

/// What [`changes_by_commit`] reads: the commits, oldest first, those wanted (the whole
/// library's) and the work-tree paths of the keys.
struct Found<'c> {
    commits: &'c [Commit],
    oldest_first: &'c [usize],
    wanted: Option<&'c HashSet<usize>>,
    paths_of: &'c HashMap<String, Vec<String>>,
}

/// The field changes of each commit (by index) to the logs at `log_paths`.
fn changes_by_commit(
    branch: &mut Branch<'_>,
    found: &Found<'_>,
    log_paths: &[String],
) -> Result<BTreeMap<usize, Vec<FieldChange>>, Error> {
    let mut by_commit: BTreeMap<usize, Vec<FieldChange>> = BTreeMap::new();
    for log_path in log_paths {
        let Some(key) = key::key_of_metadata_log_path(log_path) else {
            continue;
        };
        let path = found.paths_of.get(&key).and_then(|p| p.first()).cloned();
        for (i, (text, new)) in attributed(branch, found.commits, found.oldest_first, log_path)? {
            if found.wanted.is_some_and(|w| !w.contains(&i)) {
                continue;
            }
            let changes = by_commit.entry(i).or_default();
            for (field, old, new, order) in line_changes(&text, &new) {
                changes.push(FieldChange {
                    path: path.clone(),
                    key: key.clone(),
                    field,
                    old,
                    new,
                    time: shown_time(&order),
                });
            }
        }
    }
    Ok(by_commit)
}

/// The history as `opts` asks.
pub fn log(annex: &Annex, opts: &Options) -> Result<Log, Error> {
    let (tips, records) = tips_and_records(annex)?;
    let mut branch = Branch::new(annex, tips[0])?;
    let mut reader = annex.tree_reader(tips[0])?;
    let descriptions = crate::status::descriptions(&reader.read("uuid.log")?.unwrap_or_default());
    let mut mapper =
        crate::worktree::Mapper::new(&annex.repo, &[]).map_err(crate::annex::Error::from)?;
    let mut paths_of: HashMap<String, Vec<String>> = HashMap::new();
    for (path, key) in mapper.annexed_at(&opts.paths) {
        paths_of.entry(key).or_default().push(path);
    }
    let commits = branch.commits(&tips, None)?;
    let mut oldest_first = oldest_first(&commits, &records);
    let (log_paths, wanted) = if opts.paths.is_empty() {
        // Their changes are attributed as a file's are, among the commits since a day before
        // the oldest.
        let (log_paths, wanted) = library_logs(&mut branch, &commits, opts)?;
        let from = wanted.iter().map(|&i| commits[i].time).min();
        let from = from.unwrap_or(i64::MAX).saturating_sub(86_400);
        oldest_first.retain(|&i| commits[i].time >= from);
        (log_paths, Some(wanted))
    } else {
        let mut keys: Vec<&String> = paths_of.keys().collect();
        keys.sort();
        (
            keys.into_iter()
                .map(|k| key::metadata_log_path(k))
                .collect(),
            None,
        )
    };
    let found = Found {
        commits: &commits,
        oldest_first: &oldest_first,
        wanted: wanted.as_ref(),
        paths_of: &paths_of,
    };
    let by_commit = changes_by_commit(&mut branch, &found, &log_paths)?;
    let mut runs = Vec::new();
    for (i, mut changes) in by_commit {
        if changes.is_empty() || !in_window(opts, commits[i].time) {
            continue;
        }
        changes.sort_by(|a, b| {
            (&a.path, &a.key, &a.time, &a.field).cmp(&(&b.path, &b.key, &b.time, &b.field))
        });
        let mut run = describe(&commits[i], &records, &descriptions);
        run.changes = changes;
        runs.push((i, run));
    }
    if opts.paths.is_empty() {
        let known = Known {
            commits: &commits,
            tips: &tips,
            records: &records,
            descriptions: &descriptions,
        };
        runs.extend(pull_only_runs(&mut branch, &known, &runs, opts)?);
    }
    runs.sort_by_key(|(i, _)| *i);
    runs.truncate(opts.max_runs.unwrap_or(usize::MAX));
    Ok(Log {
        runs: runs.into_iter().map(|(_, r)| r).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lines: &[&str]) -> HashSet<Atom> {
        lines
            .iter()
            .flat_map(|l| atoms(l).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn a_line_changes_what_it_sets_against_the_lines_dated_before_it() {
        let text = "1s rating +3 crate +Peak\n3s rating -3 +5\n2s crate +Warmup\n4s rating +5\n";
        let changes = line_changes(text, &set(&["3s rating -3 +5", "2s crate +Warmup"]));
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            changes
                .iter()
                .map(|(f, o, n, _)| (f.as_str(), o.clone(), n.clone()))
                .collect::<Vec<_>>(),
            [
                ("crate", strings(&["Peak"]), strings(&["Peak", "Warmup"])),
                ("rating", strings(&["3"]), strings(&["5"])),
            ]
        );
        // Setting what is set changes nothing.
        assert!(line_changes(text, &set(&["4s rating +5"])).is_empty());
        assert_eq!(shown_time(&changes[1].3), "1970-01-01T00:00:03Z");
    }
}

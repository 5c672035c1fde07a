//! Sync planning and execution: the three-way merge per track and field between this clone's
//! Mixxx (M), the git-annex branch now (G) and the values at this clone's last finished sync
//! (B), then applying the plan: Mixxx first (one transaction, after a backup, only while Mixxx
//! is not running), then one commit on the branch with the pushed lines and the sync state.
//!
//! That order makes every interruption safe: if the run stops after the Mixxx transaction, the
//! base has not moved, Mixxx now equals the branch for the pulled fields, and the next run
//! pushes what is left. If it stops before, nothing happened.

use crate::annex::logmet::{self, Change, Current, MetLog, Timestamp, Values};
use crate::annex::{self, Annex, TreeReader, key};
use crate::context::Context;
use crate::fields;
use crate::fields::{Digest, Row};
use crate::mixxx::{self, Database, running};
use crate::quiet::Fingerprint;
use crate::state::{self, Cache, Conflict, RunRecord};
use crate::worktree::Mapper;
use gix::ObjectId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// Which side wins a conflict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    #[default]
    Git,
    Mixxx,
}

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
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
    /// Skip the run when nothing changed since the last run that found nothing to do (see
    /// [`crate::quiet`]); only for whole-library runs without `--all`.
    pub quick: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Annex(#[from] annex::Error),
    #[error(transparent)]
    Mixxx(#[from] mixxx::Error),
    #[error("writing the Mixxx database: {0}")]
    MixxxWrite(#[from] mixxx::write::Error),
    #[error("the git-annex branch kept moving while git-mixxx tried to commit; run the sync again")]
    Contended,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A track that could not be synced, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Tracks of this Mixxx that map to annexed files (within the PATH restriction).
    pub tracks: usize,
    /// Tracks whose values were (or would be) written to the branch.
    pub pushed: usize,
    /// Tracks whose values were (or would be) written to Mixxx.
    pub pulled: usize,
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
    pub backup: Option<PathBuf>,
    pub commit: Option<String>,
    /// The work-tree paths of the library's tracks, hashed, for the no-change shortcut.
    #[serde(skip)]
    pub(crate) library_paths: Vec<u64>,
}

/// One key of this Mixxx: its first track's path, every track id with that content, and the
/// values in Mixxx.
struct Item {
    path: String,
    track_ids: Vec<i64>,
    m: Row,
}

/// The plan for one key.
#[derive(Debug, Default)]
struct KeyPlan {
    /// Changes for the branch.
    push: Vec<Change>,
    /// Fields to write to Mixxx, with their new values.
    pull: Vec<(String, BTreeSet<String>)>,
    conflicts: Vec<(String, BTreeSet<String>, BTreeSet<String>, Prefer)>,
    /// The values both sides hold once the plan is carried out.
    result: Values,
    /// The branch's values before it.
    branch: Values,
}

/// The single value a field resolves to when a merge left several: the newest line's.
fn resolve(values: &BTreeMap<String, Timestamp>) -> BTreeSet<String> {
    values
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
        .map(|(v, _)| BTreeSet::from([v.clone()]))
        .unwrap_or_default()
}

fn owned(current: &Current) -> HashMap<&'static str, BTreeMap<String, Timestamp>> {
    fields::all()
        .filter_map(|f| current.get(f).map(|v| (f, v.clone())))
        .collect()
}

/// The three-way merge of one key, by the design's sync rules.
fn plan_key(m: &Values, g: &Current, b: Option<&Values>, opts: &Options) -> KeyPlan {
    let empty_set = BTreeSet::new();
    let empty_log = BTreeMap::new();
    let mut plan = KeyPlan::default();
    let mut result = Values::new();
    let mut g_sets = Values::new();
    for field in fields::all() {
        let mv = m.get(field).unwrap_or(&empty_set);
        let glog = g.get(field).unwrap_or(&empty_log);
        let gv: BTreeSet<String> = glog.keys().cloned().collect();
        let bv = b.map(|b| b.get(field).unwrap_or(&empty_set));
        let r = if fields::is_set_field(field) {
            if opts.all {
                mv.clone()
            } else if let Some(bv) = bv {
                // Per element: a side that changed it decides.
                mv.union(&gv)
                    .chain(bv.iter())
                    .filter(|e| {
                        let (in_m, in_g, in_b) =
                            (mv.contains(*e), gv.contains(*e), bv.contains(*e));
                        if in_m != in_b { in_m } else { in_g }
                    })
                    .cloned()
                    .collect()
            } else {
                mv.union(&gv).cloned().collect()
            }
        } else {
            let gr = resolve(glog);
            if opts.all {
                mv.clone()
            } else if glog.len() > 1 {
                // Several values after a merge: clones set it concurrently, a conflict by
                // definition. The newest line wins unless Mixxx is preferred.
                plan.conflicts
                    .push((field.to_owned(), mv.clone(), gv.clone(), opts.prefer));
                match opts.prefer {
                    Prefer::Mixxx if !mv.is_empty() => mv.clone(),
                    _ => gr,
                }
            } else if *mv == gr {
                mv.clone()
            } else {
                let conflict = match bv {
                    Some(bv) if gr == *bv => Some(false),
                    Some(bv) if mv == bv => None,
                    Some(_) => Some(true),
                    None if gr.is_empty() => Some(false),
                    None if mv.is_empty() => None,
                    None => Some(true),
                };
                // Some(false): take Mixxx; None: take the branch; Some(true): a conflict.
                match conflict {
                    Some(false) => mv.clone(),
                    None => gr,
                    Some(true) => {
                        plan.conflicts.push((
                            field.to_owned(),
                            mv.clone(),
                            gr.clone(),
                            opts.prefer,
                        ));
                        match opts.prefer {
                            Prefer::Git => gr,
                            Prefer::Mixxx => mv.clone(),
                        }
                    }
                }
            }
        };
        if *mv != r {
            plan.pull.push((field.to_owned(), r.clone()));
        }
        if !r.is_empty() {
            result.insert(field.to_owned(), r);
        }
        if !gv.is_empty() {
            g_sets.insert(field.to_owned(), gv);
        }
    }
    plan.push = logmet::diff_changes(&g_sets, &result, fields::all());
    plan.result = result;
    plan.branch = g_sets;
    plan
}

/// The branch's values and log text for a key (branch and pending journal entry combined).
struct BranchLog {
    /// The file's lines (branch ∪ journal), sorted and de-duplicated as a union merge would.
    text: String,
    current: Current,
    max: Option<Timestamp>,
    in_journal: bool,
}

fn branch_log(
    annex: &Annex,
    reader: &mut TreeReader<'_>,
    path: &str,
    journal: &HashSet<String>,
) -> annex::Result<BranchLog> {
    let mut text = reader.read(path)?.unwrap_or_default();
    let in_journal = journal.contains(path);
    if in_journal && let Some(pending) = annex.journal_entry(path)? {
        let mut lines: BTreeSet<&str> = text.lines().collect();
        lines.extend(pending.lines());
        text = lines
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
    }
    let log = MetLog::parse(&text);
    Ok(BranchLog {
        current: log.current(),
        max: log.max_timestamp(),
        text,
        in_journal,
    })
}

/// The branch paths that have pending journal entries.
fn journal_paths(annex: &Annex) -> HashSet<String> {
    if annex.journal_is_empty() {
        return HashSet::new();
    }
    annex.journal_branch_paths().into_iter().collect()
}

/// The base: this clone's newest finished sync commit, and the digest of each synced key's
/// values there.
struct Base {
    commit: Option<ObjectId>,
    digests: HashMap<String, Digest>,
}

/// Finds the base, from the local cache when it describes it, else rebuilt from the branch
/// (and put in the cache: the second value says so).
fn load_base(
    annex: &Annex,
    tip: ObjectId,
    cache: &mut Cache,
    keys: &HashMap<String, Item>,
) -> annex::Result<(Base, bool)> {
    let Some(commit) = state::find_base_commit(annex, tip)? else {
        let base = Base {
            commit: None,
            digests: HashMap::new(),
        };
        return Ok((base, false));
    };
    if let Some(digests) = cache.take_base_for(commit) {
        let base = Base {
            commit: Some(commit),
            digests,
        };
        return Ok((base, false));
    }
    // Rebuild: the keys synced then, with the digests of their values at that commit.
    let mut reader = annex.tree_reader(commit)?;
    let synced = state::synced_ids(&mut reader, &annex.uuid)?;
    let mut digests = HashMap::new();
    for k in keys
        .keys()
        .filter(|k| synced.contains(&state::synced_id(k)))
    {
        let text = reader.read(&key::metadata_log_path(k))?.unwrap_or_default();
        digests.insert(
            k.clone(),
            fields::digest(&owned_sets(&MetLog::parse(&text).current())),
        );
    }
    let base = Base {
        commit: Some(commit),
        digests,
    };
    Ok((base, true))
}

fn owned_sets(current: &Current) -> Values {
    owned(current)
        .into_iter()
        .map(|(f, v)| (f.to_owned(), v.into_keys().collect()))
        .collect()
}

/// Values as a `Current` with placeholder timestamps (for values known to be single).
fn as_current(values: &Values) -> Current {
    values
        .iter()
        .map(|(f, vs)| {
            (
                f.clone(),
                vs.iter()
                    .map(|v| (v.clone(), Timestamp { secs: 0, picos: 0 }))
                    .collect(),
            )
        })
        .collect()
}

fn progress(opts: &Options, len: usize, message: &'static str) -> indicatif::ProgressBar {
    if !opts.progress || len < 2000 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Test hook: stops the process at a named point, to prove interrupted runs converge.
fn crash_point(name: &str) {
    if std::env::var("GIT_MIXXX_TEST_CRASH").is_ok_and(|v| v == name) {
        eprintln!("git-mixxx: simulated crash at {name}");
        std::process::exit(99);
    }
}

/// Phase timings on stderr when `GIT_MIXXX_TRACE` is set, to see where a large library's
/// time goes.
struct Trace {
    last: Option<std::time::Instant>,
}

impl Trace {
    fn new() -> Trace {
        Trace {
            last: std::env::var_os("GIT_MIXXX_TRACE").map(|_| std::time::Instant::now()),
        }
    }

    fn mark(&mut self, phase: &str) {
        if let Some(last) = &mut self.last {
            eprintln!(
                "git-mixxx: {phase}: {:.1} ms",
                last.elapsed().as_secs_f64() * 1e3
            );
            *last = std::time::Instant::now();
        }
    }
}

/// How often the whole run is redone when the branch moves under it.
const ATTEMPTS: usize = 8;

/// Large structures a run no longer needs. Freeing a library's 100,000 small allocations takes
/// a noticeable part of a run: a process that exits right after can leave them to the
/// operating system by forgetting this (as the command line does); anything else drops it.
#[derive(Default)]
pub struct Leftovers(Vec<Box<dyn std::any::Any + Send>>);

impl Leftovers {
    fn keep<T: Send + 'static>(&mut self, value: T) {
        self.0.push(Box::new(value));
    }
}

/// Runs a sync (or, with `dry_run`, plans one).
pub fn run(ctx: &Context, opts: &Options) -> Result<Report> {
    run_keeping(ctx, opts, &mut Leftovers::default())
}

/// [`run`], leaving large structures in `leftovers` instead of freeing them.
pub fn run_keeping(ctx: &Context, opts: &Options, leftovers: &mut Leftovers) -> Result<Report> {
    let annex = &ctx.annex;
    let quick =
        opts.quick && !opts.all && opts.paths.is_empty() && !opts.push_only && !opts.pull_only;
    let mut trace = Trace::new();
    let fingerprint = if quick { Fingerprint::take(ctx) } else { None };
    trace.mark("fingerprint");
    if let Some(mut report) = fingerprint.as_ref().and_then(Fingerprint::matching_report) {
        report.dry_run = opts.dry_run;
        return Ok(report);
    }
    let _lock = if opts.dry_run {
        None
    } else {
        Some(annex.lock_journal()?)
    };
    let mut cache = LoadingCache::start(annex);
    let mut outcome = Err(Error::Contended);
    for _ in 0..ATTEMPTS {
        let mut keyed = Keyed::default();
        let result = attempt(ctx, opts, &mut cache, &mut keyed, leftovers, &mut trace);
        leftovers.keep(keyed);
        if let Some(report) = result.transpose() {
            outcome = report;
            break;
        }
    }
    leftovers.keep(cache.get());
    if let (Some(f), Ok(report)) = (&fingerprint, &outcome)
        && !opts.dry_run
    {
        let nothing = report.commit.is_none()
            && report.backup.is_none()
            && report.pull_pending.is_none()
            && report.failed.is_empty()
            && report.conflicts.is_empty();
        if nothing {
            f.save(ctx, report, &report.library_paths);
        } else {
            Fingerprint::clear(ctx);
        }
        trace.mark("recording the no-change shortcut");
    }
    outcome
}

/// The local cache, read on another thread while the first attempt reads Mixxx.
struct LoadingCache {
    loader: Option<std::thread::JoinHandle<Cache>>,
    cache: Cache,
}

impl LoadingCache {
    fn start(annex: &Annex) -> LoadingCache {
        let path = state::cache_path(annex);
        LoadingCache {
            loader: Some(std::thread::spawn(move || Cache::load(&path))),
            cache: Cache::default(),
        }
    }

    fn get_mut(&mut self) -> &mut Cache {
        if let Some(loader) = self.loader.take() {
            // A loader that panicked leaves an empty cache, rebuilt from the branch.
            self.cache = loader.join().unwrap_or_default();
        }
        &mut self.cache
    }

    fn get(mut self) -> Cache {
        self.get_mut();
        self.cache
    }
}

/// This Mixxx's keys in library order and their items.
#[derive(Default)]
struct Keyed {
    items: HashMap<String, Item>,
    order: Vec<String>,
}

/// The digest of each key's Mixxx values, in `order`, computed on all cores (comparing them
/// with the base's is most of a no-change run's planning).
fn mixxx_digests(order: &[String], items: &HashMap<String, Item>) -> Vec<Digest> {
    let digest = |k: &String| items.get(k).map(|i| i.m.digest()).unwrap_or_default();
    crate::on_cores(order, 4096, |part| {
        part.iter().map(digest).collect::<Vec<_>>()
    })
    .concat()
}

/// A key that has something to do, with the branch log text it was planned on.
struct Work<'k> {
    key: &'k String,
    /// The key's metadata log on the branch.
    path: String,
    push: Option<Push>,
    /// Fields to write to Mixxx, with their new values.
    pull: Vec<(String, BTreeSet<String>)>,
    conflicts: Vec<(String, BTreeSet<String>, BTreeSet<String>, Prefer)>,
}

/// What a key's plan writes to the branch.
struct Push {
    /// The log file's new content.
    content: String,
    /// The fields it changes, as bits in [`fields::all`] order.
    fields: u32,
    /// Whether git-annex's journal has an entry for the file.
    in_journal: bool,
}

impl Push {
    fn new(
        old: &str,
        line: &str,
        fields: impl Iterator<Item = &'static str>,
        in_journal: bool,
    ) -> Push {
        let mut content = String::with_capacity(old.len() + line.len() + 1);
        content.push_str(old);
        content.push_str(line);
        content.push('\n');
        let bits = fields.fold(0, |bits, f| {
            bits | fields::all().position(|g| g == f).map_or(0, |i| 1 << i)
        });
        Push {
            content,
            fields: bits,
            in_journal,
        }
    }
}

/// One attempt; `None` when the branch moved before the commit and the run must start over.
fn attempt(
    ctx: &Context,
    opts: &Options,
    cache: &mut LoadingCache,
    keyed: &mut Keyed,
    leftovers: &mut Leftovers,
    trace: &mut Trace,
) -> Result<Option<Report>> {
    let annex = &ctx.annex;
    let db = Database::open_read_only(&ctx.db)?;
    if !opts.dry_run && !opts.push_only {
        db.check_writable()?;
    }
    let library = db.read_library()?;
    drop(db);
    trace.mark("reading Mixxx");

    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };

    // Map tracks to keys.
    let cache = cache.get_mut();
    trace.mark("waiting for the cache");
    let mut mapper = Mapper::new(&annex.repo, &ctx.prefixes).map_err(annex::Error::from)?;
    mapper.remember(std::mem::take(&mut cache.keys_by_blob));
    let Keyed { items, order } = keyed;
    items.reserve(library.tracks.len());
    order.reserve(library.tracks.len());
    let locations: Vec<&str> = library.tracks.iter().map(|t| t.location.as_str()).collect();
    if opts.paths.is_empty() {
        report.library_paths = locations
            .iter()
            .filter_map(|l| mapper.relative(l))
            .map(|p| crate::quiet::path_hash(p.as_bytes()))
            .collect();
    }
    let mapped = mapper.keys(&locations);
    drop(locations);
    for (track, found) in library.tracks.into_iter().zip(mapped) {
        let (path, k) = match found {
            Ok(found) => found,
            Err(skip) => {
                // With PATH arguments, tracks outside them are not this run's business.
                if opts.paths.is_empty() {
                    *report
                        .skipped
                        .entry(skip.describe().to_owned())
                        .or_default() += 1;
                }
                continue;
            }
        };
        if !opts.paths.is_empty()
            && !opts
                .paths
                .iter()
                .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        {
            continue;
        }
        match items.get_mut(&k) {
            Some(item) => item.track_ids.push(track.id),
            None => {
                order.push(k.clone());
                items.insert(
                    k,
                    Item {
                        path,
                        track_ids: vec![track.id],
                        m: track.row,
                    },
                );
            }
        }
    }
    let (known, keys_learned) = mapper.into_known();
    cache.keys_by_blob = known;
    report.tracks = items.values().map(|i| i.track_ids.len()).sum();
    trace.mark("mapping tracks to keys");

    // The branch now, and the base.
    let tip = annex.tip()?;
    let (mut base, rebuilt) = load_base(annex, tip, cache, items)?;
    report.first_sync = base.commit.is_none();
    let mut reader = annex.tree_reader(tip)?;
    let mut base_reader = match base.commit {
        Some(c) => Some(annex.tree_reader(c)?),
        None => None,
    };
    let changed: Option<HashSet<String>> = match base.commit {
        Some(c) if c != tip => {
            let paths = annex.changed_paths(annex.tree_of(c)?, annex.tree_of(tip)?)?;
            Some(
                paths
                    .iter()
                    .filter_map(|p| key::key_of_metadata_log_path(p))
                    .collect(),
            )
        }
        Some(_) => Some(HashSet::new()),
        None => None,
    };
    if let Some(changed) = &changed {
        report.unknown_tracks = changed.iter().filter(|k| !items.contains_key(*k)).count();
    }
    let journal = journal_paths(annex);
    trace.mark("loading the base");

    // Plan. Keys whose Mixxx values match the base and whose log did not change since are
    // settled without reading anything.
    let now = Timestamp::now();
    let bar = progress(opts, order.len(), "planning");
    let mut work: Vec<Work<'_>> = Vec::new();
    // The digests of the keys planned here, once the plan is carried out.
    let mut after: HashMap<&String, Digest> = HashMap::new();
    // How many base keys this Mixxx still has.
    let mut in_base = 0;
    let digests = mixxx_digests(order, items);
    for (k, &digest) in order.iter().zip(&digests) {
        bar.inc(1);
        let item = &items[k];
        let base_digest = base.digests.get(k).copied();
        in_base += usize::from(base_digest.is_some());
        let branch_same = changed.as_ref().is_some_and(|c| !c.contains(k))
            && (journal.is_empty() || !journal.contains(&key::metadata_log_path(k)));
        if !opts.all && branch_same && base_digest == Some(digest) {
            report.unchanged += item.track_ids.len();
            continue;
        }
        let path = key::metadata_log_path(k);
        // No base and nothing on the branch (a first sync): the plan is to push Mixxx's values,
        // written straight from the row.
        let mut log = None;
        if base_digest.is_none() && !opts.pull_only {
            let found = branch_log(annex, &mut reader, &path, &journal)?;
            if found.text.is_empty() {
                after.insert(k, digest);
                if item.m.is_empty() {
                    report.unchanged += item.track_ids.len();
                    continue;
                }
                let line = logmet::format_line_of(now, item.m.values().map(|(f, v)| (f, true, v)));
                let fields = item.m.values().map(|(f, _)| f);
                work.push(Work {
                    key: k,
                    path,
                    push: Some(Push::new("", &line, fields, found.in_journal)),
                    pull: Vec::new(),
                    conflicts: Vec::new(),
                });
                continue;
            }
            log = Some(found);
        }
        let m = item.m.to_values();
        let b = match (base_digest, base_reader.as_mut()) {
            (Some(_), Some(r)) => {
                let text = r.read(&path)?.unwrap_or_default();
                Some(owned_sets(&MetLog::parse(&text).current()))
            }
            _ => None,
        };
        let single = |v: &Values| {
            fields::SINGLE
                .iter()
                .all(|(f, _)| v.get(*f).is_none_or(|s| s.len() <= 1))
        };
        let (g, text) = match &b {
            Some(b) if branch_same && single(b) => (as_current(b), None),
            _ => {
                let log = match log.take() {
                    Some(log) => log,
                    None => branch_log(annex, &mut reader, &path, &journal)?,
                };
                (log.current, Some((log.text, log.max, log.in_journal)))
            }
        };
        let mut plan = plan_key(&m, &g, b.as_ref(), opts);
        if opts.pull_only {
            plan.push.clear();
        }
        let settled = if plan.push.is_empty() {
            &plan.branch
        } else {
            &plan.result
        };
        after.insert(k, fields::digest(settled));
        if plan.push.is_empty() && plan.pull.is_empty() && plan.conflicts.is_empty() {
            report.unchanged += item.track_ids.len();
            continue;
        }
        // Serialize the new line now: a plan's changes are many small strings.
        let push = if plan.push.is_empty() {
            None
        } else {
            let (text, max, in_journal) = match text {
                Some(t) => t,
                None => {
                    let log = branch_log(annex, &mut reader, &path, &journal)?;
                    (log.text, log.max, log.in_journal)
                }
            };
            let line = logmet::format_line(now.after(max), &plan.push);
            let fields = fields::all().filter(|f| plan.push.iter().any(|c| c.field == *f));
            Some(Push::new(&text, &line, fields, in_journal))
        };
        work.push(Work {
            key: k,
            path,
            push,
            pull: plan.pull,
            conflicts: plan.conflicts,
        });
    }
    bar.finish_and_clear();
    trace.mark("planning");

    // Tally.
    for w in &work {
        let item = &items[w.key];
        if let Some(push) = &w.push {
            report.pushed += item.track_ids.len();
            for (_, f) in fields::all()
                .enumerate()
                .filter(|(i, _)| push.fields & (1 << i) != 0)
            {
                *report.pushed_fields.entry(f.to_owned()).or_default() += 1;
            }
        }
        if !w.pull.is_empty() {
            report.pulled += item.track_ids.len();
            for (f, _) in &w.pull {
                *report.pulled_fields.entry(f.clone()).or_default() += 1;
            }
        }
        for (field, mv, gv, winner) in &w.conflicts {
            report.conflicts.push(Conflict {
                path: item.path.clone(),
                key: w.key.clone(),
                field: field.clone(),
                mixxx: mv.iter().cloned().collect(),
                branch: gv.iter().cloned().collect(),
                winner: match winner {
                    Prefer::Git => "git",
                    Prefer::Mixxx => "mixxx",
                }
                .to_owned(),
            });
        }
    }
    let new_keys: Vec<&String> = order
        .iter()
        .filter(|k| !base.digests.contains_key(*k))
        .collect();
    if opts.dry_run {
        return Ok(Some(report));
    }
    let any_pull = work.iter().any(|w| !w.pull.is_empty());
    let any_push = work.iter().any(|w| w.push.is_some());
    let full_scope = opts.paths.is_empty();

    // Mixxx first.
    let mut pulls_applied = !any_pull;
    if any_pull {
        if opts.push_only {
            report.pull_pending = Some("--push-only was given".into());
        } else if let Some(holder) = running::holder(&ctx.db) {
            report.pull_pending = Some(format!(
                "Mixxx is running ({holder} has the database open); close Mixxx and sync again to apply them"
            ));
        } else {
            let mut db = Database::open_for_writing(&ctx.db)?;
            let (mut writer, backup) = db.begin_write()?;
            report.backup = Some(backup);
            for w in &work {
                let item = &items[w.key];
                for (field, values) in &w.pull {
                    for id in &item.track_ids {
                        match writer.set_field(*id, field, values) {
                            Ok(()) => {}
                            Err(
                                e @ (mixxx::write::Error::InvalidValue { .. }
                                | mixxx::write::Error::SeveralValues { .. }),
                            ) => {
                                report.failed.push(Failure {
                                    path: item.path.clone(),
                                    field: field.clone(),
                                    reason: e.to_string(),
                                });
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
            crash_point("before-mixxx-commit");
            writer.commit()?;
            crash_point("after-mixxx-commit");
            pulls_applied = true;
        }
    }

    let needs_commit = any_push
        || (any_pull && pulls_applied)
        || !report.conflicts.is_empty()
        || !new_keys.is_empty();
    if !needs_commit {
        if keys_learned || rebuilt {
            if let Some(commit) = base.commit {
                cache.set_base(commit, base.digests);
            }
            save_cache(cache, annex, keys_learned);
        } else {
            leftovers.keep(base.digests);
        }
        return Ok(Some(report));
    }
    let finished = pulls_applied && full_scope;

    // Then the branch: pushed lines, new synced keys, the run record.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut journal_updates: Vec<(String, String)> = Vec::new();
    for w in &mut work {
        if let Some(push) = w.push.take() {
            let path = std::mem::take(&mut w.path);
            if push.in_journal {
                journal_updates.push((path.clone(), push.content.clone()));
            }
            files.push((path, push.content.into_bytes()));
        }
    }
    let mut shards: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for k in &new_keys {
        let id = state::synced_id(k);
        shards
            .entry(state::synced_shard(&annex.uuid, &id))
            .or_default()
            .insert(id);
    }
    for (path, keys) in shards {
        let mut all: BTreeSet<String> = reader
            .read(&path)?
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let before = all.len();
        all.extend(keys);
        if all.len() != before {
            let text: String = all
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| format!("{l}\n"))
                .collect();
            files.push((path, text.into_bytes()));
        }
    }
    let record = RunRecord {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        uuid: annex.uuid.clone(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        db: ctx.db.display().to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        tracks: report.tracks,
        pushed: report.pushed,
        pulled: if pulls_applied { report.pulled } else { 0 },
        reconciled: tip.to_string(),
        finished,
        conflict_count: report.conflicts.len(),
        conflicts: report
            .conflicts
            .iter()
            .take(state::CONFLICTS_KEPT)
            .cloned()
            .collect(),
    };
    let runs_path = state::runs_path(&annex.uuid);
    let runs = reader.read(&runs_path)?.unwrap_or_default();
    files.push((
        runs_path,
        format!("{runs}{}\n", record.to_line()).into_bytes(),
    ));

    trace.mark("writing Mixxx and preparing the commit");
    let message = commit_message(&report, &record, pulls_applied);
    let Some(commit) = annex.commit(tip, files, &message)? else {
        // The branch moved: the next attempt starts over with the same base.
        if let Some(old) = base.commit {
            cache.set_base(old, base.digests);
        }
        return Ok(None);
    };
    for (path, content) in &journal_updates {
        annex.write_journal_entry(path, content)?;
    }
    report.commit = Some(commit.to_string());
    trace.mark("committing");
    crash_point("after-branch-commit");
    if finished {
        // Keys not planned kept their base values; every key of this Mixxx is synced now.
        if in_base != base.digests.len() {
            base.digests.retain(|k, _| items.contains_key(k));
        }
        for (k, d) in after {
            base.digests.insert(k.clone(), d);
        }
        cache.set_base(commit, base.digests);
    } else if let Some(old) = base.commit {
        cache.set_base(old, base.digests);
    }
    save_cache(cache, annex, keys_learned);
    trace.mark("saving the cache");
    Ok(Some(report))
}

/// Saves the local cache; failing only costs speed next time, so it is a warning.
fn save_cache(cache: &Cache, annex: &Annex, keys_changed: bool) {
    if let Err(e) = cache.save(&state::cache_path(annex), keys_changed) {
        eprintln!(
            "git-mixxx: warning: could not save the local cache ({e}); the next run rebuilds it from the branch"
        );
    }
}

fn counts(map: &BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn commit_message(report: &Report, record: &RunRecord, pulls_applied: bool) -> String {
    let mut msg = format!(
        "git-mixxx sync on {}: {} tracks pushed, {} pulled",
        record.host,
        report.pushed,
        if pulls_applied { report.pulled } else { 0 }
    );
    if !report.conflicts.is_empty() {
        msg.push_str(&format!(", {} conflicts", report.conflicts.len()));
    }
    msg.push_str("\n\n");
    if !report.pushed_fields.is_empty() {
        msg.push_str(&format!("pushed: {}\n", counts(&report.pushed_fields)));
    }
    if pulls_applied && !report.pulled_fields.is_empty() {
        msg.push_str(&format!("pulled: {}\n", counts(&report.pulled_fields)));
    }
    msg.push_str(&format!("\n{} {}\n", state::TRAILER_CLONE, record.uuid));
    if record.finished {
        msg.push_str(state::TRAILER_FINISHED);
        msg.push('\n');
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, &[&str])]) -> Values {
        pairs
            .iter()
            .map(|(f, vs)| (f.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect()
    }

    fn cur(pairs: &[(&str, &[(&str, i64)])]) -> Current {
        pairs
            .iter()
            .map(|(f, vs)| {
                (
                    f.to_string(),
                    vs.iter()
                        .map(|(v, t)| (v.to_string(), Timestamp { secs: *t, picos: 0 }))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn mixxx_change_is_pushed_and_branch_change_is_pulled() {
        let b = vals(&[("rating", &["3"]), ("color", &["#FF0000"])]);
        let m = vals(&[("rating", &["4"]), ("color", &["#FF0000"])]);
        let g = cur(&[("rating", &[("3", 1)]), ("color", &[("#00FF00", 2)])]);
        let plan = plan_key(&m, &g, Some(&b), &Options::default());
        assert_eq!(plan.conflicts, vec![]);
        let pushed: Vec<String> = plan
            .push
            .iter()
            .map(|c| format!("{}{}{}", c.field, if c.set { '+' } else { '-' }, c.value))
            .collect();
        assert_eq!(pushed, ["rating-3", "rating+4"]);
        assert_eq!(
            plan.pull,
            vec![("color".to_owned(), BTreeSet::from(["#00FF00".to_owned()]))]
        );
    }

    #[test]
    fn conflict_prefers_git_by_default_and_mixxx_on_request() {
        let b = vals(&[("rating", &["3"])]);
        let m = vals(&[("rating", &["5"])]);
        let g = cur(&[("rating", &[("2", 1)])]);
        let plan = plan_key(&m, &g, Some(&b), &Options::default());
        assert_eq!(plan.conflicts.len(), 1);
        assert!(plan.push.is_empty());
        assert_eq!(plan.pull[0].1, BTreeSet::from(["2".to_owned()]));
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(&m, &g, Some(&b), &opts);
        assert!(plan.pull.is_empty());
        assert_eq!(plan.push.len(), 2);
    }

    #[test]
    fn sets_merge_per_element() {
        let b = vals(&[("crate", &["A", "B"])]);
        let m = vals(&[("crate", &["A", "B", "X"])]);
        let g = cur(&[("crate", &[("B", 1), ("Y", 1)])]);
        let plan = plan_key(&m, &g, Some(&b), &Options::default());
        assert!(plan.conflicts.is_empty());
        assert_eq!(
            plan.pull,
            vec![(
                "crate".to_owned(),
                ["B", "X", "Y"].iter().map(|s| s.to_string()).collect()
            )]
        );
        assert_eq!(plan.push.len(), 1);
        assert!(plan.push[0].set && plan.push[0].value == "X");
    }

    #[test]
    fn several_values_resolve_to_the_newest_and_are_written_back() {
        let m = vals(&[("rating", &["2"])]);
        let b = vals(&[("rating", &["2"])]);
        let g = cur(&[("rating", &[("2", 10), ("5", 20)])]);
        let plan = plan_key(&m, &g, Some(&b), &Options::default());
        assert_eq!(plan.pull[0].1, BTreeSet::from(["5".to_owned()]));
        assert_eq!(
            plan.push,
            vec![Change {
                field: "rating".into(),
                set: false,
                value: "2".into()
            }]
        );
        assert_eq!(plan.conflicts.len(), 1, "concurrent sets are a conflict");
        // Where this Mixxx holds the winning value, the conflict is recorded too.
        let m5 = vals(&[("rating", &["5"])]);
        let plan = plan_key(&m5, &g, Some(&m5), &Options::default());
        assert!(plan.pull.is_empty());
        assert_eq!(plan.conflicts.len(), 1);
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(&m, &g, Some(&b), &opts);
        assert!(plan.pull.is_empty());
        assert_eq!(plan.push.len(), 1);
        assert_eq!(plan.push[0].value, "5");
    }

    #[test]
    fn first_sync_fills_empty_sides() {
        let m = vals(&[("rating", &["4"])]);
        let g = cur(&[("color", &[("#123456", 1)])]);
        let plan = plan_key(&m, &g, None, &Options::default());
        assert!(plan.conflicts.is_empty());
        assert_eq!(plan.push.len(), 1);
        assert_eq!(plan.pull.len(), 1);
    }

    #[test]
    fn all_makes_mixxx_win() {
        let m = vals(&[("crate", &["A"])]);
        let g = cur(&[("crate", &[("B", 1)]), ("rating", &[("5", 1)])]);
        let opts = Options {
            all: true,
            ..Options::default()
        };
        let plan = plan_key(&m, &g, None, &opts);
        assert!(plan.pull.is_empty());
        assert_eq!(plan.push.len(), 3);
    }
}

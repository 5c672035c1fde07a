//! The sync engine, in stages with a type between each:
//!
//! 1. [`snapshot`]: read this Mixxx (one read transaction) and group its tracks by git-annex
//!    key ([`snapshot::Keyed`]);
//! 2. [`base`]: this clone's last finished sync, the base of the three-way merge; then
//!    [`relink`]: rows whose file moved move to its new path (in Mixxx, before anything else
//!    is written), and the attempt starts over;
//! 3. [`plan`]: every decision per key and field ([`plan::Plan`]), against the branch as
//!    [`branch`] reads it; nothing is written before it is complete;
//! 4. [`apply`]: the pulls, written to Mixxx (one transaction, after a backup, only while
//!    Mixxx is not running);
//! 5. [`commit`]: the pushed logs and the sync state, as one commit on the branch.
//!
//! That order makes every interruption safe: if the run stops after the Mixxx transaction, the
//! base has not moved, Mixxx now equals the branch for the pulled fields, and the next run
//! pushes what is left. If it stops before, nothing happened. [`fingerprint`] skips the whole
//! run when nothing it reads changed since the last run that found nothing to do; the engine
//! reports what it does to an [`observer::Observer`] and prints nothing.

pub mod apply;
mod base;
pub mod branch;
pub(crate) mod commit;
mod error;
pub mod fingerprint;
pub mod guard;
pub mod import;
pub mod observer;
mod options;
pub mod order;
pub mod plan;
pub mod relink;
mod report;
pub mod snapshot;

pub use error::{Error, Result};
pub use options::{Options, Prefer};
pub use report::{Action, Failure, Report, TrackChange, field_counts};

use crate::annex::logmet::Timestamp;
use crate::annex::{self, Annex};
use crate::context::Context;
use crate::mixxx::marker::Marker;
use crate::state::{self, Cache, RunRecord, Synced};
use apply::Applied;
use base::{Base, LoadingCache};
use branch::{Branch, Logs};
use error::crash_point;
use fingerprint::Fingerprint;
use observer::{Clock, Observer, Stage, Warning};
use plan::Plan;
use relink::Relink;
use snapshot::Keyed;

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
pub fn run(ctx: &Context, opts: &Options, observer: &mut dyn Observer) -> Result<Report> {
    run_keeping(ctx, opts, observer, &mut Leftovers::default())
}

/// [`run`], leaving large structures in `leftovers` instead of freeing them.
pub fn run_keeping(
    ctx: &Context,
    opts: &Options,
    observer: &mut dyn Observer,
    leftovers: &mut Leftovers,
) -> Result<Report> {
    let mut clock = Clock::new(observer);
    let fingerprint = if opts.shortcut_allowed() {
        Fingerprint::take(ctx)
    } else {
        None
    };
    clock.done(Stage::Fingerprint);
    if let Some(mut report) = fingerprint.as_ref().and_then(Fingerprint::matching_report) {
        report.dry_run = opts.dry_run;
        return Ok(report);
    }
    let _lock = if opts.dry_run {
        None
    } else {
        Some(ctx.annex.lock_journal()?)
    };
    let mut cache = LoadingCache::start(&ctx.annex);
    let mut outcome = Err(Error::Contended);
    let marker_id = Marker::new_id(&ctx.annex.uuid);
    let mut relinked = None;
    let mut imported = None;
    for _ in 0..ATTEMPTS {
        let mut keyed = Keyed::default();
        let run = Run {
            ctx,
            opts,
            marker_id: &marker_id,
            relinked: &mut relinked,
            imported: &mut imported,
        };
        let result = attempt(run, &mut cache, &mut keyed, &mut clock);
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
        if report.is_quiet() {
            f.save(ctx, report, &report.library_paths);
        } else {
            Fingerprint::clear(ctx);
        }
        clock.done(Stage::RecordingShortcut);
    }
    outcome
}

/// What every attempt of a run shares.
struct Run<'a> {
    ctx: &'a Context,
    opts: &'a Options,
    /// One new database marker for the run, whichever attempt writes it.
    marker_id: &'a str,
    /// The rows this run moved to their files' new paths, and the backup taken first.
    relinked: &'a mut Option<(Vec<Relink>, std::path::PathBuf)>,
    /// The files this run added to Mixxx, and the backup taken first.
    imported: &'a mut Option<(Vec<String>, std::path::PathBuf)>,
}

/// One attempt; `None` when the run must start over: the branch moved before the commit, or
/// rows were relinked and the library is read again.
fn attempt(
    run: Run<'_>,
    cache: &mut LoadingCache,
    keyed: &mut Keyed,
    clock: &mut Clock<'_>,
) -> Result<Option<Report>> {
    let Run {
        ctx,
        opts,
        marker_id,
        relinked,
        imported,
    } = run;
    let annex = &ctx.annex;
    let mut library = snapshot::read(&ctx.db, opts)?;
    let db_marker = library.marker.take();
    let playlists = std::mem::take(&mut library.playlists);
    clock.done(Stage::ReadingMixxx);
    let cache = cache.get_mut();
    clock.done(Stage::WaitingForCache);
    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let keys_learned = snapshot::key_tracks(annex, &ctx.prefixes, library, cache, opts, keyed)
        .map_err(annex::Error::from)?;
    report.tracks = keyed.tracks();
    report.skipped = std::mem::take(&mut keyed.skipped);
    report.library_paths = std::mem::take(&mut keyed.library_paths);
    clock.done(Stage::MappingTracks);

    let tip = annex.tip()?;
    let (mut base, rebuilt) = base::load(annex, tip, cache, &keyed.items)?;
    if base.belongs_elsewhere(db_marker.as_ref()) {
        // Its rows have no base: the branch is the truth wherever it has history.
        report.database_replaced = true;
        base = Base::none();
    }
    if let Some((moved, backup)) = relinked.as_ref() {
        report.relinked.clone_from(moved);
        report.backup = Some(backup.clone());
    } else if !keyed.lost.is_empty() {
        let relinks = relink::find(annex, &ctx.prefixes, keyed, &base.digests, cache)?;
        if !relinks.is_empty() {
            if opts.dry_run {
                // Their rows are planned by the sync after the relink, not as they are now.
                keyed.forget(relinks.iter().map(|r| r.key.as_str()));
                report.relinked = relinks;
            } else {
                match apply::relink(&ctx.db, &relinks, opts)? {
                    Applied::Written { backup, .. } => {
                        *relinked = Some((relinks, backup));
                        keep_base(cache, base);
                        return Ok(None);
                    }
                    Applied::Held(why) => {
                        report.relinks_waiting = relinks;
                        report.pull_pending = Some(why);
                    }
                    Applied::Nothing => {}
                }
            }
        }
    }
    if let Some((done, backup)) = imported.as_ref() {
        report.imported.clone_from(done);
        report.backup.get_or_insert_with(|| backup.clone());
    } else if ctx.import && !opts.no_import && opts.paths.is_empty() && !opts.push_only {
        let scope = import::Scope {
            prefixes: &ctx.prefixes,
            keyed,
            synced: &base.digests,
            db: &ctx.db,
        };
        let mut probe = Branch::open(annex, tip, None)?;
        let imports = import::find(annex, &scope, &mut probe, cache)?;
        let paths: Vec<String> = imports.iter().map(|i| i.path.clone()).collect();
        if opts.dry_run {
            report.imported = paths;
        } else if !imports.is_empty() {
            match apply::import(&ctx.db, &imports, opts)? {
                Applied::Written { backup, .. } => {
                    *imported = Some((paths, backup));
                    keep_base(cache, base);
                    return Ok(None);
                }
                Applied::Held(why) => {
                    report.imports_waiting = paths;
                    report.pull_pending.get_or_insert(why);
                }
                Applied::Nothing => {}
            }
        }
    }
    base.forget_other_rows(&keyed.items);
    report.first_sync = base.commit.is_none() && !report.database_replaced;
    let mut branch = Branch::open(annex, tip, base.commit)?;
    for (key, old) in base.retagged(&keyed.items) {
        // Only where git-annex copied the old key's metadata to the new one.
        if !branch.now(&key)?.text.is_empty() {
            branch.base_from(&key, &old);
            base.carry(key, &old);
        }
    }
    report.unknown_tracks = branch.unknown_keys(keyed);
    clock.done(Stage::LoadingBase);

    let cx = order::Context {
        uuid: &annex.uuid,
        now: Timestamp::now(),
        opts,
        has_base: base.commit.is_some(),
    };
    let matched = order::read(&playlists, keyed, &mut branch, &cx)?;
    let progress = |done, total| clock.observer.progress(Stage::Planning, done, total);
    let mut plan = plan::plan(
        keyed,
        &base.digests,
        &base.held,
        &mut branch,
        &matched.memberships,
        opts,
        Timestamp::now(),
        progress,
    )?;
    let pulled: rustc_hash::FxHashMap<&str, _> = (plan.tracks.iter())
        .flat_map(|t| t.pull.iter().map(move |(f, v)| (t.key.as_str(), f, v)))
        .filter_map(|(key, f, v)| (*f == crate::fields::Field::Playlist).then_some((key, v)))
        .collect();
    plan.orders = order::plan(matched, keyed, &pulled, &cx);
    for warning in std::mem::take(&mut plan.orders.warnings) {
        clock.observer.warning(warning);
    }
    clock.done(Stage::Planning);
    report.tally(&plan, opts.details);
    if ctx.clear_guard && !opts.allow_clears {
        report.refused = guard::check(&plan, keyed.items.len());
    }
    if opts.dry_run || report.refused.is_some() {
        return Ok(Some(report));
    }

    // Keys synced with no row or another row than now: their row is recorded.
    let new_keys: Vec<(&String, i64)> = keyed
        .order
        .iter()
        .filter(|k| !base.digests.contains_key(*k) || base.carried.contains(*k))
        .filter_map(|k| Some((k, *keyed.items[k].track_ids.first()?)))
        .collect();
    // A run that commits and may finish marks the database anew, so that the next run knows
    // it again (and a restored copy of it apart).
    let records = plan.writes_logs() || !report.conflicts.is_empty() || !new_keys.is_empty();
    let marker = ((records || plan.pulls()) && opts.paths.is_empty() && !opts.push_only)
        .then(|| Marker::next(db_marker.as_ref(), marker_id))
        .flatten();
    let (applied, marked) = apply::apply(&ctx.db, &plan, keyed, opts, marker.as_ref())?;
    let db_marker = if marked { marker } else { db_marker };
    let needs_commit = records || matches!(applied, Applied::Written { .. });
    let pulled = match applied {
        Applied::Nothing => 0,
        Applied::Held(why) => {
            report.hold_back(why);
            0
        }
        Applied::Written { backup, failures } => {
            report.backup = Some(backup);
            report.failed.extend(failures);
            report.pulled
        }
    };
    if !needs_commit {
        keep_base(cache, base);
        if keys_learned || rebuilt {
            save_cache(cache, annex, keys_learned, clock);
        }
        return Ok(Some(report));
    }
    let finished = report.pull_pending.is_none() && opts.paths.is_empty();
    let mut record = run_record(ctx, &report, tip, pulled, finished);
    record.marker = db_marker.map(|m| m.current);
    record.held = held_values(&plan);

    let mut files = commit::Files::pushed(&mut plan);
    files.add_synced(&mut branch.reader, &annex.uuid, &new_keys)?;
    files.add_record(&mut branch.reader, &record)?;
    clock.done(Stage::WritingMixxx);
    let message = commit::message(&report, &record);
    let Some(commit) = files.commit(annex, tip, &message)? else {
        // The branch moved: the next attempt starts over with the same base.
        keep_base(cache, base);
        return Ok(None);
    };
    report.commit = Some(commit.to_string());
    clock.done(Stage::Committing);
    crash_point("after-branch-commit")?;
    if finished {
        settle_base(cache, base, commit, keyed, plan);
    } else {
        keep_base(cache, base);
    }
    save_cache(cache, annex, keys_learned, clock);
    Ok(Some(report))
}

/// The record of this run for the branch.
pub(crate) fn run_record(
    ctx: &Context,
    report: &Report,
    tip: gix::ObjectId,
    pulled: usize,
    finished: bool,
) -> RunRecord {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    RunRecord {
        id: state::run_id(&ctx.annex.uuid, &time),
        undid: None,
        time,
        uuid: ctx.annex.uuid.clone(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        db: ctx.db.display().to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        tracks: report.tracks,
        pushed: report.pushed,
        pulled,
        reconciled: tip.to_string(),
        finished,
        conflict_count: report.conflicts.len(),
        conflicts: report
            .conflicts
            .iter()
            .take(state::CONFLICTS_KEPT)
            .cloned()
            .collect(),
        marker: None,
        held: Vec::new(),
    }
}

/// The fields the plan holds, with what Mixxx keeps, for the run record.
fn held_values(plan: &Plan<'_>) -> Vec<state::HeldValue> {
    plan.tracks
        .iter()
        .flat_map(|t| {
            t.held.iter().map(|h| state::HeldValue {
                key: t.key.clone(),
                field: h.field.name().to_owned(),
                kept: h.kept.iter().cloned().collect(),
            })
        })
        .collect()
}

/// Puts the base back in the cache unchanged.
fn keep_base(cache: &mut Cache, base: Base) {
    if let Some(commit) = base.commit {
        cache.set_base(commit, base.digests);
    }
}

/// The new base after a finished run: the commit, with every key of this Mixxx synced (keys
/// not planned kept their base values).
fn settle_base(
    cache: &mut Cache,
    mut base: Base,
    commit: gix::ObjectId,
    keyed: &Keyed,
    plan: Plan<'_>,
) {
    if plan.in_base != base.digests.len() {
        base.digests.retain(|k, _| keyed.items.contains_key(k));
    }
    for (k, digest) in plan.settled {
        let row = keyed
            .items
            .get(k)
            .and_then(|i| i.track_ids.first())
            .copied();
        base.digests.insert(k.clone(), Synced { digest, row });
    }
    cache.set_base(commit, base.digests);
}

/// Saves the local cache; failing only costs speed next time, so it is a warning.
fn save_cache(cache: &Cache, annex: &Annex, keys_changed: bool, clock: &mut Clock<'_>) {
    if let Err(e) = cache.save(&state::cache_path(annex), keys_changed) {
        clock.observer.warning(Warning::CacheNotSaved(e));
    }
    clock.done(Stage::SavingCache);
}

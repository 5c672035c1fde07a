//! The sync engine, in stages with a type between each:
//!
//! 1. [`snapshot`]: read this Mixxx (one read transaction) and group its tracks by git-annex
//!    key ([`snapshot::Keyed`]);
//! 2. [`base`]: this clone's last finished sync of this database, the base of the three-way
//!    merge (kept locally, per database); then
//!    [`relink`]: rows whose file moved move to its new path (in Mixxx, before anything else
//!    is written), and the attempt starts over;
//! 3. [`plan`]: every decision per key and field ([`plan::Plan`]), against the branch as
//!    [`branch`] reads it; nothing is written before it is complete;
//! 4. [`apply`]: the pulls, written to Mixxx (one transaction, after a backup, only while
//!    Mixxx is not running);
//! 5. [`commit`]: the pushed logs and the sync state, as one commit on the branch; then this
//!    clone's own state (the new base, the run) is kept locally.
//!
//! That order makes every interruption safe: if the run stops after the Mixxx transaction, the
//! base has not moved, Mixxx now equals the branch for the pulled fields, and the next run
//! pushes what is left. If it stops before, nothing happened. If it stops after the commit,
//! the old base still holds (Mixxx equals the branch for all the run changed), and the next
//! run takes the run back from this clone's reflog ([`crate::state::vouch`]). [`fingerprint`] skips the whole
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
pub mod ledger;
pub mod observer;
mod options;
pub mod order;
pub mod plan;
pub mod relink;
mod report;
mod rows;
pub mod sessions;
pub mod snapshot;

pub use error::{Error, Result};
pub use options::{Options, Prefer};
pub use report::{Action, Failure, Report, TrackChange, field_counts};

use crate::annex::logmet::Timestamp;
use crate::annex::{self, Annex};
use crate::context::Context;
use crate::mixxx::marker::Marker;
use crate::state::local::{Local, OwnRun};
use crate::state::{self, Cache, RunRecord, Synced, vouch};
use crate::worktree::Key;
use apply::Applied;
use base::{Base, Found, LoadingCache};
use branch::{Branch, Logs};
use error::crash_point;
use fingerprint::{Fingerprint, Match};
use ledger::Ledger;
use observer::{Clock, Observer, Stage, Warning};
use plan::Plan;
use snapshot::Keyed;

/// How often the whole run is redone when the branch moves under it.
const ATTEMPTS: usize = 8;

/// Large structures a run no longer needs. Freeing a library's 100,000 small allocations takes
/// a noticeable part of a run (0.3 s of CPU at 100,000 tracks with cues): a process that exits
/// right after can leave them to the operating system by forgetting this (as the command line
/// does after a sync); dropped, it frees them on a thread of its own, so that the caller goes
/// on at once (a process that exits meanwhile never waits for it).
#[derive(Default)]
pub struct Leftovers(Vec<Box<dyn std::any::Any + Send>>);

impl Leftovers {
    fn keep<T: Send + 'static>(&mut self, value: T) {
        self.0.push(Box::new(value));
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let values = std::mem::take(&mut self.0);
        if values.is_empty() {
            return;
        }
        // When no thread can be started, its closure, and the values with it, are dropped here.
        let _ = std::thread::Builder::new()
            .name("git-mixxx-free".to_owned())
            .spawn(move || drop(values));
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
    let found = fingerprint.as_ref().map_or(Match::No, |f| f.matching(ctx));
    if found.compared_content() {
        clock.done(Stage::ComparingContent);
    }
    if let (Match::Content(_), Some(f)) = (&found, &fingerprint)
        && !opts.dry_run
    {
        f.refresh(ctx);
    }
    if let Match::Stat(mut report) | Match::Content(mut report) = found {
        report.dry_run = opts.dry_run;
        return Ok(report);
    }
    let _lock = if opts.dry_run {
        None
    } else {
        let lock = ctx.annex.lock_journal()?;
        Local::new(&ctx.annex.repo, &ctx.annex.uuid).remove_temporary_files();
        Some(lock)
    };
    let mut cache = LoadingCache::start(&ctx.annex);
    let mut outcome = Err(Error::Contended);
    let mut markers = Vec::new();
    let mut changed = rows::Changed::default();
    let mut ledger = Ledger::load(&ledger::path(&ctx.annex));
    let ((), skipped) = crate::bounds::collect(|| {
        for _ in 0..ATTEMPTS {
            let mut keyed = Keyed::default();
            let run = Run {
                ctx,
                opts,
                markers: &mut markers,
                changed: &mut changed,
                ledger: &mut ledger,
            };
            let result = attempt(run, &mut cache, &mut keyed, &mut clock);
            leftovers.keep(keyed);
            if let Some(report) = result.transpose() {
                outcome = report;
                break;
            }
        }
    });
    let all_read = skipped.is_empty();
    for skipped in skipped {
        clock.observer.warning(Warning::Skipped(skipped));
    }
    leftovers.keep(cache.get());
    if let (Some(f), Ok(report)) = (&fingerprint, &outcome)
        && !opts.dry_run
    {
        record_shortcut(ctx, f, report, all_read)?;
        clock.done(Stage::RecordingShortcut);
    }
    outcome
}

/// Records what the next run may skip: after a run that found nothing to do, its fingerprint;
/// after one that committed and left everything settled (and read everything), the
/// fingerprint of what it left; else nothing.
fn record_shortcut(ctx: &Context, f: &Fingerprint, report: &Report, all_read: bool) -> Result<()> {
    if report.is_quiet() {
        f.save(ctx, report, &report.library_paths, report.content.as_ref());
        return Ok(());
    }
    match (report.settled().filter(|_| all_read), &report.commit) {
        (Some(settled), Some(commit)) => {
            crash_point("before-settled-shortcut")?;
            match gix::ObjectId::from_hex(commit.as_bytes()) {
                Ok(commit) => f.save_settled(ctx, &settled, commit),
                Err(_) => Fingerprint::clear(ctx),
            }
        }
        _ => Fingerprint::clear(ctx),
    }
    Ok(())
}

/// What every attempt of a run shares.
struct Run<'a> {
    ctx: &'a Context,
    opts: &'a Options,
    /// The database markers the run's attempts wrote ([`next_marker`]).
    markers: &'a mut Vec<String>,
    /// What the run changed in Mixxx's rows before planning ([`rows`]).
    changed: &'a mut rows::Changed,
    /// What this clone remembers of its databases ([`ledger`]).
    ledger: &'a mut Ledger,
}

/// What reading this Mixxx found besides its tracks.
struct Read {
    /// The database's marker ([`crate::mixxx::marker`]).
    marker: Option<Marker>,
    playlists: Vec<crate::mixxx::Playlist>,
    /// Its history sessions.
    history: Vec<crate::mixxx::history::Session>,
    /// What the ledger remembers of this database.
    ledger: ledger::Database,
    /// Whether mapping tracks to keys learned keys the cache did not have.
    keys_learned: bool,
    /// The state of the database's files the read saw ([`crate::mixxx::disk`]).
    disk: Option<crate::mixxx::disk::State>,
    /// Started before the read: whether the run's write is made on what it read.
    watch: Option<crate::mixxx::disk::Watch>,
}

/// One attempt, stage by stage; `None` when the run must start over: rows were relinked or
/// files imported (the library is read again), or the branch moved before the commit.
fn attempt(
    mut run: Run<'_>,
    cache: &mut LoadingCache,
    keyed: &mut Keyed,
    clock: &mut Clock<'_>,
) -> Result<Option<Report>> {
    let (ctx, opts) = (run.ctx, run.opts);
    let (mut read, mut report) = read_mixxx(ctx, opts, cache, keyed, clock)?;
    read.ledger = run.ledger.database(read.marker.as_ref());
    let cache = cache.get_mut();
    let tip = ctx.annex.tip()?;
    let (mut base, found) = load_base(ctx, cache, keyed, &read, &mut report)?;
    if rows::change_rows(&mut run, &base, keyed, cache, tip, &mut report)? {
        keep_base(cache, base);
        return Ok(None);
    }
    let (mut plan, mut branch) = make_plan(&run, tip, &mut base, keyed, &read, &mut report, clock)?;
    let future = base::future_dated(&ctx.annex, &base, &branch.future)?;
    report.future_dated = future
        .iter()
        .filter_map(|(k, _)| keyed.items.get(k.as_str()).map(|i| i.path.clone()))
        .collect();
    clock.done(Stage::Planning);
    report.tally(&plan, opts.details);
    if ctx.clear_guard && !opts.allow_clears {
        report.refused = guard::check(&plan, keyed.items.len());
    }
    if opts.dry_run || report.refused.is_some() {
        return Ok(Some(report));
    }
    let (written, marker, remembered) =
        write_mixxx(&mut run, tip, keyed, &base, &plan, &read, &mut report)?;
    remember(&mut run, &read, remembered, clock);
    clock.done(Stage::WritingMixxx);
    let Some(ToCommit { record, new_keys }) = written else {
        match found {
            Found::Rebuilt => {
                keep_state(ctx, cache, base, marker.as_ref(), None, clock);
            }
            _ => keep_base(cache, base),
        }
        if read.keys_learned {
            save_keys(cache, &ctx.annex, clock);
        }
        return Ok(Some(report));
    };
    let commit = commit_run(
        ctx,
        tip,
        &mut plan,
        &mut branch,
        &record,
        &new_keys,
        &report,
    )?;
    clock.done(Stage::Committing);
    let Some(commit) = commit else {
        // The branch moved: the next attempt starts over with the same base.
        keep_base(cache, base);
        return Ok(None);
    };
    report.commit = Some(commit.to_string());
    crash_point("after-branch-commit")?;
    let finished = record.finished;
    let base = match finished {
        true => settle_base(base, commit, keyed, plan, &record, future),
        false => base,
    };
    let own = OwnRun {
        commit: commit.to_string(),
        record,
    };
    // The pending play counts go once the base that knows them is kept (not before: a run
    // stopped in between would take them for new plays).
    let kept = keep_state(ctx, cache, base, marker.as_ref(), Some(own), clock);
    if finished && kept {
        let current = marker.as_ref().map(|m| m.current.as_str());
        forget_pending(&mut run, current, clock);
    }
    if read.keys_learned {
        save_keys(cache, &ctx.annex, clock);
    }
    Ok(Some(report))
}

/// Reads this Mixxx and groups its tracks by key: the report starts with what it found.
fn read_mixxx(
    ctx: &Context,
    opts: &Options,
    cache: &mut LoadingCache,
    keyed: &mut Keyed,
    clock: &mut Clock<'_>,
) -> Result<(Read, Report)> {
    let watch = crate::mixxx::disk::Watch::open(&ctx.db);
    let mut library = snapshot::read(&ctx.db, opts)?;
    let marker = library.marker.take();
    let disk = library.disk.take();
    let content = std::mem::take(&mut library.content);
    crate::error::pause_point("after-reading-mixxx");
    let playlists = std::mem::take(&mut library.playlists);
    let history = std::mem::take(&mut library.history);
    clock.done(Stage::ReadingMixxx);
    let cache = cache.get_mut();
    clock.done(Stage::WaitingForCache);
    let keys_learned = snapshot::key_tracks(&ctx.annex, &ctx.prefixes, library, cache, opts, keyed)
        .map_err(annex::Error::from)?;
    let report = Report {
        dry_run: opts.dry_run,
        tracks: keyed.tracks(),
        skipped: std::mem::take(&mut keyed.skipped),
        library_paths: std::mem::take(&mut keyed.library_paths),
        content: Some(content),
        ..Report::default()
    };
    clock.done(Stage::MappingTracks);
    let read = Read {
        marker,
        playlists,
        history,
        ledger: ledger::Database::default(),
        keys_learned,
        disk,
        watch,
    };
    Ok((read, report))
}

/// This clone's base for this database, and how it was found. Without a base of its own, a
/// database's rows have none: the branch is the truth wherever it has history.
fn load_base(
    ctx: &Context,
    cache: &mut Cache,
    keyed: &Keyed,
    read: &Read,
    report: &mut Report,
) -> Result<(Base, Found)> {
    let marker = read.marker.as_ref();
    let items = &keyed.items;
    let (base, found) = base::load(&ctx.annex, cache, items, keyed.missing, marker, &ctx.db)?;
    report.database_replaced = found == Found::OtherDatabase;
    Ok((base, found))
}

/// The plan of every key and playlist against the branch; the branch as it read it.
fn make_plan<'k, 'a>(
    run: &Run<'a>,
    tip: gix::ObjectId,
    base: &mut Base,
    keyed: &'k Keyed,
    read: &Read,
    report: &mut Report,
    clock: &mut Clock<'_>,
) -> Result<(Plan<'k>, Branch<'a>)> {
    let (ctx, opts) = (run.ctx, run.opts);
    let annex = &ctx.annex;
    report.first_sync = base.commit.is_none() && !report.database_replaced;
    let mut branch = Branch::open(annex, tip, base.commit)?;
    for (key, old) in base.match_rows(&keyed.items) {
        // Only where git-annex copied the old key's metadata to the new one.
        if !branch.now(&key)?.text.is_empty() {
            branch.base_from(&key, &old);
            base.carry(key, &old);
        }
    }
    report.unknown_tracks = branch.unknown_keys(&keyed.items);
    clock.done(Stage::LoadingBase);
    let in_base = |k: &str| base.digests.contains_key(k);
    let cx = order::Context {
        uuid: &annex.uuid,
        now: Timestamp::now(),
        opts,
        has_base: base.commit.is_some(),
        in_base: &in_base,
    };
    let matched = order::read(&read.playlists, keyed, &mut branch, &cx)?;
    let progress = |done, total| clock.observer.progress(Stage::Planning, done, total);
    let part = crate::fields::plays::part_field(&annex.uuid);
    let past = plan::Past {
        digests: &base.digests,
        held: &base.held,
        acknowledged: &read
            .ledger
            .acknowledged(read.marker.as_ref(), base.info.marker.as_deref()),
        part: &part,
    };
    let memberships = &matched.memberships;
    let now = Timestamp::now();
    let mut plan = plan::plan(keyed, &past, &mut branch, memberships, opts, now, progress)?;
    plan.orders = order::plan(matched, keyed, &plan.playlist_pulls(), &cx);
    let uuids = branch.reader.read("uuid.log")?.unwrap_or_default();
    let cx = sessions::Context {
        uuid: &annex.uuid,
        now: Timestamp::now(),
        opts,
        descriptions: &crate::annex::descriptions(&uuids),
        ledger: read.ledger.clone(),
    };
    plan.sessions = sessions::plan(&read.history, keyed, &mut branch, cx)?;
    Ok((plan, branch))
}

/// What a run commits besides its pushed logs: its record, and the keys it synced first
/// (with their rows).
struct ToCommit<'k> {
    record: RunRecord,
    new_keys: Vec<(&'k Key, i64)>,
}

/// What writing Mixxx left: what to commit, the database's marker, what the ledger remembers.
type Written<'k> = (Option<ToCommit<'k>>, Option<Marker>, ledger::Database);

/// Writes the plan's pulls to Mixxx, with a new marker where the run may finish; the run's
/// record and the keys newly synced when the run commits (`None` when it has nothing to
/// commit), the marker the database holds now, and what the ledger is to remember of the
/// database afterwards.
fn write_mixxx<'k>(
    run: &mut Run<'_>,
    tip: gix::ObjectId,
    keyed: &'k Keyed,
    base: &Base,
    plan: &Plan<'_>,
    read: &Read,
    report: &mut Report,
) -> Result<Written<'k>> {
    let (ctx, opts) = (run.ctx, run.opts);
    // Keys synced with no row or another row than now: their row is recorded. (The plan
    // counted the keys with a base: when that is all of them, none is looked up again.)
    let all_based = plan.in_base == keyed.items.len() && base.carried.is_empty();
    let new_keys: Vec<(&Key, i64)> = match all_based {
        true => Vec::new(),
        false => (keyed.items.iter())
            .filter(|(k, _)| base.is_new(k))
            .map(|(k, item)| (k, item.id))
            .collect(),
    };
    // A run that commits and may finish marks the database anew, so that the next run knows
    // it again (and a restored copy of it apart).
    let records = plan.writes_logs() || !report.conflicts.is_empty() || !new_keys.is_empty();
    let db_marker = read.marker.clone();
    let marker = ((records || plan.pulls()) && opts.paths.is_empty() && !opts.push_only)
        .then(|| next_marker(db_marker.as_ref(), run.markers, &ctx.annex.uuid));
    let mut remembered = plan.sessions.ledger.clone();
    note_pending(
        run,
        plan,
        db_marker.as_ref(),
        marker.as_ref(),
        &mut remembered,
    )?;
    let apply::Outcome {
        applied,
        marked,
        written,
    } = apply::apply(ctx, plan, keyed, opts, marker.as_ref(), read.watch.as_ref())?;
    report.disk = match written {
        None => read.disk.clone(),
        // Written on top of what the run read: the state it left is the run's outcome.
        Some(w) => w.after.filter(|_| w.on_read && read.disk.is_some()),
    };
    let db_marker = if marked { marker } else { db_marker };
    let needs_commit = records || matches!(applied, Applied::Written { .. });
    let pulled = match applied {
        Applied::Nothing => 0,
        Applied::Held(why) => {
            report.hold_back(why);
            0
        }
        Applied::Written {
            backup,
            failures,
            added,
        } => {
            report.backup = Some(backup);
            report.failed.extend(failures);
            remember_sessions(&plan.sessions, added, &mut remembered);
            report.pulled
        }
    };
    remembered.marker = db_marker
        .as_ref()
        .map(|m| m.current.clone())
        .unwrap_or_default();
    if !needs_commit {
        return Ok((None, db_marker, remembered));
    }
    let finished = report.pull_pending.is_none() && opts.paths.is_empty();
    let mut record = run_record(ctx, report, tip, pulled, finished);
    record.marker = db_marker.as_ref().map(|m| m.current.clone());
    record.previous = db_marker
        .as_ref()
        .map(|m| m.previous.clone().unwrap_or_default());
    record.held = held_values(plan);
    Ok((Some(ToCommit { record, new_keys }), db_marker, remembered))
}

/// Remembers the sessions `plan` added to Mixxx as the playlists `added` (in order), and how
/// many entries of each the sessions that grew hold now.
fn remember_sessions(
    plan: &sessions::SessionPlan,
    added: Vec<i64>,
    remembered: &mut ledger::Database,
) {
    for (addition, playlist) in plan.add.iter().zip(added) {
        let imported = ledger::Imported {
            playlist,
            created: addition.created.clone(),
            taken: addition.taken,
        };
        remembered
            .imported
            .insert(addition.source.clone(), imported);
    }
    for growth in &plan.grow {
        if let Some(imported) = remembered.imported.get_mut(&growth.source) {
            imported.taken = growth.taken;
        }
    }
}

/// The marker a write leaves in the database: a new one after the one it holds; after one an
/// earlier attempt of this run wrote (its commit on the branch did not happen), after the one
/// before that, which the base recorded. Each write has its own, so that play counts a write
/// left can be told from those of another ([`ledger::Database::pending`]).
fn next_marker(db: Option<&Marker>, written: &mut Vec<String>, uuid: &str) -> Marker {
    let id = Marker::new_id(uuid);
    let marker = Marker::next(db, &id, written);
    written.push(id);
    marker
}

/// Before Mixxx is written with `marker`: records in the ledger (saved now, or nothing is
/// written) the play counts the write leaves that the branch does not know yet, so that a run
/// stopped before its commit does not count them again.
fn note_pending(
    run: &mut Run<'_>,
    plan: &Plan<'_>,
    db: Option<&Marker>,
    marker: Option<&Marker>,
    remembered: &mut ledger::Database,
) -> Result<()> {
    let written: Vec<(String, u64)> = plan
        .tracks
        .iter()
        .filter_map(|t| Some((t.key.to_string(), t.acknowledged?)))
        .collect();
    let Some(marker) = marker.filter(|_| !written.is_empty()) else {
        return Ok(());
    };
    let current = db.map(|m| m.current.as_str());
    remembered.note_pending(current, &marker.current, written);
    // Found by the marker the database holds, whether or not the write happens.
    let mut pending = remembered.clone();
    pending.marker = current.unwrap_or(&marker.current).to_owned();
    run.ledger.set(db, pending);
    let path = ledger::path(&run.ctx.annex);
    run.ledger
        .save(&path)
        .map_err(|source| Error::Ledger { path, source })
}

/// Remembers `db` as what the ledger holds of the database that held `read.marker`, saving the
/// ledger when that changed (failing only costs recognising sessions again: a warning).
fn remember(run: &mut Run<'_>, read: &Read, db: ledger::Database, clock: &mut Clock<'_>) {
    if db.marker.is_empty() || run.ledger.database(read.marker.as_ref()) == db {
        return;
    }
    run.ledger.set(read.marker.as_ref(), db);
    if let Err(e) = run.ledger.save(&ledger::path(&run.ctx.annex)) {
        clock.observer.warning(Warning::LedgerNotSaved(e));
    }
}

/// After a finished commit, once the base kept for the database holding `marker` knows every
/// play count written there: the ledger's pending counts go.
fn forget_pending(run: &mut Run<'_>, marker: Option<&str>, clock: &mut Clock<'_>) {
    let Some(current) = marker else {
        return;
    };
    let held = Marker {
        current: current.to_owned(),
        previous: None,
    };
    let mut db = run.ledger.database(Some(&held));
    if db.pending.is_empty() {
        return;
    }
    db.pending.clear();
    run.ledger.set(Some(&held), db);
    if let Err(e) = run.ledger.save(&ledger::path(&run.ctx.annex)) {
        clock.observer.warning(Warning::LedgerNotSaved(e));
    }
}

/// Commits the pushed logs, the newly synced keys and the run record on top of `tip`; `None`
/// when the branch moved meanwhile.
fn commit_run(
    ctx: &Context,
    tip: gix::ObjectId,
    plan: &mut Plan<'_>,
    branch: &mut Branch<'_>,
    record: &RunRecord,
    new_keys: &[(&Key, i64)],
    report: &Report,
) -> Result<Option<gix::ObjectId>> {
    let mut files = commit::Files::pushed(plan);
    files.add_synced(&mut branch.reader, &ctx.annex.uuid, new_keys)?;
    files.add_record(&mut branch.reader, record)?;
    let message = commit::message(report, record);
    Ok(files.commit(&ctx.annex, tip, &message)?)
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
    let (host, db) = match ctx.private {
        true => (String::new(), String::new()),
        false => (
            gethostname::gethostname().to_string_lossy().into_owned(),
            ctx.db.display().to_string(),
        ),
    };
    RunRecord {
        id: state::run_id(&ctx.annex.uuid, &time),
        undid: None,
        time,
        uuid: ctx.annex.uuid.clone(),
        host,
        db,
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
        previous: None,
        held: Vec::new(),
    }
}

/// The fields the plan holds, with what Mixxx keeps, for the run record.
fn held_values(plan: &Plan<'_>) -> Vec<state::HeldValue> {
    plan.tracks
        .iter()
        .flat_map(|t| {
            t.held.iter().map(|h| state::HeldValue {
                key: t.key.to_string(),
                field: h.field.name().to_owned(),
                kept: h.kept.iter().cloned().collect(),
            })
        })
        .collect()
}

/// Puts the base back in the cache unchanged, for the next attempt.
fn keep_base(cache: &mut Cache, mut base: Base) {
    if let Some(tag) = base.tag.take() {
        cache.put_base(base.into_stored(tag));
    }
}

/// The new base after a finished run: the commit, with every key of this Mixxx synced (keys
/// not planned kept their base values), the run's held fields and the keys dated in the
/// future.
fn settle_base(
    mut base: Base,
    commit: gix::ObjectId,
    keyed: &Keyed,
    plan: Plan<'_>,
    record: &RunRecord,
    future: Vec<(String, String)>,
) -> Base {
    if plan.in_base != base.digests.len() {
        base.digests
            .retain(|k, _| keyed.items.contains_key(k.as_str()));
    }
    for (k, digest) in plan.settled {
        let row = keyed.items.get(&**k).map(|i| i.id);
        base.digests.insert(k.to_string(), Synced { digest, row });
    }
    base.commit = Some(commit);
    base.info.commit = commit.to_string();
    base.info.run = record.run_id();
    base.info.time.clone_from(&record.time);
    base.info.marker.clone_from(&record.marker);
    base.info.held.clone_from(&record.held);
    base.info.future = future;
    base
}

/// Keeps this clone's own state: the base of the database that holds `marker` now (moved
/// there from the file it came from), then the run (with any run of its own commits the
/// local state lacks). Failing leaves the state before, which still holds: a warning. Whether
/// it was kept.
fn keep_state(
    ctx: &Context,
    cache: &mut Cache,
    base: Base,
    marker: Option<&Marker>,
    run: Option<OwnRun>,
    clock: &mut Clock<'_>,
) -> bool {
    let annex = &ctx.annex;
    let mut saved = match base.commit {
        Some(_) => base::save(annex, base, marker, &ctx.db).map(|stored| cache.put_base(stored)),
        None => Ok(()),
    };
    if let Some(mut run) = run {
        // The local copy names this machine and database, whatever the branch's leaves out.
        let (host, db) = (gethostname::gethostname(), ctx.db.display());
        run.record.host = host.to_string_lossy().into_owned();
        run.record.db = db.to_string();
        let local = Local::new(&annex.repo, &annex.uuid);
        saved = saved.and_then(|()| {
            let mut runs =
                vouch::unrecorded(annex, &local.runs()).map_err(std::io::Error::other)?;
            runs.retain(|r| r.commit != run.commit);
            runs.push(run);
            local.append_runs(runs)
        });
    }
    let kept = saved.is_ok();
    if let Err(e) = saved {
        clock.observer.warning(Warning::StateNotSaved(e));
    }
    clock.done(Stage::SavingCache);
    kept
}

/// Saves the keys cache; failing only costs speed next time, so it is a warning.
fn save_keys(cache: &Cache, annex: &Annex, clock: &mut Clock<'_>) {
    if let Err(e) = cache.save_keys(&state::keys_path(annex)) {
        clock.observer.warning(Warning::CacheNotSaved(e));
    }
}

//! `git mixxx status`: the Mixxx database in use and what chose it, this clone's last sync
//! and bases (one per database, from its own state) and every other clone's last sync from the
//! branch, what a sync would do now, the conflicts recorded at each clone's last sync, and
//! what on the branch is not trusted: records dated in the future, records under this clone's
//! UUID that it did not write, entries beyond the limits.

use crate::annex::logmet::{Current, MetLog, Order};
use crate::annex::{self, key};
use crate::bounds::{self, Skipped};
use crate::context::{Context, DbSource};
use crate::fields::Field;
use crate::hooks;
use crate::state::local::{self, Local, OwnRun};
use crate::state::{self, Conflict, RunRecord, vouch};
use crate::sync::observer::{Observer, Warning};
use crate::sync::{self, Options, Report};
use crate::sync::{order, plan};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize)]
pub struct CloneStatus {
    pub this_clone: bool,
    /// The clone's description from git-annex's `uuid.log`.
    pub description: String,
    #[serde(flatten)]
    pub last_sync: RunRecord,
}

/// A conflict a run recorded that still stands ([`open_conflicts`]).
#[derive(Debug, Serialize)]
pub struct OpenConflict {
    /// When the run that met it synced.
    pub time: String,
    /// The clone that met it, and its description.
    pub clone: String,
    pub description: String,
    #[serde(flatten)]
    pub conflict: Conflict,
}

impl OpenConflict {
    /// What `status --ack` records of it.
    fn id(&self) -> String {
        format!(
            "{} {} {}",
            self.time, self.conflict.key, self.conflict.field
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Annex(#[from] annex::Error),
    #[error(transparent)]
    Io(#[from] crate::error::PathError),
    #[error(transparent)]
    Mixxx(#[from] crate::mixxx::Error),
}

/// A base of this clone: the Mixxx database it belongs to, and the run that settled it.
#[derive(Debug, Serialize)]
pub struct BaseStatus {
    /// The database's path when it last synced.
    pub db: String,
    /// Whether it is the database `status` looks at (it holds the base's marker).
    pub this_database: bool,
    pub marker: Option<String>,
    pub run: String,
    pub time: String,
    pub commit: String,
}

/// A run record on the branch that is not trusted: its clone, run and time.
#[derive(Debug, Serialize)]
pub struct RecordRef {
    pub clone: String,
    pub run: String,
    pub time: String,
}

/// The Mixxx database a run uses, and what chose it.
#[derive(Debug, Serialize)]
pub struct Database {
    pub path: String,
    pub source: DbSource,
    /// Its schema revision, when it can be read.
    pub schema_revision: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub uuid: String,
    /// This clone's description in git-annex (`uuid.log`), and this machine's host name.
    pub description: String,
    pub host: String,
    pub db: String,
    pub database: Database,
    /// Whether this clone has synced before.
    pub synced_before: bool,
    pub clones: Vec<CloneStatus>,
    /// This clone's bases, one per Mixxx database it syncs, the latest first.
    pub bases: Vec<BaseStatus>,
    /// Run records dated more than a day past this machine's clock: no clone's last sync.
    pub future_records: Vec<RecordRef>,
    /// Records on the branch under this clone's UUID that are not its own runs (another clone
    /// wrote them): ignored.
    pub foreign_records: Vec<RecordRef>,
    /// Entries of the branch skipped for the limits on what is read from it.
    pub skipped: Vec<Skipped>,
    /// Conflicts that still stand, newest first.
    pub conflicts: Vec<OpenConflict>,
    /// How many conflicts `--ack` acknowledged in this run.
    pub acknowledged: usize,
    /// The git-mixxx hooks of this repository.
    pub hooks: Vec<hooks::HookState>,
    /// What `git mixxx sync` would do now.
    pub pending: Option<Report>,
    /// Why `pending` could not be computed.
    pub pending_error: Option<String>,
    /// The running Mixxx (on Linux, the process that has the database open): pulls wait for it.
    pub mixxx_running: Option<String>,
}

/// Builds the status; with `details`, `pending` lists each field a sync would change.
pub fn status(ctx: &Context, details: bool) -> Result<Status, Error> {
    let (status, skipped) = bounds::collect(|| build(ctx, details));
    let mut status = status?;
    for s in skipped {
        if !status.skipped.contains(&s) {
            status.skipped.push(s);
        }
    }
    Ok(status)
}

/// Collects what a sync skipped for the limits.
#[derive(Default)]
struct Notes(Vec<Skipped>);

impl Observer for Notes {
    fn warning(&mut self, warning: Warning) {
        if let Warning::Skipped(skipped) = warning {
            self.0.push(skipped);
        }
    }
}

fn build(ctx: &Context, details: bool) -> Result<Status, Error> {
    let annex = &ctx.annex;
    let tip = annex.tip()?;
    let mut reader = annex.tree_reader(tip)?;
    let descs = annex::descriptions(&reader.read("uuid.log")?.unwrap_or_default());
    let describe = |uuid: &str| {
        descs
            .iter()
            .rev()
            .find(|(u, _)| u == uuid)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    };
    let own = vouch::own_runs(annex)?;
    let runs = state::all_runs(&mut reader)?;
    let now = bounds::now_secs();
    let (runs, untrusted) = trusted(runs, &annex.uuid, &own, now);
    let acknowledged = acknowledged(&ack_path(ctx))?;
    let conflicts = open_conflicts(&mut reader, &runs, &acknowledged, &describe)?;
    let this_clone = own.last().map(|run| {
        let mut record = run.record.clone();
        record.id = record.run_id();
        // The conflicts it met, as its record on the branch lists them.
        if let Some(listed) = runs
            .iter()
            .flatten()
            .find(|r| r.uuid == record.uuid && r.run_id() == record.id)
        {
            record.conflicts.clone_from(&listed.conflicts);
        }
        CloneStatus {
            this_clone: true,
            description: describe(&record.uuid),
            last_sync: record,
        }
    });
    let mut clones: Vec<CloneStatus> = runs
        .into_iter()
        .filter_map(|mut runs| runs.pop())
        .filter(|record| record.uuid != annex.uuid)
        .map(|mut record| {
            // Records older than run ids get theirs, as `log` and `undo` name them.
            record.id = record.run_id();
            CloneStatus {
                this_clone: false,
                description: describe(&record.uuid),
                last_sync: record,
            }
        })
        .collect();
    clones.sort_by(|a, b| b.last_sync.time.cmp(&a.last_sync.time));
    clones.splice(0..0, this_clone);
    let opts = Options {
        dry_run: true,
        details,
        ..Options::default()
    };
    let mut notes = Notes::default();
    let (pending, pending_error) = match sync::run(ctx, &opts, &mut notes) {
        Ok(report) => (Some(report), None),
        // A file that is no Mixxx database is a mistake to say, not a state to show.
        Err(sync::Error::Mixxx(e @ crate::mixxx::Error::NotMixxx { .. })) => return Err(e.into()),
        Err(e) => (None, Some(e.to_string())),
    };
    let bases = bases(ctx);
    Ok(Status {
        uuid: annex.uuid.clone(),
        description: describe(&annex.uuid),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        db: ctx.db.display().to_string(),
        database: Database {
            path: ctx.db.display().to_string(),
            source: ctx.db_source,
            schema_revision: crate::mixxx::Database::open_read_only(&ctx.db)
                .ok()
                .map(|db| db.revision),
        },
        synced_before: !own.is_empty() || !bases.is_empty(),
        clones,
        bases,
        future_records: untrusted.future,
        foreign_records: untrusted.foreign,
        skipped: notes.0,
        conflicts,
        acknowledged: 0,
        hooks: hooks::states(&annex.repo),
        pending,
        pending_error,
        mixxx_running: crate::mixxx::running::holder(&ctx.db),
    })
}

/// Records on the branch that are not trusted.
struct Untrusted {
    future: Vec<RecordRef>,
    foreign: Vec<RecordRef>,
}

/// Every clone's records without the untrusted ones: dated in the future, or under this
/// clone's UUID but not its own runs (`own`).
fn trusted(
    runs: Vec<Vec<RunRecord>>,
    uuid: &str,
    own: &[OwnRun],
    now: i64,
) -> (Vec<Vec<RunRecord>>, Untrusted) {
    let own: HashSet<String> = own.iter().map(|r| r.record.run_id()).collect();
    let mut untrusted = Untrusted {
        future: Vec::new(),
        foreign: Vec::new(),
    };
    let runs = runs
        .into_iter()
        .map(|clone_runs| {
            clone_runs
                .into_iter()
                .filter(|r| {
                    let noted = RecordRef {
                        clone: r.uuid.clone(),
                        run: r.run_id(),
                        time: r.time.clone(),
                    };
                    if r.uuid == uuid && !own.contains(&noted.run) {
                        untrusted.foreign.push(noted);
                        false
                    } else if bounds::rfc3339_in_future(&r.time, now) {
                        untrusted.future.push(noted);
                        false
                    } else {
                        true
                    }
                })
                .collect()
        })
        .collect();
    (runs, untrusted)
}

/// This clone's bases, the latest first, and which is this database's.
fn bases(ctx: &Context) -> Vec<BaseStatus> {
    let marker = crate::mixxx::Database::open_read_only(&ctx.db)
        .ok()
        .and_then(|db| db.marker().ok().flatten());
    let held: HashSet<String> = match &marker {
        Some(m) => std::iter::once(&m.current)
            .chain(&m.previous)
            .map(|t| local::tag(Some(t), &ctx.db))
            .collect(),
        None => HashSet::from([local::tag(None, &ctx.db)]),
    };
    Local::new(&ctx.annex.repo, &ctx.annex.uuid)
        .bases()
        .into_iter()
        .map(|(tag, info)| BaseStatus {
            this_database: held.contains(&tag),
            db: info.db,
            marker: info.marker,
            run: info.run,
            time: info.time,
            commit: info.commit,
        })
        .collect()
}

/// Conflicts recorded by any clone's runs that still stand: not acknowledged here, and the
/// field still holds the value the conflict left on the branch (once someone sets it again,
/// putting the losing value back for one, it is settled). Newest first, one per track and
/// field.
fn open_conflicts(
    reader: &mut annex::TreeReader<'_>,
    runs: &[Vec<RunRecord>],
    acknowledged: &HashSet<String>,
    describe: &dyn Fn(&str) -> String,
) -> Result<Vec<OpenConflict>, Error> {
    let mut recorded: Vec<(&RunRecord, &Conflict)> = runs
        .iter()
        .flatten()
        .flat_map(|run| run.conflicts.iter().map(move |c| (run, c)))
        .collect();
    recorded.sort_by(|a, b| b.0.time.cmp(&a.0.time));
    let mut seen = HashSet::new();
    let mut logs: HashMap<&str, Current> = HashMap::new();
    let mut out = Vec::new();
    for (run, c) in recorded {
        if !seen.insert((&c.key, &c.field)) {
            continue;
        }
        let open = OpenConflict {
            time: run.time.clone(),
            clone: run.uuid.clone(),
            description: describe(&run.uuid),
            conflict: c.clone(),
        };
        if acknowledged.contains(&open.id()) {
            continue;
        }
        if order::is_playlist_field(&c.field) {
            if order_unchanged_since(reader, &c.key, &run.time)? {
                out.push(open);
            }
            continue;
        }
        let Some(field) = Field::from_name(&c.field) else {
            continue;
        };
        if !logs.contains_key(c.key.as_str()) {
            let text = reader.read(&key::metadata_log_path(&c.key))?;
            let current = MetLog::parse(&text.unwrap_or_default()).current();
            logs.insert(&c.key, current);
        }
        let now = plan::field_value(field, &logs[c.key.as_str()]);
        if now == c.left().iter().cloned().collect::<BTreeSet<_>>() {
            out.push(open);
        }
    }
    Ok(out)
}

/// Whether the playlist order in the file at `path` was not written again after `time` (a run
/// record's time): its reorder or rename conflict still stands.
fn order_unchanged_since(
    reader: &mut annex::TreeReader<'_>,
    path: &str,
    time: &str,
) -> Result<bool, Error> {
    let Ok(time) = chrono::DateTime::parse_from_rfc3339(time) else {
        return Ok(false);
    };
    let recorded = Order::parse(&format!(
        "{}.{:09}s",
        time.timestamp(),
        time.timestamp_subsec_nanos()
    ));
    let written = order::written_at(reader, path)?;
    Ok(matches!((written, recorded), (Some(at), Some(r)) if at <= r))
}

/// Where this clone keeps the conflicts its DJ acknowledged: one id per line.
fn ack_path(ctx: &Context) -> PathBuf {
    state::local_dir(&ctx.annex.repo).join("acknowledged-conflicts")
}

fn acknowledged(path: &Path) -> Result<HashSet<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.lines().map(str::to_owned).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(e) => Err(crate::error::at("reading", path)(e).into()),
    }
}

/// Acknowledges the conflicts `status` lists: they are not listed again on this clone.
pub fn acknowledge(ctx: &Context, status: &mut Status) -> Result<(), Error> {
    let path = ack_path(ctx);
    let dir = state::local_dir(&ctx.annex.repo);
    std::fs::create_dir_all(&dir).map_err(crate::error::at("creating", &dir))?;
    let mut file = std::fs::File::options()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(crate::error::at("opening", &path))?;
    let lines: String = status.conflicts.iter().map(|c| c.id() + "\n").collect();
    file.write_all(lines.as_bytes())
        .map_err(crate::error::at("writing", &path))?;
    status.acknowledged = std::mem::take(&mut status.conflicts).len();
    Ok(())
}

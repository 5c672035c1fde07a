//! The changes to Mixxx's rows a run makes before it plans: relinking rows whose file moved
//! ([`super::relink`]) and adding files this Mixxx lacks ([`super::import`]). Both have one
//! shape: found against the library as read, made once per run in a transaction of their own
//! (after a backup), after which the attempt starts over on the changed library; a dry run
//! only reports them, and while Mixxx runs they wait.

use super::apply::{self, Applied};
use super::base::Base;
use super::branch::Branch;
use super::error::Result;
use super::import::{self, Import};
use super::relink::{self, Relink};
use super::report::Report;
use super::snapshot::Keyed;
use super::{Options, Run};
use crate::state::Cache;
use gix::ObjectId;
use std::path::PathBuf;

/// What this run changed in Mixxx's rows so far: the rows relinked and the files added, each
/// with the backup taken first.
#[derive(Default)]
pub struct Changed {
    relinked: Option<(Vec<Relink>, PathBuf)>,
    imported: Option<(Vec<Import>, PathBuf)>,
}

/// What became of one kind of row change in an attempt.
enum Outcome<T> {
    Nothing,
    /// Made by an earlier attempt of this run, after this backup.
    Done(Vec<T>, PathBuf),
    /// What a dry run would do.
    Planned(Vec<T>),
    /// Made now: the attempt starts over.
    Made,
    /// Waiting (Mixxx runs, or `--push-only`), and why.
    Waiting(Vec<T>, String),
}

/// Finds and makes one kind of change, unless an earlier attempt made it (`done`).
fn change<T: Clone>(
    done: &mut Option<(Vec<T>, PathBuf)>,
    dry_run: bool,
    find: impl FnOnce() -> Result<Vec<T>>,
    make: impl FnOnce(&mut [T]) -> Result<Applied>,
) -> Result<Outcome<T>> {
    if let Some((made, backup)) = done {
        return Ok(Outcome::Done(made.clone(), backup.clone()));
    }
    let mut found = find()?;
    if found.is_empty() {
        return Ok(Outcome::Nothing);
    }
    if dry_run {
        return Ok(Outcome::Planned(found));
    }
    Ok(match make(&mut found)? {
        Applied::Written { backup, .. } => {
            *done = Some((found, backup));
            Outcome::Made
        }
        Applied::Held(why) => Outcome::Waiting(found, why),
        Applied::Nothing => Outcome::Nothing,
    })
}

/// Relinks, then imports, as this run needs; `true` when the attempt must start over.
pub fn change_rows(
    run: &mut Run<'_>,
    base: &Base,
    keyed: &mut Keyed,
    cache: &mut Cache,
    tip: ObjectId,
    report: &mut Report,
) -> Result<bool> {
    if relink_rows(run, base, keyed, cache, report)? {
        return Ok(true);
    }
    import_files(run, base, keyed, cache, tip, report)
}

fn relink_rows(
    run: &mut Run<'_>,
    base: &Base,
    keyed: &mut Keyed,
    cache: &mut Cache,
    report: &mut Report,
) -> Result<bool> {
    let Run { ctx, opts, .. } = *run;
    let find = || match keyed.lost.is_empty() {
        true => Ok(Vec::new()),
        false => Ok(relink::find(
            &ctx.annex,
            &ctx.prefixes,
            keyed,
            &base.digests,
            cache,
        )?),
    };
    let make = |found: &mut [Relink]| apply::relink(ctx, found, opts);
    match change(&mut run.changed.relinked, opts.dry_run, find, make)? {
        Outcome::Nothing => {}
        Outcome::Made => return Ok(true),
        Outcome::Done(moved, backup) => {
            report.relinked = moved;
            report.backup = Some(backup);
        }
        Outcome::Planned(relinks) => {
            // Their rows are planned by the sync after the relink, not as they are now.
            keyed.forget(relinks.iter().map(|r| r.key.as_str()));
            report.relinked = relinks;
        }
        Outcome::Waiting(relinks, why) => {
            report.relinks_waiting = relinks;
            report.pull_pending = Some(why);
        }
    }
    Ok(false)
}

fn import_files(
    run: &mut Run<'_>,
    base: &Base,
    keyed: &Keyed,
    cache: &mut Cache,
    tip: ObjectId,
    report: &mut Report,
) -> Result<bool> {
    let Run { ctx, opts, .. } = *run;
    if !wants_imports(ctx.import, opts) {
        return Ok(false);
    }
    let find = || {
        let scope = import::Scope {
            prefixes: &ctx.prefixes,
            keyed,
            synced: &base.digests,
            library: &report.library_paths,
            db: &ctx.db,
        };
        let mut probe = Branch::open(&ctx.annex, tip, None)?;
        import::find(&ctx.annex, &scope, &mut probe, cache)
    };
    let make = |found: &mut [Import]| apply::import(ctx, found, opts);
    let paths = |imports: Vec<Import>| imports.into_iter().map(|i| i.path).collect();
    match change(&mut run.changed.imported, opts.dry_run, find, make)? {
        Outcome::Nothing => {}
        Outcome::Made => return Ok(true),
        Outcome::Done(added, backup) => {
            report.imported = paths(added);
            report.backup.get_or_insert(backup);
        }
        Outcome::Planned(imports) => report.imported = paths(imports),
        Outcome::Waiting(imports, why) => {
            report.imports_waiting = paths(imports);
            report.pull_pending.get_or_insert(why);
        }
    }
    Ok(false)
}

/// Whether the run adds files this Mixxx lacks: configured so, over the whole library, and
/// allowed to write Mixxx.
fn wants_imports(configured: bool, opts: &Options) -> bool {
    configured && !opts.no_import && opts.paths.is_empty() && !opts.push_only
}

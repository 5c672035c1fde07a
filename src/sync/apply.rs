//! Carrying out the plan in Mixxx: the pulled values, orders and history sessions, in one
//! transaction after a backup, and only while Mixxx is not running (it would write its cached
//! rows back over ours).

use super::error::{Error, crash_point};
use super::import::Import;
use super::options::Options;
use super::plan::Plan;
use super::relink::Relink;
use super::report::Failure;
use super::sessions::SessionPlan;
use super::snapshot::Keyed;
use crate::context::Context;
use crate::fields::{Container, Field};
use crate::mixxx::disk::{State, Watch};
use crate::mixxx::marker::Marker;
use crate::mixxx::write::Committed;
use crate::mixxx::{Database, history, import, relink, running, write};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What became of the plan's pulls.
#[derive(Debug)]
pub enum Applied {
    /// The plan pulls nothing.
    Nothing,
    /// Not written, and why.
    Held(String),
    /// Written; the backup taken first, the values that could not be written, and the history
    /// playlists the plan's sessions became ([`super::sessions::SessionPlan::add`], in order).
    Written {
        backup: PathBuf,
        failures: Vec<Failure>,
        added: Vec<i64>,
    },
}

/// One of git-mixxx's own writes to Mixxx: whether it was made on exactly what the run read,
/// and the state of the files it left (`None` when another program committed right after it).
#[derive(Clone, Debug)]
pub struct Written {
    pub on_read: bool,
    pub after: Option<State>,
}

/// What a run's write of its plan (and marker) did.
#[derive(Debug)]
pub struct Outcome {
    pub applied: Applied,
    /// Whether the database holds the run's marker now.
    pub marked: bool,
    /// The write, if there was one.
    pub written: Option<Written>,
}

/// Notes the state one of git-mixxx's own commits left, so that the next run tells that
/// recent write from another program's ([`crate::mixxx::disk`]): kept when no other commit
/// came after it, else forgotten.
fn own_write(ctx: &Context, db: &Database, committed: &Committed) -> Result<Written, Error> {
    let after = db.after_commit(committed);
    let dir = crate::state::local_dir(&ctx.annex.repo);
    match &after {
        Some(state) => state.after_own_write(&dir, &ctx.annex.uuid),
        None => State::forget_own_write(&dir, &ctx.annex.uuid),
    }
    crash_point("after-own-write")?;
    Ok(Written {
        on_read: committed.on_read,
        after,
    })
}

/// Moves the rows of `relinks` in one transaction after a backup, unless Mixxx runs or
/// `--push-only` was given; notes in each what became of the cues that could not simply move.
pub fn relink(ctx: &Context, relinks: &mut [Relink], opts: &Options) -> Result<Applied, Error> {
    if let Some(why) = held(&ctx.db, opts) {
        return Ok(Applied::Held(why));
    }
    let mut db = Database::open_for_writing(&ctx.db)?;
    let (writer, backup) = db.begin_write(None)?;
    for r in relinks.iter_mut() {
        if let Some(change) = &r.change {
            let adopted =
                relink::relink(writer.transaction(), change).map_err(write::Error::from)?;
            r.note(adopted);
        }
    }
    crash_point("before-relink-commit")?;
    let committed = writer.commit()?;
    own_write(ctx, &db, &committed)?;
    let failures = Vec::new();
    let added = Vec::new();
    Ok(Applied::Written {
        backup,
        failures,
        added,
    })
}

/// Adds the files of `imports` to Mixxx in one transaction after a backup, unless Mixxx runs
/// or `--push-only` was given.
pub fn import(ctx: &Context, imports: &[Import], opts: &Options) -> Result<Applied, Error> {
    if let Some(why) = held(&ctx.db, opts) {
        return Ok(Applied::Held(why));
    }
    let mut db = Database::open_for_writing(&ctx.db)?;
    let (writer, backup) = db.begin_write(None)?;
    let tx = writer.transaction();
    let folders: BTreeSet<&str> = imports.iter().map(|i| i.folder.as_str()).collect();
    for folder in folders {
        import::ensure_library_folder(tx, folder).map_err(write::Error::from)?;
    }
    for file in imports {
        let track = super::import::read_track(file);
        import::insert(tx, &track).map_err(write::Error::from)?;
    }
    crash_point("before-import-commit")?;
    let committed = writer.commit()?;
    own_write(ctx, &db, &committed)?;
    let failures = Vec::new();
    let added = Vec::new();
    Ok(Applied::Written {
        backup,
        failures,
        added,
    })
}

/// Why this run must not write to Mixxx, if it must not.
fn held(db: &Path, opts: &Options) -> Option<String> {
    if opts.push_only {
        return Some("--push-only was given".into());
    }
    mixxx_running(db)
}

/// Why pulls must wait, when Mixxx has the database at `db` open.
pub fn mixxx_running(db: &Path) -> Option<String> {
    let holder = running::holder(db)?;
    if crate::launch::launched(db) {
        return Some(format!(
            "Mixxx is running ({holder} {}); it was started by `git mixxx launch`, which applies them when Mixxx exits",
            running::HOLDS
        ));
    }
    Some(format!(
        "Mixxx is running ({holder} {}); close Mixxx and sync again to apply them",
        running::HOLDS
    ))
}

/// Writes the plan's pulls to this Mixxx, and `marker` with them (or alone, when nothing is
/// pulled); `watch` started before the run read the database.
pub fn apply(
    ctx: &Context,
    plan: &Plan<'_>,
    keyed: &Keyed,
    opts: &Options,
    marker: Option<&Marker>,
    watch: Option<&Watch>,
) -> Result<Outcome, Error> {
    if !plan.pulls() {
        let written = match marker {
            Some(m) => write_marker(ctx, m, watch)?,
            None => None,
        };
        return Ok(Outcome {
            applied: Applied::Nothing,
            marked: written.is_some(),
            written,
        });
    }
    if let Some(why) = held(&ctx.db, opts) {
        return Ok(Outcome {
            applied: Applied::Held(why),
            marked: false,
            written: None,
        });
    }
    let mut db = Database::open_for_writing(&ctx.db)?;
    let (mut writer, backup) = db.begin_write(watch)?;
    if let Some(marker) = marker {
        writer.set_marker(marker)?;
    }
    for order in &plan.orders.playlists {
        if let Some(from) = &order.rename_from {
            writer.rename_playlist(from, &order.name)?;
        }
    }
    for kind in [Container::Crate, Container::Playlist] {
        for (from, to, leaving) in renames(plan, kind) {
            writer.rename(kind, &from, &to, leaving)?;
        }
    }
    let mut failures = Vec::new();
    for track in &plan.tracks {
        for (field, values) in &track.pull {
            for id in track.item.track_ids() {
                match writer.set_field(id, *field, values) {
                    Ok(()) => {}
                    Err(
                        e
                        @ (write::Error::InvalidValue { .. } | write::Error::SeveralValues { .. }),
                    ) => {
                        failures.push(Failure {
                            path: track.item.path.clone(),
                            field: field.name().to_owned(),
                            reason: e.to_string(),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    for order in &plan.orders.playlists {
        if let Some(keys) = &order.pull {
            let ids: Vec<Vec<i64>> = keys
                .iter()
                .filter_map(|k| keyed.items.get(k.as_str()).map(|i| i.track_ids().collect()))
                .collect();
            let slots: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
            writer.set_order(&order.name, &slots)?;
        }
    }
    let added = add_sessions(&writer, &plan.sessions).map_err(write::Error::from)?;
    crash_point("before-mixxx-commit")?;
    let committed = writer.commit()?;
    let written = own_write(ctx, &db, &committed)?;
    crash_point("after-mixxx-commit")?;
    Ok(Outcome {
        applied: Applied::Written {
            backup,
            failures,
            added,
        },
        marked: marker.is_some(),
        written: Some(written),
    })
}

/// Adds the sessions of other clones as history playlists and appends what grew; returns the
/// added playlists' ids.
fn add_sessions(writer: &write::Writer<'_>, plan: &SessionPlan) -> rusqlite::Result<Vec<i64>> {
    let tx = writer.transaction();
    let mut added = Vec::with_capacity(plan.add.len());
    for a in &plan.add {
        added.push(history::add(tx, &a.name, a.created.as_deref(), &a.entries)?);
    }
    for g in &plan.grow {
        history::append(tx, g.playlist, &g.entries)?;
    }
    Ok(added)
}

/// Writes the marker alone, when Mixxx is not running and the database may be written; the
/// write, if made. A run that pulls nothing does not fail for it: a database it cannot write
/// (read-only file, locked, newer schema) keeps its marker, which the run records as it is.
fn write_marker(
    ctx: &Context,
    marker: &Marker,
    watch: Option<&Watch>,
) -> Result<Option<Written>, Error> {
    if running::holder(&ctx.db).is_some() {
        return Ok(None);
    }
    let Ok(mut db) = Database::open_for_writing(&ctx.db) else {
        return Ok(None);
    };
    let Ok(committed) = db.write_marker(marker, watch) else {
        return Ok(None);
    };
    Ok(Some(own_write(ctx, &db, &committed)?))
}

/// The crates or playlists the plan's pulls rename: every track the plan takes out of `from`
/// goes into one new name `to`, and nothing else goes there from elsewhere; with how many rows
/// leave `from` (the writer renames only if that empties it).
fn renames(plan: &Plan<'_>, kind: Container) -> Vec<(String, String, usize)> {
    let field = match kind {
        Container::Crate => Field::Crate,
        Container::Playlist => Field::Playlist,
    };
    let mut left: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut joined: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
    for track in &plan.tracks {
        let Some((_, new)) = track.pull.iter().find(|(f, _)| *f == field) else {
            continue;
        };
        let old = track.item.m.set(field);
        for name in old.iter().filter(|n| !new.contains(*n)) {
            left.entry(name).or_default().insert(track.key);
            *rows.entry(name).or_default() += track.item.rows();
        }
        for name in new.iter().filter(|n| !old.contains(n)) {
            joined.entry(name).or_default().insert(track.key);
        }
    }
    let mut out = Vec::new();
    for (from, keys) in &left {
        let mut targets = joined.iter().filter(|(_, j)| keys.is_subset(j));
        let (Some((to, _)), None) = (targets.next(), targets.next()) else {
            continue;
        };
        let sources = left
            .values()
            .filter(|l| !l.is_disjoint(&joined[to]))
            .count();
        if sources == 1 {
            out.push(((*from).to_owned(), (*to).to_owned(), rows[from]));
        }
    }
    out
}

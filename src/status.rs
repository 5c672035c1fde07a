//! `git mixxx status`: the Mixxx database in use and what chose it, every clone's last sync
//! from the branch, what a sync would do now, and the conflicts recorded at each clone's last
//! sync.

use crate::annex;
use crate::context::{Context, DbSource};
use crate::state::{self, RunRecord};
use crate::sync::observer::Silent;
use crate::sync::{self, Options, Report};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CloneStatus {
    pub this_clone: bool,
    /// The clone's description from git-annex's `uuid.log`.
    pub description: String,
    #[serde(flatten)]
    pub last_sync: RunRecord,
}

/// The Mixxx database a run uses, and what chose it.
#[derive(Debug, Serialize)]
pub struct Database {
    pub path: String,
    pub source: DbSource,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub uuid: String,
    pub db: String,
    pub database: Database,
    /// Whether this clone has synced before.
    pub synced_before: bool,
    pub clones: Vec<CloneStatus>,
    /// What `git mixxx sync` would do now.
    pub pending: Option<Report>,
    /// Why `pending` could not be computed.
    pub pending_error: Option<String>,
    /// The running Mixxx (on Linux, the process that has the database open): pulls wait for it.
    pub mixxx_running: Option<String>,
}

/// Descriptions of clones from `uuid.log` (`UUID description timestamp=T`, newest wins).
fn descriptions(text: &str) -> Vec<(String, String)> {
    let mut lines: Vec<(&str, &str, &str)> = text
        .lines()
        .filter_map(|l| {
            let (uuid, rest) = l.split_once(' ')?;
            let (desc, ts) = rest.rsplit_once(" timestamp=").unwrap_or((rest, ""));
            Some((uuid, desc, ts))
        })
        .collect();
    lines.sort_by(|a, b| a.2.cmp(b.2));
    lines
        .into_iter()
        .map(|(u, d, _)| (u.to_owned(), d.to_owned()))
        .collect()
}

pub fn status(ctx: &Context) -> Result<Status, annex::Error> {
    let annex = &ctx.annex;
    let tip = annex.tip()?;
    let mut reader = annex.tree_reader(tip)?;
    let descs = descriptions(&reader.read("uuid.log")?.unwrap_or_default());
    let mut clones: Vec<CloneStatus> = state::latest_runs(&mut reader)?
        .into_iter()
        .map(|record| CloneStatus {
            this_clone: record.uuid == annex.uuid,
            description: descs
                .iter()
                .rev()
                .find(|(u, _)| *u == record.uuid)
                .map(|(_, d)| d.clone())
                .unwrap_or_default(),
            last_sync: record,
        })
        .collect();
    clones.sort_by(|a, b| {
        b.this_clone
            .cmp(&a.this_clone)
            .then(b.last_sync.time.cmp(&a.last_sync.time))
    });
    let opts = Options {
        dry_run: true,
        ..Options::default()
    };
    let (pending, pending_error) = match sync::run(ctx, &opts, &mut Silent) {
        Ok(report) => (Some(report), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Status {
        uuid: annex.uuid.clone(),
        db: ctx.db.display().to_string(),
        database: Database {
            path: ctx.db.display().to_string(),
            source: ctx.db_source,
        },
        synced_before: clones.iter().any(|c| c.this_clone),
        clones,
        pending,
        pending_error,
        mixxx_running: crate::mixxx::running::holder(&ctx.db),
    })
}

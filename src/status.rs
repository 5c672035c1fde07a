//! `git mixxx status`: every clone's last sync from the branch, what a sync would do now, and
//! the conflicts recorded at each clone's last sync.

use crate::annex;
use crate::context::Context;
use crate::state::{self, RunRecord};
use crate::sync::{self, Options, Report};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct CloneStatus {
    pub this_clone: bool,
    /// The clone's description from git-annex's `uuid.log`.
    pub description: String,
    #[serde(flatten)]
    pub last_sync: RunRecord,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub uuid: String,
    pub db: String,
    /// Whether this clone has synced before.
    pub synced_before: bool,
    pub clones: Vec<CloneStatus>,
    /// What `git mixxx sync` would do now.
    pub pending: Option<Report>,
    /// Why `pending` could not be computed.
    pub pending_error: Option<String>,
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
        quick: true,
        ..Options::default()
    };
    let (pending, pending_error) = match sync::run(ctx, &opts) {
        Ok(report) => (Some(report), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Status {
        uuid: annex.uuid.clone(),
        db: ctx.db.display().to_string(),
        synced_before: clones.iter().any(|c| c.this_clone),
        clones,
        pending,
        pending_error,
    })
}

/// The human-readable form.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "This clone: {} (database {})", status.uuid, status.db);
    if !status.synced_before {
        let _ = writeln!(
            out,
            "  never synced with git-mixxx: the first `git mixxx sync` will push every track"
        );
    }
    for clone in &status.clones {
        let r = &clone.last_sync;
        let who = if clone.this_clone {
            "this clone".to_owned()
        } else {
            format!("clone {}", r.uuid)
        };
        let desc = if clone.description.is_empty() {
            String::new()
        } else {
            format!(" [{}]", clone.description)
        };
        let _ = writeln!(
            out,
            "Last sync of {who}{desc}: {} on {} ({} tracks, {} pushed, {} pulled{}{})",
            r.time,
            r.host,
            r.tracks,
            r.pushed,
            r.pulled,
            if r.conflict_count > 0 {
                format!(", {} conflicts", r.conflict_count)
            } else {
                String::new()
            },
            if r.finished {
                ""
            } else {
                ", changes from the branch still to apply"
            },
        );
        for c in &r.conflicts {
            let _ = writeln!(out, "  conflict: {c}");
        }
    }
    match (&status.pending, &status.pending_error) {
        (Some(p), _) => {
            let _ = writeln!(
                out,
                "Now: {} tracks to push, {} to pull, {} conflicts, {} unchanged ({} tracks in the repository)",
                p.pushed,
                p.pulled,
                p.conflicts.len(),
                p.unchanged,
                p.tracks
            );
            if p.unknown_tracks > 0 {
                let _ = writeln!(
                    out,
                    "  {} tracks changed on the branch are not in this Mixxx library",
                    p.unknown_tracks
                );
            }
        }
        (None, Some(e)) => {
            let _ = writeln!(out, "Now: unknown ({e})");
        }
        (None, None) => {}
    }
    out
}

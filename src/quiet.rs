//! The no-change shortcut: a run can be skipped when nothing it reads has changed since the
//! last run that found nothing to do. "Nothing it reads" is fingerprinted cheaply by stat: the
//! Mixxx database (and its `-wal` / `-journal`), the index, the git-annex branch tip, whether
//! git-annex's journal is empty, the configuration and the git-mixxx version.
//!
//! As git does for its index ("racily clean" entries), a file modified within
//! [`RACY_SECONDS`] of recording the fingerprint is not trusted: a change in the same
//! timestamp tick would go unseen on filesystems with coarse timestamps.

use crate::context::Context;
use crate::sync::Report;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files modified this recently are not trusted to show a later change in their timestamp.
pub const RACY_SECONDS: u64 = 2;

/// A fingerprint taken before a run.
pub struct Fingerprint {
    text: String,
    /// Whether every file it covers is old enough to be trusted.
    trustworthy: bool,
}

fn path(ctx: &Context) -> PathBuf {
    ctx.annex
        .repo
        .common_dir()
        .join("mixxx")
        .join(format!("{}.quiet", ctx.annex.uuid))
}

/// A file's size and modification time (zeros when it does not exist).
fn stat(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path)
        .map(|m| (m.len(), m.modified().ok()))
        .unwrap_or((0, None))
}

impl Fingerprint {
    pub fn take(ctx: &Context) -> Option<Fingerprint> {
        let now = SystemTime::now();
        let mut files = vec![ctx.annex.repo.index_path()];
        for suffix in ["", "-wal", "-journal"] {
            let mut p = ctx.db.clone().into_os_string();
            p.push(suffix);
            files.push(PathBuf::from(p));
        }
        let mut text = format!(
            "{}\n{}\n{:?}\n{}\n{}\n",
            env!("CARGO_PKG_VERSION"),
            ctx.db.display(),
            ctx.prefixes,
            ctx.annex.tip().ok()?,
            ctx.annex.journal_is_empty()
        );
        let mut trustworthy = true;
        for file in &files {
            let (len, mtime) = stat(file);
            let nanos = mtime
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            text.push_str(&format!("{len} {nanos}\n"));
            if let Some(t) = mtime {
                trustworthy &= now
                    .duration_since(t)
                    .is_ok_and(|age| age > Duration::from_secs(RACY_SECONDS));
            }
        }
        Some(Fingerprint { text, trustworthy })
    }

    /// The report of the last no-change run, if nothing changed since.
    pub fn matching_report(&self, ctx: &Context) -> Option<Report> {
        let saved = std::fs::read_to_string(path(ctx)).ok()?;
        let (fingerprint, report) = saved.split_once("\n\n")?;
        if !self.trustworthy || fingerprint != self.text.trim_end() {
            return None;
        }
        serde_json::from_str(report).ok()
    }

    /// Records that the run that took this fingerprint found nothing to do (when its files are
    /// old enough to be trusted next time); errors only cost speed.
    pub fn save(&self, ctx: &Context, report: &Report) {
        if !self.trustworthy {
            return;
        }
        if let Ok(json) = serde_json::to_string(report) {
            let _ = std::fs::write(path(ctx), format!("{}\n\n{json}", self.text.trim_end()));
        }
    }

    /// Forgets the last no-change run.
    pub fn clear(ctx: &Context) {
        let _ = std::fs::remove_file(path(ctx));
    }
}

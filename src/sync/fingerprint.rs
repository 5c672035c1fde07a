//! The no-change fingerprint: a run can be skipped when nothing it reads has changed since the
//! last run that found nothing to do. "Nothing it reads" is fingerprinted cheaply: the Mixxx
//! database by the state of its files (the stat of the database, its `-wal` and `-journal`,
//! with SQLite's file change counter and the WAL's header: [`crate::mixxx::disk`]), plus the
//! git-annex branch tip and the remote-tracking git-annex branches it does not contain yet,
//! git-annex's journal (each entry by stat), the configuration and the git-mixxx version and
//! cache format; and for the index, by stat when it is unchanged, else by a digest of its
//! entries at the paths of the library's tracks (a commit, or `git add` of other files,
//! rewrites the index without changing which key a Mixxx track's path has). Those paths are
//! kept, hashed, in `<uuid>.paths`.
//!
//! As git does for its index ("racily clean" entries), a file modified within
//! [`RACY_SECONDS`] of taking the fingerprint is not trusted by its stat: a change in the same
//! timestamp tick would go unseen on filesystems with coarse timestamps. The database is the
//! exception when its state is the one git-mixxx's own last write left: any later commit
//! changes its version. So a run that commits records, with what it left, that the next run
//! finds nothing to do ([`Fingerprint::save_settled`]), and that run takes the shortcut at
//! once.
//!
//! A run that found nothing to do also records the digest of the database's content as it
//! read it ([`crate::mixxx::content`]). When only the database's files changed since (Mixxx
//! wrote columns git-mixxx does not read, or the same values again, or the write is too recent
//! to trust its stat), a later run scans the database's rows for that digest: the same
//! content, with everything else unchanged, is the same outcome.

use super::report::Report;
use crate::context::Context;
use crate::mixxx::content::Content;
use crate::mixxx::disk::State;
use crate::worktree::path_hash;
use gix::ObjectId;
use md5::{Digest as _, Md5};
use rustc_hash::FxHashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files modified this recently are not trusted to show a later change in their timestamp.
pub const RACY_SECONDS: u64 = 2;

/// A fingerprint taken before a run.
pub struct Fingerprint {
    /// Everything but the index and the database.
    base: String,
    /// Whether git-annex's journal entries in `base` are old enough to be trusted by their
    /// stat.
    base_trusted: bool,
    /// The state of the database's files ([`State`]), digested.
    disk: String,
    /// Whether the database's state can be trusted to show any later change ([`trusted`]).
    disk_trusted: bool,
    index_stat: String,
    index_racy: bool,
    /// The index as it was when the fingerprint was taken.
    index: Option<gix::worktree::Index>,
    /// The digest of the index entries at the saved library paths; computed unless the saved
    /// stat already matches.
    index_digest: Option<String>,
    /// What the last no-change run saved, read once.
    saved: Option<Saved>,
    /// The tips of the remote-tracking git-annex branches, as read.
    remotes: Vec<ObjectId>,
}

/// What was saved after the last no-change run.
#[derive(Clone)]
struct Saved {
    base: String,
    /// The database's state (`-`: not to be trusted).
    disk: String,
    /// The database's content as the run read it, if it knows it.
    content: Option<Content>,
    index_stat: String,
    index_digest: String,
    /// The digest of the library's paths ([`paths_digest`]); the paths themselves are in the
    /// `.paths` file, read only when the index must be digested.
    paths_digest: String,
    report: Report,
}

fn path(ctx: &Context) -> PathBuf {
    crate::state::local_dir(&ctx.annex.repo).join(format!("{}.quiet", ctx.annex.uuid))
}

fn paths_file(ctx: &Context) -> PathBuf {
    path(ctx).with_extension("paths")
}

/// The library's paths saved by the last no-change run: hashed ([`path_hash`]) and sorted.
fn load_paths(ctx: &Context) -> Option<Vec<u64>> {
    let bytes = std::fs::read(paths_file(ctx)).ok()?;
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
    )
}

fn paths_digest(paths: &[u64]) -> String {
    let mut md5 = Md5::new();
    for p in paths {
        md5.update(p.to_le_bytes());
    }
    faster_hex::hex_string(&md5.finalize())
}

impl Saved {
    /// The file's text, as [`load`] reads it.
    fn text(&self) -> Option<String> {
        let json = serde_json::to_string(&self.report).ok()?;
        let content = self
            .content
            .as_ref()
            .map_or("-".to_owned(), Content::to_line);
        Some(format!(
            "{}\n{}\n{content}\n{}\n{}\n{}\n\n{json}",
            self.base, self.disk, self.index_stat, self.index_digest, self.paths_digest
        ))
    }
}

fn load(ctx: &Context) -> Option<Saved> {
    let text = std::fs::read_to_string(path(ctx)).ok()?;
    let (head, report) = text.split_once("\n\n")?;
    let mut lines: Vec<&str> = head.lines().collect();
    let paths_digest = lines.pop()?.to_owned();
    let index_digest = lines.pop()?.to_owned();
    let index_stat = lines.pop()?.to_owned();
    let content = Content::parse(lines.pop()?);
    let disk = lines.pop()?.to_owned();
    Some(Saved {
        base: lines.join("\n"),
        disk,
        content,
        index_stat,
        index_digest,
        paths_digest,
        report: serde_json::from_str(report).ok()?,
    })
}

/// A digest of git-annex's journal (every entry's name, size and modification time, so that
/// any new or rewritten entry is noticed), and whether an entry is too recent to trust.
fn journal(ctx: &Context, now: SystemTime) -> (String, bool) {
    let mut md5 = Md5::new();
    let mut any_racy = false;
    for (name, meta) in ctx.annex.journal_entries() {
        let mtime = meta.modified().ok();
        any_racy |= racy(mtime, now);
        md5.update(name.as_encoded_bytes());
        md5.update(meta.len().to_le_bytes());
        md5.update(nanos(mtime).to_le_bytes());
    }
    (faster_hex::hex_string(&md5.finalize()), any_racy)
}

fn nanos(time: Option<SystemTime>) -> u128 {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

/// Whether a file modified at `mtime` is too recent to be trusted by its stat.
fn racy(mtime: Option<SystemTime>, now: SystemTime) -> bool {
    mtime.is_none_or(|t| {
        now.duration_since(t)
            .map_or(true, |age| age <= Duration::from_secs(RACY_SECONDS))
    })
}

/// A file's size and modification time, and whether it was modified too recently to trust
/// (for the index).
fn stat(path: &Path, now: SystemTime) -> (String, bool) {
    let Ok(meta) = std::fs::metadata(path) else {
        return ("absent".into(), false);
    };
    let mtime = meta.modified().ok();
    (format!("{} {}", meta.len(), nanos(mtime)), racy(mtime, now))
}

/// The digest of the index's entries (path, mode, stage, object id, not stat data) at the
/// library's paths (`paths`, sorted hashes).
fn index_digest(index: &gix::index::File, paths: &[u64]) -> String {
    // A set, not a binary search of the sorted list: at a million paths each search misses
    // the processor's caches many times, a set's look-up about once.
    let paths: FxHashSet<u64> = paths.iter().copied().collect();
    let mut md5 = Md5::new();
    for entry in index.entries() {
        let path = entry.path(index);
        if !paths.contains(&path_hash(path)) {
            continue;
        }
        md5.update(path);
        md5.update([0]);
        md5.update(entry.mode.bits().to_le_bytes());
        md5.update([entry.stage_raw() as u8]);
        md5.update(entry.id.as_bytes());
    }
    faster_hex::hex_string(&md5.finalize())
}

/// Whether the database's state can be trusted to show any later change: it is old enough, or
/// git-mixxx's own last write left it.
fn trusted(ctx: &Context, disk: &State, now: SystemTime) -> bool {
    !disk.changed_within(Duration::from_secs(RACY_SECONDS), now)
        || disk.is_own_write(&crate::state::local_dir(&ctx.annex.repo), &ctx.annex.uuid)
}

/// Everything of the fingerprint but the index and the database: the branch at `tip` with
/// the remote-tracking branches it lacks (`unmerged`) and git-annex's `journal`.
fn base_text(ctx: &Context, tip: ObjectId, unmerged: &[ObjectId], journal: &str) -> String {
    let mut unmerged = unmerged.to_vec();
    unmerged.sort_unstable();
    format!(
        "{}\n{}\n{:?}\n{tip}\n{unmerged:?}\n{journal}",
        crate::state::CACHE_HEADER,
        ctx.db.display(),
        ctx.prefixes,
    )
}

/// The database's state on one line.
fn disk_text(disk: &State) -> String {
    format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(disk.as_str().as_bytes())
    )
}

/// Whether a fingerprint matched the last no-change run's, and how; with that run's report
/// when it did.
pub enum Match {
    /// Everything by its stat.
    Stat(Report),
    /// The database by its content, the rest by its stat.
    Content(Report),
    /// The database's content was compared, and differs.
    ContentDiffers,
    /// Not compared, or something else differs.
    No,
}

impl Match {
    /// Whether the database's content was compared (a scan of its rows).
    pub fn compared_content(&self) -> bool {
        matches!(self, Match::Content(_) | Match::ContentDiffers)
    }
}

impl Fingerprint {
    pub fn take(ctx: &Context) -> Option<Fingerprint> {
        let now = SystemTime::now();
        let journal = journal(ctx, now);
        let tip = ctx.annex.tip().ok()?;
        let remotes = ctx.annex.remote_tips().ok()?;
        let unmerged = ctx.annex.unmerged_among(tip, &remotes).ok()?;
        let state = State::read(&ctx.db);
        let base = base_text(ctx, tip, &unmerged, &journal.0);
        let (disk, disk_trusted) = (disk_text(&state), trusted(ctx, &state, now));
        let (index_stat, index_racy) = stat(&ctx.annex.repo.index_path(), now);
        let saved = load(ctx);
        let saved_stat_matches =
            !index_racy && saved.as_ref().is_some_and(|s| s.index_stat == index_stat);
        // Loading the index costs more than the rest of the fingerprint: only when its stat
        // does not settle it.
        let index = if saved_stat_matches {
            None
        } else {
            ctx.annex.repo.index_or_empty().ok()
        };
        // The digest decides only when everything else matches (or the database may, by its
        // content); a run that changed nothing computes it later, from this snapshot, to save
        // it.
        let database_may_match =
            |s: &Saved| (disk_trusted && s.disk == disk) || s.content.is_some();
        let index_digest = match (&saved, &index) {
            (Some(saved), Some(index))
                if !journal.1 && saved.base == base && database_may_match(saved) =>
            {
                load_paths(ctx)
                    .filter(|paths| paths_digest(paths) == saved.paths_digest)
                    .map(|paths| index_digest(index, &paths))
            }
            _ => None,
        };
        Some(Fingerprint {
            base,
            base_trusted: !journal.1,
            disk,
            disk_trusted,
            index_stat,
            index_racy,
            index,
            index_digest,
            saved,
            remotes,
        })
    }

    /// Whether nothing changed since the last no-change run, and how that was found: the
    /// database by its state, or else by its content (a scan of its rows).
    pub fn matching(&self, ctx: &Context) -> Match {
        let Some(saved) = &self.saved else {
            return Match::No;
        };
        if !self.base_trusted || saved.base != self.base {
            return Match::No;
        }
        let index_same = match &self.index_digest {
            Some(digest) => *digest == saved.index_digest,
            None => !self.index_racy && saved.index_stat == self.index_stat,
        };
        if !index_same {
            return Match::No;
        }
        if self.disk_trusted && saved.disk == self.disk {
            return Match::Stat(saved.report.clone());
        }
        let Some(content) = &saved.content else {
            return Match::No;
        };
        let same =
            crate::mixxx::Database::open_read_only(&ctx.db).and_then(|db| db.content_is(content));
        match same {
            Ok(true) => Match::Content(saved.report.clone()),
            _ => Match::ContentDiffers,
        }
    }

    /// Records that the run that took this fingerprint found nothing to do, with the
    /// library's paths in the work tree (hashed by [`path_hash`]) and the digest of the
    /// database's content as it read it: the database's state too when it is old enough to be
    /// trusted next time. Forgets the last one when nothing can be trusted. Errors only cost
    /// speed.
    pub fn save(
        &self,
        ctx: &Context,
        report: &Report,
        library_paths: &[u64],
        content: Option<&Content>,
    ) {
        let disk = if self.disk_trusted {
            self.disk.as_str()
        } else {
            "-"
        };
        if !self.base_trusted || (disk == "-" && content.is_none()) {
            return Fingerprint::clear(ctx);
        }
        self.write(ctx, &self.base, disk, content, report, library_paths);
    }

    /// After a match by content ([`Match::Content`]), records the database's new state (and
    /// the index's, which matched), so that the next run takes the shortcut by its stat (when
    /// it can be trusted); the library's paths are the same.
    pub fn refresh(&self, ctx: &Context) {
        let Some(saved) = self.saved.as_ref().filter(|_| self.disk_trusted) else {
            return;
        };
        let refreshed = Saved {
            disk: self.disk.clone(),
            index_stat: self.index_stat.clone(),
            ..saved.clone()
        };
        if let Some(text) = refreshed.text() {
            let _ = std::fs::write(path(ctx), text);
        }
    }

    /// Records, after a run that committed `commit` and left Mixxx and the branch settled
    /// (its report's [`Report::settled`]), that the next run finds nothing to do: the
    /// fingerprint of what it left (the database as its own write left it, the branch at its
    /// commit, the index as the run read it). Only when no remote-tracking branch is left to
    /// merge and git-annex's journal is empty (the next run would read those); else the last
    /// no-change run is forgotten.
    pub fn save_settled(&self, ctx: &Context, settled: &Report, commit: ObjectId) {
        let now = SystemTime::now();
        let journal = journal(ctx, now);
        let Some(disk) = settled.disk.as_ref() else {
            return Fingerprint::clear(ctx);
        };
        let merged = ctx
            .annex
            .unmerged_among(commit, &self.remotes)
            .is_ok_and(|u| u.is_empty());
        if !merged || !ctx.annex.journal_is_empty() || !trusted(ctx, disk, now) {
            return Fingerprint::clear(ctx);
        }
        let base = base_text(ctx, commit, &[], &journal.0);
        let disk = disk_text(disk);
        self.write(ctx, &base, &disk, None, settled, &settled.library_paths);
    }

    /// Writes the fingerprint `base` with the database's state `disk` and `content`, this
    /// fingerprint's index, and the `report` of the run that finds nothing to do there.
    fn write(
        &self,
        ctx: &Context,
        base: &str,
        disk: &str,
        content: Option<&Content>,
        report: &Report,
        library_paths: &[u64],
    ) {
        let mut paths = library_paths.to_vec();
        paths.sort_unstable();
        paths.dedup();
        let paths_digest = paths_digest(&paths);
        let Some(index_digest) = self.index_digest_at(ctx, &paths, &paths_digest) else {
            return;
        };
        let saved = Saved {
            base: base.to_owned(),
            disk: disk.to_owned(),
            content: content.cloned(),
            index_stat: self.index_stat.clone(),
            index_digest,
            paths_digest,
            report: report.clone(),
        };
        let Some(text) = saved.text() else {
            return;
        };
        let bytes: Vec<u8> = paths.iter().flat_map(|p| p.to_le_bytes()).collect();
        if std::fs::write(paths_file(ctx), bytes).is_ok() {
            let _ = std::fs::write(path(ctx), text);
        }
    }

    /// The digest of the index as it was before the run, at the library's `paths` (sorted
    /// hashes, digested as `paths_digest`); none when it cannot be known.
    fn index_digest_at(&self, ctx: &Context, paths: &[u64], paths_digest: &str) -> Option<String> {
        let same_paths = self
            .saved
            .as_ref()
            .is_some_and(|s| s.paths_digest == paths_digest);
        match (&self.saved, &self.index_digest, &self.index) {
            (Some(_), Some(digest), _) if same_paths => Some(digest.clone()),
            (Some(saved), None, None) if same_paths => Some(saved.index_digest.clone()),
            _ => match &self.index {
                Some(index) => Some(index_digest(index, paths)),
                // The index was settled by its stat; it is still the same if that is.
                None => match ctx.annex.repo.index_or_empty() {
                    Ok(index)
                        if stat(&ctx.annex.repo.index_path(), SystemTime::now()).0
                            == self.index_stat =>
                    {
                        Some(index_digest(&index, paths))
                    }
                    _ => None,
                },
            },
        }
    }

    /// Forgets the last no-change run.
    pub fn clear(ctx: &Context) {
        let _ = std::fs::remove_file(path(ctx));
        let _ = std::fs::remove_file(paths_file(ctx));
    }
}

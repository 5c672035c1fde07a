//! The text the command line prints: a sync's summary, `status`, the one line a hook says,
//! and `-v`'s per-track decisions from the plan.

use git_mixxx::context::DbSource;
use git_mixxx::mixxx::location::Location;
use git_mixxx::mixxx::running;
use git_mixxx::status::Status;
use git_mixxx::sync::guard::Refusal;
use git_mixxx::sync::plan::Plan;
use git_mixxx::sync::{Report, field_counts};
use std::fmt::Write as _;

/// The human-readable summary of a sync.
pub fn report(r: &Report, verbose: bool) -> String {
    if let Some(refusal) = &r.refused {
        return refused(refusal, r.dry_run);
    }
    let mut out = String::new();
    let would = if r.dry_run { "would be " } else { "" };
    let nothing = r.pushed == 0 && r.pulled == 0 && r.held_back == 0 && r.conflicts.is_empty();
    if nothing && r.commit.is_none() {
        let _ = writeln!(
            out,
            "Nothing to do: Mixxx and the git-annex branch agree on all {} tracks.",
            r.tracks
        );
    } else {
        let _ = writeln!(
            out,
            "{}{} tracks: {} {would}pushed to the branch, {} {would}pulled into Mixxx, {} unchanged{}.",
            if r.dry_run { "Dry run, " } else { "" },
            r.tracks,
            r.pushed,
            r.pulled,
            r.unchanged,
            if r.first_sync {
                " (first sync of this clone)"
            } else {
                ""
            }
        );
        if !r.pushed_fields.is_empty() {
            let _ = writeln!(out, "  pushed fields: {}", field_counts(&r.pushed_fields));
        }
        if !r.pulled_fields.is_empty() {
            let _ = writeln!(out, "  pulled fields: {}", field_counts(&r.pulled_fields));
        }
    }
    if r.database_replaced {
        let _ = writeln!(
            out,
            "  This Mixxx database is not the one this clone synced last (a new one, a restored backup or a copy): where the branch has values, they win (conflicts are listed); what the branch never had is pushed."
        );
    }
    relinks(&mut out, r, verbose);
    if let Some(why) = &r.pull_pending {
        let _ = writeln!(out, "  {} wait, NOT written to Mixxx: {why}.", waiting(r));
    }
    for c in &r.conflicts {
        let _ = writeln!(out, "  conflict: {c}");
    }
    if !r.skipped.is_empty() {
        let total: usize = r.skipped.values().sum();
        let reasons: Vec<String> = r
            .skipped
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        let _ = writeln!(out, "  skipped {total} tracks: {}", reasons.join(", "));
    }
    if r.unknown_tracks > 0 {
        let _ = writeln!(
            out,
            "  {} tracks changed on the branch are not in this Mixxx library (import them in Mixxx to get their metadata)",
            r.unknown_tracks
        );
    }
    if !r.failed.is_empty() {
        let _ = writeln!(out, "  failed: {} values", r.failed.len());
        for f in r.failed.iter().take(if verbose { usize::MAX } else { 10 }) {
            let _ = writeln!(out, "    {} {}: {}", f.path, f.field, f.reason);
        }
    }
    if let Some(b) = &r.backup {
        let _ = writeln!(out, "  Mixxx database backed up to {}", b.display());
    }
    if let Some(c) = &r.commit {
        let _ = writeln!(
            out,
            "  committed {} on the git-annex branch",
            &c[..c.len().min(12)]
        );
    }
    out
}

/// The rows moved (or, in a dry run, to move) to their file's new path, and those waiting.
fn relinks(out: &mut String, r: &Report, verbose: bool) {
    let shown = if verbose { usize::MAX } else { 10 };
    let lists = [
        (
            &r.relinked,
            if r.dry_run {
                "would be relinked"
            } else {
                "relinked"
            },
        ),
        (&r.relinks_waiting, "wait to be relinked"),
    ];
    for (list, what) in lists.into_iter().filter(|(l, _)| !l.is_empty()) {
        let _ = writeln!(
            out,
            "  {} {} to their file's new path (keeping their cues, crates, playlists and plays):",
            tracks(list.len()),
            what
        );
        for m in list.iter().take(shown) {
            let _ = writeln!(out, "    {} → {}", m.from, m.to);
        }
        if list.len() > shown {
            let _ = writeln!(
                out,
                "    ... and {} more (-v lists all)",
                list.len() - shown
            );
        }
    }
}

/// What waits for Mixxx to close: pulls, relinks or both.
fn waiting(r: &Report) -> String {
    let pulls = format!("changes from the branch for {}", tracks(r.held_back));
    match r.relinks_waiting.len() {
        0 => pulls,
        n if r.held_back == 0 => format!("{} to relink", tracks(n)),
        n => format!("{pulls} and {} to relink", tracks(n)),
    }
}

/// "1 track", "2 tracks".
fn tracks(n: usize) -> String {
    format!("{n} track{}", if n == 1 { "" } else { "s" })
}

/// The human-readable form.
pub fn status(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "This clone: {}", status.uuid);
    let _ = writeln!(
        out,
        "Mixxx database: {} (from {})",
        status.database.path,
        source(status.database.source)
    );
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
            relinks(&mut out, p, false);
        }
        (None, Some(e)) => {
            let _ = writeln!(out, "Now: unknown ({e})");
        }
        (None, None) => {}
    }
    if let Some(holder) = &status.mixxx_running {
        let waiting = status.pending.as_ref().map_or(0, |p| p.pulled);
        let _ = writeln!(
            out,
            "Mixxx is running ({holder} {}): changes from the branch for {waiting} tracks wait until it is closed; the next sync (or hook) after that applies them",
            running::HOLDS
        );
    }
    out
}

/// What chose the Mixxx database, as `status` says it.
fn source(source: DbSource) -> &'static str {
    match source {
        DbSource::DbOption => "--db",
        DbSource::Environment => "GIT_MIXXX_DB",
        DbSource::GitConfig => "git config mixxx.db",
        DbSource::Default(Location::Linux | Location::Windows) => "Mixxx's default location",
        DbSource::Default(Location::Flatpak) => "Flatpak Mixxx's location",
        DbSource::Default(Location::MacosSandbox) => "Mixxx's default location (macOS sandbox)",
        DbSource::Default(Location::Macos) => "older Mixxx's location on macOS",
    }
}

/// What a refused run says: how much it would clear, the first values, how to go ahead.
fn refused(refusal: &Refusal, dry_run: bool) -> String {
    let mut out = format!(
        "Refused: this sync would clear {} values of {} tracks on the git-annex branch{}.\n",
        refusal.values,
        refusal.tracks,
        if dry_run { "" } else { "; nothing was written" }
    );
    for loss in &refusal.examples {
        let _ = writeln!(out, "  {} {}: {:?}", loss.path, loss.field, loss.value);
    }
    if refusal.values > refusal.examples.len() {
        let _ = writeln!(out, "  ...");
    }
    out.push_str(
        "Is this the right Mixxx database (--db, mixxx.db)? If you meant to clear them: git mixxx sync --allow-clears (git config mixxx.clearGuard false turns the guard off).\n",
    );
    out
}

/// The one line a hook prints on the git command's terminal.
pub fn hook_line(name: &str, report: &Report) -> String {
    if let Some(r) = &report.refused {
        return format!(
            "git-mixxx ({name}): refused to clear {} values of {} tracks on the git-annex branch; nothing was written (run `git mixxx sync` to see them, `git mixxx sync --allow-clears` if you meant it)",
            r.values, r.tracks
        );
    }
    let mut line = format!(
        "git-mixxx ({name}): {} tracks pushed to the git-annex branch, {} pulled into Mixxx",
        report.pushed, report.pulled
    );
    if !report.relinked.is_empty() {
        let _ = write!(line, ", {} relinked", tracks(report.relinked.len()));
    }
    if !report.conflicts.is_empty() {
        let _ = write!(
            line,
            ", {} conflicts (see `git mixxx status`)",
            report.conflicts.len()
        );
    }
    if let Some(why) = &report.pull_pending {
        let _ = write!(line, "; {} wait: {why}", waiting(report));
    }
    if !report.failed.is_empty() {
        let _ = write!(
            line,
            "; {} values failed (run `git mixxx sync` to see them)",
            report.failed.len()
        );
    }
    line
}

fn values(set: &std::collections::BTreeSet<String>) -> String {
    if set.is_empty() {
        return "(unset)".to_owned();
    }
    let quoted: Vec<String> = set.iter().map(|v| format!("{v:?}")).collect();
    quoted.join(", ")
}

/// `-v`: every decision of the plan, a line per track and field.
pub fn plan(plan: &Plan<'_>, dry_run: bool) -> String {
    let (push, pull) = if dry_run {
        ("would push", "would pull")
    } else {
        ("push", "pull")
    };
    let mut out = String::new();
    for track in &plan.tracks {
        let path = &track.item.path;
        if let Some(p) = &track.push {
            for c in p.changes() {
                let sign = if c.set { '+' } else { '-' };
                let _ = writeln!(out, "{push} {path}: {} {sign}{:?}", c.field, c.value);
            }
        }
        for (field, new) in &track.pull {
            let _ = writeln!(out, "{pull} {path}: {field} = {}", values(new));
        }
        for c in &track.conflicts {
            let _ = writeln!(
                out,
                "conflict {path}: {} Mixxx {} / branch {}, {} wins",
                c.field,
                values(&c.mixxx),
                values(&c.branch),
                c.winner.name()
            );
        }
        for h in &track.held {
            let _ = writeln!(out, "held {path}: {} {}", h.field, h.invalid);
        }
    }
    out
}

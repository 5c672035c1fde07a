//! The text the command line prints: a sync's summary (with `-v` and `--dry-run`, each field
//! that changes), `status`, and the one line a hook says. Long lists stop after a limit and
//! say how many more there are.

use git_mixxx::context::DbSource;
use git_mixxx::history::log::{Log, RunChanges, Writer};
use git_mixxx::history::restore::{BackupInfo, Restored};
use git_mixxx::history::undo::{Revert, Undo};
use git_mixxx::mixxx::location::Location;
use git_mixxx::mixxx::running;
use git_mixxx::state::Conflict;
use git_mixxx::status::Status;
use git_mixxx::sync::guard::Refusal;
use git_mixxx::sync::{Action, Report, TrackChange, field_counts};
use git_mixxx::worktree::Skip;
use std::fmt::Write as _;

/// The human-readable summary of a sync; with `verbose` or in a dry run, each field that
/// changes, track by track; lists stop after `limit` lines.
pub fn report(r: &Report, verbose: bool, limit: usize) -> String {
    if let Some(refusal) = &r.refused {
        return refused(refusal, r.dry_run);
    }
    let mut out = String::new();
    let nothing = r.pushed == 0
        && r.pulled == 0
        && r.held_back == 0
        && r.conflicts.is_empty()
        && r.imported.is_empty()
        && r.imports_waiting.is_empty();
    if nothing && r.commit.is_none() {
        let _ = writeln!(
            out,
            "Nothing to do: Mixxx and the git-annex branch agree on {} {}.",
            if r.tracks == 1 { "the" } else { "all" },
            count(r.tracks, "track")
        );
    } else {
        let (push, pull) = match r.dry_run {
            true => ("would be pushed", "would be pulled"),
            false => ("pushed", "pulled"),
        };
        let _ = writeln!(
            out,
            "{}{}: {} {push} to the branch, {} {pull} into Mixxx, {} unchanged{}.",
            if r.dry_run {
                "Dry run (nothing written), "
            } else {
                ""
            },
            count(r.tracks, "track"),
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
            let _ = writeln!(
                out,
                "  {push}, by field: {}",
                field_counts(&r.pushed_fields)
            );
        }
        if !r.pulled_fields.is_empty() {
            let _ = writeln!(
                out,
                "  {pull}, by field: {}",
                field_counts(&r.pulled_fields)
            );
        }
    }
    if r.database_replaced {
        let _ = writeln!(
            out,
            "  This Mixxx database is not the one this clone synced last (a new one, a restored backup or a copy): where the branch has values, they win (conflicts are listed); what the branch never had is pushed."
        );
    }
    relinks(&mut out, r, limit);
    imports(&mut out, r, limit);
    if let Some(why) = &r.pull_pending {
        let _ = writeln!(out, "  {} wait, NOT written to Mixxx: {why}.", waiting(r));
    }
    if verbose || r.dry_run {
        changes(&mut out, &r.changes, r.dry_run, limit);
    } else if !r.conflicts.is_empty() {
        let _ = writeln!(out, "  {}:", count(r.conflicts.len(), "conflict"));
        let lines = r.conflicts.iter().map(|c| conflict_line(c, r.dry_run));
        capped(&mut out, lines, r.conflicts.len(), limit);
    }
    skipped(&mut out, r);
    unknown(&mut out, r, " (import them in Mixxx to get their metadata)");
    if !r.failed.is_empty() {
        let _ = writeln!(out, "  failed: {}", count(r.failed.len(), "value"));
        let lines = r
            .failed
            .iter()
            .map(|f| format!("{} {}: {}", f.path, f.field, f.reason));
        capped(&mut out, lines, r.failed.len(), limit);
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

/// Tracks changed on the branch that this Mixxx does not have, then `advice`.
fn unknown(out: &mut String, r: &Report, advice: &str) {
    if r.unknown_tracks > 0 {
        let _ = writeln!(
            out,
            "  {} changed on the branch {} not in this Mixxx library{advice}",
            count(r.unknown_tracks, "track"),
            if r.unknown_tracks == 1 { "is" } else { "are" }
        );
    }
}

/// Playlist orders on the branch that no playlist of this Mixxx shows.
fn unmatched_orders(out: &mut String, r: &Report, limit: usize) {
    let orders = &r.unmatched_orders;
    if orders.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {} on the branch that no playlist of this Mixxx shows:",
        count(orders.len(), "playlist order")
    );
    let lines = orders.iter().map(|u| match &u.name {
        Some(name) => format!(
            "{name:?} ({}, none of them in this Mixxx) in {}",
            count(u.entries, "track"),
            u.file
        ),
        None => format!("{} (over the size limits: not read)", u.file),
    });
    capped(out, lines, orders.len(), limit);
}

/// The tracks of this Mixxx that are not synced, by reason.
fn skipped(out: &mut String, r: &Report) {
    if r.skipped.is_empty() {
        return;
    }
    let total: usize = r.skipped.values().sum();
    let reasons: Vec<String> = r
        .skipped
        .iter()
        .map(|(why, n)| format!("{n} {}", why.describe()))
        .collect();
    let _ = writeln!(
        out,
        "  skipped {}: {}",
        count(total, "track"),
        reasons.join(", ")
    );
    if r.skipped.contains_key(&Skip::OutsideRepo) {
        let _ = writeln!(
            out,
            "  (if this Mixxx sees the repository under another path, say so: git config --add mixxx.prefix PATH)"
        );
    }
}

/// Writes the first `limit` of `lines` (of `total`) indented, then how many more there are.
fn capped(out: &mut String, lines: impl Iterator<Item = String>, total: usize, limit: usize) {
    for line in lines.take(limit) {
        let _ = writeln!(out, "    {line}");
    }
    if total > limit {
        let _ = writeln!(out, "    ... and {} more (-vv lists all)", total - limit);
    }
}

/// Each field that changes: `path: field old → new (pushed|pulled|conflict, winner)`.
fn changes(out: &mut String, changes: &[TrackChange], dry_run: bool, limit: usize) {
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {} {}:",
        count(changes.len(), "change"),
        if dry_run { "it would make" } else { "made" }
    );
    let lines = changes.iter().map(|c| {
        let how = match (c.action, dry_run) {
            (Action::Pushed, false) => "pushed".to_owned(),
            (Action::Pushed, true) => "would be pushed".to_owned(),
            (Action::Pulled, false) => "pulled".to_owned(),
            (Action::Pulled, true) => "would be pulled".to_owned(),
            (Action::Conflict, _) => {
                let winner = c.winner.as_deref().unwrap_or("git");
                match dry_run {
                    true => format!("conflict, {winner} would win"),
                    false => format!("conflict, {winner} won"),
                }
            }
        };
        format!(
            "{}: {} {} → {} ({how})",
            c.path,
            c.field,
            shown(&c.old),
            shown(&c.new)
        )
    });
    capped(out, lines, changes.len(), limit);
}

/// Values as a DJ reads them: plain, quoted where spaces or commas would blur them,
/// `(none)` for no value.
fn shown(values: &[String]) -> String {
    if values.is_empty() {
        return "(none)".to_owned();
    }
    let show = |v: &String| {
        if v.is_empty() || v.contains(',') || v.trim() != v {
            format!("{v:?}")
        } else {
            v.clone()
        }
    };
    values.iter().map(show).collect::<Vec<_>>().join(", ")
}

/// A conflict in one line: whose value stays and whose is replaced.
fn conflict_line(c: &Conflict, dry_run: bool) -> String {
    let verb = if dry_run { "would win" } else { "won" };
    format!(
        "{} {}: Mixxx {}, branch {}; {} {verb}",
        c.path,
        c.field,
        shown(&c.mixxx),
        shown(&c.branch),
        c.winner
    )
}

/// The rows moved (or, in a dry run, to move) to their file's new path, and those waiting.
fn relinks(out: &mut String, r: &Report, limit: usize) {
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
        let lines = list.iter().map(|m| format!("{} → {}", m.from, m.to));
        capped(out, lines, list.len(), limit);
    }
}

/// The files added to Mixxx (or, in a dry run, to add), and those waiting.
fn imports(out: &mut String, r: &Report, limit: usize) {
    let added = if r.dry_run {
        "would be added to Mixxx"
    } else {
        "added to Mixxx"
    };
    let lists = [
        (&r.imported, added),
        (&r.imports_waiting, "wait to be added to Mixxx"),
    ];
    for (list, what) in lists.into_iter().filter(|(l, _)| !l.is_empty()) {
        let _ = writeln!(
            out,
            "  {} {what}, with the branch's values, crates, playlists and cues:",
            count(list.len(), "file")
        );
        capped(out, list.iter().cloned(), list.len(), limit);
    }
}

/// What waits for Mixxx to close: pulls, relinks, imports.
fn waiting(r: &Report) -> String {
    let mut parts = Vec::new();
    if r.held_back > 0 || (r.relinks_waiting.is_empty() && r.imports_waiting.is_empty()) {
        parts.push(format!(
            "changes from the branch for {}",
            tracks(r.held_back)
        ));
    }
    if !r.relinks_waiting.is_empty() {
        parts.push(format!("{} to relink", tracks(r.relinks_waiting.len())));
    }
    if !r.imports_waiting.is_empty() {
        parts.push(format!("{} to add", count(r.imports_waiting.len(), "file")));
    }
    parts.join(" and ")
}

/// "1 track", "2 tracks".
fn tracks(n: usize) -> String {
    count(n, "track")
}

/// `n` and the noun, singular or plural: "1 track", "2 tracks".
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The human-readable `status`; lists stop after `limit` lines.
pub fn status(status: &Status, limit: usize) -> String {
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
            "  Never synced with git-mixxx yet: `git mixxx sync` starts (what it would do is under \"Now\")."
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
            "Last sync of {who}{desc}: run {} at {} on {} ({}, {} pushed, {} pulled{}{})",
            r.id,
            r.time,
            r.host,
            count(r.tracks, "track"),
            r.pushed,
            r.pulled,
            if r.conflict_count > 0 {
                format!(", {}", count(r.conflict_count, "conflict"))
            } else {
                String::new()
            },
            match (&r.undid, r.finished) {
                (Some(undid), _) => format!(", an undo of run {undid}"),
                (None, true) => String::new(),
                (None, false) => ", changes from the branch still to apply".to_owned(),
            },
        );
    }
    hooks(&mut out, status);
    if status.acknowledged > 0 {
        let _ = writeln!(
            out,
            "Acknowledged {}: {} not listed again.",
            count(status.acknowledged, "conflict"),
            if status.acknowledged == 1 {
                "it is"
            } else {
                "they are"
            }
        );
    }
    if !status.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{} (listed until the field is set again, or `git mixxx status --ack`):",
            count(status.conflicts.len(), "conflict")
        );
        let lines = status.conflicts.iter().map(|c| {
            let by = if c.description.is_empty() {
                &c.clone
            } else {
                &c.description
            };
            format!(
                "{} (at {by}'s sync of {})",
                conflict_line(&c.conflict, false),
                c.time
            )
        });
        capped(&mut out, lines, status.conflicts.len(), limit);
    }
    match (&status.pending, &status.pending_error) {
        (Some(p), _) => {
            let _ = writeln!(
                out,
                "Now: {} to push, {} to pull, {}, {} unchanged ({} in the repository)",
                count(p.pushed, "track"),
                p.pulled,
                count(p.conflicts.len(), "conflict"),
                p.unchanged,
                count(p.tracks, "track")
            );
            unknown(&mut out, p, "");
            unmatched_orders(&mut out, p, limit);
            skipped(&mut out, p);
            relinks(&mut out, p, limit);
            imports(&mut out, p, limit);
            changes(&mut out, &p.changes, true, limit);
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
            "Mixxx is running ({holder} {}): changes from the branch for {} wait until it is closed; the next sync (or hook) after that applies them",
            running::HOLDS,
            count(waiting, "track")
        );
    }
    out
}

/// The hooks: installed or not, and when each last ran.
fn hooks(out: &mut String, status: &Status) {
    if status.hooks.iter().all(|h| !h.installed) {
        let _ = writeln!(
            out,
            "Hooks: not installed (`git mixxx install-hooks` syncs on every commit, merge and `git annex sync`)"
        );
        return;
    }
    let _ = writeln!(out, "Hooks:");
    for h in &status.hooks {
        let state = match (h.installed, &h.last_run, &h.last_outcome) {
            (false, ..) => "NOT installed (`git mixxx install-hooks` adds it)".to_owned(),
            (true, Some(time), Some(outcome)) => format!("installed, last ran {time}: {outcome}"),
            (true, ..) => "installed, has not run yet".to_owned(),
        };
        let _ = writeln!(out, "  {}: {state}", h.name);
    }
}

/// What chose the Mixxx database, as `status` says it.
fn source(source: DbSource) -> &'static str {
    match source {
        DbSource::DbOption => "--db",
        DbSource::Environment => "GIT_MIXXX_DB",
        DbSource::GitConfig => "git config mixxx.db",
        DbSource::MixxxCommand => "the --settingsPath of git config mixxx.command",
        DbSource::Default(Location::Linux | Location::Windows) => "Mixxx's default location",
        DbSource::Default(Location::Flatpak) => "Flatpak Mixxx's location",
        DbSource::Default(Location::MacosSandbox) => "Mixxx's default location (macOS sandbox)",
        DbSource::Default(Location::Macos) => "older Mixxx's location on macOS",
    }
}

/// What a refused run says: how much it would clear, the first values, how to go ahead.
fn refused(refusal: &Refusal, dry_run: bool) -> String {
    let mut out = format!(
        "Refused: this sync would clear {} of {} on the git-annex branch{}.\n",
        count(refusal.values, "value"),
        count(refusal.tracks, "track"),
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
            "git-mixxx ({name}): refused to clear {} of {} on the git-annex branch; nothing was written (run `git mixxx sync` to see them, `git mixxx sync --allow-clears` if you meant it)",
            count(r.values, "value"),
            count(r.tracks, "track")
        );
    }
    let mut line = format!(
        "git-mixxx ({name}): {} pushed to the git-annex branch, {} pulled into Mixxx",
        count(report.pushed, "track"),
        report.pulled
    );
    if !report.relinked.is_empty() {
        let _ = write!(line, ", {} relinked", tracks(report.relinked.len()));
    }
    if !report.imported.is_empty() {
        let _ = write!(
            line,
            ", {} added to Mixxx",
            count(report.imported.len(), "file")
        );
    }
    if !report.conflicts.is_empty() {
        let _ = write!(
            line,
            ", {} (see `git mixxx status`)",
            count(report.conflicts.len(), "conflict")
        );
    }
    if let Some(why) = &report.pull_pending {
        let _ = write!(line, "; {} wait: {why}", waiting(report));
    }
    if !report.failed.is_empty() {
        let _ = write!(
            line,
            "; {} failed (run `git mixxx sync` to see them)",
            count(report.failed.len(), "value")
        );
    }
    line
}

/// A run's heading in `log`: who wrote it (run, clone, host, or the author of a commit
/// git-mixxx did not make), when, and its commit.
fn run_heading(r: &RunChanges) -> String {
    let commit = &r.commit[..r.commit.len().min(12)];
    let who = match r.writer {
        Writer::GitMixxx => {
            let mut who = format!("run {}", r.run.as_deref().unwrap_or("?"));
            let clone = match r.description.as_deref() {
                Some(d) if !d.is_empty() => d.to_owned(),
                _ => r.clone.clone().unwrap_or_default(),
            };
            let _ = write!(who, " of {clone}");
            if let Some(host) = &r.host {
                let _ = write!(who, " on {host}");
            }
            if let Some(undid) = &r.undid {
                let _ = write!(who, ", undoing run {undid}");
            }
            who
        }
        Writer::GitAnnex => format!("git annex metadata, by {}", r.author),
    };
    format!("{who}  {}  commit {commit}", r.time)
}

/// `log`: each run's heading, then its changes, one per line: `path  field  old → new`.
pub fn log(log: &Log) -> String {
    let mut out = String::new();
    if log.runs.is_empty() {
        out.push_str("No changes of Mixxx metadata on the git-annex branch.\n");
    }
    for (i, run) in log.runs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", run_heading(run));
        for c in &run.changes {
            let _ = writeln!(
                out,
                "    {}  {}  {} → {}",
                c.path.as_deref().unwrap_or(&c.key),
                c.field,
                shown(&c.old),
                shown(&c.new)
            );
        }
    }
    out
}

/// `undo`: the run, what was (or would be) reverted, what was left alone, and the sync.
pub fn undo(u: &Undo, limit: usize) -> String {
    let mut out = String::new();
    let clone = if u.run.description.is_empty() {
        &u.run.clone
    } else {
        &u.run.description
    };
    let verb = match (u.dry_run, u.reverted.is_empty()) {
        (_, true) => "nothing to revert",
        (true, false) => "would be reverted",
        (false, false) => "reverted",
    };
    let tracks: std::collections::BTreeSet<&str> =
        u.reverted.iter().map(|r| r.key.as_str()).collect();
    let _ = writeln!(
        out,
        "{}Run {} of {clone} on {} ({}): {}{}.",
        if u.dry_run {
            "Dry run (nothing written). "
        } else {
            ""
        },
        u.run.id,
        u.run.host,
        u.run.time,
        if u.reverted.is_empty() {
            String::new()
        } else {
            format!(
                "{} ({}) ",
                count(u.reverted.len(), "value"),
                count(tracks.len(), "track")
            )
        },
        verb
    );
    let line = |r: &Revert| {
        format!(
            "{}: {} {} → {}",
            r.path.as_deref().unwrap_or(&r.key),
            r.field,
            shown(&r.now),
            shown(&r.before)
        )
    };
    capped(
        &mut out,
        u.reverted.iter().map(line),
        u.reverted.len(),
        limit,
    );
    if !u.changed_since.is_empty() {
        let _ = writeln!(
            out,
            "  {} changed again after that run, {}:",
            count(u.changed_since.len(), "value"),
            if u.force {
                "reverted anyway (--force)"
            } else {
                "left alone (--force reverts them too)"
            }
        );
        let lines = u.changed_since.iter().map(|r| {
            format!(
                "{}: {} the run wrote {}, now {}",
                r.path.as_deref().unwrap_or(&r.key),
                r.field,
                shown(&r.after),
                shown(&r.now)
            )
        });
        capped(&mut out, lines, u.changed_since.len(), limit);
    }
    if let (Some(id), Some(commit)) = (&u.undo_run, &u.commit) {
        let _ = writeln!(
            out,
            "  committed {} on the git-annex branch as run {id} (`git mixxx undo {id}` undoes it)",
            &commit[..commit.len().min(12)]
        );
    }
    if let Some(sync) = &u.sync {
        out.push_str(&report(sync, false, limit));
    }
    out
}

/// `restore --list`: one backup a line, the name `restore` takes first.
pub fn backups(list: &[BackupInfo], db: &std::path::Path) -> String {
    let mut out = String::new();
    if list.is_empty() {
        let _ = writeln!(out, "No backups of {} yet.", db.display());
    }
    for b in list {
        let run = match &b.run {
            Some(id) => format!("before run {id}"),
            None => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "{}  {}  {:.1} MB  {run}",
            b.name,
            b.time,
            b.bytes as f64 / 1e6
        );
    }
    out
}

/// `restore BACKUP`: what was put back, where the database as it was went, what to do next.
pub fn restored(r: &Restored) -> String {
    let previous = match (&r.backup, r.damaged) {
        (Some(b), false) => format!("The database as it was is backed up in {b}."),
        (Some(b), true) => {
            format!("The database as it was failed SQLite's check; it is set aside in {b}.")
        }
        (None, _) => "There was no database there.".to_owned(),
    };
    format!(
        "Restored {} from {}.\n  {previous}\n  Run `git mixxx sync` now: the branch's values win wherever it has history for them.\n",
        r.db, r.restored.name
    )
}

//! The pieces of a sync's text that several commands print (`sync`, `status`, `launch`,
//! `undo`, the hooks): each field that changes, conflicts, relinks, imports, skipped and
//! unknown tracks, and what waits for Mixxx to close.

use super::quote::{Text, e, q, say, text};
use super::table::{capped, count, join, tracks, values};
use git_mixxx::state::Conflict;
use git_mixxx::sync::{Action, Report, TrackChange};
use git_mixxx::worktree::Skip;

/// The first 12 digits of a commit.
pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Tracks changed on the branch that this Mixxx does not have, then `advice`.
pub fn unknown(out: &mut Text, r: &Report, advice: &'static str) {
    if r.unknown_tracks > 0 {
        let verb = if r.unknown_tracks == 1 { "is" } else { "are" };
        say!(
            out,
            "  {} changed on the branch {} not in this Mixxx library{}",
            tracks(r.unknown_tracks),
            verb,
            advice
        );
    }
}

/// Playlist orders on the branch that no playlist of this Mixxx shows.
pub fn unmatched_orders(out: &mut Text, r: &Report, limit: usize) {
    let orders = &r.unmatched_orders;
    if orders.is_empty() {
        return;
    }
    say!(
        out,
        "  {} on the branch that no playlist of this Mixxx shows:",
        count(orders.len(), "playlist order")
    );
    let lines = orders.iter().map(|u| match &u.name {
        Some(name) => text!(
            "{} ({}, none of them in this Mixxx) in {}",
            q(name).always(),
            count(u.entries, "track"),
            q(&u.file)
        ),
        None => text!("{} (over the size limits: not read)", q(&u.file)),
    });
    capped(out, lines, orders.len(), limit);
}

/// The tracks of this Mixxx that are not synced, by reason.
pub fn skipped(out: &mut Text, r: &Report) {
    if r.skipped.is_empty() {
        return;
    }
    let total: usize = r.skipped.values().sum();
    let reasons = r
        .skipped
        .iter()
        .map(|(why, n)| text!("{} {}", *n, why.describe()));
    say!(out, "  skipped {}: {}", tracks(total), join(reasons, ", "));
    if r.skipped.contains_key(&Skip::OutsideRepo) {
        say!(
            out,
            "  (if this Mixxx sees the repository under another path, say so: git config --add mixxx.prefix PATH)"
        );
    }
}

/// Each field that changes: `path: field old → new (pushed|pulled|conflict ...)`.
pub fn changes(out: &mut Text, changes: &[TrackChange], dry_run: bool, limit: usize) {
    if changes.is_empty() {
        return;
    }
    let verb = if dry_run { "it would make" } else { "made" };
    say!(out, "  {} {}:", count(changes.len(), "change"), verb);
    let lines = changes.iter().map(|c| {
        let how = match (c.action, dry_run) {
            (Action::Pushed, false) => "pushed",
            (Action::Pushed, true) => "would be pushed",
            (Action::Pulled, false) => "pulled",
            (Action::Pulled, true) => "would be pulled",
            (Action::Conflict, false) => "conflict: kept",
            (Action::Conflict, true) => "conflict: would keep",
        };
        let kept = match (c.action, c.winner.as_deref()) {
            (Action::Conflict, Some("mixxx")) => " Mixxx's value",
            (Action::Conflict, _) => " the branch's value",
            _ => "",
        };
        text!(
            "{}: {} {} → {} ({}{})",
            q(&c.path),
            q(&c.field),
            values(&c.old),
            values(&c.new),
            how,
            kept
        )
    });
    capped(out, lines, changes.len(), limit);
}

/// A conflict in one line: both values, the one kept and where it came from:
/// `track rating: Mixxx 4, branch 1: kept 4 (Mixxx)`.
pub fn conflict_line(c: &Conflict, dry_run: bool) -> Text {
    let left = c.left();
    // Where the kept value came from: one side's whole value, or a merge of both (cues merge
    // per attribute) where the winner's part won what both changed.
    let side = match (left == c.mixxx.as_slice(), left == c.branch.as_slice()) {
        (true, _) => "Mixxx",
        (false, true) => "branch",
        (false, false) if c.winner == "mixxx" => "merged, Mixxx's where both changed",
        (false, false) => "merged, the branch's where both changed",
    };
    text!(
        "{} {}: Mixxx {}, branch {}: {} {} ({})",
        q(&c.path),
        q(&c.field),
        values(&c.mixxx),
        values(&c.branch),
        if dry_run { "would keep" } else { "kept" },
        values(c.left()),
        side
    )
}

/// The rows moved (or, in a dry run, to move) to their file's new path, and those waiting.
pub fn relinks(out: &mut Text, r: &Report, limit: usize) {
    let moved = if r.dry_run {
        "would be relinked"
    } else {
        "relinked"
    };
    for (list, what) in [
        (&r.relinked, moved),
        (&r.relinks_waiting, "wait to be relinked"),
    ] {
        if list.is_empty() {
            continue;
        }
        say!(
            out,
            "  {} {} to their file's new path (keeping their cues, crates, playlists and plays):",
            tracks(list.len()),
            what
        );
        let lines = list.iter().map(|m| text!("{} → {}", q(&m.from), q(&m.to)));
        capped(out, lines, list.len(), limit);
    }
    // Never capped: what became of cues the DJ set on the row Mixxx's rescan made.
    for m in &r.relinked {
        for cue in &m.cues_moved {
            say!(
                out,
                "    {}: cue moved, its pad was taken: {}",
                q(&m.to),
                e(cue)
            );
        }
        for cue in &m.cues_dropped {
            say!(
                out,
                "    {}: cue not kept, the row already has its own: {}",
                q(&m.to),
                e(cue)
            );
        }
    }
}

/// The files added to Mixxx (or, in a dry run, to add), and those waiting.
pub fn imports(out: &mut Text, r: &Report, limit: usize) {
    let added = if r.dry_run {
        "would be added to Mixxx"
    } else {
        "added to Mixxx"
    };
    for (list, what) in [
        (&r.imported, added),
        (&r.imports_waiting, "wait to be added to Mixxx"),
    ] {
        if list.is_empty() {
            continue;
        }
        say!(
            out,
            "  {} {}, with the branch's values, crates, playlists and cues:",
            count(list.len(), "file"),
            what
        );
        capped(
            out,
            list.iter().map(|p| text!("{}", q(p))),
            list.len(),
            limit,
        );
    }
}

/// What waits for Mixxx to close, counted exactly: values to pull (and their tracks), files
/// to add, rows to relink.
pub fn waiting(r: &Report) -> Text {
    let held: usize = r.held_fields.values().sum();
    let mut parts = Vec::new();
    if held > 0 {
        parts.push(match r.held_back {
            0 => text!("{} from the branch", count(held, "value")),
            n => text!("{} from the branch for {}", count(held, "value"), tracks(n)),
        });
    }
    if !r.imports_waiting.is_empty() {
        parts.push(text!("{} to add", count(r.imports_waiting.len(), "file")));
    }
    if !r.relinks_waiting.is_empty() {
        parts.push(text!("{} to relink", tracks(r.relinks_waiting.len())));
    }
    if parts.is_empty() {
        parts.push(text!("changes from the branch"));
    }
    join(parts, ", ")
}

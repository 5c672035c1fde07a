//! `git mixxx status`: building the status (the library's [`git_mixxx::status`]) and its text,
//! one block a function: this clone and its database, every clone's last sync, the hooks, the
//! conflicts that stand, what a sync would do now, and what waits for Mixxx to close.

use super::trust;
use crate::cli::args::StatusArgs;
use crate::cli::dates::when;
use crate::cli::exit::{OK, Outcome};
use crate::cli::quote::{Text, e, q, say, text};
use crate::cli::report::{
    changes, conflict_line, imports, relinks, skipped, unknown, unmatched_orders,
};
use crate::cli::table::{capped, count, tracks};
use crate::cli::{io, json};
use git_mixxx::context::{Context, DbSource};
use git_mixxx::mixxx::location::Location;
use git_mixxx::mixxx::running;
use git_mixxx::status::{self, CloneStatus, Status};

pub fn run(args: &StatusArgs) -> Outcome {
    let ctx = Context::open(args.db.db.clone())?;
    let mut status = status::status(&ctx, args.output.verbose > 0)?;
    if args.ack {
        status::acknowledge(&ctx, &mut status)?;
    }
    if args.output.json {
        return json::print("status", &status);
    }
    if !args.output.quiet {
        io::out(&status_text(&status, args.output.limit()))?;
    }
    Ok(OK)
}

/// The text of `status`; lists stop after `limit` lines.
pub fn status_text(status: &Status, limit: usize) -> Text {
    let mut out = opening(status);
    for clone in &status.clones {
        out.push(&last_sync(clone));
    }
    trust::bases(&mut out, status);
    trust::untrusted(&mut out, status, limit);
    hooks(&mut out, status);
    conflicts(&mut out, status, limit);
    pending(&mut out, status, limit);
    mixxx_running(&mut out, status);
    out
}

/// Which clone this is (its description and host first) and which database it syncs.
fn opening(status: &Status) -> Text {
    let mut out = Text::new();
    match status.description.is_empty() {
        true => say!(
            out,
            "This clone on {} ({})",
            q(&status.host),
            q(&status.uuid)
        ),
        false => say!(
            out,
            "This clone: {} on {} ({})",
            q(&status.description),
            q(&status.host),
            q(&status.uuid)
        ),
    }
    say!(
        out,
        "Mixxx database: {} (from {})",
        q(&status.database.path),
        source(status.database.source)
    );
    if let Some(revision) = status.database.schema_revision {
        let mixxx = git_mixxx::mixxx::releases(revision);
        say!(out, "  Schema revision {} ({})", revision, mixxx);
    }
    if !status.synced_before {
        say!(
            out,
            "  Never synced with git-mixxx yet: `git mixxx sync` starts (what it would do is under \"Now\")."
        );
    }
    out
}

/// One clone's last sync: its run, when, where, what it did.
fn last_sync(clone: &CloneStatus) -> Text {
    let r = &clone.last_sync;
    let who = match clone.this_clone {
        true => text!("this clone"),
        false => text!("clone {}", q(&r.uuid)),
    };
    let desc = match clone.description.is_empty() {
        true => Text::new(),
        false => text!(" [{}]", q(&clone.description)),
    };
    let conflicts = match r.conflict_count {
        0 => Text::new(),
        n => text!(", {}", count(n, "conflict")),
    };
    let state = match (&r.undid, r.finished) {
        (Some(undid), _) => text!(", an undo of run {}", q(undid)),
        (None, true) => Text::new(),
        (None, false) => text!(", changes from the branch still to apply"),
    };
    text!(
        "Last sync of {}{}: run {} at {} on {} ({}, {} pushed, {} pulled{}{})\n",
        who,
        desc,
        q(&r.id),
        when(&r.time),
        q(&r.host),
        tracks(r.tracks),
        r.pushed,
        r.pulled,
        conflicts,
        state
    )
}

/// The hooks: installed or not, and when each last ran.
fn hooks(out: &mut Text, status: &Status) {
    if status.hooks.iter().all(|h| !h.installed) {
        say!(
            out,
            "Hooks: not installed (`git mixxx install-hooks` syncs on every commit, merge and `git annex sync`)"
        );
        return;
    }
    say!(out, "Hooks:");
    for h in &status.hooks {
        let state = match (h.installed, &h.last_run, &h.last_outcome) {
            (false, ..) => text!("NOT installed (`git mixxx install-hooks` adds it)"),
            (true, Some(time), Some(outcome)) => {
                text!("installed, last ran {}: {}", when(time), e(outcome))
            }
            (true, ..) => text!("installed, has not run yet"),
        };
        say!(out, "  {}: {}", h.name, state);
    }
}

/// The conflicts that still stand, and those just acknowledged.
fn conflicts(out: &mut Text, status: &Status, limit: usize) {
    if status.acknowledged > 0 {
        let they = if status.acknowledged == 1 {
            "it is"
        } else {
            "they are"
        };
        say!(
            out,
            "Acknowledged {}: {} not listed again.",
            count(status.acknowledged, "conflict"),
            they
        );
    }
    if status.conflicts.is_empty() {
        return;
    }
    say!(
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
        text!(
            "{}, at {}'s sync of {}",
            conflict_line(&c.conflict, false),
            q(by),
            when(&c.time)
        )
    });
    capped(out, lines, status.conflicts.len(), limit);
}

/// What a sync would do now, or why that is unknown.
fn pending(out: &mut Text, status: &Status, limit: usize) {
    match (&status.pending, &status.pending_error) {
        (Some(p), _) => {
            say!(
                out,
                "Now: {} to push, {} to pull, {}, {} unchanged ({} in the repository)",
                tracks(p.pushed),
                p.pulled,
                count(p.conflicts.len(), "conflict"),
                p.unchanged,
                tracks(p.tracks)
            );
            unknown(out, p, "");
            unmatched_orders(out, p, limit);
            skipped(out, p);
            trust::future_dated(out, p, limit);
            relinks(out, p, limit);
            imports(out, p, limit);
            changes(out, &p.changes, true, limit);
        }
        (None, Some(error)) => say!(out, "Now: unknown ({})", e(error)),
        (None, None) => {}
    }
}

/// The running Mixxx, and exactly what waits for it to close.
fn mixxx_running(out: &mut Text, status: &Status) {
    let Some(holder) = &status.mixxx_running else {
        return;
    };
    let mut parts = Vec::new();
    if let Some(p) = &status.pending {
        let values: usize = p.pulled_fields.values().chain(p.held_fields.values()).sum();
        match (values, p.pulled + p.held_back) {
            (0, _) => {}
            (_, 0) => parts.push(text!("{} from the branch", count(values, "value"))),
            (_, n) => parts.push(text!(
                "{} from the branch for {}",
                count(values, "value"),
                tracks(n)
            )),
        }
        if !p.imported.is_empty() {
            parts.push(text!("{} to add", count(p.imported.len(), "file")));
        }
        if !p.relinked.is_empty() {
            parts.push(text!("{} to relink", tracks(p.relinked.len())));
        }
    }
    let running = text!("Mixxx is running ({} {})", e(holder), running::HOLDS);
    match parts.is_empty() {
        true => say!(
            out,
            "{}: nothing from the branch waits for it to close.",
            running
        ),
        false => say!(
            out,
            "{}; waiting until it is closed: {} (the next sync, or hook, after that applies them).",
            running,
            crate::cli::table::join(parts, ", ")
        ),
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

//! `git mixxx sync`: running a sync and its text: a summary that counts what was pushed,
//! pulled and met as conflicts, then (with `-v` or `--dry-run`) each field that changes, in
//! the conditional for a dry run. `launch`, `undo` and the hooks print a sync's text too.

use crate::cli::args::{Output, Side, SyncArgs};
use crate::cli::exit::{OK, Outcome, SOME_FAILED};
use crate::cli::quote::{Text, e, path, q, say, text};
use crate::cli::report::{
    changes, conflict_line, imports, relinks, short, skipped, unknown, waiting,
};
use crate::cli::table::{capped, count, tracks};
use crate::cli::{io, json, observer};
use git_mixxx::context::Context;
use git_mixxx::sync::guard::Refusal;
use git_mixxx::sync::{self, Options, Prefer, Report};

/// `git mixxx sync`: exit status 1 when values failed or the clear guard refused the run.
pub fn run(args: &SyncArgs) -> Outcome {
    let ctx = Context::open(args.db.db.clone())?;
    let opts = Options {
        paths: ctx.repo_paths(&args.paths)?,
        dry_run: args.dry_run,
        all: args.all,
        push_only: args.push_only,
        pull_only: args.pull_only,
        prefer: args.prefer.into(),
        allow_clears: args.allow_clears,
        details: args.dry_run || args.output.verbose > 0,
        no_import: args.no_import,
    };
    let output = args.output;
    let mut observer = observer::Terminal::new(output.quiet || output.json);
    let mut leftovers = sync::Leftovers::default();
    let report = sync::run_keeping(&ctx, &opts, &mut observer, &mut leftovers);
    observer.finish();
    let report = report?;
    // The process exits right after: the system frees it all at once.
    std::mem::forget(leftovers);
    if output.json {
        json::print("sync", &report)?;
    } else if !output.quiet {
        io::out(&report_text(&report, output))?;
    }
    Ok(if report.failed_any() { SOME_FAILED } else { OK })
}

/// The text of a sync: its summary; with `-v` or in a dry run, each field that changes.
pub fn report_text(r: &Report, output: Output) -> Text {
    let limit = output.limit();
    if let Some(refusal) = &r.refused {
        return refused(refusal, r.dry_run);
    }
    let mut out = summary(r);
    if r.database_replaced {
        let (kept, pushed) = match r.dry_run {
            true => ("would be kept", "would be pushed"),
            false => ("are kept", "is pushed"),
        };
        say!(
            out,
            "  This Mixxx database is not the one this clone synced last (a new one, a restored backup or a copy): where the branch has values, they {} (conflicts are listed); what the branch never had {}.",
            kept,
            pushed
        );
    }
    relinks(&mut out, r, limit);
    imports(&mut out, r, limit);
    if let Some(why) = &r.pull_pending {
        say!(
            out,
            "  Waiting, NOT written to Mixxx: {}; {}.",
            waiting(r),
            e(why)
        );
    }
    if output.verbose > 0 || r.dry_run {
        changes(&mut out, &r.changes, r.dry_run, limit);
    } else if !r.conflicts.is_empty() {
        say!(out, "  {}:", count(r.conflicts.len(), "conflict"));
        let lines = r.conflicts.iter().map(|c| conflict_line(c, r.dry_run));
        capped(&mut out, lines, r.conflicts.len(), limit);
    }
    skipped(&mut out, r);
    unknown(&mut out, r, " (import them in Mixxx to get their metadata)");
    if !r.failed.is_empty() {
        say!(out, "  failed: {}", count(r.failed.len(), "value"));
        let lines = r
            .failed
            .iter()
            .map(|f| text!("{} {}: {}", q(&f.path), q(&f.field), e(&f.reason)));
        capped(&mut out, lines, r.failed.len(), limit);
    }
    if let Some(b) = &r.backup {
        say!(out, "  Mixxx database backed up to {}", path(b));
    }
    if let Some(c) = &r.commit {
        say!(out, "  committed {} on the git-annex branch", q(short(c)));
    }
    out
}

/// The first line: the counts of tracks pushed, pulled, in conflict and unchanged.
fn summary(r: &Report) -> Text {
    let mut out = Text::new();
    let nothing = r.pushed == 0
        && r.pulled == 0
        && r.held_back == 0
        && r.conflicts.is_empty()
        && r.imported.is_empty()
        && r.imports_waiting.is_empty();
    if nothing && r.commit.is_none() {
        let all = if r.tracks == 1 { "the" } else { "all" };
        say!(
            out,
            "Nothing to do: Mixxx and the git-annex branch agree on {} {}.",
            all,
            tracks(r.tracks)
        );
        return out;
    }
    let (push, pull) = match r.dry_run {
        true => ("would be pushed", "would be pulled"),
        false => ("pushed", "pulled"),
    };
    say!(
        out,
        "{}{}: {} {} to the branch, {} {} into Mixxx, {}, {} unchanged{}.",
        if r.dry_run {
            "Dry run (nothing written), "
        } else {
            ""
        },
        tracks(r.tracks),
        r.pushed,
        push,
        r.pulled,
        pull,
        count(r.conflicts.len(), "conflict"),
        r.unchanged,
        if r.first_sync {
            " (first sync of this clone)"
        } else {
            ""
        }
    );
    for (verb, fields) in [(push, &r.pushed_fields), (pull, &r.pulled_fields)] {
        if !fields.is_empty() {
            say!(
                out,
                "  {}, by field: {}",
                verb,
                e(sync::field_counts(fields))
            );
        }
    }
    out
}

/// What a refused run says: how much it would clear, the first values, how to go ahead.
fn refused(refusal: &Refusal, dry_run: bool) -> Text {
    let mut out = Text::new();
    say!(
        out,
        "Refused: this sync would clear {} of {} on the git-annex branch{}.",
        count(refusal.values, "value"),
        tracks(refusal.tracks),
        if dry_run { "" } else { "; nothing was written" }
    );
    for loss in &refusal.examples {
        say!(
            out,
            "  {} {}: {}",
            q(&loss.path),
            q(&loss.field),
            q(&loss.value).always()
        );
    }
    if refusal.values > refusal.examples.len() {
        say!(out, "  ...");
    }
    say!(
        out,
        "Is this the right Mixxx database (--db, mixxx.db)? If you meant to clear them: git mixxx sync --allow-clears (git config mixxx.clearGuard false turns the guard off)."
    );
    out
}

impl From<Side> for Prefer {
    fn from(side: Side) -> Prefer {
        match side {
            Side::Git => Prefer::Git,
            Side::Mixxx => Prefer::Mixxx,
        }
    }
}

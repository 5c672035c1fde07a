//! `git mixxx undo`: reverting a run (the library's [`git_mixxx::history::undo`]) and its
//! text: the run, what was (or would be) reverted, what was left alone, and the sync after.

use super::sync::report_text;
use crate::cli::args::{Output, UndoArgs};
use crate::cli::dates::when;
use crate::cli::exit::{OK, Outcome, SOME_FAILED};
use crate::cli::quote::{Text, q, say, text};
use crate::cli::report::short;
use crate::cli::table::{capped, count, values};
use crate::cli::{io, json, observer};
use git_mixxx::context::Context;
use git_mixxx::history::undo::{self, Revert, Undo};

/// `git mixxx undo`: exit status 1 when the sync that applies it failed some values.
pub fn run(args: &UndoArgs) -> Outcome {
    let ctx = Context::open(args.db.db.clone())?;
    let opts = undo::Options {
        run: args.run.clone(),
        dry_run: args.dry_run,
        force: args.force,
    };
    let output = args.output;
    let mut observer = observer::Terminal::new(output.quiet || output.json);
    let result = undo::undo(&ctx, &opts, &mut observer);
    observer.finish();
    let result = result?;
    if output.json {
        json::print("undo", &result)?;
    } else if !output.quiet {
        io::out(&undo_text(&result, output))?;
    }
    Ok(match &result.sync {
        Some(report) if report.failed_any() => SOME_FAILED,
        _ => OK,
    })
}

/// The text of `undo`.
pub fn undo_text(u: &Undo, output: Output) -> Text {
    let limit = output.limit();
    let mut out = Text::new();
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
    let tracks: std::collections::BTreeSet<&str> = (u.reverted.iter())
        .filter(|r| !git_mixxx::sync::order::is_playlist_field(&r.field))
        .map(|r| r.key.as_str())
        .collect();
    let counted = match u.reverted.is_empty() {
        true => Text::new(),
        false => text!(
            "{} ({}) ",
            count(u.reverted.len(), "value"),
            count(tracks.len(), "track")
        ),
    };
    say!(
        out,
        "{}Run {} of {} on {} ({}): {}{}.",
        if u.dry_run {
            "Dry run (nothing written). "
        } else {
            ""
        },
        q(&u.run.id),
        q(clone),
        q(&u.run.host),
        when(&u.run.time),
        counted,
        verb
    );
    let file = |r: &Revert| q(r.path.as_deref().unwrap_or(&r.key)).to_string();
    let line = |r: &Revert| {
        text!(
            "{}: {} {} → {}",
            q(&file(r)),
            q(&r.field),
            values(&r.now),
            values(&r.before)
        )
    };
    capped(
        &mut out,
        u.reverted.iter().map(line),
        u.reverted.len(),
        limit,
    );
    if !u.changed_since.is_empty() {
        let what = match (u.force, u.dry_run) {
            (true, false) => "reverted anyway (--force)",
            (true, true) => "would be reverted anyway (--force)",
            (false, _) => "left alone (--force reverts them too)",
        };
        say!(
            out,
            "  {} changed again after that run, {}:",
            count(u.changed_since.len(), "value"),
            what
        );
        let lines = u.changed_since.iter().map(|r| {
            text!(
                "{}: {} the run wrote {}, now {}",
                q(&file(r)),
                q(&r.field),
                values(&r.after),
                values(&r.now)
            )
        });
        capped(&mut out, lines, u.changed_since.len(), limit);
    }
    if let (Some(id), Some(commit)) = (&u.undo_run, &u.commit) {
        say!(
            out,
            "  committed {} on the git-annex branch as run {} (`git mixxx undo {}` undoes it)",
            q(short(commit)),
            q(id),
            q(id)
        );
    }
    if let Some(sync) = &u.sync {
        out.push(&report_text(
            sync,
            Output {
                verbose: 0,
                ..output
            },
        ));
    }
    out
}

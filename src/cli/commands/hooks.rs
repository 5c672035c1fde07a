//! `git mixxx install-hooks`, `uninstall-hooks` and `hook NAME` (what the installed hooks
//! run): their handlers and the one line a hook says on the git command's terminal.

use crate::cli::args::{HookArgs, HooksArgs};
use crate::cli::exit::{OK, Outcome, SOME_FAILED, describe};
use crate::cli::quote::{Text, e, path, say, text};
use crate::cli::report::waiting;
use crate::cli::table::{count, tracks};
use crate::cli::{io, json, observer};
use git_mixxx::context;
use git_mixxx::hooks::{self, HookRun};
use git_mixxx::sync::Report;

/// `install-hooks` (`install`) or `uninstall-hooks`.
pub fn install(args: &HooksArgs, install: bool) -> Outcome {
    let repo = context::open_repo()?;
    let changes = match install {
        true => hooks::install(&repo, &std::env::current_exe()?)?,
        false => hooks::uninstall(&repo)?,
    };
    if args.output.json {
        let name = if install {
            "install-hooks"
        } else {
            "uninstall-hooks"
        };
        return json::print(name, &serde_json::json!({ "hooks": changes }));
    }
    if !args.output.quiet {
        let mut out = Text::new();
        for c in &changes {
            say!(out, "{} {}", c.action.describe(), path(&c.path));
        }
        if changes.is_empty() {
            say!(out, "no git-mixxx hooks were installed");
        }
        io::out(&out)?;
    }
    Ok(OK)
}

/// `hook NAME`: a hook never fails the git command it runs in: errors become one line on
/// stderr and exit status 0, except for pre-commit with `mixxx.strict`.
pub fn hook(args: &HookArgs) -> i32 {
    let marker = args.background_marker.as_deref();
    if hooks::recursing() && marker.is_none() {
        return OK;
    }
    let name = args.name.as_str();
    // No progress bar or plan on a git command's terminal; trace lines and warnings only.
    let mut observer = observer::Terminal::new(true);
    let result = hooks::run(name, args.db.db.clone(), marker.is_some(), &mut observer);
    if let Some(marker) = marker {
        // The marker says a background run is going on; it is over.
        let _ = std::fs::remove_file(marker);
    }
    match result {
        Ok(HookRun::Synced(report)) => {
            if !args.quiet && !report.is_quiet() {
                io::err(&hook_line(name, &report));
            }
            OK
        }
        Ok(HookRun::Backgrounded(Some(report))) => {
            if !args.quiet {
                io::err(&hook_line(name, &report));
            }
            OK
        }
        Ok(HookRun::Disabled | HookRun::Backgrounded(None)) => OK,
        Err(error) if hooks::strict(name) => {
            io::err(&text!(
                "git-mixxx ({}): error: {}; the commit is stopped because mixxx.strict is true",
                e(name),
                e(describe(&error))
            ));
            SOME_FAILED
        }
        Err(error) => {
            io::err(&text!(
                "git-mixxx ({}): {}; the git command goes on (git mixxx sync shows more)",
                e(name),
                e(describe(&error))
            ));
            OK
        }
    }
}

/// The one line a hook prints on the git command's terminal.
pub fn hook_line(name: &str, report: &Report) -> Text {
    if let Some(r) = &report.refused {
        return text!(
            "git-mixxx ({}): refused to clear {} of {} on the git-annex branch; nothing was written (run `git mixxx sync` to see them, `git mixxx sync --allow-clears` if you meant it)",
            e(name),
            count(r.values, "value"),
            tracks(r.tracks)
        );
    }
    let mut line = text!(
        "git-mixxx ({}): {} pushed to the git-annex branch, {} pulled into Mixxx, {}",
        e(name),
        tracks(report.pushed),
        report.pulled,
        count(report.conflicts.len(), "conflict")
    );
    if !report.conflicts.is_empty() {
        line = text!("{} (see `git mixxx status`)", line);
    }
    if !report.relinked.is_empty() {
        line = text!("{}, {} relinked", line, tracks(report.relinked.len()));
    }
    if !report.imported.is_empty() {
        line = text!(
            "{}, {} added to Mixxx",
            line,
            count(report.imported.len(), "file")
        );
    }
    if let Some(why) = &report.pull_pending {
        line = text!(
            "{}; waiting, NOT written to Mixxx: {}; {}",
            line,
            waiting(report),
            e(why)
        );
    }
    if !report.failed.is_empty() {
        line = text!(
            "{}; {} failed (run `git mixxx sync` to see them)",
            line,
            count(report.failed.len(), "value")
        );
    }
    line
}

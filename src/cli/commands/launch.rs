//! `git mixxx launch`: a sync, Mixxx (`mixxx.command`) until it exits, and a sync again, with
//! each sync's text as `sync` prints it.

use super::sync::report_text;
use crate::cli::args::{LaunchArgs, Output};
use crate::cli::exit::{OK, Outcome, SOME_FAILED};
use crate::cli::quote::{e, text};
use crate::cli::{io, json, observer};
use git_mixxx::context::{self, Context};
use git_mixxx::sync::{self, Options, Report};
use std::path::PathBuf;

/// What `launch` did: the sync before Mixxx (none when Mixxx had no database yet), Mixxx's
/// exit status, and the sync after it.
#[derive(serde::Serialize)]
struct Launched {
    before: Option<Report>,
    mixxx_exit_code: Option<i32>,
    after: Report,
}

/// One sync of `launch`, with the progress on the terminal unless quiet.
fn sync_once(ctx: &Context, output: Output) -> Result<Report, sync::Error> {
    let opts = Options {
        details: output.verbose > 0,
        ..Options::default()
    };
    let mut observer = observer::Terminal::new(!output.text());
    let report = sync::run(ctx, &opts, &mut observer);
    observer.finish();
    report
}

/// Prints a sync's text under `title`, unless quiet.
fn show(title: &'static str, report: &Report, output: Output) -> std::io::Result<()> {
    match output.text() {
        true => io::out(&text!("{}\n{}", title, report_text(report, output))),
        false => Ok(()),
    }
}

pub fn run(args: &LaunchArgs) -> Outcome {
    let (output, db) = (args.output, args.db.db.clone());
    let repo = context::open_repo()?;
    let mixxx = git_mixxx::launch::command(&repo)?;
    let before = match Context::open(db.clone()) {
        Ok(ctx) if ctx.db.exists() => {
            let report = sync_once(&ctx, output)?;
            show("Before Mixxx:", &report, output)?;
            Some((ctx.db.clone(), report))
        }
        // No database yet: Mixxx creates it at its first start.
        Ok(_) | Err(context::Error::NoDatabase(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if output.text() {
        io::out(&text!("Starting Mixxx: {}\n", e(shell_words::join(&mixxx))))?;
    }
    let note_db: PathBuf = match &before {
        Some((path, _)) => path.clone(),
        None => Context::open(db.clone()).map(|c| c.db).unwrap_or_default(),
    };
    let status = git_mixxx::launch::run_mixxx(&mixxx, &args.args, &note_db)?;
    let after = sync_once(&Context::open(db)?, output)?;
    let failed = if after.failed_any() { SOME_FAILED } else { OK };
    if output.json {
        let launched = Launched {
            before: before.map(|(_, r)| r),
            mixxx_exit_code: status.code(),
            after,
        };
        json::print("launch", &launched)?;
        return Ok(failed);
    }
    if output.text() && !status.success() {
        io::out(&text!("Mixxx exited with {}.\n", e(status)))?;
    }
    show("After Mixxx:", &after, output)?;
    Ok(failed)
}

//! `git mixxx log`: the history (the library's [`git_mixxx::history::log`]) and its text,
//! through git's pager on a terminal: each run's heading, then its changes, one a line
//! (`path  field  old → new`), or for a run that only pulled, where what it pulled came from.

use crate::cli::args::LogArgs;
use crate::cli::dates::{Style, shown};
use crate::cli::exit::{OK, Outcome};
use crate::cli::json;
use crate::cli::pager::Paged;
use crate::cli::quote::{Text, q, say, text};
use crate::cli::report::short;
use crate::cli::table::{join, tracks, values};
use git_mixxx::context;
use git_mixxx::history::log::{self, Log, RunChanges, Source, Writer};

pub fn run(args: &LogArgs) -> Outcome {
    let repo = context::open_repo()?;
    let opts = log::Options {
        paths: context::repo_paths(&repo, &args.paths)?,
        since: args.since,
        until: args.until,
        max_runs: args.max_count,
    };
    let annex = git_mixxx::annex::Annex::open(repo)?;
    let history = log::log(&annex, &opts)?;
    if args.output.json {
        return json::print("log", &history);
    }
    if !args.output.quiet {
        let mut pager = Paged::start(!args.no_pager, Some(&annex.repo));
        let written = pager.write(&log_text(&history, args.date));
        pager.finish()?;
        written?;
    }
    Ok(OK)
}

/// The text of `log`, dates in `style`.
pub fn log_text(history: &Log, style: Style) -> Text {
    let mut out = Text::new();
    if history.runs.is_empty() {
        say!(out, "No changes of Mixxx metadata on the git-annex branch.");
    }
    for (i, run) in history.runs.iter().enumerate() {
        if i > 0 {
            say!(out, "");
        }
        say!(
            out,
            "{}  {}  commit {}",
            writer(run),
            shown(&run.time, style),
            q(short(&run.commit))
        );
        for c in &run.changes {
            let file = c.path.as_deref().unwrap_or(&c.key);
            say!(
                out,
                "    {}  {}  {} → {}",
                q(file),
                q(&c.field),
                values(&c.old),
                values(&c.new)
            );
        }
        if run.changes.is_empty() && run.pulled > 0 {
            let sources = join(run.pulled_from.iter().map(source), ", ");
            match run.pulled_from.is_empty() {
                true => say!(out, "    pulled {} into Mixxx", tracks(run.pulled)),
                false => say!(
                    out,
                    "    pulled {} into Mixxx, from {}",
                    tracks(run.pulled),
                    sources
                ),
            }
        }
    }
    out
}

/// Who wrote a run: its run, clone and host, or the author of a commit git-mixxx did not make.
fn writer(r: &RunChanges) -> Text {
    match r.writer {
        Writer::GitMixxx => {
            let clone = match r.description.as_deref() {
                Some(d) if !d.is_empty() => d,
                _ => r.clone.as_deref().unwrap_or_default(),
            };
            let mut who = text!("run {} of {}", q(r.run.as_deref().unwrap_or("?")), q(clone));
            if let Some(host) = &r.host {
                who = text!("{} on {}", who, q(host));
            }
            if let Some(undid) = &r.undid {
                who = text!("{}, undoing run {}", who, q(undid));
            }
            who
        }
        Writer::GitAnnex => text!("git annex metadata, by {}", q(&r.author)),
    }
}

/// Where a pull-only run's values came from: `run ID of CLONE (N tracks)`.
fn source(s: &Source) -> Text {
    let who = match (&s.run, s.description.as_deref(), &s.clone) {
        (Some(run), Some(d), _) if !d.is_empty() => text!("run {} of {}", q(run), q(d)),
        (Some(run), _, Some(clone)) => text!("run {} of {}", q(run), q(clone)),
        _ => text!("git annex metadata by {}", q(&s.author)),
    };
    text!("{} ({})", who, tracks(s.tracks))
}

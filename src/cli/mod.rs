//! The command line (the binary's side): argument parsing (clap), running the library's
//! commands, rendering their results (text, `--json`, progress) and mapping outcomes to exit
//! codes. The library below it prints nothing and never exits.

mod observer;
mod render;

use clap::{Parser, Subcommand, ValueEnum};
use git_mixxx::context::{self, Context};
use git_mixxx::hooks::{self, HookRun};
use git_mixxx::sync::{self, Options, Prefer};
use git_mixxx::{demo, status};
use std::error::Error;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Exit status: success.
const OK: i32 = 0;
/// Exit status: some tracks failed (the rest were synced).
const SOME_FAILED: i32 = 1;
/// Exit status: usage, configuration or environment error (clap uses it for usage errors).
const ENVIRONMENT: i32 = 2;
/// Exit status: an internal error (a bug in git-mixxx).
const INTERNAL: i32 = 70;
/// Exit status of a fault injected by the tests (`GIT_MIXXX_TEST_CRASH`).
const SIMULATED_CRASH: i32 = 99;

#[derive(Debug, Parser)]
#[command(
    name = "git-mixxx",
    bin_name = "git mixxx",
    version,
    about = "Sync the Mixxx DJ library with git-annex metadata",
    long_about = "Sync the Mixxx DJ library (ratings, BPM, key, colour, tags, crates, playlists) with \
git-annex metadata on the git-annex branch, so that it travels between clones with `git annex sync`.\n\n\
Configuration (git config):\n  \
mixxx.db      path of this clone's Mixxx database (else GIT_MIXXX_DB, else Mixxx's default)\n  \
mixxx.prefix  another absolute path under which Mixxx sees this work tree (may be given several times)\n  \
mixxx.hooks   false: the installed hooks do nothing (to disable them for a while)\n  \
mixxx.strict  true: a failing pre-commit hook fails the commit (default: warn and go on)\n  \
mixxx.clearGuard  false: no limit on how many values one sync may clear on the branch (default: true)"
)]
pub struct Cli {
    /// The Mixxx database (default: GIT_MIXXX_DB, `git config mixxx.db`, then Mixxx's default location)
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Machine-readable output (JSON on stdout)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (skipped and failed tracks one by one)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Two-way sync of this clone's Mixxx database with the git-annex branch
    Sync {
        /// Only these files or directories (default: the whole work tree)
        paths: Vec<PathBuf>,
        /// Show what would change; write nothing
        #[arg(short = 'n', long)]
        dry_run: bool,
        /// Ignore change detection: write every Mixxx value that differs from the branch
        #[arg(long)]
        all: bool,
        /// Only write Mixxx's changes to the branch
        #[arg(long, conflicts_with = "pull_only")]
        push_only: bool,
        /// Only write the branch's changes to Mixxx
        #[arg(long)]
        pull_only: bool,
        /// Which side wins when both changed a value differently
        #[arg(long, value_enum, default_value_t = Side::Git)]
        prefer: Side,
        /// Let this run clear values beyond the clear guard's limits
        #[arg(long)]
        allow_clears: bool,
    },
    /// Every clone's last sync, what a sync would do now, and conflicts
    Status,
    /// Add git-mixxx to this repository's hooks (keeping git-annex's and your own lines)
    InstallHooks,
    /// Remove git-mixxx from this repository's hooks, leaving every other line as it was
    UninstallHooks,
    /// What the installed hooks run; never fails the git command (see mixxx.strict)
    Hook {
        #[arg(value_parser = ["pre-commit", "post-merge", "post-update-annex", "reference-transaction"])]
        name: String,
        /// Internal: this is the background run started while git-annex held its lock
        #[arg(long, hide = true, value_name = "MARKER")]
        background_marker: Option<PathBuf>,
    },
    /// A self-contained demonstration on generated data (a NAS and two laptops)
    Demo {
        /// Where to create it: a new or empty directory (default: a new temporary directory, kept)
        dir: Option<PathBuf>,
    },
}

/// Which side wins a conflict, as the command line spells it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Side {
    Git,
    Mixxx,
}

impl From<Side> for Prefer {
    fn from(side: Side) -> Prefer {
        match side {
            Side::Git => Prefer::Git,
            Side::Mixxx => Prefer::Mixxx,
        }
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "git-mixxx: internal error: {info}\nThis is a bug in git-mixxx; please report it with the command you ran."
        );
    }));
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => failed(e.as_ref()),
        Err(_) => INTERNAL,
    }
}

/// The exit code of an error, after saying it once, with its causes.
fn failed(e: &(dyn Error + 'static)) -> i32 {
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        // The reader went away (`git mixxx status | head`): nothing more to say.
        return OK;
    }
    if let Some(sync::Error::SimulatedCrash(_)) = e.downcast_ref::<sync::Error>() {
        eprintln!("git-mixxx: {e}");
        return SIMULATED_CRASH;
    }
    eprintln!("git-mixxx: error: {}", describe(e));
    ENVIRONMENT
}

/// An error and its causes in one line, each said once (a cause already in a message, as
/// some errors include their source, is not repeated).
fn describe(e: &(dyn Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

type Outcome = Result<i32, Box<dyn Error>>;

/// Writes `text` to standard output.
fn out(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

fn json(value: &impl serde::Serialize) -> Outcome {
    out(&format!("{}\n", serde_json::to_string_pretty(value)?))?;
    Ok(OK)
}

fn run(cli: &Cli) -> Outcome {
    match &cli.command {
        Command::Sync {
            paths,
            dry_run,
            all,
            push_only,
            pull_only,
            prefer,
            allow_clears,
        } => {
            let ctx = Context::open(cli.db.clone())?;
            let opts = Options {
                paths: ctx.repo_paths(paths)?,
                dry_run: *dry_run,
                all: *all,
                push_only: *push_only,
                pull_only: *pull_only,
                prefer: (*prefer).into(),
                allow_clears: *allow_clears,
            };
            sync(cli, &ctx, &opts)
        }
        Command::Status => {
            let ctx = Context::open(cli.db.clone())?;
            let status = status::status(&ctx)?;
            if cli.json {
                return json(&status);
            }
            out(&render::status(&status))?;
            Ok(OK)
        }
        Command::InstallHooks | Command::UninstallHooks => hooks_command(cli),
        Command::Hook {
            name,
            background_marker,
        } => Ok(run_hook(name, cli, background_marker.as_deref())),
        Command::Demo { dir } => {
            let quiet = cli.quiet;
            let mut narrate = |line: &str| {
                if !quiet {
                    // A closed output only ends the narration, not the demonstration.
                    let _ = out(&format!("{line}\n"));
                }
            };
            demo::run(dir.as_deref(), &mut narrate)?;
            Ok(OK)
        }
    }
}

fn sync(cli: &Cli, ctx: &Context, opts: &Options) -> Outcome {
    let mut observer = observer::Terminal::new(
        cli.quiet || cli.json,
        cli.verbose && !cli.json,
        opts.dry_run,
    );
    let mut leftovers = sync::Leftovers::default();
    let report = sync::run_keeping(ctx, opts, &mut observer, &mut leftovers);
    observer.finish();
    let report = report?;
    // The process exits right after: the system frees it all at once.
    std::mem::forget(leftovers);
    if cli.json {
        json(&report)?;
    } else if !cli.quiet {
        out(&render::report(&report, cli.verbose))?;
    }
    Ok(if report.failed_any() { SOME_FAILED } else { OK })
}

fn hooks_command(cli: &Cli) -> Outcome {
    let repo = context::open_repo()?;
    let changes = if matches!(cli.command, Command::InstallHooks) {
        hooks::install(&repo)?
    } else {
        hooks::uninstall(&repo)?
    };
    if cli.json {
        return json(&changes);
    }
    if !cli.quiet {
        let mut text: String = changes
            .iter()
            .map(|c| format!("{} {}\n", c.action, c.path.display()))
            .collect();
        if changes.is_empty() {
            text.push_str("no git-mixxx hooks were installed\n");
        }
        out(&text)?;
    }
    Ok(OK)
}

/// A hook never fails the git command it runs in: errors become one line on stderr and exit
/// status 0, except for pre-commit with `mixxx.strict`.
fn run_hook(name: &str, cli: &Cli, background_marker: Option<&Path>) -> i32 {
    if hooks::recursing() && background_marker.is_none() {
        return OK;
    }
    // No progress bar or plan on a git command's terminal; trace lines and warnings only.
    let mut observer = observer::Terminal::new(true, false, false);
    let result = hooks::run(
        name,
        cli.db.clone(),
        background_marker.is_some(),
        &mut observer,
    );
    if let Some(marker) = background_marker {
        // The marker says a background run is going on; it is over.
        let _ = std::fs::remove_file(marker);
    }
    match result {
        Ok(HookRun::Synced(report)) => {
            if !cli.quiet && !report.is_quiet() {
                eprintln!("{}", render::hook_line(name, &report));
            }
            OK
        }
        Ok(HookRun::Backgrounded(Some(report))) => {
            if !cli.quiet {
                eprintln!("{}", render::hook_line(name, &report));
            }
            OK
        }
        Ok(HookRun::Disabled | HookRun::Backgrounded(None)) => OK,
        Err(e) if hooks::strict(name) => {
            eprintln!(
                "git-mixxx ({name}): error: {}; the commit is stopped because mixxx.strict is true",
                describe(&e)
            );
            SOME_FAILED
        }
        Err(e) => {
            eprintln!(
                "git-mixxx ({name}): {}; the git command goes on (git mixxx sync shows more)",
                describe(&e)
            );
            OK
        }
    }
}

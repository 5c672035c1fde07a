//! The command line: argument parsing (clap), running the commands, printing summaries (human
//! or `--json`) and mapping outcomes to the exit codes of the design: 0 success, 1 some tracks
//! failed, 2 usage, configuration or environment errors.

use crate::context::Context;
use crate::sync::{self, Options, Prefer, Report};
use crate::{demo, hooks, status};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
mixxx.strict  true: a failing pre-commit hook fails the commit (default: warn and go on)"
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
        #[arg(long, value_enum, default_value_t = Prefer::Git)]
        prefer: Prefer,
    },
    /// Every clone's last sync, what a sync would do now, and conflicts
    Status,
    /// Add git-mixxx to this repository's hooks (keeping git-annex's and your own lines)
    InstallHooks,
    /// Remove git-mixxx from this repository's hooks, leaving every other line as it was
    UninstallHooks,
    /// What the installed hooks run; never fails the git command (see mixxx.strict)
    Hook {
        #[arg(value_parser = ["pre-commit", "post-merge", "post-update-annex"])]
        name: String,
        /// Internal: this is the background run started while git-annex held its lock
        #[arg(long, hide = true, value_name = "MARKER")]
        background_marker: Option<PathBuf>,
    },
    /// A self-contained demonstration on generated data (a NAS and two laptops)
    Demo {
        /// Where to create it (default: a new temporary directory, kept)
        dir: Option<PathBuf>,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("git-mixxx: error: {e:#}");
            2
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    match &cli.command {
        Command::Sync {
            paths,
            dry_run,
            all,
            push_only,
            pull_only,
            prefer,
        } => {
            let ctx = Context::open(cli.db.clone())?;
            let opts = Options {
                paths: ctx.repo_paths(paths)?,
                dry_run: *dry_run,
                all: *all,
                push_only: *push_only,
                pull_only: *pull_only,
                prefer: *prefer,
                progress: !cli.quiet && !cli.json && std::io::stderr().is_terminal(),
                quick: true,
            };
            let mut leftovers = sync::Leftovers::default();
            let report = sync::run_keeping(&ctx, &opts, &mut leftovers)?;
            // The process exits right after: the system frees it all at once.
            std::mem::forget(leftovers);
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if !cli.quiet {
                print!("{}", render_report(&report, cli.verbose));
            }
            Ok(if report.failed.is_empty() { 0 } else { 1 })
        }
        Command::Status => {
            let ctx = Context::open(cli.db.clone())?;
            let status = status::status(&ctx)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", status::render(&status));
            }
            Ok(0)
        }
        Command::InstallHooks | Command::UninstallHooks => {
            let repo = crate::context::open_repo()?;
            let changes = if matches!(cli.command, Command::InstallHooks) {
                hooks::install(&repo)?
            } else {
                hooks::uninstall(&repo)?
            };
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&changes)?);
            } else if !cli.quiet {
                for c in &changes {
                    println!("{} {}", c.action, c.path.display());
                }
                if changes.is_empty() {
                    println!("no git-mixxx hooks were installed");
                }
            }
            Ok(0)
        }
        Command::Hook {
            name,
            background_marker,
        } => Ok(run_hook(name, cli, background_marker.as_deref())),
        Command::Demo { dir } => {
            demo::run(dir.as_deref(), cli.quiet)?;
            Ok(0)
        }
    }
}

/// A hook never fails the git command it runs in: errors become one line on stderr and exit
/// status 0, except for pre-commit with `mixxx.strict`.
fn run_hook(name: &str, cli: &Cli, background_marker: Option<&std::path::Path>) -> i32 {
    if hooks::recursing() && background_marker.is_none() {
        return 0;
    }
    let result = hooks::run(name, cli.db.clone(), background_marker.is_some());
    if let Some(marker) = background_marker {
        // The marker says a background run is going on; it is over.
        let _ = std::fs::remove_file(marker);
    }
    match result {
        Ok(hooks::Outcome::Quiet) => 0,
        Ok(hooks::Outcome::Said(line)) => {
            if !cli.quiet {
                eprintln!("{line}");
            }
            0
        }
        Err(e) => {
            if hooks::strict(name) {
                eprintln!(
                    "git-mixxx ({name}): error: {e}; the commit is stopped because mixxx.strict is true"
                );
                1
            } else {
                eprintln!(
                    "git-mixxx ({name}): {e}; the git command goes on (git mixxx sync shows more)"
                );
                0
            }
        }
    }
}

fn fields(map: &std::collections::BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The human-readable summary of a sync.
pub fn render_report(r: &Report, verbose: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let would = if r.dry_run { "would be " } else { "" };
    let nothing = r.pushed == 0 && r.pulled == 0 && r.conflicts.is_empty();
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
            let _ = writeln!(out, "  pushed fields: {}", fields(&r.pushed_fields));
        }
        if !r.pulled_fields.is_empty() {
            let _ = writeln!(out, "  pulled fields: {}", fields(&r.pulled_fields));
        }
    }
    if let Some(why) = &r.pull_pending {
        let _ = writeln!(
            out,
            "  {} changes from the branch were NOT written to Mixxx: {why}.",
            r.pulled
        );
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

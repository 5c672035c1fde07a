//! The command line's definitions (clap): every command, its options and their help, from
//! which `--help`, the completions and the manual pages are made.

use super::dates;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "git-mixxx",
    version,
    about = "Sync the Mixxx DJ library with git-annex metadata",
    long_about = "Sync the Mixxx DJ library (ratings, BPM, key, colour, tags, crates, playlists and their order, beat \
grid, hot cues, loops, main cue, intro and outro) with git-annex metadata on the git-annex branch, so that it travels \
between clones with `git annex sync`, and every change can be traced (`git mixxx log`) and undone (`git mixxx undo`).\n\n\
Tracks are known by their git-annex key, so their values follow them across renames and machines. Each clone syncs \
its own Mixxx database: what Mixxx changed goes to the branch, what the branch changed goes to Mixxx, and where both \
changed a value differently, the branch's value is kept (--prefer mixxx keeps Mixxx's) and the conflict is listed by \
`git mixxx status`.\n\n\
Mixxx databases of schema revision 32 (Mixxx 2.3) to 40 (Mixxx 2.6; 39 is Mixxx 2.4 and 2.5) are read and written; a \
newer one is read only (sync --push-only)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// How a command that reports prints.
#[derive(Clone, Copy, Debug, Args)]
pub struct Output {
    /// Machine-readable output: one JSON document on stdout, errors included (git-mixxx-json(7))
    #[arg(long)]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail: each track's changed fields (-v); every line of long lists (-vv)
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

impl Output {
    /// How many lines of a list to print: all with `-vv`.
    pub fn limit(self) -> usize {
        if self.verbose >= 2 { usize::MAX } else { 20 }
    }

    /// Whether text is printed at all.
    pub fn text(self) -> bool {
        !self.quiet && !self.json
    }
}

/// The Mixxx database to use.
#[derive(Clone, Debug, Args)]
pub struct Db {
    /// The Mixxx database file (default: GIT_MIXXX_DB, `git config mixxx.db`, then the first of Mixxx's default locations that exists)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Sync(SyncArgs),
    Status(StatusArgs),
    Launch(LaunchArgs),
    Log(LogArgs),
    Undo(UndoArgs),
    Restore(RestoreArgs),
    /// Add git-mixxx to this repository's hooks (keeping git-annex's and your own lines)
    InstallHooks(HooksArgs),
    /// Remove git-mixxx from this repository's hooks, leaving every other line as it was
    UninstallHooks(HooksArgs),
    Hook(HookArgs),
    Demo(DemoArgs),
    /// Print a shell completion script (bash includes `git mixxx <TAB>` for git's completion)
    Completions {
        shell: Shell,
    },
    /// Install the manual pages where `man` and `git mixxx --help` find them
    InstallMan {
        /// The installation prefix: pages go to PREFIX/share/man/man1 and man7 (default: the prefix of this git-mixxx, e.g. ~/.cargo for ~/.cargo/bin/git-mixxx)
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<PathBuf>,
    },
}

/// Two-way sync of this clone's Mixxx database with the git-annex branch
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only these files or directories (default: the whole work tree)
    pub paths: Vec<PathBuf>,
    /// Show what would change, track by track; write nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Ignore change detection: write every Mixxx value that differs from the branch
    #[arg(long)]
    pub all: bool,
    /// Only write Mixxx's changes to the branch (the way to sync a Mixxx database newer than schema revision 40, Mixxx 2.6, which git-mixxx reads but never writes)
    #[arg(long, conflicts_with = "pull_only")]
    pub push_only: bool,
    /// Only write the branch's changes to Mixxx
    #[arg(long)]
    pub pull_only: bool,
    /// Whose value is kept when Mixxx and the branch changed it differently: git (the branch's) or mixxx
    #[arg(long, value_enum, value_name = "SIDE", default_value_t = Side::Git)]
    pub prefer: Side,
    /// Let this run clear values beyond the clear guard's limits
    #[arg(long)]
    pub allow_clears: bool,
    /// Add no files to Mixxx (by default a sync adds the annexed audio files whose content is here and that the branch has Mixxx metadata for; `git config mixxx.import false` turns it off for good)
    #[arg(long)]
    pub no_import: bool,
    #[command(flatten)]
    pub db: Db,
    #[command(flatten)]
    pub output: Output,
}

/// This clone, its Mixxx database and why, every clone's last sync, the hooks, what a sync would do now, and conflicts
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Acknowledge the conflicts listed now: they are not listed again
    #[arg(long)]
    pub ack: bool,
    #[command(flatten)]
    pub db: Db,
    #[command(flatten)]
    pub output: Output,
}

/// Sync, start Mixxx (git config mixxx.command, default `mixxx`), wait for it to exit, then sync again
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Arguments for Mixxx (after `--`)
    #[arg(last = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub db: Db,
    #[command(flatten)]
    pub output: Output,
}

/// The history of the Mixxx metadata: when, which clone and run, field, old → new
#[derive(Debug, Args)]
#[command(
    long_about = "The history of the Mixxx metadata on the git-annex branch, run by run, newest first: when, which clone \
(its description in git-annex and its host) and which run (its id, for `git mixxx undo`), and for each track the field, its old \
and its new value. Values written by `git annex metadata` (or another program) show as such, with the commit's author. A run \
that only pulled says how many tracks it pulled and from which runs of which clones.\n\n\
With PATHs, the whole history of those files (folders: every file in them); without, the whole library's, best \
narrowed with --since or -n. On a terminal the history goes through git's pager (GIT_PAGER, core.pager, PAGER, else less)."
)]
pub struct LogArgs {
    /// Files or folders (default: the whole library)
    pub paths: Vec<PathBuf>,
    /// Only runs since WHEN, as git takes it: a date (2026-12-01), a time ("2026-12-01 20:00"), or an age (yesterday, 2.weeks.ago, "3 days ago")
    #[arg(long, visible_alias = "after", value_name = "WHEN", value_parser = dates::parse)]
    pub since: Option<i64>,
    /// Only runs until WHEN, as --since takes it
    #[arg(long, visible_alias = "before", value_name = "WHEN", value_parser = dates::parse)]
    pub until: Option<i64>,
    /// At most N runs, the newest
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    pub max_count: Option<usize>,
    /// How dates are shown, as git's --date: default, iso, iso-strict, rfc, short, local, relative, raw, unix
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = dates::Style::Default, hide_possible_values = true)]
    pub date: dates::Style,
    /// Print to stdout, not through the pager
    #[arg(long)]
    pub no_pager: bool,
    #[command(flatten)]
    pub output: Output,
}

/// Revert one run's changes, on the branch (as new values) and in this Mixxx
#[derive(Debug, Args)]
#[command(
    long_about = "Revert the values one run wrote on the git-annex branch: each value it changed gets back its value from \
before the run, element by element for crates, playlist memberships and cues (a cue by its kind and pad), so what other \
clones added since stays, as new metadata (so the revert reaches the other clones with `git annex sync`, and `git mixxx log` shows it), \
then a sync brings it into this Mixxx (while Mixxx is closed; else it waits, as any sync's changes).\n\n\
RUN is a run's id (`git mixxx log` and `git mixxx status` show them), or its first digits; by default this clone's last run \
that changed the branch (a run that only pulled has nothing of its own to undo). Another clone's run is undone by naming it. \
A value or element changed again after that run is listed and left alone, unless --force (which never touches what the run \
did not change). The undo is a run too: it can be undone."
)]
pub struct UndoArgs {
    /// The run to undo (default: this clone's last run that changed the branch)
    pub run: Option<String>,
    /// Show what would be reverted; write nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Also revert values changed again after that run
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub db: Db,
    #[command(flatten)]
    pub output: Output,
}

/// List the Mixxx database's backups, or put one back
#[derive(Debug, Args)]
#[command(
    long_about = "List the backups git-mixxx took of this Mixxx database (in git-mixxx-backups/ beside it), newest first: \
the name to give `restore`, when it was taken and the run that took it before writing Mixxx. With BACKUP, put that one back: \
Mixxx must be closed, and the database as it is is backed up first. The next sync treats the restored database as one \
without a base: the branch's values win wherever it has history, so nothing newer from another clone is lost; edits made \
in Mixxx before that sync lose to the branch where it has history for the field, so sync right after restoring.\n\n\
Backups are kept by age: all of the last hour (at most 10), the newest of each hour for a day, the newest of each day for \
30 days, nothing older except the newest of all."
)]
pub struct RestoreArgs {
    /// List the backups (what `restore` without BACKUP does too)
    #[arg(long, conflicts_with = "backup")]
    pub list: bool,
    /// The backup to put back: its name as listed, or the start of it
    pub backup: Option<String>,
    #[command(flatten)]
    pub db: Db,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(flatten)]
    pub output: Output,
}

/// What the installed hooks run; never fails the git command (see mixxx.strict)
#[derive(Debug, Args)]
pub struct HookArgs {
    #[arg(value_parser = ["pre-commit", "post-merge", "post-update-annex", "reference-transaction"])]
    pub name: String,
    /// Internal: this is the background run started while git-annex held its lock
    #[arg(long, hide = true, value_name = "MARKER")]
    pub background_marker: Option<PathBuf>,
    /// Print nothing on the git command's terminal
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub db: Db,
}

/// A self-contained demonstration on generated data (a NAS and two laptops)
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create it: a new or empty directory (default: a new temporary directory, kept)
    pub dir: Option<PathBuf>,
    /// Print nothing
    #[arg(short, long)]
    pub quiet: bool,
}

impl Command {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Sync(_) => "sync",
            Command::Status(_) => "status",
            Command::Launch(_) => "launch",
            Command::Log(_) => "log",
            Command::Undo(_) => "undo",
            Command::Restore(_) => "restore",
            Command::InstallHooks(_) => "install-hooks",
            Command::UninstallHooks(_) => "uninstall-hooks",
            Command::Hook(_) => "hook",
            Command::Demo(_) => "demo",
            Command::Completions { .. } => "completions",
            Command::InstallMan { .. } => "install-man",
        }
    }

    /// Whether the command prints JSON (`--json`).
    pub fn json(&self) -> bool {
        match self {
            Command::Sync(a) => a.output.json,
            Command::Status(a) => a.output.json,
            Command::Launch(a) => a.output.json,
            Command::Log(a) => a.output.json,
            Command::Undo(a) => a.output.json,
            Command::Restore(a) => a.output.json,
            Command::InstallHooks(a) | Command::UninstallHooks(a) => a.output.json,
            _ => false,
        }
    }
}

/// Which side's value is kept in a conflict, as the command line spells it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Side {
    /// The branch's value
    Git,
    /// Mixxx's value
    Mixxx,
}

//! The command line (the binary's side): argument parsing (clap), running the library's
//! commands, rendering their results (text, `--json`, progress) and mapping outcomes to exit
//! codes. The library below it prints nothing and never exits.

mod history;
mod man;
mod observer;
mod render;

use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
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
    version,
    about = "Sync the Mixxx DJ library with git-annex metadata",
    long_about = "Sync the Mixxx DJ library (ratings, BPM, key, colour, tags, crates, playlists and their order, beat grid, hot cues, loops, main cue, intro and outro) with \
git-annex metadata on the git-annex branch, so that it travels between clones with `git annex sync`.\n\n\
Fields on the git-annex branch (`git annex metadata FILE` shows them):\n  \
rating        1 to 5\n  \
bpm           two decimals, 128.00\n  \
key           one notation: C Db D Eb E F F# G Ab A Bb B, Cm C#m Dm Ebm Em Fm F#m Gm G#m Am Bbm Bm\n  \
color         #RRGGBB\n  \
artist, title, album, albumartist, genre, year, tracknumber, comment, composer, grouping: text\n  \
crate, playlist  one value per crate or user playlist the track is in\n  \
cue           one value per cue: KIND SLOT POSITION LENGTH COLOR [LABEL], KIND one of hotcue, maincue, \
loop, jump, intro, outro; SLOT 1..37 or -; positions in Mixxx's engine samples as stored \
(e.g. hotcue 1 5443200 0 #FF0000 Drop)\n  \
grid          the beat grid: VERSION LOCK BASE64 [SUB-VERSION] (BeatGrid-2.0, BeatGrid-1.0 or \
BeatMap-1.0; the blob byte for byte), kept consistent with bpm\n\
Playlist order is kept in mixxx/playlists/<id>.log on the branch, each line an order naming the \
lines it was made from; orders edited on two clones merge per entry.\n\n\
Configuration (git config):\n  \
mixxx.db      path of this clone's Mixxx database (else GIT_MIXXX_DB, else the first of Mixxx's default \
locations that exists: on Linux ~/.mixxx, then Flatpak's ~/.var/app/org.mixxx.Mixxx/.mixxx; `git mixxx status` \
says which is used)\n  \
mixxx.prefix  another absolute path under which Mixxx sees this work tree (may be given several times)\n  \
mixxx.hooks   false: the installed hooks do nothing (to disable them for a while)\n  \
mixxx.strict  true: a failing pre-commit hook fails the commit (default: warn and go on)\n  \
mixxx.clearGuard  false: no limit on how many values one sync may clear on the branch (default: true)",
    after_long_help = "Exit status: 0 success; 1 some values could not be synced, or the clear guard \
refused the run; 2 a usage, configuration or environment error; 70 a bug in git-mixxx.\n\n\
JSON output (--json) is documented in docs/json.md."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// How a command that reports prints.
#[derive(Clone, Copy, Debug, Args)]
pub struct Output {
    /// Machine-readable output: one JSON document on stdout, errors included (docs/json.md)
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
    fn limit(self) -> usize {
        if self.verbose >= 2 {
            usize::MAX
        } else {
            LIST_LIMIT
        }
    }
}

/// Lines of a long list printed without `-vv`.
const LIST_LIMIT: usize = 20;

/// The Mixxx database to sync.
#[derive(Clone, Debug, Args)]
pub struct Db {
    /// The Mixxx database (default: GIT_MIXXX_DB, `git config mixxx.db`, then the first of Mixxx's default locations that exists)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Two-way sync of this clone's Mixxx database with the git-annex branch
    Sync {
        /// Only these files or directories (default: the whole work tree)
        paths: Vec<PathBuf>,
        /// Show what would change, track by track; write nothing
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
        /// Add no files to Mixxx (by default a sync adds the annexed audio files whose content is here and that the branch has Mixxx metadata for; `git config mixxx.import false` turns it off for good)
        #[arg(long)]
        no_import: bool,
        #[command(flatten)]
        db: Db,
        #[command(flatten)]
        output: Output,
    },
    /// The Mixxx database in use and why, every clone's last sync, the hooks, what a sync would do now, and conflicts
    Status {
        /// Acknowledge the conflicts listed now: they are not listed again
        #[arg(long)]
        ack: bool,
        #[command(flatten)]
        db: Db,
        #[command(flatten)]
        output: Output,
    },
    /// Sync, start Mixxx (git config mixxx.command, default `mixxx`), wait for it to exit, then sync again
    Launch {
        /// Arguments for Mixxx (after `--`)
        #[arg(last = true)]
        args: Vec<String>,
        #[command(flatten)]
        db: Db,
        #[command(flatten)]
        output: Output,
    },
    /// The history of the Mixxx metadata: when, which clone and run, field, old → new
    #[command(
        long_about = "The history of the Mixxx metadata on the git-annex branch, run by run, newest first: when, which clone \
(its description in git-annex and its host) and which run (its id, for `git mixxx undo`), and for each track the field, its old \
and its new value. Values written by `git annex metadata` (or another program) show as such, with the commit's author.\n\n\
With PATHs, the whole history of those files (folders: every file in them); without, the whole library's, best \
narrowed with --since or -n."
    )]
    Log {
        /// Files or folders (default: the whole library)
        paths: Vec<PathBuf>,
        /// Only runs since WHEN: a date (2026-12-01), a time (2026-12-01T20:00:00Z) or an age (3.days, 12.hours, 90.minutes, 2.weeks)
        #[arg(long, value_name = "WHEN", value_parser = history::parse_since)]
        since: Option<i64>,
        /// At most N runs, the newest
        #[arg(short = 'n', long = "max-count", value_name = "N")]
        max_count: Option<usize>,
        #[command(flatten)]
        output: Output,
    },
    /// Revert one run's changes, on the branch (as new values) and in this Mixxx
    #[command(
        long_about = "Revert the values one run wrote on the git-annex branch: each field it changed gets back its value from \
before the run, as new metadata (so the revert reaches the other clones with `git annex sync`, and `git mixxx log` shows it), \
then a sync brings it into this Mixxx (while Mixxx is closed; else it waits, as any sync's changes).\n\n\
RUN is a run's id (`git mixxx log` and `git mixxx status` show them), or its first digits; by default this clone's last run \
that changed the branch (a run that only pulled has nothing of its own to undo). Another clone's run is undone by naming it. \
A value changed again after that run is listed and left alone, unless --force. The undo is a run too: it can be undone."
    )]
    Undo {
        /// The run to undo (default: this clone's last run that changed the branch)
        run: Option<String>,
        /// Show what would be reverted; write nothing
        #[arg(short = 'n', long)]
        dry_run: bool,
        /// Also revert values changed again after that run
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: Db,
        #[command(flatten)]
        output: Output,
    },
    /// List the Mixxx database's backups, or put one back
    #[command(
        long_about = "List the backups git-mixxx took of this Mixxx database (in git-mixxx-backups/ beside it), newest first: \
the name to give `restore`, when it was taken and the run that took it before writing Mixxx. With BACKUP, put that one back: \
Mixxx must be closed, and the database as it is is backed up first. The next sync treats the restored database as one \
without a base: the branch's values win wherever it has history, so nothing newer from another clone is lost; edits made \
in Mixxx before that sync lose to the branch where it has history for the field, so sync right after restoring.\n\n\
Backups are kept by age: all of the last hour (at most 10), the newest of each hour for a day, the newest of each day for \
30 days, nothing older except the newest of all."
    )]
    Restore {
        /// List the backups (what `restore` without BACKUP does too)
        #[arg(long, conflicts_with = "backup")]
        list: bool,
        /// The backup to put back: its name as listed, or the start of it
        backup: Option<String>,
        #[command(flatten)]
        db: Db,
        #[command(flatten)]
        output: Output,
    },
    /// Add git-mixxx to this repository's hooks (keeping git-annex's and your own lines)
    InstallHooks {
        #[command(flatten)]
        output: Output,
    },
    /// Remove git-mixxx from this repository's hooks, leaving every other line as it was
    UninstallHooks {
        #[command(flatten)]
        output: Output,
    },
    /// What the installed hooks run; never fails the git command (see mixxx.strict)
    Hook {
        #[arg(value_parser = ["pre-commit", "post-merge", "post-update-annex", "reference-transaction"])]
        name: String,
        /// Internal: this is the background run started while git-annex held its lock
        #[arg(long, hide = true, value_name = "MARKER")]
        background_marker: Option<PathBuf>,
        /// Print nothing on the git command's terminal
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        db: Db,
    },
    /// A self-contained demonstration on generated data (a NAS and two laptops)
    Demo {
        /// Where to create it: a new or empty directory (default: a new temporary directory, kept)
        dir: Option<PathBuf>,
        /// Print nothing
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print a shell completion script (bash includes `git mixxx <TAB>` for git's completion)
    Completions { shell: Shell },
    /// Install the manual pages where `man` and `git mixxx --help` find them
    InstallMan {
        /// The installation prefix: pages go to PREFIX/share/man/man1 (default: the prefix of
        /// this git-mixxx, e.g. ~/.cargo for ~/.cargo/bin/git-mixxx)
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<PathBuf>,
    },
}

impl Command {
    /// The command's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Sync { .. } => "sync",
            Command::Status { .. } => "status",
            Command::Launch { .. } => "launch",
            Command::Log { .. } => "log",
            Command::Undo { .. } => "undo",
            Command::Restore { .. } => "restore",
            Command::InstallHooks { .. } => "install-hooks",
            Command::UninstallHooks { .. } => "uninstall-hooks",
            Command::Hook { .. } => "hook",
            Command::Demo { .. } => "demo",
            Command::Completions { .. } => "completions",
            Command::InstallMan { .. } => "install-man",
        }
    }

    /// The output options of the command, when it has them.
    fn output(&self) -> Option<Output> {
        match self {
            Command::Sync { output, .. }
            | Command::Status { output, .. }
            | Command::Launch { output, .. }
            | Command::Log { output, .. }
            | Command::Undo { output, .. }
            | Command::Restore { output, .. }
            | Command::InstallHooks { output }
            | Command::UninstallHooks { output } => Some(*output),
            _ => None,
        }
    }
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
    let cli = parse();
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "git-mixxx: internal error: {info}\nThis is a bug in git-mixxx; please report it with the command you ran."
        );
    }));
    match std::panic::catch_unwind(|| run(&cli.command)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => failed(&cli.command, e.as_ref()),
        Err(_) => INTERNAL,
    }
}

/// The command line, as git users type it: `git mixxx ...` in usage and help.
fn parse() -> Cli {
    let matches = Cli::command().bin_name("git mixxx").get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The exit code of an error, after saying it once, with its causes (as JSON on stdout under
/// `--json`).
fn failed(command: &Command, e: &(dyn Error + 'static)) -> i32 {
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
    if command.output().is_some_and(|o| o.json) {
        let error = serde_json::json!({
            "error": { "message": describe(e), "exit_code": ENVIRONMENT }
        });
        if json(command, &error).is_ok() {
            return ENVIRONMENT;
        }
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

/// The version of the JSON documents (docs/json.md): raised when a key changes meaning or
/// goes away, not when one is added.
const JSON_VERSION: u32 = 1;

/// Prints `value` as the command's JSON document: `version` and `command`, then its fields.
fn json(command: &Command, value: &impl serde::Serialize) -> Outcome {
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), JSON_VERSION.into());
    doc.insert("command".into(), command.name().into());
    match serde_json::to_value(value)? {
        serde_json::Value::Object(fields) => doc.extend(fields),
        other => {
            doc.insert("result".into(), other);
        }
    }
    out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    Ok(OK)
}

fn run(command: &Command) -> Outcome {
    match command {
        Command::Sync {
            paths,
            dry_run,
            all,
            push_only,
            pull_only,
            prefer,
            allow_clears,
            no_import,
            db,
            output,
        } => {
            let ctx = Context::open(db.db.clone())?;
            let opts = Options {
                paths: ctx.repo_paths(paths)?,
                dry_run: *dry_run,
                all: *all,
                push_only: *push_only,
                pull_only: *pull_only,
                prefer: (*prefer).into(),
                allow_clears: *allow_clears,
                details: *dry_run || output.verbose > 0,
                no_import: *no_import,
            };
            sync(command, *output, &ctx, &opts)
        }
        Command::Status { ack, db, output } => {
            let ctx = Context::open(db.db.clone())?;
            let mut status = status::status(&ctx, output.verbose > 0)?;
            if *ack {
                status::acknowledge(&ctx, &mut status)?;
            }
            if output.json {
                return json(command, &status);
            }
            if !output.quiet {
                out(&render::status(&status, output.limit()))?;
            }
            Ok(OK)
        }
        Command::Log {
            paths,
            since,
            max_count,
            output,
        } => history::log(command, paths, *since, *max_count, *output),
        Command::Undo {
            run,
            dry_run,
            force,
            db,
            output,
        } => history::undo(command, run.clone(), *dry_run, *force, db, *output),
        Command::Restore {
            list: _,
            backup,
            db,
            output,
        } => history::restore(command, backup.as_deref(), db, *output),
        Command::InstallHooks { output } | Command::UninstallHooks { output } => {
            hooks_command(command, *output)
        }
        Command::Hook {
            name,
            background_marker,
            quiet,
            db,
        } => Ok(run_hook(
            name,
            *quiet,
            db.db.clone(),
            background_marker.as_deref(),
        )),
        Command::Demo { dir, quiet } => {
            let mut narrate = |line: &str| {
                if !quiet {
                    // A closed output only ends the narration, not the demonstration.
                    let _ = out(&format!("{line}\n"));
                }
            };
            demo::run(dir.as_deref(), &mut narrate)?;
            Ok(OK)
        }
        Command::Completions { shell } => {
            out(&completions(*shell))?;
            Ok(OK)
        }
        Command::Launch { args, db, output } => launch(command, *output, db.db.clone(), args),
        Command::InstallMan { prefix } => {
            let prefix = match prefix {
                Some(p) => p.clone(),
                None => install_prefix()?,
            };
            for page in man::install(&prefix)? {
                out(&format!("installed {}\n", page.display()))?;
            }
            Ok(OK)
        }
    }
}

/// The prefix this git-mixxx is installed under: the folder above its `bin/`.
fn install_prefix() -> Result<PathBuf, Box<dyn Error>> {
    let exe = std::env::current_exe()?.canonicalize()?;
    let bin = exe.parent().ok_or("git-mixxx has no folder")?;
    match bin.parent() {
        Some(prefix) if bin.ends_with("bin") => Ok(prefix.to_owned()),
        _ => Err(format!(
            "git-mixxx runs from {}, not from a bin/ folder: give the prefix (--prefix DIR puts the pages in DIR/share/man/man1)",
            bin.display()
        )
        .into()),
    }
}

/// The completion script for `shell`; for bash, with the function git's own completion calls
/// for `git mixxx` (`_git_mixxx`).
fn completions(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "git-mixxx", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == Shell::Bash {
        // clap_complete 4.6 names a hyphenated program's subcommand states inconsistently
        // (`git__mixxx__subcmd__sync` where it sets them, `git__subcmd__mixxx__subcmd__sync`
        // where it reads them): one spelling, so options complete after a subcommand.
        script = script.replace("git__subcmd__mixxx", "git__mixxx");
        script.push_str(GIT_BASH_COMPLETION);
    }
    script
}

/// git's bash completion completes `git mixxx ...` by calling `_git_mixxx` with its own
/// `words` and `cword`: hand them over as `git-mixxx ...`.
const GIT_BASH_COMPLETION: &str = r#"
_git_mixxx() {
    local at=${__git_cmd_idx:-1}
    local COMP_WORDS=(git-mixxx "${words[@]:at+1}")
    local COMP_CWORD=$((cword - at))
    _git__mixxx git-mixxx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

fn sync(command: &Command, output: Output, ctx: &Context, opts: &Options) -> Outcome {
    let mut observer = observer::Terminal::new(output.quiet || output.json);
    let mut leftovers = sync::Leftovers::default();
    let report = sync::run_keeping(ctx, opts, &mut observer, &mut leftovers);
    observer.finish();
    let report = report?;
    // The process exits right after: the system frees it all at once.
    std::mem::forget(leftovers);
    if output.json {
        json(command, &report)?;
    } else if !output.quiet {
        out(&render::report(&report, output.verbose > 0, output.limit()))?;
    }
    Ok(if report.failed_any() { SOME_FAILED } else { OK })
}

/// What `launch` did: the sync before Mixxx (none when Mixxx had no database yet), Mixxx's
/// exit status, and the sync after it.
#[derive(serde::Serialize)]
struct Launched {
    before: Option<sync::Report>,
    mixxx_exit_code: Option<i32>,
    after: sync::Report,
}

fn launch(command: &Command, output: Output, db: Option<PathBuf>, args: &[String]) -> Outcome {
    let opts = Options {
        details: output.verbose > 0,
        ..Options::default()
    };
    let quiet = output.quiet || output.json;
    let run = |ctx: &Context| {
        let mut observer = observer::Terminal::new(quiet);
        let report = sync::run(ctx, &opts, &mut observer);
        observer.finish();
        report
    };
    let show = |title: &str, report: &sync::Report| -> std::io::Result<()> {
        if !quiet {
            let text = render::report(report, output.verbose > 0, output.limit());
            out(&format!("{title}\n{text}"))?;
        }
        Ok(())
    };
    let repo = context::open_repo()?;
    let mixxx = git_mixxx::launch::command(&repo)?;
    let before = match Context::open(db.clone()) {
        Ok(ctx) if ctx.db.exists() => {
            let report = run(&ctx)?;
            show("Before Mixxx:", &report)?;
            Some((ctx.db.clone(), report))
        }
        // No database yet: Mixxx creates it at its first start.
        Ok(_) | Err(context::Error::NoDatabase(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if !quiet {
        out(&format!("Starting Mixxx: {}\n", shell_words::join(&mixxx)))?;
    }
    let note_db = match &before {
        Some((path, _)) => path.clone(),
        None => Context::open(db.clone()).map(|c| c.db).unwrap_or_default(),
    };
    let status = git_mixxx::launch::run_mixxx(&mixxx, args, &note_db)?;
    let ctx = Context::open(db)?;
    let after = run(&ctx)?;
    if !output.json {
        if !quiet && !status.success() {
            out(&format!("Mixxx exited with {status}.\n"))?;
        }
        show("After Mixxx:", &after)?;
    } else {
        let launched = Launched {
            before: before.map(|(_, r)| r),
            mixxx_exit_code: status.code(),
            after,
        };
        json(command, &launched)?;
        return Ok(if launched.after.failed_any() {
            SOME_FAILED
        } else {
            OK
        });
    }
    Ok(if after.failed_any() { SOME_FAILED } else { OK })
}

fn hooks_command(command: &Command, output: Output) -> Outcome {
    let repo = context::open_repo()?;
    let changes = if matches!(command, Command::InstallHooks { .. }) {
        hooks::install(&repo, &std::env::current_exe()?)?
    } else {
        hooks::uninstall(&repo)?
    };
    if output.json {
        return json(command, &serde_json::json!({ "hooks": changes }));
    }
    if !output.quiet {
        let mut text: String = changes
            .iter()
            .map(|c| format!("{} {}\n", c.action.describe(), c.path.display()))
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
fn run_hook(name: &str, quiet: bool, db: Option<PathBuf>, background_marker: Option<&Path>) -> i32 {
    if hooks::recursing() && background_marker.is_none() {
        return OK;
    }
    // No progress bar or plan on a git command's terminal; trace lines and warnings only.
    let mut observer = observer::Terminal::new(true);
    let result = hooks::run(name, db, background_marker.is_some(), &mut observer);
    if let Some(marker) = background_marker {
        // The marker says a background run is going on; it is over.
        let _ = std::fs::remove_file(marker);
    }
    match result {
        Ok(HookRun::Synced(report)) => {
            if !quiet && !report.is_quiet() {
                eprintln!("{}", render::hook_line(name, &report));
            }
            OK
        }
        Ok(HookRun::Backgrounded(Some(report))) => {
            if !quiet {
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

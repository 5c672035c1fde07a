//! Git hooks: installing git-mixxx's lines into hook files, chained with git-annex's and the
//! user's own lines, and running a hook (`git mixxx hook NAME`) so that it never breaks the git
//! command it runs in, never recurses, serializes with concurrent runs, and costs next to
//! nothing when nothing changed.

use crate::context::Context;
use crate::error::PathError;
use crate::sync::observer::Observer;
use crate::sync::{self, Options, Report};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Where a hook lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// git's hooks: `core.hooksPath` or `$GIT_DIR/hooks`.
    Git,
    /// git-annex's hooks: always `$GIT_DIR/hooks`.
    GitDir,
}

/// The hooks git-mixxx installs, with their scripts from `git-hooks/`.
const HOOKS: &[(&str, &str, Place)] = &[
    (
        "pre-commit",
        include_str!("../git-hooks/pre-commit"),
        Place::Git,
    ),
    (
        "post-merge",
        include_str!("../git-hooks/post-merge"),
        Place::Git,
    ),
    (
        "post-update-annex",
        include_str!("../git-hooks/post-update-annex"),
        Place::GitDir,
    ),
    (
        "reference-transaction",
        include_str!("../git-hooks/reference-transaction"),
        Place::Git,
    ),
];

const BEGIN: &str = "# >>> git-mixxx >>>";
const BEGIN_CREATED: &str = "# >>> git-mixxx >>> (git-mixxx created this file)";
const END: &str = "# <<< git-mixxx <<<";

/// Set in the environment of processes git-mixxx starts, so hooks they fire do nothing.
const RECURSION_GUARD: &str = "GIT_MIXXX_HOOK";

/// How the marker files of background runs begin (in `$GIT_DIR/mixxx/`): one per run going on.
const BACKGROUND_MARKER: &str = "background-";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "this is not a git-annex repository: run `git annex init` first, then install the hooks"
    )]
    NotAnnex,
    #[error(
        "{0} is not a shell script; add `git mixxx hook NAME` to it by hand, or make it a shell script"
    )]
    NotShell(PathBuf),
    #[error(transparent)]
    Io(#[from] PathError),
}

/// Anything that can stop a hook run.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Context(#[from] crate::context::Error),
    #[error(transparent)]
    Sync(#[from] sync::Error),
    #[error(transparent)]
    Annex(#[from] crate::annex::Error),
    #[error(transparent)]
    Hooks(#[from] Error),
}

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
    move |source| Error::Io(crate::error::at(what, path)(source))
}

fn hook_dir(repo: &gix::Repository, place: Place) -> PathBuf {
    let git_dir_hooks = repo.common_dir().join("hooks");
    if place == Place::GitDir {
        return git_dir_hooks;
    }
    let config = repo.config_snapshot();
    match config.trusted_path("core.hooksPath") {
        Ok(Some(path)) if path.is_absolute() => path,
        // Relative paths are relative to where git runs hooks: the work tree's top.
        Ok(Some(path)) => repo.workdir().unwrap_or(repo.git_dir()).join(path),
        _ => git_dir_hooks,
    }
}

/// What every block starts with: running git-mixxx from PATH, else from `exe`.
const PRELUDE: &str = include_str!("../git-hooks/prelude");

/// The block git-mixxx puts in a hook file: where `install-hooks` found git-mixxx (`exe`),
/// the prelude and the script from `git-hooks/`, without their shebangs.
fn block(script: &str, created: bool, exe: &Path) -> String {
    fn body(s: &str) -> &str {
        s.split_once('\n').map_or("", |(_, rest)| rest)
    }
    let exe = shell_words::quote(&exe.to_string_lossy()).into_owned();
    format!(
        "{}\ngit_mixxx_exe={exe}\n{}{}{END}\n",
        if created { BEGIN_CREATED } else { BEGIN },
        body(PRELUDE),
        body(script)
    )
}

/// Removes git-mixxx's block; returns the rest and whether git-mixxx had created the file.
fn remove_block(content: &str) -> (String, bool) {
    let mut out = String::with_capacity(content.len());
    let mut inside = false;
    let mut created = false;
    for line in content.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if !inside && bare.starts_with(BEGIN) {
            inside = true;
            created |= bare == BEGIN_CREATED;
        } else if inside && bare == END {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    (out, created)
}

fn is_shell(shebang: &str) -> bool {
    let interpreter = shebang.trim_start_matches("#!").trim();
    let mut words = interpreter.split_whitespace();
    let first = words.next().unwrap_or("");
    let program = if first.ends_with("/env") {
        words.next().unwrap_or("")
    } else {
        first.rsplit('/').next().unwrap_or("")
    };
    matches!(program, "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash")
}

/// What happened to one hook file.
#[derive(Debug, serde::Serialize)]
pub struct Change {
    pub path: PathBuf,
    pub action: Action,
}

/// What `install-hooks` or `uninstall-hooks` did to a hook file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    AddedTo,
    Updated,
    AlreadyInstalled,
    Removed,
    RemovedFrom,
}

impl Action {
    /// The words before the hook's path: "added to .git/hooks/pre-commit".
    pub fn describe(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::AddedTo => "added to",
            Action::Updated => "updated",
            Action::AlreadyInstalled => "already installed",
            Action::Removed => "removed",
            Action::RemovedFrom => "removed from",
        }
    }
}

/// Adds git-mixxx's lines to each hook: right after the shebang, so that the hook's own last
/// command still decides its exit status; replaces an older git-mixxx block in place. The
/// hooks run git-mixxx from PATH, else `exe`. Only in a git-annex repository.
pub fn install(repo: &gix::Repository, exe: &Path) -> Result<Vec<Change>, Error> {
    if repo.config_snapshot().string("annex.uuid").is_none() {
        return Err(Error::NotAnnex);
    }
    let mut changes = Vec::new();
    for (name, script, place) in HOOKS {
        let dir = hook_dir(repo, *place);
        let path = dir.join(name);
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io("reading", &path)(e)),
        };
        let (content, action) = match existing {
            None => (
                format!("#!/bin/sh\n{}", block(script, true, exe)),
                Action::Created,
            ),
            Some(text) => {
                let (rest, created) = remove_block(&text);
                let had_block = rest.len() != text.len();
                let (first, tail) = rest.split_once('\n').unwrap_or((&rest, ""));
                if !first.starts_with("#!") || !is_shell(first) {
                    return Err(Error::NotShell(path));
                }
                let content = format!("{first}\n{}{tail}", block(script, created, exe));
                if content == text {
                    changes.push(Change {
                        path,
                        action: Action::AlreadyInstalled,
                    });
                    continue;
                }
                let action = match had_block {
                    true => Action::Updated,
                    false => Action::AddedTo,
                };
                (content, action)
            }
        };
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        std::fs::write(&path, content).map_err(io("writing", &path))?;
        if action == Action::Created {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io("making executable", &path))?;
        }
        changes.push(Change { path, action });
    }
    Ok(changes)
}

/// Removes git-mixxx's lines, leaving every other line exactly as it was; deletes the files
/// git-mixxx created.
pub fn uninstall(repo: &gix::Repository) -> Result<Vec<Change>, Error> {
    let mut changes = Vec::new();
    for (name, _, place) in HOOKS {
        let path = hook_dir(repo, *place).join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (rest, created) = remove_block(&text);
        if rest.len() == text.len() {
            continue;
        }
        if created
            && rest
                .lines()
                .all(|l| l.starts_with("#!") || l.trim().is_empty())
        {
            std::fs::remove_file(&path).map_err(io("removing", &path))?;
            changes.push(Change {
                path,
                action: Action::Removed,
            });
        } else {
            std::fs::write(&path, rest).map_err(io("writing", &path))?;
            changes.push(Change {
                path,
                action: Action::RemovedFrom,
            });
        }
    }
    Ok(changes)
}

/// How a hook run ended.
pub enum HookRun {
    /// `mixxx.hooks` is false.
    Disabled,
    /// git-annex holds its journal lock: the sync goes on in the background. What it will
    /// find, when that is worth saying on the git command's terminal (the background run's
    /// own words go to the hook log): pulls that wait for a running Mixxx, or a refusal.
    Backgrounded(Option<Box<Report>>),
    Synced(Box<Report>),
}

fn config_bool(repo: &gix::Repository, key: &str) -> Option<bool> {
    repo.config_snapshot().boolean(key)
}

/// Runs hook `name`, telling `observer` how the sync goes, and records when it ran and how
/// it ended (for `status`). `background` is the detached run started when git-annex held its
/// lock.
pub fn run(
    name: &str,
    db: Option<PathBuf>,
    background: bool,
    observer: &mut dyn Observer,
) -> Result<HookRun, HookError> {
    let ctx = Context::open(db)?;
    let result = sync_from_hook(&ctx, name, background, observer);
    let outcome = match &result {
        Ok(HookRun::Disabled) => "disabled (mixxx.hooks is false)".to_owned(),
        Ok(HookRun::Backgrounded(_)) => "went on in the background".to_owned(),
        Ok(HookRun::Synced(r)) if r.failed_any() => "synced, with failures".to_owned(),
        Ok(HookRun::Synced(_)) => "synced".to_owned(),
        Err(e) => format!("failed: {e}"),
    };
    let path = last_run_path(&ctx.annex.repo, name);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let line = format!("{now} {outcome}\n");
    // Bookkeeping for `status` only: a hook never fails for it.
    let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::write(&path, line));
    result
}

/// Where the last run of hook `name` is recorded: `<time> <outcome>`.
fn last_run_path(repo: &gix::Repository, name: &str) -> PathBuf {
    crate::state::local_dir(repo).join("hooks").join(name)
}

/// A git-mixxx hook of this repository, for `status`.
#[derive(Debug, serde::Serialize)]
pub struct HookState {
    pub name: &'static str,
    pub path: PathBuf,
    /// Whether the hook file holds git-mixxx's lines and can run.
    pub installed: bool,
    /// When it last ran (RFC 3339), and how that ended.
    pub last_run: Option<String>,
    pub last_outcome: Option<String>,
}

/// The state of each hook git-mixxx installs.
pub fn states(repo: &gix::Repository) -> Vec<HookState> {
    use std::os::unix::fs::PermissionsExt;
    HOOKS
        .iter()
        .map(|(name, _, place)| {
            let path = hook_dir(repo, *place).join(name);
            let executable = std::fs::metadata(&path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            let installed =
                executable && std::fs::read_to_string(&path).is_ok_and(|t| t.contains(BEGIN));
            let last = std::fs::read_to_string(last_run_path(repo, name)).unwrap_or_default();
            let (time, outcome) = match last.trim_end().split_once(' ') {
                Some((t, o)) => (Some(t.to_owned()), Some(o.to_owned())),
                None => (None, None),
            };
            HookState {
                name,
                path,
                installed,
                last_run: time,
                last_outcome: outcome,
            }
        })
        .collect()
}

/// The sync a hook runs.
fn sync_from_hook(
    ctx: &Context,
    name: &str,
    background: bool,
    observer: &mut dyn Observer,
) -> Result<HookRun, HookError> {
    let repo = &ctx.annex.repo;
    if config_bool(repo, "mixxx.hooks") == Some(false) {
        return Ok(HookRun::Disabled);
    }
    let dir = crate::state::local_dir(repo);
    std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
    if !background && ctx.annex.try_lock_journal()?.is_none() {
        // Inside a git-annex command that holds its journal lock (it does while running
        // post-update-annex): waiting here would deadlock, so finish in the background.
        spawn_background(name, ctx)?;
        return Ok(HookRun::Backgrounded(preview(ctx, observer)));
    }
    let lock_path = dir.join("hook.lock");
    let lock = File::create(&lock_path).map_err(io("creating", &lock_path))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io("locking", &lock_path)(e.into()))?;
    let mut leftovers = sync::Leftovers::default();
    let report = sync::run_keeping(ctx, &Options::default(), observer, &mut leftovers)?;
    // A hook run is its own process, which exits right after: the system frees it at once.
    std::mem::forget(leftovers);
    Ok(HookRun::Synced(Box::new(report)))
}

/// A dry run's report, if it has a warning for the terminal.
fn preview(ctx: &Context, observer: &mut dyn Observer) -> Option<Box<Report>> {
    let opts = Options {
        dry_run: true,
        ..Options::default()
    };
    let mut report = sync::run(ctx, &opts, observer).ok()?;
    if report.pulled > 0
        && let Some(why) = sync::apply::mixxx_running(&ctx.db)
    {
        report.hold_back(why);
    }
    (report.pull_pending.is_some() || report.refused.is_some()).then(|| Box::new(report))
}

fn spawn_background(name: &str, ctx: &Context) -> Result<(), Error> {
    use std::os::unix::process::CommandExt;
    let dir = crate::state::local_dir(&ctx.annex.repo);
    let marker = tempfile::Builder::new()
        .prefix(BACKGROUND_MARKER)
        .tempfile_in(&dir)
        .map_err(io("creating a file in", &dir))?;
    let (_, marker) = marker.keep().map_err(|e| io("keeping", &dir)(e.error))?;
    let log_path = log_path(&ctx.annex.repo);
    if std::fs::metadata(&log_path).is_ok_and(|m| m.len() > 1 << 20) {
        let _ = std::fs::remove_file(&log_path);
    }
    let log = File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io("opening", &log_path))?;
    let log2 = log.try_clone().map_err(io("opening", &log_path))?;
    let exe = std::env::current_exe().map_err(io("finding", Path::new("git-mixxx")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["hook", name, "--background-marker"])
        .arg(&marker)
        .arg("--db")
        .arg(&ctx.db)
        .env(RECURSION_GUARD, "1")
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0);
    cmd.spawn()
        .map_err(io("starting the background sync for", &marker))?;
    Ok(())
}

/// Where background runs write what they say (`$GIT_DIR/mixxx/hook.log`).
pub fn log_path(repo: &gix::Repository) -> PathBuf {
    crate::state::local_dir(repo).join("hook.log")
}

/// Whether a background run (started while git-annex held its lock) is still going on in
/// `repo`: its changes are not all in Mixxx yet.
pub fn background_running(repo: &gix::Repository) -> bool {
    std::fs::read_dir(crate::state::local_dir(repo)).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(BACKGROUND_MARKER)
        })
    })
}

/// Whether this hook was fired by a process git-mixxx started.
pub fn recursing() -> bool {
    std::env::var_os(RECURSION_GUARD).is_some()
}

/// Whether a failing pre-commit hook fails the commit (`git config mixxx.strict true`).
pub fn strict(name: &str) -> bool {
    name == "pre-commit"
        && crate::context::open_repo()
            .ok()
            .and_then(|r| config_bool(&r, "mixxx.strict"))
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_are_recognised() {
        assert!(is_shell("#!/bin/sh"));
        assert!(is_shell("#!/usr/bin/env bash"));
        assert!(is_shell("#! /bin/dash -e"));
        assert!(!is_shell("#!/usr/bin/env python3"));
        assert!(!is_shell("#!/usr/bin/perl"));
    }

    #[test]
    fn block_removal_keeps_everything_else() {
        let original =
            "#!/bin/sh\n# automatically configured by git-annex\ngit annex pre-commit .\n";
        let (first, tail) = original.split_once('\n').unwrap();
        let installed = format!(
            "{first}\n{}{tail}",
            block(HOOKS[0].1, false, Path::new("/opt/my git-mixxx"))
        );
        assert!(installed.contains("git_mixxx_exe='/opt/my git-mixxx'\n"));
        assert!(installed.contains("git_mixxx hook pre-commit"));
        let (rest, created) = remove_block(&installed);
        assert_eq!(rest, original);
        assert!(!created);
    }
}

//! `git mixxx launch`: a sync, then Mixxx (`git config mixxx.command`, default `mixxx`, split
//! as a shell would but run without one), then a sync once it exits, so that a DJ who starts
//! Mixxx this way never has to close it before syncing. While it runs, a note beside the
//! database names the process, so that hooks can say when their held-back changes will be
//! applied.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`git config mixxx.command` is not a command line git-mixxx can split ({0}): quote it as a shell would, e.g. mixxx --settingsPath \"/path/with spaces\""
    )]
    BadCommand(String),
    #[error(
        "`git config mixxx.command` is empty: set it to the command that starts Mixxx, or unset it for `mixxx`"
    )]
    EmptyCommand,
    #[error(
        "could not start Mixxx with `{command}`: {source}; install Mixxx or set `git config mixxx.command` to the command that starts it"
    )]
    Start {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for Mixxx to exit: {0}")]
    Wait(#[source] std::io::Error),
}

/// The command line that starts Mixxx: `git config mixxx.command`, else `mixxx`.
pub fn command(repo: &gix::Repository) -> Result<Vec<String>, Error> {
    let configured = repo
        .config_snapshot()
        .string("mixxx.command")
        .map(|v| v.to_string());
    let line = configured.unwrap_or_else(|| "mixxx".to_owned());
    let words = shell_words::split(&line).map_err(|e| Error::BadCommand(e.to_string()))?;
    if words.is_empty() {
        return Err(Error::EmptyCommand);
    }
    Ok(words)
}

/// The folder given to Mixxx as `--settingsPath DIR` (or `--settingsPath=DIR`), if any.
pub fn settings_path(command: &[String]) -> Option<String> {
    let mut words = command.iter();
    while let Some(word) = words.next() {
        if word == "--settingsPath" {
            return words.next().cloned();
        }
        if let Some(dir) = word.strip_prefix("--settingsPath=") {
            return Some(dir.to_owned());
        }
    }
    None
}

/// The note `launch` keeps beside the database while Mixxx runs: Mixxx's process id.
fn note_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_owned();
    name.push(".git-mixxx-launch");
    db.with_file_name(name)
}

/// Whether Mixxx, started by `git mixxx launch`, is running on the database at `db`.
pub fn launched(db: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(note_path(db)) else {
        return false;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return false;
    };
    rustix::process::Pid::from_raw(pid)
        .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
}

/// Starts `command` (with `extra` arguments) and waits for it to exit, noting its process id
/// beside the database at `db` meanwhile.
pub fn run_mixxx(command: &[String], extra: &[String], db: &Path) -> Result<ExitStatus, Error> {
    let (program, args) = command.split_first().ok_or(Error::EmptyCommand)?;
    let mut child = Command::new(program)
        .args(args)
        .args(extra)
        .spawn()
        .map_err(|source| Error::Start {
            command: shell_words::join(command),
            source,
        })?;
    let note = note_path(db);
    // Only a message depends on the note: a folder that cannot hold it changes nothing else.
    let _ = std::fs::write(&note, format!("{}\n", child.id()));
    let status = child.wait().map_err(Error::Wait);
    let _ = std::fs::remove_file(&note);
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    #[test]
    fn the_settings_path_decides_the_database() {
        assert_eq!(
            settings_path(&words(
                "mixxx --settingsPath '/home/dj/My Mixxx' --fullScreen"
            ))
            .as_deref(),
            Some("/home/dj/My Mixxx")
        );
        assert_eq!(
            settings_path(&words("flatpak run org.mixxx.Mixxx --settingsPath=/m")).as_deref(),
            Some("/m")
        );
        assert_eq!(settings_path(&words("mixxx")), None);
        assert_eq!(settings_path(&words("mixxx --settingsPath")), None);
    }
}

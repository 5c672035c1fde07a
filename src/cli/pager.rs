//! git's pager, for the commands whose output runs long (`log`), chosen as git chooses it:
//! only when stdout is a terminal; `GIT_PAGER`, else `core.pager`, else `PAGER`, else `less`;
//! none when that is empty or `cat`. `git --no-pager mixxx ...` sets `GIT_PAGER=cat` for the
//! command it runs (as git does for every external command), and `--no-pager` on the command
//! itself does the same. The pager runs through the shell with git's environment: `LESS=FRX`
//! and `LV=-c` unless set.

use super::quote::Text;
use std::io::{IsTerminal, Write};
use std::process::{Child, Command, Stdio};

/// Where a paged command writes: the pager's input, or stdout.
pub struct Paged {
    pager: Option<Child>,
}

impl Paged {
    /// Starts the pager when there is one to start (see the module documentation); without
    /// one, or when it cannot be started, output goes to stdout.
    pub fn start(enabled: bool, repo: Option<&gix::Repository>) -> Paged {
        let program = enabled
            .then(|| program(repo, std::io::stdout().is_terminal()))
            .flatten();
        let pager = program.and_then(|program| spawn(&program).ok());
        Paged { pager }
    }

    /// Writes `text`.
    pub fn write(&mut self, text: &Text) -> std::io::Result<()> {
        match self.pager.as_mut().and_then(|p| p.stdin.as_mut()) {
            Some(input) => input.write_all(text.as_str().as_bytes()),
            None => super::io::out(text),
        }
    }

    /// Closes the pager's input and waits until the reader quits it.
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(mut pager) = self.pager.take() {
            drop(pager.stdin.take());
            pager.wait()?;
        }
        Ok(())
    }
}

/// The pager git would run (see the module documentation), when stdout is a terminal.
fn program(repo: Option<&gix::Repository>, terminal: bool) -> Option<String> {
    if !terminal {
        return None;
    }
    let configured = || {
        repo.and_then(|r| r.config_snapshot().string("core.pager"))
            .map(|s| s.to_string())
    };
    let program = std::env::var("GIT_PAGER")
        .ok()
        .or_else(configured)
        .or_else(|| std::env::var("PAGER").ok())
        .unwrap_or_else(|| "less".to_owned());
    (!program.is_empty() && program != "cat").then_some(program)
}

fn spawn(program: &str) -> std::io::Result<Child> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(program).stdin(Stdio::piped());
    for (name, value) in [("LESS", "FRX"), ("LV", "-c")] {
        if std::env::var_os(name).is_none() {
            cmd.env(name, value);
        }
    }
    cmd.env("GIT_PAGER_IN_USE", "true");
    cmd.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pager_off_a_terminal() {
        assert_eq!(program(None, false), None);
    }
}

//! `git mixxx completions SHELL`: the completion script clap makes; for bash, with the
//! function git's own completion calls for `git mixxx`.

use crate::cli::args::Cli;
use crate::cli::exit::{OK, Outcome};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write as _;

pub fn run(shell: Shell) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(script(shell).as_bytes())?;
    stdout.flush()?;
    Ok(OK)
}

/// The completion script for `shell`; for bash, with the function git's own completion calls
/// for `git mixxx` (`_git_mixxx`).
fn script(shell: Shell) -> String {
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

//! The command line (the binary's side), laid out by command: the definitions in [`args`],
//! one file per command in [`commands`] (its handler and its text), the JSON writer in
//! [`json`], and the shared helpers: [`quote`] (every text from outside is quoted before it
//! is printed), [`io`] (the only writers), [`pager`], [`dates`], [`table`], a sync's text
//! that several commands print in [`report`], the progress in
//! [`observer`] and the manual pages in [`man`]. This file runs a command and maps its outcome
//! to an exit status; the library below prints nothing and never exits.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod dates;
mod exit;
mod io;
mod json;
mod man;
mod observer;
mod pager;
mod quote;
mod report;
mod table;

use args::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};
use exit::{ENVIRONMENT, INTERNAL, OK, SIMULATED_CRASH, describe};
use quote::{e, text};
use std::error::Error;

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = parse();
    std::panic::set_hook(Box::new(|info| {
        io::err(&text!(
            "error: internal error: {}\nThis is a bug in git-mixxx; please report it with the command you ran.",
            e(info)
        ));
    }));
    match std::panic::catch_unwind(|| commands::run(&cli.command)) {
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

/// The exit code of an error, after saying it once, with its causes, as `error: ...` (the
/// prefix of usage errors too), or as JSON on stdout under `--json`.
fn failed(command: &Command, error: &(dyn Error + 'static)) -> i32 {
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        // The reader went away (`git mixxx status | head`): nothing more to say.
        return OK;
    }
    if let Some(git_mixxx::sync::Error::SimulatedCrash(_)) =
        error.downcast_ref::<git_mixxx::sync::Error>()
    {
        io::err(&text!("error: {}", e(error)));
        return SIMULATED_CRASH;
    }
    let message = describe(error);
    if command.json() && json::error(command.name(), &message) {
        return ENVIRONMENT;
    }
    io::err(&text!("error: {}", e(&message)));
    ENVIRONMENT
}

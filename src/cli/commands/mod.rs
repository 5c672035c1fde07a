//! One file per command: its handler (running the library) and its text.

mod completions;
mod demo;
mod hooks;
mod launch;
mod log;
mod restore;
mod status;
pub mod sync;
mod trust;
mod undo;

use super::args::Command;
use super::exit::Outcome;

/// Runs `command` and returns its exit status.
pub fn run(command: &Command) -> Outcome {
    match command {
        Command::Sync(args) => sync::run(args),
        Command::Status(args) => status::run(args),
        Command::Launch(args) => launch::run(args),
        Command::Log(args) => log::run(args),
        Command::Undo(args) => undo::run(args),
        Command::Restore(args) => restore::run(args),
        Command::InstallHooks(args) => hooks::install(args, true),
        Command::UninstallHooks(args) => hooks::install(args, false),
        Command::Hook(args) => Ok(hooks::hook(args)),
        Command::Demo(args) => demo::run(args),
        Command::Completions { shell } => completions::run(*shell),
        Command::InstallMan { prefix } => super::man::run(prefix.as_deref()),
    }
}

//! The `git-mixxx` binary: the command line in [`cli`] over the `git_mixxx` library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}

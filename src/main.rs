//! The `git-mixxx` binary: everything is in the library; see `git_mixxx::cli`.

fn main() {
    std::process::exit(git_mixxx::cli::main());
}

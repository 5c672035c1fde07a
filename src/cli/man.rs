//! The manual pages, generated from the command-line definitions: `git-mixxx(1)` and one page
//! per command (`git-mixxx-sync(1)`, ...), committed under `man/` (a test keeps them
//! current) and installed by `git mixxx install-man`.

use super::Cli;
use clap::CommandFactory;
use std::path::{Path, PathBuf};

/// Every page: (file name, roff text).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut top = Cli::command()
        .name("git-mixxx")
        .disable_help_subcommand(true);
    top.build();
    let mut out = Vec::new();
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("git-mixxx-{}", sub.get_name());
        let bin_name = format!("git mixxx {}", sub.get_name());
        let cmd = sub
            .clone()
            .name(name.clone())
            .bin_name(bin_name)
            .display_name(name);
        out.push(render(cmd));
    }
    out.insert(0, render(top));
    out
}

fn render(cmd: clap::Command) -> (String, Vec<u8>) {
    let man = clap_mangen::Man::new(cmd)
        .manual("Git Manual")
        .source("git-mixxx");
    let mut text = Vec::new();
    man.render(&mut text)
        .expect("rendering into memory does not fail");
    (man.get_filename(), text)
}

/// Writes every page to `PREFIX/share/man/man1/`, where `man` finds it for a `PREFIX/bin` on
/// `PATH`; returns the files written.
pub fn install(prefix: &Path) -> std::io::Result<Vec<PathBuf>> {
    let dir = prefix.join("share/man/man1");
    std::fs::create_dir_all(&dir)?;
    pages()
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed pages are what the command line defines; `GIT_MIXXX_BLESS=1 cargo test`
    /// rewrites them.
    #[test]
    fn committed_man_pages_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let bless = std::env::var_os("GIT_MIXXX_BLESS").is_some();
        let mut stale = Vec::new();
        for (name, text) in pages() {
            let path = dir.join(&name);
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "stale man pages {stale:?}: run `GIT_MIXXX_BLESS=1 cargo test committed_man_pages` and commit man/"
        );
    }
}

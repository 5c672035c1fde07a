//! The manual pages, in git's shape: `git-mixxx(1)` and one page per command
//! (`git-mixxx-sync(1)`, ...) generated from the command-line definitions (NAME, SYNOPSIS with
//! each option's value, DESCRIPTION, OPTIONS), then the sections of [`sections`]
//! (CONFIGURATION, FILES, EXIT STATUS, EXAMPLES, SEE ALSO); and `git-mixxx-json(7)`, the JSON
//! documents, from docs/json.md ([`markdown`]). Committed under `man/` (a test keeps them
//! current) and installed by `git mixxx install-man`.

mod markdown;
mod sections;

use super::args::Cli;
use super::exit::{OK, Outcome};
use super::io;
use super::quote::{Text, path, say};
use clap::{ArgAction, CommandFactory};
use roff::{Roff, bold, italic, roman};
use std::path::{Path, PathBuf};

/// Every page: (file name, roff text).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut top = Cli::command()
        .name("git-mixxx")
        .bin_name("git mixxx")
        .disable_help_subcommand(true)
        .subcommand_help_heading("COMMANDS");
    top.build();
    let mut out = vec![render(&top, "")];
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("git-mixxx-{}", sub.get_name());
        let cmd = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("git mixxx {}", sub.get_name()))
            .display_name(name);
        out.push(render(&cmd, sub.get_name()));
    }
    out.push(("git-mixxx-json.7".to_owned(), markdown::json_page()));
    out
}

/// The page of `cmd` (`command` is its name under `git mixxx`, empty for the top page).
fn render(cmd: &clap::Command, command: &str) -> (String, Vec<u8>) {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("Git Manual")
        .source("git-mixxx");
    let mut text = Vec::new();
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut text)?;
        man.render_name_section(&mut text)?;
        synopsis(cmd).to_writer(&mut text)?;
        man.render_description_section(&mut text)?;
        if command.is_empty() {
            sections::fields().to_writer(&mut text)?;
        }
        man.render_options_section(&mut text)?;
        if cmd.has_subcommands() {
            man.render_subcommands_section(&mut text)?;
        }
        sections::rest(command).to_writer(&mut text)
    })();
    rendered.expect("rendering into memory does not fail");
    (man.get_filename(), text)
}

/// SYNOPSIS: the command, then each option with its value (`[--db PATH]`), then the
/// arguments.
fn synopsis(cmd: &clap::Command) -> Roff {
    let mut line = vec![bold(cmd.get_bin_name().unwrap_or_else(|| cmd.get_name()))];
    // Options first, then the arguments, as git's pages show them.
    let mut args: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
    args.sort_by_key(|a| a.is_positional());
    for arg in args {
        let value = || {
            let names = arg.get_value_names().map(|v| v.join(" "));
            names.unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
        };
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}|--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => {
                let many = matches!(arg.get_action(), ArgAction::Append);
                let (open, close) = if arg.is_required_set() {
                    ("", "")
                } else {
                    ("[", "]")
                };
                line.push(roman(format!(" {open}")));
                line.push(italic(value()));
                line.push(roman(format!("{close}{}", if many { "..." } else { "" })));
                continue;
            }
        };
        line.push(roman(" ["));
        line.push(bold(flag));
        if arg.get_action().takes_values() {
            line.push(roman(" "));
            line.push(italic(value()));
        }
        if matches!(arg.get_action(), ArgAction::Count) {
            line.push(roman("..."));
        }
        line.push(roman("]"));
    }
    if cmd.has_subcommands() {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
        line.push(roman(" ["));
        line.push(italic("ARGS"));
        line.push(roman("]"));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]).text(line);
    roff
}

/// `git mixxx install-man`: the pages written under the prefix.
pub fn run(prefix: Option<&Path>) -> Outcome {
    let prefix = match prefix {
        Some(p) => p.to_owned(),
        None => install_prefix()?,
    };
    let mut out = Text::new();
    for page in install(&prefix)? {
        say!(out, "installed {}", path(&page));
    }
    io::out(&out)?;
    Ok(OK)
}

/// The prefix this git-mixxx is installed under: the folder above its `bin/`.
fn install_prefix() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?.canonicalize()?;
    let bin = exe.parent().ok_or("git-mixxx has no folder")?;
    match bin.parent() {
        Some(prefix) if bin.ends_with("bin") => Ok(prefix.to_owned()),
        _ => Err(format!(
            "git-mixxx runs from {}, not from a bin/ folder: give the prefix (--prefix DIR puts the pages in DIR/share/man/man1 and man7)",
            bin.display()
        )
        .into()),
    }
}

/// Writes every page to `PREFIX/share/man/man1/` (and `man7/`), where `man` finds it for a
/// `PREFIX/bin` on `PATH`; returns the files written.
pub fn install(prefix: &Path) -> std::io::Result<Vec<PathBuf>> {
    pages()
        .into_iter()
        .map(|(name, text)| {
            let section = name.rsplit('.').next().unwrap_or("1");
            let dir = prefix.join(format!("share/man/man{section}"));
            std::fs::create_dir_all(&dir)?;
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

    #[test]
    fn synopsis_shows_options_with_their_values() {
        let (_, page) = &pages()[1..]
            .iter()
            .find(|(name, _)| name == "git-mixxx-sync.1")
            .cloned()
            .unwrap();
        let page = String::from_utf8_lossy(page);
        let synopsis =
            &page[page.find(".SH SYNOPSIS").unwrap()..page.find(".SH DESCRIPTION").unwrap()];
        for option in [
            r"\-\-prefer\fR \fISIDE",
            r"\-\-db\fR \fIPATH",
            r"\fIPATHS\fR]...",
        ] {
            assert!(synopsis.contains(option), "{option} in {synopsis}");
        }
    }
}

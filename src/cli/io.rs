//! The only writers of the command line: stdout and stderr take [`Text`], so nothing reaches
//! the terminal that was not quoted (see [`super::quote`]).

#![allow(clippy::print_stderr)]

use super::quote::Text;
use std::io::Write as _;

/// Writes `text` to standard output.
pub fn out(text: &Text) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_str().as_bytes())?;
    stdout.flush()
}

/// Writes `text` and a newline to standard error (a closed stderr loses it).
pub fn err(text: &Text) {
    eprintln!("{text}");
}

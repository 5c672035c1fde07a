//! `git mixxx demo`: the library's demonstration ([`git_mixxx::demo`]), narrated line by line.

use crate::cli::args::DemoArgs;
use crate::cli::exit::{OK, Outcome};
use crate::cli::io;
use crate::cli::quote::{e, text};

pub fn run(args: &DemoArgs) -> Outcome {
    let mut narrate = |said: &str| {
        if args.quiet {
            return;
        }
        for line in said.split('\n') {
            // A closed output only ends the narration, not the demonstration.
            let _ = io::out(&text!("{}\n", e(line)));
        }
    };
    git_mixxx::demo::run(args.dir.as_deref(), &mut narrate)?;
    Ok(OK)
}

//! `git mixxx restore`: the backups of the Mixxx database (the library's
//! [`git_mixxx::history::restore`]), listed one a line, or one put back, and their text.

use crate::cli::args::RestoreArgs;
use crate::cli::dates::when;
use crate::cli::exit::{OK, Outcome};
use crate::cli::quote::{Text, path, q, say};
use crate::cli::{io, json};
use git_mixxx::context::Context;
use git_mixxx::history::restore::{self, BackupInfo, Restored};

/// `git mixxx restore`: the list without BACKUP, else that backup put back.
pub fn run(args: &RestoreArgs) -> Outcome {
    let ctx = Context::open(args.db.db.clone())?;
    let Some(name) = args.backup.as_deref() else {
        let backups = restore::list(&ctx)?;
        if args.output.json {
            return json::print("restore", &serde_json::json!({ "backups": backups }));
        }
        if !args.output.quiet {
            io::out(&backups_text(&backups, &ctx.db))?;
        }
        return Ok(OK);
    };
    let restored = restore::restore(&ctx, name)?;
    if args.output.json {
        return json::print("restore", &restored);
    }
    if !args.output.quiet {
        io::out(&restored_text(&restored))?;
    }
    Ok(OK)
}

/// `restore --list`: one backup a line, the name `restore` takes first.
pub fn backups_text(list: &[BackupInfo], db: &std::path::Path) -> Text {
    let mut out = Text::new();
    if list.is_empty() {
        say!(out, "No backups of {} yet.", path(db));
    }
    for b in list {
        let megabytes = b.bytes as f64 / 1e6;
        match &b.run {
            Some(id) => say!(
                out,
                "{}  {}  {:.1} MB  before run {}",
                q(&b.name),
                when(&b.time),
                megabytes,
                q(id)
            ),
            None => say!(
                out,
                "{}  {}  {:.1} MB  -",
                q(&b.name),
                when(&b.time),
                megabytes
            ),
        }
    }
    out
}

/// `restore BACKUP`: what was put back, where the database as it was went, what to do next.
pub fn restored_text(r: &Restored) -> Text {
    let mut out = Text::new();
    say!(out, "Restored {} from {}.", q(&r.db), q(&r.restored.name));
    match (&r.backup, r.damaged) {
        (Some(b), false) => say!(out, "  The database as it was is backed up in {}.", q(b)),
        (Some(b), true) => say!(
            out,
            "  The database as it was failed SQLite's check; it is set aside in {}.",
            q(b)
        ),
        (None, _) => say!(out, "  There was no database there."),
    }
    say!(
        out,
        "  Run `git mixxx sync` now: the branch's values are kept wherever it has history for them."
    );
    out
}

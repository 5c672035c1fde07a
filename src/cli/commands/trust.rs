//! What `status` says of this clone's own state and of what on the branch it does not take as
//! it is: the bases it keeps (one per Mixxx database), run records dated in the future,
//! records under this clone's UUID that it did not write, entries beyond the limits, and
//! tracks whose newest metadata line is dated in the future.

use crate::cli::dates::when;
use crate::cli::quote::{Text, e, q, say, text};
use crate::cli::table::{capped, count};
use git_mixxx::status::{RecordRef, Status};
use git_mixxx::sync::Report;

/// This clone's bases, one per Mixxx database it syncs: when it syncs another database than
/// this one (the last sync line says the rest).
pub fn bases(out: &mut Text, status: &Status) {
    if status.bases.iter().all(|b| b.this_database) {
        return;
    }
    say!(
        out,
        "Bases of this clone (one per Mixxx database it syncs):"
    );
    for b in &status.bases {
        let this = if b.this_database {
            " (this database)"
        } else {
            ""
        };
        say!(
            out,
            "  {}{}: run {} at {}",
            q(&b.db),
            this,
            q(&b.run),
            when(&b.time)
        );
    }
}

/// Records and entries on the branch that are not taken as they are.
pub fn untrusted(out: &mut Text, status: &Status, limit: usize) {
    let records = [
        (
            &status.future_records,
            "dated more than a day ahead of this machine's clock (not taken as any clone's last sync)",
        ),
        (
            &status.foreign_records,
            "under this clone's UUID that this clone did not write (another clone's; ignored)",
        ),
    ];
    for (list, what) in records.into_iter().filter(|(l, _)| !l.is_empty()) {
        say!(out, "{} {}:", count(list.len(), "run record"), what);
        let lines = list.iter().map(record);
        capped(out, lines, list.len(), limit);
    }
    for skipped in &status.skipped {
        say!(out, "Skipped on the git-annex branch: {}", e(skipped));
    }
}

fn record(r: &RecordRef) -> Text {
    text!(
        "run {} of clone {} at {}",
        q(&r.run),
        q(&r.clone),
        q(&r.time)
    )
}

/// Tracks whose newest line on the branch is dated in the future.
pub fn future_dated(out: &mut Text, p: &Report, limit: usize) {
    if p.future_dated.is_empty() {
        return;
    }
    say!(
        out,
        "  {} dated more than a day ahead of this machine's clock on the branch (a value set with `git annex metadata` cannot win over it until then):",
        count(p.future_dated.len(), "track")
    );
    let lines = p.future_dated.iter().map(|path| text!("{}", q(path)));
    capped(out, lines, p.future_dated.len(), limit);
}

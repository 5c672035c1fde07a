//! What a key's plan writes to the branch: the changes that make the branch hold the merged
//! values, and the log file's new content with them.

use super::values::branch_values;
use crate::annex::logmet::{self, Change, Current};
use crate::fields::{Field, FieldSet};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// A key's metadata log as the run writes it.
#[derive(Debug)]
pub struct Push {
    /// The log file's new content: the old lines, then a line resolving fields a merge left
    /// with several values (if any), then the line of edits (if any).
    pub content: String,
    /// Where the new lines start in `content`.
    line_start: usize,
    /// Where the line of edits starts in `content`.
    edits_start: usize,
    /// The fields it changes.
    pub fields: FieldSet,
    /// Whether its edits unset any value (only such pushes can clear values: see the clear
    /// guard; a resolution keeps one value of each field it resolves).
    pub unsets: bool,
    /// Whether git-annex's journal has an entry for the file.
    pub in_journal: bool,
}

impl Push {
    /// `old` followed by the `resolution` and `edits` lines (either may be empty); an old
    /// last line without its line end gets one, so that it keeps its values. `unsets`: whether
    /// the line of edits unsets a value (the caller made it, and knows without parsing it).
    pub fn new(
        old: &str,
        (resolution, edits): (&str, &str),
        fields: FieldSet,
        unsets: bool,
        in_journal: bool,
    ) -> Push {
        let mut content = String::with_capacity(old.len() + resolution.len() + edits.len() + 3);
        content.push_str(old);
        if !old.is_empty() && !old.ends_with(['\n', '\r']) {
            content.push('\n');
        }
        let add = |content: &mut String, line: &str| {
            if !line.is_empty() {
                content.push_str(line);
                content.push('\n');
            }
        };
        add(&mut content, resolution);
        let edits_start = content.len();
        add(&mut content, edits);
        Push {
            content,
            line_start: old.len(),
            edits_start,
            fields,
            unsets,
            in_journal,
        }
    }

    /// The changes of the new lines.
    pub fn changes(&self) -> Vec<Change> {
        parse_changes(&self.content[self.line_start..])
    }

    /// The changes of the line of edits (not those of a resolution).
    pub fn edits(&self) -> Vec<Change> {
        parse_changes(&self.content[self.edits_start..])
    }
}

/// The changes of log lines.
fn parse_changes(lines: &str) -> Vec<Change> {
    lines
        .lines()
        .filter_map(logmet::parse_line)
        .flat_map(|l| l.changes)
        .collect()
}

/// The changes that make the branch's raw values of each field the new values: unset every
/// raw value that is not a new one, set every new one that is not there in that spelling.
pub fn changes(g: &Current, fields: &[(Field, BTreeSet<String>)]) -> Vec<Change> {
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for (field, new) in fields {
        // A single value replaces every other, "" included; a set changes by its members.
        let raw = match field.is_set() {
            true => branch_values(*field, g),
            false => Cow::Borrowed(g.get(field.name()).unwrap_or(&empty)),
        };
        let name = field.name().to_owned();
        for old in raw.keys().filter(|v| !new.contains(*v)) {
            out.push(Change {
                field: name.clone(),
                set: false,
                value: old.clone(),
            });
        }
        for v in new.iter().filter(|v| !raw.contains_key(*v)) {
            out.push(Change {
                field: name.clone(),
                set: true,
                value: v.clone(),
            });
        }
    }
    out
}

//! Playlist order: the sequence of a user playlist (a track may appear twice) travels in a
//! line file per playlist, `mixxx/playlists/<id>.log` ([`line`]), beside the per-track
//! `playlist` field that says which tracks are members. The file is a small history
//! ([`graph`]): each line is an order naming the lines it was made from, and orders written
//! concurrently on two clones (both lines kept by git-annex's union merge) are merged against
//! the one they were made from, the same way on every clone.
//!
//! A sync merges each playlist three ways ([`crate::merge::sequence`]): its order at this
//! clone's base, in this Mixxx now and on the branch now, on the keys this clone holds; and its
//! name as a single value. A playlist keeps its file when renamed ([`identity`]), and
//! memberships pulled under an old name go to the new one. Membership stays per track (edits
//! on two clones combine per element); the order only arranges the members. A clone that lacks
//! some of a playlist's tracks keeps them where they were in the order it writes
//! ([`arrange`]), so it never shortens the playlist for the clones that have them.

mod arrange;
mod decide;
pub mod graph;
mod identity;
pub mod line;
mod memberships;
mod read;

pub use decide::plan;
pub use graph::{Merged, Older};
pub use memberships::Memberships;
pub use read::{Playlists, read};

use super::branch::{Branch, FileVersions};
use super::options::{Options, Prefer};
use crate::annex::logmet::{Order, Timestamp};
use crate::annex::{self, Annex, Capped, TreeReader};
use crate::bounds;
use crate::merge::sequence::{self, Side};
use crate::state::Conflict;
use graph::Graph;
use serde::{Deserialize, Serialize};

/// The name under which a run reports and records playlist orders (a pseudo-field).
pub const FIELD: &str = "order";
/// The name under which a run records a playlist renamed differently on two sides.
pub const NAME_FIELD: &str = "name";

/// Whether a recorded conflict's field is a playlist's order or name.
pub fn is_playlist_field(field: &str) -> bool {
    field == FIELD || field == NAME_FIELD
}

/// What a run does with one playlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaylistPlan {
    /// The playlist's name after the run.
    pub name: String,
    /// Its order file on the branch.
    pub path: String,
    /// The new content of the order file, when the run writes it.
    pub push: Option<String>,
    /// The keys this Mixxx's playlist is to hold, in order, when it differs from now.
    pub pull: Option<Vec<String>>,
    /// This Mixxx's name for it, when the run renames it.
    pub rename_from: Option<String>,
    pub conflicts: Vec<Conflict>,
}

impl PlaylistPlan {
    pub fn writes_mixxx(&self) -> bool {
        self.pull.is_some() || self.rename_from.is_some()
    }
}

/// An order on the branch that no playlist of this Mixxx shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedOrder {
    /// The order file on the branch.
    pub file: String,
    /// The playlist's name (`None` when the file was not read).
    pub name: Option<String>,
    /// How many entries it has (0 when not read).
    pub entries: usize,
    /// Why: none of its tracks is in this Mixxx, or the file (or every line in it) is over
    /// the limits.
    pub reason: Unmatched,
}

impl UnmatchedOrder {
    fn too_large(file: String) -> UnmatchedOrder {
        UnmatchedOrder {
            file,
            name: None,
            entries: 0,
            reason: Unmatched::TooLarge,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    NoTrackHere,
    TooLarge,
}

/// What a run does with the playlists' orders and names.
#[derive(Debug, Default)]
pub struct Orders {
    /// The playlists with something to do.
    pub playlists: Vec<PlaylistPlan>,
    pub unmatched: Vec<UnmatchedOrder>,
}

impl Orders {
    pub fn pulls(&self) -> bool {
        self.playlists.iter().any(PlaylistPlan::writes_mixxx)
    }

    pub fn pushes(&self) -> bool {
        self.playlists.iter().any(|p| p.push.is_some())
    }
}

/// What this run writes for the playlists' order in this Mixxx and on the branch.
pub struct Context<'a> {
    pub uuid: &'a str,
    pub now: Timestamp,
    pub opts: &'a Options,
    /// Whether the run has a base (a database with a past).
    pub has_base: bool,
    /// Whether a key was synced at the base: one that was not (a file imported or whose
    /// content arrived since) was in no order of this Mixxx then, so its absence from Mixxx's
    /// order is no removal.
    pub in_base: &'a dyn Fn(&str) -> bool,
}

impl Context<'_> {
    /// The side of a sync merge (A: Mixxx, B: the branch) that decides a conflict.
    fn prefer(&self) -> Side {
        match self.opts.prefer {
            Prefer::Git => Side::B,
            Prefer::Mixxx => Side::A,
        }
    }
}

/// A name merged three ways as a single value: a rename on one side applies; two different
/// renames are a conflict (the second value), which `prefer` decides.
pub(crate) fn merge_name<'n>(
    base: Option<&str>,
    a: &'n str,
    b: &'n str,
    prefer: Side,
) -> (&'n str, bool) {
    match base {
        _ if a == b => (a, false),
        Some(o) if o == a => (b, false),
        Some(o) if o == b => (a, false),
        _ if prefer == Side::A => (a, true),
        _ => (b, true),
    }
}

/// The line that records `tracks` as the order of `name`, made from `from` (the file's order
/// it merged, if it has one), dated after every line of the file.
pub fn next_line(
    from: Option<&Merged>,
    name: &str,
    clone: &str,
    tracks: Vec<String>,
    now: Timestamp,
) -> line::Line {
    line::Line {
        time: Order::after(now, from.map(|m| &m.newest)),
        name: name.to_owned(),
        clone: clone.to_owned(),
        tracks,
        parents: Some(from.map(|m| m.heads.clone()).unwrap_or_default()),
    }
}

/// The order of the file at `path` in `commit`, its ancestors read from that commit's history
/// (`None` without the file, or when it is over the size limit).
pub fn merged_at(
    annex: &Annex,
    commit: gix::ObjectId,
    path: &str,
) -> annex::Result<Option<Merged>> {
    let Some(id) = annex.tree_reader(commit)?.blob_id(path)? else {
        return Ok(None);
    };
    let Capped::Text(text) = annex::read_blob_within(&annex.repo, id, bounds::FILE_BYTES)? else {
        return Ok(None);
    };
    let mut versions = FileVersions::new(annex, vec![commit], path, bounds::FILE_BYTES);
    Graph::new(&mut versions).merged(line::parse(&text).lines)
}

/// The order of the file at `path` on the branch now (the tip and the unmerged remote
/// branches, as a sync reads it; `None` without the file, or when it is over the size limit).
pub fn merged_now(branch: &mut Branch<'_>, path: &str) -> annex::Result<Option<Merged>> {
    let Some(Capped::Text(text)) = branch.file_now_within(path, bounds::FILE_BYTES)? else {
        return Ok(None);
    };
    let mut versions = branch.file_versions(path, bounds::FILE_BYTES);
    Graph::new(&mut versions).merged(line::parse(&text).lines)
}

/// When the order in the file at `path` was last written (its newest line's time), if it is
/// within the size limit.
pub fn written_at(reader: &mut TreeReader<'_>, path: &str) -> annex::Result<Option<Order>> {
    let Some(id) = reader.blob_id(path)? else {
        return Ok(None);
    };
    Ok(match reader.read_within(id, bounds::FILE_BYTES)? {
        Capped::Text(text) => line::parse(&text).lines.into_iter().map(|l| l.time).max(),
        Capped::TooLarge(_) => None,
    })
}

impl Older for FileVersions<'_> {
    fn next_version(&mut self) -> annex::Result<Option<String>> {
        self.next_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_merge_as_single_values() {
        assert_eq!(
            merge_name(Some("Sat"), "Saturday", "Sat", Side::B),
            ("Saturday", false)
        );
        assert_eq!(
            merge_name(Some("Sat"), "Sat", "Sun", Side::B),
            ("Sun", false)
        );
        assert_eq!(merge_name(Some("Sat"), "Sa", "Su", Side::B), ("Su", true));
        assert_eq!(merge_name(Some("Sat"), "Sa", "Su", Side::A), ("Sa", true));
        assert_eq!(merge_name(None, "X", "X", Side::B), ("X", false));
    }
}

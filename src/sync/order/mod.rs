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
pub mod graph;
mod identity;
pub mod line;

pub use graph::{Merged, Older};

use super::branch::{Branch, FileVersions};
use super::observer::Warning;
use super::options::{Options, Prefer};
use super::snapshot::Keyed;
use crate::annex::logmet::{Order, Timestamp};
use crate::annex::{self, Annex, Capped, TreeReader};
use crate::fields::Field;
use crate::merge::sequence::{self, Side};
use crate::mixxx::Playlist;
use crate::state::Conflict;
use arrange::{arrange, keep_absent, only};
use graph::Graph;
use identity::{Known, MixxxPlaylist};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Old names of renamed playlists, with their names now: memberships pulled under an old
    /// name go to the playlist's name now.
    pub renamed: BTreeMap<String, String>,
    pub unmatched: Vec<UnmatchedOrder>,
    /// Order files or lines skipped for being over the limits.
    pub warnings: Vec<Warning>,
}

impl Orders {
    pub fn pulls(&self) -> bool {
        self.playlists.iter().any(PlaylistPlan::writes_mixxx)
    }

    pub fn pushes(&self) -> bool {
        self.playlists.iter().any(|p| p.push.is_some())
    }

    /// The playlist name a membership of `name` goes to.
    pub fn translate<'n>(&'n self, name: &'n str) -> &'n str {
        self.renamed.get(name).map_or(name, String::as_str)
    }
}

/// What this run writes for the playlists' order in this Mixxx and on the branch.
pub struct Context<'a> {
    pub uuid: &'a str,
    pub now: Timestamp,
    pub opts: &'a Options,
    /// Whether the run has a base (a database with a past).
    pub has_base: bool,
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
    let Capped::Text(text) = annex::read_blob_within(&annex.repo, id, line::MAX_FILE)? else {
        return Ok(None);
    };
    let mut versions = FileVersions::new(annex, vec![commit], path, line::MAX_FILE);
    Graph::new(&mut versions).merged(line::parse(&text).lines)
}

/// When the order in the file at `path` was last written (its newest line's time), if it is
/// within the size limit.
pub fn written_at(reader: &mut TreeReader<'_>, path: &str) -> annex::Result<Option<Order>> {
    let Some(id) = reader.blob_id(path)? else {
        return Ok(None);
    };
    Ok(match reader.read_within(id, line::MAX_FILE)? {
        Capped::Text(text) => line::parse(&text).lines.into_iter().map(|l| l.time).max(),
        Capped::TooLarge(_) => None,
    })
}

impl Older for FileVersions<'_> {
    fn next_version(&mut self) -> annex::Result<Option<String>> {
        self.next_text()
    }
}

/// One playlist's orders: this Mixxx's, and its file's now and at the base.
struct Sides<'a> {
    path: &'a str,
    mixxx: Option<&'a MixxxPlaylist<'a>>,
    now: Option<&'a Merged>,
    base: Option<&'a Merged>,
}

impl Sides<'_> {
    /// The playlist's name after the run, and whether Mixxx and the branch renamed it
    /// differently.
    fn name(&self, cx: &Context<'_>) -> (String, bool) {
        match (self.mixxx, self.now) {
            (Some(m), Some(_)) if cx.opts.all => (m.name.to_owned(), false),
            (Some(m), Some(n)) => {
                let base = self.base.map(|b| b.name.as_str());
                let (name, conflict) = merge_name(base, m.name, &n.name, cx.prefer());
                (name.to_owned(), conflict)
            }
            (Some(m), None) => (m.name.to_owned(), false),
            (None, Some(n)) => (n.name.clone(), false),
            (None, None) => (String::new(), false),
        }
    }

    /// The names it had: in this Mixxx, at the base, in the file's heads now.
    fn old_names(&self) -> impl Iterator<Item = &str> {
        let now = self.now.into_iter().flat_map(|n| n.names.iter());
        (self.mixxx.map(|m| m.name).into_iter())
            .chain(self.base.map(|b| b.name.as_str()))
            .chain(now.map(String::as_str))
    }
}

/// Plans every playlist this Mixxx or the branch has an order for. `pulled` holds the
/// `playlist` memberships the plan pulls, by key.
pub fn plan(
    playlists: &[Playlist],
    keyed: &Keyed,
    pulled: &HashMap<&str, &BTreeSet<String>>,
    branch: &mut Branch<'_>,
    cx: &Context<'_>,
) -> annex::Result<Orders> {
    let mut out = Orders::default();
    if !cx.opts.paths.is_empty() {
        // A run over some files only does not see whole playlists.
        return Ok(out);
    }
    let files = read_files(branch, cx.has_base, &mut out)?;
    let mixxx = mixxx_playlists(playlists, keyed);
    let known: BTreeMap<String, Known<'_>> = files
        .iter()
        .map(|(path, (now, base))| {
            let (now, base) = (now.as_ref(), base.as_ref());
            (path.clone(), Known { now, base })
        })
        .collect();
    let identities = identity::match_files(&mixxx, &known);
    let sides: Vec<Sides<'_>> = identities
        .iter()
        .map(|i| {
            let known = known.get(&i.path);
            Sides {
                path: &i.path,
                mixxx: i.mixxx.map(|m| &mixxx[m]),
                now: known.and_then(|k| k.now),
                base: known.and_then(|k| k.base),
            }
        })
        .collect();
    let names: Vec<(String, bool)> = sides.iter().map(|s| s.name(cx)).collect();
    out.renamed = renamed(&sides, &names);
    let members = final_members(keyed, pulled, &out.renamed);
    let held = |k: &str| keyed.items.contains_key(k);
    for (s, (name, name_conflict)) in sides.iter().zip(names) {
        if s.mixxx.is_none() && s.now.is_none() {
            continue;
        }
        let unmatched = s.now.filter(|n| !n.tracks.iter().any(|k| held(k)));
        if let Some(now) = unmatched.filter(|n| !n.tracks.is_empty()) {
            out.unmatched.push(UnmatchedOrder {
                file: s.path.to_owned(),
                name: Some(now.name.clone()),
                entries: now.tracks.len(),
                reason: Unmatched::NoTrackHere,
            });
        }
        let members = members.get(name.as_str()).map_or(&[][..], Vec::as_slice);
        let p = plan_playlist(s, name, name_conflict, members, &held, keyed, cx);
        if p.push.is_some() || p.writes_mixxx() || !p.conflicts.is_empty() {
            out.playlists.push(p);
        }
    }
    Ok(out)
}

/// The merged orders of the order files now and at the base, by path.
type Files = BTreeMap<String, (Option<Merged>, Option<Merged>)>;

/// Reads every order file (each within the limits; what is over them is left out with a
/// warning, and a file over the size limit is listed as unmatched).
fn read_files(branch: &mut Branch<'_>, has_base: bool, out: &mut Orders) -> annex::Result<Files> {
    let mut files = Files::new();
    for path in branch.files_now(line::DIR)? {
        let mut versions = branch.file_versions(&path, line::MAX_FILE);
        let mut graph = Graph::new(&mut versions);
        let mut skipped = 0;
        let now = match branch.file_now_within(&path, line::MAX_FILE)? {
            Some(Capped::Text(text)) => {
                let parsed = line::parse(&text);
                skipped += parsed.over_limits;
                graph.merged(parsed.lines)?
            }
            Some(Capped::TooLarge(size)) => {
                out.warnings.push(Warning::OrderFileTooLarge {
                    file: path.clone(),
                    size,
                });
                out.unmatched.push(UnmatchedOrder::too_large(path));
                continue;
            }
            None => None,
        };
        if now.is_none() && skipped > 0 {
            // Nothing in it could be read.
            out.unmatched.push(UnmatchedOrder::too_large(path.clone()));
        }
        let base = match has_base {
            true => branch.file_at_base_within(&path, line::MAX_FILE)?,
            false => None,
        };
        let base = match base {
            Some(Capped::Text(text)) => graph.merged(line::parse(&text).lines)?,
            _ => None,
        };
        skipped += graph.over_limits;
        if skipped > 0 {
            let file = path.clone();
            out.warnings.push(Warning::OrderLinesSkipped {
                file,
                lines: skipped,
            });
        }
        files.insert(path, (now, base));
    }
    Ok(files)
}

/// This Mixxx's playlists with their entries' keys (entries of files git-mixxx does not sync
/// left out).
fn mixxx_playlists<'a>(playlists: &'a [Playlist], keyed: &'a Keyed) -> Vec<MixxxPlaylist<'a>> {
    let listed: HashSet<i64> = playlists
        .iter()
        .flat_map(|p| p.tracks.iter().copied())
        .collect();
    let key_of: HashMap<i64, &str> = keyed
        .items
        .iter()
        .flat_map(|(k, item)| item.track_ids.iter().map(move |id| (*id, k.as_str())))
        .filter(|(id, _)| listed.contains(id))
        .collect();
    playlists
        .iter()
        .map(|p| MixxxPlaylist {
            name: &p.name,
            keys: p
                .tracks
                .iter()
                .filter_map(|t| key_of.get(t).copied())
                .collect(),
        })
        .collect()
}

/// The old names of renamed playlists with their names after the run: every name a playlist
/// had (in this Mixxx, at the base, in a head of its file) that no playlist has after the run
/// and that no two playlists had.
fn renamed(sides: &[Sides<'_>], names: &[(String, bool)]) -> BTreeMap<String, String> {
    let after: BTreeSet<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    let mut out: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for (s, (name, _)) in sides.iter().zip(names) {
        for old in s.old_names().filter(|o| !after.contains(o)) {
            let to = out.entry(old).or_insert(Some(name));
            if *to != Some(name.as_str()) {
                *to = None;
            }
        }
    }
    out.into_iter()
        .filter_map(|(old, new)| Some((old.to_owned(), new?.to_owned())))
        .collect()
}

/// The playlists' members (by name after the run) after the plan's pulls, among this Mixxx's
/// keys.
fn final_members<'k>(
    keyed: &'k Keyed,
    pulled: &HashMap<&str, &'k BTreeSet<String>>,
    renamed: &'k BTreeMap<String, String>,
) -> HashMap<&'k str, Vec<&'k str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::default();
    for key in &keyed.order {
        let now = |n: &'k String| renamed.get(n).map_or(n.as_str(), String::as_str);
        let names: BTreeSet<&str> = match pulled.get(key.as_str()) {
            Some(values) => values.iter().map(now).collect(),
            None => keyed.items[key]
                .m
                .set(Field::Playlist)
                .iter()
                .map(now)
                .collect(),
        };
        for name in names {
            out.entry(name).or_default().push(key.as_str());
        }
    }
    out
}

/// The order of a playlist's keys this clone holds after the run, and whether the sides'
/// edits conflicted.
fn merge_orders<'a>(
    s: &Sides<'a>,
    mixxx: &[&'a str],
    branch: &[&'a str],
    held: &dyn Fn(&str) -> bool,
    cx: &Context<'_>,
) -> (Vec<&'a str>, bool) {
    if cx.opts.all || s.now.is_none() {
        return (mixxx.to_vec(), false);
    }
    if !cx.has_base {
        // Without a base the branch is the truth where it has history.
        return (branch.to_vec(), false);
    }
    let base: Vec<&str> = s
        .base
        .map(|b| {
            b.tracks
                .iter()
                .map(String::as_str)
                .filter(|k| held(k))
                .collect()
        })
        .unwrap_or_default();
    let merged = sequence::merge(&base, mixxx, branch, cx.prefer());
    (merged.items, merged.conflict)
}

/// Plans one playlist, named `name` after the run; `members` are its members after the run.
fn plan_playlist(
    s: &Sides<'_>,
    name: String,
    name_conflict: bool,
    members: &[&str],
    held: &dyn Fn(&str) -> bool,
    keyed: &Keyed,
    cx: &Context<'_>,
) -> PlaylistPlan {
    let mixxx: &[&str] = s.mixxx.map_or(&[], |m| &m.keys);
    let branch: Vec<&str> = (s.now.iter())
        .flat_map(|n| n.tracks.iter().map(String::as_str))
        .collect();
    let on_branch = only(&branch, held);
    let (chosen, conflict) = merge_orders(s, mixxx, &on_branch, held, cx);
    let target = arrange(&chosen, members, mixxx);
    let order = keep_absent(&target, &branch, held);
    let changed = s
        .now
        .is_none_or(|n| order != n.tracks || name != n.name || n.heads.len() > 1);
    let push =
        (changed && !cx.opts.pull_only && !(order.is_empty() && s.now.is_none())).then(|| {
            let tracks = order.iter().map(|k| (*k).to_owned()).collect();
            next_line(s.now, &name, cx.uuid, tracks, cx.now).text()
        });
    let paths = |keys: &[&str]| -> Vec<String> {
        (keys.iter())
            .map(|k| {
                keyed
                    .items
                    .get(*k)
                    .map_or(*k, |i| i.path.as_str())
                    .to_owned()
            })
            .collect()
    };
    let mut conflicts = Vec::new();
    let winner = cx.opts.prefer.name().to_owned();
    let record = |field: &str, mixxx, branch, winner: &str, result| Conflict {
        path: name.clone(),
        key: s.path.to_owned(),
        field: field.to_owned(),
        mixxx,
        branch,
        winner: winner.to_owned(),
        result,
    };
    if conflict {
        conflicts.push(record(
            FIELD,
            paths(mixxx),
            paths(&on_branch),
            &winner,
            paths(&target),
        ));
    }
    if let (true, Some(m), Some(n)) = (name_conflict, s.mixxx, s.now) {
        let sides = (vec![m.name.to_owned()], vec![n.name.clone()]);
        conflicts.push(record(
            NAME_FIELD,
            sides.0,
            sides.1,
            &winner,
            vec![name.clone()],
        ));
    }
    for c in s.now.iter().flat_map(|n| &n.conflicts) {
        // Two orders written concurrently on the branch: the newer won.
        let shown = |v: &[String]| match c.field {
            FIELD => paths(&v.iter().map(String::as_str).collect::<Vec<_>>()),
            _ => v.to_vec(),
        };
        let (older, newer, result) = (shown(&c.older), shown(&c.newer), shown(&c.result));
        conflicts.push(record(c.field, older, newer, Prefer::Git.name(), result));
    }
    PlaylistPlan {
        pull: (target != mixxx).then(|| target.iter().map(|k| (*k).to_owned()).collect()),
        rename_from: s
            .mixxx
            .filter(|m| m.name != name)
            .map(|m| m.name.to_owned()),
        name,
        path: s.path.to_owned(),
        push,
        conflicts,
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

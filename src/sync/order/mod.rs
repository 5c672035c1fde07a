//! Playlist order: the sequence of a user playlist (a track may appear twice) travels in a
//! line file per playlist, `mixxx/playlists/<id>.log`, beside the per-track `playlist` field
//! that says which tracks are members. Each line is one whole order, `<time> <JSON>` with the
//! playlist's name, the clone that wrote it and its tracks' keys in order; the newest line is
//! the order. git-annex's union merge keeps both clones' lines, so concurrent reorders
//! converge on the newest, and a clone whose Mixxx reordered too records a conflict.
//!
//! Membership stays per track (edits on two clones combine per element); the order only
//! arranges the members. A clone that lacks some of a playlist's tracks (content not fetched,
//! never imported) keeps them in the order it writes, where they were, so it never shortens
//! the playlist for the clones that have them.

use super::branch::Branch;
use super::options::{Options, Prefer};
use super::plan::Plan;
use super::snapshot::Keyed;
use crate::annex::logmet::{Order, Timestamp};
use crate::fields::Field;
use crate::mixxx::Playlist;
use crate::state::Conflict;
use md5::{Digest as _, Md5};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The folder of the order files on the branch.
pub const DIR: &str = "mixxx/playlists";

/// The name under which a run reports and records playlist orders (a pseudo-field).
pub const FIELD: &str = "order";

/// The branch file of the playlist `name`.
pub fn file_path(name: &str) -> String {
    let digest = Md5::digest(name.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{DIR}/{hex}.log")
}

/// One line of an order file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub name: String,
    pub clone: String,
    pub tracks: Vec<String>,
}

/// The newest order of a file and its time; lines that do not parse are skipped.
pub fn newest(text: &str) -> Option<(Order, Line)> {
    text.lines()
        .filter_map(|l| {
            let (time, json) = l.split_once(' ')?;
            Some((
                Order::parse(time)?,
                serde_json::from_str::<Line>(json).ok()?,
            ))
        })
        .max_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.clone.cmp(&b.1.clone))
                .then_with(|| a.1.tracks.cmp(&b.1.tracks))
        })
}

/// What a run does with one playlist's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaylistPlan {
    pub name: String,
    /// The new content of the order file, when the run writes it.
    pub push: Option<String>,
    /// The keys this Mixxx's playlist is to hold, in order, when it differs from now.
    pub pull: Option<Vec<String>>,
    /// Both Mixxx and the branch reordered it since the base.
    pub conflict: Option<Conflict>,
}

/// The order sources of one playlist: Mixxx's, the branch's now and at the base.
struct Sides<'a> {
    mixxx: Vec<&'a str>,
    now: Option<(Order, Line)>,
    /// `None` without a base commit; `Some(None)` when the base had no order for it.
    base: Option<Option<(Order, Line)>>,
}

/// The playlists' final members (per key) after the plan's pulls, among this Mixxx's keys.
fn final_members<'k>(keyed: &'k Keyed, plan: &'k Plan<'_>) -> HashMap<&'k str, Vec<&'k str>> {
    let mut pulled: HashMap<&str, &BTreeSet<String>> = HashMap::default();
    for track in &plan.tracks {
        for (field, values) in &track.pull {
            if *field == Field::Playlist {
                pulled.insert(track.key.as_str(), values);
            }
        }
    }
    let mut out: HashMap<&str, Vec<&str>> = HashMap::default();
    for key in &keyed.order {
        let names: Vec<&str> = match pulled.get(key.as_str()) {
            Some(values) => values.iter().map(String::as_str).collect(),
            None => keyed.items[key]
                .m
                .set(Field::Playlist)
                .iter()
                .map(String::as_str)
                .collect(),
        };
        for name in names {
            out.entry(name).or_default().push(key.as_str());
        }
    }
    out
}

/// What this run writes for the playlists' order in this Mixxx and on the branch.
pub struct Context<'a> {
    pub uuid: &'a str,
    pub now: Timestamp,
    pub opts: &'a Options,
    /// Whether the run has a base (a database with a past).
    pub has_base: bool,
}

/// Plans every playlist this Mixxx or the branch has an order for.
pub fn plan(
    playlists: &[Playlist],
    keyed: &Keyed,
    plan: &Plan<'_>,
    branch: &mut Branch<'_>,
    cx: &Context<'_>,
) -> crate::annex::Result<Vec<PlaylistPlan>> {
    if !cx.opts.paths.is_empty() {
        // A run over some files only does not see whole playlists.
        return Ok(Vec::new());
    }
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
    let members = final_members(keyed, plan);
    let mut names: BTreeMap<String, Vec<&str>> = playlists
        .iter()
        .map(|p| {
            let keys = p.tracks.iter().filter_map(|t| key_of.get(t).copied());
            (p.name.clone(), keys.collect())
        })
        .collect();
    let mut files: HashMap<String, (Order, Line)> = HashMap::default();
    for path in branch.files_now(DIR)? {
        if let Some(found) = newest(&branch.file_now(&path)?) {
            names.entry(found.1.name.clone()).or_default();
            files.insert(path, found);
        }
    }
    for name in members.keys() {
        names.entry((*name).to_owned()).or_default();
    }
    let held = |k: &str| keyed.items.contains_key(k);
    let mut out = Vec::new();
    for (name, mixxx) in names {
        let path = file_path(&name);
        let base = match cx.has_base {
            true => Some(branch.file_at_base(&path)?.and_then(|t| newest(&t))),
            false => None,
        };
        let sides = Sides {
            mixxx,
            now: files.remove(&path).filter(|(_, l)| l.name == name),
            base: base.map(|b| b.filter(|(_, l)| l.name == name)),
        };
        let empty = Vec::new();
        let members = members.get(name.as_str()).unwrap_or(&empty);
        let p = plan_playlist(&name, sides, members, &held, keyed, cx);
        if p.push.is_some() || p.pull.is_some() || p.conflict.is_some() {
            out.push(p);
        }
    }
    Ok(out)
}

/// `v` without the keys not in `keep` (duplicates kept).
fn only<'a>(v: &[&'a str], keep: impl Fn(&str) -> bool) -> Vec<&'a str> {
    v.iter().copied().filter(|k| keep(k)).collect()
}

/// Plans one playlist.
fn plan_playlist(
    name: &str,
    sides: Sides<'_>,
    members: &[&str],
    held: &dyn Fn(&str) -> bool,
    keyed: &Keyed,
    cx: &Context<'_>,
) -> PlaylistPlan {
    let branch: Vec<&str> = sides
        .now
        .as_ref()
        .map(|(_, l)| l.tracks.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let in_mixxx: HashSet<&str> = sides.mixxx.iter().copied().collect();
    let mixxx_changed = match &sides.base {
        // Removals are the membership's business; additions and moves are the order's.
        Some(base) => {
            let base: Vec<&str> = base
                .as_ref()
                .map(|(_, l)| l.tracks.iter().map(String::as_str).collect())
                .unwrap_or_default();
            only(&base, |k| in_mixxx.contains(k)) != sides.mixxx
        }
        None => sides.now.is_none() && !sides.mixxx.is_empty(),
    };
    let branch_changed = match &sides.base {
        Some(base) => base.as_ref().map(|b| &b.0) != sides.now.as_ref().map(|n| &n.0),
        None => sides.now.is_some(),
    };
    let differs = only(&branch, |k| in_mixxx.contains(k)) != sides.mixxx;
    let conflict = mixxx_changed && branch_changed && differs && !cx.opts.all;
    let mixxx_wins = cx.opts.all
        || (mixxx_changed && (!conflict || cx.opts.prefer == Prefer::Mixxx))
        || sides.now.is_none();
    let chosen: Vec<&str> = if mixxx_wins {
        sides.mixxx.clone()
    } else {
        only(&branch, held)
    };
    let target = arrange(&chosen, members, &sides.mixxx);
    let order = keep_absent(&target, &branch, held);
    let mut plan = PlaylistPlan {
        name: name.to_owned(),
        push: None,
        pull: (target != sides.mixxx).then(|| target.iter().map(|k| (*k).to_owned()).collect()),
        conflict: None,
    };
    if order != branch && !cx.opts.pull_only && !(order.is_empty() && sides.now.is_none()) {
        let max = sides.now.as_ref().map(|(o, _)| o);
        let line = Line {
            name: name.to_owned(),
            clone: cx.uuid.to_owned(),
            tracks: order.iter().map(|k| (*k).to_owned()).collect(),
        };
        let json = serde_json::to_string(&line).expect("an order line always serializes");
        // The new line alone: the older ones are superseded (a union merge with a clone that
        // still has them brings them back until that clone writes the order too).
        plan.push = Some(format!("{} {json}\n", Order::after(cx.now, max)));
    }
    if conflict {
        let paths = |keys: &[&str]| -> Vec<String> {
            keys.iter()
                .map(|k| {
                    keyed
                        .items
                        .get(*k)
                        .map_or(*k, |i| i.path.as_str())
                        .to_owned()
                })
                .collect()
        };
        plan.conflict = Some(Conflict {
            path: name.to_owned(),
            key: file_path(name),
            field: FIELD.to_owned(),
            mixxx: paths(&sides.mixxx),
            branch: paths(&only(&branch, held)),
            winner: cx.opts.prefer.name().to_owned(),
            result: paths(&target),
        });
    }
    plan
}

/// The playlist as this Mixxx is to hold it: the `chosen` order's members (duplicates kept),
/// then members it lacks in Mixxx's order, then the remaining members.
fn arrange<'a>(chosen: &[&'a str], members: &[&'a str], mixxx: &[&'a str]) -> Vec<&'a str> {
    let is_member: HashSet<&str> = members.iter().copied().collect();
    let mut out: Vec<&str> = chosen
        .iter()
        .copied()
        .filter(|k| is_member.contains(k))
        .collect();
    let mut placed: HashSet<&str> = out.iter().copied().collect();
    for k in mixxx.iter().chain(members) {
        if is_member.contains(k) && placed.insert(k) {
            out.push(k);
        }
    }
    out
}

/// `local` (this clone's order of the keys it holds) with the keys of `branch` it does not
/// hold put back where they were: each after the held entry that preceded it on the branch
/// (by key and occurrence), or at the start; those whose anchor is gone at the end.
fn keep_absent<'a>(
    local: &[&'a str],
    branch: &[&'a str],
    held: &dyn Fn(&str) -> bool,
) -> Vec<&'a str> {
    let mut groups: BTreeMap<Option<(&str, usize)>, Vec<&str>> = BTreeMap::new();
    let mut seen: HashMap<&str, usize> = HashMap::default();
    let mut anchor = None;
    for k in branch {
        if held(k) {
            let n = seen.entry(k).or_insert(0);
            anchor = Some((*k, *n));
            *n += 1;
        } else {
            groups.entry(anchor).or_default().push(k);
        }
    }
    let mut out: Vec<&str> = groups.remove(&None).unwrap_or_default();
    let mut seen: HashMap<&str, usize> = HashMap::default();
    for k in local {
        out.push(k);
        let n = seen.entry(k).or_insert(0);
        out.extend(groups.remove(&Some((*k, *n))).unwrap_or_default());
        *n += 1;
    }
    out.extend(groups.into_values().flatten());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(keys: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |k| keys.contains(&k)
    }

    #[test]
    fn absent_tracks_keep_their_places() {
        let branch = ["a", "x", "b", "y", "c", "z"];
        let h = held(&["a", "b", "c"]);
        assert_eq!(
            keep_absent(&["c", "a", "b"], &branch, &h),
            ["c", "z", "a", "x", "b", "y"]
        );
        assert_eq!(keep_absent(&["a", "b", "c"], &branch, &h), branch);
        // The anchor left the playlist: its followers go to the end.
        assert_eq!(
            keep_absent(&["b", "c"], &branch, &h),
            ["b", "y", "c", "z", "x"]
        );
        // Leading absent tracks stay first; duplicates anchor by occurrence.
        let branch = ["x", "a", "b", "a", "y"];
        assert_eq!(
            keep_absent(&["a", "a", "b"], &branch, &held(&["a", "b"])),
            ["x", "a", "a", "y", "b"]
        );
    }

    #[test]
    fn arrange_keeps_duplicates_and_places_new_members() {
        let members = ["a", "b", "c", "d"];
        assert_eq!(
            arrange(&["b", "a", "b", "gone"], &members, &["d", "a"]),
            ["b", "a", "b", "d", "c"]
        );
    }

    #[test]
    fn the_newest_line_wins_and_bad_lines_are_skipped() {
        let text = "1.5s {\"name\":\"Set\",\"clone\":\"u1\",\"tracks\":[\"a\",\"b\"]}\n\
                    garbage\n\
                    2s {\"name\":\"Set\",\"clone\":\"u2\",\"tracks\":[\"b\",\"a\"]}\n\
                    3s not json\n";
        let (_, line) = newest(text).expect("a line");
        assert_eq!(line.tracks, ["b", "a"]);
        assert_eq!(newest("x\n"), None);
        assert_ne!(file_path("Set"), file_path("set"));
    }
}

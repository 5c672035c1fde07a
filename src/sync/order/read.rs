//! Reading the orders: every order file on the branch now and at the base (within the limits),
//! merged to one order each ([`super::graph`]), and this Mixxx's playlists matched to them
//! ([`super::identity`]), each with its name after the run and its order merged three ways (the
//! base, this Mixxx, the branch) on the keys this clone holds; and what that says of the
//! `playlist` field ([`super::Memberships`]).

use super::graph::{Beside, Graph, Merged};
use super::identity::{self, Identity, Known, MixxxPlaylist};
use super::memberships::Decided;
use super::{Context, Memberships, Orders, UnmatchedOrder, line, merge_name, sequence};
use crate::annex::{self, Capped};
use crate::bounds;
use crate::mixxx::Playlist;
use crate::sync::branch::Branch;
use crate::sync::snapshot::Keyed;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet};

/// One playlist's orders: this Mixxx's, and its file's now and at the base.
pub(super) struct Sides<'a> {
    pub path: &'a str,
    pub mixxx: Option<&'a MixxxPlaylist<'a>>,
    pub now: Option<&'a Merged>,
    pub base: Option<&'a Merged>,
    /// What an order made from the base merges with where the branch kept a head of the base
    /// beside others.
    pub beside: Option<&'a Beside>,
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
    pub(super) fn old_names(&self) -> impl Iterator<Item = &str> {
        let now = self.now.into_iter().flat_map(|n| n.names.iter());
        (self.mixxx.map(|m| m.name).into_iter())
            .chain(self.base.map(|b| b.name.as_str()))
            .chain(now.map(String::as_str))
    }
}

/// This Mixxx's playlists and the branch's order files, matched, with each playlist's name
/// after the run: what the planner needs before it merges memberships ([`read`]).
pub struct Playlists<'a> {
    mixxx: Vec<MixxxPlaylist<'a>>,
    files: Files,
    identities: Vec<Identity>,
    /// Each identity's name after the run, and whether Mixxx and the branch renamed it
    /// differently.
    pub(super) names: Vec<(String, bool)>,
    /// Each identity's merged order.
    pub(super) chosen: Vec<Chosen>,
    /// What the orders say of the `playlist` field.
    pub memberships: Memberships,
    /// What reading found over the limits.
    pub(super) found: Orders,
}

impl Playlists<'_> {
    pub(super) fn sides(&self) -> Vec<Sides<'_>> {
        (self.identities.iter())
            .map(|i| {
                let file = self.files.get(&i.path);
                Sides {
                    path: &i.path,
                    mixxx: i.mixxx.map(|m| &self.mixxx[m]),
                    now: file.and_then(|f| f.now.as_ref()),
                    base: file.and_then(|f| f.base.as_ref()),
                    beside: file.and_then(|f| f.beside.as_ref()),
                }
            })
            .collect()
    }
}

/// Reads every order file (now and at the base) and matches this Mixxx's playlists to them.
pub fn read<'a>(
    playlists: &'a [Playlist],
    keyed: &'a Keyed,
    branch: &mut Branch<'_>,
    cx: &Context<'_>,
) -> annex::Result<Playlists<'a>> {
    let mut found = Orders::default();
    let (files, mixxx) = match cx.opts.paths.is_empty() {
        true => (
            read_files(branch, cx.has_base, &mut found)?,
            mixxx_playlists(playlists, keyed),
        ),
        // A run over some files only does not see whole playlists.
        false => (Files::new(), Vec::new()),
    };
    let known: BTreeMap<String, Known<'_>> = files
        .iter()
        .map(|(path, file)| {
            let (now, base) = (file.now.as_ref(), file.base.as_ref());
            (path.clone(), Known { now, base })
        })
        .collect();
    let held = |k: &str| keyed.items.contains_key(k);
    let identities = identity::match_files(&mixxx, &known, &held);
    let mut out = Playlists {
        mixxx,
        files,
        identities,
        names: Vec::new(),
        chosen: Vec::new(),
        memberships: Memberships::default(),
        found,
    };
    let (names, chosen, memberships) = {
        let sides = out.sides();
        let names: Vec<(String, bool)> = sides.iter().map(|s| s.name(cx)).collect();
        let chosen: Vec<Chosen> = (sides.iter()).map(|s| merge_orders(s, &held, cx)).collect();
        let renames = renamed(&sides, &names);
        let mut decided = BTreeMap::new();
        for ((s, (name, _)), chosen) in sides.iter().zip(&names).zip(&chosen) {
            let renamed = s.old_names().any(|n| renames.contains_key(n));
            let only = renamed.then(|| chosen.order.iter().cloned().collect());
            let removed = chosen.removed.clone();
            decided.insert(name.clone(), Decided { only, removed });
        }
        (names, chosen, Memberships::new(renames, decided))
    };
    (out.names, out.chosen, out.memberships) = (names, chosen, memberships);
    Ok(out)
}

/// A playlist's keys this clone holds after the run, in order.
pub(super) struct Chosen {
    pub order: Vec<String>,
    /// Mixxx's and the branch's edits of the order conflicted.
    pub conflict: bool,
    /// Keys the merge removed (here, or where it merged concurrent orders on the branch): no
    /// members, whatever their `playlist` field says.
    pub removed: HashSet<String>,
}

/// The merged order of a playlist's keys this clone holds: its base's, this Mixxx's and the
/// branch's merged three ways.
fn merge_orders(s: &Sides<'_>, held: &dyn Fn(&str) -> bool, cx: &Context<'_>) -> Chosen {
    let mixxx: &[&str] = s.mixxx.map_or(&[], |m| &m.keys);
    left_alone(s, mixxx, cx).unwrap_or_else(|| merge_three_ways(s, mixxx, held, cx))
}

/// [`merge_orders`] entry by entry.
fn merge_three_ways(
    s: &Sides<'_>,
    mixxx: &[&str],
    held: &dyn Fn(&str) -> bool,
    cx: &Context<'_>,
) -> Chosen {
    let branch: Vec<&str> = (s.now.iter())
        .flat_map(|n| n.tracks.iter().map(String::as_str))
        .filter(|k| held(k))
        .collect();
    let (order, conflict, sides) = if cx.opts.all || s.now.is_none() {
        (mixxx.to_vec(), false, Vec::new())
    } else if !cx.has_base {
        // Without a base the branch is the truth where it has history.
        (branch, false, Vec::new())
    } else {
        let was_held = |k: &&str| held(k) && (cx.in_base)(k);
        let base: Vec<&str> = (s.base.iter())
            .flat_map(|b| b.tracks.iter().map(String::as_str).filter(was_held))
            .collect();
        let (from, with) = match s.beside.filter(|_| mixxx != base.as_slice()) {
            // The branch kept the base's order beside concurrent ones: Mixxx's order, made
            // from the base's, merges with those against their common ancestors, as git
            // merges a commit with the others'.
            Some(beside) => (
                beside
                    .base
                    .iter()
                    .map(String::as_str)
                    .filter(was_held)
                    .collect(),
                beside
                    .theirs
                    .iter()
                    .map(String::as_str)
                    .filter(|k| held(k))
                    .collect(),
            ),
            None => (base.clone(), branch.clone()),
        };
        let mut merged = sequence::merge(&from, mixxx, &with, cx.prefer());
        if s.beside.is_some() && !sequence::keeps_reorders(&base, mixxx, &merged.items) {
            // The others' edits undid a reorder made here since the base: a collision, which
            // the order merged over the branch's heads decides when Mixxx is preferred.
            merged.conflict = true;
            if cx.prefer() == sequence::Side::A {
                merged.items = sequence::merge(&base, mixxx, &branch, cx.prefer()).items;
            }
        }
        let dropped = (s.now.iter()).flat_map(|n| n.dropped.iter().map(String::as_str));
        let order = &merged.items;
        // A side that is the merged order has nothing the merge removed (most playlists, most
        // runs: looking up each of their entries is most of the cost of a large library's).
        let mixxx = (mixxx != order.as_slice()).then_some(mixxx);
        let sides = [base, from, branch, with]
            .into_iter()
            .filter(|side| side != order)
            .flatten()
            .chain(mixxx.into_iter().flatten().copied())
            .chain(dropped);
        let sides: Vec<&str> = sides.collect();
        (merged.items, merged.conflict, sides)
    };
    let removed = match sides.is_empty() {
        true => HashSet::default(),
        false => {
            let kept: HashSet<&str> = order.iter().copied().collect();
            (sides.into_iter())
                .filter(|k| !kept.contains(k))
                .map(str::to_owned)
                .collect()
        }
    };
    Chosen {
        order: order.into_iter().map(str::to_owned).collect(),
        conflict,
        removed,
    }
}

/// The merge of a playlist that Mixxx and the branch left as it was at the base (every entry
/// of it a key of this Mixxx, none dropped by a merge on the branch): Mixxx's order, removing
/// nothing, as the merge below finds too (most playlists, most runs: this spares looking up
/// each of their entries).
fn left_alone(s: &Sides<'_>, mixxx: &[&str], cx: &Context<'_>) -> Option<Chosen> {
    let (now, base) = (s.now?, s.base?);
    let is_mixxx = |tracks: &[String]| tracks.iter().map(String::as_str).eq(mixxx.iter().copied());
    let alone = cx.has_base && !cx.opts.all && s.beside.is_none() && now.dropped.is_empty();
    (alone && is_mixxx(&now.tracks) && is_mixxx(&base.tracks)).then(|| Chosen {
        order: mixxx.iter().map(|k| (*k).to_owned()).collect(),
        conflict: false,
        removed: HashSet::default(),
    })
}

/// An order file's merged orders now and at the base.
struct File {
    now: Option<Merged>,
    base: Option<Merged>,
    beside: Option<Beside>,
}

/// The order files, by path.
type Files = BTreeMap<String, File>;

/// Reads every order file (each within the limits; what is over them is left out with a
/// warning, and a file over the size limit is listed as unmatched).
fn read_files(branch: &mut Branch<'_>, has_base: bool, out: &mut Orders) -> annex::Result<Files> {
    let mut files = Files::new();
    for path in branch.files_now(line::DIR)? {
        let mut versions = branch.file_versions(&path, bounds::FILE_BYTES);
        let mut graph = Graph::new(&mut versions);
        let mut skipped = 0;
        let now = match branch.file_now_within(&path, bounds::FILE_BYTES)? {
            Some(Capped::Text(text)) => {
                let parsed = line::parse(&text);
                skipped += parsed.over_limits;
                graph.merged(parsed.lines)?
            }
            Some(Capped::TooLarge(bytes)) => {
                bounds::note(bounds::Skipped {
                    file: path.clone(),
                    beyond: bounds::Beyond::File { bytes },
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
            true => branch.file_at_base_within(&path, bounds::FILE_BYTES)?,
            false => None,
        };
        let base = match base {
            Some(Capped::Text(text)) => graph.merged(line::parse(&text).lines)?,
            _ => None,
        };
        let beside = match (&base, &now) {
            (Some(base), Some(now)) => graph.beside(base, now)?,
            _ => None,
        };
        skipped += graph.over_limits;
        if skipped > 0 {
            bounds::note(bounds::Skipped {
                file: path.clone(),
                beyond: bounds::Beyond::Entries { count: skipped },
            });
        }
        files.insert(path, File { now, base, beside });
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
        .flat_map(|(k, item)| item.track_ids().map(move |id| (id, &**k)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::{Order, Timestamp};
    use crate::sync::options::Options;

    fn merged(tracks: &[&str]) -> Merged {
        Merged {
            name: "Peak time".to_owned(),
            tracks: tracks.iter().map(|k| (*k).to_owned()).collect(),
            heads: Vec::new(),
            names: Vec::new(),
            newest: Order::parse("1s").expect("a time"),
            dropped: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    /// Merges `mixxx` with the branch's order (`now`) over `base`, both ways when the
    /// playlist was left alone; the full merge's result.
    fn both_ways(base: &[&str], mixxx: &[&str], now: &[&str], in_base: bool) -> Chosen {
        let opts = Options::default();
        let in_base = |k: &str| in_base || k != "b";
        let cx = Context {
            uuid: "uuid",
            now: Timestamp::now(),
            opts: &opts,
            has_base: true,
            in_base: &in_base,
        };
        let playlist = MixxxPlaylist {
            name: "Peak time",
            keys: mixxx.to_vec(),
        };
        let (now, base) = (merged(now), merged(base));
        let s = Sides {
            path: "order",
            mixxx: Some(&playlist),
            now: Some(&now),
            base: Some(&base),
            beside: None,
        };
        // "x" is a track of this Mixxx, in no playlist.
        let held = |k: &str| mixxx.contains(&k) || k == "x";
        let full = merge_three_ways(&s, mixxx, &held, &cx);
        if let Some(alone) = left_alone(&s, mixxx, &cx) {
            assert_eq!(
                (&alone.order, alone.conflict, &alone.removed),
                (&full.order, full.conflict, &full.removed)
            );
        }
        full
    }

    #[test]
    fn a_playlist_left_alone_merges_as_its_entries_do() {
        let keys = ["a", "b", "c", "a"];
        for in_base in [true, false] {
            let s = Sides {
                path: "order",
                mixxx: None,
                now: None,
                base: None,
                beside: None,
            };
            assert!(
                left_alone(
                    &s,
                    &keys,
                    &Context {
                        uuid: "uuid",
                        now: Timestamp::now(),
                        opts: &Options::default(),
                        has_base: true,
                        in_base: &|_| in_base,
                    }
                )
                .is_none()
            );
            let chosen = both_ways(&keys, &keys, &keys, in_base);
            assert_eq!(chosen.order, keys);
            assert!(chosen.removed.is_empty() && !chosen.conflict);
        }
        // Removed from the playlist on both sides since the base: not left alone, and the
        // merge removes it.
        let chosen = both_ways(&["a", "x", "b"], &["a", "b"], &["a", "b"], true);
        assert_eq!(chosen.order, ["a", "b"]);
        assert_eq!(chosen.removed, HashSet::from_iter(["x".to_owned()]));
    }
}

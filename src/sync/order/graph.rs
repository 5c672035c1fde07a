//! The order file as a small history: each line names the lines it was made from (its
//! parents), so the lines no other line names are the heads. One head is the order; several
//! (clones wrote concurrently, and git-annex's union merge kept both lines) are merged against
//! their lowest common ancestor (or, when concurrent merges left several, the merge of those),
//! the same way on every clone (where the orders conflict the newer decides; where two names
//! do, the greater). Lines older than `parents` are
//! chained by time, so an old file reads as before (its newest line is the order).
//!
//! A clone that writes keeps only its new line, so the ancestors of concurrent heads are found
//! in older versions of the file ([`Older`], the branch's history, newest first); without a
//! common ancestor (history forgotten, or a playlist created on two clones) heads merge with
//! an empty base.

use super::line::{self, Line};
use crate::annex::{self, logmet::Order};
use crate::merge::sequence::{self, Side};
use std::collections::{BinaryHeap, HashMap};

/// Older versions of one file, newest first.
pub trait Older {
    /// The next older version's text; `None` at the end of the history or of its bound.
    fn next_version(&mut self) -> annex::Result<Option<String>>;
}

/// A file's order: its heads merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    pub name: String,
    pub tracks: Vec<String>,
    /// The ids of the heads it was merged from, sorted: the parents of a line written on it.
    pub heads: Vec<String>,
    /// The names of the heads (a playlist renamed on one clone has its old name in another).
    pub names: Vec<String>,
    /// The newest line's time: a new line is dated after it.
    pub newest: Order,
    /// Keys a head held that the merge of the heads removed.
    pub dropped: Vec<String>,
    /// Concurrent heads that conflicted, oldest first.
    pub conflicts: Vec<HeadConflict>,
}

/// Two concurrent orders (or names) that no merge reconciles: the newer order decided (the
/// greater name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadConflict {
    /// The field: [`super::FIELD`] or [`super::NAME_FIELD`].
    pub field: &'static str,
    /// The order (or name) that lost, and the one that won.
    pub lost: Vec<String>,
    pub won: Vec<String>,
    pub result: Vec<String>,
}

/// The orders a clone's own order merges with where the branch keeps a head of its base beside
/// others ([`Graph::beside`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beside {
    /// The merge base: the common ancestors of the base's heads and the others, merged.
    pub base: Vec<String>,
    /// The other heads merged.
    pub theirs: Vec<String>,
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Nodes visited at most when looking for a common ancestor.
const MAX_VISITS: usize = 10_000;
/// How deep virtual bases are merged from several common ancestors.
const MAX_DEPTH: usize = 4;
/// A node's flags while looking for a common ancestor.
const FROM_SIDE: u8 = 1;
const FROM_HEAD: u8 = 2;
const STALE: u8 = 4;

struct Node {
    line: Line,
    parents: Vec<String>,
}

/// The lines of a file's versions, by id, and the history to read more from.
pub struct Graph<'h> {
    nodes: HashMap<String, Node>,
    older: &'h mut dyn Older,
    exhausted: bool,
    /// Lines of older versions skipped for being over the limits.
    pub over_limits: usize,
}

impl<'h> Graph<'h> {
    pub fn new(older: &'h mut dyn Older) -> Graph<'h> {
        Graph {
            nodes: HashMap::new(),
            older,
            exhausted: false,
            over_limits: 0,
        }
    }

    /// Adds the lines of one version of the file; returns their ids, without repeats.
    fn add(&mut self, lines: Vec<Line>) -> Vec<String> {
        let mut lines: Vec<(String, Line)> = lines.into_iter().map(|l| (l.id(), l)).collect();
        lines.sort_by(|a, b| a.1.time.cmp(&b.1.time).then_with(|| a.0.cmp(&b.0)));
        let mut ids: Vec<String> = Vec::with_capacity(lines.len());
        let mut previous_old: Option<String> = None;
        for (id, line) in lines {
            if ids.contains(&id) {
                continue;
            }
            let parents = match &line.parents {
                Some(p) => p.clone(),
                // Old lines are chained by time.
                None => previous_old.replace(id.clone()).into_iter().collect(),
            };
            self.nodes
                .entry(id.clone())
                .or_insert(Node { line, parents });
            ids.push(id);
        }
        ids
    }

    /// The node `id`, reading older versions of the file until one holds it.
    fn node(&mut self, id: &str) -> annex::Result<Option<&Node>> {
        while !self.nodes.contains_key(id) && !self.exhausted {
            match self.older.next_version()? {
                Some(text) => {
                    let parsed = line::parse(&text);
                    self.over_limits += parsed.over_limits;
                    self.add(parsed.lines);
                }
                None => self.exhausted = true,
            }
        }
        Ok(self.nodes.get(id))
    }

    /// The order of a version of the file made of `lines` (`None` without any): its heads
    /// merged, oldest first, each against its lowest common ancestor with those before it.
    pub fn merged(&mut self, lines: Vec<Line>) -> annex::Result<Option<Merged>> {
        let ids = self.add(lines);
        let named: std::collections::HashSet<&String> =
            ids.iter().flat_map(|id| &self.nodes[id].parents).collect();
        let mut heads: Vec<&String> = ids.iter().filter(|id| !named.contains(id)).collect();
        if heads.is_empty() {
            // Lines naming each other: the newest is the order.
            heads.extend(ids.last());
        }
        let Some(first) = heads.first() else {
            return Ok(None);
        };
        let heads: Vec<String> = heads.iter().map(|h| (*h).clone()).collect();
        let node = &self.nodes[*first];
        let mut out = Merged {
            name: node.line.name.clone(),
            tracks: node.line.tracks.clone(),
            heads: Vec::new(),
            names: Vec::new(),
            newest: self.nodes[ids.last().unwrap_or(first)].line.time.clone(),
            dropped: Vec::new(),
            conflicts: Vec::new(),
        };
        for (i, head) in heads.iter().enumerate().skip(1) {
            let ancestors = self.common_ancestors(&heads[..i], head)?;
            let base = self.virtual_base(&ancestors, 0)?;
            let newer = Content::of(&self.nodes[head].line);
            let acc = Content {
                name: std::mem::take(&mut out.name),
                tracks: std::mem::take(&mut out.tracks),
            };
            let folded = merge3(base.as_ref(), &newer, acc);
            (out.name, out.tracks) = (folded.content.name, folded.content.tracks);
            out.conflicts.extend(folded.conflicts);
            out.dropped.extend(folded.dropped);
        }
        out.names = heads
            .iter()
            .map(|h| self.nodes[h].line.name.clone())
            .collect();
        out.names.sort();
        out.names.dedup();
        out.heads = heads;
        out.heads.sort();
        Ok(Some(out))
    }

    /// What an order made from `base` (a clone's order since its last sync) merges with on
    /// the branch `now`, as git merges a commit with the others': `now`'s heads that are not
    /// `base`'s merged (the base's heads are the order's ancestors, so they add nothing), and
    /// their merge base with `base`'s heads. `None` unless `now` keeps a head of `base` beside
    /// others: then the merge of `now`'s heads already holds the base's and is the side, with
    /// `base` as the merge base.
    pub fn beside(&mut self, base: &Merged, now: &Merged) -> annex::Result<Option<Beside>> {
        let (kept, mut others): (Vec<&String>, Vec<&String>) =
            now.heads.iter().partition(|h| base.heads.contains(h));
        if kept.is_empty() || others.is_empty() {
            return Ok(None);
        }
        others.sort_by_key(|h| (self.nodes[*h].line.time.clone(), (*h).clone()));
        let others: Vec<String> = others.into_iter().cloned().collect();
        let mut theirs = Content::of(&self.nodes[&others[0]].line);
        for (i, head) in others.iter().enumerate().skip(1) {
            let ancestors = self.common_ancestors(&others[..i], head)?;
            let base = self.virtual_base(&ancestors, 0)?;
            theirs = merge3(base.as_ref(), &Content::of(&self.nodes[head].line), theirs).content;
        }
        let mut ancestors: Vec<String> = Vec::new();
        for head in &others {
            for id in self.common_ancestors(&base.heads, head)? {
                if !ancestors.contains(&id) {
                    ancestors.push(id);
                }
            }
        }
        ancestors.sort_by_key(|id| (self.nodes[id].line.time.clone(), id.clone()));
        let merge_base = self.virtual_base(&ancestors, 0)?;
        Ok(Some(Beside {
            base: merge_base.map(|c| c.tracks).unwrap_or_default(),
            theirs: theirs.tracks,
        }))
    }

    /// The base of a merge whose lowest common ancestors are `ids` (oldest first): the one,
    /// or where there are several (concurrent merges of the same lines), their merge, as git's
    /// recursive strategy makes a virtual base; `None` without a common ancestor.
    fn virtual_base(&mut self, ids: &[String], depth: usize) -> annex::Result<Option<Content>> {
        let Some(first) = ids.first() else {
            return Ok(None);
        };
        let mut acc = Content::of(&self.nodes[first].line);
        for (i, id) in ids.iter().enumerate().skip(1) {
            let base = match depth < MAX_DEPTH {
                true => {
                    let ancestors = self.common_ancestors(&ids[..i], id)?;
                    self.virtual_base(&ancestors, depth + 1)?
                }
                false => None,
            };
            acc = merge3(base.as_ref(), &Content::of(&self.nodes[id].line), acc).content;
        }
        Ok(Some(acc))
    }

    /// The lowest common ancestors of any of `side` and `head`, oldest first; found as git
    /// finds merge bases, newest first, marking the ancestors of those found stale.
    fn common_ancestors(&mut self, side: &[String], head: &str) -> annex::Result<Vec<String>> {
        let mut flags: HashMap<String, u8> = HashMap::new();
        let mut queue: BinaryHeap<(Order, String)> = BinaryHeap::new();
        for (id, flag) in side
            .iter()
            .map(|s| (s.as_str(), FROM_SIDE))
            .chain([(head, FROM_HEAD)])
        {
            *flags.entry(id.to_owned()).or_default() |= flag;
            queue.push((self.nodes[id].line.time.clone(), id.to_owned()));
        }
        let mut found: Vec<(Order, String)> = Vec::new();
        let mut visits = 0;
        while let Some((time, id)) = queue.pop() {
            visits += 1;
            let mut flag = flags[&id];
            let settled = |q: &(Order, String)| flags[&q.1] & STALE != 0;
            if visits > MAX_VISITS || (flag & STALE != 0 && queue.iter().all(settled)) {
                break;
            }
            if flag & (FROM_SIDE | FROM_HEAD) == FROM_SIDE | FROM_HEAD && flag & STALE == 0 {
                found.push((time, id.clone()));
                flag |= STALE;
                flags.insert(id.clone(), flag);
            }
            let parents = match self.node(&id)? {
                Some(node) => node.parents.clone(),
                None => continue,
            };
            for parent in parents {
                let Some(node) = self.node(&parent)? else {
                    continue; // forgotten history
                };
                let time = node.line.time.clone();
                let old = flags.get(&parent).copied().unwrap_or(0);
                if old | flag != old {
                    flags.insert(parent.clone(), old | flag);
                    queue.push((time, parent));
                }
            }
        }
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }
}

/// What a line says: a name and an order.
struct Content {
    name: String,
    tracks: Vec<String>,
}

impl Content {
    fn of(line: &Line) -> Content {
        Content {
            name: line.name.clone(),
            tracks: line.tracks.clone(),
        }
    }
}

/// A merge of two lines' contents.
struct Folded {
    content: Content,
    conflicts: Vec<HeadConflict>,
    /// Keys a side held that the merge removed.
    dropped: Vec<String>,
}

/// Merges `newer` and `older` (each a head, or heads merged) against `base`: the orders as
/// sequences, the newer deciding a conflict; the names as single values, the greater deciding
/// a conflict, whichever line is newer, so that every clone that sees both settles on the same
/// one (a clone that writes again does not win).
fn merge3(base: Option<&Content>, newer: &Content, older: Content) -> Folded {
    let o = base.map(|b| strs(&b.tracks)).unwrap_or_default();
    let merged = sequence::merge(&o, &strs(&newer.tracks), &strs(&older.tracks), Side::A);
    let kept: std::collections::HashSet<&str> = merged.items.iter().copied().collect();
    let dropped = (newer.tracks.iter().chain(&older.tracks))
        .filter(|k| !kept.contains(k.as_str()))
        .cloned()
        .collect();
    let tracks: Vec<String> = merged.items.iter().map(|k| (*k).to_owned()).collect();
    let mut conflicts = Vec::new();
    if merged.conflict {
        conflicts.push(HeadConflict {
            field: super::FIELD,
            lost: older.tracks.clone(),
            won: newer.tracks.clone(),
            result: tracks.clone(),
        });
    }
    let greater = match newer.name > older.name {
        true => Side::A,
        false => Side::B,
    };
    let base_name = base.map(|b| b.name.as_str());
    let (name, conflict) = super::merge_name(base_name, &newer.name, &older.name, greater);
    let name = name.to_owned();
    if conflict {
        let lost = [&older.name, &newer.name]
            .into_iter()
            .filter(|n| **n != name);
        conflicts.push(HeadConflict {
            field: super::NAME_FIELD,
            lost: lost.cloned().collect(),
            won: vec![name.clone()],
            result: vec![name.clone()],
        });
    }
    Folded {
        content: Content { name, tracks },
        conflicts,
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time: u32, name: &str, tracks: &[&str], parents: Option<&[&Line]>) -> Line {
        Line {
            time: Order::parse(&format!("{time}s")).unwrap(),
            name: name.to_owned(),
            clone: "c".to_owned(),
            tracks: tracks.iter().map(|t| (*t).to_owned()).collect(),
            parents: parents.map(|p| p.iter().map(|l| l.id()).collect()),
        }
    }

    /// No history beyond the versions given.
    struct NoHistory;

    impl Older for NoHistory {
        fn next_version(&mut self) -> annex::Result<Option<String>> {
            Ok(None)
        }
    }

    /// Older versions from a list, newest first.
    struct Versions(Vec<String>);

    impl Older for Versions {
        fn next_version(&mut self) -> annex::Result<Option<String>> {
            Ok((!self.0.is_empty()).then(|| self.0.remove(0)))
        }
    }

    fn text(lines: &[&Line]) -> String {
        lines.iter().map(|l| l.text()).collect()
    }

    #[test]
    fn concurrent_heads_merge_against_their_ancestor_from_history() {
        let base = line(1, "Set", &["1", "2", "3", "4"], Some(&[]));
        let reversed = line(2, "Set", &["4", "3", "2", "1"], Some(&[&base]));
        let appended = line(3, "Set", &["1", "2", "3", "4", "5"], Some(&[&base]));
        let mut older = Versions(vec![text(&[&reversed]), text(&[&base])]);
        let mut graph = Graph::new(&mut older);
        let merged = graph
            .merged(line::parse(&text(&[&appended, &reversed])).lines)
            .unwrap()
            .unwrap();
        assert_eq!(merged.tracks, ["4", "3", "2", "1", "5"]);
        assert!(merged.conflicts.is_empty());
        let mut heads = vec![reversed.id(), appended.id()];
        heads.sort();
        assert_eq!(merged.heads, heads);
        assert_eq!(merged.newest, appended.time);
    }

    #[test]
    fn a_rename_and_a_reorder_combine_and_two_moves_conflict() {
        let base = line(1, "Sat", &["1", "2", "3"], Some(&[]));
        let renamed = line(2, "Saturday", &["1", "2", "3"], Some(&[&base]));
        let moved = line(3, "Sat", &["2", "1", "3"], Some(&[&base]));
        let moved_back = line(4, "Sat", &["1", "2", "3"], Some(&[&moved]));
        let moved_other = line(5, "Sat", &["1", "3", "2"], Some(&[&base]));
        let mut older = Versions(vec![text(&[&base])]);
        let mut graph = Graph::new(&mut older);
        let merged = graph
            .merged(vec![renamed.clone(), moved.clone()])
            .unwrap()
            .unwrap();
        assert_eq!(merged.name, "Saturday");
        assert_eq!(merged.tracks, ["2", "1", "3"]);
        assert_eq!(merged.names, ["Sat", "Saturday"]);
        // An ancestor in the file is no head.
        let merged = graph
            .merged(vec![moved.clone(), moved_back.clone()])
            .unwrap()
            .unwrap();
        assert_eq!(merged.heads, [moved_back.id()]);
        let merged = graph
            .merged(vec![moved, moved_other.clone()])
            .unwrap()
            .unwrap();
        assert_eq!(merged.tracks, moved_other.tracks, "the newer head wins");
        assert_eq!(merged.conflicts.len(), 1);
        assert_eq!(merged.conflicts[0].field, super::super::FIELD);
    }

    // Two clones merged the same two heads (one renamed, one reordered) differently; one of them
    // renames again: its rename applies over the other merge, which only reordered, against
    // the merge of the two heads (not against either head alone, which would make two renames).
    #[test]
    fn criss_cross_merges_merge_against_their_ancestors_merged() {
        let base = line(1, "X", &["1", "2", "3"], Some(&[]));
        let renamed = line(2, "Y", &["1", "2", "3"], Some(&[&base]));
        let moved = line(3, "X", &["3", "1", "2"], Some(&[&base]));
        let merged_here = line(4, "Y", &["3", "1", "2"], Some(&[&renamed, &moved]));
        let merged_there = line(5, "Y", &["3", "2", "1"], Some(&[&renamed, &moved]));
        let renamed_again = line(6, "A", &["3", "1", "2"], Some(&[&merged_here]));
        let history = [&merged_here, &renamed, &moved, &base];
        let mut older = Versions(history.iter().map(|l| l.text()).collect());
        let mut graph = Graph::new(&mut older);
        let merged = graph
            .merged(vec![renamed_again, merged_there])
            .unwrap()
            .unwrap();
        assert_eq!(merged.name, "A");
        assert_eq!(merged.tracks, ["3", "2", "1"]);
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    }

    #[test]
    fn old_lines_read_as_before_and_forgotten_history_merges_from_nothing() {
        let old = "1s {\"name\":\"Set\",\"clone\":\"u1\",\"tracks\":[\"a\",\"b\"]}\n\
                   garbage\n\
                   2s {\"name\":\"Set\",\"clone\":\"u2\",\"tracks\":[\"b\",\"a\"]}\n";
        let mut none = NoHistory;
        let mut graph = Graph::new(&mut none);
        let merged = graph.merged(line::parse(old).lines).unwrap().unwrap();
        assert_eq!(merged.tracks, ["b", "a"]);
        assert_eq!(merged.heads.len(), 1);
        // Two playlists of one name made on two clones: both kept, the older's first.
        let one = line(1, "Set", &["a"], Some(&[]));
        let two = line(2, "Set", &["b"], Some(&[]));
        let merged = graph.merged(vec![two, one]).unwrap().unwrap();
        assert_eq!(merged.tracks, ["a", "b"]);
    }

    #[test]
    fn lines_over_the_limits_are_skipped_and_counted() {
        let many: Vec<String> = (0..=crate::bounds::ORDER_ENTRIES)
            .map(|i| i.to_string())
            .collect();
        let text = format!(
            "1s {}\n2s {{\"name\":\"Set\",\"clone\":\"u\",\"tracks\":[\"a\"],\"parents\":[]}}\n",
            serde_json::json!({"name": "Big", "clone": "x", "tracks": many})
        );
        let parsed = line::parse(&text);
        assert_eq!(parsed.over_limits, 1);
        assert_eq!(parsed.lines.len(), 1);
        assert_eq!(parsed.lines[0].tracks, ["a"]);
        let l = &parsed.lines[0];
        assert_eq!(line::parse(&l.text()).lines, std::slice::from_ref(l));
        assert_ne!(line::file_path("Set", 0), line::file_path("set", 0));
        assert_ne!(line::file_path("Set", 0), line::file_path("Set", 1));
    }
}

//! Relinking by key: a Mixxx row whose path is no longer an annexed file of the index (moved
//! with `git mv`, a folder renamed, whatever Mixxx's `fs_deleted` says), while the key it was
//! last synced with is at another path of the work tree, moves to that path, keeping its id,
//! cues, crates, playlists and plays. Mixxx's own `TrackDAO::detectMovedTracks` does the same
//! for same-name moves, by file name and duration; this does it by content. A row's key is
//! the one the base synced it with, else the one its path had in `HEAD`'s recent history.

use super::snapshot::{Keyed, Lost};
use crate::annex::{self, Annex, TreeReader, key};
use crate::mixxx::relink::{Adopted, Move};
use crate::state::{Cache, Synced};
use crate::worktree::{Mapper, moved_location};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A row that moves: the work-tree paths before and after, and what the database is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relink {
    pub from: String,
    pub to: String,
    /// Cues of the row Mixxx's rescan made for the new path that went to another pad, as
    /// `VALUE → pad N` (the old row uses their pad).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cues_moved: Vec<String>,
    /// Cues of that row not kept (the old row has its own of that kind, or no pad is free):
    /// their values, for the DJ to set again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cues_dropped: Vec<String>,
    /// The file's key.
    #[serde(skip)]
    pub(crate) key: String,
    #[serde(skip)]
    pub(crate) change: Option<Move>,
}

impl Relink {
    /// Notes what became of the rescanned row's cues that could not simply move.
    pub(crate) fn note(&mut self, adopted: Adopted) {
        let pad = |(value, slot): (String, i64)| format!("{value} → pad {}", slot + 1);
        self.cues_moved
            .extend(adopted.reslotted.into_iter().map(pad));
        self.cues_dropped.extend(adopted.dropped);
    }
}

/// How many commits of `HEAD`'s first-parent history are searched for the key a lost row's
/// path had, for a row the base does not know (never synced, or a replaced database).
const HISTORY_DEPTH: usize = 100;

/// The relinks for `keyed.lost`: each lost row whose key (the one the base synced it with,
/// else the one its path had in recent history) is now at another path of the index.
pub fn find(
    annex: &Annex,
    prefixes: &[PathBuf],
    keyed: &Keyed,
    digests: &FxHashMap<String, Synced>,
    cache: &mut Cache,
) -> annex::Result<Vec<Relink>> {
    let mut lost: HashMap<i64, &Lost> = keyed.lost.iter().map(|l| (l.id, l)).collect();
    // Per key, the lost rows that move: the one synced with it first.
    let mut wanted: HashMap<String, Vec<&Lost>> = digests
        .iter()
        .filter_map(|(key, s)| Some((key.clone(), vec![lost.remove(&s.row?)?])))
        .collect();
    // A key whose synced row is still in the library keeps it: no other row moves there.
    let live = |key: &str| {
        let row = digests.get(key).and_then(|s| s.row);
        row.is_some_and(|r| {
            keyed
                .items
                .get(key)
                .is_some_and(|i| i.track_ids().any(|id| id == r))
        })
    };
    if !lost.is_empty() {
        let by_path: HashMap<&str, &Lost> = lost.values().map(|l| (l.path.as_str(), *l)).collect();
        let mut found = keys_in_history(annex, by_path.keys().copied().collect())?;
        // The oldest row of a key stands for it, as Mixxx keeps the old row of a moved file.
        found.sort_by_key(|(path, _)| by_path[path.as_str()].id);
        for (path, key) in found.into_iter().filter(|(_, key)| !live(key)) {
            wanted.entry(key).or_default().push(by_path[path.as_str()]);
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut mapper = Mapper::new(&annex.repo, prefixes)?;
    mapper.remember(std::mem::take(&mut cache.keys_by_blob));
    let mut targets: HashMap<String, Vec<String>> = HashMap::new();
    for (path, key) in mapper.annexed() {
        if wanted.contains_key(&key) {
            targets.entry(key).or_default().push(path);
        }
    }
    cache.keys_by_blob = mapper.into_known().0;
    let workdir = annex.repo.workdir();
    let root = workdir
        .map(|w| std::path::absolute(w).unwrap_or_else(|_| w.to_owned()))
        .map(|w| format!("{}/", w.to_string_lossy().trim_end_matches('/')))
        .unwrap_or_default();
    let mut relinks: Vec<Relink> = targets
        .into_iter()
        .filter_map(|(key, paths)| {
            let rows = &wanted[&key];
            let item = keyed.items.get(key.as_str());
            let to = choose(&rows[0].path, paths, |p| item.is_some_and(|i| i.holds(p)))?;
            Some(relink(key, rows, to, workdir, &root))
        })
        .collect();
    relinks.sort_by(|a, b| a.from.cmp(&b.from));
    Ok(relinks)
}

/// The keys that `paths` last had in `HEAD` or in the [`HISTORY_DEPTH`] commits before it, as
/// (path, key), for those that were annexed files.
fn keys_in_history(
    annex: &Annex,
    mut paths: HashSet<&str>,
) -> annex::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let Ok(head) = annex.repo.head_commit() else {
        return Ok(found); // no commit yet
    };
    let mut commit = head.id;
    let mut tree = annex.tree_of(commit)?;
    // Paths still in HEAD (moved in the index, not committed yet), then each change backwards.
    let mut candidates: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    for _ in 0..=HISTORY_DEPTH {
        let mut reader = TreeReader::new(&annex.repo, tree);
        for path in &candidates {
            if !paths.contains(path.as_str()) {
                continue;
            }
            if let Some(key) = reader.blob_id(path)?.and_then(|id| annexed_key(annex, id)) {
                paths.remove(path.as_str());
                found.push((path.clone(), key));
            }
        }
        let parent = annex.repo.find_commit(commit)?.parent_ids().next();
        let Some(parent) = parent.filter(|_| !paths.is_empty()) else {
            break;
        };
        let parent_tree = annex.tree_of(parent.detach())?;
        candidates = annex.changed_paths(parent_tree, tree)?;
        (commit, tree) = (parent.detach(), parent_tree);
    }
    Ok(found)
}

/// The key of an annexed file's blob (a symlink target or a pointer file).
fn annexed_key(annex: &Annex, blob: gix::ObjectId) -> Option<String> {
    let data = annex.repo.find_blob(blob).ok()?;
    key::key_from_symlink_target(&data.data).or_else(|| key::key_from_pointer(&data.data))
}

/// The path a row at `from` moves to among `paths`: first a path no other row holds (`held`),
/// then the one sharing the longest tail of folders with `from` (as Mixxx prefers), then the
/// first by name.
fn choose(from: &str, mut paths: Vec<String>, held: impl Fn(&str) -> bool) -> Option<String> {
    paths.sort();
    paths
        .into_iter()
        .min_by_key(|p| (held(p), std::cmp::Reverse(common_tail(from, p))))
}

/// How many trailing path components `a` and `b` share.
fn common_tail(a: &str, b: &str) -> usize {
    a.rsplit('/')
        .zip(b.rsplit('/'))
        .take_while(|(x, y)| x == y)
        .count()
}

/// The relink of the first of `rows` (one key's lost rows) to work-tree path `to`, under the
/// same folder (mount point, symlink) as Mixxx saw it before, else under `root` (the work
/// tree); the others merge into it.
fn relink(key: String, rows: &[&Lost], to: String, workdir: Option<&Path>, root: &str) -> Relink {
    let row = rows[0];
    let change = Move {
        row: row.id,
        location: moved_location(&row.location, &row.path, &to, root),
        present: workdir.is_some_and(|w| w.join(&to).exists()),
        absorbed: rows[1..].iter().map(|r| r.id).collect(),
    };
    Relink {
        from: row.path.clone(),
        to,
        cues_moved: Vec::new(),
        cues_dropped: Vec::new(),
        key,
        change: Some(change),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_path_with_the_longest_common_tail_is_chosen() {
        let paths = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none = |_: &str| false;
        let from = "House/Deep/a.flac";
        assert_eq!(
            choose(from, paths(&["x/a.flac", "Techno/Deep/a.flac"]), none).as_deref(),
            Some("Techno/Deep/a.flac")
        );
        let held = |p: &str| p == "Techno/Deep/a.flac";
        assert_eq!(
            choose(from, paths(&["x/a.flac", "Techno/Deep/a.flac"]), held).as_deref(),
            Some("x/a.flac")
        );
        assert_eq!(
            choose(from, paths(&["b/renamed.flac", "a/renamed.flac"]), none).as_deref(),
            Some("a/renamed.flac")
        );
        assert_eq!(choose(from, Vec::new(), none), None);
    }
}

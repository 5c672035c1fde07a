//! Relinking by key: a Mixxx row whose path is no longer an annexed file of the index (moved
//! with `git mv`, a folder renamed, whatever Mixxx's `fs_deleted` says), while the key it was
//! last synced with is at another path of the work tree, moves to that path, keeping its id,
//! cues, crates, playlists and plays. Mixxx's own `TrackDAO::detectMovedTracks` does the same
//! for same-name moves, by file name and duration; this does it by content.

use super::snapshot::{Keyed, Lost};
use crate::mixxx::relink::Move;
use crate::state::{Cache, Synced};
use crate::worktree::Mapper;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A row that moves: the work-tree paths before and after, and what the database is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relink {
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub(crate) change: Option<Move>,
}

/// The relinks for `keyed.lost`: each lost row that the base (`digests`, before rows other
/// than the synced ones are forgotten) synced with a key now at another path of the index.
pub fn find(
    repo: &gix::Repository,
    prefixes: &[PathBuf],
    keyed: &Keyed,
    digests: &HashMap<String, Synced>,
    cache: &mut Cache,
) -> Result<Vec<Relink>, gix::Error> {
    let lost: HashMap<i64, &Lost> = keyed.lost.iter().map(|l| (l.id, l)).collect();
    let wanted: HashMap<&str, &Lost> = digests
        .iter()
        .filter_map(|(key, s)| Some((key.as_str(), *lost.get(&s.row?)?)))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut mapper = Mapper::new(repo, prefixes)?;
    mapper.remember(std::mem::take(&mut cache.keys_by_blob));
    let mut targets: HashMap<&str, Vec<String>> = HashMap::new();
    for (path, key) in mapper.annexed() {
        if let Some((key, _)) = wanted.get_key_value(key.as_str()) {
            targets.entry(key).or_default().push(path);
        }
    }
    cache.keys_by_blob = mapper.into_known().0;
    let workdir = repo.workdir();
    let mut relinks: Vec<Relink> = targets
        .into_iter()
        .filter_map(|(key, paths)| {
            let row = wanted[key];
            let item = keyed.items.get(key);
            let to = choose(&row.path, paths, |p| item.is_some_and(|i| i.holds(p)))?;
            Some(relink(row, to, workdir))
        })
        .collect();
    relinks.sort_by(|a, b| a.from.cmp(&b.from));
    Ok(relinks)
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

/// The relink of `row` to work-tree path `to`, under the same prefix (mount point) as before.
fn relink(row: &Lost, to: String, workdir: Option<&Path>) -> Relink {
    let prefix = &row.location[..row.location.len() - row.path.len()];
    let change = Move {
        row: row.id,
        location: format!("{prefix}{to}"),
        present: workdir.is_some_and(|w| w.join(&to).exists()),
    };
    Relink {
        from: row.path.clone(),
        to,
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

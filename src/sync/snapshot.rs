//! The first stages: a snapshot of this Mixxx (every track's values, from one read
//! transaction) and its tracks grouped by git-annex key, the unit the rest of a sync works on.

use super::options::Options;
use crate::annex::Annex;
use crate::fields::{Digest, Row};
use crate::mixxx::{self, Database, Library};
use crate::state::Cache;
use crate::worktree::{Key, Mapper, Skip, path_hash};
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Reads the library, checking first that this run may write to the database if it will.
pub fn read(db: &Path, opts: &Options) -> mixxx::Result<Library> {
    let db = Database::open_read_only(db)?;
    if !opts.dry_run && !opts.push_only {
        db.check_writable()?;
    }
    db.read_library()
}

/// One key of this Mixxx: its first track (its path in the work tree, row id and values in
/// Mixxx) and the other tracks with that content (one file at several paths; rare).
#[derive(Debug)]
pub struct Item {
    pub path: String,
    /// The first row's id.
    pub id: i64,
    /// The first row's values.
    pub m: Row,
    pub others: Vec<Other>,
}

/// Another track of an item's key.
#[derive(Debug)]
pub struct Other {
    pub id: i64,
    pub row: Row,
    pub path: String,
}

impl Item {
    /// A key's item with one track.
    pub fn new(path: String, id: i64, m: Row) -> Item {
        Item {
            path,
            id,
            m,
            others: Vec::new(),
        }
    }

    /// Every row id, the first first.
    pub fn track_ids(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.id).chain(self.others.iter().map(|o| o.id))
    }

    /// How many tracks (rows) hold the key.
    pub fn rows(&self) -> usize {
        1 + self.others.len()
    }

    /// Every row's values, the first first.
    pub fn all_rows(&self) -> impl Iterator<Item = &Row> {
        std::iter::once(&self.m).chain(self.others.iter().map(|o| &o.row))
    }

    /// Whether one of the rows is at `path`.
    pub fn holds(&self, path: &str) -> bool {
        self.path == path || self.others.iter().any(|o| o.path == path)
    }

    /// Whether every row holds the same values.
    pub fn rows_agree(&self) -> bool {
        self.others.iter().all(|o| o.row == self.m)
    }

    /// The row that stands for Mixxx: the first whose values differ from the base's (`base`
    /// digest), as that is where the DJ edited; else the first row.
    pub fn edited_row(&self, base: Option<Digest>) -> &Row {
        let edited = base.and_then(|b| self.all_rows().find(|r| r.digest() != b));
        edited.unwrap_or(&self.m)
    }
}

/// Each key's item, in library order (each key held once, for its order too). Boxed: a map's
/// table is larger than its entries by up to twice, and an item is a few hundred bytes (at a
/// million tracks, the difference is hundreds of megabytes).
pub type Items = IndexMap<Key, Box<Item>, FxBuildHasher>;

/// This Mixxx's keys and their items, and what became of the other tracks.
#[derive(Default)]
pub struct Keyed {
    pub items: Items,
    /// Tracks not synced, by reason (only for a run over the whole library).
    pub skipped: BTreeMap<Skip, usize>,
    /// The work-tree paths of the library's tracks, hashed ([`path_hash`]), for the no-change
    /// fingerprint (only for a run over the whole library).
    pub library_paths: Vec<u64>,
    /// Rows whose path is in the work tree but no annexed file of the index (a file moved or
    /// removed), which a relink may move (only for a run over the whole library).
    pub lost: Vec<Lost>,
    /// The fields this Mixxx has no column for ([`Library::missing`]).
    pub missing: crate::fields::FieldSet,
}

/// A row whose file is no longer an annexed file of the index.
#[derive(Clone, Debug)]
pub struct Lost {
    pub id: i64,
    /// Mixxx's absolute location.
    pub location: String,
    /// Its path inside the work tree.
    pub path: String,
}

impl Keyed {
    /// Leaves `keys` out of the run.
    pub fn forget<'k>(&mut self, keys: impl Iterator<Item = &'k str>) {
        let keys: HashSet<&str> = keys.collect();
        self.items.retain(|k, _| !keys.contains(&**k));
    }

    /// How many tracks (rows) the keys stand for.
    pub fn tracks(&self) -> usize {
        self.items.values().map(|i| i.rows()).sum()
    }
}

/// Groups the library's tracks by key (within `opts.paths`), counting the others by reason and
/// noting the library's work-tree paths. Keys come from the cache's blob → key map, which
/// learns new keys; returns whether it did.
pub fn key_tracks(
    annex: &Annex,
    prefixes: &[PathBuf],
    library: Library,
    cache: &mut Cache,
    opts: &Options,
    keyed: &mut Keyed,
) -> Result<bool, gix::Error> {
    let mut mapper = Mapper::new(&annex.repo, prefixes)?;
    mapper.remember(std::mem::take(&mut cache.keys_by_blob));
    keyed.missing = library.missing;
    keyed.items.reserve(library.tracks.len());
    let locations: Vec<&str> = library.tracks.iter().map(|t| t.location.as_str()).collect();
    let mapped = mapper.keys(&locations);
    if opts.paths.is_empty() {
        keyed.library_paths = locations
            .iter()
            .filter_map(|l| mapper.relative(l))
            .map(|p| path_hash(p.as_bytes()))
            .collect();
    }
    drop(locations);
    for (track, found) in library.tracks.into_iter().zip(mapped) {
        let (path, key) = match found {
            Ok(found) => found,
            Err(skip) => {
                // With PATH arguments, tracks outside them are not this run's business.
                if opts.paths.is_empty() {
                    *keyed.skipped.entry(skip).or_default() += 1;
                    if skip != Skip::OutsideRepo
                        && let Some(path) = mapper.relative(&track.location)
                    {
                        let path = path.into_owned();
                        let (id, location) = (track.id, track.location);
                        keyed.lost.push(Lost { id, location, path });
                    }
                }
                continue;
            }
        };
        if !in_scope(&opts.paths, &path) {
            continue;
        }
        match keyed.items.get_mut(&key) {
            Some(item) => {
                let other = Other {
                    id: track.id,
                    row: track.row,
                    path,
                };
                item.others.push(other);
            }
            None => {
                let item = Item::new(path, track.id, track.row);
                keyed.items.insert(key, Box::new(item));
            }
        }
    }
    let (known, learned) = mapper.into_known();
    cache.keys_by_blob = known;
    Ok(learned)
}

/// Whether a work-tree path is one of `paths` or under one (no `paths`: everything is).
fn in_scope(paths: &[String], path: &str) -> bool {
    paths.is_empty()
        || paths.iter().any(|p| {
            path.strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_restrict_to_files_and_directories() {
        let paths = ["House".to_owned(), "a.flac".to_owned()];
        assert!(in_scope(&paths, "House/x.flac"));
        assert!(in_scope(&paths, "a.flac"));
        assert!(!in_scope(&paths, "House music/x.flac"));
        assert!(!in_scope(&paths, "a.flac.bak"));
        assert!(in_scope(&[], "anything"));
    }
}

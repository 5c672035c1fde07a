//! Mapping Mixxx's absolute track paths to git-annex keys: path → path inside the work tree
//! (under the work tree as given, canonicalized, or a `mixxx.prefix`) → key from the index
//! (locked symlinks and unlocked pointer files), without running git-annex per file.

use crate::annex::key;
use gix::ObjectId;
use gix::bstr::ByteSlice;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The hash under which a work-tree path is kept on disk (the no-change fingerprint keeps the
/// library's): XXH3, whose output is fixed by its specification (not by the Rust release, as
/// `DefaultHasher`'s is).
pub fn path_hash(path: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(path)
}

/// Why a track is not synced (in JSON: `outside_repo`, `not_tracked`, `not_annexed`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// Its path is under neither the work tree nor a configured prefix.
    OutsideRepo,
    /// Its path is inside the work tree but git does not track it.
    NotTracked,
    /// Tracked, but not an annexed file.
    NotAnnexed,
}

impl Skip {
    pub fn describe(self) -> &'static str {
        match self {
            Skip::OutsideRepo => "outside the repository",
            Skip::NotTracked => "not tracked by git (missing or not added)",
            Skip::NotAnnexed => "not annexed",
        }
    }
}

/// A share of [`Mapper::keys`]'s work: index entries, and keys read from symlinks.
struct Part<'a> {
    entries: Vec<Result<(&'a str, ObjectId, bool), Skip>>,
    found: Vec<(ObjectId, String)>,
}

fn relative<'a>(prefixes: &[String], location: &'a str) -> Option<&'a str> {
    prefixes
        .iter()
        .find_map(|p| location.strip_prefix(p.as_str()))
        .filter(|rel| !rel.is_empty())
}

/// What the threads of [`Mapper::keys`] share (all of it read-only).
struct Lookup<'m> {
    prefixes: &'m [String],
    index: &'m gix::index::File,
    workdir: Option<&'m Path>,
    known: &'m HashMap<ObjectId, String>,
    hash: gix::hash::Kind,
    /// Index entries whose path is not UTF-8, by the path as Mixxx stores it (invalid bytes
    /// as U+FFFD, as Qt decodes file names).
    not_utf8: &'m HashMap<String, usize>,
}

impl Lookup<'_> {
    /// The index entry of a Mixxx location: its path in the work tree, blob id and whether it
    /// is a symlink (a locked file).
    fn entry<'a>(&self, location: &'a str) -> Result<(&'a str, ObjectId, bool), Skip> {
        let rel = relative(self.prefixes, location).ok_or(Skip::OutsideRepo)?;
        use gix::index::entry::Mode;
        let entry = self
            .index
            .entry_by_path(rel.as_bytes().as_bstr())
            .or_else(|| self.not_utf8.get(rel).map(|i| &self.index.entries()[*i]))
            .filter(|e| e.stage_raw() == 0)
            .ok_or(Skip::NotTracked)?;
        let symlink = entry.mode == Mode::SYMLINK;
        if !symlink && entry.mode != Mode::FILE && entry.mode != Mode::FILE_EXECUTABLE {
            return Err(Skip::NotAnnexed);
        }
        Ok((rel, entry.id, symlink))
    }

    /// The index entries of `locations`, and the keys of the new ones that are locked files,
    /// from their symlinks.
    fn entries<'a>(&self, locations: &[&'a str]) -> Part<'a> {
        let entries: Vec<_> = locations.iter().map(|l| self.entry(l)).collect();
        let found = match self.workdir {
            Some(workdir) => entries
                .iter()
                .flatten()
                .filter(|(_, blob, symlink)| *symlink && !self.known.contains_key(blob))
                .filter_map(|(rel, blob, _)| {
                    Some((*blob, key_from_link(&workdir.join(rel), *blob, self.hash)?))
                })
                .collect(),
            None => Vec::new(),
        };
        Part { entries, found }
    }
}

/// Maps absolute paths to keys using the index.
pub struct Mapper<'r> {
    repo: &'r gix::Repository,
    workdir: Option<PathBuf>,
    prefixes: Vec<String>,
    index: gix::worktree::Index,
    keys_by_blob: HashMap<ObjectId, String>,
    /// Blobs seen to be no annexed file's.
    not_annexed: HashSet<ObjectId>,
    /// Whether `keys_by_blob` gained keys.
    learned: bool,
    /// See [`Lookup::not_utf8`].
    not_utf8: HashMap<String, usize>,
}

/// A path as a `/`-separated string with a trailing `/`, for prefix matching.
fn as_prefix(path: &Path) -> Option<String> {
    let s = path.to_str()?.replace('\\', "/");
    Some(if s.ends_with('/') { s } else { format!("{s}/") })
}

impl<'r> Mapper<'r> {
    /// `extra_prefixes` are the values of `mixxx.prefix`.
    pub fn new(repo: &'r gix::Repository, extra_prefixes: &[PathBuf]) -> Result<Self, gix::Error> {
        let mut prefixes = Vec::new();
        if let Some(workdir) = repo.workdir() {
            let absolute = std::path::absolute(workdir).unwrap_or_else(|_| workdir.to_owned());
            prefixes.extend(as_prefix(&absolute));
            if let Ok(canonical) = std::fs::canonicalize(workdir) {
                prefixes.extend(as_prefix(&canonical));
            }
        }
        prefixes.extend(extra_prefixes.iter().filter_map(|p| as_prefix(p)));
        prefixes.dedup();
        let index = repo.index_or_empty()?;
        let not_utf8 = index
            .entries()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let path = e.path(&index);
                path.to_str()
                    .is_err()
                    .then(|| (path.to_str_lossy().into_owned(), i))
            })
            .collect();
        Ok(Mapper {
            repo,
            workdir: repo.workdir().map(Path::to_path_buf),
            prefixes,
            index,
            not_utf8,
            keys_by_blob: HashMap::new(),
            not_annexed: HashSet::new(),
            learned: false,
        })
    }

    /// Keys already known by blob id (from the local cache).
    pub fn remember(&mut self, known: HashMap<ObjectId, String>) {
        if self.keys_by_blob.is_empty() {
            self.keys_by_blob = known;
        } else {
            self.keys_by_blob.extend(known);
        }
    }

    /// Every blob id → key known, for the local cache, and whether any was learned here.
    pub fn into_known(self) -> (HashMap<ObjectId, String>, bool) {
        (self.keys_by_blob, self.learned)
    }

    /// The path inside the work tree of an absolute Mixxx location.
    pub fn relative<'a>(&self, location: &'a str) -> Option<&'a str> {
        relative(&self.prefixes, location)
    }

    /// Every annexed file of the index: its path in the work tree and its key.
    pub fn annexed(&mut self) -> Vec<(String, String)> {
        self.annexed_at(&[])
    }

    /// The annexed files of the index at `paths` (repository paths of files or folders; all
    /// of them when empty): their path in the work tree and their key.
    pub fn annexed_at(&mut self, paths: &[String]) -> Vec<(String, String)> {
        let under = |path: &[u8]| {
            paths.is_empty()
                || paths.iter().any(|p| {
                    let p = p.as_bytes();
                    path.starts_with(p)
                        && (path.len() == p.len() || path.get(p.len()) == Some(&b'/'))
                })
        };
        let Some(workdir) = self
            .prefixes
            .first()
            .filter(|_| self.workdir.is_some())
            .cloned()
        else {
            return Vec::new();
        };
        let locations: Vec<String> = self
            .index
            .entries()
            .iter()
            .filter(|e| e.stage_raw() == 0 && under(e.path(&self.index)))
            .filter_map(|e| Some(format!("{workdir}{}", e.path(&self.index).to_str().ok()?)))
            .collect();
        let locations: Vec<&str> = locations.iter().map(String::as_str).collect();
        self.keys(&locations).into_iter().flatten().collect()
    }

    /// The repo path and key of each Mixxx location, or why there is none.
    ///
    /// Keys of blobs not seen before come from the locked files' symlinks in the work tree,
    /// read on all cores and checked against the index by hashing (much cheaper than
    /// inflating the blobs), else from the object database.
    pub fn keys(&mut self, locations: &[&str]) -> Vec<Result<(String, String), Skip>> {
        let index: &gix::index::File = &self.index;
        let this = Lookup {
            prefixes: &self.prefixes,
            index,
            workdir: self.workdir.as_deref(),
            known: &self.keys_by_blob,
            hash: self.repo.object_hash(),
            not_utf8: &self.not_utf8,
        };
        let parts = crate::on_cores(locations, 1024, |part| this.entries(part));
        let mut entries = Vec::with_capacity(locations.len());
        for part in parts {
            entries.extend(part.entries);
            self.learned |= !part.found.is_empty();
            self.keys_by_blob.extend(part.found);
        }
        entries
            .into_iter()
            .map(|entry| {
                let (rel, blob, symlink) = entry?;
                if let Some(known) = self.keys_by_blob.get(&blob) {
                    return Ok((rel.to_owned(), known.clone()));
                }
                if self.not_annexed.contains(&blob) {
                    return Err(Skip::NotAnnexed);
                }
                let key = self.repo.find_blob(blob).ok().and_then(|data| {
                    if symlink {
                        key::key_from_symlink_target(&data.data)
                    } else {
                        key::key_from_pointer(&data.data)
                    }
                });
                match key {
                    Some(key) => {
                        self.learned = true;
                        self.keys_by_blob.insert(blob, key.clone());
                        Ok((rel.to_owned(), key))
                    }
                    None => {
                        self.not_annexed.insert(blob);
                        Err(Skip::NotAnnexed)
                    }
                }
            })
            .collect()
    }
}

/// The key a locked file's symlink points to, if the link is the index's blob `blob` (the
/// work tree may have changed since it was staged).
fn key_from_link(path: &Path, blob: ObjectId, hash: gix::hash::Kind) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    let target = gix::path::into_bstr(target).ok()?.into_owned();
    let id = gix::objs::compute_hash(hash, gix::objs::Kind::Blob, &target).ok()?;
    if id == blob {
        key::key_from_symlink_target(&target)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_hashes_are_stable_across_builds() {
        // Saved on disk: the values must never change with the Rust release or the platform.
        assert_eq!(path_hash(b""), 0x2d06800538d394c2);
        assert_eq!(path_hash(b"House/a.flac"), 12_275_248_583_298_225_586);
    }
}

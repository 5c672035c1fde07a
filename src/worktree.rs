//! Mapping Mixxx's absolute track paths to git-annex keys: path → path inside the work tree
//! (under the work tree as given, canonicalized, or a `mixxx.prefix`) → key from the index
//! (locked symlinks and unlocked pointer files), without running git-annex per file.

use crate::annex::key;
use gix::ObjectId;
use gix::bstr::ByteSlice;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a track is not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// Maps absolute paths to keys using the index.
pub struct Mapper<'r> {
    repo: &'r gix::Repository,
    workdir: Option<PathBuf>,
    prefixes: Vec<String>,
    index: gix::worktree::Index,
    keys_by_blob: HashMap<ObjectId, Option<String>>,
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
        Ok(Mapper {
            repo,
            workdir: repo.workdir().map(Path::to_path_buf),
            prefixes,
            index: repo.index_or_empty()?,
            keys_by_blob: HashMap::new(),
        })
    }

    /// Keys already known by blob id (from the local cache).
    pub fn remember(&mut self, known: impl IntoIterator<Item = (ObjectId, String)>) {
        self.keys_by_blob
            .extend(known.into_iter().map(|(blob, key)| (blob, Some(key))));
    }

    /// Every blob id → key learned, for the local cache.
    pub fn known_keys(&self) -> impl Iterator<Item = (&ObjectId, &String)> {
        self.keys_by_blob
            .iter()
            .filter_map(|(b, k)| k.as_ref().map(|k| (b, k)))
    }

    /// The path inside the work tree of an absolute Mixxx location.
    pub fn relative<'a>(&self, location: &'a str) -> Option<&'a str> {
        self.prefixes
            .iter()
            .find_map(|p| location.strip_prefix(p.as_str()))
            .filter(|rel| !rel.is_empty())
    }

    /// The repo path and key of a Mixxx location, or why there is none.
    pub fn key(&mut self, location: &str) -> Result<(String, String), Skip> {
        let rel = self.relative(location).ok_or(Skip::OutsideRepo)?;
        use gix::index::entry::Mode;
        let entry = self
            .index
            .entry_by_path(rel.as_bytes().as_bstr())
            .filter(|e| e.stage_raw() == 0)
            .ok_or(Skip::NotTracked)?;
        let symlink = entry.mode == Mode::SYMLINK;
        if !symlink && entry.mode != Mode::FILE && entry.mode != Mode::FILE_EXECUTABLE {
            return Err(Skip::NotAnnexed);
        }
        let blob = entry.id;
        if let Some(known) = self.keys_by_blob.get(&blob) {
            return known
                .clone()
                .map(|k| (rel.to_owned(), k))
                .ok_or(Skip::NotAnnexed);
        }
        // A locked file's symlink in the work tree usually is the index's blob: reading the link
        // and hashing it is much cheaper than inflating the blob from the object database.
        let from_link = symlink
            .then(|| self.workdir.as_ref().map(|w| w.join(rel)))
            .flatten()
            .and_then(|path| std::fs::read_link(path).ok())
            .and_then(|target| {
                let target = gix::path::into_bstr(target).ok()?.into_owned();
                let id = gix::objs::compute_hash(
                    self.repo.object_hash(),
                    gix::objs::Kind::Blob,
                    &target,
                )
                .ok()?;
                (id == blob).then(|| key::key_from_symlink_target(&target))
            });
        let key = match from_link {
            Some(key) => key,
            None => self.repo.find_blob(blob).ok().and_then(|data| {
                if symlink {
                    key::key_from_symlink_target(&data.data)
                } else {
                    key::key_from_pointer(&data.data)
                }
            }),
        };
        self.keys_by_blob.insert(blob, key.clone());
        key.map(|k| (rel.to_owned(), k)).ok_or(Skip::NotAnnexed)
    }
}

//! Mapping Mixxx's absolute track paths to git-annex keys: path → path inside the work tree
//! (under the work tree as given, canonicalized, or a `mixxx.prefix`) → key from the index
//! (locked symlinks and unlocked pointer files), without running git-annex per file.

use crate::annex::key;
use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
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
    prefixes: Vec<String>,
    entries: HashMap<BString, (bool, ObjectId)>,
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
        let index = repo.index_or_empty()?;
        let entries = index
            .entries()
            .iter()
            .filter(|e| e.stage_raw() == 0)
            .filter_map(|e| {
                use gix::index::entry::Mode;
                let symlink = e.mode == Mode::SYMLINK;
                (symlink || e.mode == Mode::FILE || e.mode == Mode::FILE_EXECUTABLE)
                    .then(|| (e.path(&index).to_owned(), (symlink, e.id)))
            })
            .collect();
        Ok(Mapper {
            repo,
            prefixes,
            entries,
            keys_by_blob: HashMap::new(),
        })
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
        let (symlink, blob) = *self
            .entries
            .get(rel.as_bytes().as_bstr())
            .ok_or(Skip::NotTracked)?;
        let repo = self.repo;
        let key = self
            .keys_by_blob
            .entry(blob)
            .or_insert_with(|| {
                let data = repo.find_blob(blob).ok()?;
                if symlink {
                    key::key_from_symlink_target(&data.data)
                } else {
                    key::key_from_pointer(&data.data)
                }
            })
            .clone()
            .ok_or(Skip::NotAnnexed)?;
        Ok((rel.to_owned(), key))
    }
}

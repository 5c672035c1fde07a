//! The git-annex branch as the planner reads it: each key's metadata log now (the branch tip,
//! the remote-tracking git-annex branches not merged yet and git-annex's pending journal entry,
//! combined as git-annex combines them), the log at the
//! base commit, and which logs changed since the base. [`Logs`] is what the planner needs;
//! [`Branch`] reads a repository, tests use a map.

use super::snapshot::Keyed;
use crate::annex::{self, Annex, TreeReader, key};
use gix::ObjectId;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A key's metadata log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    /// The file's lines (branch ∪ journal), sorted and de-duplicated as a union merge would.
    pub text: String,
    /// Whether git-annex's journal holds an entry for it.
    pub in_journal: bool,
    /// Whether lines came from elsewhere than the branch tip (an unmerged remote branch, the
    /// journal): a run that settles on them writes them to the branch, so that its commit holds
    /// what it was planned on.
    pub combined: bool,
}

/// The branch logs the planner reads.
pub trait Logs {
    /// Whether `key`'s log may differ from the base's: it changed on the branch since the
    /// base commit, is in git-annex's journal, or there is no base commit.
    fn changed_since_base(&self, key: &str) -> bool;
    /// `key`'s log now.
    fn now(&mut self, key: &str) -> annex::Result<Log>;
    /// `key`'s log text at the base commit (empty without one).
    fn at_base(&mut self, key: &str) -> annex::Result<String>;
}

/// The branch of a repository at its tip, and at the base commit.
pub struct Branch<'a> {
    annex: &'a Annex,
    pub reader: TreeReader<'a>,
    /// The remote-tracking git-annex branches not merged yet: git-annex merges them at its next
    /// command, and reads them until then; so does git-mixxx.
    remotes: Vec<TreeReader<'a>>,
    base_reader: Option<TreeReader<'a>>,
    /// Keys whose logs changed between the base commit and the tip (`None`: no base).
    changed: Option<HashSet<String>>,
    /// Branch paths with pending journal entries.
    journal: HashSet<String>,
    /// Keys whose base is another key's ([`Branch::base_from`]).
    base_keys: HashMap<String, String>,
}

impl<'a> Branch<'a> {
    pub fn open(annex: &'a Annex, tip: ObjectId, base: Option<ObjectId>) -> annex::Result<Self> {
        let remotes = annex.unmerged_remotes(tip)?;
        let changed = match base {
            Some(c) => {
                let mut keys = HashSet::new();
                for head in std::iter::once(tip).chain(remotes.iter().copied()) {
                    if head == c {
                        continue;
                    }
                    let paths = annex.changed_paths(annex.tree_of(c)?, annex.tree_of(head)?)?;
                    keys.extend(
                        paths
                            .iter()
                            .filter_map(|p| key::key_of_metadata_log_path(p)),
                    );
                }
                Some(keys)
            }
            None => None,
        };
        let journal = if annex.journal_is_empty() {
            HashSet::new()
        } else {
            annex.journal_branch_paths().into_iter().collect()
        };
        Ok(Branch {
            annex,
            reader: annex.tree_reader(tip)?,
            remotes: remotes
                .into_iter()
                .map(|r| annex.tree_reader(r))
                .collect::<annex::Result<_>>()?,
            base_reader: base.map(|c| annex.tree_reader(c)).transpose()?,
            changed,
            journal,
            base_keys: HashMap::new(),
        })
    }

    /// Reads `key`'s log at the base from `old`'s: a file re-tagged in place has a new key,
    /// to which git-annex copied the old key's metadata, and the same Mixxx row.
    pub fn base_from(&mut self, key: &str, old: &str) {
        self.base_keys.insert(key.to_owned(), old.to_owned());
    }

    /// How many keys changed on the branch since the base that this Mixxx does not have (a
    /// file at a track's secondary location is not lacking: its track has its metadata).
    pub fn unknown_keys(&self, keyed: &Keyed) -> usize {
        self.changed.as_ref().map_or(0, |c| {
            c.iter()
                .filter(|k| !keyed.items.contains_key(*k) && !keyed.secondary.keys.contains(*k))
                .count()
        })
    }
}

impl Branch<'_> {
    /// The file at `path` now: the tip's lines combined with those of the unmerged remote
    /// branches and `extra` (a journal entry), as git-annex's union merge combines them; and
    /// whether lines came from elsewhere than the tip.
    fn combined(&mut self, path: &str, extra: Option<String>) -> annex::Result<(String, bool)> {
        let here = self.reader.blob_id(path)?;
        let read = |id| annex::read_blob(&self.annex.repo, id);
        let text = here.map(read).transpose()?.unwrap_or_default();
        let mut others = Vec::new();
        for remote in &mut self.remotes {
            let there = remote.blob_id(path)?;
            if there != here {
                others.extend(there.map(read).transpose()?);
            }
        }
        others.extend(extra);
        if others.is_empty() {
            return Ok((text, false));
        }
        let mut lines: BTreeSet<&str> = text.lines().collect();
        let before = lines.len();
        lines.extend(others.iter().flat_map(|o| o.lines()));
        let combined = lines.len() != before;
        let text = lines
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        Ok((text, combined))
    }

    /// A file of git-mixxx's own now (tip and unmerged remote branches combined).
    pub fn file_now(&mut self, path: &str) -> annex::Result<String> {
        Ok(self.combined(path, None)?.0)
    }

    /// A file of git-mixxx's own now, as [`Branch::file_now`], unless a version of it (on the
    /// tip or an unmerged remote branch) is over `max` bytes: checked from the blobs' headers
    /// before reading, `None` then. A missing file is empty.
    pub fn file_now_within(&mut self, path: &str, max: u64) -> annex::Result<Option<String>> {
        let mut ids: Vec<ObjectId> = self.reader.blob_id(path)?.into_iter().collect();
        for remote in &mut self.remotes {
            ids.extend(remote.blob_id(path)?);
        }
        for id in ids {
            if annex::blob_size(&self.annex.repo, id)? > max {
                return Ok(None);
            }
        }
        self.file_now(path).map(Some)
    }

    /// The directories directly in `dir` now, on the tip or an unmerged remote branch.
    pub fn dirs_now(&mut self, dir: &str) -> annex::Result<BTreeSet<String>> {
        let mut out: BTreeSet<String> = self.reader.dirs_in(dir)?.into_iter().collect();
        for remote in &mut self.remotes {
            out.extend(remote.dirs_in(dir)?);
        }
        Ok(out)
    }

    /// The files directly in `dir` now, on the tip or an unmerged remote branch.
    pub fn files_now(&mut self, dir: &str) -> annex::Result<BTreeSet<String>> {
        let mut out: BTreeSet<String> = self.reader.files_in(dir)?.into_iter().collect();
        for remote in &mut self.remotes {
            out.extend(remote.files_in(dir)?);
        }
        Ok(out)
    }

    /// A file at the base commit; `None` without a base commit.
    pub fn file_at_base(&mut self, path: &str) -> annex::Result<Option<String>> {
        match &mut self.base_reader {
            Some(reader) => Ok(Some(reader.read(path)?.unwrap_or_default())),
            None => Ok(None),
        }
    }
}

impl Logs for Branch<'_> {
    fn changed_since_base(&self, key: &str) -> bool {
        let Some(changed) = &self.changed else {
            return true;
        };
        changed.contains(key)
            || (!self.journal.is_empty() && self.journal.contains(&key::metadata_log_path(key)))
    }

    fn now(&mut self, key: &str) -> annex::Result<Log> {
        let path = key::metadata_log_path(key);
        let in_journal = self.journal.contains(&path);
        let journal = match in_journal {
            true => self.annex.journal_entry(&path)?,
            false => None,
        };
        let (text, combined) = self.combined(&path, journal)?;
        Ok(Log {
            text,
            in_journal,
            combined,
        })
    }

    fn at_base(&mut self, key: &str) -> annex::Result<String> {
        let key = self.base_keys.get(key).map_or(key, String::as_str);
        match &mut self.base_reader {
            Some(reader) => Ok(reader
                .read(&key::metadata_log_path(key))?
                .unwrap_or_default()),
            None => Ok(String::new()),
        }
    }
}

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
        let here = self.reader.blob_id(&path)?;
        let read = |id| annex::read_blob(&self.annex.repo, id);
        let mut text = here.map(read).transpose()?.unwrap_or_default();
        // Other versions of the file, combined as git-annex's union merge combines them.
        let mut others = Vec::new();
        for remote in &mut self.remotes {
            let there = remote.blob_id(&path)?;
            if there != here {
                others.extend(there.map(read).transpose()?);
            }
        }
        let in_journal = self.journal.contains(&path);
        if in_journal {
            others.extend(self.annex.journal_entry(&path)?);
        }
        let mut combined = false;
        if !others.is_empty() {
            let mut lines: BTreeSet<&str> = text.lines().collect();
            let before = lines.len();
            lines.extend(others.iter().flat_map(|o| o.lines()));
            combined = lines.len() != before;
            text = lines
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| format!("{l}\n"))
                .collect();
        }
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

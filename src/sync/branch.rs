//! The git-annex branch as the planner reads it: each key's metadata log now (the branch tip
//! and git-annex's pending journal entry combined, as git-annex combines them), the log at the
//! base commit, and which logs changed since the base. [`Logs`] is what the planner needs;
//! [`Branch`] reads a repository, tests use a map.

use super::snapshot::Item;
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
    base_reader: Option<TreeReader<'a>>,
    /// Keys whose logs changed between the base commit and the tip (`None`: no base).
    changed: Option<HashSet<String>>,
    /// Branch paths with pending journal entries.
    journal: HashSet<String>,
}

impl<'a> Branch<'a> {
    pub fn open(annex: &'a Annex, tip: ObjectId, base: Option<ObjectId>) -> annex::Result<Self> {
        let changed = match base {
            Some(c) if c != tip => {
                let paths = annex.changed_paths(annex.tree_of(c)?, annex.tree_of(tip)?)?;
                Some(
                    paths
                        .iter()
                        .filter_map(|p| key::key_of_metadata_log_path(p))
                        .collect(),
                )
            }
            Some(_) => Some(HashSet::new()),
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
            base_reader: base.map(|c| annex.tree_reader(c)).transpose()?,
            changed,
            journal,
        })
    }

    /// How many keys changed on the branch since the base that this Mixxx does not have.
    pub fn unknown_keys(&self, items: &HashMap<String, Item>) -> usize {
        self.changed
            .as_ref()
            .map_or(0, |c| c.iter().filter(|k| !items.contains_key(*k)).count())
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
        let mut text = self.reader.read(&path)?.unwrap_or_default();
        let in_journal = self.journal.contains(&path);
        if in_journal && let Some(pending) = self.annex.journal_entry(&path)? {
            let mut lines: BTreeSet<&str> = text.lines().collect();
            lines.extend(pending.lines());
            text = lines
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| format!("{l}\n"))
                .collect();
        }
        Ok(Log { text, in_journal })
    }

    fn at_base(&mut self, key: &str) -> annex::Result<String> {
        match &mut self.base_reader {
            Some(reader) => Ok(reader
                .read(&key::metadata_log_path(key))?
                .unwrap_or_default()),
            None => Ok(String::new()),
        }
    }
}

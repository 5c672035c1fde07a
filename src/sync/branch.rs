//! The git-annex branch as the planner reads it: each key's metadata log now (the branch tip,
//! the remote-tracking git-annex branches not merged yet and git-annex's pending journal entry,
//! combined as git-annex combines them), the log at the
//! base commit, and which logs changed since the base; git-mixxx's own files now, at the base
//! and in older commits ([`FileVersions`]), each read only up to a size. [`Logs`] is what the
//! planner needs; [`Branch`] reads a repository, tests use a map. A log beyond the file limit
//! is not read ([`crate::bounds`]): its key is left alone. The keys whose newest line is dated
//! in the future are noted as their logs are read.

use super::snapshot::Items;
use crate::annex::logmet::{self, MetLog, Order};
use crate::annex::{self, Annex, Capped, TreeReader, key};
use crate::bounds;
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
    /// Whether a version of the file is beyond the file limit ([`bounds::FILE_BYTES`]): not
    /// read, and the key left alone.
    pub skipped: bool,
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
    /// The tip and the unmerged remote-tracking branches: where the history starts.
    heads: Vec<ObjectId>,
    base_reader: Option<TreeReader<'a>>,
    /// Keys whose logs changed between the base commit and the tip (`None`: no base).
    changed: Option<HashSet<String>>,
    /// Branch paths with pending journal entries.
    journal: HashSet<String>,
    /// Keys whose base is another key's ([`Branch::base_from`]).
    base_keys: HashMap<String, String>,
    /// Keys read whose newest line is dated in the future, with its time.
    pub future: Vec<(String, Order)>,
    /// This machine's time when the branch was opened (seconds since the epoch).
    opened: i64,
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
                .iter()
                .map(|r| annex.tree_reader(*r))
                .collect::<annex::Result<_>>()?,
            heads: std::iter::once(tip).chain(remotes).collect(),
            base_reader: base.map(|c| annex.tree_reader(c)).transpose()?,
            changed,
            journal,
            base_keys: HashMap::new(),
            future: Vec::new(),
            opened: bounds::now_secs(),
        })
    }

    /// Reads `key`'s log at the base from `old`'s: a file re-tagged in place has a new key,
    /// to which git-annex copied the old key's metadata, and the same Mixxx row.
    pub fn base_from(&mut self, key: &str, old: &str) {
        self.base_keys.insert(key.to_owned(), old.to_owned());
    }

    /// How many keys changed on the branch since the base that this Mixxx does not have.
    pub fn unknown_keys(&self, items: &Items) -> usize {
        self.changed.as_ref().map_or(0, |c| {
            c.iter().filter(|k| !items.contains_key(k.as_str())).count()
        })
    }
}

impl<'a> Branch<'a> {
    /// The file at `path` now: the tip's lines combined with those of the unmerged remote
    /// branches and `extra` (a journal entry), as git-annex's union merge combines them; and
    /// whether lines came from elsewhere than the tip. `None` when a version of it is beyond
    /// the file limit.
    fn combined(
        &mut self,
        path: &str,
        extra: Option<String>,
    ) -> annex::Result<Option<(String, bool)>> {
        let here = self.reader.blob_id(path)?;
        let read = |id| annex::read_blob(&self.annex.repo, id, path);
        let text = match here.map(read).transpose()? {
            Some(None) => return Ok(None),
            found => found.flatten().unwrap_or_default(),
        };
        let mut others = Vec::new();
        for remote in &mut self.remotes {
            let there = remote.blob_id(path)?;
            if there != here {
                match there.map(read).transpose()? {
                    Some(None) => return Ok(None),
                    found => others.extend(found.flatten()),
                }
            }
        }
        others.extend(extra);
        if others.is_empty() {
            return Ok(Some((text, false)));
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
        Ok(Some((text, combined)))
    }

    /// A file of git-mixxx's own now (tip and unmerged remote branches combined, as
    /// git-annex's union merge will), when its versions hold at most `max` bytes together.
    pub fn file_now_within(&mut self, path: &str, max: u64) -> annex::Result<Option<Capped>> {
        let mut blobs: Vec<gix::ObjectId> = Vec::new();
        for reader in std::iter::once(&mut self.reader).chain(&mut self.remotes) {
            if let Some(id) = reader.blob_id(path)?.filter(|id| !blobs.contains(id)) {
                blobs.push(id);
            }
        }
        let repo = &self.annex.repo;
        let mut size = 0;
        for id in &blobs {
            size += repo.find_header(*id)?.size();
        }
        if size > max {
            return Ok(Some(Capped::TooLarge(size)));
        }
        let texts = blobs
            .iter()
            .map(|id| Ok(logmet::text_of(&repo.find_blob(*id)?.data)))
            .collect::<annex::Result<Vec<String>>>()?;
        Ok(match texts.len() {
            0 => None,
            1 => texts.into_iter().next().map(Capped::Text),
            _ => {
                let lines: BTreeSet<&str> = texts.iter().flat_map(|t| t.lines()).collect();
                let text = lines.into_iter().map(|l| format!("{l}\n")).collect();
                Some(Capped::Text(text))
            }
        })
    }

    /// A file of git-mixxx's own now, as [`Branch::file_now`]; `None` when a version of it is
    /// beyond the file limit ([`bounds::FILE_BYTES`]: noted, and read from the blob's header).
    pub fn file_within_limits(&mut self, path: &str) -> annex::Result<Option<String>> {
        Ok(self.combined(path, None)?.map(|(text, _)| text))
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

    /// A file at the base commit, when it holds at most `max` bytes; `None` without a base
    /// commit or without the file in it.
    pub fn file_at_base_within(&mut self, path: &str, max: u64) -> annex::Result<Option<Capped>> {
        let Some(reader) = &mut self.base_reader else {
            return Ok(None);
        };
        reader
            .blob_id(path)?
            .map(|id| annex::read_blob_within(&self.annex.repo, id, max))
            .transpose()
    }

    /// The versions of the file at `path` in the branch's history.
    pub fn file_versions(&self, path: &str, max: u64) -> FileVersions<'a> {
        FileVersions::new(self.annex, self.heads.clone(), path, max)
    }
}

/// Commits of the branch's history [`FileVersions`] reads at most.
pub const HISTORY_COMMITS: usize = 2_000;

/// The versions of one file in the branch's history (from the tip and the unmerged remote
/// branches), newest commit first, each once; versions over a size are skipped, and the walk
/// stops after [`HISTORY_COMMITS`] commits.
pub struct FileVersions<'a> {
    annex: &'a Annex,
    heads: Vec<ObjectId>,
    path: String,
    max: u64,
    walk: Option<gix::revision::Walk<'a>>,
    seen: HashSet<ObjectId>,
    commits: usize,
}

impl<'a> FileVersions<'a> {
    /// The versions of `path` in the history of the commits `heads`, each at most `max` bytes.
    pub fn new(annex: &'a Annex, heads: Vec<ObjectId>, path: &str, max: u64) -> Self {
        FileVersions {
            annex,
            heads,
            path: path.to_owned(),
            max,
            walk: None,
            seen: HashSet::new(),
            commits: 0,
        }
    }

    /// The next older version's text, if any.
    pub fn next_text(&mut self) -> annex::Result<Option<String>> {
        use gix::revision::walk::Sorting;
        use gix::traverse::commit::simple::CommitTimeOrder;
        let repo = &self.annex.repo;
        if self.walk.is_none() {
            let walk = repo
                .rev_walk(self.heads.iter().copied())
                .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
                .all()?;
            self.walk = Some(walk);
        }
        let walk = self.walk.as_mut().expect("started above");
        while self.commits < HISTORY_COMMITS {
            let Some(info) = walk.next() else {
                return Ok(None);
            };
            self.commits += 1;
            let tree = info?.object()?.tree()?;
            let Some(entry) = tree.lookup_entry_by_path(&self.path)? else {
                continue;
            };
            let id = entry.object_id();
            if !entry.mode().is_blob() || !self.seen.insert(id) {
                continue;
            }
            if let Capped::Text(text) = annex::read_blob_within(repo, id, self.max)? {
                return Ok(Some(text));
            }
        }
        Ok(None)
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
        let Some((text, combined)) = self.combined(&path, journal)? else {
            return Ok(Log {
                in_journal,
                skipped: true,
                ..Log::default()
            });
        };
        let beyond = MetLog::beyond_limits(&text);
        if beyond > 0 {
            bounds::note(bounds::Skipped {
                file: path,
                beyond: bounds::Beyond::Entries { count: beyond },
            });
        }
        if let Some(newest) = newest_in_future(&text, self.opened) {
            self.future.push((key.to_owned(), newest));
        }
        Ok(Log {
            text,
            in_journal,
            combined,
            skipped: false,
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

/// The time of a log's newest line, when it is in the future ([`Order::in_future`]).
/// Most lines are told apart by their digits alone.
fn newest_in_future(text: &str, now: i64) -> Option<Order> {
    let limit = now.saturating_add(bounds::FUTURE_SECS).to_string();
    let surely_past = |time: &str| {
        let int = time.split(['.', 's']).next().unwrap_or(time);
        int.bytes().all(|b| b.is_ascii_digit())
            && (int.len() < limit.len() || (int.len() == limit.len() && int <= limit.as_str()))
    };
    text.split(['\n', '\r'])
        .filter_map(|line| line.split(' ').next())
        .filter(|time| !time.is_empty() && !surely_past(time))
        .filter_map(Order::parse)
        .filter(|order| order.in_future(now))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_is_in_the_future_by_its_newest_line() {
        let now = 1_800_000_000;
        let ahead = now + 2 * bounds::FUTURE_SECS;
        let text = format!("1s rating +1\n{ahead}.5s rating +2\n{now}s rating +3\n");
        assert_eq!(
            newest_in_future(&text, now),
            Order::parse(&format!("{ahead}.5s"))
        );
        assert_eq!(newest_in_future(&format!("{now}s x +1\n"), now), None);
        assert!(newest_in_future("99999999999999999999999999999999999999999s x +1", now).is_some());
        assert_eq!(
            newest_in_future("-99999999999s x +1\nnot-a-time x\n", now),
            None
        );
    }
}

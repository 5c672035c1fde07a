//! The git-annex side: the repository's annex identity, the `git-annex` branch (reading logs,
//! diffing trees, appending lines in one commit with a compare-and-swap ref update) and
//! git-annex's journal and its lock, so that direct writes never lose a pending journal entry.

pub mod delta;
pub mod key;
pub mod logmet;
pub mod objects;
pub mod pack;

use crate::bounds;
use crate::error::PathError;
use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

pub const BRANCH: &str = "refs/heads/git-annex";

/// The reflog message of git-mixxx's commits on the git-annex branch.
pub const REFLOG_MESSAGE: &str = "git-mixxx sync";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is not a git-annex repository (no annex.uuid): run `git annex init` first")]
    NotInitialized(PathBuf),
    #[error(
        "this repository has no git-annex branch: run `git annex init` (or `git annex sync`) first"
    )]
    NoBranch,
    #[error(
        "this repository was initialized with annex.tune settings (difference.log); git-mixxx does not support them yet"
    )]
    Tuned,
    #[error(
        "{0} has existed for over 5 seconds: another git command is writing the git-annex branch, or one was killed and left it; if no git or git-annex command is running, remove it (rm '{0}') and sync again"
    )]
    StaleLock(PathBuf),
    #[error(
        "the disk holding the repository's .git is full, so the git-annex branch was not written ({0}): free space and sync again; nothing is lost, the next sync finishes the job"
    )]
    DiskFull(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "the repository's .git cannot be written (read-only file system, or owned by another user): {0}; make it writable (mount it read-write, or sync as its owner) and sync again; `git mixxx status` works meanwhile"
    )]
    ReadOnly(Box<dyn std::error::Error + Send + Sync>),
    #[error("git: {0}")]
    Git(gix::Error),
    #[error(transparent)]
    Io(PathError),
}

impl Error {
    /// `e` as the error that says what to do: a full disk or a read-only `.git` under it,
    /// else `plain(e)`.
    fn classified<E>(e: E, plain: impl FnOnce(E) -> Error) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        use crate::error::{is_disk_full, is_read_only};
        match e {
            e if is_disk_full(&e) => Error::DiskFull(Box::new(e)),
            e if is_read_only(&e) => Error::ReadOnly(Box::new(e)),
            e => plain(e),
        }
    }
}

impl From<gix::Error> for Error {
    fn from(e: gix::Error) -> Self {
        Error::classified(e, Error::Git)
    }
}

impl From<PathError> for Error {
    fn from(e: PathError) -> Self {
        Error::classified(e, Error::Io)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
    move |source| Error::from(crate::error::at(what, path)(source))
}

/// A git-annex repository as git-mixxx sees it.
pub struct Annex {
    pub repo: gix::Repository,
    pub uuid: String,
    annex_dir: PathBuf,
}

/// git-annex's journal lock, held (fcntl, as git-annex takes it) until dropped.
pub struct JournalLock {
    _file: File,
}

impl Annex {
    pub fn open(repo: gix::Repository) -> Result<Annex> {
        let uuid = repo
            .config_snapshot()
            .string("annex.uuid")
            .map(|u| u.to_string())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::NotInitialized(repo.git_dir().to_owned()))?;
        let annex_dir = repo.common_dir().join("annex");
        let annex = Annex {
            repo,
            uuid,
            annex_dir,
        };
        let tip = annex.tip()?;
        if annex.tree_reader(tip)?.blob_id("difference.log")?.is_some() {
            return Err(Error::Tuned);
        }
        Ok(annex)
    }

    /// The current commit of the git-annex branch.
    pub fn tip(&self) -> Result<ObjectId> {
        let mut reference = self
            .repo
            .try_find_reference(BRANCH)?
            .ok_or(Error::NoBranch)?;
        Ok(reference.peel_to_id()?.detach())
    }

    /// The tips of the remote-tracking git-annex branches (`refs/remotes/*/git-annex`) that
    /// `tip` does not contain yet: what git-annex merges at its next command.
    pub fn unmerged_remotes(&self, tip: ObjectId) -> Result<Vec<ObjectId>> {
        self.unmerged_among(tip, &self.remote_tips()?)
    }

    /// Those of the commits `remotes` that `tip` does not contain, each once.
    pub fn unmerged_among(&self, tip: ObjectId, remotes: &[ObjectId]) -> Result<Vec<ObjectId>> {
        let mut out = Vec::new();
        for &remote in remotes {
            if remote == tip || out.contains(&remote) {
                continue;
            }
            let base = self.repo.merge_base(remote, tip)?.map(|b| b.detach());
            if base != Some(remote) {
                out.push(remote);
            }
        }
        Ok(out)
    }

    /// The commits of the remote-tracking git-annex branches, by ref name.
    pub fn remote_tips(&self) -> Result<Vec<ObjectId>> {
        let platform = self.repo.references().map_err(gix::Error::from_error)?;
        let mut out = Vec::new();
        for reference in platform.remote_branches().map_err(gix::Error::from_error)? {
            let mut reference = reference.map_err(gix::Error::from_error)?;
            if !reference.name().as_bstr().ends_with(b"/git-annex") {
                continue;
            }
            out.push(reference.peel_to_id()?.detach());
        }
        Ok(out)
    }

    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        Ok(self.repo.find_commit(commit)?.tree_id()?.detach())
    }

    pub fn tree_reader(&self, commit: ObjectId) -> Result<TreeReader<'_>> {
        Ok(TreeReader::new(&self.repo, self.tree_of(commit)?))
    }

    /// Takes git-annex's journal lock (waiting for git-annex to release it).
    pub fn lock_journal(&self) -> Result<JournalLock> {
        self.journal_lock(true)
            .map(|l| l.expect("a blocking lock is always taken"))
    }

    /// Takes git-annex's journal lock if it is free; `None` when someone holds it.
    pub fn try_lock_journal(&self) -> Result<Option<JournalLock>> {
        self.journal_lock(false)
    }

    fn journal_lock(&self, wait: bool) -> Result<Option<JournalLock>> {
        let path = self.annex_dir.join("journal.lck");
        std::fs::create_dir_all(&self.annex_dir).map_err(io("creating", &self.annex_dir))?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io("opening", &path))?;
        use rustix::fs::FlockOperation::{LockExclusive, NonBlockingLockExclusive};
        let op = if wait {
            LockExclusive
        } else {
            NonBlockingLockExclusive
        };
        match rustix::fs::fcntl_lock(&file, op) {
            Ok(()) => Ok(Some(JournalLock { _file: file })),
            Err(e)
                if !wait && (e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS) =>
            {
                Ok(None)
            }
            Err(e) => Err(io("locking", &path)(e.into())),
        }
    }

    fn journal_path(&self, branch_path: &str) -> PathBuf {
        self.annex_dir
            .join("journal")
            .join(key::journal_file_name(branch_path))
    }

    /// The pending (uncommitted) content git-annex holds for a branch path, if any.
    pub fn journal_entry(&self, branch_path: &str) -> Result<Option<String>> {
        let path = self.journal_path(branch_path);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(logmet::text_of(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("reading", &path)(e)),
        }
    }

    /// The journal's entries (file names) with their stat, for change detection.
    pub fn journal_entries(&self) -> Vec<(std::ffi::OsString, std::fs::Metadata)> {
        let Ok(dir) = std::fs::read_dir(self.annex_dir.join("journal")) else {
            return Vec::new();
        };
        let mut entries: Vec<_> = dir
            .flatten()
            .filter_map(|e| Some((e.file_name(), e.metadata().ok()?)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    /// Whether git-annex has any uncommitted journal entries.
    pub fn journal_is_empty(&self) -> bool {
        std::fs::read_dir(self.annex_dir.join("journal"))
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
    }

    /// The branch paths that have journal entries (the inverse of the journal's file naming).
    pub fn journal_branch_paths(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.annex_dir.join("journal")) else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .map(|name| {
                let mut out = String::with_capacity(name.len());
                let mut chars = name.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '_' {
                        if chars.peek() == Some(&'_') {
                            chars.next();
                            out.push('_');
                        } else {
                            out.push('/');
                        }
                    } else {
                        out.push(c);
                    }
                }
                out
            })
            .collect()
    }

    /// Replaces a journal entry's content atomically (call with the journal lock held).
    pub fn write_journal_entry(&self, branch_path: &str, content: &str) -> Result<()> {
        let path = self.journal_path(branch_path);
        let tmp_dir = self.annex_dir.join("othertmp");
        std::fs::create_dir_all(&tmp_dir).map_err(io("creating", &tmp_dir))?;
        let tmp = tempfile::NamedTempFile::new_in(&tmp_dir)
            .map_err(io("creating a file in", &tmp_dir))?;
        std::fs::write(tmp.path(), logmet::bytes_of(content)).map_err(io("writing", tmp.path()))?;
        tmp.persist(&path)
            .map_err(|e| io("replacing", &path)(e.error))?;
        Ok(())
    }

    /// Writes `files` (full new contents) on top of `parent` as one commit and moves the
    /// branch to it only if it still points at `parent`. Returns `None` when it moved.
    ///
    /// The new objects are collected in memory and written as one pack (a few loose objects
    /// for small commits): a large sync would otherwise create hundreds of thousands of loose
    /// files, each a full filesystem block.
    pub fn commit(
        &self,
        parent: ObjectId,
        files: Vec<(String, Vec<u8>)>,
        message: &str,
    ) -> Result<Option<ObjectId>> {
        let mut objects = objects::NewObjects::new(self.repo.object_hash());
        let tree = objects.tree_with(&self.repo, self.tree_of(parent)?, files)?;
        let signature = self.signature();
        let commit = gix::objs::Commit {
            tree,
            parents: [parent].into_iter().collect(),
            author: signature.clone(),
            committer: signature.clone(),
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        let id = objects.add_object(&commit)?;
        self.store(objects.into_list())?;
        Ok(self.move_branch(parent, id, &signature)?.then_some(id))
    }

    /// Writes objects kept in memory to the object database.
    fn store(&self, objects: Vec<pack::Object>) -> Result<()> {
        /// Up to this many objects are written loose, as git itself does for small pushes.
        const LOOSE_LIMIT: usize = 100;
        if objects.len() <= LOOSE_LIMIT {
            use gix::objs::Write as _;
            for (_, kind, data) in &objects {
                self.repo.objects.write_buf(*kind, data)?;
            }
            return Ok(());
        }
        let pack_dir = self.repo.objects.store_ref().path().join("pack");
        pack::write(&pack_dir, self.repo.object_hash(), &objects)
    }

    /// Compare-and-swap of the branch ref; `false` when it no longer points at `expected`.
    fn move_branch(
        &self,
        expected: ObjectId,
        new: ObjectId,
        committer: &gix::actor::Signature,
    ) -> Result<bool> {
        use gix::refs::transaction::{LogChange, PreviousValue, RefEdit};
        // The reflog entry is how this clone knows its own commits later (whatever the
        // repository's `core.logAllRefUpdates`): see `state::vouch`.
        let edit = RefEdit::update_with_log(
            BRANCH.try_into().map_err(gix::Error::from_error)?,
            new,
            PreviousValue::MustExistAndMatch(gix::refs::Target::Object(expected)),
            LogChange {
                force_create_reflog: true,
                message: REFLOG_MESSAGE.into(),
                ..LogChange::default()
            },
        );
        // A concurrent git (or git-annex) may hold the ref's lock file, or packed-refs': retry
        // for up to 5 s while it does, then name the lock (a killed git leaves it behind); any
        // other failure is final.
        let common = self.repo.common_dir();
        let locks = [
            common.join(format!("{BRANCH}.lock")),
            common.join("packed-refs.lock"),
        ];
        let held = || locks.iter().find(|l| l.exists());
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(5) {
            // Our own identity for the reflog: a repository without user.name must work too.
            let mut time = gix::date::parse::TimeBuf::default();
            match self
                .repo
                .edit_references_as([edit.clone()], Some(committer.to_ref(&mut time)))
            {
                Ok(_) => return Ok(true),
                Err(_) if self.tip()? != expected => return Ok(false),
                Err(_) if held().is_some() => {
                    std::thread::sleep(std::time::Duration::from_millis(100))
                }
                Err(e) => return Err(e.into()),
            }
        }
        match held() {
            Some(lock) => Err(Error::StaleLock(lock.clone())),
            None => Ok(false),
        }
    }

    fn signature(&self) -> gix::actor::Signature {
        let config = self.repo.config_snapshot();
        let get = |key: &str, env: &str, fallback: &str| -> BString {
            std::env::var(env)
                .ok()
                .map(BString::from)
                .or_else(|| config.string(key).map(|v| v.to_owned()))
                .unwrap_or_else(|| fallback.into())
        };
        gix::actor::Signature {
            name: get("user.name", "GIT_COMMITTER_NAME", "git-mixxx"),
            email: get("user.email", "GIT_COMMITTER_EMAIL", "git-mixxx@localhost"),
            time: gix::date::Time::now_utc(),
        }
    }

    /// The branch paths whose blobs differ between two trees (added, changed or removed),
    /// descending only into subtrees that differ.
    pub fn changed_paths(&self, old_tree: ObjectId, new_tree: ObjectId) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.diff_trees(Some(old_tree), Some(new_tree), "", &mut out)?;
        Ok(out)
    }

    fn diff_trees(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        prefix: &str,
        out: &mut Vec<String>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let read = |id: Option<ObjectId>| -> Result<HashMap<BString, (bool, ObjectId)>> {
            Ok(match id {
                Some(id) => entries(&self.repo, id)?
                    .into_iter()
                    .map(|(name, is_tree, oid)| (name, (is_tree, oid)))
                    .collect(),
                None => HashMap::new(),
            })
        };
        let old = read(old)?;
        let new = read(new)?;
        let mut names: Vec<&BString> = old.keys().chain(new.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let (a, b) = (old.get(name), new.get(name));
            if a == b {
                continue;
            }
            let path = format!("{prefix}{}", name.to_str_lossy());
            let tree = |e: Option<&(bool, ObjectId)>| e.filter(|(t, _)| *t).map(|(_, id)| *id);
            let (ta, tb) = (tree(a), tree(b));
            if ta.is_some() || tb.is_some() {
                self.diff_trees(ta, tb, &format!("{path}/"), out)?;
            }
            let is_blob = |e: Option<&(bool, ObjectId)>| e.is_some_and(|(t, _)| !*t);
            if is_blob(a) || is_blob(b) {
                out.push(path);
            }
        }
        Ok(())
    }
}

/// A tree's entries: name, whether it is a tree, object id.
fn entries(repo: &gix::Repository, id: ObjectId) -> Result<Vec<(BString, bool, ObjectId)>> {
    let tree = repo.find_tree(id)?;
    let decoded = tree.decode()?;
    Ok(decoded
        .entries
        .iter()
        .map(|e| (e.filename.to_owned(), e.mode.is_tree(), e.oid.to_owned()))
        .collect())
}

/// Reads files of one branch tree by path, caching decoded directories (the top levels of the
/// hash directories are shared by many keys).
pub struct TreeReader<'r> {
    repo: &'r gix::Repository,
    root: ObjectId,
    dirs: HashMap<ObjectId, HashMap<BString, (bool, ObjectId)>>,
}

impl<'r> TreeReader<'r> {
    pub fn new(repo: &'r gix::Repository, root: ObjectId) -> Self {
        TreeReader {
            repo,
            root,
            dirs: HashMap::new(),
        }
    }

    /// Reads another tree from now on (of another commit), keeping the directories decoded so
    /// far: commits share most of them.
    pub fn set_root(&mut self, root: ObjectId) {
        self.root = root;
    }

    /// The entries of the tree `id`; an error when it cannot be read (a tree the branch refers
    /// to must exist).
    fn dir(&mut self, id: ObjectId) -> Result<&HashMap<BString, (bool, ObjectId)>> {
        if !self.dirs.contains_key(&id) {
            let map = entries(self.repo, id)?
                .into_iter()
                .map(|(n, t, o)| (n, (t, o)))
                .collect();
            // Keep only shallow directories cached: the deepest ones are read once per key.
            if self.dirs.len() > 8192 {
                self.dirs.clear();
            }
            self.dirs.insert(id, map);
        }
        Ok(&self.dirs[&id])
    }

    /// The entry `name` of the tree `id`: whether it is a tree, and its id.
    fn entry(&mut self, id: ObjectId, name: &str) -> Result<Option<(bool, ObjectId)>> {
        Ok(self.dir(id)?.get(BStr::new(name)).copied())
    }

    /// The blob id at `path`, if it is a file in this tree.
    pub fn blob_id(&mut self, path: &str) -> Result<Option<ObjectId>> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let Some(dir) = self.tree_id(dir)? else {
            return Ok(None);
        };
        Ok(self
            .entry(dir, name)?
            .and_then(|(is_tree, id)| (!is_tree).then_some(id)))
    }

    /// The tree id of directory `dir` (no trailing slash; empty for the root), if it is one.
    fn tree_id(&mut self, dir: &str) -> Result<Option<ObjectId>> {
        let mut current = self.root;
        if dir.is_empty() {
            return Ok(Some(current));
        }
        for part in dir.split('/') {
            match self.entry(current, part)? {
                Some((true, id)) => current = id,
                _ => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The text of the blob `id`, if it holds at most `max` bytes.
    pub fn read_within(&self, id: ObjectId, max: u64) -> Result<Capped> {
        read_blob_within(self.repo, id, max)
    }

    /// The text at `path`, if any (a file over [`bounds::FILE_BYTES`] is not read: noted, and
    /// `None`).
    pub fn read(&mut self, path: &str) -> Result<Option<String>> {
        match self.blob_id(path)? {
            Some(id) => read_blob(self.repo, id, path),
            None => Ok(None),
        }
    }

    /// The entries directly in directory `dir` (no trailing slash): name and whether each is a
    /// directory, sorted by name; none when there is no such directory.
    fn list(&mut self, dir: &str) -> Result<Vec<(String, bool)>> {
        let Some(id) = self.tree_id(dir)? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<(String, bool)> = self
            .dir(id)?
            .iter()
            .map(|(n, (t, _))| (n.to_str_lossy().into_owned(), *t))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The paths of the files directly in `dir`.
    pub fn files_in(&mut self, dir: &str) -> Result<Vec<String>> {
        Ok(self
            .list(dir)?
            .into_iter()
            .filter(|(_, is_dir)| !is_dir)
            .map(|(name, _)| format!("{dir}/{name}"))
            .collect())
    }

    /// The names of the directories directly in `dir`.
    pub fn dirs_in(&mut self, dir: &str) -> Result<Vec<String>> {
        Ok(self
            .list(dir)?
            .into_iter()
            .filter(|(_, is_dir)| *is_dir)
            .map(|(name, _)| name)
            .collect())
    }
}

/// The text of the blob `id`, the branch file `path`; `None` (noted) when it is larger than
/// [`bounds::FILE_BYTES`], which its object header tells before the object is read.
pub fn read_blob(repo: &gix::Repository, id: ObjectId, path: &str) -> Result<Option<String>> {
    let bytes = repo.find_header(id)?.size();
    if bytes > bounds::FILE_BYTES {
        bounds::note(bounds::Skipped {
            file: path.to_owned(),
            beyond: bounds::Beyond::File { bytes },
        });
        return Ok(None);
    }
    let blob = repo.find_blob(id)?;
    Ok(Some(logmet::text_of(&blob.data)))
}

/// The message of the commit `id`, unless the commit is larger than [`bounds::COMMIT_BYTES`]
/// (then empty, noted: a message that long is no git-mixxx commit's); its size is read from
/// the object header first.
pub fn commit_message(repo: &gix::Repository, id: ObjectId) -> Result<String> {
    let bytes = repo.find_header(id)?.size();
    if bytes > bounds::COMMIT_BYTES {
        note_commit(id, bytes);
        return Ok(String::new());
    }
    message_of(&repo.find_commit(id)?)
}

/// The message of a commit read already, within [`bounds::COMMIT_BYTES`] ([`commit_message`]).
pub fn message_of(commit: &gix::Commit<'_>) -> Result<String> {
    let bytes = commit.data.len() as u64;
    if bytes > bounds::COMMIT_BYTES {
        note_commit(commit.id, bytes);
        return Ok(String::new());
    }
    Ok(String::from_utf8_lossy(commit.message_raw()?).into_owned())
}

fn note_commit(id: ObjectId, bytes: u64) {
    bounds::note(bounds::Skipped {
        file: id.to_string(),
        beyond: bounds::Beyond::Commit { bytes },
    });
}

/// Descriptions of clones from git-annex's `uuid.log` (`UUID description timestamp=T`, newest wins).
pub(crate) fn descriptions(text: &str) -> Vec<(String, String)> {
    let mut lines: Vec<(&str, &str, &str)> = text
        .lines()
        .filter_map(|l| {
            let (uuid, rest) = l.split_once(' ')?;
            let (desc, ts) = rest.rsplit_once(" timestamp=").unwrap_or((rest, ""));
            Some((uuid, desc, ts))
        })
        .collect();
    lines.sort_by(|a, b| a.2.cmp(b.2));
    lines
        .into_iter()
        .map(|(u, d, _)| (u.to_owned(), d.to_owned()))
        .collect()
}

/// A text read only when it is small enough.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capped {
    Text(String),
    /// Larger than allowed: its size in bytes (it was not read).
    TooLarge(u64),
}

/// The blob's text when it holds at most `max` bytes, which its object header tells before
/// anything is read.
pub fn read_blob_within(repo: &gix::Repository, id: ObjectId, max: u64) -> Result<Capped> {
    let size = repo.find_header(id)?.size();
    if size > max {
        return Ok(Capped::TooLarge(size));
    }
    Ok(Capped::Text(logmet::text_of(&repo.find_blob(id)?.data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs git in `dir` with a fixed identity and no user or system configuration; returns
    /// its trimmed output.
    pub(super) fn git(dir: &Path, args: &[&str], input: Option<&str>) -> String {
        use std::io::Write as _;
        let mut child = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("git runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.unwrap_or("").as_bytes())
            .expect("write stdin");
        drop(stdin);
        let out = child.wait_with_output().expect("git finishes");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    /// A tree entry whose object is missing is an error, not an absent file.
    #[test]
    fn unreadable_trees_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "."], None);
        let blob = git(root, &["hash-object", "-w", "--stdin"], Some("text"));
        let missing = "1234567890123456789012345678901234567890";
        let tree = git(
            root,
            &["mktree", "--missing"],
            Some(&format!(
                "040000 tree {missing}\tdir\n100644 blob {blob}\tfile\n"
            )),
        );
        let commit = git(root, &["commit-tree", &tree, "-m", "broken"], None);
        let repo = gix::open(root).unwrap();
        let tree = repo
            .find_commit(ObjectId::from_hex(commit.as_bytes()).unwrap())
            .unwrap()
            .tree_id()
            .unwrap()
            .detach();
        let mut reader = TreeReader::new(&repo, tree);
        assert!(reader.read("dir/file").is_err());
        assert_eq!(reader.read("file").unwrap().as_deref(), Some("text"));
        assert_eq!(reader.read("absent").unwrap(), None);
        assert_eq!(reader.read("absent/file").unwrap(), None);
        assert_eq!(reader.read("file/below").unwrap(), None);
        // A directory is not a file, and telling so needs no read of it.
        assert_eq!(reader.read("dir").unwrap(), None);
        assert!(reader.blob_id("dir/file").is_err());
        assert!(reader.files_in("dir").is_err());
        assert!(reader.dirs_in("dir").is_err());
        assert!(reader.files_in("absent").unwrap().is_empty());
        assert!(reader.dirs_in("file").unwrap().is_empty());
    }

    /// A repository set up as `git annex init` leaves it, as far as git-mixxx looks.
    fn annex_repo(root: &Path) -> (Annex, ObjectId) {
        git(root, &["init", "-q", "."], None);
        git(
            root,
            &[
                "config",
                "annex.uuid",
                "00000000-0000-0000-0000-000000000001",
            ],
            None,
        );
        let blob = git(
            root,
            &["hash-object", "-w", "--stdin"],
            Some("00000000-0000-0000-0000-000000000001 here\n"),
        );
        let tree = git(
            root,
            &["mktree"],
            Some(&format!("100644 blob {blob}\tuuid.log\n")),
        );
        let commit = git(root, &["commit-tree", &tree, "-m", "branch created"], None);
        git(root, &["update-ref", BRANCH, &commit], None);
        let annex = Annex::open(gix::open(root).unwrap()).unwrap();
        let tip = annex.tip().unwrap();
        (annex, tip)
    }

    /// Tracks with equal logs give equal blobs and equal trees: the pack holds each once, and
    /// git accepts it.
    #[test]
    fn packs_hold_each_object_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (annex, parent) = annex_repo(root);
        let mut files = Vec::new();
        for i in 0..150 {
            // Each in a directory of its own name: equal blobs, distinct trees.
            files.push((format!("a/k{i}/k{i}.log.met"), b"1s x +1\n".to_vec()));
            // The same name in different directories: equal blobs and equal trees.
            files.push((format!("b/d{i}/same.log.met"), b"1s y +2\n".to_vec()));
        }
        files.push(("c/one.log.met".to_owned(), b"1s z +3\n".to_vec()));
        let commit = annex
            .commit(parent, files, "test")
            .unwrap()
            .expect("the branch moves");

        let pack_dir = root.join(".git/objects/pack");
        let packs: Vec<PathBuf> = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pack"))
            .collect();
        assert_eq!(packs.len(), 1, "{packs:?}");
        let pack = &packs[0];
        let copy = dir.path().join("copy.idx");
        let copy = copy.to_str().unwrap();
        git(
            root,
            &["index-pack", "--strict", "-o", copy, pack.to_str().unwrap()],
            None,
        );
        git(
            root,
            &["verify-pack", pack.with_extension("idx").to_str().unwrap()],
            None,
        );
        git(root, &["fsck", "--strict", "--no-dangling"], None);

        let new = git(
            root,
            &[
                "rev-list",
                "--objects",
                "--no-object-names",
                &commit.to_string(),
                &format!("^{parent}"),
            ],
            None,
        );
        let distinct: std::collections::HashSet<&str> = new.lines().collect();
        // The 150 `a/k<i>` trees, `b/d<i>` (one), `a`, `b`, `c`, the root, three blobs and the
        // commit.
        assert_eq!(distinct.len(), 150 + 1 + 4 + 3 + 1);
        let bytes = std::fs::read(pack).unwrap();
        let count = u32::from_be_bytes(bytes[8..12].try_into().unwrap());
        assert_eq!(count as usize, distinct.len());
    }
}

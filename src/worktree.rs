//! Mapping Mixxx's absolute track paths to git-annex keys: path → path inside the work tree
//! (under the work tree as given, canonicalized, or a `mixxx.prefix`; else, its folder with
//! symlinks resolved, under the canonical work tree) → key from the index (locked symlinks and
//! unlocked pointer files), without running git-annex per file. And back: where Mixxx sees a
//! work-tree path ([`Views`]).

use crate::annex::key;
use gix::ObjectId;
use gix::bstr::ByteSlice;
use std::borrow::Cow;
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

/// A git-annex key as the keys cache and the keyed library share it (one allocation for both).
pub type Key = std::sync::Arc<str>;

/// An index entry of a Mixxx location: its path in the work tree, blob id and whether it is a
/// symlink (a locked file).
type Entry<'a> = (Cow<'a, str>, ObjectId, bool);

/// A Mixxx location as a share of [`Mapper::keys`] found it: its path and key where its blob's
/// key was known, else its index entry.
enum Looked<'a> {
    Keyed(String, Key),
    Entry(Entry<'a>),
}

/// A share of [`Mapper::keys`]'s work: the locations looked up, and keys read from symlinks.
struct Part<'a> {
    entries: Vec<Result<Looked<'a>, Skip>>,
    found: Vec<(ObjectId, Key)>,
}

fn relative<'a>(prefixes: &[String], location: &'a str) -> Option<&'a str> {
    prefixes
        .iter()
        .find_map(|p| location.strip_prefix(p.as_str()))
        .filter(|rel| !rel.is_empty())
}

/// Mixxx folders (as Mixxx names them, no trailing `/`) that are the work tree or in it once
/// symlinks are resolved (on either side), by their path inside the work tree (`""` for the
/// root, else with a trailing `/`); `None` for a folder outside it. Learned per folder, and
/// only for locations that the plain comparison with the prefixes does not place.
#[derive(Default)]
struct Folders {
    /// The canonical work tree, with a trailing `/`.
    root: Option<String>,
    inside: HashMap<String, Option<String>>,
}

impl Folders {
    /// Resolves the folders of those of `locations` that no prefix places and that are new.
    fn learn(&mut self, prefixes: &[String], locations: &[&str]) {
        let Some(root) = self.root.as_deref() else {
            return;
        };
        let mut new: Vec<&str> = locations
            .iter()
            .filter(|l| relative(prefixes, l).is_none())
            .filter_map(|l| Some(l.rsplit_once('/')?.0))
            .filter(|dir| !self.inside.contains_key(*dir))
            .collect();
        new.sort_unstable();
        new.dedup();
        let resolved = crate::on_cores(&new, 64, |dirs| {
            dirs.iter().map(|d| inside(root, d)).collect::<Vec<_>>()
        });
        for (dir, rel) in new.into_iter().zip(resolved.into_iter().flatten()) {
            self.inside.insert(dir.to_owned(), rel);
        }
    }

    /// The work-tree path of a location whose folder was learned inside the work tree.
    fn relative(&self, location: &str) -> Option<String> {
        let (dir, name) = location.rsplit_once('/')?;
        let rel = self.inside.get(dir)?.as_ref()?;
        Some(format!("{rel}{name}")).filter(|_| !name.is_empty())
    }
}

/// `path` with symlinks resolved: its nearest existing ancestor canonicalized, the rest (folders
/// that are gone, such as one renamed since Mixxx scanned it) appended as it is.
fn canonical(path: &Path) -> Option<PathBuf> {
    let mut missing = Vec::new();
    let mut at = path;
    loop {
        match std::fs::canonicalize(at) {
            Ok(found) => return Some(missing.iter().rev().fold(found, |p, name| p.join(name))),
            Err(_) => {
                missing.push(at.file_name()?);
                at = at.parent()?;
            }
        }
    }
}

/// The path inside the work tree (canonical `root`, with a trailing `/`) of folder `dir`,
/// symlinks resolved: `""` for the root, else with a trailing `/`; `None` outside it.
fn inside(root: &str, dir: &str) -> Option<String> {
    let dir = as_prefix(&canonical(Path::new(dir))?)?;
    dir.strip_prefix(root).map(str::to_owned)
}

/// What the threads of [`Mapper::keys`] share (all of it read-only).
struct Lookup<'m> {
    prefixes: &'m [String],
    index: &'m gix::index::File,
    workdir: Option<&'m Path>,
    known: &'m HashMap<ObjectId, Key>,
    hash: gix::hash::Kind,
    /// Index entries whose path is not UTF-8, by the path as Mixxx stores it (invalid bytes
    /// as U+FFFD, as Qt decodes file names).
    not_utf8: &'m HashMap<String, usize>,
    folders: &'m Folders,
}

impl Lookup<'_> {
    /// The index entry of a Mixxx location.
    fn entry<'a>(&self, location: &'a str) -> Result<Entry<'a>, Skip> {
        let rel = match relative(self.prefixes, location) {
            Some(rel) => Cow::Borrowed(rel),
            None => Cow::Owned(self.folders.relative(location).ok_or(Skip::OutsideRepo)?),
        };
        use gix::index::entry::Mode;
        let entry = self
            .index
            .entry_by_path(rel.as_bytes().as_bstr())
            .or_else(|| self.not_utf8.get(&*rel).map(|i| &self.index.entries()[*i]))
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
        // Known keys are taken here, on all cores (their paths and keys made too).
        let look = |entry: Entry<'a>| match self.known.get(&entry.1) {
            Some(key) => Looked::Keyed(entry.0.into_owned(), key.clone()),
            None => Looked::Entry(entry),
        };
        let entries: Vec<_> = locations.iter().map(|l| self.entry(l).map(look)).collect();
        let found = match self.workdir {
            Some(workdir) => {
                let mut links: Vec<(&str, ObjectId)> = entries
                    .iter()
                    .flatten()
                    .filter_map(|looked| match looked {
                        Looked::Entry((rel, blob, true)) => Some((&**rel, *blob)),
                        _ => None,
                    })
                    .collect();
                // By path: the files of a folder in a row, which opens it once.
                links.sort_unstable();
                let mut reader = Links::new(workdir);
                links
                    .into_iter()
                    .filter_map(|(rel, blob)| {
                        let target = reader.read(rel)?;
                        Some((blob, key_from_link(&target, blob, self.hash)?.into()))
                    })
                    .collect()
            }
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
    keys_by_blob: HashMap<ObjectId, Key>,
    /// Blobs seen to be no annexed file's.
    not_annexed: HashSet<ObjectId>,
    /// Whether `keys_by_blob` gained keys.
    learned: bool,
    /// See [`Lookup::not_utf8`].
    not_utf8: HashMap<String, usize>,
    folders: Folders,
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
        let mut folders = Folders::default();
        if let Some(workdir) = repo.workdir() {
            let absolute = std::path::absolute(workdir).unwrap_or_else(|_| workdir.to_owned());
            prefixes.extend(as_prefix(&absolute));
            if let Ok(canonical) = std::fs::canonicalize(workdir) {
                folders.root = as_prefix(&canonical);
                prefixes.extend(folders.root.clone());
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
            folders,
            keys_by_blob: HashMap::new(),
            not_annexed: HashSet::new(),
            learned: false,
        })
    }

    /// Keys already known by blob id (from the local cache).
    pub fn remember(&mut self, known: HashMap<ObjectId, Key>) {
        if self.keys_by_blob.is_empty() {
            self.keys_by_blob = known;
        } else {
            self.keys_by_blob.extend(known);
        }
    }

    /// Every blob id → key known, for the local cache, and whether any was learned here.
    pub fn into_known(self) -> (HashMap<ObjectId, Key>, bool) {
        (self.keys_by_blob, self.learned)
    }

    /// The path inside the work tree of an absolute Mixxx location (one whose folder is
    /// reached through a symlink only once [`Mapper::keys`] has seen it).
    pub fn relative<'a>(&self, location: &'a str) -> Option<Cow<'a, str>> {
        match relative(&self.prefixes, location) {
            Some(rel) => Some(Cow::Borrowed(rel)),
            None => self.folders.relative(location).map(Cow::Owned),
        }
    }

    /// Every annexed file of the index: its path in the work tree and its key.
    pub fn annexed(&mut self) -> Vec<(String, String)> {
        self.annexed_at(&[])
    }

    /// The annexed files of the index at `paths` (repository paths of files or folders; all
    /// of them when empty): their path in the work tree and their key.
    pub fn annexed_at(&mut self, paths: &[String]) -> Vec<(String, String)> {
        self.annexed_but(paths, |_| false, |_| false)
    }

    /// [`Mapper::annexed_at`] all `paths`, but the files at an `unwanted_path` (a repository
    /// path) and those whose key is known (by their blob) and `unwanted`: those are left out
    /// before their paths are even made.
    pub fn annexed_except(
        &mut self,
        unwanted_path: impl Fn(&[u8]) -> bool,
        unwanted: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        self.annexed_but(&[], unwanted_path, unwanted)
    }

    fn annexed_but(
        &mut self,
        paths: &[String],
        unwanted_path: impl Fn(&[u8]) -> bool,
        unwanted: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
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
            .filter(|e| !unwanted_path(e.path(&self.index)))
            .filter(|e| !self.keys_by_blob.get(&e.id).is_some_and(|k| unwanted(k)))
            .filter_map(|e| Some(format!("{workdir}{}", e.path(&self.index).to_str().ok()?)))
            .collect();
        let locations: Vec<&str> = locations.iter().map(String::as_str).collect();
        let found = self.keys(&locations).into_iter().flatten();
        found.map(|(path, key)| (path, key.to_string())).collect()
    }

    /// The repo path and key of each Mixxx location, or why there is none.
    ///
    /// Keys of blobs not seen before come from the locked files' symlinks in the work tree,
    /// read on all cores and checked against the index by hashing (much cheaper than
    /// inflating the blobs), else from the object database.
    pub fn keys(&mut self, locations: &[&str]) -> Vec<Result<(String, Key), Skip>> {
        self.folders.learn(&self.prefixes, locations);
        let index: &gix::index::File = &self.index;
        let this = Lookup {
            prefixes: &self.prefixes,
            index,
            workdir: self.workdir.as_deref(),
            known: &self.keys_by_blob,
            hash: self.repo.object_hash(),
            not_utf8: &self.not_utf8,
            folders: &self.folders,
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
            .map(|looked| {
                let (rel, blob, symlink) = match looked? {
                    Looked::Keyed(path, key) => return Ok((path, key)),
                    Looked::Entry(entry) => entry,
                };
                if let Some(known) = self.keys_by_blob.get(&blob) {
                    return Ok((rel.into_owned(), known.clone()));
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
                        let key = Key::from(key);
                        self.keys_by_blob.insert(blob, key.clone());
                        Ok((rel.into_owned(), key))
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

/// Where Mixxx sees the work tree: its library folders that are the work tree, in it or above
/// it once symlinks are resolved, so that a file added to Mixxx gets the path Mixxx's own scan
/// of that folder would give it.
#[derive(Debug, Default)]
pub struct Views {
    /// (path inside the work tree, `""` or with a trailing `/`; the location Mixxx gives it,
    /// with a trailing `/`; the library folder it is in), deepest first.
    views: Vec<(String, String, String)>,
}

impl Views {
    /// The views of Mixxx's library folders `folders` on the work tree `workdir`.
    pub fn new(workdir: &Path, folders: &[String]) -> Views {
        let Some(root) = std::fs::canonicalize(workdir)
            .ok()
            .and_then(|r| as_prefix(&r))
        else {
            return Views::default();
        };
        let mut views = Vec::new();
        for folder in folders {
            let folder = folder.trim_end_matches('/');
            let Some(seen) = canonical(Path::new(folder)).and_then(|c| as_prefix(&c)) else {
                continue;
            };
            if let Some(rel) = seen.strip_prefix(&root) {
                views.push((rel.to_owned(), format!("{folder}/"), folder.to_owned()));
            } else if let Some(below) = root.strip_prefix(&seen) {
                views.push((
                    String::new(),
                    format!("{folder}/{below}"),
                    folder.to_owned(),
                ));
            }
        }
        views.sort_by_key(|(rel, _, _)| std::cmp::Reverse(rel.len()));
        Views { views }
    }

    /// Where Mixxx sees the work-tree path `path`, and the library folder that holds it; `None`
    /// when no library folder does.
    pub fn location(&self, path: &str) -> Option<(String, &str)> {
        self.views.iter().find_map(|(rel, seen, folder)| {
            let rest = path.strip_prefix(rel.as_str())?;
            Some((format!("{seen}{rest}"), folder.as_str()))
        })
    }
}

/// The location a row at `location` (work-tree path `path`) gets when it moves to work-tree
/// path `to`: under the Mixxx folder that `location` names `path`'s folder by, where `to` is
/// in that folder; else under `root` (the work tree as Mixxx names it, with a trailing `/`).
pub fn moved_location(location: &str, path: &str, to: &str, root: &str) -> String {
    let (mut seen, mut rel) = (location, path);
    while let (Some((s, a)), Some((r, b))) = (seen.rsplit_once('/'), rel.rsplit_once('/')) {
        if a != b {
            break;
        }
        (seen, rel) = (s, r);
    }
    if let Some((s, name)) = seen.rsplit_once('/')
        && name == rel
    {
        return format!("{s}/{to}");
    }
    match to.strip_prefix(rel).and_then(|t| t.strip_prefix('/')) {
        Some(rest) => format!("{seen}/{rest}"),
        None => format!("{root}{to}"),
    }
}

/// The key a locked file's symlink points to, if the link is the index's blob `blob` (the
/// work tree may have changed since it was staged).
fn key_from_link(target: &[u8], blob: ObjectId, hash: gix::hash::Kind) -> Option<String> {
    let id = gix::objs::compute_hash(hash, gix::objs::Kind::Blob, target).ok()?;
    if id == blob {
        key::key_from_symlink_target(target)
    } else {
        None
    }
}

/// Reads the work tree's symlinks, each in its folder, which is opened once for the files of
/// it that come in a row: the kernel then resolves only the link's name, not its whole path
/// (at 100,000 files, most of the cost of reading them).
struct Links<'w> {
    workdir: &'w Path,
    /// The folder opened last, by its path in the work tree.
    folder: Option<(String, rustix::fd::OwnedFd)>,
}

impl<'w> Links<'w> {
    fn new(workdir: &'w Path) -> Self {
        Links {
            workdir,
            folder: None,
        }
    }

    /// The target of the symlink at `rel` (a `/`-separated path in the work tree).
    fn read(&mut self, rel: &str) -> Option<Vec<u8>> {
        use rustix::fs::{Mode, OFlags};
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if self.folder.as_ref().is_none_or(|(open, _)| open != dir) {
            self.folder = None;
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let path = self.workdir.join(dir);
            let fd = rustix::fs::openat(rustix::fs::CWD, &path, flags, Mode::empty()).ok()?;
            self.folder = Some((dir.to_owned(), fd));
        }
        let (_, fd) = self.folder.as_ref()?;
        let target = rustix::fs::readlinkat(fd, name, Vec::new()).ok()?;
        Some(target.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_row_stays_under_the_folder_mixxx_names() {
        let root = "/data/repo/";
        // Mixxx sees the work tree as /home/dj/Music (a symlink): the same prefix.
        let at = "/home/dj/Music/House/a.flac";
        assert_eq!(
            moved_location(at, "House/a.flac", "Techno/a.flac", root),
            "/home/dj/Music/Techno/a.flac"
        );
        // Mixxx sees the work tree's folder music/ as /home/dj/Music.
        let at = "/home/dj/Music/House/a.flac";
        assert_eq!(
            moved_location(at, "music/House/a.flac", "music/b.flac", root),
            "/home/dj/Music/b.flac"
        );
        // A move out of that folder goes under the work tree.
        assert_eq!(
            moved_location(at, "music/House/a.flac", "other/a.flac", root),
            "/data/repo/other/a.flac"
        );
        // Names that are not whole components never match (no slicing inside a name).
        assert_eq!(
            moved_location("/m/ééa.flac", "a.flac", "b.flac", root),
            "/data/repo/b.flac"
        );
    }

    #[test]
    fn folders_reached_through_symlinks_are_seen_where_mixxx_sees_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("disk/repo");
        std::fs::create_dir_all(repo.join("music/House")).expect("mkdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("mkdir");
        std::os::unix::fs::symlink(&repo, home.join("Music")).expect("symlink");
        std::os::unix::fs::symlink(repo.join("music"), home.join("Tracks")).expect("symlink");
        let home = home.to_str().expect("utf-8");
        let folders = [
            format!("{home}/Music/music"),
            format!("{home}/Tracks/House"),
        ];
        let views = Views::new(&repo, &folders);
        assert_eq!(
            views.location("music/House/a.flac"),
            Some((format!("{home}/Tracks/House/a.flac"), folders[1].as_str()))
        );
        assert_eq!(
            views.location("music/b.flac"),
            Some((format!("{home}/Music/music/b.flac"), folders[0].as_str()))
        );
        assert_eq!(views.location("other/c.flac"), None);
        // A folder above the work tree sees it under its own name.
        let canonical_root = std::fs::canonicalize(&repo).expect("canonical");
        let parent = canonical_root
            .parent()
            .expect("parent")
            .to_str()
            .expect("utf-8");
        let views = Views::new(&repo, &[parent.to_owned()]);
        assert_eq!(
            views.location("x.flac").map(|(l, _)| l),
            Some(format!("{parent}/repo/x.flac"))
        );
    }

    #[test]
    fn locations_through_symlinked_folders_map_into_the_work_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        let repo = root.join("disk/repo");
        std::fs::create_dir_all(repo.join("music")).expect("mkdir");
        std::os::unix::fs::symlink(&repo, root.join("Music")).expect("symlink");
        let mut folders = Folders {
            root: as_prefix(&repo),
            inside: HashMap::new(),
        };
        let music = root.join("Music").to_str().expect("utf-8").to_owned();
        let (a, gone, outside) = (
            format!("{music}/music/a.flac"),
            format!("{music}/music/Renamed/b.flac"),
            format!("{}/c.flac", root.display()),
        );
        folders.learn(&[], &[a.as_str(), gone.as_str(), outside.as_str()]);
        assert_eq!(folders.relative(&a).as_deref(), Some("music/a.flac"));
        assert_eq!(
            folders.relative(&gone).as_deref(),
            Some("music/Renamed/b.flac"),
            "a folder that is gone resolves through its nearest existing one"
        );
        assert_eq!(folders.relative(&outside), None);
        // A location the plain prefixes place is not resolved again.
        let plain = format!("{}/music/d.flac", repo.display());
        let prefixes = [as_prefix(&repo).expect("prefix")];
        folders.learn(&prefixes, &[plain.as_str()]);
        assert!(
            !folders
                .inside
                .contains_key(&format!("{}/music", repo.display()))
        );
    }

    #[test]
    fn path_hashes_are_stable_across_builds() {
        // Saved on disk: the values must never change with the Rust release or the platform.
        assert_eq!(path_hash(b""), 0x2d06800538d394c2);
        assert_eq!(path_hash(b"House/a.flac"), 12_275_248_583_298_225_586);
    }
}

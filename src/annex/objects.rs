//! The new objects of one branch commit, built in memory: the file blobs (hashed on all
//! cores), every tree on their paths merged from the parent's tree, and the commit.
//!
//! git-annex's branch holds one directory per key, so a large sync rewrites about one tree per
//! file. Grouping the sorted paths by directory writes each tree once, reading from the parent
//! only the directories that change; nothing is written to the object database here.
//!
//! Equal contents are equal objects (tracks with identical logs, key directories with equal
//! trees): each is kept once, as a pack must hold every object only once.

use super::Result;
use super::pack::Object;
use gix::ObjectId;
use gix::bstr::{BStr, ByteSlice};
use gix::objs::tree::{Entry, EntryKind};
use gix::objs::{Kind, WriteTo};
use std::collections::HashSet;

/// Objects of one commit, each once, in the order they were first made.
pub struct NewObjects {
    hash: gix::hash::Kind,
    list: Vec<Object>,
    /// The ids in `list`.
    ids: gix::hashtable::HashSet,
}

impl NewObjects {
    pub fn new(hash: gix::hash::Kind) -> Self {
        NewObjects {
            hash,
            list: Vec::new(),
            ids: gix::hashtable::HashSet::default(),
        }
    }

    /// The objects, each once.
    pub fn into_list(self) -> Vec<Object> {
        self.list
    }

    /// Keeps the object unless an equal one is already kept.
    fn push(&mut self, id: ObjectId, kind: Kind, data: Vec<u8>) {
        if self.ids.insert(id) {
            self.list.push((id, kind, data));
        }
    }

    fn add(&mut self, kind: Kind, data: Vec<u8>) -> Result<ObjectId> {
        let id = gix::objs::compute_hash(self.hash, kind, &data)?;
        self.push(id, kind, data);
        Ok(id)
    }

    /// Adds `object` (serialized) and returns its id.
    pub fn add_object(&mut self, object: &impl WriteTo) -> Result<ObjectId> {
        let mut data = Vec::with_capacity(object.size() as usize);
        object
            .write_to(&mut data)
            .map_err(|e| gix::Error::from_error(e))?;
        self.add(object.kind(), data)
    }

    /// Adds the blobs of `files` and the trees above them, merged into the tree `base`;
    /// returns the new root tree. A path given twice keeps its last content.
    pub fn tree_with(
        &mut self,
        repo: &gix::Repository,
        base: ObjectId,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<ObjectId> {
        let mut files = files;
        // Stable, so that of equal paths the last given stays last.
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut paths: Vec<String> = Vec::with_capacity(files.len());
        let mut contents: Vec<Vec<u8>> = Vec::with_capacity(files.len());
        for (path, content) in files {
            if paths.last() == Some(&path) {
                contents.pop();
                paths.pop();
            }
            paths.push(path);
            contents.push(content);
        }
        let ids = hash_all(self.hash, &contents)?;
        self.list.reserve(ids.len());
        self.ids.reserve(ids.len());
        for (id, data) in ids.iter().zip(contents) {
            self.push(*id, Kind::Blob, data);
        }
        let blobs: Vec<(&str, ObjectId)> = paths.iter().map(String::as_str).zip(ids).collect();
        self.dir(repo, Some(base), &blobs)
    }

    /// Writes the tree `existing` (or a new one) with `files`, whose paths are relative to it
    /// and sorted, put in.
    fn dir(
        &mut self,
        repo: &gix::Repository,
        existing: Option<ObjectId>,
        files: &[(&str, ObjectId)],
    ) -> Result<ObjectId> {
        let mut entries: Vec<Entry> = match existing {
            Some(id) => repo
                .find_tree(id)?
                .decode()?
                .entries
                .iter()
                .map(|e| Entry::from(*e))
                .collect(),
            None => Vec::new(),
        };
        let mut new = Vec::new();
        let mut i = 0;
        while i < files.len() {
            let (path, id) = files[i];
            let Some((name, _)) = path.split_once('/') else {
                new.push(Entry {
                    mode: EntryKind::Blob.into(),
                    filename: path.into(),
                    oid: id,
                });
                i += 1;
                continue;
            };
            // Sorted paths keep a directory's files together.
            let end = i + files[i..]
                .iter()
                .take_while(|(p, _)| {
                    p.len() > name.len() && p.starts_with(name) && p.as_bytes()[name.len()] == b'/'
                })
                .count();
            let inner: Vec<(&str, ObjectId)> = files[i..end]
                .iter()
                .map(|(p, id)| (&p[name.len() + 1..], *id))
                .collect();
            // Entries are in git's order, which `Entry`'s `Ord` is.
            let probe = Entry {
                mode: EntryKind::Tree.into(),
                filename: name.into(),
                oid: ObjectId::null(self.hash),
            };
            let old = entries.binary_search(&probe).ok().map(|at| entries[at].oid);
            let tree = self.dir(repo, old, &inner)?;
            new.push(Entry {
                mode: EntryKind::Tree.into(),
                filename: name.into(),
                oid: tree,
            });
            i = end;
        }
        let replaced: HashSet<&BStr> = new.iter().map(|e| e.filename.as_bstr()).collect();
        entries.retain(|e| !replaced.contains(e.filename.as_bstr()));
        entries.extend(new);
        entries.sort();
        self.add_object(&gix::objs::Tree { entries })
    }
}

/// Blob ids of `contents`, hashed on all cores.
fn hash_all(hash: gix::hash::Kind, contents: &[Vec<u8>]) -> Result<Vec<ObjectId>> {
    let parts = crate::on_cores(contents, 1, |part| {
        part.iter()
            .map(|data| gix::objs::compute_hash(hash, Kind::Blob, data))
            .collect::<Result<Vec<_>, _>>()
    });
    let mut ids = Vec::with_capacity(contents.len());
    for part in parts {
        ids.extend(part?);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::tests::git;

    /// Equal contents give one object: blobs of equal logs and the equal trees above them.
    #[test]
    fn equal_objects_are_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "."], None);
        let repo = gix::open(dir.path()).unwrap();
        let empty = gix::ObjectId::empty_tree(repo.object_hash());
        let files = (0..10)
            .flat_map(|i| {
                [
                    (format!("a/{i}"), b"same".to_vec()),
                    (format!("b/{i}/x"), b"same".to_vec()),
                ]
            })
            .collect();
        let mut objects = NewObjects::new(repo.object_hash());
        objects.tree_with(&repo, empty, files).unwrap();
        let list = objects.into_list();
        let ids: HashSet<ObjectId> = list.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(ids.len(), list.len());
        // The blob, the `b/<i>` tree, `a`, `b` and the root.
        assert_eq!(list.len(), 5);
    }

    /// The merged tree is exactly the one git builds from the same index changes.
    #[test]
    fn merged_trees_match_gits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "."], None);
        for (path, text) in [("a/x", "x"), ("a/y", "y"), ("b", "b"), ("c/d/e", "e")] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), text).unwrap();
        }
        git(root, &["add", "."], None);
        git(root, &["commit", "-q", "-m", "base"], None);
        let repo = gix::open(root).unwrap();
        let base = repo.head_tree_id().unwrap().detach();

        let files = vec![
            ("c/d/f".to_owned(), b"new f".to_vec()),
            ("a/x".to_owned(), b"first".to_vec()),
            ("a/x".to_owned(), b"changed x".to_vec()),
            ("a.b".to_owned(), b"beside a".to_vec()),
            ("z/1/2".to_owned(), b"deep".to_vec()),
        ];
        let mut objects = NewObjects::new(repo.object_hash());
        let tree = objects.tree_with(&repo, base, files.clone()).unwrap();
        use gix::objs::Write as _;
        for (_, kind, data) in &objects.into_list() {
            repo.objects.write_buf(*kind, data).unwrap();
        }

        for (path, content) in &files[1..] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), content).unwrap();
        }
        std::fs::write(root.join("c/d/f"), "new f").unwrap();
        git(root, &["add", "."], None);
        assert_eq!(tree.to_string(), git(root, &["write-tree"], None));
        let listing = git(
            root,
            &["ls-tree", "-r", "--name-only", &tree.to_string()],
            None,
        );
        assert_eq!(listing.lines().count(), 7, "{listing}");
    }
}

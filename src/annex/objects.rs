//! The new objects of one branch commit, built in memory: the file blobs (hashed on all
//! cores), every tree on their paths merged from the parent's tree, and the commit.
//!
//! git-annex's branch holds one directory per key, so a large sync rewrites about one tree per
//! file. Grouping the sorted paths by directory writes each tree once, reading from the parent
//! only the directories that change; nothing is written to the object database here.

use super::Result;
use super::pack::Object;
use gix::ObjectId;
use gix::bstr::{BStr, ByteSlice};
use gix::objs::tree::{Entry, EntryKind};
use gix::objs::{Kind, WriteTo};
use std::collections::HashSet;

/// Objects of one commit, in the order they were made.
pub struct NewObjects {
    hash: gix::hash::Kind,
    pub list: Vec<Object>,
}

impl NewObjects {
    pub fn new(hash: gix::hash::Kind) -> Self {
        NewObjects {
            hash,
            list: Vec::new(),
        }
    }

    fn add(&mut self, kind: Kind, data: Vec<u8>) -> Result<ObjectId> {
        let id = gix::objs::compute_hash(self.hash, kind, &data)?;
        self.list.push((id, kind, data));
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
        self.list.extend(
            ids.iter()
                .zip(contents)
                .map(|(id, data)| (*id, Kind::Blob, data)),
        );
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
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str], input: Option<&str>) -> String {
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
            .spawn()
            .expect("git runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.unwrap_or("").as_bytes())
            .expect("write stdin");
        drop(stdin);
        let out = child.wait_with_output().expect("git finishes");
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
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
        for (_, kind, data) in &objects.list {
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

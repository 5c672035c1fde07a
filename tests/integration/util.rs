//! Test-only helpers on top of the shared environment (`tests/support`, re-exported here):
//! a fresh temporary environment per test running the binary cargo built, `git mixxx` calls,
//! annex repositories (a bare "NAS", laptop clones, standalone ones) and values.

pub use crate::support::*;
use git_mixxx::annex::logmet::Values;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Values from `[(field, [values])]`.
pub fn vals(pairs: &[(&str, &[&str])]) -> Values {
    pairs
        .iter()
        .map(|(f, vs)| (f.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

impl Env {
    /// A fresh environment in a temporary directory, running the git-mixxx cargo built.
    pub fn new() -> Env {
        let bin = Path::new(env!("CARGO_BIN_EXE_git-mixxx"))
            .parent()
            .expect("bin dir");
        Env::temp("git-mixxx-test-", bin)
    }

    /// `git mixxx ARGS` (through git, as users run it).
    pub fn mixxx(&self, dir: &Path, args: &[&str]) -> Output {
        let mut all = vec!["mixxx"];
        all.extend_from_slice(args);
        self.output(dir, "git", &all)
    }

    /// `git mixxx ARGS` that must succeed; returns stdout.
    pub fn mixxx_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.mixxx(dir, args);
        assert!(out.status.success(), "git mixxx {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git mixxx sync --json ARGS` on `db`, parsed.
    pub fn sync(&self, dir: &Path, db: &Path, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["sync", "--json", "--db", db.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        serde_json::from_str(&self.mixxx_ok(dir, &all)).expect("sync --json prints JSON")
    }

    /// `git mixxx sync --json` on `db` with `GIT_MIXXX_TRACE`, which must succeed: the report
    /// and the trace of its stages (stderr).
    pub fn traced_sync(&self, dir: &Path, db: &Path) -> (serde_json::Value, String) {
        let db = db.to_str().expect("utf-8 path");
        let out = self
            .command(dir, "git", &["mixxx", "sync", "--json", "--db", db])
            .env("GIT_MIXXX_TRACE", "1")
            .output()
            .expect("run git mixxx sync");
        assert!(out.status.success(), "{}", text(&out));
        let report = serde_json::from_slice(&out.stdout).expect("sync --json prints JSON");
        (report, String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// A bare "NAS" repository with git-annex initialized.
    pub fn nas(&self) -> PathBuf {
        let nas = self.root.join("nas.git");
        self.git(&self.root, &["init", "-q", "--bare", "nas.git"]);
        self.git(&nas, &["annex", "init", "-q", "nas"]);
        nas
    }

    /// A clone of `nas` called `name`, annex-initialized.
    pub fn laptop(&self, nas: &Path, name: &str) -> PathBuf {
        self.git(
            &self.root,
            &["clone", "-q", nas.to_str().expect("utf-8"), name],
        );
        let dir = self.root.join(name);
        self.git(&dir, &["annex", "init", "-q", name]);
        dir
    }

    /// A standalone annex repository.
    pub fn repo(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name);
        self.git(&self.root, &["init", "-q", name]);
        self.git(&dir, &["annex", "init", "-q", name]);
        dir
    }

    /// A repository `music` with one annexed file `a.flac`, and a Mixxx database that rates it
    /// `rating`: (repository, database).
    pub fn one_track(&self, rating: &str) -> (PathBuf, PathBuf) {
        let repo = self.repo("music");
        self.add_files(&repo, &["a.flac"], &[]);
        let db = self.root.join("mixxx/mixxxdb.sqlite");
        create_db(
            &db,
            32,
            &[(loc(&repo, "a.flac"), vals(&[("rating", &[rating])]))],
        );
        (repo, db)
    }

    /// A repository `music` of the annexed files `files` and a Mixxx database (schema
    /// `revision`) where each has `values`, synced once: (repository, database).
    pub fn synced_library(
        &self,
        files: &[String],
        revision: i64,
        values: &Values,
    ) -> (PathBuf, PathBuf) {
        let repo = self.repo("music");
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        self.add_files(&repo, &names, &[]);
        let db = self.root.join("mixxx/mixxxdb.sqlite");
        let tracks: Vec<_> = files
            .iter()
            .map(|f| (loc(&repo, f), values.clone()))
            .collect();
        create_db(&db, revision, &tracks);
        self.sync(&repo, &db, &[]);
        (repo, db)
    }

    /// Adds files with distinct content to the annex and commits; `unlocked` ones are added
    /// unlocked (pointer files).
    pub fn add_files(&self, repo: &Path, locked: &[&str], unlocked: &[&str]) {
        for (i, name) in locked.iter().chain(unlocked).enumerate() {
            let path = repo.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, format!("audio {i} {name}\n")).expect("write");
        }
        if !locked.is_empty() {
            let mut args = vec!["annex", "add", "-q", "--"];
            args.extend_from_slice(locked);
            self.git(repo, &args);
        }
        if !unlocked.is_empty() {
            let mut args = vec!["annex", "add", "-q", "--"];
            args.extend_from_slice(unlocked);
            self.git(repo, &args);
            let mut args = vec!["annex", "unlock", "-q", "--"];
            args.extend_from_slice(unlocked);
            self.git(repo, &args);
        }
        self.git(repo, &["commit", "-q", "-m", "add music"]);
    }

    /// `git annex find --metadata EXPR`, sorted.
    pub fn find(&self, repo: &Path, expr: &str) -> Vec<String> {
        let mut files: Vec<String> = self
            .git(repo, &["annex", "find", "--metadata", expr])
            .lines()
            .map(str::to_owned)
            .collect();
        files.sort();
        files
    }

    pub fn branch_tip(&self, repo: &Path) -> String {
        self.git(repo, &["rev-parse", "refs/heads/git-annex"])
            .trim()
            .to_owned()
    }

    /// `git annex sync` (no content) in `repo`.
    pub fn annex_sync(&self, repo: &Path) {
        self.git(repo, &["annex", "sync", "-q"]);
    }
}

/// A small deterministic generator (SplitMix64): a randomized test is the same on every run.
pub struct Dice(pub u64);

impl Dice {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

//! The per-test environment: a temp dir with its own HOME, a fixed git identity and no global
//! or system git config; helpers to build annex repositories (a bare "NAS" and laptops),
//! Mixxx databases from the real schema, and to read results back through git-annex itself.

use git_mixxx::annex::logmet::Values;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub root: PathBuf,
    home: PathBuf,
    path: String,
    _dir: tempfile::TempDir,
}

/// Values from `[(field, [values])]`.
pub fn vals(pairs: &[(&str, &[&str])]) -> Values {
    pairs
        .iter()
        .map(|(f, vs)| (f.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("git-mixxx-test-")
            .tempdir()
            .expect("temp dir");
        // Canonical, so that paths compare equal to what git reports.
        let root = std::fs::canonicalize(dir.path()).expect("canonical temp dir");
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("home");
        let bin = Path::new(env!("CARGO_BIN_EXE_git-mixxx"))
            .parent()
            .expect("bin dir");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Env {
            root,
            home,
            path,
            _dir: dir,
        }
    }

    /// A command with the hermetic environment, run in `dir`.
    pub fn command(&self, dir: &Path, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test DJ")
            .env("GIT_AUTHOR_EMAIL", "dj@example.invalid")
            .env("GIT_COMMITTER_NAME", "Test DJ")
            .env("GIT_COMMITTER_EMAIL", "dj@example.invalid");
        cmd
    }

    pub fn output(&self, dir: &Path, program: &str, args: &[&str]) -> Output {
        self.command(dir, program, args).output().expect("spawn")
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn run(&self, dir: &Path, program: &str, args: &[&str]) -> String {
        let out = self.output(dir, program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} in {}: {}",
            dir.display(),
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run(dir, "git", args)
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

    /// The git-annex metadata of a file, as git-annex reports it (without `*lastchanged`).
    pub fn metadata(&self, repo: &Path, file: &str) -> Values {
        let out = self.git(repo, &["annex", "metadata", "--json", "--", file]);
        let json: serde_json::Value = serde_json::from_str(out.trim()).expect("metadata json");
        let mut values = Values::new();
        for (field, vs) in json["fields"].as_object().expect("fields") {
            if field.ends_with("lastchanged") {
                continue;
            }
            let set: BTreeSet<String> = vs
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_str().expect("string").to_owned())
                .collect();
            values.insert(field.clone(), set);
        }
        values
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

/// Creates a Mixxx database with `tracks` (absolute location, values) at `revision`.
pub fn create_db(path: &Path, revision: i64, tracks: &[(String, Values)]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    git_mixxx::demo::create_library(path, revision, tracks).expect("create Mixxx database");
}

/// A database's tracks by location, read through git-mixxx's reader.
pub fn db_values(path: &Path) -> BTreeMap<String, Values> {
    let db = git_mixxx::mixxx::Database::open_read_only(path).expect("open");
    db.read_library()
        .expect("read")
        .tracks
        .into_iter()
        .map(|t| (t.location, t.row.to_values()))
        .collect()
}

/// Runs SQL on a database (as the DJ editing in Mixxx would).
pub fn db_exec(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("pragma");
    conn.execute_batch(sql).expect("sql");
}

/// Location of `file` in `repo`, as Mixxx stores it.
pub fn loc(repo: &Path, file: &str) -> String {
    format!("{}/{file}", repo.display())
}

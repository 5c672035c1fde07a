//! The hermetic command environment: a root directory with its own HOME, no system or global
//! git config, a fixed git identity, and a given git-mixxx binary first on PATH.

use git_mixxx::annex::logmet::Values;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The environment every command runs in; see the module documentation.
pub struct Env {
    /// The canonical root directory (paths under it compare equal to what git reports).
    pub root: PathBuf,
    home: PathBuf,
    bin_dir: PathBuf,
    path: String,
    name: String,
    email: String,
    /// The temporary root, removed on drop; `None` for a root that is kept.
    _dir: Option<tempfile::TempDir>,
}

/// A command's status and output, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Env {
    /// An environment in a new temporary directory named `prefix…`, removed when the
    /// environment is dropped; `bin_dir` holds the git-mixxx binary to run.
    pub fn temp(prefix: &str, bin_dir: &Path) -> Env {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir");
        let mut env = Env::at(dir.path(), bin_dir);
        env._dir = Some(dir);
        env
    }

    /// An environment rooted at `root` (created when missing, kept); `bin_dir` holds the
    /// git-mixxx binary to run.
    pub fn at(root: &Path, bin_dir: &Path) -> Env {
        std::fs::create_dir_all(root).expect("create the root directory");
        let root = std::fs::canonicalize(root).expect("canonical root directory");
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("home");
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Env {
            root,
            home,
            bin_dir: bin_dir.to_owned(),
            path,
            name: "Test DJ".to_owned(),
            email: "dj@example.invalid".to_owned(),
            _dir: None,
        }
    }

    /// The same environment with another git identity (author and committer).
    pub fn with_identity(mut self, name: &str, email: &str) -> Env {
        self.name = name.to_owned();
        self.email = email.to_owned();
        self
    }

    /// The git identity: (name, email).
    pub fn identity(&self) -> (&str, &str) {
        (&self.name, &self.email)
    }

    /// The home directory (`HOME`) of every command.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The git-mixxx binary the environment runs.
    pub fn bin(&self) -> PathBuf {
        self.bin_dir.join("git-mixxx")
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
            .env("GIT_AUTHOR_NAME", &self.name)
            .env("GIT_AUTHOR_EMAIL", &self.email)
            .env("GIT_COMMITTER_NAME", &self.name)
            .env("GIT_COMMITTER_EMAIL", &self.email);
        cmd
    }

    /// Runs a command (no stdin) and returns what it did, whatever its status.
    pub fn output(&self, dir: &Path, program: &str, args: &[&str]) -> Output {
        self.command(dir, program, args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// Runs a command that must succeed, with stdin from the file `stdin` if given (else
    /// none); returns stdout.
    pub fn run_with(
        &self,
        dir: &Path,
        program: &str,
        args: &[&str],
        stdin: Option<&Path>,
    ) -> String {
        let mut cmd = self.command(dir, program, args);
        cmd.stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).expect("open stdin file")),
            None => Stdio::null(),
        });
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "`{program} {}` in {} failed: {}",
            args.join(" "),
            dir.display(),
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn run(&self, dir: &Path, program: &str, args: &[&str]) -> String {
        self.run_with(dir, program, args, None)
    }

    /// `git ARGS` that must succeed; returns stdout.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run(dir, "git", args)
    }

    /// Commits `files` (path, content) onto `repo`'s git-annex branch, in one commit of its
    /// own made with plain git (a temporary index, `commit-tree`, `update-ref`), as another
    /// clone or program sharing the annex can; returns the commit.
    pub fn commit_to_branch(
        &self,
        repo: &Path,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> String {
        let scratch = tempfile::tempdir_in(&self.root).expect("a scratch directory");
        let index = scratch.path().join("index");
        let git = |args: &[&str], stdin: Option<&Path>| {
            let mut cmd = self.command(repo, "git", args);
            cmd.env("GIT_INDEX_FILE", &index);
            cmd.stdin(match stdin {
                Some(p) => Stdio::from(std::fs::File::open(p).expect("open stdin file")),
                None => Stdio::null(),
            });
            let out = cmd.output().expect("git runs");
            assert!(out.status.success(), "git {args:?}: {}", text(&out));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let objects = gix::open(repo).expect("open the repository");
        let mut listing = String::new();
        for (path, content) in files {
            let blob = objects.write_blob(content).expect("write a blob");
            listing.push_str(&format!("100644 {blob}\t{path}\n"));
        }
        let list = scratch.path().join("index-info");
        std::fs::write(&list, listing).expect("write the listing");
        git(&["read-tree", "refs/heads/git-annex"], None);
        git(&["update-index", "--add", "--index-info"], Some(&list));
        let tree = git(&["write-tree"], None);
        let commit = git(
            &[
                "commit-tree",
                &tree,
                "-p",
                "refs/heads/git-annex",
                "-m",
                message,
            ],
            None,
        );
        git(&["update-ref", "refs/heads/git-annex", &commit], None);
        commit
    }

    /// The git-annex metadata of a file, as `git annex metadata --json` reports it (without
    /// the `*lastchanged` fields).
    pub fn metadata(&self, repo: &Path, file: &str) -> Values {
        let out = self.git(repo, &["annex", "metadata", "--json", "--", file]);
        let json: serde_json::Value = serde_json::from_str(out.trim()).expect("metadata JSON");
        json["fields"]
            .as_object()
            .expect("fields")
            .iter()
            .filter(|(field, _)| !field.ends_with("lastchanged"))
            .map(|(field, vs)| {
                let set: BTreeSet<String> = vs
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(|v| v.as_str().expect("string").to_owned())
                    .collect();
                (field.clone(), set)
            })
            .collect()
    }
}

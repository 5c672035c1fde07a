//! A hostile clone: writes the git-annex branch with plain git (a temporary index, `commit-tree`,
//! `update-ref`) and pushes it to the NAS, as anyone with push access can; and what it forges
//! (run records, trailers), plus the peak memory of a git-mixxx run.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Plain git on one clone's git-annex branch.
pub struct Forger<'e> {
    env: &'e Env,
    pub repo: PathBuf,
    index: PathBuf,
}

impl<'e> Forger<'e> {
    pub fn new(env: &'e Env, repo: &Path) -> Forger<'e> {
        let name = repo.file_name().expect("name").to_string_lossy();
        Forger {
            env,
            repo: repo.to_owned(),
            index: env.root.join(format!("forge-index-{name}")),
        }
    }

    /// `git ARGS` with the temporary index, dated `date` (git's format) when given.
    pub fn git(&self, args: &[&str], date: Option<&str>) -> String {
        let mut cmd = self.env.command(&self.repo, "git", args);
        cmd.env("GIT_INDEX_FILE", &self.index);
        if let Some(date) = date {
            cmd.env("GIT_AUTHOR_DATE", date)
                .env("GIT_COMMITTER_DATE", date);
        }
        let out = cmd.stdin(Stdio::null()).output().expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The git-annex branch's tip, after merging what the NAS has.
    pub fn tip(&self) -> String {
        self.env.annex_sync(&self.repo);
        self.git(&["rev-parse", "refs/heads/git-annex"], None)
    }

    /// A file of the branch at `commit`, if there.
    pub fn read(&self, commit: &str, path: &str) -> Option<Vec<u8>> {
        let out = self
            .env
            .command(&self.repo, "git", &["show", &format!("{commit}:{path}")])
            .stdin(Stdio::null())
            .output()
            .expect("git runs");
        out.status.success().then_some(out.stdout)
    }

    /// A commit of `base`'s tree with `files` (path, content) put in, on `parents`.
    pub fn commit(
        &self,
        base: &str,
        files: &[(String, Vec<u8>)],
        parents: &[&str],
        message: &str,
        date: Option<&str>,
    ) -> String {
        self.git(&["read-tree", base], None);
        let blob_file = self.index.with_extension("blob");
        for (path, content) in files {
            std::fs::write(&blob_file, content).expect("write blob");
            let blob = self.git(&["hash-object", "-w", blob_file.to_str().unwrap()], None);
            let info = format!("100644,{blob},{path}");
            self.git(&["update-index", "--add", "--cacheinfo", &info], None);
        }
        let tree = self.git(&["write-tree"], None);
        let message_file = self.index.with_extension("message");
        std::fs::write(&message_file, message).expect("write message");
        let mut args = vec![
            "commit-tree",
            tree.as_str(),
            "-F",
            message_file.to_str().unwrap(),
        ];
        for p in parents {
            args.extend(["-p", p]);
        }
        self.git(&args, date)
    }

    /// Moves the branch from `old` to `new` and pushes it to the NAS.
    pub fn publish(&self, new: &str, old: &str) {
        self.git(&["update-ref", "refs/heads/git-annex", new, old], None);
        self.git(&["push", "-q", "origin", "git-annex"], None);
    }

    /// Commits `files` on top of the branch (as the hostile clone's own commit) and pushes.
    pub fn write(&self, files: &[(String, Vec<u8>)], message: &str) -> String {
        let tip = self.tip();
        let commit = self.commit(&tip, files, &[&tip], message, None);
        self.publish(&commit, &tip);
        commit
    }
}

/// A run record line as git-mixxx writes it, forged: `uuid`, `time`, `id`, `finished`,
/// `pushed`, `marker`.
pub fn record_line(uuid: &str, time: &str, id: &str, finished: bool, pushed: usize) -> String {
    format!(
        r#"{time} {{"time":"{time}","uuid":"{uuid}","host":"vm","db":"x","version":"0.1.0","tracks":1,"pushed":{pushed},"pulled":0,"reconciled":"0000000000000000000000000000000000000000","finished":{finished},"conflict_count":0,"conflicts":[],"marker":"deadbeef","id":"{id}"}}"#
    )
}

/// The clone's annex uuid.
pub fn uuid_of(env: &Env, repo: &Path) -> String {
    env.git(repo, &["config", "annex.uuid"]).trim().to_owned()
}

/// The run id a git-mixxx commit names in its trailer.
pub fn run_of_commit(env: &Env, repo: &Path, commit: &str) -> String {
    let message = env.git(repo, &["show", "-s", "--format=%B", commit]);
    message
        .lines()
        .find_map(|l| l.strip_prefix("git-mixxx-run: "))
        .unwrap_or_else(|| panic!("no run trailer in {message}"))
        .to_owned()
}

/// `git mixxx ARGS` run directly (not through git) in `dir`, under GNU time: its output and
/// its peak resident memory in KiB. (A child's own resource usage would include the memory of
/// the test process it was started from.)
pub fn peak_memory(env: &Env, dir: &Path, args: &[&str]) -> (std::process::Output, u64) {
    let report = env.root.join("peak-memory");
    let bin = env.bin();
    let mut all = vec![
        "-f",
        "%M",
        "-o",
        report.to_str().unwrap(),
        bin.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = env
        .command(dir, "/usr/bin/time", &all)
        .stdin(Stdio::null())
        .output()
        .expect("GNU time runs (the `time` package)");
    let kib = std::fs::read_to_string(&report)
        .expect("GNU time reports")
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("a size in KiB");
    (out, kib)
}

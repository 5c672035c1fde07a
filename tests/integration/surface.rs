//! The surface a DJ and their scripts meet: help and man pages where git looks, completions,
//! JSON that matches its documented schema, errors for mistakes, hooks that cannot be silently
//! inert, conflict lists that stay readable and go away once settled.

use crate::laptops::{edit, set_of, status};
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A repository with `files` annexed and a Mixxx rating each 3, synced once.
fn library(files: &[String]) -> (Env, PathBuf, PathBuf) {
    let env = Env::new();
    let repo = env.repo("music");
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    env.add_files(&repo, &names, &[]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let tracks: Vec<(String, Values)> = files
        .iter()
        .map(|f| (loc(&repo, f), vals(&[("rating", &["3"])])))
        .collect();
    create_db(&db, 32, &tracks);
    env.git(&repo, &["config", "mixxx.db", db.to_str().unwrap()]);
    env.sync(&repo, &db, &[]);
    (env, repo, db)
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i:02}.flac")).collect()
}

/// Every track rated 4 in Mixxx and 1 on the branch since the last sync: a sync meets a
/// conflict on each, which the branch wins.
fn conflict_on_every_track(env: &Env, repo: &Path, db: &Path) -> Value {
    db_exec(db, "UPDATE library SET rating = 4");
    env.git(
        repo,
        &["annex", "metadata", "-q", "--all", "--set", "rating=1"],
    );
    env.sync(repo, db, &[])
}

/// The schema `name` of `docs/schema/`, its references resolved from the same folder.
fn schema(name: &str) -> jsonschema::Validator {
    struct Docs;
    impl jsonschema::Retrieve for Docs {
        fn retrieve(
            &self,
            uri: &jsonschema::Uri<String>,
        ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
            let file = uri.path().as_str().rsplit('/').next().unwrap_or_default();
            let text = std::fs::read_to_string(docs().join(file))?;
            Ok(serde_json::from_str(&text)?)
        }
    }
    let text = std::fs::read_to_string(docs().join(name)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_retriever(Docs)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema")
}

pub fn assert_valid(schema_name: &str, doc: &Value) {
    let validator = schema(schema_name);
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:#?}\n{doc:#}");
}

// One push, one pull and one conflict: `sync -v --json`, `status --json`, an error and
// `install-hooks --json` each print one document that matches its schema in docs/.
#[test]
fn json_documents_match_their_schemas() {
    let files = names(3);
    let (env, repo, db) = library(&files);
    edit(&db, &loc(&repo, "t00.flac"), "rating = 5");
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "rating=1", "t01.flac"],
    );
    edit(&db, &loc(&repo, "t02.flac"), "rating = 4");
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "rating=2", "t02.flac"],
    );
    // A dry run says, in the conditional, what would change, track by track.
    let dry = env.mixxx_ok(&repo, &["sync", "--dry-run"]);
    for line in [
        "Dry run (nothing written), 3 tracks: 1 would be pushed to the branch, 2 would be pulled",
        "t00.flac: rating 3 → 5 (would be pushed)",
        "t01.flac: rating 3 → 1 (would be pulled)",
        "t02.flac: rating 4 → 2 (conflict: would keep the branch's value)",
    ] {
        assert!(dry.contains(line), "{line}\n{dry}");
    }
    let report = env.sync(&repo, &db, &["-v"]);
    assert_valid("sync.json", &report);
    assert_eq!(
        (&report["version"], &report["command"]),
        (&1.into(), &"sync".into())
    );
    let mut actions: Vec<String> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} {} -> {}", c["path"], c["action"], c["old"], c["new"]))
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            r#""t00.flac" "pushed" ["3"] -> ["5"]"#,
            r#""t01.flac" "pulled" ["3"] -> ["1"]"#,
            r#""t02.flac" "conflict" ["4"] -> ["2"]"#,
        ],
        "{report:#}"
    );
    let st = status(&env, &repo, &db);
    assert_valid("status.json", &st);
    assert_eq!(st["conflicts"].as_array().unwrap().len(), 1, "{st:#}");
    let out = env.mixxx(&repo, &["sync", "--json", "no-such-file.flac"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let error: Value = serde_json::from_slice(&out.stdout).expect("the error as JSON");
    assert_valid("error.json", &error);
    let hooks: Value = serde_json::from_str(&env.mixxx_ok(&repo, &["install-hooks", "--json"]))
        .expect("hooks as JSON");
    assert_valid("hooks.json", &hooks);
    let json_of = |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&env.mixxx_ok(&repo, &all)).expect("JSON")
    };
    for doc in [json_of(&["log"]), json_of(&["log", "t00.flac", "-n", "1"])] {
        assert_valid("log.json", &doc);
        assert!(!doc["runs"].as_array().unwrap().is_empty(), "{doc:#}");
    }
    let undo = json_of(&["undo", "--dry-run"]);
    assert_valid("undo.json", &undo);
    let undo = json_of(&["undo"]);
    assert_valid("undo.json", &undo);
    assert!(undo["sync"].is_object(), "{undo:#}");
    let list = json_of(&["restore", "--list"]);
    assert_valid("restore.json", &list);
    let name = list["backups"][0]["name"].as_str().unwrap().to_owned();
    assert_valid("restore.json", &json_of(&["restore", &name]));
    let out = env.mixxx(&repo, &["undo", "--json", "ffffffff"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_valid("error.json", &serde_json::from_slice(&out.stdout).unwrap());
}

// 25 conflicts: the summary and `status` list 20 and say how many more (`-vv` lists all); a
// conflict stays listed until its field is set again (here: the DJ puts their value back) or
// the DJ acknowledges it with `status --ack`.
#[test]
fn conflicts_are_capped_and_stand_until_set_again_or_acknowledged() {
    let files = names(25);
    let (env, repo, db) = library(&files);
    let report = conflict_on_every_track(&env, &repo, &db);
    assert_eq!(report["conflicts"].as_array().unwrap().len(), 25);
    let listed = |out: &str| {
        out.lines()
            .filter(|l| l.contains(": Mixxx 4, branch 1"))
            .count()
    };
    let text = env.mixxx_ok(&repo, &["status"]);
    assert!(text.contains("25 conflicts (listed until"), "{text}");
    assert_eq!(listed(&text), 20, "{text}");
    assert!(text.contains("... and 5 more (-vv lists all)"), "{text}");
    assert_eq!(listed(&env.mixxx_ok(&repo, &["status", "-vv"])), 25);
    // The DJ wanted their 4 on t00 after all.
    edit(&db, &loc(&repo, "t00.flac"), "rating = 4");
    env.sync(&repo, &db, &[]);
    let st = status(&env, &repo, &db);
    let open: Vec<&str> = st["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(open.len(), 24, "{st:#}");
    assert!(!open.contains(&"t00.flac"), "{st:#}");
    let acked = env.mixxx_ok(&repo, &["status", "--ack"]);
    assert!(acked.contains("Acknowledged 24 conflicts"), "{acked}");
    let text = env.mixxx_ok(&repo, &["status"]);
    assert_eq!(listed(&text), 0, "{text}");
    assert_eq!(status(&env, &repo, &db)["conflicts"], serde_json::json!([]));
}

// `git mixxx status | head -1` and `sync --dry-run -vv | head -1`: the reader goes away after
// one line of a long output; git-mixxx exits quietly, without a panic.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let folder = "a folder with a long name, as music folders have ".repeat(3);
    let files: Vec<String> = (0..300)
        .map(|i| format!("{}/{folder}{i:03}.flac", folder.trim()))
        .collect();
    let (env, repo, db) = library(&files);
    db_exec(&db, "UPDATE library SET rating = 5");
    for args in ["status -vv", "sync --dry-run -vv"] {
        let script = format!("git mixxx {args} | head -1");
        let out = env.output(&repo, "sh", &["-c", &script]);
        assert!(out.status.success(), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !said.contains("panicked") && said.is_empty(),
            "{args}: {said}"
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    }
    // The whole output is long enough to fill the pipe.
    let all = env.mixxx_ok(&repo, &["status", "-vv"]);
    assert!(all.len() > 64 * 1024, "{}", all.len());
    let _ = db;
}

// A path that matches no file git tracks is an error, as git's "pathspec did not match".
#[test]
fn a_path_matching_nothing_is_an_error() {
    let (env, repo, _db) = library(&names(1));
    std::fs::create_dir_all(repo.join("empty folder")).unwrap();
    for arg in ["empty folder", "t0"] {
        let out = env.mixxx(&repo, &["sync", arg]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!("pathspec '{arg}' did not match")),
            "{said}"
        );
    }
    let report = env.sync(&repo, &env.root.join("mixxx/mixxxdb.sqlite"), &["t00.flac"]);
    assert_eq!(report["tracks"], 1);
}

// install-hooks in a repository without git-annex says to run `git annex init`.
#[test]
fn install_hooks_needs_git_annex() {
    let env = Env::new();
    env.git(&env.root, &["init", "-q", "plain"]);
    let out = env.mixxx(&env.root.join("plain"), &["install-hooks"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("git annex init"),
        "{}",
        text(&out)
    );
    assert!(!env.root.join("plain/.git/hooks/pre-commit").exists());
}

/// `PATH` without any folder that holds a git-mixxx: a GUI client's, or a cron job's.
fn path_without_git_mixxx() -> String {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|dir| !Path::new(dir).join("git-mixxx").exists())
        .collect::<Vec<_>>()
        .join(":")
}

// A git client whose PATH lacks git-mixxx still syncs through the hooks (they run the binary
// install-hooks found); once that binary is gone too, the git command says in one line that
// the library is NOT synced. `status` shows the hooks and when each last ran.
#[test]
fn hooks_run_git_mixxx_off_path_or_say_they_cannot() {
    let (env, repo, db) = library(&names(1));
    env.mixxx_ok(&repo, &["install-hooks"]);
    let st = status(&env, &repo, &db);
    let pre = |st: &Value| st["hooks"].as_array().unwrap()[0].clone();
    assert_eq!(pre(&st)["name"], "pre-commit");
    assert_eq!(pre(&st)["installed"], true);
    assert_eq!(pre(&st)["last_run"], Value::Null);
    let commit = |message: &str| {
        let mut cmd = env.command(
            &repo,
            "git",
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        cmd.env("PATH", path_without_git_mixxx());
        cmd.output().unwrap()
    };
    edit(&db, &loc(&repo, "t00.flac"), "rating = 5");
    let out = commit("off PATH");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(env.metadata(&repo, "t00.flac")["rating"], set_of(&["5"]));
    let st = status(&env, &repo, &db);
    assert!(pre(&st)["last_run"].is_string(), "{st:#}");
    assert_eq!(pre(&st)["last_outcome"], "synced");
    let text_status = env.mixxx_ok(&repo, &["status"]);
    assert!(
        text_status.contains("pre-commit: installed, last ran"),
        "{text_status}"
    );
    // The binary install-hooks found is gone (uninstalled, moved).
    let hook = repo.join(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).unwrap();
    let exe = env.bin().display().to_string();
    std::fs::write(&hook, script.replace(&exe, "/nowhere/git-mixxx")).unwrap();
    edit(&db, &loc(&repo, "t00.flac"), "rating = 4");
    let out = commit("binary gone");
    assert!(out.status.success(), "the commit goes on: {}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("NOT synced") && said.contains("install-hooks"),
        "{said}"
    );
    assert_eq!(env.metadata(&repo, "t00.flac")["rating"], set_of(&["5"]));
}

// Installed as the README says (`install-man` next to the binary's bin/), the pages are where
// `man` looks: `git help mixxx` and `git mixxx --help` open git-mixxx(1), `man
// git-mixxx-sync` the sync page. `-h` prints the short help.
#[test]
fn help_opens_the_man_page_when_installed() {
    let env = Env::new();
    let prefix = env.root.join("prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let exe = prefix.join("bin/git-mixxx");
    std::fs::copy(env.bin(), &exe).unwrap();
    let out = env.output(&env.root, exe.to_str().unwrap(), &["install-man"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(prefix.join("share/man/man1/git-mixxx.1").exists());
    let path = format!(
        "{}:{}",
        prefix.join("bin").display(),
        path_without_git_mixxx()
    );
    let run = |program: &str, args: &[&str]| {
        let mut cmd = env.command(&env.root, program, args);
        cmd.env("PATH", &path)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat");
        cmd.output().unwrap()
    };
    for (program, args) in [
        ("git", &["help", "mixxx"][..]),
        ("git", &["mixxx", "--help"][..]),
    ] {
        let out = run(program, args);
        let page = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && page.contains("git-mixxx") && page.contains("install-hooks"),
            "{program} {args:?}: {}",
            text(&out)
        );
    }
    let out = run("man", &["git-mixxx-sync"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("--dry-run"),
        "{}",
        text(&out)
    );
    let short = run("git", &["mixxx", "-h"]);
    let short = String::from_utf8_lossy(&short.stdout);
    assert!(short.contains("Usage: git mixxx"), "{short}");
}

// Completion scripts for bash, zsh and fish; in bash, under git's own completion, `git mixxx
// sy<TAB>` completes the subcommand and `git mixxx sync --dr<TAB>` its option.
#[test]
fn completions_for_three_shells_and_under_git() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = env.mixxx_ok(&env.root, &["completions", shell]);
        assert!(
            script.contains("install-hooks") && script.contains("dry-run"),
            "{shell}"
        );
    }
    let script = env.root.join("git-mixxx.bash");
    std::fs::write(&script, env.mixxx_ok(&env.root, &["completions", "bash"])).unwrap();
    let git_completion = "/usr/share/bash-completion/completions/git";
    assert!(
        Path::new(git_completion).exists(),
        "git's bash completion is installed with git"
    );
    let complete = |line: &str| {
        let program = format!(
            "source {git_completion}; source '{}'; read -ra COMP_WORDS <<< '{line}'; \
             COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; \
             __git_wrap__git_main; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        );
        let out = env.output(&env.root, "bash", &["-c", &program]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(complete("git mixxx sy"), "sync");
    assert_eq!(complete("git mixxx sync --dr"), "--dry-run");
    assert_eq!(complete("git mixxx status --a"), "--ack");
}

// A new clone's status says it has never synced and what a first sync would do, including
// the tracks it would skip and why.
#[test]
fn a_new_clones_status_says_what_a_first_sync_would_do() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    // A second track, at a path outside the repository.
    db_exec(
        &db,
        "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, needs_verification)
           VALUES ('/elsewhere/b.flac', 'b.flac', '/elsewhere', 1, 0, 0);
         INSERT INTO library (location, rating) SELECT id, 2 FROM track_locations WHERE location = '/elsewhere/b.flac';",
    );
    assert_eq!(
        db_values(&db)["/elsewhere/b.flac"],
        vals(&[("rating", &["2"])])
    );
    let text = env.mixxx_ok(&repo, &["status", "--db", db.to_str().unwrap()]);
    for line in [
        "Never synced with git-mixxx yet",
        "Now: 1 track to push, 0 to pull",
        "skipped 1 track: 1 outside the repository",
        "git config --add mixxx.prefix PATH",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

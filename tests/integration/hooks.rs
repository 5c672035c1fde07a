//! Hooks: installing them next to git-annex's, propagation across clones with nothing but
//! commits and `git annex sync`, never breaking git, serializing concurrent runs.

use crate::util::*;
use serde_json::json;
use std::path::Path;

/// Sets a file's modification time one minute back.
fn age(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    file.set_modified(past).unwrap();
}

/// Waits until background hook runs (started while git-annex held its lock) are over.
pub fn wait_background(repo: &Path) {
    let dir = repo.join(".git/mixxx");
    for _ in 0..1200 {
        let pending = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("background-"))
            })
            .unwrap_or(false);
        if !pending {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "background hook run did not finish; log:\n{}",
        std::fs::read_to_string(dir.join("hook.log")).unwrap_or_default()
    );
}

fn hook_files(repo: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    [
        "pre-commit",
        "post-merge",
        "post-update-annex",
        "post-checkout",
        "post-receive",
    ]
    .iter()
    .map(|h| {
        (
            h.to_string(),
            std::fs::read(repo.join(".git/hooks").join(h)).ok(),
        )
    })
    .collect()
}

#[test]
fn edits_propagate_through_commit_and_annex_sync_alone() {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    env.add_files(&a, &["a.flac", "b.flac"], &[]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let db_b = env.root.join("mixxx-b/mixxxdb.sqlite");
    create_db(
        &db_a,
        32,
        &[
            (loc(&a, "a.flac"), vals(&[("rating", &["2"])])),
            (loc(&a, "b.flac"), vals(&[])),
        ],
    );
    create_db(
        &db_b,
        39,
        &[
            (loc(&b, "b.flac"), vals(&[])),
            (loc(&b, "a.flac"), vals(&[])),
        ],
    );
    for (repo, db) in [(&a, &db_a), (&b, &db_b)] {
        env.git(repo, &["config", "mixxx.db", db.to_str().unwrap()]);
        env.mixxx_ok(repo, &["install-hooks"]);
    }

    // A edits its Mixxx and makes an unrelated commit: the pre-commit hook pushes the edit.
    db_exec(&db_a, "UPDATE library SET rating = 5, color = 16711680");
    std::fs::write(a.join("notes.txt"), "set list").unwrap();
    env.git(&a, &["add", "notes.txt"]);
    let out = env.output(&a, "git", &["commit", "-q", "-m", "notes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.metadata(&a, "a.flac")["rating"],
        ["5".to_owned()].into()
    );
    assert_eq!(
        env.metadata(&a, "b.flac")["color"],
        ["#FF0000".to_owned()].into()
    );

    // git annex sync on A, then on B: B's Mixxx gets the edit with nothing else run on B.
    // (git-annex runs post-update-annex holding its journal lock, so git-mixxx finishes that
    // run in the background right after; we wait for it, running no git command on B.)
    env.annex_sync(&a);
    env.annex_sync(&b);
    wait_background(&b);
    let values = db_values(&db_b);
    assert_eq!(
        values[&loc(&b, "a.flac")]["rating"],
        ["5".to_owned()].into(),
        "{values:?}"
    );
    assert_eq!(
        values[&loc(&b, "b.flac")]["color"],
        ["#FF0000".to_owned()].into()
    );
    // And B's state on the branch says it reconciled.
    let status: serde_json::Value =
        serde_json::from_str(&env.mixxx_ok(&b, &["status", "--json"])).unwrap();
    assert_eq!(status["pending"]["pulled"], 0, "{status}");
    assert_eq!(status["pending"]["pushed"], 0, "{status}");
}

#[test]
fn git_annex_hook_lines_still_run() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    env.git(&repo, &["config", "mixxx.db", db.to_str().unwrap()]);
    env.mixxx_ok(&repo, &["install-hooks"]);
    let hook = std::fs::read_to_string(repo.join(".git/hooks/pre-commit")).unwrap();
    assert!(
        hook.contains("git annex pre-commit .") && hook.contains("git_mixxx hook pre-commit"),
        "{hook}"
    );
    // An unlocked file added with plain `git add` is still annexed (git-annex's filter and
    // hooks are intact), and the commit ran our hook too.
    env.git(&repo, &["config", "annex.largefiles", "anything"]);
    std::fs::write(repo.join("new.flac"), "new audio").unwrap();
    env.git(&repo, &["add", "new.flac"]);
    env.git(&repo, &["commit", "-q", "-m", "new"]);
    let key = env.git(&repo, &["annex", "lookupkey", "new.flac"]);
    assert!(key.starts_with("SHA256E-"), "{key}");
    assert_eq!(env.find(&repo, "rating=3"), ["a.flac"]);
}

#[test]
fn install_twice_then_uninstall_restores_hooks_byte_for_byte() {
    let env = Env::new();
    let repo = env.repo("music");
    // A user line of their own in git-annex's pre-commit.
    let pre = repo.join(".git/hooks/pre-commit");
    let mut text = std::fs::read_to_string(&pre).unwrap();
    text.push_str("echo user line\n");
    std::fs::write(&pre, text).unwrap();
    let before = hook_files(&repo);
    env.mixxx_ok(&repo, &["install-hooks"]);
    let once = hook_files(&repo);
    assert_ne!(once, before);
    let out = env.mixxx_ok(&repo, &["install-hooks"]);
    assert!(out.contains("already installed"), "{out}");
    assert_eq!(hook_files(&repo), once);
    let pre_text = std::fs::read_to_string(&pre).unwrap();
    assert_eq!(pre_text.matches("git_mixxx hook").count(), 1);
    assert!(
        pre_text.ends_with("git annex pre-commit .\necho user line\n"),
        "{pre_text}"
    );
    assert!(repo.join(".git/hooks/post-update-annex").exists());
    env.mixxx_ok(&repo, &["uninstall-hooks"]);
    assert_eq!(hook_files(&repo), before);
}

#[test]
fn core_hooks_path_is_respected_but_not_for_git_annex_hooks() {
    let env = Env::new();
    let repo = env.repo("music");
    env.git(&repo, &["config", "core.hooksPath", "my-hooks"]);
    env.mixxx_ok(&repo, &["install-hooks"]);
    assert!(repo.join("my-hooks/pre-commit").exists());
    assert!(repo.join("my-hooks/post-merge").exists());
    assert!(repo.join(".git/hooks/post-update-annex").exists());
    assert!(!repo.join("my-hooks/post-update-annex").exists());
    env.mixxx_ok(&repo, &["uninstall-hooks"]);
    assert!(!repo.join("my-hooks/pre-commit").exists());
    assert!(!repo.join(".git/hooks/post-update-annex").exists());
}

#[test]
fn non_shell_hooks_are_refused_clearly() {
    let env = Env::new();
    let repo = env.repo("music");
    std::fs::write(
        repo.join(".git/hooks/post-merge"),
        "#!/usr/bin/env python3\nprint('hi')\n",
    )
    .unwrap();
    let out = env.mixxx(&repo, &["install-hooks"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a shell script"));
}

#[test]
fn broken_database_warns_but_commits_unless_strict() {
    let env = Env::new();
    let repo = env.repo("music");
    env.git(
        &repo,
        &["config", "mixxx.db", "/nonexistent/mixxxdb.sqlite"],
    );
    env.mixxx_ok(&repo, &["install-hooks"]);
    std::fs::write(repo.join("a.txt"), "a").unwrap();
    env.git(&repo, &["add", "a.txt"]);
    let out = env.output(&repo, "git", &["commit", "-q", "-m", "a"]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("git-mixxx (pre-commit)") && stderr.contains("does not exist"),
        "{stderr}"
    );

    env.git(&repo, &["config", "mixxx.strict", "true"]);
    std::fs::write(repo.join("b.txt"), "b").unwrap();
    env.git(&repo, &["add", "b.txt"]);
    let head = env.git(&repo, &["rev-parse", "HEAD"]);
    let out = env.output(&repo, "git", &["commit", "-q", "-m", "b"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mixxx.strict"));
    assert_eq!(env.git(&repo, &["rev-parse", "HEAD"]), head);

    // mixxx.hooks=false turns the hooks off entirely.
    env.git(&repo, &["config", "mixxx.hooks", "false"]);
    let out = env.output(&repo, "git", &["commit", "-q", "-m", "b"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("git-mixxx"));
}

#[test]
fn concurrent_hook_runs_serialize() {
    let env = Env::new();
    let repo = env.repo("music");
    let files: Vec<String> = (0..40).map(|i| format!("t{i}.flac")).collect();
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    env.add_files(&repo, &names, &[]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let tracks: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (loc(&repo, f), git_mixxx::demo::sample_values(i, 5, 3)))
        .collect();
    create_db(&db, 32, &tracks);
    // Another clone's values for half of the tracks arrive as plain git-annex metadata.
    for f in files.iter().step_by(2) {
        env.git(
            &repo,
            &["annex", "metadata", "-q", "-s", "comment=from the NAS", f],
        );
    }
    env.git(&repo, &["config", "mixxx.db", db.to_str().unwrap()]);
    let children: Vec<_> = (0..2)
        .map(|_| {
            env.command(&repo, "git", &["mixxx", "hook", "post-merge"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let values = db_values(&db);
    for (i, f) in files.iter().enumerate() {
        let md = env.metadata(&repo, f);
        let mut expected = git_mixxx::demo::sample_values(i, 5, 3);
        if i % 2 == 0 {
            expected.insert("comment".into(), ["from the NAS".to_owned()].into());
        }
        assert_eq!(md, expected, "{f} on the branch");
        assert_eq!(values[&loc(&repo, f)], expected, "{f} in Mixxx");
    }
    let fsck = env.git(&repo, &["fsck", "--no-progress", "--no-dangling"]);
    assert!(fsck.is_empty(), "{fsck}");
    // Exactly one of the two runs committed.
    let log = env.git(&repo, &["log", "--format=%s", "refs/heads/git-annex"]);
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("git-mixxx sync"))
            .count(),
        1,
        "{log}"
    );
}

#[test]
fn no_change_hook_run_is_quiet_and_takes_the_fast_path() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    env.git(&repo, &["config", "mixxx.db", db.to_str().unwrap()]);
    let first = env.output(&repo, "git", &["mixxx", "hook", "pre-commit"]);
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("1 track pushed"),
        "{}",
        text(&first)
    );
    let uuid = env.git(&repo, &["config", "annex.uuid"]);
    let quiet = repo.join(format!(".git/mixxx/{}.quiet", uuid.trim()));
    // The run that pushed recorded that the next one has nothing to do: its own write to the
    // database (its marker) is told from another program's.
    assert!(quiet.exists());
    let traced = |env: &Env| {
        let out = env
            .command(&repo, "git", &["mixxx", "hook", "pre-commit"])
            .env("GIT_MIXXX_TRACE", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Another program's write in the last seconds (Mixxx noting the bit rate: nothing synced
    // changes) is not trusted to show later changes (as git's "racily clean" index entries):
    // the next run reads everything and records the database's content (and its state only
    // once it is old enough), which settles the run after without reading it again.
    db_exec(&db, "UPDATE library SET bitrate = bitrate + 1");
    let second = traced(&env);
    assert!(second.contains("reading Mixxx"), "{second}");
    assert!(!second.contains("pushed"), "{second}");
    let third = traced(&env);
    assert!(!third.contains("reading Mixxx"), "{third}");
    // Once they are older, a no-change run records the shortcut, and the next run uses it.
    age(&db);
    age(&repo.join(".git/index"));
    env.output(&repo, "git", &["mixxx", "hook", "pre-commit"]);
    assert!(quiet.exists());
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(
        report["tracks"], 1,
        "the shortcut reports the last run's counts: {report}"
    );
    assert_eq!(report["unchanged"], 1);
    // Staging and committing an unrelated file rewrite the index but keep the shortcut valid
    // (the run reads neither Mixxx nor the branch); renaming a track's file changes what the
    // index says about it, and the run sees it.
    std::fs::write(repo.join("notes.txt"), "notes").unwrap();
    env.git(&repo, &["add", "notes.txt"]);
    age(&repo.join(".git/index"));
    let trace = traced(&env);
    assert!(trace.contains("fingerprint"), "{trace}");
    assert!(
        !trace.contains("reading Mixxx"),
        "the shortcut was not taken: {trace}"
    );
    env.git(
        &repo,
        &[
            "-c",
            "core.hooksPath=/dev/null",
            "commit",
            "-q",
            "-m",
            "notes",
        ],
    );
    age(&repo.join(".git/index"));
    assert!(!traced(&env).contains("reading Mixxx"));
    assert_eq!(env.sync(&repo, &db, &[])["tracks"], 1);
    assert!(quiet.exists());
    env.git(&repo, &["mv", "a.flac", "moved.flac"]);
    age(&repo.join(".git/index"));
    let moved = env.sync(&repo, &db, &[]);
    assert_eq!(
        moved["relinked"],
        json!([{"from": "a.flac", "to": "moved.flac"}]),
        "{moved}"
    );
    env.git(&repo, &["mv", "moved.flac", "a.flac"]);
    // A change in Mixxx is still seen.
    db_exec(&db, "UPDATE library SET rating = 4");
    let third = env.output(&repo, "git", &["mixxx", "hook", "pre-commit"]);
    assert!(
        String::from_utf8_lossy(&third.stderr).contains("1 track pushed"),
        "{}",
        text(&third)
    );
    assert_eq!(
        env.metadata(&repo, "a.flac")["rating"],
        ["4".to_owned()].into()
    );
    assert!(
        !quiet.exists(),
        "a run that changed something forgets the shortcut"
    );
}

// With annex.alwayscommit=false, `git annex metadata` leaves its changes in git-annex's journal;
// a new journal entry is seen even when the journal was not empty before.
#[test]
fn journal_only_edits_are_never_missed_by_the_shortcut() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    env.add_files(&repo, &["not-in-mixxx.flac"], &[]);
    env.git(&repo, &["config", "annex.alwayscommit", "false"]);
    env.sync(&repo, &db, &[]);
    // git-annex takes in the branch git-mixxx moved.
    env.git(&repo, &["annex", "metadata", "-q", "a.flac"]);
    let uuid = env.git(&repo, &["config", "annex.uuid"]);
    let quiet = repo.join(format!(".git/mixxx/{}.quiet", uuid.trim()));
    let journal = repo.join(".git/annex/journal");
    let age_all = || {
        for entry in std::fs::read_dir(&journal).into_iter().flatten().flatten() {
            age(&entry.path());
        }
        age(&db);
        age(&repo.join(".git/index"));
    };
    // A tag on a file Mixxx does not have: the journal is not empty, and there is nothing to do.
    env.git(
        &repo,
        &[
            "annex",
            "metadata",
            "-q",
            "--set",
            "tag=x",
            "not-in-mixxx.flac",
        ],
    );
    age_all();
    env.sync(&repo, &db, &[]);
    assert!(quiet.exists(), "the shortcut is recorded");
    let traced = env
        .command(
            &repo,
            "git",
            &["mixxx", "sync", "--db", db.to_str().unwrap()],
        )
        .env("GIT_MIXXX_TRACE", "1")
        .output()
        .unwrap();
    let trace = String::from_utf8_lossy(&traced.stderr);
    assert!(
        !trace.contains("reading Mixxx"),
        "the shortcut is taken: {trace}"
    );
    // Another journal-only edit, of a track Mixxx has.
    let tip = env.branch_tip(&repo);
    env.git(
        &repo,
        &["annex", "metadata", "-q", "--set", "rating=2", "a.flac"],
    );
    assert_eq!(env.branch_tip(&repo), tip, "only in the journal");
    // Only the journal changed (aged so that its stat is trusted).
    for entry in std::fs::read_dir(&journal).unwrap().flatten() {
        age(&entry.path());
    }
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(
        db_values(&db)[&loc(&repo, "a.flac")]["rating"],
        ["2".to_owned()].into()
    );
}

/// Two laptops with hooks installed and one track, A's rating synced to B.
fn hooked_laptops(env: &Env) -> [(std::path::PathBuf, std::path::PathBuf); 2] {
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    env.add_files(&a, &["a.flac"], &[]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let db_b = env.root.join("mixxx-b/mixxxdb.sqlite");
    create_db(
        &db_a,
        32,
        &[(loc(&a, "a.flac"), vals(&[("rating", &["1"])]))],
    );
    create_db(&db_b, 39, &[(loc(&b, "a.flac"), vals(&[]))]);
    for (repo, db) in [(&a, &db_a), (&b, &db_b)] {
        env.git(repo, &["config", "mixxx.db", db.to_str().unwrap()]);
        env.mixxx_ok(repo, &["install-hooks"]);
        env.mixxx_ok(repo, &["sync"]);
    }
    [(a, db_a), (b, db_b)]
}

/// Alternating rounds A→B→A...: one laptop changes the rating, syncs and `git annex sync`s;
/// the other runs only `receive`. Returns the rounds after which the receiver's Mixxx did not
/// have the change.
fn rounds_behind(receive: &dyn Fn(&Env, &Path)) -> Vec<usize> {
    let env = Env::new();
    let laptops = hooked_laptops(&env);
    env.annex_sync(&laptops[0].0);
    receive(&env, &laptops[1].0);
    wait_background(&laptops[1].0);
    let mut behind = Vec::new();
    for round in 0..20 {
        let (from, to) = (&laptops[round % 2], &laptops[1 - round % 2]);
        let rating = (round % 5 + 1).to_string();
        db_exec(&from.1, &format!("UPDATE library SET rating = {rating}"));
        env.mixxx_ok(&from.0, &["sync"]);
        env.annex_sync(&from.0);
        receive(&env, &to.0);
        wait_background(&to.0);
        let got = db_values(&to.1)[&loc(&to.0, "a.flac")]["rating"].clone();
        if got != [rating].into() {
            behind.push(round);
        }
    }
    behind
}

// Right after a sync, the hooks that `git annex sync` fires (it pushes the branch to the NAS,
// which moves the remote-tracking branch) take the shortcut: they read neither Mixxx nor the
// branch.
#[test]
fn hooks_of_git_annex_sync_right_after_a_sync_take_the_shortcut() {
    let env = Env::new();
    let [(a, db_a), _] = hooked_laptops(&env);
    env.annex_sync(&a);
    wait_background(&a);
    db_exec(&db_a, "UPDATE library SET rating = 4");
    env.mixxx_ok(&a, &["sync"]);
    let out = env
        .command(&a, "git", &["annex", "sync", "-q"])
        .env("GIT_MIXXX_TRACE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    wait_background(&a);
    let log = std::fs::read_to_string(a.join(".git/mixxx/hook.log")).unwrap_or_default();
    let said = format!("{}{log}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("fingerprint"), "a hook ran: {said}");
    assert!(!said.contains("reading Mixxx"), "a hook read Mixxx: {said}");
    assert_eq!(
        env.metadata(&a, "a.flac")["rating"],
        ["4".to_owned()].into()
    );
}

#[test]
fn every_round_arrives_with_git_annex_sync_alone() {
    let behind = rounds_behind(&|env, repo| env.annex_sync(repo));
    assert!(behind.is_empty(), "rounds behind: {behind:?}");
}

#[test]
fn every_round_arrives_with_git_pull_alone() {
    let behind = rounds_behind(&|env, repo| {
        env.git(repo, &["pull", "-q"]);
    });
    assert!(behind.is_empty(), "rounds behind: {behind:?}");
}

// With Mixxx open on the receiving laptop, `git annex sync` says on its own terminal that the
// other laptop's changes wait, and how to apply them; nothing is written; closing Mixxx and
// the next sync apply them.
#[test]
fn changes_held_back_by_a_running_mixxx_are_said_on_the_terminal() {
    let env = Env::new();
    let [(a, db_a), (b, db_b)] = hooked_laptops(&env);
    env.annex_sync(&a);
    env.annex_sync(&b);
    wait_background(&b);
    db_exec(&db_a, "UPDATE library SET rating = 4");
    env.mixxx_ok(&a, &["sync"]);
    env.annex_sync(&a);
    let before = std::fs::read(&db_b).unwrap();
    {
        let _mixxx = crate::laptops::Holder::spawn(&db_b);
        let out = env.output(&b, "git", &["annex", "sync", "-q"]);
        wait_background(&b);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            said.contains("Mixxx is running") && said.contains("wait"),
            "said on the terminal: {said}"
        );
        assert!(std::fs::read(&db_b).unwrap() == before, "nothing written");
    }
    env.mixxx_ok(&b, &["sync"]);
    assert_eq!(
        db_values(&db_b)[&loc(&b, "a.flac")]["rating"],
        ["4".to_owned()].into()
    );
}

//! The sync scenarios, each measured on the same fresh copy of the generated library in turn:
//! first sync, no-change syncs (full check and stat shortcut), the pre-commit hook (no change
//! and after `git add` of another file), a sync after 1% changed in Mixxx, one pulling 1%
//! changed on the branch, and `git mixxx log FILE` once the branch holds 20 syncs; then, on a
//! fresh copy, the merge of a playlist reordered on two clones ([`crate::playlist`]).

use crate::batch::{batch_line, commit_journal, write_batch};
use crate::checks::{check_repo, expect_report, report};
use crate::generate::{Library, values};
use crate::measure::{Sample, measure};
use crate::support::{Env, db_exec, db_values, loc};
use git_mixxx::annex::logmet::Values;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Measures `git-mixxx hook pre-commit` (`me` is the binary), which must say nothing.
fn quiet_hook(env: &Env, repo: &Path, me: &str, what: &str) -> Sample {
    let h = measure(env, repo, me, &["hook", "pre-commit"], None);
    assert!(
        h.stderr.trim().is_empty(),
        "{what} reported something: {}",
        h.stderr
    );
    h.sample
}

/// Consecutive no-change runs measured per run.
pub const REPEATS: usize = 3;

/// Removes git-mixxx's recorded no-change shortcut, so the next run does the full check.
fn forget_shortcut(repo: &Path) {
    if let Ok(dir) = std::fs::read_dir(repo.join(".git/mixxx")) {
        for entry in dir.flatten() {
            if entry.path().extension().is_some_and(|e| e == "quiet") {
                std::fs::remove_file(entry.path()).expect("remove the shortcut");
            }
        }
    }
}

/// Sets a file's modification time a minute back (out of git-mixxx's racy window).
fn age(path: &Path) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open to age");
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    file.set_modified(past).expect("set mtime");
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Scenario {
    Generate,
    FirstSync,
    NoChange,
    NoChangeShortcut,
    Hook,
    HookIndexChanged,
    Incremental,
    Pull,
    Log,
    PlaylistMerge,
}

impl Scenario {
    /// The table's rows, in order.
    pub const ALL: [Scenario; 10] = [
        Scenario::Generate,
        Scenario::FirstSync,
        Scenario::NoChange,
        Scenario::NoChangeShortcut,
        Scenario::Hook,
        Scenario::HookIndexChanged,
        Scenario::Incremental,
        Scenario::Pull,
        Scenario::Log,
        Scenario::PlaylistMerge,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Generate => "generate library (once, time only)",
            Scenario::FirstSync => "first sync, all tracks",
            Scenario::NoChange => "no-change sync, full check",
            Scenario::NoChangeShortcut => "no-change sync, stat shortcut",
            Scenario::Hook => "hook pre-commit, no change",
            Scenario::HookIndexChanged => "hook pre-commit after `git add` of a text file",
            Scenario::Incremental => "sync after 1% changed in Mixxx",
            Scenario::Pull => "sync pulling 1% changed on branch",
            Scenario::Log => "`git mixxx log FILE` after 20 syncs",
            Scenario::PlaylistMerge => {
                "sync merging a 5,000-track playlist reordered on two clones"
            }
        }
    }
}

/// Track indices of the "1%": one in a hundred, at `offset`.
fn one_percent(n: usize, offset: usize) -> Vec<usize> {
    let picked: Vec<usize> = (0..n).filter(|i| i % 100 == offset % 100).collect();
    if picked.is_empty() { vec![0] } else { picked }
}

pub type Samples = BTreeMap<Scenario, Vec<Sample>>;

/// One run of every sync scenario on a fresh copy.
pub fn run_scenarios(env: &Env, lib: &Library, run: usize, samples: &mut Samples) {
    let n = lib.n;
    let dir = &lib.work_dir;
    lib.fresh_copy(dir);
    let repo = Library::repo(dir);
    let db = Library::db(dir);
    let db_arg = db.to_str().expect("utf-8 path");
    let bin = env.bin();
    let me = bin.to_str().expect("utf-8 binary path");
    let sync = ["sync", "--json", "--db", db_arg];
    let mut add = |s: Scenario, sample: Sample| samples.entry(s).or_default().push(sample);

    let first = measure(env, &repo, me, &sync, None);
    expect_report(&report(&first), n, n, 0);
    add(Scenario::FirstSync, first.sample);
    if run == 0 {
        check_repo(env, lib, &repo, n, "after the first sync");
    }

    // The full check: without the recorded shortcut, every no-change run reads everything.
    for _ in 0..REPEATS {
        forget_shortcut(&repo);
        let again = measure(env, &repo, me, &sync, None);
        let r = report(&again);
        expect_report(&r, n, 0, 0);
        assert!(r["commit"].is_null(), "a no-change sync committed: {r:#}");
        add(Scenario::NoChange, again.sample);
    }
    // The shortcut: once the database and index are older than git-mixxx's racy window, a
    // no-change run records a stat fingerprint and the next ones only compare it.
    age(&db);
    age(&repo.join(".git/index"));
    measure(env, &repo, me, &sync, None);
    for _ in 0..REPEATS {
        let again = measure(env, &repo, me, &sync, None);
        expect_report(&report(&again), n, 0, 0);
        add(Scenario::NoChangeShortcut, again.sample);
    }

    env.git(&repo, &["config", "mixxx.db", db_arg]);
    quiet_hook(env, &repo, me, "the warm-up hook run");
    for _ in 0..REPEATS {
        add(
            Scenario::Hook,
            quiet_hook(env, &repo, me, "a no-change hook run"),
        );
    }

    // A commit of something else: the index changed, so the hook's fast path cannot apply.
    std::fs::write(repo.join("notes.txt"), format!("run {run}\n")).expect("write notes");
    env.git(&repo, &["add", "notes.txt"]);
    add(
        Scenario::HookIndexChanged,
        quiet_hook(env, &repo, me, "the hook after `git add`"),
    );

    // 1% of the tracks changed in Mixxx: rating, colour and crates.
    let changed = one_percent(n, 37);
    let ids = changed
        .iter()
        .map(|i| (i + 1).to_string())
        .collect::<Vec<_>>()
        .join(",");
    db_exec(
        &db,
        &format!(
            "BEGIN;
             UPDATE library SET rating = CASE WHEN rating BETWEEN 1 AND 4 THEN rating + 1 ELSE 1 END,
                                color = (COALESCE(color, 0) + 4242) % 16777216 WHERE id IN ({ids});
             INSERT OR IGNORE INTO crates (name) VALUES ('Bench: changed in Mixxx');
             DELETE FROM crate_tracks WHERE track_id IN ({ids});
             INSERT INTO crate_tracks (crate_id, track_id)
               SELECT (SELECT id FROM crates WHERE name = 'Bench: changed in Mixxx'), id
               FROM library WHERE id IN ({ids});
             COMMIT;"
        ),
    );
    let inc = measure(env, &repo, me, &sync, None);
    expect_report(&report(&inc), n, changed.len(), 0);
    add(Scenario::Incremental, inc.sample);

    // 1% of the tracks changed on the branch (as a pull from another clone would bring them).
    let pulled = one_percent(n, 71);
    let input = dir.join("pull.jsonl");
    write_batch(
        &input,
        pulled.iter().map(|&i| {
            let rating = values(i)
                .get("rating")
                .and_then(|r| r.iter().next()?.parse::<usize>().ok())
                .map_or(3, |r| r % 5 + 1);
            let mut v = Values::new();
            v.insert("rating".into(), BTreeSet::from([rating.to_string()]));
            v.insert(
                "crate".into(),
                BTreeSet::from(["Crate 1".to_owned(), "Bench: changed elsewhere".to_owned()]),
            );
            batch_line(&lib.files[i], &v)
        }),
    );
    env.run_with(
        &repo,
        "git",
        &["annex", "metadata", "--batch", "--json"],
        Some(&input),
    );
    commit_journal(env, &repo);
    let pull = measure(env, &repo, me, &sync, None);
    expect_report(&report(&pull), n, 0, pulled.len());
    add(Scenario::Pull, pull.sample);

    // Up to 20 syncs (three so far), each rating one file and a few others anew: its history
    // has a run per sync, and reading it must not walk the other tracks.
    const SYNCS: usize = 20;
    let file = 5;
    let others: Vec<String> = (0..10)
        .map(|k| (file + 1 + k * n / 10 % n).to_string())
        .collect();
    for _ in 3..SYNCS {
        db_exec(
            &db,
            &format!(
                "UPDATE library SET rating = rating % 5 + 1 WHERE id IN ({}, {})",
                file + 1,
                others.join(",")
            ),
        );
        let r = report(&measure(env, &repo, me, &sync, None));
        assert!(
            !r["commit"].is_null(),
            "a sync of a changed rating committed: {r:#}"
        );
    }
    for _ in 0..REPEATS {
        let log = measure(env, &repo, me, &["log", "--json", &lib.files[file]], None);
        let runs = report(&log)["runs"].as_array().map_or(0, Vec::len);
        assert!(runs >= SYNCS - 2, "log lists {runs} runs");
        add(Scenario::Log, log.sample);
    }
    if run == 0 {
        let i = pulled[pulled.len() / 2];
        let got = &db_values(&db)[&loc(&repo, &lib.files[i])];
        let want = env.metadata(&repo, &lib.files[i]);
        for field in ["rating", "crate"] {
            assert_eq!(
                got.get(field),
                want.get(field),
                "`{field}` of {} in Mixxx after the pull",
                lib.files[i]
            );
        }
    }
    // Last: it works on a fresh copy of its own.
    add(
        Scenario::PlaylistMerge,
        crate::playlist::playlist_merge(env, lib),
    );
}

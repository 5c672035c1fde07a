//! The sync scenarios, each measured on the same fresh copy of the generated library in turn:
//! first sync, no-change syncs (full check, content check after Mixxx rewrote columns git-mixxx
//! does not read, and stat shortcut), the pre-commit hook (no change
//! and after `git add` of another file), `status`, a sync after 1% changed in Mixxx, one
//! pulling 1% changed on the branch, `git mixxx log FILE` once the branch holds 20 syncs, and
//! the hook that `git annex sync` fires right after a sync, and a sync and `status` before and
//! after nineteen other clones' run records arrive ([`crate::clones`]); then, on a fresh copy, the merge of
//! a playlist reordered on two clones ([`crate::playlist`]). Each figure has beside it the time
//! to read the same library and cue rows with the `sqlite3` program, measured right after it.

use crate::batch::{batch_line, commit_journal, write_batch};
use crate::checks::{check_repo, expect_plays, expect_report, report};
use crate::generate::{Library, values};
use crate::measure::{Sample, forget_shortcut, measure};
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
    NoChangeContent,
    StatusContent,
    NoChangeShortcut,
    Hook,
    HookIndexChanged,
    Status,
    Incremental,
    Pull,
    Log,
    HookAfterPush,
    OneClone,
    OneCloneStatus,
    TwentyClones,
    TwentyClonesStatus,
    PlaylistMerge,
}

impl Scenario {
    /// The table's rows, in order.
    pub const ALL: [Scenario; 18] = [
        Scenario::Generate,
        Scenario::FirstSync,
        Scenario::NoChange,
        Scenario::NoChangeContent,
        Scenario::StatusContent,
        Scenario::NoChangeShortcut,
        Scenario::Hook,
        Scenario::HookIndexChanged,
        Scenario::Status,
        Scenario::Incremental,
        Scenario::Pull,
        Scenario::Log,
        Scenario::HookAfterPush,
        Scenario::OneClone,
        Scenario::OneCloneStatus,
        Scenario::TwentyClones,
        Scenario::TwentyClonesStatus,
        Scenario::PlaylistMerge,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Generate => "generate library (once, time only)",
            Scenario::FirstSync => "first sync, all tracks",
            Scenario::NoChange => "no-change sync, full check",
            Scenario::NoChangeContent => "no-change sync, Mixxx rewrote unsynced columns",
            Scenario::StatusContent => "`git mixxx status`, Mixxx rewrote unsynced columns",
            Scenario::NoChangeShortcut => "no-change sync, stat shortcut",
            Scenario::Hook => "hook pre-commit, no change",
            Scenario::HookIndexChanged => "hook pre-commit after `git add` of a text file",
            Scenario::Status => "`git mixxx status`, full check",
            Scenario::Incremental => "sync after 1% changed in Mixxx",
            Scenario::Pull => "sync pulling 1% changed on branch",
            Scenario::Log => "`git mixxx log FILE` after 20 syncs",
            Scenario::HookAfterPush => "hook after a sync and a push of the branch",
            Scenario::OneClone => "no-change sync, full check, before other clones' records",
            Scenario::OneCloneStatus => "`git mixxx status`, before other clones' records",
            Scenario::TwentyClones => "no-change sync, full check, 19 more clones × 500 runs",
            Scenario::TwentyClonesStatus => "`git mixxx status`, 19 more clones × 500 runs",
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

/// A figure, and the reference measured right after it in the same run: reading the same
/// library and cue rows with the `sqlite3` program (`None` for the generation).
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    pub sample: Sample,
    pub sqlite: Option<Sample>,
}

pub type Samples = BTreeMap<Scenario, Vec<Figure>>;

/// Reads the library and cue columns a sync reads
/// ([`git_mixxx::mixxx::Database::read_queries`]) from `db` with the `sqlite3` program, its
/// output thrown away.
fn read_with_sqlite(env: &Env, repo: &Path, db: &str) -> Sample {
    let queries = git_mixxx::mixxx::Database::open_read_only(Path::new(db))
        .and_then(|d| d.read_queries())
        .expect("the library's queries");
    let mut args = vec!["-batch", db, ".output /dev/null"];
    args.extend(queries.iter().map(String::as_str));
    measure(env, repo, "sqlite3", &args, None).sample
}

/// The hook that `git annex sync` fires when its push moves the remote-tracking git-annex
/// branch (`reference-transaction`), right after a sync that pushed one edit and a push of the
/// branch to the NAS (`git push`, which moves that branch as `git annex sync` does; git-annex
/// itself is left out, as its own work at N files would hide the hook's): `REPEATS` times.
/// This is what the hooks add to a `git annex sync` right after a sync.
fn hook_after_push(env: &Env, repo: &Path, db: &str, me: &str) -> Vec<Sample> {
    (0..REPEATS)
        .map(|_| {
            db_exec(
                Path::new(db),
                "UPDATE library SET rating = rating % 5 + 1 WHERE id = 1",
            );
            let r = report(&measure(
                env,
                repo,
                me,
                &["sync", "--json", "--db", db],
                None,
            ));
            assert_eq!(r["pushed"], 1, "the edit was pushed: {r:#}");
            env.git(repo, &["push", "-q", "nas", "git-annex"]);
            let hook = measure(env, repo, me, &["hook", "reference-transaction"], None);
            assert!(
                hook.stderr.trim().is_empty(),
                "the hook said something: {}",
                hook.stderr
            );
            hook.sample
        })
        .collect()
}

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
    let mut add = |s: Scenario, sample: Sample| {
        let sqlite = Some(read_with_sqlite(env, &repo, db_arg));
        samples
            .entry(s)
            .or_default()
            .push(Figure { sample, sqlite });
    };

    let first = measure(env, &repo, me, &sync, None);
    expect_report(&report(&first), n, n, 0);
    expect_plays(&report(&first), lib);
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
    // Mixxx wrote the database without changing what git-mixxx reads (a rescan's bookkeeping):
    // the content check after the last full check's.
    for scenario in [Scenario::NoChangeContent; REPEATS]
        .into_iter()
        .chain([Scenario::StatusContent])
    {
        db_exec(
            &db,
            "UPDATE track_locations SET needs_verification = 1 - COALESCE(needs_verification, 0)",
        );
        let command = match scenario {
            Scenario::StatusContent => "status",
            _ => "sync",
        };
        let again = measure(env, &repo, me, &[command, "--json", "--db", db_arg], None);
        if command == "sync" {
            let r = report(&again);
            expect_report(&r, n, 0, 0);
            assert!(r["commit"].is_null(), "a no-change sync committed: {r:#}");
        }
        add(scenario, again.sample);
    }
    forget_shortcut(&repo);
    let status = measure(env, &repo, me, &["status", "--json", "--db", db_arg], None);
    add(Scenario::Status, status.sample);
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
    let nas = dir.join("nas.git");
    env.git(
        dir,
        &["init", "-q", "--bare", nas.to_str().expect("utf-8 path")],
    );
    env.git(&repo, &["remote", "add", "nas", "../nas.git"]);
    for sample in hook_after_push(env, &repo, db_arg, me) {
        add(Scenario::HookAfterPush, sample);
    }
    let clones = crate::clones::twenty_clones(env, &repo, lib, db_arg);
    let rows = [
        Scenario::OneClone,
        Scenario::OneCloneStatus,
        Scenario::TwentyClones,
        Scenario::TwentyClonesStatus,
    ];
    for (scenario, sample) in rows.into_iter().zip(clones) {
        add(scenario, sample);
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

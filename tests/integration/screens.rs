//! What a DJ reads, as snapshots (`cargo insta review` after a deliberate change): `status`,
//! a sync that pushes, pulls and meets a conflict, `sync --dry-run -v`, `log`, `undo
//! --dry-run`, `restore --list`, what waits while Mixxx runs, and the errors a DJ meets most.
//! Temporary paths, times, hashes, run ids, uuids and the host are redacted.

use crate::laptops::*;
use crate::util::*;
use std::path::Path;

/// `text` with what changes from run to run redacted.
fn screen(env: &Env, text: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let text = text.replace(&env.root.display().to_string(), "[ROOT]");
    let text = text.replace(&format!(" on {}", host.trim()), " on [HOST]");
    let rules = [
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        (
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4} [+-]\d{4}",
            "[DATE]",
        ),
        (r"\d{8}T\d{6}\.\d{6}Z", "[STAMP]"),
        (r"\b[0-9a-f]{40}\b|\b[0-9a-f]{12}\b", "[COMMIT]"),
        (r"\b[0-9a-f]{8}\b", "[RUN]"),
        (r"process \d+", "process [PID]"),
        (r"\d+\.\d MB", "[SIZE]"),
    ];
    rules.iter().fold(text, |text, (pattern, with)| {
        regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, *with)
            .into_owned()
    })
}

/// `git mixxx ARGS` in `dir`: what it printed on stdout and stderr, with its exit status.
fn said(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = env.mixxx(dir, args);
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    format!(
        "$ git mixxx {}\n{all}[exit {}]\n",
        args.join(" "),
        out.status.code().unwrap_or(-1)
    )
}

// Laptop A rates a.flac 5 and b.flac 4; laptop B rates c.flac 4 and b.flac 1; A syncs after
// B: one track pushed, one pulled, one conflict. Then A's status, log, undo and backups.
#[test]
fn the_screens_of_a_sync_with_a_push_a_pull_and_a_conflict() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
        (C, vals(&[("rating", &["1"])])),
    ]);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    edit(&l.db_a, &loc(&l.a, B), "rating = 4");
    edit(&l.db_b, &loc(&l.b, C), "rating = 4");
    edit(&l.db_b, &loc(&l.b, B), "rating = 1");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    let env = &l.env;
    let db = l.db_a.to_str().unwrap();
    let shot = |args: &[&str]| screen(env, &said(env, &l.a, args));
    insta::assert_snapshot!(
        "sync_dry_run_v",
        shot(&["sync", "--dry-run", "-v", "--db", db])
    );
    insta::assert_snapshot!("sync", shot(&["sync", "--db", db]));
    insta::assert_snapshot!("status", shot(&["status", "--db", db]));
    insta::assert_snapshot!("log", shot(&["log", "-n", "3"]));
    insta::assert_snapshot!("undo_dry_run", shot(&["undo", "--dry-run", "--db", db]));
    insta::assert_snapshot!("restore_list", shot(&["restore", "--list", "--db", db]));
    // B pulls what A wrote: a run that only pulled, in B's log.
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let log = said(env, &l.b, &["log", "-n", "2"]);
    insta::assert_snapshot!("log_pull_only", screen(env, &log));
}

// While Mixxx runs: `status` says exactly what waits (nothing, then one value), and a sync
// says what it could not write and why.
#[test]
fn the_screens_while_mixxx_runs() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    let env = &l.env;
    let db = l.db_a.to_str().unwrap();
    let _mixxx = Holder::spawn(&l.db_a);
    let mut shots = screen(env, &said(env, &l.a, &["status", "--db", db]));
    edit(&l.db_b, &loc(&l.b, A), "rating = 1");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    shots.push_str(&screen(env, &said(env, &l.a, &["status", "--db", db])));
    shots.push_str(&screen(env, &said(env, &l.a, &["sync", "--db", db])));
    insta::assert_snapshot!("mixxx_running", shots);
}

// The errors a DJ meets: a database too old or too new for git-mixxx, a folder or another
// file as the database, a mistyped option; each one `error:` line, exit status 2.
#[test]
fn the_screens_of_errors() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let dbs = db.to_str().unwrap();
    let mut shots = String::new();
    for revision in [28, 42] {
        db_exec(
            &db,
            &format!(
                "UPDATE settings SET value = '{revision}' WHERE name = 'mixxx.schema.version'"
            ),
        );
        shots.push_str(&said(&env, &repo, &["sync", "--db", dbs]));
    }
    let notes = env.root.join("notes.txt");
    std::fs::write(&notes, "not a database\n").unwrap();
    let folder = env.root.join("mixxx");
    shots.push_str(&said(
        &env,
        &repo,
        &["status", "--db", notes.to_str().unwrap()],
    ));
    shots.push_str(&said(
        &env,
        &repo,
        &["status", "--db", folder.to_str().unwrap()],
    ));
    shots.push_str(&said(&env, &repo, &["sync", "--prefer", "branch"]));
    insta::assert_snapshot!("errors", screen(&env, &shots));
}

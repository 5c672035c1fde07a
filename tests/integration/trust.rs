//! A clone's sync state is its own: a clone writing the git-annex branch with plain git (a
//! laptop turned hostile, with push access to the NAS) and a clock that ran ahead can write
//! values, as with git-annex itself, but cannot take over this clone's base or its `undo`.

use crate::forge::*;
use crate::laptops::*;
use crate::util::*;
use serde_json::Value;
use std::path::Path;

/// `git mixxx ARGS --json` in `dir`, parsed.
fn json_of(env: &Env, dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&env.mixxx_ok(dir, &all)).expect("JSON")
}

/// A's DJ sets `assignment` on `file` and syncs; A's edit must be on the branch and stay in
/// Mixxx, as `field` = `value`.
fn edit_reaches_the_branch(l: &Laptops, file: &str, assignment: &str, field: &str, value: &str) {
    edit(&l.db_a, &loc(&l.a, file), assignment);
    let report = l.sync_a(&[]);
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, file))[field],
        set_of(&[value]),
        "Mixxx keeps the DJ's {field}: {report}"
    );
    assert_eq!(
        l.env.metadata(&l.a, file)[field],
        set_of(&[value]),
        "the branch has the DJ's {field}: {report}"
    );
}

// Another clone appends a record for this clone's UUID, "finished", dated 9999: this clone's
// base is its own, so every later edit of its DJ still reaches the branch; `status` shows the
// record as another clone's.
#[test]
fn a_forged_future_record_for_this_clone_changes_nothing() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    let uuid = uuid_of(&l.env, &l.a);
    let hostile = Forger::new(&l.env, &l.b);
    let path = format!("mixxx/{uuid}/runs");
    let tip = hostile.tip();
    let mut runs = hostile.read(&tip, &path).expect("A's runs");
    let forged = record_line(&uuid, "9999-01-01T00:00:00Z", "ffff0002", true, 0);
    runs.extend_from_slice(format!("{forged}\n").as_bytes());
    hostile.write(&[(path, runs)], "update");
    l.exchange(&[&l.a]);
    for rating in ["5", "1", "4"] {
        let assignment = format!("rating = {rating}");
        edit_reaches_the_branch(&l, A, &assignment, "rating", rating);
        l.exchange(&[&l.a]);
    }
    let status = status(&l.env, &l.a, &l.db_a);
    let foreign: Vec<&Value> = status["foreign_records"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(foreign.len(), 1, "{status:#}");
    assert_eq!(foreign[0]["run"], "ffff0002");
    let this = &status["clones"][0];
    assert_eq!(this["this_clone"], true);
    assert_ne!(this["id"], "ffff0002");
    assert_ne!(this["time"], "9999-01-01T00:00:00Z");
}

// A forged record under this clone's UUID and a side commit whose trailer names it, claiming
// this clone's earlier rating edit: `undo` without a run reverts this clone's own last run
// (a comment), never the rating; the forged run is no run of this clone's.
#[test]
fn a_forged_record_and_trailer_do_not_hijack_undo() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("comment", &["old"])])),
    ]);
    let uuid = uuid_of(&l.env, &l.a);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    let rating_run = l.sync_a(&[])["commit"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_secs(1));
    edit(&l.db_a, &loc(&l.a, B), "comment = 'new'");
    let comment_run = l.sync_a(&[])["commit"].as_str().unwrap().to_owned();
    l.exchange(&[&l.a]);

    let hostile = Forger::new(&l.env, &l.b);
    let tip = hostile.tip();
    let changed = l.env.git(
        &l.b,
        &[
            "diff",
            "--name-only",
            &format!("{rating_run}^"),
            &rating_run,
        ],
    );
    let log = changed
        .lines()
        .find(|p| p.ends_with(".log.met"))
        .expect("the rating run wrote a log")
        .to_owned();
    let content = hostile.read(&rating_run, &log).unwrap();
    let when: i64 = l
        .env
        .git(&l.b, &["show", "-s", "--format=%ct", &rating_run])
        .trim()
        .parse()
        .unwrap();
    let parent = format!("{rating_run}^");
    let trailer = format!("update\n\ngit-mixxx-clone: {uuid}\ngit-mixxx-run: ffff0001\n");
    let date = format!("@{}", when - 1);
    let side = hostile.commit(
        &parent,
        &[(log, content)],
        &[&parent],
        &trailer,
        Some(&date),
    );
    let runs_path = format!("mixxx/{uuid}/runs");
    let mut runs = hostile.read(&tip, &runs_path).unwrap();
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let forged = record_line(&uuid, &soon, "ffff0001", false, 1);
    runs.extend_from_slice(format!("{forged}\n").as_bytes());
    let merge = hostile.commit(&tip, &[(runs_path, runs)], &[&tip, &side], "update", None);
    hostile.publish(&merge, &tip);
    l.exchange(&[&l.a]);

    let db = l.db_a.to_str().unwrap();
    let dry = json_of(&l.env, &l.a, &["undo", "--dry-run", "--db", db]);
    assert_eq!(
        dry["run"]["id"].as_str().unwrap(),
        run_of_commit(&l.env, &l.a, &comment_run),
        "{dry:#}"
    );
    l.env.mixxx_ok(&l.a, &["undo", "-q", "--db", db]);
    let a = values_of(&l.db_a, &loc(&l.a, A));
    let b = values_of(&l.db_a, &loc(&l.a, B));
    assert_eq!(a["rating"], set_of(&["5"]), "the DJ's rating stays");
    assert_eq!(b["comment"], set_of(&["old"]), "the last run is undone");
    let out = l.env.mixxx(&l.a, &["undo", "ffff0001", "--db", db]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no run"), "{}", text(&out));
    assert_eq!(values_of(&l.db_a, &loc(&l.a, A))["rating"], set_of(&["5"]));
}

// One sync with the clock ten years ahead (a dead clock battery), then the clock is right
// again: every later edit still reaches the branch; `status` names the track whose newest
// line is dated in the future, and the run record dated so.
#[test]
fn a_clock_ahead_for_one_sync_keeps_later_edits() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    let file = loc(&repo, "a.flac");
    env.sync(&repo, &db, &[]);
    edit(&db, &file, "rating = 2");
    let ahead = env
        .command(
            &repo,
            "faketime",
            &["-f", "+3650d", "git", "mixxx", "sync", "-q", "--db"],
        )
        .arg(&db)
        .output()
        .expect("faketime runs");
    assert!(ahead.status.success(), "{}", text(&ahead));
    for rating in ["4", "5", "1"] {
        edit(&db, &file, &format!("rating = {rating}"));
        let report = env.sync(&repo, &db, &[]);
        assert_eq!(report["pushed"], 1, "{report}");
        assert_eq!(values_of(&db, &file)["rating"], set_of(&[rating]));
        assert_eq!(env.metadata(&repo, "a.flac")["rating"], set_of(&[rating]));
    }
    let status = status(&env, &repo, &db);
    assert_eq!(
        status["pending"]["future_dated"],
        serde_json::json!(["a.flac"]),
        "{status:#}"
    );
    let future = status["future_records"].as_array().unwrap();
    assert_eq!(future.len(), 1, "{status:#}");
    assert!(future[0]["time"].as_str().unwrap() > "2030", "{status:#}");
    let text = env.mixxx_ok(&repo, &["status", "--db", db.to_str().unwrap()]);
    assert!(
        text.contains("1 track dated more than a day ahead"),
        "{text}"
    );
}

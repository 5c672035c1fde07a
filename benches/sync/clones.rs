//! Twenty clones: nineteen other clones' run records (500 each, one in fifty listing two
//! conflicts on tracks of the library) added to the branch beside this clone's own, as a crew
//! that has synced for a year leaves them; the measured runs are a no-change sync (full
//! check) and `status`, each right before and right after the records are added.

use crate::checks::report;
use crate::generate::Library;
use crate::measure::{Sample, forget_shortcut, measure};
use crate::support::Env;
use std::path::Path;

/// Other clones, and run records each.
const CLONES: usize = 19;
const RUNS: usize = 500;

/// One clone's records, shaped as `template` (this clone's last record).
fn records(template: &serde_json::Value, clone: usize, lib: &Library) -> String {
    let uuid = format!("{clone:08x}-0000-4000-8000-00000000bench");
    let mut out = String::new();
    for run in 0..RUNS {
        let minutes = clone * RUNS + run;
        let time = format!(
            "2026-{:02}-{:02}T{:02}:{:02}:00Z",
            1 + minutes / (28 * 24 * 60) % 11,
            1 + minutes / (24 * 60) % 28,
            minutes / 60 % 24,
            minutes % 60
        );
        let mut record = template.clone();
        record["time"] = time.clone().into();
        record["uuid"] = uuid.clone().into();
        record["host"] = format!("laptop-{clone}").into();
        record["previous"] = serde_json::Value::Null;
        if let Some(fields) = record.as_object_mut() {
            fields.remove("id");
        }
        let conflicts: Vec<serde_json::Value> = match run % 50 {
            0 => (0..2)
                .map(|k| {
                    let i = (clone * 7919 + run * 31 + k) % lib.n;
                    serde_json::json!({
                        "path": lib.files[i], "key": lib.keys[i], "field": "rating",
                        "mixxx": ["2"], "branch": ["5"], "winner": "git", "result": ["5"],
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        record["conflict_count"] = conflicts.len().into();
        record["conflicts"] = conflicts.into();
        out.push_str(&format!("{time} {record}\n"));
    }
    out
}

/// Commits the other clones' run records onto the `git-annex` branch of `repo`.
fn add_clones(env: &Env, repo: &Path, lib: &Library, template: &serde_json::Value) {
    let files: Vec<(String, Vec<u8>)> = (0..CLONES)
        .map(|clone| {
            let uuid = format!("{clone:08x}-0000-4000-8000-00000000bench");
            let runs = records(template, clone, lib).into_bytes();
            (format!("mixxx/{uuid}/runs"), runs)
        })
        .collect();
    env.commit_to_branch(repo, &files, "Run records of nineteen other clones");
}

/// This clone's last run record on the branch.
fn last_record(env: &Env, repo: &Path) -> serde_json::Value {
    let runs = env.git(
        repo,
        &["ls-tree", "-r", "--name-only", "git-annex", "mixxx/"],
    );
    let path = (runs.lines())
        .find(|p| p.ends_with("/runs"))
        .expect("this clone's run records");
    let text = env.git(repo, &["show", &format!("git-annex:{path}")]);
    let line = text.lines().last().expect("a run record");
    let json = line.split_once(' ').expect("time and record").1;
    serde_json::from_str(json).expect("a run record's JSON")
}

/// The full-check sync and `status`, before and after the other clones' records arrive:
/// `[sync before, status before, sync after, status after]`.
pub fn twenty_clones(env: &Env, repo: &Path, lib: &Library, db: &str) -> [Sample; 4] {
    let bin = env.bin();
    let me = bin.to_str().expect("utf-8 binary path");
    let sync = ["sync", "--json", "--db", db];
    let status = ["status", "--json", "--db", db];
    let no_change = |what: &str| {
        forget_shortcut(repo);
        let out = measure(env, repo, me, &sync, None);
        let r = report(&out);
        assert!(
            r["commit"].is_null(),
            "a no-change sync {what} committed: {r:#}"
        );
        out.sample
    };
    let status_run = || {
        forget_shortcut(repo);
        measure(env, repo, me, &status, None).sample
    };
    let (sync_one, status_one) = (no_change("with one clone"), status_run());
    add_clones(env, repo, lib, &last_record(env, repo));
    let (sync_twenty, status_twenty) = (no_change("with twenty clones"), status_run());
    let listed = report(&measure(env, repo, me, &status, None))["clones"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(listed, CLONES + 1, "status lists every clone");
    [sync_one, status_one, sync_twenty, status_twenty]
}

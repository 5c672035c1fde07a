//! `git mixxx launch`: a sync, Mixxx (here a stand-in script that does what a DJ does in
//! Mixxx: holds the database open, edits a rating, exits), then a sync; while it runs, a sync
//! holds its changes back and says that `launch` applies them when Mixxx exits.

use crate::util::*;
use serde_json::Value;

/// The stand-in for Mixxx: holds the database open (as Mixxx does) while another clone's
/// change arrives (a comment set on the branch) and a sync runs (its JSON goes to
/// `during.json`), rates `a.flac` 2 and exits.
const FAKE_MIXXX: &str = r#"
import json, os, sqlite3, subprocess, sys
settings = sys.argv[sys.argv.index("--settingsPath") + 1]
db = sqlite3.connect(os.path.join(settings, "mixxxdb.sqlite"))
db.execute("SELECT count(*) FROM library").fetchone()
repo = os.environ["FAKE_MIXXX_REPO"]
subprocess.run(["git", "-C", repo, "annex", "metadata", "-q", "-s", "comment=later", "a.flac"], check=True)
during = subprocess.run(["git", "-C", repo, "mixxx", "sync", "--json"], capture_output=True, text=True)
open(os.path.join(settings, "during.json"), "w").write(during.stdout)
db.execute("UPDATE library SET rating = 2 WHERE location IN (SELECT id FROM track_locations WHERE location LIKE '%/a.flac')")
db.commit()
db.close()
"#;

#[test]
fn launch_syncs_runs_mixxx_and_syncs_again() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    env.sync(&repo, &db, &[]);
    let settings = db.parent().unwrap();
    let script = env.root.join("fake-mixxx.py");
    std::fs::write(&script, FAKE_MIXXX).unwrap();
    let command = format!(
        "python3 '{}' --settingsPath '{}'",
        script.display(),
        settings.display()
    );
    env.git(&repo, &["config", "mixxx.command", &command]);
    // A change on the branch that Mixxx's run has to wait for.
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "color=#00FF00", "a.flac"],
    );

    let out = env
        .command(
            &repo,
            "git",
            &["mixxx", "launch", "--json", "--", "--fullScreen"],
        )
        .env("FAKE_MIXXX_REPO", &repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::surface::assert_valid("launch.json", &doc);
    assert_eq!(doc["command"], "launch");
    assert_eq!(doc["mixxx_exit_code"], 0, "{doc}");
    assert_eq!(
        doc["before"]["pulled"], 1,
        "the colour, before Mixxx starts: {doc}"
    );
    assert_eq!(doc["after"]["pushed"], 1, "the rating made in Mixxx: {doc}");
    assert_eq!(
        doc["after"]["pulled"], 1,
        "the comment that arrived meanwhile: {doc}"
    );

    // The sync made while Mixxx ran (the database named by --settingsPath, no --db given)
    // held its pull back and said who applies it; the sync after Mixxx applied it.
    let during: Value =
        serde_json::from_str(&std::fs::read_to_string(settings.join("during.json")).unwrap())
            .unwrap();
    let why = during["pull_pending"].as_str().unwrap_or_default();
    assert!(why.contains("git mixxx launch"), "{during}");
    assert_eq!(
        env.metadata(&repo, "a.flac")["rating"],
        set_of(&["2"]),
        "the rating made in Mixxx is on the branch"
    );
    assert_eq!(
        db_values(&db)[&loc(&repo, "a.flac")]["comment"],
        set_of(&["later"]),
        "a change that arrived while Mixxx ran is in Mixxx once it exits"
    );
    assert!(
        !settings.join("mixxxdb.sqlite.git-mixxx-launch").exists(),
        "the note goes with Mixxx"
    );
}

fn set_of(values: &[&str]) -> std::collections::BTreeSet<String> {
    values.iter().map(|v| v.to_string()).collect()
}

// A command git-mixxx cannot start is one clear error.
#[test]
fn launch_says_when_mixxx_cannot_start() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    env.git(
        &repo,
        &["config", "mixxx.command", "no-such-mixxx --fullScreen"],
    );
    let out = env.mixxx(&repo, &["launch", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("could not start Mixxx with `no-such-mixxx --fullScreen`"),
        "{}",
        text(&out)
    );
}

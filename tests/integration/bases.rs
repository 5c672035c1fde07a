//! This clone's own state, kept in `.git/mixxx/`: a base per Mixxx database, runs taken back
//! from the clone's own reflog after a kill or when the state is gone, and nothing taken from
//! records the clone's history cannot vouch for; the host and database path can stay off the
//! branch.

use crate::forge::*;
use crate::laptops::*;
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use serde_json::Value;
use std::path::{Path, PathBuf};

const FILES: [&str; 6] = [
    "t0.flac", "t1.flac", "t2.flac", "t3.flac", "t4.flac", "t5.flac",
];

/// A repository with [`FILES`], and two Mixxx databases of them: the first rates each 3 with a
/// comment, the second is empty. (repository, first, second)
fn two_databases(env: &Env) -> (PathBuf, PathBuf, PathBuf) {
    let repo = env.repo("music");
    env.add_files(&repo, &FILES, &[]);
    let home = env.root.join("home-mixxx/mixxxdb.sqlite");
    let gig = env.root.join("gig-mixxx/mixxxdb.sqlite");
    let rated: Vec<(String, Values)> = FILES
        .iter()
        .map(|f| {
            (
                loc(&repo, f),
                vals(&[("rating", &["3"]), ("comment", &["c"])]),
            )
        })
        .collect();
    create_db(&home, 32, &rated);
    let empty: Vec<(String, Values)> = FILES
        .iter()
        .map(|f| (loc(&repo, f), Values::new()))
        .collect();
    create_db(&gig, 39, &empty);
    (repo, home, gig)
}

fn edit_all(repo: &Path, db: &Path, assignment: &str) {
    for f in FILES {
        edit(db, &loc(repo, f), assignment);
    }
}

// One clone, two Mixxx databases (two profiles): after a sync of the second, edits made in
// the first (cleared comments, new ratings) are pushed, not pulled back over; edits made in
// both, each offline, all arrive; `status` names the database of each base.
#[test]
fn two_databases_on_one_clone_keep_a_base_each() {
    let env = Env::new();
    let (repo, home, gig) = two_databases(&env);
    env.sync(&repo, &home, &[]);
    let first = env.sync(&repo, &gig, &[]);
    assert_eq!(first["pulled"], 6, "{first}");
    assert_eq!(first["database_replaced"], true, "{first}");

    edit_all(&repo, &home, "comment = NULL, rating = 5");
    let report = env.sync(&repo, &home, &[]);
    assert_eq!(
        (&report["pushed"], &report["pulled"]),
        (&6.into(), &0.into())
    );
    assert_eq!(report["database_replaced"], false, "{report}");
    assert_eq!(report["conflicts"], serde_json::json!([]), "{report}");
    for f in FILES {
        assert_eq!(env.metadata(&repo, f), vals(&[("rating", &["5"])]));
        assert_eq!(
            values_of(&home, &loc(&repo, f)),
            vals(&[("rating", &["5"])])
        );
    }
    let report = env.sync(&repo, &gig, &[]);
    assert_eq!(
        (&report["pushed"], &report["pulled"]),
        (&0.into(), &6.into())
    );
    assert_eq!(report["database_replaced"], false, "{report}");

    // Each edited offline, then synced in turn: nothing lost either way.
    edit(&home, &loc(&repo, FILES[0]), "rating = 1");
    edit(&gig, &loc(&repo, FILES[1]), "rating = 2");
    env.sync(&repo, &home, &[]);
    env.sync(&repo, &gig, &[]);
    env.sync(&repo, &home, &[]);
    for db in [&home, &gig] {
        assert_eq!(
            values_of(db, &loc(&repo, FILES[0]))["rating"],
            set_of(&["1"])
        );
        assert_eq!(
            values_of(db, &loc(&repo, FILES[1]))["rating"],
            set_of(&["2"])
        );
    }
    assert_settled(&env, &repo, &home);
    assert_settled(&env, &repo, &gig);

    let status = status(&env, &repo, &home);
    let bases = status["bases"].as_array().unwrap();
    assert_eq!(bases.len(), 2, "{status:#}");
    let of = |db: &Path| {
        bases
            .iter()
            .find(|b| b["db"] == db.to_str().unwrap())
            .unwrap_or_else(|| panic!("no base of {}: {status:#}", db.display()))
    };
    assert_eq!(of(&home)["this_database"], true);
    assert_eq!(of(&gig)["this_database"], false);
    let text = env.mixxx_ok(&repo, &["status", "--db", home.to_str().unwrap()]);
    assert!(
        text.contains(&format!("{} (this database)", home.display())),
        "{text}"
    );
    assert!(text.contains(&gig.display().to_string()), "{text}");
}

/// The state folder of `repo`'s clone.
fn state_dir(env: &Env, repo: &Path) -> PathBuf {
    repo.join(".git/mixxx").join(uuid_of(env, repo))
}

/// `git mixxx sync` killed at `point`; it must have failed.
fn killed_sync(env: &Env, repo: &Path, db: &Path, point: &str) {
    let out = env
        .command(
            repo,
            "git",
            &["mixxx", "sync", "--db", db.to_str().unwrap()],
        )
        .env("GIT_MIXXX_TEST_KILL", point)
        .output()
        .unwrap();
    assert!(!out.status.success(), "killed at {point}: {}", text(&out));
}

// A sync killed after its commit, before this clone's state took it in (or while writing that
// state): the run is taken back from the clone's own reflog, so `undo` reverts it; the next
// sync has nothing to do, and no temporary file is left.
#[test]
fn a_run_killed_before_its_state_was_kept_is_still_this_clones_last() {
    for point in ["after-branch-commit", "local-state-before-rename"] {
        let env = Env::new();
        let (repo, db) = env.one_track("3");
        env.sync(&repo, &db, &[]);
        edit(&db, &loc(&repo, "a.flac"), "rating = 5");
        killed_sync(&env, &repo, &db, point);
        let tip = env.branch_tip(&repo);
        let undo: Value = serde_json::from_str(&env.mixxx_ok(
            &repo,
            &["undo", "--dry-run", "--json", "--db", db.to_str().unwrap()],
        ))
        .unwrap();
        assert_eq!(
            undo["run"]["id"].as_str().unwrap(),
            run_of_commit(&env, &repo, &tip),
            "{point}: {undo:#}"
        );
        assert_settled(&env, &repo, &db);
        let temps: Vec<String> = std::fs::read_dir(state_dir(&env, &repo))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp"))
            .collect();
        assert!(temps.is_empty(), "{point}: {temps:?}");
    }
}

// This clone's state removed (or kept by an older git-mixxx on the branch): the base comes
// back from the runs its own reflog vouches for. A clone re-made with the same UUID has no
// such history: the branch's records for its UUID are no base, the database's rows have
// none, and the branch wins where it has history.
#[test]
fn lost_state_comes_back_only_from_this_clones_own_history() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    std::fs::remove_dir_all(state_dir(&l.env, &l.a)).unwrap();
    edit(&l.db_a, &loc(&l.a, A), "rating = 4");
    let report = l.sync_a(&[]);
    assert_eq!(report["first_sync"], false, "{report}");
    assert_eq!(report["database_replaced"], false, "{report}");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(l.env.metadata(&l.a, A)["rating"], set_of(&["4"]));
    l.exchange(&[&l.a]);

    // Laptop A re-made: a new clone with A's UUID and A's database, edited since.
    let uuid = uuid_of(&l.env, &l.a);
    let nas = l.env.root.join("nas.git");
    l.env.git(
        &l.env.root,
        &["clone", "-q", nas.to_str().unwrap(), "laptop-a2"],
    );
    let a2 = l.env.root.join("laptop-a2");
    l.env.git(&a2, &["annex", "reinit", &uuid]);
    l.env.annex_sync(&a2);
    // A's database as it was (its marker), edited since.
    let db = l.env.root.join("mixxx-a2/mixxxdb.sqlite");
    create_db(&db, 32, &[(loc(&a2, A), vals(&[("rating", &["1"])]))]);
    let marker: String = rusqlite::Connection::open(&l.db_a)
        .unwrap()
        .query_row(
            "SELECT value FROM settings WHERE name = 'git-mixxx.database'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db_exec(
        &db,
        &format!("INSERT INTO settings (name, value) VALUES ('git-mixxx.database', '{marker}')"),
    );
    let report = l.env.sync(&a2, &db, &[]);
    assert_eq!(report["first_sync"], true, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(values_of(&db, &loc(&a2, A))["rating"], set_of(&["4"]));
}

// `mixxx.private`: run records and commit messages on the branch leave out the host and the
// database path; this clone's own state keeps them (`status`, `restore --list`).
#[test]
fn a_private_clone_leaves_its_host_and_database_path_off_the_branch() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    env.git(&repo, &["config", "mixxx.private", "true"]);
    env.sync(&repo, &db, &[]);
    edit(&db, &loc(&repo, "a.flac"), "rating = 4");
    env.sync(&repo, &db, &[]);
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "color=#FF0000", "a.flac"],
    );
    assert_eq!(env.sync(&repo, &db, &[])["pulled"], 1);
    let uuid = uuid_of(&env, &repo);
    let runs = env.git(&repo, &["show", &format!("git-annex:mixxx/{uuid}/runs")]);
    let host = gethostname();
    let dir = db.parent().unwrap().to_str().unwrap();
    assert!(!runs.contains(dir), "{runs}");
    assert!(runs.contains(r#""host":"""#), "{runs}");
    let messages = env.git(&repo, &["log", "--format=%B", "git-annex"]);
    assert!(!messages.contains(&format!(" on {host}")), "{messages}");
    assert!(
        messages.contains("git-mixxx sync: 1 track pushed"),
        "{messages}"
    );
    let status = status(&env, &repo, &db);
    assert_eq!(status["bases"][0]["db"], db.to_str().unwrap(), "{status:#}");
    assert_eq!(status["clones"][0]["host"], host.as_str(), "{status:#}");
    let listed = env.mixxx_ok(
        &repo,
        &["restore", "--list", "--json", "--db", db.to_str().unwrap()],
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let backups = listed["backups"].as_array().expect("backups");
    assert!(backups.iter().any(|b| b["run"].is_string()), "{listed:#}");
}

fn gethostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

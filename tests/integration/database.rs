//! Which Mixxx database a run uses: `--db`, else `GIT_MIXXX_DB`, else `git config mixxx.db`,
//! else the first of Mixxx's default locations under HOME that exists; `status` says which
//! and why, and when there is none the error says where it looked and how to choose.

use crate::util::*;
use std::path::{Path, PathBuf};

/// A repository `music` with one annexed file rated 4 in a Mixxx database at `db`.
fn music_with_db(env: &Env, db: &Path) -> PathBuf {
    let repo = env.repo("music");
    env.add_files(&repo, &["a.flac"], &[]);
    create_db(
        db,
        32,
        &[(loc(&repo, "a.flac"), vals(&[("rating", &["4"])]))],
    );
    repo
}

/// `git mixxx status --json ARGS`, parsed: (database path, source).
fn database(env: &Env, repo: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["status", "--json"];
    all.extend_from_slice(args);
    let status: serde_json::Value =
        serde_json::from_str(&env.mixxx_ok(repo, &all)).expect("status --json prints JSON");
    let db = &status["database"];
    assert_eq!(db["path"], status["db"], "{status:#}");
    (
        db["path"].as_str().expect("path").to_owned(),
        db["source"].as_str().expect("source").to_owned(),
    )
}

#[cfg(target_os = "linux")]
#[test]
fn a_flatpak_mixxx_is_found_and_the_native_location_comes_first() {
    let env = Env::new();
    let flatpak = env
        .home()
        .join(".var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite");
    let repo = music_with_db(&env, &flatpak);
    let flatpak_text = flatpak.display().to_string();
    assert_eq!(
        database(&env, &repo, &[]),
        (flatpak_text.clone(), "default_flatpak".to_owned())
    );
    let text = env.mixxx_ok(&repo, &["status"]);
    assert!(
        text.contains(&format!(
            "Mixxx database: {flatpak_text} (from Flatpak Mixxx's location)\n"
        )),
        "{text}"
    );
    let report = env.mixxx_ok(&repo, &["sync", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("sync --json");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(env.find(&repo, "rating=4"), ["a.flac"]);

    // Mixxx's own location, once it exists, is looked at first.
    let native = env.home().join(".mixxx/mixxxdb.sqlite");
    create_db(&native, 32, &[]);
    assert_eq!(
        database(&env, &repo, &[]),
        (native.display().to_string(), "default_linux".to_owned())
    );
    let text = env.mixxx_ok(&repo, &["status"]);
    assert!(text.contains("(from Mixxx's default location)\n"), "{text}");
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_database_the_error_says_where_it_looked_and_how_to_choose() {
    let env = Env::new();
    let repo = music_with_db(&env, &env.root.join("elsewhere/mixxxdb.sqlite"));
    for command in ["status", "sync"] {
        let out = env.mixxx(&repo, &[command]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let home = env.home().display();
        for needle in [
            format!(
                "looked at {home}/.mixxx/mixxxdb.sqlite, {home}/.var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite"
            ),
            "pass --db PATH or run `git config mixxx.db PATH`".to_owned(),
        ] {
            assert!(stderr.contains(&needle), "{needle:?} in: {stderr}");
        }
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

#[test]
fn status_says_what_chose_the_database_in_order() {
    let env = Env::new();
    let by_config = env.root.join("config/mixxxdb.sqlite");
    let repo = music_with_db(&env, &by_config);
    let by_env = env.root.join("env/mixxxdb.sqlite");
    let by_option = env.root.join("option/mixxxdb.sqlite");
    create_db(&by_env, 32, &[]);
    create_db(&by_option, 32, &[]);
    let path = |p: &Path| p.display().to_string();
    // A default database exists too: anything chosen comes before it.
    create_db(&env.home().join(".mixxx/mixxxdb.sqlite"), 32, &[]);

    env.git(&repo, &["config", "mixxx.db", &path(&by_config)]);
    assert_eq!(
        database(&env, &repo, &[]),
        (path(&by_config), "git_config".to_owned())
    );
    let with_env = |args: &[&str]| {
        let mut all = vec!["mixxx"];
        all.extend_from_slice(args);
        let out = env
            .command(&repo, "git", &all)
            .env("GIT_MIXXX_DB", &by_env)
            .output()
            .expect("run git mixxx");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let status: serde_json::Value =
        serde_json::from_str(&with_env(&["status", "--json"])).expect("JSON");
    assert_eq!(status["database"]["path"], path(&by_env), "{status:#}");
    assert_eq!(status["database"]["source"], "environment", "{status:#}");
    let text = with_env(&["status"]);
    assert!(
        text.contains(&format!(
            "Mixxx database: {} (from GIT_MIXXX_DB)\n",
            path(&by_env)
        )),
        "{text}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&with_env(&["status", "--json", "--db", &path(&by_option)]))
            .expect("JSON");
    assert_eq!(status["database"]["path"], path(&by_option), "{status:#}");
    assert_eq!(status["database"]["source"], "db_option", "{status:#}");
    let text = env.mixxx_ok(&repo, &["status", "--db", &path(&by_option)]);
    assert!(
        text.contains(&format!(
            "Mixxx database: {} (from --db)\n",
            path(&by_option)
        )),
        "{text}"
    );
    let text = env.mixxx_ok(&repo, &["status"]);
    assert!(
        text.contains(&format!(
            "Mixxx database: {} (from git config mixxx.db)\n",
            path(&by_config)
        )),
        "{text}"
    );
}

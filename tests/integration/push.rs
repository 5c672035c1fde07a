//! Mixxx → git-annex: mapped values land on the branch exactly, change detection, clearing,
//! the journal hazard, state on the branch, renames, and where git-mixxx can be run from.

use crate::util::*;
use std::path::Path;

const LOCKED: &[&str] = &[
    "music/House/a.flac",
    "music/House/b.mp3",
    "music/Techno/c d.flac",
];
const UNLOCKED: &[&str] = &["music/Techno/e.flac", "music/f.ogg"];

fn library(repo: &Path) -> Vec<(String, git_mixxx::annex::logmet::Values)> {
    vec![
        (
            loc(repo, "music/House/a.flac"),
            vals(&[
                ("artist", &["Alpha"]),
                ("title", &["First"]),
                ("rating", &["5"]),
                ("bpm", &["124.00"]),
                ("key", &["Am"]),
                ("color", &["#FF0000"]),
                ("crate", &["Warmup", "Peak"]),
                ("playlist", &["Friday"]),
                ("albumartist", &["Various"]),
                ("composer", &["Comp"]),
                ("grouping", &["G1"]),
                ("year", &["1999"]),
                ("tracknumber", &["7"]),
                ("genre", &["House"]),
                ("album", &["The Album"]),
                ("comment", &["nice"]),
            ]),
        ),
        (
            loc(repo, "music/House/b.mp3"),
            vals(&[
                ("artist", &["Beta"]),
                ("rating", &["3"]),
                ("crate", &["Warmup"]),
            ]),
        ),
        (
            loc(repo, "music/Techno/c d.flac"),
            vals(&[
                ("title", &["Spaced out"]),
                ("rating", &["5"]),
                ("key", &["C#m"]),
            ]),
        ),
        (
            loc(repo, "music/Techno/e.flac"),
            vals(&[
                ("rating", &["5"]),
                ("color", &["#00AAFF"]),
                ("crate", &["Peak"]),
            ]),
        ),
        (loc(repo, "music/f.ogg"), vals(&[("bpm", &["90.50"])])),
    ]
}

fn check_exact(env: &Env, repo: &Path, tracks: &[(String, git_mixxx::annex::logmet::Values)]) {
    for (location, values) in tracks {
        let file = location
            .strip_prefix(&format!("{}/", repo.display()))
            .expect("in repo");
        assert_eq!(&env.metadata(repo, file), values, "metadata of {file}");
    }
    assert_eq!(
        env.find(repo, "rating=5"),
        [
            "music/House/a.flac",
            "music/Techno/c d.flac",
            "music/Techno/e.flac"
        ]
    );
}

fn first_sync_writes_exact_values(revision: i64) {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, LOCKED, UNLOCKED);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let tracks = library(&repo);
    create_db(&db, revision, &tracks);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["first_sync"], true);
    assert_eq!(report["pushed"], 5);
    assert_eq!(report["tracks"], 5);
    check_exact(&env, &repo, &tracks);
    // Every object git-mixxx wrote is well-formed and connected.
    let fsck = env.git(
        &repo,
        &["fsck", "--no-progress", "--no-dangling", "--strict"],
    );
    assert!(fsck.is_empty(), "{fsck}");
}

#[test]
fn first_sync_writes_exact_values_schema_32() {
    first_sync_writes_exact_values(32);
}

#[test]
fn first_sync_writes_exact_values_schema_39() {
    first_sync_writes_exact_values(39);
}

#[test]
fn first_sync_writes_exact_values_schema_40() {
    first_sync_writes_exact_values(40);
}

#[test]
fn odd_values_round_trip_exactly() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["a.flac", "b.flac"], &[]);
    let long = "é".repeat(1000) + &"x ".repeat(1000) + &"y".repeat(1000);
    assert_eq!(long.chars().count(), 4000);
    let odd = vals(&[
        ("artist", &["  two  spaces  "]),
        ("title", &["line one\nline two\r\n"]),
        ("album", &["!bang"]),
        ("genre", &["tab\there"]),
        ("composer", &["Ünïcødé 日本語 🎧"]),
        ("grouping", &["+plus -minus"]),
        ("comment", &[long.as_str()]),
        ("crate", &["crate with space", "!odd crate", "Crème"]),
    ]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(&db, 32, &[(loc(&repo, "a.flac"), odd.clone())]);
    env.sync(&repo, &db, &[]);
    assert_eq!(env.metadata(&repo, "a.flac"), odd);

    // git-annex's own writes of the same values are read back by git-mixxx exactly: set them
    // on b.flac with git-annex, pull them into a fresh Mixxx and compare.
    for (field, values) in &odd {
        for v in values {
            env.git(
                &repo,
                &[
                    "annex",
                    "metadata",
                    "-q",
                    "-s",
                    &format!("{field}+={v}"),
                    "b.flac",
                ],
            );
        }
    }
    let db2 = env.root.join("mixxx2/mixxxdb.sqlite");
    create_db(&db2, 32, &[(loc(&repo, "b.flac"), Default::default())]);
    let report = env.sync(&repo, &db2, &[]);
    // a.flac, which that Mixxx lacked, is added with its values (the import).
    assert_eq!(
        report["imported"],
        serde_json::json!(["a.flac"]),
        "{report}"
    );
    assert_eq!(report["pulled"], 2, "{report}");
    assert_eq!(db_values(&db2)[&loc(&repo, "b.flac")], odd);
    assert_eq!(db_values(&db2)[&loc(&repo, "a.flac")], odd);
}

#[test]
fn edits_write_only_what_changed_and_cleared_values_are_unset() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, LOCKED, UNLOCKED);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let tracks = library(&repo);
    create_db(&db, 32, &tracks);
    env.sync(&repo, &db, &[]);
    let before = env.branch_tip(&repo);

    // One rating edited, one colour cleared, one track taken out of a crate.
    db_exec(
        &db,
        &format!(
            "UPDATE library SET rating = 2 WHERE location = (SELECT id FROM track_locations WHERE location = '{b}');
             UPDATE library SET color = NULL WHERE location = (SELECT id FROM track_locations WHERE location = '{e}');
             DELETE FROM crate_tracks WHERE crate_id = (SELECT id FROM crates WHERE name = 'Peak')
               AND track_id = (SELECT l.id FROM library l JOIN track_locations t ON t.id = l.location WHERE t.location = '{a}');",
            a = loc(&repo, "music/House/a.flac"),
            b = loc(&repo, "music/House/b.mp3"),
            e = loc(&repo, "music/Techno/e.flac"),
        ),
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 3, "{report}");
    assert_eq!(report["unchanged"], 2);
    assert_eq!(
        report["pushed_fields"],
        serde_json::json!({"rating": 1, "color": 1, "crate": 1})
    );

    // Exactly one commit, touching exactly those three keys' logs (plus git-mixxx's state).
    let after = env.branch_tip(&repo);
    assert_eq!(
        env.git(&repo, &["rev-parse", &format!("{after}^")]).trim(),
        before
    );
    let changed = env.git(&repo, &["diff", "--name-only", &before, &after]);
    let logs: Vec<&str> = changed
        .lines()
        .filter(|l| l.ends_with(".log.met"))
        .collect();
    assert_eq!(logs.len(), 3, "{changed}");
    assert!(
        changed
            .lines()
            .all(|l| l.ends_with(".log.met") || l.starts_with("mixxx/"))
    );
    let message = env.git(&repo, &["log", "-1", "--format=%B", &after]);
    assert!(
        message.contains("pushed: color 1, crate 1, rating 1"),
        "{message}"
    );

    assert_eq!(
        env.metadata(&repo, "music/House/b.mp3")["rating"],
        ["2".to_owned()].into()
    );
    assert!(
        !env.metadata(&repo, "music/Techno/e.flac")
            .contains_key("color")
    );
    assert_eq!(
        env.metadata(&repo, "music/House/a.flac")["crate"],
        ["Warmup".to_owned()].into()
    );
    assert_eq!(env.find(&repo, "rating=5").len(), 3);
    assert!(env.find(&repo, "color=#00AAFF").is_empty());
}

#[test]
fn second_sync_without_changes_makes_no_commit() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, LOCKED, UNLOCKED);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(&db, 32, &library(&repo));
    env.sync(&repo, &db, &[]);
    let tip = env.branch_tip(&repo);
    let out = env.mixxx_ok(&repo, &["sync", "--db", db.to_str().unwrap()]);
    assert!(out.contains("Nothing to do"), "{out}");
    assert_eq!(env.branch_tip(&repo), tip);
    // Also after the local cache is gone: it is rebuilt from the branch.
    std::fs::remove_dir_all(repo.join(".git/mixxx")).expect("cache dir exists");
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 0);
    assert_eq!(report["first_sync"], false);
    assert_eq!(env.branch_tip(&repo), tip);
}

#[test]
fn dry_run_writes_nothing() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, LOCKED, UNLOCKED);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(&db, 32, &library(&repo));
    env.git(
        &repo,
        &[
            "-c",
            "annex.alwayscommit=false",
            "annex",
            "metadata",
            "-q",
            "-s",
            "tag=x",
            "music/f.ogg",
        ],
    );
    let tip = env.branch_tip(&repo);
    let journal = std::fs::read_dir(repo.join(".git/annex/journal"))
        .unwrap()
        .count();
    assert_eq!(journal, 1);
    let report = env.sync(&repo, &db, &["--dry-run"]);
    assert_eq!(report["pushed"], 5);
    assert_eq!(report["dry_run"], true);
    assert_eq!(env.branch_tip(&repo), tip);
    assert_eq!(
        std::fs::read_dir(repo.join(".git/annex/journal"))
            .unwrap()
            .count(),
        journal
    );
    assert!(!repo.join(".git/mixxx").exists());
    // And the real run afterwards still sees everything to do.
    assert_eq!(env.sync(&repo, &db, &[])["pushed"], 5);
}

#[test]
fn pending_journal_entry_and_our_sync_both_survive() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    env.git(
        &repo,
        &[
            "-c",
            "annex.alwayscommit=false",
            "annex",
            "metadata",
            "-q",
            "-s",
            "genre=House",
            "a.flac",
        ],
    );
    assert!(
        std::fs::read_dir(repo.join(".git/annex/journal"))
            .unwrap()
            .count()
            > 0
    );
    env.sync(&repo, &db, &[]);
    env.git(&repo, &["annex", "merge", "-q"]);
    let md = env.metadata(&repo, "a.flac");
    assert_eq!(md["rating"], ["4".to_owned()].into(), "{md:?}");
    assert_eq!(md["genre"], ["House".to_owned()].into(), "{md:?}");
    // Both are committed on the branch itself, not only in the journal.
    env.git(&repo, &["annex", "merge", "-q"]);
    let key = env.git(&repo, &["annex", "lookupkey", "a.flac"]);
    let hashdir = env.git(
        &repo,
        &[
            "annex",
            "examinekey",
            "--format=${hashdirlower}",
            key.trim(),
        ],
    );
    let log = env.git(
        &repo,
        &[
            "show",
            &format!("git-annex:{}{}.log.met", hashdir.trim(), key.trim()),
        ],
    );
    assert!(
        log.contains("rating +4") && log.contains("genre +House"),
        "{log}"
    );
}

#[test]
fn state_reaches_other_clones_and_status_shows_it() {
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    env.add_files(&a, &["a.flac", "b.flac"], &[]);
    let db = env.root.join("mixxx-a/mixxxdb.sqlite");
    create_db(&db, 32, &[(loc(&a, "a.flac"), vals(&[("rating", &["4"])]))]);
    env.sync(&a, &db, &[]);
    let status: serde_json::Value = serde_json::from_str(
        &env.mixxx_ok(&a, &["status", "--json", "--db", db.to_str().unwrap()]),
    )
    .unwrap();
    let uuid_a = env.git(&a, &["config", "annex.uuid"]).trim().to_owned();
    assert_eq!(status["clones"][0]["uuid"], uuid_a.as_str());
    assert_eq!(status["clones"][0]["this_clone"], true);
    assert_eq!(status["clones"][0]["finished"], true);
    assert_eq!(status["pending"]["pushed"], 0);
    env.annex_sync(&a);

    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    let db_b = env.root.join("mixxx-b/mixxxdb.sqlite");
    create_db(
        &db_b,
        39,
        &[(loc(&b, "b.flac"), vals(&[("rating", &["1"])]))],
    );
    let status: serde_json::Value = serde_json::from_str(
        &env.mixxx_ok(&b, &["status", "--json", "--db", db_b.to_str().unwrap()]),
    )
    .unwrap();
    let clones = status["clones"].as_array().unwrap();
    assert_eq!(clones.len(), 1);
    assert_eq!(clones[0]["uuid"], uuid_a.as_str());
    assert_eq!(clones[0]["this_clone"], false);
    assert_eq!(clones[0]["description"], "laptop-a");
    assert_eq!(clones[0]["tracks"], 1);
    assert_eq!(status["synced_before"], false);
    assert_eq!(status["pending"]["pushed"], 1);
    let human = env.mixxx_ok(&b, &["status", "--db", db_b.to_str().unwrap()]);
    assert!(
        human.contains("[laptop-a]") && human.contains("1 track to push"),
        "{human}"
    );
}

#[test]
fn renaming_a_file_keeps_its_metadata_once() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["old/a.flac"], &["old/u.flac"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(
        &db,
        32,
        &[
            (
                loc(&repo, "old/a.flac"),
                vals(&[("rating", &["5"]), ("crate", &["X"])]),
            ),
            (loc(&repo, "old/u.flac"), vals(&[("rating", &["3"])])),
        ],
    );
    env.sync(&repo, &db, &[]);
    env.git(&repo, &["mv", "old", "new"]);
    env.git(&repo, &["commit", "-q", "-m", "rename"]);
    assert_eq!(
        env.metadata(&repo, "new/a.flac")["rating"],
        ["5".to_owned()].into()
    );
    assert_eq!(
        env.metadata(&repo, "new/u.flac")["rating"],
        ["3".to_owned()].into()
    );
    // Mixxx rescans and sees the new paths: nothing to write, nothing duplicated.
    db_exec(
        &db,
        &format!(
            "UPDATE track_locations SET location = replace(location, '{0}/old/', '{0}/new/')",
            repo.display()
        ),
    );
    let tip = env.branch_tip(&repo);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(env.branch_tip(&repo), tip);
    assert_eq!(
        env.metadata(&repo, "new/a.flac"),
        vals(&[("rating", &["5"]), ("crate", &["X"])])
    );
}

#[test]
fn runs_from_subdirectory_git_c_and_hook_environment() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["sub/a.flac", "b.flac"], &[]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let dbs = db.to_str().unwrap();
    create_db(
        &db,
        32,
        &[(loc(&repo, "sub/a.flac"), vals(&[("rating", &["1"])]))],
    );

    // From a subdirectory.
    let report: serde_json::Value =
        serde_json::from_str(&env.mixxx_ok(&repo.join("sub"), &["sync", "--json", "--db", dbs]))
            .unwrap();
    assert_eq!(report["pushed"], 1);

    // With git -C from outside.
    db_exec(&db, "UPDATE library SET rating = 2");
    let repo_s = repo.to_str().unwrap();
    let out = env.output(
        &env.root,
        "git",
        &["-C", repo_s, "mixxx", "sync", "--json", "--db", dbs],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.metadata(&repo, "sub/a.flac")["rating"],
        ["2".to_owned()].into()
    );

    // With GIT_DIR and GIT_WORK_TREE as hooks set them, from an unrelated directory.
    db_exec(&db, "UPDATE library SET rating = 3");
    let out = env
        .command(&env.root, "git-mixxx", &["sync", "--db", dbs])
        .env("GIT_DIR", repo.join(".git"))
        .env("GIT_WORK_TREE", &repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.metadata(&repo, "sub/a.flac")["rating"],
        ["3".to_owned()].into()
    );
}

#[test]
fn mixxx_prefix_maps_another_mount_point() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["a.flac"], &[]);
    env.git(&repo, &["config", "mixxx.prefix", "/media/nas/music"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(
        &db,
        32,
        &[(
            "/media/nas/music/a.flac".to_owned(),
            vals(&[("rating", &["4"])]),
        )],
    );
    env.git(&repo, &["config", "mixxx.db", db.to_str().unwrap()]);
    env.mixxx_ok(&repo, &["sync"]);
    assert_eq!(
        env.metadata(&repo, "a.flac")["rating"],
        ["4".to_owned()].into()
    );
}

#[test]
fn skipped_tracks_are_counted_by_reason() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(&repo, &["a.flac"], &[]);
    std::fs::write(repo.join("plain.txt"), "not annexed").unwrap();
    env.git(
        &repo,
        &["-c", "annex.largefiles=nothing", "add", "plain.txt"],
    );
    env.git(&repo, &["commit", "-q", "-m", "plain"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(
        &db,
        32,
        &[
            (loc(&repo, "a.flac"), vals(&[("rating", &["4"])])),
            (loc(&repo, "plain.txt"), vals(&[("rating", &["4"])])),
            (loc(&repo, "missing.flac"), vals(&[("rating", &["4"])])),
            ("/elsewhere/x.flac".to_owned(), vals(&[("rating", &["4"])])),
        ],
    );
    // A track hidden in Mixxx is not synced at all.
    create_hidden(&db, &loc(&repo, "a.flac"));
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["tracks"], 1);
    assert_eq!(
        report["skipped"],
        serde_json::json!({
            "not_annexed": 1,
            "not_tracked": 1,
            "outside_repo": 1
        })
    );
}

fn create_hidden(db: &Path, location: &str) {
    db_exec(
        db,
        &format!(
            "INSERT INTO library (location, mixxx_deleted, rating) SELECT id, 1, 1 FROM track_locations WHERE location = '{location}'"
        ),
    );
}

#[test]
fn path_arguments_restrict_the_sync() {
    let env = Env::new();
    let repo = env.repo("music");
    env.add_files(
        &repo,
        &["house/a.flac", "techno/b.flac", "techno/c.flac"],
        &[],
    );
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(
        &db,
        32,
        &[
            (loc(&repo, "house/a.flac"), vals(&[("rating", &["1"])])),
            (loc(&repo, "techno/b.flac"), vals(&[("rating", &["2"])])),
            (loc(&repo, "techno/c.flac"), vals(&[("rating", &["3"])])),
        ],
    );
    let report = env.sync(&repo.join("techno"), &db, &["b.flac"]);
    assert_eq!(report["pushed"], 1);
    assert!(env.metadata(&repo, "techno/c.flac").is_empty());
    let report = env.sync(&repo, &db, &["house"]);
    assert_eq!(report["pushed"], 1);
    assert!(env.metadata(&repo, "techno/c.flac").is_empty());
    assert_eq!(
        env.metadata(&repo, "house/a.flac")["rating"],
        ["1".to_owned()].into()
    );
    let out = env.mixxx(&repo, &["sync", "--db", db.to_str().unwrap(), "/tmp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the work tree"));
}

#[test]
fn all_rewrites_values_that_differ_from_the_branch() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    env.sync(&repo, &db, &[]);
    // Someone changes the branch behind Mixxx's back; --all puts Mixxx's value back.
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "rating=1", "a.flac"],
    );
    let report = env.sync(&repo, &db, &["--all", "--push-only"]);
    assert_eq!(report["pushed"], 1);
    assert_eq!(
        env.metadata(&repo, "a.flac")["rating"],
        ["4".to_owned()].into()
    );
}

#[test]
fn pulled_playlist_changes_keep_positions_contiguous() {
    let env = Env::new();
    let repo = env.repo("music");
    let files = ["1.flac", "2.flac", "3.flac", "4.flac"];
    env.add_files(&repo, &files, &[]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let tracks: Vec<_> = files
        .iter()
        .map(|f| {
            let set: &[&str] = if *f == "4.flac" { &[] } else { &["Set"] };
            (loc(&repo, f), vals(&[("playlist", set)]))
        })
        .collect();
    create_db(&db, 32, &tracks);
    env.sync(&repo, &db, &[]);
    // Another clone takes 2 out of the playlist and puts 4 in.
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "playlist-=Set", "2.flac"],
    );
    env.git(
        &repo,
        &["annex", "metadata", "-q", "-s", "playlist+=Set", "4.flac"],
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pulled"], 2, "{report}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT tl.filename, pt.position FROM PlaylistTracks pt JOIN library l ON l.id = pt.track_id \
             JOIN track_locations tl ON tl.id = l.location JOIN Playlists p ON p.id = pt.playlist_id \
             WHERE p.name = 'Set' ORDER BY pt.position",
        )
        .unwrap();
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            ("1.flac".to_owned(), 1),
            ("3.flac".to_owned(), 2),
            ("4.flac".to_owned(), 3)
        ]
    );
}

/// Random values, both ways: git-mixxx's lines read by git-annex, and git-annex's lines read
/// by git-mixxx, agree exactly. Few cases (each runs git-annex), many values per case.
#[test]
fn random_values_agree_with_git_annex_both_ways() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let text = "(\\PC|[ \t\n\r!+-]){1,24}";
    let track = (
        proptest::collection::vec(text, 6),
        proptest::collection::btree_set(text, 0..4),
        1..=5i64,
    );
    let mut runner = TestRunner::new(Config {
        cases: 3,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(track, 4), |tracks| {
            let env = Env::new();
            let repo = env.repo("music");
            let ours: Vec<String> = (0..tracks.len()).map(|i| format!("ours{i}.flac")).collect();
            let theirs: Vec<String> = (0..tracks.len())
                .map(|i| format!("theirs{i}.flac"))
                .collect();
            let all: Vec<&str> = ours.iter().chain(&theirs).map(String::as_str).collect();
            env.add_files(&repo, &all, &[]);
            let fields = ["artist", "title", "album", "genre", "comment", "grouping"];
            let values: Vec<_> = tracks
                .iter()
                .map(|(texts, crates, rating)| {
                    let mut v = git_mixxx::annex::logmet::Values::new();
                    for (f, t) in fields.iter().zip(texts) {
                        v.insert(f.to_string(), [t.clone()].into());
                    }
                    if !crates.is_empty() {
                        v.insert("crate".into(), crates.clone());
                    }
                    v.insert("rating".into(), [rating.to_string()].into());
                    v
                })
                .collect();
            // Ours, read by git-annex.
            let db = env.root.join("mixxx/mixxxdb.sqlite");
            let rows: Vec<_> = ours
                .iter()
                .zip(&values)
                .map(|(f, v)| (loc(&repo, f), v.clone()))
                .collect();
            create_db(&db, 32, &rows);
            env.sync(&repo, &db, &[]);
            for (f, v) in ours.iter().zip(&values) {
                prop_assert_eq!(&env.metadata(&repo, f), v);
            }
            // Theirs (git annex metadata --batch), read by git-mixxx.
            let mut batch = String::new();
            for (f, v) in theirs.iter().zip(&values) {
                let line = serde_json::json!({"file": f, "fields": v});
                batch.push_str(&format!("{line}\n"));
            }
            let mut child = env
                .command(&repo, "git", &["annex", "metadata", "--batch", "--json"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(batch.as_bytes())
                .unwrap();
            prop_assert!(child.wait_with_output().unwrap().status.success());
            let db2 = env.root.join("mixxx2/mixxxdb.sqlite");
            let empty: Vec<_> = theirs
                .iter()
                .map(|f| (loc(&repo, f), Default::default()))
                .collect();
            create_db(&db2, 32, &empty);
            env.sync(&repo, &db2, &[]);
            let got = db_values(&db2);
            for (f, v) in theirs.iter().zip(&values) {
                prop_assert_eq!(&got[&loc(&repo, f)], v);
            }
            Ok(())
        })
        .unwrap();
}

/// A sync with many tracks writes one pack whose logs and trees are mostly deltas; git reads
/// every object back, git-annex sees the values, and the next sync reads its own deltas.
#[test]
fn large_sync_writes_a_pack_with_deltas_that_git_reads() {
    let env = Env::new();
    let repo = env.repo("music");
    let names: Vec<String> = (0..150)
        .map(|i| format!("set/{}/t{i}.flac", i % 7))
        .collect();
    let files: Vec<&str> = names.iter().map(String::as_str).collect();
    env.add_files(&repo, &files, &[]);
    let value = |i: usize| {
        let rating = (1 + i % 5).to_string();
        let title = format!("Track {i} (Extended Mix)");
        vals(&[
            ("artist", &["Same Artist"]),
            ("title", &[title.as_str()]),
            ("rating", &[rating.as_str()]),
            ("crate", &["Warmup", "Peak Time"]),
        ])
    };
    let tracks: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, f)| (loc(&repo, f), value(i)))
        .collect();
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(&db, 32, &tracks);
    let loose = |repo: &Path| {
        env.git(repo, &["count-objects", "-v"])
            .lines()
            .find_map(|l| l.strip_prefix("count: ").map(str::to_owned))
            .expect("count line")
    };
    let loose_before = loose(&repo);
    assert_eq!(env.sync(&repo, &db, &[])["pushed"], 150);
    assert_eq!(loose(&repo), loose_before, "the objects went into a pack");

    let pack_dir = repo.join(".git/objects/pack");
    let newest = std::fs::read_dir(&pack_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .expect("a pack");
    let verify = env.git(&repo, &["verify-pack", "-v", newest.to_str().unwrap()]);
    let deltas = verify
        .lines()
        .find_map(|l| l.strip_prefix("chain length = 1: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    assert!(deltas >= 140, "{verify}");
    assert!(
        !verify.contains("chain length = 2"),
        "deltas of deltas: {verify}"
    );
    let fsck = env.git(
        &repo,
        &["fsck", "--no-progress", "--no-dangling", "--strict"],
    );
    assert!(fsck.is_empty(), "{fsck}");
    for i in [0, 1, 77, 149] {
        assert_eq!(env.metadata(&repo, &names[i]), value(i), "{}", names[i]);
    }
    assert_eq!(env.find(&repo, "rating=5").len(), 30);

    // The next sync reads logs stored as deltas to append to them.
    db_exec(&db, "UPDATE library SET rating = 5 WHERE id = 2");
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 1);
    let mut expected = value(1);
    expected.insert("rating".into(), ["5".to_owned()].into());
    assert_eq!(env.metadata(&repo, &names[1]), expected);
    assert_eq!(env.find(&repo, "rating=5").len(), 31);
}

//! Nothing lost from the Mixxx side: a new, rebuilt, restored or copied database, mass clears,
//! renamed files and folders relinked by key, re-tagged files, one key at two paths.

use crate::laptops::*;
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use serde_json::{Value, json};
use std::path::Path;

// A reinstalled Mixxx (a new, empty database of the same files) is not a DJ clearing the
// collection: it gets the branch's values and pushes no clears.
#[test]
fn a_new_database_gets_the_branch_values_and_clears_nothing() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["5"]), ("crate", &["Peak"])])),
        (
            B,
            vals(&[("color", &["#00FF00"]), ("playlist", &["Friday"])]),
        ),
    ]);
    std::fs::remove_file(&l.db_b).unwrap();
    l.mixxx_b(&[(A, Values::new()), (B, Values::new())]);
    let tip = l.env.branch_tip(&l.b);
    let report = l.sync_b(&[]);
    assert_eq!(report["database_replaced"], true, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["pulled"], 2, "{report}");
    assert_eq!(
        values_of(&l.db_b, &loc(&l.b, A)),
        vals(&[("rating", &["5"]), ("crate", &["Peak"])])
    );
    assert_ne!(l.env.branch_tip(&l.b), tip, "the run is recorded");
    assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["5"]));
    assert_eq!(l.env.metadata(&l.b, B)["playlist"], set_of(&["Friday"]));
    assert_settled(&l.env, &l.b, &l.db_b);
}

// A restored copy of the database, from before the DJ's later edits, brings back neither the
// old values nor the crates the track has left since: the branch wins, as a conflict.
#[test]
fn a_restored_database_brings_nothing_back() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"]), ("crate", &["Old"])]))]);
    let la = loc(&l.a, A);
    let copy = l.env.root.join("copy.sqlite");
    std::fs::copy(&l.db_a, &copy).unwrap();
    edit(&l.db_a, &la, "rating = 5");
    remove_from_crate(&l.db_a, &la, "Old");
    add_to_crate(&l.db_a, &la, "New");
    assert_eq!(l.sync_a(&[])["pushed"], 1);
    std::fs::copy(&copy, &l.db_a).unwrap();
    let report = l.sync_a(&[]);
    assert_eq!(report["database_replaced"], true, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["conflicts"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        values_of(&l.db_a, &la),
        vals(&[("rating", &["5"]), ("crate", &["New"])])
    );
    let branch = l.env.metadata(&l.a, A);
    assert_eq!(branch["rating"], set_of(&["5"]));
    assert_eq!(branch["crate"], set_of(&["New"]));
    assert_settled(&l.env, &l.a, &l.db_a);
}

// A copy of another clone's database, older than this clone's last sync, is no base either.
#[test]
fn a_database_copied_from_another_clone_brings_nothing_back() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    // An early copy of A's database, before A's DJ rated the track 5.
    let copy = l.env.root.join("copy.sqlite");
    std::fs::copy(&l.db_a, &copy).unwrap();
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    assert_eq!(l.sync_b(&[])["pulled"], 1);
    // B's DJ takes A's old database; A's paths are where B sees its own work tree.
    std::fs::copy(&copy, &l.db_b).unwrap();
    let a_root = format!("{}/", l.a.display());
    l.env
        .git(&l.b, &["config", "--add", "mixxx.prefix", &a_root]);
    let report = l.sync_b(&[]);
    assert_eq!(report["database_replaced"], true, "{report}");
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(values_of(&l.db_b, &loc(&l.a, A))["rating"], set_of(&["5"]));
    assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["5"]));
}

// Clearing many tracks at once is refused until the DJ says it is meant.
#[test]
fn mass_clears_are_refused_until_allowed() {
    let l = Laptops::new();
    let files: Vec<String> = (0..8).map(|i| format!("music/t{i}.flac")).collect();
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    l.env.add_files(&l.a, &names, &[]);
    let tracks: Vec<(&str, Values)> = names
        .iter()
        .map(|f| (*f, vals(&[("rating", &["4"]), ("color", &["#FF0000"])])))
        .collect();
    l.mixxx_a(&tracks);
    l.sync_a(&[]);
    db_exec(&l.db_a, "UPDATE library SET rating = 0, color = NULL");
    let tip = l.env.branch_tip(&l.a);
    let dbs = l.db_a.to_str().unwrap();
    let out = l.env.mixxx(&l.a, &["sync", "--db", dbs]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("would clear 16 values of 8 tracks"), "{said}");
    assert!(said.contains("--allow-clears"), "{said}");
    assert_eq!(l.env.branch_tip(&l.a), tip, "nothing written");
    assert_eq!(l.env.metadata(&l.a, names[0])["rating"], set_of(&["4"]));
    // The DJ meant it.
    let report = l.sync_a(&["--allow-clears"]);
    assert_eq!(report["pushed"], 8, "{report}");
    assert!(!l.env.metadata(&l.a, names[0]).contains_key("rating"));
}

/// A row of a Mixxx database as the relink tests look at it: id, location, `fs_deleted`,
/// plays, and its cues as (type, hot cue, label).
#[derive(Debug, PartialEq)]
struct RowState {
    id: i64,
    location: String,
    missing: i64,
    plays: i64,
    cues: Vec<(i64, i64, String)>,
}

/// Every `library` row, by id, with its location row.
fn rows(db: &Path) -> Vec<RowState> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT l.id, tl.location, tl.fs_deleted, l.timesplayed FROM library l \
             JOIN track_locations tl ON tl.id = l.location ORDER BY l.id",
        )
        .unwrap();
    let mut rows: Vec<RowState> = stmt
        .query_map([], |r| {
            Ok(RowState {
                id: r.get(0)?,
                location: r.get(1)?,
                missing: r.get(2)?,
                plays: r.get(3)?,
                cues: Vec::new(),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for row in &mut rows {
        let mut cues = conn
            .prepare(
                "SELECT type, hotcue, label FROM cues WHERE track_id = ?1 ORDER BY type, hotcue",
            )
            .unwrap();
        row.cues = cues
            .query_map([row.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    }
    rows
}

fn row_at(db: &Path, location: &str) -> Option<RowState> {
    rows(db).into_iter().find(|r| r.location == location)
}

/// How many `track_locations` rows there are.
fn location_rows(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM track_locations", [], |r| r.get(0))
        .unwrap()
}

/// The DJ's preparation of a track in Mixxx: a hot cue, a main cue and plays.
fn prepare(db: &Path, location: &str, hotcue: i64, label: &str, plays: i64) {
    let id = track(location);
    db_exec(
        db,
        &format!(
            "INSERT INTO cues (track_id, type, position, length, hotcue, label) VALUES ({id}, 1, 88200, 0, {hotcue}, '{label}');
             INSERT INTO cues (track_id, type, position, length, hotcue, label) VALUES ({id}, 2, 44100, 0, -1, '');
             UPDATE library SET timesplayed = timesplayed + {plays}, played = 1 WHERE id = {id};"
        ),
    );
}

fn relinks(report: &Value, key: &str) -> Vec<(String, String)> {
    report[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {report}"))
        .iter()
        .map(|r| {
            (
                r["from"].as_str().unwrap().into(),
                r["to"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn prepared() -> Values {
    vals(&[
        ("rating", &["5"]),
        ("crate", &["Peak"]),
        ("playlist", &["Friday"]),
    ])
}

// A file renamed with `git mv`, then rescanned by Mixxx (old row missing, a new empty row for
// the new name): the old row moves to the new path with its id, cues and plays, the rescan's
// row goes, and nothing changes on the branch or on the other laptop. `status` and
// `--dry-run` say so first and change nothing.
#[test]
fn a_renamed_file_is_relinked_with_its_cues_and_plays() {
    let l = Laptops::synced(&[(A, prepared())]);
    prepare(&l.db_a, &loc(&l.a, A), 0, "Drop", 7);
    // The cue travels like the other values.
    l.sync_a(&[]);
    let synced = values_of(&l.db_a, &loc(&l.a, A));
    assert!(synced.contains_key("cue"), "{synced:?}");
    let before = row_at(&l.db_a, &loc(&l.a, A)).unwrap();
    let renamed = "music/House/a (renamed).flac";
    l.env.git(&l.a, &["mv", A, renamed]);
    l.env.git(&l.a, &["commit", "-q", "-m", "rename"]);
    rescan_after_rename(&l.db_a, &loc(&l.a, A), &loc(&l.a, renamed));
    let moved = vec![(A.to_owned(), renamed.to_owned())];

    let bytes = std::fs::read(&l.db_a).unwrap();
    let status = status(&l.env, &l.a, &l.db_a);
    assert_eq!(relinks(&status["pending"], "relinked"), moved, "{status}");
    let dry = l.sync_a(&["--dry-run"]);
    assert_eq!(relinks(&dry, "relinked"), moved, "{dry}");
    // The rescan's empty row is not planned as if it stayed: the relink replaces it.
    assert_eq!(
        (dry["pulled"].clone(), dry["conflicts"].clone()),
        (0.into(), json!([])),
        "{dry}"
    );
    assert!(
        std::fs::read(&l.db_a).unwrap() == bytes,
        "a dry run writes nothing"
    );

    let tip = l.env.branch_tip(&l.a);
    let report = l.sync_a(&[]);
    assert_eq!(relinks(&report, "relinked"), moved, "{report}");
    assert_eq!(
        (report["pushed"].clone(), report["pulled"].clone()),
        (0.into(), 0.into()),
        "{report}"
    );
    let after = rows(&l.db_a);
    let relinked = RowState {
        location: loc(&l.a, renamed),
        ..before
    };
    assert_eq!(after, vec![relinked], "the rescan's row is gone");
    assert_eq!(location_rows(&l.db_a), 1, "the old location row is removed");
    assert_eq!(values_of(&l.db_a, &loc(&l.a, renamed)), synced);
    assert_eq!(l.env.metadata(&l.a, renamed), synced);
    assert_eq!(l.env.branch_tip(&l.a), tip, "nothing to commit");
    assert_settled(&l.env, &l.a, &l.db_a);
    // The other laptop gets the rename with git, and its row moves too.
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert_eq!(relinks(&report, "relinked"), moved, "{report}");
    assert_eq!(values_of(&l.db_b, &loc(&l.b, renamed)), synced);
}

// The DJ used the rescan's new row before syncing (a crate, a rating, hot cues, plays): it
// all moves onto the old row, and what is new reaches the branch. A hot cue whose pad the old
// row already uses goes to the first free pad, and the run says so; a main cue the old row
// holds as it is adds nothing.
#[test]
fn what_the_dj_gave_the_rescanned_row_moves_onto_the_old_row() {
    let l = Laptops::synced(&[(A, prepared())]);
    prepare(&l.db_a, &loc(&l.a, A), 0, "Drop", 7);
    let renamed = "music/a.flac";
    l.env.git(&l.a, &["mv", A, renamed]);
    l.env.git(&l.a, &["commit", "-q", "-m", "move"]);
    rescan_after_rename(&l.db_a, &loc(&l.a, A), &loc(&l.a, renamed));
    let new = loc(&l.a, renamed);
    prepare(&l.db_a, &new, 0, "Also drop", 2);
    prepare(&l.db_a, &new, 3, "Break", 0);
    add_to_crate(&l.db_a, &new, "Fresh");
    edit(&l.db_a, &new, "rating = 2");
    let old_id = row_at(&l.db_a, &loc(&l.a, A)).unwrap().id;

    let report = l.sync_a(&[]);
    assert_eq!(relinks(&report, "relinked").len(), 1, "{report}");
    assert_eq!(
        report["relinked"][0]["cues_moved"],
        json!(["hotcue 1 88200 0 0xFFFF0000 Also drop → pad 2"]),
        "{report}"
    );
    assert!(
        report["relinked"][0].get("cues_dropped").is_none(),
        "{report}"
    );
    assert_eq!(report["pushed"], 1, "{report}");
    let row = row_at(&l.db_a, &new).unwrap();
    assert_eq!(row.id, old_id);
    assert_eq!(row.plays, 7 + 2, "plays add up");
    assert_eq!(
        row.cues,
        vec![
            (1, 0, "Drop".into()),
            (1, 1, "Also drop".into()),
            (1, 3, "Break".into()),
            (2, -1, String::new())
        ],
        "a cue whose pad is taken moves to the first free pad"
    );
    let expected = vals(&[
        ("rating", &["2"]),
        ("crate", &["Fresh", "Peak"]),
        ("playlist", &["Friday"]),
        (
            "cue",
            &[
                "hotcue 1 88200 0 0xFFFF0000 Drop",
                "hotcue 2 88200 0 0xFFFF0000 Also drop",
                "hotcue 4 88200 0 0xFFFF0000 Break",
                "maincue - 44100 0 0xFFFF0000",
            ],
        ),
    ]);
    assert_eq!(values_of(&l.db_a, &new), expected);
    assert_eq!(l.env.metadata(&l.a, renamed), expected);
    assert_eq!(rows(&l.db_a).len(), 1, "one row per file");
    assert_settled(&l.env, &l.a, &l.db_a);
}

// A folder renamed on a laptop without the files' content, before Mixxx rescans: the rows
// move (marked missing, as the content is not there), nothing is pushed.
#[test]
fn a_renamed_folder_is_relinked_with_or_without_content() {
    let l = Laptops::synced(&[(A, prepared()), (B, vals(&[("rating", &["2"])]))]);
    l.env.git(&l.b, &["mv", "music/House", "music/Deep House"]);
    l.env.git(&l.b, &["commit", "-q", "-m", "rename folder"]);
    let moved = "music/Deep House/a.flac";
    let report = l.sync_b(&[]);
    assert_eq!(
        relinks(&report, "relinked"),
        vec![(A.to_owned(), moved.to_owned())],
        "{report}"
    );
    assert_eq!(report["pushed"], 0, "{report}");
    let row = row_at(&l.db_b, &loc(&l.b, moved)).expect("the row moved");
    assert_eq!(
        row.missing, 1,
        "no content here: Mixxx's fs_deleted says so"
    );
    assert_eq!(values_of(&l.db_b, &loc(&l.b, moved)), prepared());
    assert_settled(&l.env, &l.b, &l.db_b);

    // With content, on laptop A, the row is not missing.
    l.env.git(&l.a, &["mv", "music/Techno", "music/Minimal"]);
    l.env.git(&l.a, &["commit", "-q", "-m", "rename folder"]);
    l.sync_a(&[]);
    let row = row_at(&l.db_a, &loc(&l.a, "music/Minimal/b.flac")).expect("the row moved");
    assert_eq!(row.missing, 0);
}

// A Mixxx that sees the repository under another mount point (`mixxx.prefix`): the moved row
// keeps that mount point.
#[test]
fn a_relinked_row_keeps_its_mount_point() {
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
    env.sync(&repo, &db, &[]);
    env.git(&repo, &["mv", "a.flac", "b.flac"]);
    env.git(&repo, &["commit", "-q", "-m", "rename"]);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(relinks(&report, "relinked").len(), 1, "{report}");
    assert_eq!(
        db_values(&db).into_keys().collect::<Vec<_>>(),
        ["/media/nas/music/b.flac".to_owned()]
    );
}

// While Mixxx runs, the relink waits (and says so); the first sync after it closed does it.
#[test]
fn a_relink_waits_while_mixxx_runs() {
    let l = Laptops::synced(&[(A, prepared())]);
    let renamed = "music/a.flac";
    l.env.git(&l.a, &["mv", A, renamed]);
    l.env.git(&l.a, &["commit", "-q", "-m", "move"]);
    let bytes = std::fs::read(&l.db_a).unwrap();
    {
        let _mixxx = Holder::spawn(&l.db_a);
        let report = l.sync_a(&[]);
        assert_eq!(relinks(&report, "relinks_waiting").len(), 1, "{report}");
        assert_eq!(report["relinked"], json!([]), "{report}");
        assert!(
            report["pull_pending"]
                .as_str()
                .unwrap()
                .contains("Mixxx is running"),
            "{report}"
        );
        assert_eq!(report["pushed"], 0, "{report}");
        assert!(std::fs::read(&l.db_a).unwrap() == bytes, "Mixxx untouched");
    }
    let report = l.sync_a(&[]);
    assert_eq!(relinks(&report, "relinked").len(), 1, "{report}");
    assert_eq!(values_of(&l.db_a, &loc(&l.a, renamed)), prepared());
}

// A file re-tagged in place (new content, so a new key; git-annex copies the metadata to it):
// its row keeps its values and cues, and an edit made in Mixxx since is pushed, not lost.
#[test]
fn a_retagged_file_keeps_its_row_and_the_djs_edits() {
    let l = Laptops::synced(&[(A, prepared())]);
    prepare(&l.db_a, &loc(&l.a, A), 0, "Drop", 3);
    let key_before = l.env.git(&l.a, &["annex", "lookupkey", A]);
    l.env.git(&l.a, &["annex", "unlock", A]);
    std::fs::write(l.a.join(A), "the same audio with new tags\n").unwrap();
    l.env.git(&l.a, &["annex", "add", "-q", A]);
    l.env.git(&l.a, &["commit", "-q", "-m", "retag"]);
    assert_ne!(l.env.git(&l.a, &["annex", "lookupkey", A]), key_before);
    edit(&l.db_a, &loc(&l.a, A), "rating = 3");
    add_to_crate(&l.db_a, &loc(&l.a, A), "Fresh");

    let report = l.sync_a(&[]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(report["conflicts"], json!([]), "{report}");
    let expected = vals(&[
        ("rating", &["3"]),
        ("crate", &["Fresh", "Peak"]),
        ("playlist", &["Friday"]),
        (
            "cue",
            &[
                "hotcue 1 88200 0 0xFFFF0000 Drop",
                "maincue - 44100 0 0xFFFF0000",
            ],
        ),
    ]);
    assert_eq!(values_of(&l.db_a, &loc(&l.a, A)), expected);
    assert_eq!(l.env.metadata(&l.a, A), expected);
    assert_eq!(row_at(&l.db_a, &loc(&l.a, A)).unwrap().cues.len(), 2);
    assert_settled(&l.env, &l.a, &l.db_a);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    assert_eq!(values_of(&l.db_b, &loc(&l.b, A)), expected);
}

// Mixxx's library rebuilt by a rescan (database deleted, Mixxx started again: rows in another
// order, dated now, with only what the files' tags say): it gets the branch's values and
// clears nothing.
#[test]
fn a_database_rebuilt_by_a_rescan_gets_the_branch_values() {
    let l = Laptops::synced(&[(A, prepared()), (C, vals(&[("color", &["#00FF00"])]))]);
    std::fs::remove_file(&l.db_a).unwrap();
    l.mixxx_a(&[
        (C, vals(&[("title", &["c d"])])),
        (B, Values::new()),
        (A, vals(&[("title", &["a"]), ("bpm", &["124.00"])])),
    ]);
    db_exec(
        &l.db_a,
        "UPDATE library SET datetime_added = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    );
    let report = l.sync_a(&[]);
    assert_eq!(report["database_replaced"], true, "{report}");
    assert_eq!(report["refused"], Value::Null, "{report}");
    let mut a = prepared();
    a.extend(vals(&[("title", &["a"]), ("bpm", &["124.00"])]));
    assert_eq!(values_of(&l.db_a, &loc(&l.a, A)), a);
    assert_eq!(l.env.metadata(&l.a, A), a, "what the tags added is pushed");
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, C)),
        vals(&[("color", &["#00FF00"]), ("title", &["c d"])])
    );
    assert_settled(&l.env, &l.a, &l.db_a);
}

// One file at two paths (two rows in Mixxx, one key): both rows show the key's values, and an
// edit of either row is pushed and reaches the other.
#[test]
fn one_key_at_two_paths_keeps_both_rows_in_step() {
    let env = Env::new();
    let repo = env.repo("music");
    std::fs::create_dir_all(repo.join("copy")).unwrap();
    for f in ["a.flac", "copy/a.flac"] {
        std::fs::write(repo.join(f), "the same audio\n").unwrap();
    }
    env.git(&repo, &["annex", "add", "-q", "a.flac", "copy/a.flac"]);
    env.git(&repo, &["commit", "-q", "-m", "two copies"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let (first, second) = (loc(&repo, "a.flac"), loc(&repo, "copy/a.flac"));
    create_db(
        &db,
        32,
        &[
            (first.clone(), vals(&[("rating", &["3"])])),
            (second.clone(), vals(&[])),
        ],
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 2, "{report}");
    let rating = |location: &str| db_values(&db)[location]["rating"].clone();
    assert_eq!(
        (rating(&first), rating(&second)),
        (set_of(&["3"]), set_of(&["3"]))
    );
    for (edited, value) in [(&second, "5"), (&first, "2")] {
        edit(&db, edited, &format!("rating = {value}"));
        let report = env.sync(&repo, &db, &[]);
        assert_eq!(report["pushed"], 2, "{report}");
        assert_eq!(env.metadata(&repo, "a.flac")["rating"], set_of(&[value]));
        assert_eq!(
            (rating(&first), rating(&second)),
            (set_of(&[value]), set_of(&[value]))
        );
        let settled = env.sync(&repo, &db, &[]);
        assert_eq!(
            (settled["pushed"].clone(), settled["pulled"].clone()),
            (0.into(), 0.into()),
            "{settled}"
        );
    }
}

// Two clones set a rating concurrently (a conflict on the branch). Laptop B resolves it and
// the DJ then rates the track again on B; laptop A, not having seen that yet, resolves the same
// conflict later. A's resolution is dated after the values it resolves, not after B's new
// rating, so the union of both clones keeps the DJ's latest rating instead of neither.
#[test]
fn a_resolution_never_undoes_an_edit_made_meanwhile() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["5"])]))]);
    edit(&l.db_a, &loc(&l.a, A), "rating = 2");
    l.sync_a(&[]);
    l.exchange(&[&l.a]);
    edit(&l.db_b, &loc(&l.b, A), "rating = 3");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    // B resolves {2, 3} to the newest, 3; then the DJ rates it 2 on B.
    let report = l.sync_b(&[]);
    assert_eq!(report["conflicts"].as_array().unwrap().len(), 1, "{report}");
    edit(&l.db_b, &loc(&l.b, A), "rating = 2");
    l.sync_b(&[]);
    l.exchange(&[&l.b]);
    // A resolves the same conflict without having seen B's edit.
    let report = l.sync_a(&[]);
    assert_eq!(report["conflicts"].as_array().unwrap().len(), 1, "{report}");
    l.exchange(&[&l.a, &l.b, &l.a]);
    let two = vals(&[("rating", &["2"])]);
    assert_eq!(l.env.metadata(&l.a, A), two);
    assert_eq!(l.env.metadata(&l.b, A), two);
    l.sync_a(&[]);
    l.sync_b(&[]);
    assert_eq!(values_of(&l.db_a, &loc(&l.a, A)), two);
    assert_eq!(values_of(&l.db_b, &loc(&l.b, A)), two);
}

// A file moved twice before a sync, with Mixxx rescanning in between and the DJ using the
// rescan's row: both rows are missing now; the old one moves and takes in the other.
#[test]
fn a_file_moved_twice_keeps_what_each_row_was_given() {
    let l = Laptops::synced(&[(A, prepared())]);
    prepare(&l.db_a, &loc(&l.a, A), 0, "Drop", 4);
    let (first, second) = ("music/House/a (edit).flac", "music/a (edit).flac");
    l.env.git(&l.a, &["mv", A, first]);
    l.env.git(&l.a, &["commit", "-q", "-m", "rename"]);
    rescan_after_rename(&l.db_a, &loc(&l.a, A), &loc(&l.a, first));
    edit(&l.db_a, &loc(&l.a, first), "color = 255");
    add_to_crate(&l.db_a, &loc(&l.a, first), "Fresh");
    prepare(&l.db_a, &loc(&l.a, first), 2, "Vocal", 1);
    l.env.git(&l.a, &["mv", first, second]);
    l.env.git(&l.a, &["commit", "-q", "-m", "move"]);

    let report = l.sync_a(&[]);
    assert_eq!(
        relinks(&report, "relinked"),
        vec![(A.to_owned(), second.to_owned())],
        "{report}"
    );
    let rows = rows(&l.db_a);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].location, loc(&l.a, second));
    assert_eq!(rows[0].plays, 5);
    assert_eq!(rows[0].cues.len(), 3, "{rows:?}");
    assert_eq!(location_rows(&l.db_a), 1);
    let mut expected = prepared();
    expected.extend(vals(&[
        ("color", &["#0000FF"]),
        ("crate", &["Fresh", "Peak"]),
        (
            "cue",
            &[
                "hotcue 1 88200 0 0xFFFF0000 Drop",
                "hotcue 3 88200 0 0xFFFF0000 Vocal",
                "maincue - 44100 0 0xFFFF0000",
            ],
        ),
    ]));
    assert_eq!(values_of(&l.db_a, &loc(&l.a, second)), expected);
    assert_eq!(l.env.metadata(&l.a, second), expected);
    assert_settled(&l.env, &l.a, &l.db_a);
}

// A value Mixxx cannot hold stays held while the same run commits other changes (so the base
// moves to a commit whose log holds the invalid value); a later edit in Mixxx still replaces it.
#[test]
fn a_held_value_is_replaced_by_a_later_mixxx_edit_across_commits() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let (a, b) = (loc(&l.b, A), loc(&l.b, B));
    l.env
        .git(&l.b, &["annex", "metadata", "-q", "--set", "rating=9", A]);
    edit(&l.db_b, &b, "rating = 1");
    let out = l
        .env
        .mixxx(&l.b, &["sync", "--json", "--db", l.db_b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"][0]["field"], "rating", "{report}");
    assert_eq!(
        report["pushed"], 1,
        "the other track's edit commits: {report}"
    );
    assert_eq!(values_of(&l.db_b, &a)["rating"], set_of(&["3"]));
    edit(&l.db_b, &a, "rating = 4");
    let report = l.sync_b(&[]);
    assert_eq!(report["failed"], json!([]), "{report}");
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(l.env.metadata(&l.b, A)["rating"], set_of(&["4"]));
}

// After a rename and Mixxx's rescan the DJ sets hot cue 1 and a main cue on the new row (the
// old row already has both): the hot cue goes to pad 2 and reaches the branch; the old row
// keeps its main cue, and the run names the new row's main cue it did not keep. Nothing is
// dropped without a word.
#[test]
fn a_relink_names_every_cue_of_the_rescanned_row_it_could_not_keep_in_place() {
    let l = Laptops::synced(&[(A, prepared())]);
    prepare(&l.db_a, &loc(&l.a, A), 0, "Drop", 0);
    l.sync_a(&[]);
    let renamed = "music/House/a2.flac";
    l.env.git(&l.a, &["mv", A, renamed]);
    l.env.git(&l.a, &["commit", "-q", "-m", "rename"]);
    rescan_after_rename(&l.db_a, &loc(&l.a, A), &loc(&l.a, renamed));
    let new = loc(&l.a, renamed);
    db_exec(
        &l.db_a,
        &format!(
            "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
             VALUES ({0}, 1, 55555, 0, 0, 'New pad 1', 65280), ({0}, 2, 22050, 0, -1, '', 0)",
            track(&new)
        ),
    );
    let out = l
        .env
        .mixxx_ok(&l.a, &["sync", "--db", l.db_a.to_str().unwrap()]);
    assert!(
        out.contains("cue moved, its pad was taken: hotcue 1 55555 0 #00FF00 New pad 1 → pad 2"),
        "{out}"
    );
    assert!(
        out.contains("cue not kept, the row already has its own: maincue - 22050 0 #000000"),
        "{out}"
    );
    let cues = &l.env.metadata(&l.a, renamed)["cue"];
    assert!(
        cues.contains("hotcue 2 55555 0 #00FF00 New pad 1"),
        "{cues:?}"
    );
    assert!(cues.contains("maincue - 44100 0 0xFFFF0000"), "{cues:?}");
    assert_settled(&l.env, &l.a, &l.db_a);
}

//! A prepared set keeps its order on every clone: a playlist's order (a track twice included)
//! travels, a new playlist arrives with its order, edits of one playlist on two laptops merge
//! (a reorder and an append, a removed copy and a move, a rename and a reorder: both apply,
//! whichever laptop syncs first), one track moved to two places is a conflict in `status`, a
//! laptop holding half the tracks never shortens the playlist, renaming a crate or playlist
//! renames it everywhere, and orders on the branch are read within limits.

use crate::laptops::{add_to_crate, assert_settled, set_of, status, track};
use crate::util::*;
use git_mixxx::annex::logmet::Values;
use git_mixxx::sync::order::line::{self, Line};
use std::path::{Path, PathBuf};

/// A NAS and two laptops sharing `n` annexed tracks `music/tNN.flac`; A's Mixxx has them all,
/// B's Mixxx the first `on_b` (in reverse order, so its ids differ), none with values.
struct Set {
    env: Env,
    a: PathBuf,
    b: PathBuf,
    db_a: PathBuf,
    db_b: PathBuf,
    files: Vec<String>,
}

impl Set {
    fn new(n: usize, on_b: usize) -> Set {
        let env = Env::new();
        let nas = env.nas();
        let a = env.laptop(&nas, "laptop-a");
        let files: Vec<String> = (0..n).map(|i| format!("music/t{i:02}.flac")).collect();
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        env.add_files(&a, &names, &[]);
        env.annex_sync(&a);
        let b = env.laptop(&nas, "laptop-b");
        env.annex_sync(&b);
        let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
        let db_b = env.root.join("mixxx-b/mixxxdb.sqlite");
        let tracks = |repo: &Path, files: &[String]| -> Vec<(String, Values)> {
            files
                .iter()
                .map(|f| (loc(repo, f), vals(&[("rating", &["3"])])))
                .collect()
        };
        create_db(&db_a, 32, &tracks(&a, &files));
        let mut on_b_files = files[..on_b].to_vec();
        on_b_files.reverse();
        create_db(&db_b, 39, &tracks(&b, &on_b_files));
        Set {
            env,
            a,
            b,
            db_a,
            db_b,
            files,
        }
    }

    fn sync_a(&self) -> serde_json::Value {
        self.env.sync(&self.a, &self.db_a, &[])
    }

    fn sync_b(&self) -> serde_json::Value {
        self.env.sync(&self.b, &self.db_b, &[])
    }

    /// A syncs, both exchange through the NAS, B syncs, and A gets B's state.
    fn a_then_b(&self) {
        self.sync_a();
        self.env.annex_sync(&self.a);
        self.env.annex_sync(&self.b);
        self.sync_b();
        self.env.annex_sync(&self.b);
        self.env.annex_sync(&self.a);
    }

    fn repo(&self, db: &Path) -> &Path {
        if db == self.db_a { &self.a } else { &self.b }
    }

    /// Makes playlist `name` hold `order` (indexes into `files`) exactly, as dragging tracks
    /// in Mixxx does: positions 1..n.
    fn set_playlist(&self, db: &Path, name: &str, order: &[usize]) {
        let repo = self.repo(db);
        let mut sql = format!(
            "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
             SELECT '{name}', 5, 0, '2026-12-04 20:00:00', '2026-12-04 20:00:00', 0 \
             WHERE NOT EXISTS (SELECT 1 FROM Playlists WHERE name = '{name}');
             DELETE FROM PlaylistTracks WHERE playlist_id = (SELECT id FROM Playlists WHERE name = '{name}');"
        );
        for (position, i) in (1..).zip(order) {
            sql.push_str(&format!(
                "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
                 SELECT (SELECT id FROM Playlists WHERE name = '{name}'), {}, {position}, '2026-12-04T20:00:00.000Z';",
                track(&loc(repo, &self.files[*i]))
            ));
        }
        db_exec(db, &sql);
    }

    /// The files of playlist `name` in Mixxx, by position.
    fn playlist(&self, db: &Path, name: &str) -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT tl.location, pt.position FROM PlaylistTracks pt \
                 JOIN Playlists p ON p.id = pt.playlist_id \
                 JOIN library l ON l.id = pt.track_id JOIN track_locations tl ON tl.id = l.location \
                 WHERE p.name = ?1 ORDER BY pt.position",
            )
            .unwrap();
        let rows: Vec<(String, i64)> = stmt
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let positions: Vec<i64> = rows.iter().map(|(_, p)| *p).collect();
        assert_eq!(positions, (1..=rows.len() as i64).collect::<Vec<_>>());
        rows.into_iter()
            .map(|(l, _)| l.rsplit('/').next().unwrap().to_owned())
            .collect()
    }

    fn names(&self, order: &[usize]) -> Vec<String> {
        order
            .iter()
            .map(|i| self.files[*i].rsplit('/').next().unwrap().to_owned())
            .collect()
    }
}

fn one(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

// A's prepared set of 20 tracks with one twice reaches B, which never had the playlist, in
// order; then A and B move the same track offline, A to the front and B to the end, and A
// syncs first: B's sync finds the two moves irreconcilable, the branch's order wins on both
// laptops, and both laptops' `status` show the conflict.
#[test]
fn a_prepared_set_keeps_its_order_and_reorders_converge() {
    let s = Set::new(20, 20);
    s.a_then_b();
    let mut order: Vec<usize> = (0..20).rev().collect();
    order.insert(5, 12);
    s.set_playlist(&s.db_a, "Friday set", &order);
    let report = s.sync_a();
    assert_eq!(report["pushed_fields"]["order"], 1, "{report}");
    s.env.annex_sync(&s.a);
    s.env.annex_sync(&s.b);
    let report = s.sync_b();
    assert_eq!(report["pulled_fields"]["order"], 1, "{report}");
    assert_eq!(s.playlist(&s.db_b, "Friday set"), s.names(&order));
    assert_eq!(s.playlist(&s.db_b, "Friday set").len(), 21);
    s.env.annex_sync(&s.b);
    s.env.annex_sync(&s.a);
    assert_settled(&s.env, &s.a, &s.db_a);
    assert_settled(&s.env, &s.b, &s.db_b);

    // Both move one track offline; A syncs first, then B: B's Mixxx changed and so did the
    // branch, and the two moves make no order.
    let mut on_a = order.clone();
    let moved = on_a.remove(10);
    let mut on_b = on_a.clone();
    on_a.insert(0, moved);
    on_b.push(moved);
    s.set_playlist(&s.db_a, "Friday set", &on_a);
    s.set_playlist(&s.db_b, "Friday set", &on_b);
    s.sync_a();
    s.env.annex_sync(&s.a);
    s.env.annex_sync(&s.b);
    let report = s.sync_b();
    let conflicts = report["conflicts"].as_array().unwrap();
    assert!(
        conflicts
            .iter()
            .any(|c| c["field"] == "order" && c["path"] == "Friday set"),
        "{report}"
    );
    let open = |repo: &Path, db: &Path| -> Vec<String> {
        status(&s.env, repo, db)["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["field"] == "order")
            .map(|c| c["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(open(&s.b, &s.db_b), ["Friday set"]);
    s.env.annex_sync(&s.b);
    s.env.annex_sync(&s.a);
    s.sync_a();
    assert_eq!(s.playlist(&s.db_a, "Friday set"), s.names(&on_a));
    assert_eq!(s.playlist(&s.db_b, "Friday set"), s.names(&on_a));
    assert_eq!(open(&s.a, &s.db_a), ["Friday set"], "every clone sees it");
    assert_settled(&s.env, &s.a, &s.db_a);
    assert_settled(&s.env, &s.b, &s.db_b);

    // A reorders again: the conflict is settled.
    s.set_playlist(&s.db_a, "Friday set", &order);
    s.sync_a();
    assert_eq!(open(&s.a, &s.db_a), Vec::<String>::new());
}

// B's Mixxx holds 6 of the playlist's 12 tracks: it shows them in A's order, and its own
// reorder of them reaches A without shortening A's playlist.
#[test]
fn a_laptop_with_half_the_tracks_never_shortens_a_playlist() {
    let s = Set::new(12, 6);
    s.a_then_b();
    let order: Vec<usize> = vec![11, 0, 10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    s.set_playlist(&s.db_a, "Warm-up", &order);
    s.a_then_b();
    let held: Vec<usize> = order.iter().copied().filter(|i| *i < 6).collect();
    assert_eq!(s.playlist(&s.db_b, "Warm-up"), s.names(&held));
    assert_settled(&s.env, &s.b, &s.db_b);

    // B reverses its half and syncs; A keeps all 12, B's six in B's order, the others where
    // they were.
    let reversed: Vec<usize> = held.iter().rev().copied().collect();
    s.set_playlist(&s.db_b, "Warm-up", &reversed);
    s.sync_b();
    s.env.annex_sync(&s.b);
    s.env.annex_sync(&s.a);
    s.sync_a();
    let on_a = s.playlist(&s.db_a, "Warm-up");
    assert_eq!(on_a.len(), 12, "{on_a:?}");
    let names = s.names(&reversed);
    let halves: Vec<&String> = on_a.iter().filter(|f| names.contains(f)).collect();
    assert_eq!(halves, names.iter().collect::<Vec<_>>());
    assert_eq!(
        on_a,
        s.names(&[11, 5, 4, 6, 3, 7, 2, 8, 1, 9, 0, 10]),
        "each absent track stays after the track it followed"
    );
    assert_settled(&s.env, &s.a, &s.db_a);
    assert_settled(&s.env, &s.b, &s.db_b);
}

// Renaming a crate of 24 tracks and a playlist on A renames them on B (same rows, no empty
// leftover), with the playlist's order, and no guard trips.
#[test]
fn renaming_a_crate_or_playlist_renames_it_everywhere() {
    let s = Set::new(24, 24);
    for f in &s.files {
        add_to_crate(&s.db_a, &loc(&s.a, f), "Peak time");
    }
    let order: Vec<usize> = (0..8).rev().collect();
    s.set_playlist(&s.db_a, "Closing", &order);
    s.a_then_b();
    assert_eq!(s.playlist(&s.db_b, "Closing"), s.names(&order));
    let crate_id = one(&s.db_b, "SELECT id FROM crates WHERE name = 'Peak time'");
    let playlist_id = one(&s.db_b, "SELECT id FROM Playlists WHERE name = 'Closing'");

    db_exec(
        &s.db_a,
        "UPDATE crates SET name = 'Peak hour' WHERE name = 'Peak time';
         UPDATE Playlists SET name = 'Last hour' WHERE name = 'Closing';",
    );
    let report = s.sync_a();
    assert_eq!(report["refused"], serde_json::Value::Null, "{report}");
    assert_eq!(report["pushed"], 24, "{report}");
    s.env.annex_sync(&s.a);
    s.env.annex_sync(&s.b);
    let report = s.sync_b();
    assert_eq!(report["refused"], serde_json::Value::Null, "{report}");
    assert_eq!(
        one(&s.db_b, "SELECT id FROM crates WHERE name = 'Peak hour'"),
        crate_id
    );
    assert_eq!(
        one(
            &s.db_b,
            "SELECT count(*) FROM crates WHERE name = 'Peak time'"
        ),
        0
    );
    assert_eq!(
        one(
            &s.db_b,
            "SELECT count(*) FROM crate_tracks WHERE crate_id = (SELECT id FROM crates WHERE name = 'Peak hour')"
        ),
        24
    );
    assert_eq!(
        one(&s.db_b, "SELECT id FROM Playlists WHERE name = 'Last hour'"),
        playlist_id
    );
    assert_eq!(s.playlist(&s.db_b, "Last hour"), s.names(&order));
    s.env.annex_sync(&s.b);
    s.env.annex_sync(&s.a);
    assert_settled(&s.env, &s.a, &s.db_a);
    assert_settled(&s.env, &s.b, &s.db_b);
}

impl Set {
    /// A and B edited offline: each syncs its own Mixxx, then they meet through the NAS twice
    /// round, A's sync first in each round if `a_first`, else B's; then both exchange again.
    fn meet(&self, a_first: bool) {
        self.sync_a();
        self.sync_b();
        for _ in 0..2 {
            self.env.annex_sync(&self.a);
            self.env.annex_sync(&self.b);
            self.env.annex_sync(&self.a);
            if a_first {
                self.sync_a();
                self.sync_b();
            } else {
                self.sync_b();
                self.sync_a();
            }
        }
        self.env.annex_sync(&self.a);
        self.env.annex_sync(&self.b);
        self.env.annex_sync(&self.a);
    }

    /// The conflicts about playlists (order or name) that `status` lists on each laptop.
    fn playlist_conflicts(&self) -> Vec<String> {
        [(&self.a, &self.db_a), (&self.b, &self.db_b)]
            .into_iter()
            .flat_map(|(repo, db)| {
                let status = status(&self.env, repo, db);
                let listed = status["conflicts"].as_array().unwrap().clone();
                listed
                    .into_iter()
                    .filter(|c| c["field"] == "order" || c["field"] == "name")
                    .map(|c| format!("{}: {}", c["path"], c["field"]))
            })
            .collect()
    }

    /// The lines of the order file at `path` on A's branch.
    fn order_lines(&self, path: &str) -> Vec<Line> {
        let text = self
            .env
            .git(&self.a, &["show", &format!("git-annex:{path}")]);
        line::parse(&text).lines
    }

    /// How many playlists named `name` `db` has.
    fn playlists_named(db: &Path, name: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM Playlists WHERE name = '{name}' AND hidden = 0");
        one(db, &sql)
    }
}

// Laptop A reverses a playlist while laptop B appends a track to it, both offline: after they
// meet (either syncing first), both hold the reversed playlist with the new track at its end,
// and no conflict is listed. The clone that met both orders wrote their merge, naming both.
#[test]
fn a_reorder_on_one_laptop_and_an_append_on_another_both_apply() {
    for a_first in [true, false] {
        let s = Set::new(5, 5);
        s.set_playlist(&s.db_a, "Friday", &[0, 1, 2, 3]);
        s.a_then_b();
        assert_eq!(s.playlist(&s.db_b, "Friday"), s.names(&[0, 1, 2, 3]));
        s.set_playlist(&s.db_a, "Friday", &[3, 2, 1, 0]);
        s.set_playlist(&s.db_b, "Friday", &[0, 1, 2, 3, 4]);
        s.meet(a_first);
        let want = s.names(&[3, 2, 1, 0, 4]);
        assert_eq!(s.playlist(&s.db_a, "Friday"), want, "a_first {a_first}");
        assert_eq!(s.playlist(&s.db_b, "Friday"), want, "a_first {a_first}");
        assert_eq!(s.playlist_conflicts(), Vec::<String>::new());
        let lines = s.order_lines(&line::file_path("Friday", 0));
        let newest = lines.iter().max_by(|a, b| a.time.cmp(&b.time)).unwrap();
        assert_eq!(newest.parents.as_ref().map(Vec::len), Some(2), "{lines:?}");
        assert_settled(&s.env, &s.a, &s.db_a);
        assert_settled(&s.env, &s.b, &s.db_b);
    }
}

// Offline, A reverses a playlist and syncs, then puts it back as it was and syncs again (its
// reverse never left the laptop), while B moves the last track up: when they meet, A's order
// since its last sync and B's collide (A put back what B reordered). A lists the conflict,
// and both laptops settle on B's order (the branch's side wins), as git merges A's commits
// with B's: A's own first reverse is not the base of the collision.
#[test]
fn a_reorder_undone_on_one_laptop_and_a_move_on_another_collide_with_a_word() {
    let s = Set::new(4, 4);
    s.set_playlist(&s.db_a, "Peak", &[0, 1, 2, 3]);
    s.a_then_b();
    s.set_playlist(&s.db_a, "Peak", &[3, 2, 1, 0]);
    s.sync_a();
    s.set_playlist(&s.db_b, "Peak", &[0, 3, 2, 1]);
    s.sync_b();
    s.env.annex_sync(&s.b);
    s.set_playlist(&s.db_a, "Peak", &[0, 1, 2, 3]);
    s.env.annex_sync(&s.a);
    let report = s.sync_a();
    let fields: Vec<&str> = (report["conflicts"].as_array().unwrap().iter())
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(fields, ["order"], "{report}");
    let want = s.names(&[0, 3, 2, 1]);
    assert_eq!(s.playlist(&s.db_a, "Peak"), want);
    s.env.annex_sync(&s.a);
    s.env.annex_sync(&s.b);
    s.sync_b();
    assert_eq!(s.playlist(&s.db_b, "Peak"), want);
    assert_settled(&s.env, &s.a, &s.db_a);
    assert_settled(&s.env, &s.b, &s.db_b);
}

// A playlist holds a track twice. Offline, A removes the second copy while B moves another
// track to the top: after they meet, both laptops hold one copy, the moved track on top.
#[test]
fn a_removed_copy_and_a_move_on_another_laptop_both_apply() {
    for a_first in [true, false] {
        let s = Set::new(4, 4);
        s.set_playlist(&s.db_a, "P2", &[0, 1, 2, 3, 1]);
        s.a_then_b();
        s.set_playlist(&s.db_a, "P2", &[0, 1, 2, 3]);
        s.set_playlist(&s.db_b, "P2", &[3, 0, 1, 2, 1]);
        s.meet(a_first);
        let want = s.names(&[3, 0, 1, 2]);
        assert_eq!(s.playlist(&s.db_a, "P2"), want, "a_first {a_first}");
        assert_eq!(s.playlist(&s.db_b, "P2"), want, "a_first {a_first}");
        assert_eq!(s.playlist_conflicts(), Vec::<String>::new());
        assert_settled(&s.env, &s.a, &s.db_a);
        assert_settled(&s.env, &s.b, &s.db_b);
    }
}

// Offline, A renames a playlist while B reverses it and appends a track to it: after they
// meet, both laptops hold the playlist under its new name, reversed, with the new track (its
// membership moved to the new name on the branch too), and no playlist of the old name.
#[test]
fn a_rename_and_a_reorder_and_an_addition_on_another_laptop_all_apply() {
    for a_first in [true, false] {
        let s = Set::new(5, 5);
        s.set_playlist(&s.db_a, "Sat", &[0, 1, 2, 3]);
        s.a_then_b();
        db_exec(
            &s.db_a,
            "UPDATE Playlists SET name = 'Saturday' WHERE name = 'Sat'",
        );
        s.set_playlist(&s.db_b, "Sat", &[3, 2, 1, 0, 4]);
        s.meet(a_first);
        let want = s.names(&[3, 2, 1, 0, 4]);
        assert_eq!(s.playlist(&s.db_a, "Saturday"), want, "a_first {a_first}");
        assert_eq!(s.playlist(&s.db_b, "Saturday"), want, "a_first {a_first}");
        for db in [&s.db_a, &s.db_b] {
            assert_eq!(Set::playlists_named(db, "Sat"), 0, "a_first {a_first}");
        }
        for file in &s.files {
            let values = s.env.metadata(&s.a, file);
            let member = values.get("playlist").cloned().unwrap_or_default();
            assert_eq!(member, set_of(&["Saturday"]), "{file}, a_first {a_first}");
        }
        assert_eq!(s.playlist_conflicts(), Vec::<String>::new());
        assert_settled(&s.env, &s.a, &s.db_a);
        assert_settled(&s.env, &s.b, &s.db_b);
    }
}

// Another clone pushes an order line of 100,001 entries and an order of tracks this laptop
// does not have: the sync skips the first with a warning naming its file, and `status` lists
// both, so that the DJ can see what is there.
#[test]
fn orders_beyond_the_limits_are_skipped_and_unmatched_ones_listed() {
    let s = Set::new(2, 2);
    s.set_playlist(&s.db_a, "Mine", &[0, 1]);
    s.sync_a();
    let key = "SHA256E-s1--0000000000000000000000000000000000000000000000000000000000000000.flac";
    let big = serde_json::json!({"name": "Big", "clone": "x", "tracks": vec![key; 100_001]});
    let elsewhere = serde_json::json!({"name": "Elsewhere", "clone": "x", "tracks": [key, key]});
    let (big_file, elsewhere_file) = (line::file_path("Big", 0), line::file_path("Elsewhere", 0));
    let files = [
        (big_file.clone(), format!("1s {big}\n").into_bytes()),
        (
            elsewhere_file.clone(),
            format!("1s {elsewhere}\n").into_bytes(),
        ),
    ];
    s.env.commit_to_branch(&s.a, &files, "another clone");
    let db = s.db_a.to_str().unwrap();
    let out = s.env.mixxx(&s.a, &["sync", "--json", "--db", db]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&big_file) && stderr.contains("beyond the limits skipped"),
        "{stderr}"
    );
    let status = status(&s.env, &s.a, &s.db_a);
    let listed = &status["pending"]["unmatched_orders"];
    assert_eq!(
        *listed,
        serde_json::json!([
            {"file": big_file, "name": null, "entries": 0, "reason": "too_large"},
            {"file": elsewhere_file, "name": "Elsewhere", "entries": 2, "reason": "no_track_here"},
        ]),
        "{status}"
    );
    assert_eq!(Set::playlists_named(&s.db_a, "Big"), 0);
    assert_eq!(s.playlist(&s.db_a, "Mine"), s.names(&[0, 1]));
}

// Undo of orders. A reverses a playlist and syncs (run R); B, having met R, appends a track.
// A undoes R: the order before R comes back with B's track still at its end, on both laptops,
// with no conflict. Then A deletes a playlist that holds a track twice by accident and syncs:
// undoing that run brings it back in its order, the second copy included.
#[test]
fn undo_reverts_a_runs_order_and_brings_a_deleted_playlist_back_in_order() {
    let s = Set::new(5, 5);
    let undo = |run: &str| {
        let db = s.db_a.to_str().unwrap();
        let out = s.env.mixxx_ok(&s.a, &["undo", run, "--json", "--db", db]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    s.set_playlist(&s.db_a, "Friday", &[0, 1, 2, 3]);
    s.set_playlist(&s.db_a, "Set", &[2, 0, 1, 0, 3]);
    s.a_then_b();
    s.set_playlist(&s.db_a, "Friday", &[3, 2, 1, 0]);
    s.a_then_b();
    let reversed = crate::history::last_run(&s.env, &s.a, &s.db_a);
    assert_eq!(s.playlist(&s.db_b, "Friday"), s.names(&[3, 2, 1, 0]));
    s.set_playlist(&s.db_b, "Friday", &[3, 2, 1, 0, 4]);
    s.sync_b();
    s.env.annex_sync(&s.b);
    s.env.annex_sync(&s.a);
    let undone = undo(&reversed);
    let reverted = undone["reverted"].as_array().unwrap();
    assert_eq!(reverted.len(), 1, "{undone:#}");
    assert_eq!(reverted[0]["field"], "order");
    assert_eq!(reverted[0]["path"], "Friday");
    let want = s.names(&[0, 1, 2, 3, 4]);
    assert_eq!(s.playlist(&s.db_a, "Friday"), want);
    s.env.annex_sync(&s.a);
    s.env.annex_sync(&s.b);
    s.sync_b();
    assert_eq!(s.playlist(&s.db_b, "Friday"), want);
    assert_eq!(s.playlist_conflicts(), Vec::<String>::new());

    db_exec(
        &s.db_a,
        "DELETE FROM PlaylistTracks WHERE playlist_id = (SELECT id FROM Playlists WHERE name = 'Set');
         DELETE FROM Playlists WHERE name = 'Set';",
    );
    s.sync_a();
    assert_eq!(Set::playlists_named(&s.db_a, "Set"), 0);
    let deleted = crate::history::last_run(&s.env, &s.a, &s.db_a);
    undo(&deleted);
    assert_eq!(s.playlist(&s.db_a, "Set"), s.names(&[2, 0, 1, 0, 3]));
    assert_settled(&s.env, &s.a, &s.db_a);
}

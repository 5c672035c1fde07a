//! A prepared set keeps its order on every clone: a playlist's order (a track twice included)
//! travels, a new playlist arrives with its order, reorders on two laptops converge on the
//! newer with a conflict in `status`, a laptop holding half the tracks never shortens the
//! playlist, and renaming a crate or playlist renames it everywhere.

use crate::laptops::{add_to_crate, assert_settled, status, track};
use crate::util::*;
use git_mixxx::annex::logmet::Values;
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
// order; then A and B reorder it offline and A syncs first: B's sync finds both changed, the
// branch's order wins on both laptops, and B's `status` shows the conflict.
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

    // Both reorder offline; A syncs first, then B: B's Mixxx changed and so did the branch.
    let mut on_a = order.clone();
    on_a.rotate_left(3);
    let mut on_b = order.clone();
    on_b.swap(0, 19);
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

//! The DJ's preparation inside a track travels: hot cues, loops, the main cue, intro and outro,
//! exactly as Mixxx stored them, combined per cue when two laptops edit one track, and safe
//! from cues on the branch that Mixxx cannot hold.

use crate::laptops::*;
use crate::util::*;
use std::path::Path;

/// A track's synced cues as Mixxx stores them, each column with its SQLite type, sorted.
fn cues(db: &Path, location: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let sql = format!(
        "SELECT type, hotcue, position, typeof(position), length, typeof(length), color, label \
         FROM cues WHERE track_id = {} AND type <> 8",
        track(location)
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            let v = |i| -> rusqlite::Result<String> {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Real(x) => format!("{x:?}"),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => "null".to_owned(),
                })
            };
            Ok((0..8)
                .map(v)
                .collect::<rusqlite::Result<Vec<_>>>()?
                .join("|"))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows.sort();
    rows
}

/// Adds a cue row to a track, as Mixxx's CueDAO does (`position` and `length` as given, so a
/// real stays a real).
fn add_cue(db: &Path, location: &str, row: &str) {
    db_exec(
        db,
        &format!(
            "INSERT INTO cues (track_id, type, hotcue, position, length, color, label) \
             SELECT {}, {row}",
            track(location)
        ),
    );
}

/// Eight hot cues, a loop, the main cue, intro, outro, and an analyser marker (type 8).
fn prepare(db: &Path, location: &str) {
    for slot in 0..8 {
        let position = 44_100 * (slot + 1);
        let label = ["'Drop'", "''", "'Break  two'", "'Vocals ♪'"][slot as usize % 4];
        add_cue(
            db,
            location,
            &format!("1, {slot}, {position}, 0, {}, {label}", 0x110000 * slot),
        );
    }
    add_cue(db, location, "1, 8, 1234567.25, 0, 16711680, 'fractional'");
    add_cue(db, location, "4, 9, 500000, 88200.0, 255, 'Loop'");
    add_cue(db, location, "2, -1, 22050.5, 0, 4294901760, ''");
    add_cue(db, location, "6, -1, 1000, 5000, 0, ''");
    add_cue(db, location, "7, -1, 9000000, 441000, 0, ''");
    add_cue(db, location, "8, -1, 12, 100, 0, ''");
}

// Laptop A prepares a track (8 hot cues, a loop, main cue, intro and outro); after a sync, `git
// annex sync` and a sync on B, B's cues equal A's exactly, column by column and type by type.
// Then B moves a hot cue and deletes another while A adds a loop offline: after syncs both ways
// both hold the combination; both moving one hot cue converges on one value.
#[test]
fn cues_travel_exactly_and_edits_on_two_laptops_combine() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["4"])])),
    ]);
    let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
    prepare(&l.db_a, &at_a);
    let report = l.sync_a(&[]);
    assert_eq!(report["pushed_fields"]["cue"], 1, "{report}");
    assert_eq!(l.env.metadata(&l.a, A)["cue"].len(), 13);
    assert!(
        l.env.metadata(&l.a, A)["cue"].contains("hotcue 3 132300 0 #220000 Break  two"),
        "{:?}",
        l.env.metadata(&l.a, A)["cue"]
    );
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let prepared = cues(&l.db_a, &at_a);
    assert_eq!(prepared.len(), 13);
    assert_eq!(cues(&l.db_b, &at_b), prepared);

    // B moves hot cue 1 and deletes hot cue 2; A adds a loop in slot 11, offline.
    db_exec(
        &l.db_b,
        &format!(
            "UPDATE cues SET position = 50000 WHERE track_id = {0} AND hotcue = 0;
             DELETE FROM cues WHERE track_id = {0} AND hotcue = 1;",
            track(&at_b)
        ),
    );
    add_cue(&l.db_a, &at_a, "4, 10, 700000, 44100, 65280, 'New loop'");
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);
    let combined = cues(&l.db_a, &at_a);
    assert_eq!(cues(&l.db_b, &at_b), combined);
    assert!(
        combined.contains(&"1|0|50000|integer|0|integer|0|Drop".to_owned()),
        "{combined:#?}"
    );
    assert!(
        !combined.iter().any(|c| c.starts_with("1|1|")),
        "{combined:#?}"
    );
    assert!(combined.contains(&"4|10|700000|integer|44100|integer|65280|New loop".to_owned()));
    assert_eq!(combined.len(), 13);

    // Both move hot cue 3, offline: one value on both laptops afterwards.
    let move_to = |db: &Path, location: &str, position: i64| {
        db_exec(
            db,
            &format!(
                "UPDATE cues SET position = {position} WHERE track_id = {} AND hotcue = 2",
                track(location)
            ),
        )
    };
    move_to(&l.db_a, &at_a, 300_001);
    move_to(&l.db_b, &at_b, 300_002);
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);
    let slot3 = |db: &Path, location: &str| -> Vec<String> {
        cues(db, location)
            .into_iter()
            .filter(|c| c.starts_with("1|2|"))
            .collect()
    };
    assert_eq!(
        slot3(&l.db_a, &at_a).len(),
        1,
        "{:#?}",
        cues(&l.db_a, &at_a)
    );
    assert_eq!(slot3(&l.db_a, &at_a), slot3(&l.db_b, &at_b));
    assert_eq!(l.env.metadata(&l.a, A)["cue"].len(), 13);
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// Editing only a cue (no other column) is a change; the run after it has nothing to do.
#[test]
fn a_cue_edit_alone_is_synced_and_then_nothing_is_left_to_do() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    env.sync(&repo, &db, &[]);
    add_cue(
        &db,
        &loc(&repo, "a.flac"),
        "1, 0, 44100, 0, 16711680, 'Drop'",
    );
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(
        env.metadata(&repo, "a.flac")["cue"],
        set_of(&["hotcue 1 44100 0 #FF0000 Drop"])
    );
    db_exec(&db, "DELETE FROM cues");
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert!(!env.metadata(&repo, "a.flac").contains_key("cue"));
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(
        (report["pushed"].clone(), report["commit"].clone()),
        (0.into(), serde_json::Value::Null)
    );
}

// Cues on the branch that Mixxx cannot hold (a slot beyond Mixxx's 37, a negative position, an
// unknown kind, a 64 KiB label) are reported with their track, never written to Mixxx, and
// left on the branch; the track's valid cue syncs all the same.
#[test]
fn cues_mixxx_cannot_hold_are_reported_and_the_others_sync() {
    let env = Env::new();
    let (repo, db) = env.one_track("3");
    env.sync(&repo, &db, &[]);
    let label = "x".repeat(1 << 16);
    let bad = [
        "hotcue 99 100 0 #FF0000".to_owned(),
        "hotcue 2 -5 0 #FF0000".to_owned(),
        "sound - 100 0 #FF0000".to_owned(),
        format!("hotcue 3 100 0 #FF0000 {label}"),
    ];
    let good = "hotcue 1 88200 0 #00FF00 Good";
    let mut args = vec!["annex".to_owned(), "metadata".to_owned(), "-q".to_owned()];
    for value in bad.iter().map(String::as_str).chain([good]) {
        args.push("-s".to_owned());
        args.push(format!("cue+={value}"));
    }
    args.push("a.flac".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.git(&repo, &args);
    let out = env.mixxx(&repo, &["sync", "--json", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 4, "{report}");
    assert!(
        failed
            .iter()
            .all(|f| f["path"] == "a.flac" && f["field"] == "cue")
    );
    assert_eq!(
        cues(&db, &loc(&repo, "a.flac")),
        ["1|0|88200|integer|0|integer|65280|Good"]
    );
    assert_eq!(
        env.metadata(&repo, "a.flac")["cue"].len(),
        5,
        "left on the branch"
    );
}

// Mixxx 2.4 and later keep the track's last loop without a hot cue slot (type 4, `hotcue` -1),
// and jump cues may have none either. Laptop A pushes them as `loop -` and `jump -`; laptop B
// reads them back and writes them exactly (its syncs succeed), and nothing is left to do.
#[test]
fn cues_without_a_slot_travel_and_read_back() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
    add_cue(&l.db_a, &at_a, "4, -1, 1411200, 352800, 16711680, ''");
    add_cue(&l.db_a, &at_a, "5, -1, 88200.5, 0, 255, 'Back'");
    add_cue(&l.db_a, &at_a, "1, 0, 44100, 0, 16711680, 'Drop'");
    l.sync_a(&[]);
    assert!(
        l.env.metadata(&l.a, A)["cue"].contains("loop - 1411200 352800 #FF0000"),
        "{:?}",
        l.env.metadata(&l.a, A)
    );
    l.exchange(&[&l.a, &l.b]);
    let report = l.sync_b(&[]);
    assert!(
        report["failed"].as_array().is_none_or(|f| f.is_empty()),
        "{report}"
    );
    assert_eq!(cues(&l.db_b, &at_b), cues(&l.db_a, &at_a));
    assert!(
        cues(&l.db_b, &at_b).contains(&"4|-1|1411200|integer|352800|integer|16711680|".to_owned())
    );
    assert_settled(&l.env, &l.b, &l.db_b);
    assert_settled(&l.env, &l.a, &l.db_a);
}

// Hot cue pads 1 (Intro) and 2 (Drop) swapped on laptop A while laptop B relabels pad 1, both
// offline: whichever laptop syncs first, both end with the Drop's position on pad 1 and the
// Intro's on pad 2 (no cue position a DJ set is lost), pad 1's label is the one of the laptop
// that synced last (the label changed on both: a conflict, listed), and both agree.
#[test]
fn a_pad_swap_and_a_relabel_offline_keep_every_cue_position() {
    for a_first in [true, false] {
        let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
        let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
        add_cue(&l.db_a, &at_a, "1, 0, 100000, 0, 16711680, 'Intro'");
        add_cue(&l.db_a, &at_a, "1, 1, 200000, 0, 65280, 'Drop'");
        l.sync_a(&[]);
        l.exchange(&[&l.a, &l.b]);
        l.sync_b(&[]);
        let swap = "UPDATE cues SET hotcue = 1 - hotcue WHERE type = 1";
        db_exec(&l.db_a, swap);
        db_exec(
            &l.db_b,
            "UPDATE cues SET label = 'Intro vox' WHERE hotcue = 0",
        );
        l.sync_a(&[]);
        l.sync_b(&[]);
        let order: [&std::path::Path; 2] = match a_first {
            true => [&l.a, &l.b],
            false => [&l.b, &l.a],
        };
        l.exchange(&order);
        let (first, second) = match a_first {
            true => (l.sync_a(&[]), l.sync_b(&[])),
            false => (l.sync_b(&[]), l.sync_a(&[])),
        };
        l.exchange(&[order[1], order[0]]);
        l.sync_a(&[]);
        l.sync_b(&[]);
        let cues_a = cues(&l.db_a, &at_a);
        assert_eq!(cues(&l.db_b, &at_b), cues_a, "A first: {a_first}");
        let pad = |slot: &str| -> String {
            cues_a
                .iter()
                .find(|c| c.starts_with(&format!("1|{slot}|")))
                .cloned()
                .unwrap_or_default()
        };
        assert!(
            pad("0").starts_with("1|0|200000|integer|0|integer|65280|"),
            "{cues_a:#?}"
        );
        assert!(
            pad("1").starts_with("1|1|100000|integer|0|integer|16711680|"),
            "{cues_a:#?}"
        );
        let conflicts = [first, second]
            .iter()
            .map(|r| r["conflicts"].as_array().map_or(0, Vec::len))
            .sum::<usize>();
        assert_eq!(conflicts, 1, "the label of pad 1 changed on both laptops");
        assert_settled(&l.env, &l.a, &l.db_a);
        assert_settled(&l.env, &l.b, &l.db_b);
    }
}

// Hot cue pad 1 set on laptop A and on laptop B, both offline, each synced to its own branch
// before `git annex sync` joins them: the later pad wins on both laptops, and the laptop whose
// pad lost lists the conflict (before, A's pad was replaced without a word: two additions of
// one pad were no clash).
#[test]
fn one_pad_set_on_two_laptops_settles_on_the_later_with_a_word() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
    add_cue(&l.db_a, &at_a, "1, 0, 100000, 0, 16711680, 'Intro'");
    l.sync_a(&[]);
    add_cue(&l.db_b, &at_b, "1, 0, 200000, 0, 16711680, 'Drop'");
    l.sync_b(&[]);
    l.exchange(&[&l.a, &l.b, &l.a]);
    let report_a = l.sync_a(&[]);
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);
    let want = vec!["1|0|200000|integer|0|integer|16711680|Drop".to_owned()];
    assert_eq!(cues(&l.db_a, &at_a), want);
    assert_eq!(cues(&l.db_b, &at_b), want);
    assert_eq!(report_a["conflicts"][0]["field"], "cue", "{report_a}");
    assert_settled(&l.env, &l.a, &l.db_a);
    assert_settled(&l.env, &l.b, &l.db_b);
}

// Hot cue pad 1 moved on laptop A and deleted on laptop B, both offline, both synced to their
// own branch before `git annex sync` joins them (git-annex keeps both lines: the deletion
// unset only the cue A moved): the later edit wins on both laptops, whichever syncs first, and
// the laptop whose edit lost lists the conflict, once (before, the moved cue came back on B without a
// word: B's deletion was lost).
#[test]
fn a_cue_moved_on_one_laptop_and_deleted_on_another_settles_on_the_later_edit() {
    for delete_last in [true, false] {
        let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
        let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
        add_cue(&l.db_a, &at_a, "1, 0, 100000, 0, 16711680, 'Intro'");
        l.sync_a(&[]);
        l.exchange(&[&l.a, &l.b]);
        l.sync_b(&[]);
        let (move_pad, delete_pad) = (
            "UPDATE cues SET position = 150000 WHERE hotcue = 0",
            "DELETE FROM cues WHERE hotcue = 0",
        );
        // The later edit's line is the newer one.
        if delete_last {
            db_exec(&l.db_a, move_pad);
            l.sync_a(&[]);
            db_exec(&l.db_b, delete_pad);
            l.sync_b(&[]);
        } else {
            db_exec(&l.db_b, delete_pad);
            l.sync_b(&[]);
            db_exec(&l.db_a, move_pad);
            l.sync_a(&[]);
        }
        l.exchange(&[&l.a, &l.b, &l.a]);
        let (report_a, report_b) = (l.sync_a(&[]), l.sync_b(&[]));
        l.exchange(&[&l.b, &l.a]);
        l.sync_a(&[]);
        let cues_a = cues(&l.db_a, &at_a);
        assert_eq!(cues(&l.db_b, &at_b), cues_a, "delete last: {delete_last}");
        let expected: Vec<String> = match delete_last {
            true => vec![],
            false => vec!["1|0|150000|integer|0|integer|16711680|Intro".to_owned()],
        };
        assert_eq!(cues_a, expected, "delete last: {delete_last}");
        let loser = match delete_last {
            true => &report_a,
            false => &report_b,
        };
        assert_eq!(loser["conflicts"][0]["field"], "cue", "{loser}");
        // Settled: no laptop lists it again.
        for report in [l.sync_a(&[]), l.sync_b(&[])] {
            assert_eq!(report["conflicts"], serde_json::json!([]), "{report}");
        }
        assert_settled(&l.env, &l.a, &l.db_a);
        assert_settled(&l.env, &l.b, &l.db_b);
    }
}

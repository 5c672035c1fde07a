//! Hostile data on git-mixxx's own files of the branch (`mixxx/*/runs`, `mixxx/*/synced/*`,
//! `mixxx/playlists/*.log`, trailers) and on metadata logs, written with plain git by a clone with push access to the
//! NAS: random and forged records for this and other clones, future and past dates, huge and
//! malformed lines, files beyond the limits. After each round this clone's edits still reach
//! the branch, `undo` picks this clone's own last run, nothing panics, memory stays bounded.

use crate::forge::*;
use crate::laptops::*;
use crate::util::*;
use git_mixxx::sync::order;
use serde_json::Value;

/// The tracks of the hostile tests.
const TRACKS: [&str; 3] = [A, B, C];

/// Git-annex's path of `file`'s metadata log on the branch.
fn log_path(l: &Laptops, file: &str) -> String {
    let key = l.env.git(&l.a, &["annex", "lookupkey", file]);
    let out = l.env.git(
        &l.a,
        &[
            "annex",
            "examinekey",
            "--format=${hashdirlower}",
            key.trim(),
        ],
    );
    format!("{}{}.log.met", out.trim(), key.trim())
}

/// One forged run record line: for this clone, another or a made-up one; dated long ago, now,
/// an hour ahead or in 9999, or not at all; finished or not; an id of this clone's or a new one.
fn random_record(dice: &mut Dice, uuids: &[String], own_id: &str) -> String {
    let uuid = dice.pick(uuids);
    let now = chrono::Utc::now();
    let times = [
        "2001-01-01T00:00:00Z".to_owned(),
        now.to_rfc3339(),
        (now + chrono::Duration::hours(1)).to_rfc3339(),
        "9999-12-31T23:59:59Z".to_owned(),
        "not a time".to_owned(),
    ];
    let time = dice.pick(&times).clone();
    let random_id = format!("{:08x}", dice.next() as u32);
    let id = dice.pick(&[own_id.to_owned(), random_id]).clone();
    record_line(uuid, &time, &id, dice.below(2) == 0, dice.below(3))
}

/// Malformed lines: broken JSON, nesting deeper than any parser takes, a line over the record
/// limit, bytes that are not UTF-8, no line end.
fn random_garbage(dice: &mut Dice) -> Vec<u8> {
    match dice.below(5) {
        0 => b"2026-01-01T00:00:00Z {\"time\":\n".to_vec(),
        1 => format!("x {}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        2 => format!("2026-01-01T00:00:00Z {}\n", "a".repeat(1_600_000)).into_bytes(),
        3 => b"\xff\xfe\x00 binary \x1b[2J\n".to_vec(),
        _ => b"9999-01-01T00:00:00Z {\"uuid\":\"x\"}".to_vec(),
    }
}

/// The DJ's playlist of the hostile tests, and its order file on the branch.
const PLAYLIST: &str = "Set";

/// Hostile order lines for the playlist's file: unknown and repeated keys, parents that name
/// no line, many concurrent heads, a line from a clock far ahead, one over the entry limit,
/// garbage.
fn random_orders(dice: &mut Dice, keys: &[String]) -> Vec<u8> {
    let line = |time: &str, tracks: &[String], parents: &[String]| {
        let json = serde_json::json!({
            "name": PLAYLIST, "clone": "hostile", "tracks": tracks, "parents": parents,
        });
        format!("{time} {json}\n")
    };
    let unknown = |n: u64| format!("SHA256E-s1--{n:064x}.flac");
    match dice.below(6) {
        0 => {
            let mut tracks: Vec<String> = (0..50).map(|_| dice.pick(keys).clone()).collect();
            tracks.push(unknown(dice.next()));
            line("2s", &tracks, &[format!("{:016x}", dice.next())]).into_bytes()
        }
        1 => (0..70)
            .map(|i| line(&format!("{}s", 3 + i), &[dice.pick(keys).clone()], &[]))
            .collect::<String>()
            .into_bytes(),
        2 => line("9999999999s", &[dice.pick(keys).clone()], &[]).into_bytes(),
        3 => {
            let tracks: Vec<String> = (0..100_001).map(|i| unknown(i as u64)).collect();
            line("4s", &tracks, &[]).into_bytes()
        }
        4 => {
            // A chain of parents that runs through lines of many earlier versions is only
            // read as far as the bounds allow: here, one line naming a thousand parents.
            let parents: Vec<String> = (0..1000).map(|_| format!("{:016x}", dice.next())).collect();
            line("5s", &[dice.pick(keys).clone()], &parents).into_bytes()
        }
        _ => random_garbage(dice),
    }
}

/// What the hostile clone writes in one round, on the branch it has now (`tip`).
fn attack(l: &Laptops, dice: &mut Dice, hostile: &Forger, spare: &str, own_id: &str) {
    let a = uuid_of(&l.env, &l.a);
    let uuids = [
        a.clone(),
        uuid_of(&l.env, &l.b),
        format!("{:x}", dice.next()),
    ];
    let tip = hostile.tip();
    let mut files = Vec::new();
    let runs_path = format!("mixxx/{}/runs", dice.pick(&uuids));
    let mut runs = hostile.read(&tip, &runs_path).unwrap_or_default();
    for _ in 0..1 + dice.below(3) {
        let line = match dice.below(3) {
            0 => random_garbage(dice),
            _ => format!("{}\n", random_record(dice, &uuids, own_id)).into_bytes(),
        };
        runs.extend(line);
    }
    files.push((runs_path, runs));
    if dice.below(2) == 0 {
        let shard = format!("mixxx/{a}/synced/{:02x}", dice.below(256));
        let mut ids = format!("{:016x} {}\n", dice.next(), dice.below(9)).into_bytes();
        ids.extend(random_garbage(dice));
        files.push((shard, ids));
    }
    if dice.below(2) == 0 {
        // Values are anyone's to write: a track the DJ does not edit this round.
        let path = log_path(l, spare);
        let mut log = hostile.read(&tip, &path).unwrap_or_default();
        let lines = [
            format!("9999999999s comment +{:x}\n", dice.next()),
            format!("1s comment +{}\n", "v".repeat(1_200_000)),
            format!("2s comment +{}\n", "w ".repeat(2_200_000)),
            "garbage without a time\n".to_owned(),
        ];
        log.extend(dice.pick(&lines).as_bytes());
        files.push((path, log));
    }
    if dice.below(2) == 0 {
        let path = order::line::file_path(PLAYLIST, 0);
        let keys: Vec<String> = (TRACKS.iter())
            .map(|t| {
                l.env
                    .git(&l.a, &["annex", "lookupkey", t])
                    .trim()
                    .to_owned()
            })
            .collect();
        let mut orders = hostile.read(&tip, &path).unwrap_or_default();
        orders.extend(random_orders(dice, &keys));
        files.push((path, orders));
    }
    let mut message = String::from("update\n");
    if dice.below(2) == 0 {
        message.push_str(&format!(
            "\ngit-mixxx-clone: {a}\ngit-mixxx-run: {own_id}\ngit-mixxx-finished: yes\n"
        ));
    }
    let dates = ["@4000000000 +0000", "@946684800 +0000"];
    let date = dates[dice.below(dates.len())];
    let side = hostile.commit(&tip, &files, &[&tip], &message, Some(date));
    let merge = hostile.commit(&side, &[], &[&tip, &side], "update", None);
    hostile.publish(&merge, &tip);
}

/// Rounds of random hostile writes, each followed by an edit of the DJ: `GIT_MIXXX_SEED` (first
/// seed) and `GIT_MIXXX_SEEDS` (how many, 2 by default) choose them.
#[test]
fn hostile_branch_data_never_takes_over_this_clone() {
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let first = number("GIT_MIXXX_SEED", 1);
    for seed in first..first + number("GIT_MIXXX_SEEDS", 2) {
        hostile_rounds(seed);
    }
}

fn hostile_rounds(seed: u64) {
    let mut dice = Dice(seed);
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["3"])])),
        (C, vals(&[("rating", &["3"])])),
    ]);
    set_playlist(&l.db_a, &l.a);
    l.sync_a(&[]);
    l.exchange(&[&l.a, &l.b]);
    let hostile = Forger::new(&l.env, &l.b);
    let mut own_id = status(&l.env, &l.a, &l.db_a)["clones"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..4 {
        let edited = *dice.pick(&TRACKS);
        let spare = *TRACKS.iter().find(|t| **t != edited).unwrap();
        attack(&l, &mut dice, &hostile, spare, &own_id);
        l.exchange(&[&l.a]);
        let now = values_of(&l.db_a, &loc(&l.a, edited));
        let others: Vec<String> = (1..=5)
            .map(|r| r.to_string())
            .filter(|r| !now.get("rating").is_some_and(|v| v.contains(r)))
            .collect();
        let rating = dice.pick(&others).clone();
        edit(&l.db_a, &loc(&l.a, edited), &format!("rating = {rating}"));
        let db = l.db_a.to_str().unwrap();
        let (out, kib) = peak_memory(&l.env, &l.a, &["sync", "--json", "--db", db]);
        let context = format!("seed {seed} round {round}: {}", text(&out));
        assert!(out.status.success(), "{context}");
        assert!(kib < 256 * 1024, "{context}: peak {kib} KiB");
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            l.env.metadata(&l.a, edited)["rating"],
            set_of(&[&rating]),
            "{context}"
        );
        assert_eq!(
            values_of(&l.db_a, &loc(&l.a, edited))["rating"],
            set_of(&[&rating]),
            "{context}"
        );
        own_id = match report["commit"].as_str() {
            Some(commit) => run_of_commit(&l.env, &l.a, commit),
            None => own_id,
        };
        let undo = l
            .env
            .mixxx_ok(&l.a, &["undo", "--dry-run", "--json", "--db", db]);
        let undo: Value = serde_json::from_str(&undo).unwrap();
        assert_eq!(undo["run"]["id"], own_id.as_str(), "{context}: {undo:#}");
        let status = l.env.mixxx(&l.a, &["status", "--json", "--db", db]);
        assert!(status.status.success(), "{context}: {}", text(&status));
        l.exchange(&[&l.a]);
    }
    // Orders are anyone's to write, as values are; the DJ's playlist stays, with its tracks.
    let conn = rusqlite::Connection::open(&l.db_a).unwrap();
    let entries: i64 = conn
        .query_row(
            "SELECT count(*) FROM PlaylistTracks pt JOIN Playlists p ON p.id = pt.playlist_id \
             WHERE p.name = ?1",
            [PLAYLIST],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        entries >= 3,
        "seed {seed}: {entries} entries left in {PLAYLIST}"
    );
}

// Files beyond the file limit (a run file, a synced shard, a metadata log and another clone's
// history sessions of 40 MiB, a commit of 2 MiB claiming this clone): none is read, each is named in a warning and by
// `status`, the track whose log it is is left alone, the DJ's edit reaches the branch, and
// the run's memory stays far below the files' size.
#[test]
fn files_beyond_the_limits_are_skipped_and_named() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["3"])])),
    ]);
    let a = uuid_of(&l.env, &l.a);
    let sessions = format!("mixxx/{}/history/2026-12", uuid_of(&l.env, &l.b));
    let hostile = Forger::new(&l.env, &l.b);
    let huge = |line: &str| line.repeat((40 << 20) / line.len()).into_bytes();
    let log = log_path(&l, B);
    // The shard where this sync records C, new in A's Mixxx.
    let c_key = l.env.git(&l.a, &["annex", "lookupkey", C]);
    let id = git_mixxx::state::synced_id(c_key.trim());
    let shard = git_mixxx::state::synced_shard(&a, &id);
    let files = vec![
        (format!("mixxx/{a}/runs"), huge("9999-01-01T00:00:00Z {}\n")),
        (shard.clone(), huge("0011223344556677 1\n")),
        (log.clone(), huge("1s rating +1\n")),
        (sessions.clone(), huge("1s {\"id\":\"s\"}\n")),
    ];
    let tip = hostile.tip();
    let message = format!(
        "update\n\n{}\ngit-mixxx-clone: {a}\ngit-mixxx-finished: yes\n",
        "x".repeat(2 << 20)
    );
    let side = hostile.commit(&tip, &files, &[&tip], &message, None);
    hostile.publish(&side, &tip);
    l.exchange(&[&l.a]);
    edit(&l.db_a, &loc(&l.a, A), "rating = 5");
    edit(&l.db_a, &loc(&l.a, B), "rating = 4");
    add_row(&l.db_a, &loc(&l.a, C));
    let db = l.db_a.to_str().unwrap();
    let (out, kib) = peak_memory(&l.env, &l.a, &["sync", "--json", "--db", db]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{}", text(&out));
    assert!(kib < 40 * 1024, "peak {kib} KiB: {stderr}");
    for file in [format!("mixxx/{a}/runs"), shard, log.clone(), sessions] {
        assert!(
            stderr.contains(&format!(
                "skipped on the git-annex branch: {file}: not read"
            )),
            "{file}: {stderr}"
        );
    }
    assert_eq!(l.env.metadata(&l.a, A)["rating"], set_of(&["5"]));
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, B))["rating"],
        set_of(&["4"]),
        "left alone"
    );
    let status = status(&l.env, &l.a, &l.db_a);
    crate::surface::assert_valid("status.json", &status);
    let skipped: Vec<&str> = status["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert!(skipped.contains(&log.as_str()), "{status:#}");
    let undo = l
        .env
        .mixxx_ok(&l.a, &["undo", "--dry-run", "--json", "--db", db]);
    let undo: Value = serde_json::from_str(&undo).unwrap();
    assert_eq!(undo["run"]["clone"], a.as_str(), "{undo:#}");
}

/// A new Mixxx row for the file at `location`, as Mixxx's scan adds one.
/// The DJ's playlist: the three tracks in order.
fn set_playlist(db: &std::path::Path, repo: &std::path::Path) {
    let mut sql = format!(
        "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
         VALUES ('{PLAYLIST}', 5, 0, '2026-12-04 20:00:00', '2026-12-04 20:00:00', 0);"
    );
    for (position, file) in (1..).zip(TRACKS) {
        sql.push_str(&format!(
            "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
             SELECT (SELECT id FROM Playlists WHERE name = '{PLAYLIST}'), {}, {position}, \
             '2026-12-04T20:00:00.000Z';",
            track(&loc(repo, file))
        ));
    }
    db_exec(db, &sql);
}

fn add_row(db: &std::path::Path, location: &str) {
    let (directory, filename) = location.rsplit_once('/').unwrap();
    db_exec(
        db,
        &format!(
            "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, needs_verification) \
             VALUES ('{location}', '{filename}', '{directory}', 100, 0, 0); \
             INSERT INTO library (location, datetime_added, mixxx_deleted, played, filetype, duration, samplerate, channels, bitrate, header_parsed) \
             VALUES (last_insert_rowid(), '2026-01-01T00:00:00.000Z', 0, 0, 'flac', 240.0, 44100, 2, 320, 1);"
        ),
    );
}

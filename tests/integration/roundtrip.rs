//! Every value Mixxx holds round-trips, field by field of the field table: read from a Mixxx
//! database (revisions 32 to 40), written to the branch as git-mixxx writes a log line, read
//! back from that line as git-annex reads it (each value canonical as written), written to
//! another Mixxx database and read again: the same values, and the same columns for every
//! field but `bpm` (two decimals on the branch; the beat grid carries the exact tempo). Texts
//! with newlines and leading `!`, cues of every kind with and without a pad, positions as
//! integers and reals, colours beyond 24 bits, all three grid formats.

use crate::util::*;
use git_mixxx::annex::logmet::{self, MetLog, Timestamp};
use git_mixxx::fields::{Field, Values};
use git_mixxx::mixxx::{Database, schema};
use proptest::prelude::*;
use rusqlite::types::Value as SqlValue;
use std::collections::BTreeSet;
use std::path::Path;

/// A track as Mixxx may store it.
#[derive(Clone, Debug)]
struct Stored {
    /// artist, title, album, album_artist, genre, year, tracknumber, comment, composer,
    /// grouping.
    texts: Vec<String>,
    rating: i64,
    bpm: f64,
    color: Option<i64>,
    key_id: i64,
    /// beats, beats_version, beats_sub_version, bpm_lock.
    grid: Option<(Vec<u8>, &'static str, Option<String>, i64)>,
    crates: BTreeSet<String>,
    playlists: BTreeSet<String>,
    /// type, hotcue, position, length, color, label.
    cues: Vec<(i64, i64, SqlValue, SqlValue, i64, String)>,
}

const TEXT_COLUMNS: [&str; 10] = [
    "artist",
    "title",
    "album",
    "album_artist",
    "genre",
    "year",
    "tracknumber",
    "comment",
    "composer",
    "grouping",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[\\PC\\n\\t !]{1,16}"]
}

fn name() -> impl Strategy<Value = String> {
    "[\\PC !]{1,10}"
}

/// A number as Mixxx's CueDAO binds it: an integer or a real (whole or not).
fn number(max: i64) -> impl Strategy<Value = SqlValue> {
    prop_oneof![
        (0..max).prop_map(SqlValue::Integer),
        (0..max).prop_map(|n| SqlValue::Real(n as f64)),
        (0..max, 1..4i64).prop_map(|(n, q)| SqlValue::Real(n as f64 + q as f64 / 4.0)),
    ]
}

fn cue() -> impl Strategy<Value = (i64, i64, SqlValue, SqlValue, i64, String)> {
    let kind_slot = prop_oneof![
        (Just(1i64), 0..36i64),
        (
            prop_oneof![Just(4i64), Just(5i64)],
            prop_oneof![Just(-1i64), 0..36i64]
        ),
        (prop_oneof![Just(2i64), Just(6i64), Just(7i64)], Just(-1i64)),
    ];
    let colour = prop_oneof![0..=0xFF_FFFFi64, 0x100_0000..=0xFFFF_FFFFi64];
    (kind_slot, number(1 << 30), number(1 << 22), colour, text())
        .prop_map(|((k, s), p, l, c, t)| (k, s, p, l, c, t))
}

fn grid() -> impl Strategy<Value = Option<(Vec<u8>, &'static str, Option<String>, i64)>> {
    let blob = prop_oneof![
        (1.0f64..500.0, 0..1_000_000u64)
            .prop_map(|(bpm, first)| (beat_grid(bpm, first), "BeatGrid-2.0")),
        prop::collection::vec(1..50_000u64, 1..20).prop_map(|gaps| {
            let beats: Vec<u64> = gaps
                .iter()
                .scan(0, |at, g| {
                    *at += g;
                    Some(*at)
                })
                .collect();
            (beat_map(&beats), "BeatMap-1.0")
        }),
        (1.0f64..500.0, 0.0f64..1e6).prop_map(|(bpm, first)| {
            (
                [bpm.to_le_bytes(), first.to_le_bytes()].concat(),
                "BeatGrid-1.0",
            )
        }),
    ];
    let sub = prop::option::of("[a-z0-9=|:._-]{1,24}");
    prop::option::of((blob, sub, 0..=1i64).prop_map(|((b, v), s, l)| (b, v, s, l)))
}

prop_compose! {
    fn stored()(
        texts in prop::collection::vec(text(), 10),
        rating in 0..=5i64,
        bpm in prop_oneof![Just(0.0), 0.01f64..500.0],
        color in prop::option::of(0..=0xFF_FFFFi64),
        key_id in 0..=24i64,
        grid in grid(),
        crates in prop::collection::btree_set(name(), 0..3),
        playlists in prop::collection::btree_set(name(), 0..3),
        cues in prop::collection::vec(cue(), 0..6),
    ) -> Stored {
        // Mixxx keeps one cue per kind and pad.
        let mut seen = BTreeSet::new();
        let cues = cues.into_iter().filter(|c| seen.insert((c.0, c.1))).collect();
        Stored { texts, rating, bpm, color, key_id, grid, crates, playlists, cues }
    }
}

/// A database at `revision` with `tracks` at `/music/N.flac`, stored as given.
fn store(path: &Path, revision: i64, tracks: &[Stored]) {
    let conn = schema::create(path, revision).unwrap();
    for (i, t) in tracks.iter().enumerate() {
        let location = format!("/music/{i}.flac");
        conn.execute(
            "INSERT INTO track_locations (location, filename, directory, filesize, fs_deleted, \
             needs_verification) VALUES (?1, ?2, '/music', 1, 0, 0)",
            [&location, &format!("{i}.flac")],
        )
        .unwrap();
        let (beats, version, sub, lock) = match &t.grid {
            Some((b, v, s, l)) => (Some(b.clone()), Some(*v), s.clone(), *l),
            None => (None, None, None, 0),
        };
        let columns = TEXT_COLUMNS.join(", ");
        conn.execute(
            &format!(
                "INSERT INTO library (location, {columns}, rating, bpm, color, key, key_id, \
                 beats, beats_version, beats_sub_version, bpm_lock, datetime_added, \
                 mixxx_deleted, played, filetype, duration, samplerate, channels, bitrate) \
                 VALUES (last_insert_rowid(), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
                 ?12, ?13, '', ?14, ?15, ?16, ?17, ?18, '2026-01-01T00:00:00.000Z', 0, 0, \
                 'flac', 240.0, 44100, 2, 320)"
            ),
            rusqlite::params_from_iter(t.texts.iter().map(|s| SqlValue::Text(s.clone())).chain([
                SqlValue::Integer(t.rating),
                SqlValue::Real(t.bpm),
                t.color.map_or(SqlValue::Null, SqlValue::Integer),
                SqlValue::Integer(t.key_id),
                beats.map_or(SqlValue::Null, SqlValue::Blob),
                version.map_or(SqlValue::Null, |v| SqlValue::Text(v.into())),
                sub.map_or(SqlValue::Null, SqlValue::Text),
                SqlValue::Integer(lock),
            ])),
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        for c in &t.cues {
            conn.execute(
                "INSERT INTO cues (track_id, type, hotcue, position, length, color, label) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![id, c.0, c.1, c.2, c.3, c.4, c.5],
            )
            .unwrap();
        }
        for (table, names) in [("crate", &t.crates), ("playlist", &t.playlists)] {
            for n in names {
                add_member(&conn, table, n, id);
            }
        }
    }
}

fn add_member(conn: &rusqlite::Connection, kind: &str, name: &str, id: i64) {
    let [create, join] = match kind {
        "crate" => [
            "INSERT OR IGNORE INTO crates (name) VALUES (?1)",
            "INSERT INTO crate_tracks (crate_id, track_id) SELECT id, ?2 FROM crates WHERE name = ?1",
        ],
        _ => [
            "INSERT INTO Playlists (name, position, hidden, date_created, date_modified) \
             SELECT ?1, 9, 0, '', '' WHERE NOT EXISTS (SELECT 1 FROM Playlists WHERE name = ?1)",
            "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
             SELECT id, ?2, 1, '' FROM Playlists WHERE name = ?1",
        ],
    };
    conn.execute(create, [name]).unwrap();
    conn.execute(join, rusqlite::params![name, id]).unwrap();
}

/// The values of every track, as git-mixxx reads them.
fn read(path: &Path) -> Vec<Values> {
    let library = Database::open_read_only(path)
        .unwrap()
        .read_library()
        .unwrap();
    library.tracks.iter().map(|t| t.row.to_values()).collect()
}

/// The columns of every exact field, each with its SQLite type, and the synced cues.
fn columns(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let exact = TEXT_COLUMNS
        .iter()
        .chain(&[
            "rating",
            "color",
            "key_id",
            "beats",
            "beats_version",
            "beats_sub_version",
            "bpm_lock",
        ])
        .map(|c| format!("quote(\"{c}\")"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let cues = "SELECT group_concat(type || ' ' || hotcue || ' ' || quote(position) || ' ' || \
                quote(length) || ' ' || color || ' ' || quote(label), ';') FROM \
                (SELECT * FROM cues c WHERE c.track_id = l.id AND type <> 8 \
                ORDER BY type, hotcue, position)";
    let sql = format!("SELECT {exact} || '|' || ifnull(({cues}), '') FROM library l ORDER BY id");
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The branch's values of a track: git-mixxx's log line for its values, read back as
/// git-annex reads a log; every value must be canonical as written.
fn through_the_branch(values: &Values) -> Values {
    let pairs = values
        .iter()
        .flat_map(|(f, vs)| vs.iter().map(move |v| (f.name(), true, v.as_str())));
    let now = Timestamp::now();
    let line = logmet::format_line_of(now, pairs);
    let current = MetLog::parse(&line).current();
    let mut out = Values::new();
    for (name, set) in current {
        let field = Field::from_name(&name).unwrap();
        for value in set.into_keys() {
            let canonical = field.codec().canonical(&value).map(|c| c.into_owned());
            assert_eq!(canonical.as_ref(), Ok(&value), "{field} reads back");
            out.entry(field).or_default().insert(value);
        }
    }
    out
}

/// Writes `values` to a database holding the same tracks without values.
fn write(path: &Path, revision: i64, values: &[Values]) {
    let empty: Vec<Stored> = values.iter().map(|_| blank()).collect();
    store(path, revision, &empty);
    let mut db = Database::open_for_writing(path).unwrap();
    let (mut writer, _backup) = db.begin_write(None).unwrap();
    for (i, track) in values.iter().enumerate() {
        for field in Field::ALL {
            let set = track.get(&field).cloned().unwrap_or_default();
            writer.set_field(i as i64 + 1, field, &set).unwrap();
        }
    }
    writer.commit().unwrap();
}

fn blank() -> Stored {
    Stored {
        texts: vec![String::new(); 10],
        rating: 0,
        bpm: 0.0,
        color: None,
        key_id: 0,
        grid: None,
        crates: BTreeSet::new(),
        playlists: BTreeSet::new(),
        cues: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_value_mixxx_holds_round_trips_through_the_branch(
        revision in prop_oneof![Just(32i64), Just(35), Just(37), Just(39), Just(40)],
        tracks in prop::collection::vec(stored(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.sqlite"), dir.path().join("b.sqlite"));
        store(&a, revision, &tracks);
        let values = read(&a);
        let branch: Vec<Values> = values.iter().map(through_the_branch).collect();
        prop_assert_eq!(&branch, &values);
        write(&b, revision, &branch);
        prop_assert_eq!(read(&b), values);
        prop_assert_eq!(columns(&b), columns(&a));
    }
}

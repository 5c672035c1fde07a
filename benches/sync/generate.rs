//! The synthetic library, generated once per N: an annex repository whose work branch (built
//! with `git fast-import`) holds N locked annexed files without content, and a Mixxx database
//! of N tracks with `git_mixxx::demo::sample_values`, written by git-mixxx's own code
//! (`git_mixxx::demo::create_library`, through `support::create_db`).

use crate::support::{Env, beat_grid, create_db, db_tracks, loc};
use git_mixxx::annex::logmet::Values;
use md5::{Digest, Md5};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Crates and playlists in the sample values.
const CRATES: usize = 50;
const PLAYLISTS: usize = 20;
/// The Mixxx schema revision of the generated databases (Mixxx 2.3).
const REVISION: i64 = 32;
/// History sessions in the generated database with `--plays`, and tracks in each.
pub const SESSIONS: usize = 200;
const SESSION_TRACKS: usize = 30;
/// Directories of the generated work tree: genres × artists.
const GENRES: [&str; 5] = ["House", "Techno", "Drum & Bass", "Électronique", "Disco"];
const ARTISTS_PER_GENRE: usize = 40;

/// 64 hex digits derived from `i` (splitmix64), for fake SHA256 keys.
fn fake_sha256(i: usize) -> String {
    let mut state = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let _ = write!(out, "{z:016x}");
    }
    out
}

fn fake_key(i: usize) -> String {
    let size = 4_000_000 + (i * 7919) % 40_000_000;
    format!("SHA256E-s{size}--{}.flac", fake_sha256(i))
}

/// git-annex's `hashDirMixed` (`.git/annex/objects/<xx>/<yy>/`): the MD5 of the key as
/// little-endian 32-bit words, 5 bits at a time through a 32-letter alphabet, pairs swapped.
fn hashdir_mixed(key: &str) -> String {
    const CHARS: &[u8; 32] = b"0123456789zqjxkmvwgpfZQJXKMVWGPF";
    let digest = Md5::digest(key.as_bytes());
    let w = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let c = |x: u32| CHARS[((w >> (6 * x)) & 31) as usize] as char;
    format!("{}{}/{}{}", c(1), c(0), c(3), c(2))
}

/// The work-tree path of sample track `i`: ~200 directories, spaces and non-ASCII.
fn file_name(i: usize) -> String {
    let genre = GENRES[i % GENRES.len()];
    let artist = (i / GENRES.len()) % ARTISTS_PER_GENRE;
    let accent = if artist.is_multiple_of(3) {
        " Ørsted"
    } else {
        ""
    };
    format!("music/{genre}/Artist {artist:02}{accent}/Track {i} (Original Mix).flac")
}

pub fn values(i: usize) -> Values {
    git_mixxx::demo::sample_values(i, CRATES, PLAYLISTS)
}

/// Paths of one generated library.
pub struct Library {
    pub n: usize,
    pub files: Vec<String>,
    pub keys: Vec<String>,
    /// The generated repository and database, copied for each run.
    gen_dir: PathBuf,
    /// Where runs work; the database's locations point into `work_dir/repo`.
    pub work_dir: PathBuf,
    pub secs: f64,
    /// The plays in the database (each track's play count added up; 0 without `--plays`).
    pub plays: u64,
}

impl Library {
    pub fn repo(dir: &Path) -> PathBuf {
        dir.join("repo")
    }

    pub fn db(dir: &Path) -> PathBuf {
        dir.join("mixxx").join("mixxxdb.sqlite")
    }

    /// A fresh copy of the generated library in `dir` (replacing what was there).
    pub fn fresh_copy(&self, dir: &Path) {
        if dir.exists() {
            std::fs::remove_dir_all(dir).expect("remove old copy");
        }
        let status = Command::new("cp")
            .arg("-a")
            .arg(&self.gen_dir)
            .arg(dir)
            .status()
            .expect("cp");
        assert!(status.success(), "cp -a {} failed", self.gen_dir.display());
    }
}

/// What a generation was made of, kept beside it: a kept generation (`--keep DIR`) made of the
/// same is used again.
fn recipe(n: usize, cues: usize, grid: bool, plays: bool) -> String {
    format!("tracks {n}, cues {cues}, grid {grid}, plays {plays}, revision {REVISION}\n")
}

/// Generates the library of `n` tracks, with `cues` hot cues per track, a beat grid on every
/// track with a BPM (`grid`) and a play count per track and history sessions (`plays`).
pub fn generate(
    env: &Env,
    root: &Path,
    n: usize,
    (cues, grid, plays): (usize, bool, bool),
) -> Library {
    let start = Instant::now();
    let base = root.join(format!("n{n}"));
    let gen_dir = base.join("gen");
    let work_dir = base.join("work");
    let files: Vec<String> = (0..n).map(file_name).collect();
    let keys: Vec<String> = (0..n).map(fake_key).collect();
    let recipe_path = base.join("recipe");
    if std::fs::read_to_string(&recipe_path).is_ok_and(|r| r == recipe(n, cues, grid, plays)) {
        eprintln!(
            "N={n}: using the library generated in {}",
            gen_dir.display()
        );
        return Library {
            n,
            files,
            keys,
            plays: if plays {
                plays_in(&Library::db(&gen_dir))
            } else {
                0
            },
            gen_dir,
            work_dir,
            secs: 0.0,
        };
    }
    if base.exists() {
        std::fs::remove_dir_all(&base).expect("remove previous generation");
    }
    let repo = Library::repo(&gen_dir);
    std::fs::create_dir_all(&repo).expect("mkdir repo");

    // The work branch: one commit of N symlinks to content that is not there.
    env.git(&repo, &["init", "-q", "-b", "master"]);
    let stream_path = base.join("fast-import.stream");
    {
        let mut s = std::io::BufWriter::new(
            std::fs::File::create(&stream_path).expect("fast-import stream"),
        );
        let msg = format!("Add {n} tracks\n");
        let (name, email) = env.identity();
        write!(
            s,
            "commit refs/heads/master\ncommitter {name} <{email}> 1700000000 +0000\ndata {}\n{msg}\n",
            msg.len()
        )
        .expect("write");
        for (file, key) in files.iter().zip(&keys) {
            let up = "../".repeat(file.matches('/').count());
            let target = format!("{up}.git/annex/objects/{}/{key}/{key}", hashdir_mixed(key));
            write!(
                s,
                "M 120000 inline {file}\ndata {}\n{target}\n",
                target.len()
            )
            .expect("write");
        }
        s.write_all(b"\n").expect("write");
        s.flush().expect("flush");
    }
    env.run_with(
        &repo,
        "git",
        &["fast-import", "--quiet"],
        Some(&stream_path),
    );
    std::fs::remove_file(&stream_path).expect("remove stream");
    env.git(&repo, &["reset", "-q", "--hard", "master"]);
    env.git(&repo, &["annex", "init", "-q", "bench"]);

    // The repository is a real annex: git-annex agrees on keys and object directories.
    for i in [0, n / 2, n - 1] {
        let found = env.git(&repo, &["annex", "lookupkey", "--", &files[i]]);
        assert_eq!(found.trim(), keys[i], "git annex lookupkey {}", files[i]);
        let dir = env.git(
            &repo,
            &[
                "annex",
                "examinekey",
                "--format=${hashdirmixed}\\n",
                &keys[i],
            ],
        );
        assert_eq!(
            dir.trim().trim_end_matches('/'),
            hashdir_mixed(&keys[i]),
            "hashdirmixed of {}",
            keys[i]
        );
    }

    // The Mixxx database: locations in the work copy, where runs happen.
    let db_start = Instant::now();
    let work_repo = Library::repo(&work_dir);
    let tracks: Vec<(String, Values)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (loc(&work_repo, f), values(i)))
        .collect();
    let db = Library::db(&gen_dir);
    create_db(&db, REVISION, &tracks);
    let written = db_start.elapsed().as_secs_f64();
    check_db(&db, &tracks);
    add_cues(&db, cues);
    if grid {
        add_grids(&db);
    }
    if plays {
        add_plays(&db, n);
    }
    eprintln!(
        "N={n}: Mixxx database written in {written:.2} s, read back and checked in {:.2} s",
        db_start.elapsed().as_secs_f64() - written
    );

    std::fs::write(&recipe_path, recipe(n, cues, grid, plays)).expect("write the recipe");
    let plays = if plays { plays_in(&db) } else { 0 };
    Library {
        n,
        files,
        keys,
        gen_dir,
        work_dir,
        secs: start.elapsed().as_secs_f64(),
        plays,
    }
}

/// Gives every track a play count (1 to 23) and adds [`SESSIONS`] history playlists of
/// [`SESSION_TRACKS`] entries each, as Mixxx's history writes them; returns the plays.
fn add_plays(db: &Path, n: usize) {
    let mut conn = rusqlite::Connection::open(db).expect("open the generated database");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("foreign keys off");
    let tx = conn.transaction().expect("begin");
    tx.execute("UPDATE library SET timesplayed = 1 + id % 23", [])
        .expect("play counts");
    for s in 0..SESSIONS {
        let day = format!("2026-{:02}-{:02}", 1 + s / 28 % 12, 1 + s % 28);
        tx.execute(
            "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
             VALUES (?1, ?2, 2, ?3, ?3, 0)",
            rusqlite::params![
                format!("{day} ({s})"),
                10 + s as i64,
                format!("{day} 20:00:00")
            ],
        )
        .expect("a session");
        let playlist = tx.last_insert_rowid();
        for e in 0..SESSION_TRACKS {
            let track = (s * 7919 + e * 104_729) % n + 1;
            let at = format!("{day} {:02}:{:02}:00", 20 + e / 12, e % 12 * 5);
            tx.execute(
                "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![playlist, track as i64, e as i64 + 1, at],
            )
            .expect("an entry");
        }
    }
    tx.commit().expect("commit plays");
}

/// The plays in the database: every track's play count added up.
fn plays_in(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).expect("open the generated database");
    let plays: i64 = conn
        .query_row("SELECT sum(timesplayed) FROM library", [], |r| r.get(0))
        .expect("plays");
    plays as u64
}

/// Gives every track `cues` hot cues (slots 1.., positions a second apart), as Mixxx stores
/// them.
fn add_cues(db: &Path, cues: usize) {
    let conn = rusqlite::Connection::open(db).expect("open the generated database");
    // Mixxx's declared foreign keys are broken (they name `library_old`); Mixxx never enforces
    // them.
    conn.pragma_update(None, "foreign_keys", false)
        .expect("foreign keys off");
    for slot in 0..cues {
        conn.execute(
            "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
             SELECT id, 1, ?1 * 88200 + id, 0, ?1, 'Cue ' || (?1 + 1), 16711680 FROM library",
            [slot as i64],
        )
        .expect("insert cues");
    }
}

/// Gives every track with a BPM a beat grid at that BPM (first beat at frame 1000), as Mixxx's
/// analyser stores it.
fn add_grids(db: &Path) {
    let mut conn = rusqlite::Connection::open(db).expect("open the generated database");
    let tx = conn.transaction().expect("begin");
    let tracks: Vec<(i64, f64)> = tx
        .prepare("SELECT id, bpm FROM library WHERE bpm > 0")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("read bpm");
    for (id, bpm) in tracks {
        tx.execute(
            "UPDATE library SET beats = ?1, beats_version = 'BeatGrid-2.0', \
             beats_sub_version = 'mixxx-queenmarydf 2.0', bpm_lock = 0 WHERE id = ?2",
            rusqlite::params![beat_grid(bpm, 1000), id],
        )
        .expect("set a grid");
    }
    tx.commit().expect("commit grids");
}

/// The generated database reads back, through git-mixxx's own reader, as the sample values,
/// with track ids 1, 2, … in file order (the scenarios' SQL addresses sample track i as i + 1).
fn check_db(db: &Path, tracks: &[(String, Values)]) {
    let revision = git_mixxx::mixxx::Database::open_read_only(db)
        .expect("open the generated database")
        .revision;
    assert_eq!(
        revision, REVISION,
        "schema revision of the generated database"
    );
    let read = db_tracks(db);
    assert_eq!(read.len(), tracks.len(), "tracks in the generated database");
    for (i, ((id, location, values), (want_location, want_values))) in
        read.iter().zip(tracks).enumerate()
    {
        assert_eq!(*id, i as i64 + 1, "id of track {i}");
        assert_eq!(location, want_location, "location of track {i}");
        assert_eq!(values, want_values, "values of track {i} ({location})");
    }
}

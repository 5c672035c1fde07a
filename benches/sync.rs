//! Benchmark of `git-mixxx sync` on synthetic libraries of N tracks (real git, git-annex and the
//! real Mixxx schema), with peak memory and git object growth, and a comparison with writing the
//! same metadata through `git annex metadata --batch --json`.
//!
//! ```sh
//! cargo bench --bench sync -- --tracks 1000,10000,100000 --runs 3
//! cargo bench --bench sync -- --tracks 1000 --runs 1 --keep /tmp/gm-bench --batch-compare 0
//! ```
//!
//! `cargo bench` builds `target/release/git-mixxx` with the bench (benchmarks always get the
//! package's binaries); the benchmark copies it into its run directory first, so a concurrent
//! rebuild does not change the binary under measurement. When it is missing, the benchmark runs
//! `cargo build --release --bin git-mixxx`.
//!
//! Per N, the library is generated once: an annex repository whose work branch (built with
//! `git fast-import`) holds N locked annexed files without content, and a Mixxx database of N
//! tracks with `git_mixxx::demo::sample_values`. Each run then works on a fresh `cp -a` copy.
//! Every command runs under a small measuring process (the bench binary re-executed with a
//! hidden `--measure-child` mode) that times it by wall clock and reads its peak RSS from
//! `getrusage(RUSAGE_CHILDREN)` (the largest RSS of the command and of the processes it waited
//! for); the objects column is the growth of the apparent size of `.git/objects`. Cells show
//! medians over the runs.

use git_mixxx::annex::logmet::Values;
use git_mixxx::fields;
use md5::{Digest, Md5};
use rusqlite::params;
use rusqlite::types::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Crates and playlists in the sample values.
const CRATES: usize = 50;
const PLAYLISTS: usize = 20;
/// Consecutive no-change runs measured per run.
const REPEATS: usize = 3;
/// The Mixxx schema revision of the generated databases (Mixxx 2.3).
const REVISION: i64 = 32;
/// Directories of the generated work tree: genres × artists.
const GENRES: [&str; 5] = ["House", "Techno", "Drum & Bass", "Électronique", "Disco"];
const ARTISTS_PER_GENRE: usize = 40;
/// The `library` columns the generator fills, by annex field (what `sample_values` yields).
const SINGLE_FIELDS: [&str; 9] = [
    "artist", "title", "album", "genre", "year", "key", "bpm", "rating", "color",
];

const USAGE: &str = "usage: cargo bench --bench sync -- [--tracks N,N,...] [--runs R] [--keep DIR] [--batch-compare N]

  --tracks N,...       library sizes (default 1000,10000)
  --runs R             runs per measurement, medians are reported (default 3)
  --keep DIR           generate in DIR and keep the repositories (default: a temporary directory)
  --batch-compare N    tracks for the `git annex metadata --batch` comparison (default 10000; 0: off)";

struct Args {
    tracks: Vec<usize>,
    runs: usize,
    keep: Option<PathBuf>,
    batch_compare: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        tracks: vec![1000, 10_000],
        runs: 3,
        keep: None,
        batch_compare: 10_000,
    };
    let fail = |msg: String| -> ! {
        eprintln!("sync bench: {msg}\n{USAGE}");
        std::process::exit(2);
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .unwrap_or_else(|| fail(format!("{name} needs a value")))
        };
        let number = |v: String| -> usize {
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| fail(format!("{name}: `{v}` is not a number")))
        };
        match name.as_str() {
            // `cargo bench` passes --bench to harness = false targets.
            "--bench" => {}
            "--tracks" => {
                args.tracks = value().split(',').map(|v| number(v.to_owned())).collect();
                if args.tracks.contains(&0) {
                    fail("--tracks: sizes must be positive".into());
                }
            }
            "--runs" => args.runs = number(value()).max(1),
            "--keep" => args.keep = Some(PathBuf::from(value())),
            "--batch-compare" => args.batch_compare = number(value()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => fail(format!("unknown argument `{other}`")),
        }
    }
    args
}

/// The hermetic environment every command runs in: its own HOME, no system or global git
/// config, a fixed identity, and the benchmark's copy of git-mixxx first on PATH.
struct Env {
    home: PathBuf,
    path: String,
    bin: PathBuf,
}

impl Env {
    fn command(&self, dir: &Path, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Bench DJ")
            .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
            .env("GIT_COMMITTER_NAME", "Bench DJ")
            .env("GIT_COMMITTER_EMAIL", "bench@example.invalid");
        cmd
    }

    /// Runs a command that must succeed, with `stdin` from a file if given; returns stdout.
    fn run_with(&self, dir: &Path, program: &str, args: &[&str], stdin: Option<&Path>) -> String {
        let mut cmd = self.command(dir, program, args);
        cmd.stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).expect("open stdin file")),
            None => Stdio::null(),
        });
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        if !out.status.success() {
            panic!(
                "`{program} {}` in {} failed ({}):\n{}{}",
                args.join(" "),
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run(&self, dir: &Path, program: &str, args: &[&str]) -> String {
        self.run_with(dir, program, args, None)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run(dir, "git", args)
    }

    fn mixxx(&self) -> &str {
        self.bin.to_str().expect("utf-8 binary path")
    }
}

/// One measured command.
#[derive(Clone, Copy, Debug)]
struct Sample {
    secs: f64,
    /// Peak RSS in KiB.
    rss_kb: u64,
    /// Growth of `.git/objects`, apparent size in bytes.
    objects: i64,
}

/// What a measured command printed.
struct Outcome {
    sample: Sample,
    stdout: String,
    stderr: String,
}

/// Apparent size of the files under `dir`.
fn apparent_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => apparent_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// The hidden mode that measures one command: `BENCH --measure-child RESULT -- PROGRAM ARGS`.
const MEASURE_CHILD: &str = "--measure-child";

/// The measuring process: a fresh, small process (the bench binary re-executed) that runs the
/// command with its own stdio, environment and directory, waits, and writes `secs maxrss_kb` to
/// RESULT from `getrusage(RUSAGE_CHILDREN)`, which then covers exactly that command and the
/// processes it waited for. (Measured straight from the benchmark, a child's `ru_maxrss` would
/// include the benchmark's own memory, which the kernel counts for the child until it execs.)
fn measure_child(args: &[String]) -> ! {
    let [result, dashes, program, rest @ ..] = args else {
        eprintln!("usage: {MEASURE_CHILD} RESULT -- PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    assert_eq!(dashes, "--", "{MEASURE_CHILD} RESULT -- PROGRAM");
    let start = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let secs = start.elapsed().as_secs_f64();
    // SAFETY: rusage is plain data that getrusage fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a local.
    let r = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(r, 0, "getrusage: {}", std::io::Error::last_os_error());
    std::fs::write(result, format!("{secs} {}\n", usage.ru_maxrss)).expect("write result");
    std::process::exit(status.code().unwrap_or(128));
}

/// Runs `program args` in the repository `repo` (stdin from a file if given) through the
/// measuring process; fails loudly when the command fails.
fn measure(env: &Env, repo: &Path, program: &str, args: &[&str], stdin: Option<&Path>) -> Outcome {
    let objects = repo.join(".git/objects");
    let before = apparent_size(&objects);
    let scratch = tempfile::tempdir().expect("temp dir");
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    let result_path = scratch.path().join("result");
    let me = std::env::current_exe().expect("the bench executable");
    let mut all = vec![
        MEASURE_CHILD,
        result_path.to_str().expect("utf-8 temp path"),
        "--",
        program,
    ];
    all.extend_from_slice(args);
    let mut cmd = env.command(repo, me.to_str().expect("utf-8 bench path"), &all);
    cmd.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).expect("open stdin file")),
        None => Stdio::null(),
    })
    .stdout(std::fs::File::create(&out_path).expect("stdout file"))
    .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", me.display()));
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if !status.success() {
        panic!(
            "`{program} {}` in {} failed ({status}):\n{stdout}{stderr}",
            args.join(" "),
            repo.display()
        );
    }
    let result = std::fs::read_to_string(&result_path).expect("measurement result");
    let mut fields = result.split_whitespace();
    let secs: f64 = fields.next().and_then(|v| v.parse().ok()).expect("secs");
    let rss_kb: u64 = fields.next().and_then(|v| v.parse().ok()).expect("maxrss");
    let after = apparent_size(&objects);
    Outcome {
        sample: Sample {
            secs,
            rss_kb,
            objects: after as i64 - before as i64,
        },
        stdout,
        stderr,
    }
}

// ---------------------------------------------------------------------------------------------
// Generation

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

fn values(i: usize) -> Values {
    git_mixxx::demo::sample_values(i, CRATES, PLAYLISTS)
}

/// Paths of one generated library.
struct Library {
    n: usize,
    files: Vec<String>,
    keys: Vec<String>,
    /// The generated repository and database, copied for each run.
    gen_dir: PathBuf,
    /// Where runs work; the database's locations point into `work_dir/repo`.
    work_dir: PathBuf,
    secs: f64,
}

impl Library {
    fn repo(dir: &Path) -> PathBuf {
        dir.join("repo")
    }

    fn db(dir: &Path) -> PathBuf {
        dir.join("mixxx").join("mixxxdb.sqlite")
    }

    /// A fresh copy of the generated library in `dir` (replacing what was there).
    fn fresh_copy(&self, dir: &Path) {
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

fn generate(env: &Env, root: &Path, n: usize) -> Library {
    let start = Instant::now();
    let base = root.join(format!("n{n}"));
    if base.exists() {
        std::fs::remove_dir_all(&base).expect("remove previous generation");
    }
    let gen_dir = base.join("gen");
    let work_dir = base.join("work");
    let repo = Library::repo(&gen_dir);
    std::fs::create_dir_all(&repo).expect("mkdir repo");
    std::fs::create_dir_all(Library::db(&gen_dir).parent().expect("parent")).expect("mkdir");

    let files: Vec<String> = (0..n).map(file_name).collect();
    let keys: Vec<String> = (0..n).map(fake_key).collect();

    // The work branch: one commit of N symlinks to content that is not there.
    env.git(&repo, &["init", "-q", "-b", "master"]);
    let stream_path = base.join("fast-import.stream");
    {
        let mut s = std::io::BufWriter::new(
            std::fs::File::create(&stream_path).expect("fast-import stream"),
        );
        let msg = format!("Add {n} tracks\n");
        write!(
            s,
            "commit refs/heads/master\ncommitter Bench DJ <bench@example.invalid> 1700000000 +0000\ndata {}\n{msg}\n",
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
    let work_repo = Library::repo(&work_dir);
    let locations: Vec<String> = files
        .iter()
        .map(|f| format!("{}/{f}", work_repo.display()))
        .collect();
    let db = Library::db(&gen_dir);
    create_db(&db, &locations).expect("create the Mixxx database");
    check_db(&db, &locations);

    Library {
        n,
        files,
        keys,
        gen_dir,
        work_dir,
        secs: start.elapsed().as_secs_f64(),
    }
}

/// Bulk-creates the Mixxx database from the real schema, one transaction of plain SQL.
fn create_db(db: &Path, locations: &[String]) -> rusqlite::Result<()> {
    let mut conn = git_mixxx::mixxx::schema::create(db, REVISION)?;
    let tx = conn.transaction()?;
    {
        let columns: Vec<&str> = SINGLE_FIELDS
            .iter()
            .map(|f| {
                fields::SINGLE
                    .iter()
                    .find(|(name, _)| name == f)
                    .map(|(_, column)| *column)
                    .expect("a mapped field")
            })
            .collect();
        let placeholders: Vec<String> = (0..columns.len()).map(|i| format!("?{}", i + 4)).collect();
        let mut insert_location = tx.prepare(
            "INSERT INTO track_locations (id, location, filename, directory, filesize, fs_deleted, needs_verification) \
             VALUES (?1, ?2, ?3, ?4, 30000000, 0, 0)",
        )?;
        let mut insert_track = tx.prepare(&format!(
            "INSERT INTO library (id, location, key_id, datetime_added, mixxx_deleted, played, filetype, \
             duration, samplerate, channels, bitrate, {}) \
             VALUES (?1, ?1, ?2, '2024-01-01T12:00:00.000Z', 0, 0, 'flac', 240.0, 44100, 2, ?3, {})",
            columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            placeholders.join(", ")
        ))?;
        let mut insert_member =
            tx.prepare("INSERT INTO crate_tracks (crate_id, track_id) VALUES (?1, ?2)")?;
        let mut insert_entry = tx.prepare(
            "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
             VALUES (?1, ?2, ?3, '2024-01-01T12:00:00.000Z')",
        )?;
        let mut crates: HashMap<String, i64> = HashMap::new();
        let mut playlists: HashMap<String, (i64, i64)> = HashMap::new();
        let mut next_position: i64 = tx.query_row(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM Playlists",
            [],
            |r| r.get(0),
        )?;
        for (i, location) in locations.iter().enumerate() {
            let id = i as i64 + 1;
            let v = values(i);
            for field in v.keys() {
                assert!(
                    SINGLE_FIELDS.contains(&field.as_str()) || fields::is_set_field(field),
                    "sample_values yields `{field}`, which the generator does not write"
                );
            }
            let (directory, filename) = location.rsplit_once('/').expect("absolute location");
            insert_location.execute(params![id, location, filename, directory])?;
            let one = |f: &str| v.get(f).and_then(|s| s.iter().next()).map(String::as_str);
            let mut row: Vec<Value> = vec![
                Value::Integer(id),
                Value::Integer(fields::key_id(one("key").unwrap_or(""))),
                Value::Integer(900 + (i % 5) as i64 * 10),
            ];
            for field in SINGLE_FIELDS {
                let value = one(field);
                row.push(match field {
                    "rating" => Value::Integer(value.and_then(fields::parse_rating).unwrap_or(0)),
                    "bpm" => Value::Real(value.and_then(fields::parse_bpm).unwrap_or(0.0)),
                    "color" => value
                        .map(|c| Value::Integer(fields::parse_color(c).expect("#RRGGBB")))
                        .unwrap_or(Value::Null),
                    _ => Value::Text(value.unwrap_or("").to_owned()),
                });
            }
            insert_track.execute(rusqlite::params_from_iter(row))?;
            for name in v.get("crate").into_iter().flatten() {
                let crate_id = match crates.get(name) {
                    Some(c) => *c,
                    None => {
                        tx.execute("INSERT INTO crates (name) VALUES (?1)", [name])?;
                        let c = tx.last_insert_rowid();
                        crates.insert(name.clone(), c);
                        c
                    }
                };
                insert_member.execute(params![crate_id, id])?;
            }
            for name in v.get("playlist").into_iter().flatten() {
                let entry = match playlists.get_mut(name) {
                    Some(e) => e,
                    None => {
                        tx.execute(
                            "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
                             VALUES (?1, ?2, 0, '2024-01-01 12:00:00', '2024-01-01 12:00:00', 0)",
                            params![name, next_position],
                        )?;
                        next_position += 1;
                        playlists
                            .entry(name.clone())
                            .or_insert((tx.last_insert_rowid(), 0))
                    }
                };
                entry.1 += 1;
                insert_entry.execute(params![entry.0, id, entry.1])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// The generated database reads back, through git-mixxx's own reader, as the sample values.
fn check_db(db: &Path, locations: &[String]) {
    let library = git_mixxx::mixxx::Database::open_read_only(db)
        .and_then(|d| d.read_library())
        .expect("read the generated database");
    assert_eq!(library.revision, REVISION);
    assert_eq!(
        library.tracks.len(),
        locations.len(),
        "tracks in the generated database"
    );
    for (i, track) in library.tracks.iter().enumerate() {
        assert_eq!(track.location, locations[i], "location of track {i}");
        assert_eq!(
            track.row.to_values(),
            values(i),
            "values of track {i} ({})",
            locations[i]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

/// `git annex metadata --json FILE` without the `lastchanged` fields.
fn annex_metadata(env: &Env, repo: &Path, file: &str) -> Values {
    let out = env.git(repo, &["annex", "metadata", "--json", "--", file]);
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("metadata JSON");
    json["fields"]
        .as_object()
        .expect("fields")
        .iter()
        .filter(|(f, _)| !f.ends_with("lastchanged"))
        .map(|(f, vs)| {
            let set = vs
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_str().expect("string").to_owned())
                .collect();
            (f.clone(), set)
        })
        .collect()
}

fn sample_tracks(n: usize) -> Vec<usize> {
    let mut picks = vec![1.min(n - 1), n / 2, n - 1];
    picks.dedup();
    picks
}

/// The branch holds the sample values for a few files (rating, bpm and crate compared), and
/// git finds the repository consistent.
fn check_repo(env: &Env, lib: &Library, repo: &Path, upto: usize, what: &str) {
    for i in sample_tracks(upto) {
        let got = annex_metadata(env, repo, &lib.files[i]);
        let want = values(i);
        for field in ["rating", "bpm", "crate"] {
            assert_eq!(
                got.get(field),
                want.get(field),
                "{what}: `{field}` of {} on the git-annex branch (all fields: {got:?})",
                lib.files[i]
            );
        }
    }
    let fsck = env
        .command(repo, "git", &["fsck", "--no-dangling", "--no-progress"])
        .stdin(Stdio::null())
        .output()
        .expect("git fsck");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert!(
        fsck.status.success() && text.trim().is_empty(),
        "{what}: git fsck --no-dangling in {} is not clean:\n{text}",
        repo.display()
    );
}

fn report(out: &Outcome) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("sync --json: {e}:\n{}{}", out.stdout, out.stderr))
}

fn count(report: &serde_json::Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("report has no `{field}`: {report}"))
}

/// Fails loudly unless the sync report says exactly this happened.
fn expect_report(report: &serde_json::Value, tracks: usize, pushed: usize, pulled: usize) {
    let ok = count(report, "tracks") == tracks as u64
        && count(report, "pushed") == pushed as u64
        && count(report, "pulled") == pulled as u64
        && report["failed"].as_array().is_some_and(Vec::is_empty)
        && report["conflicts"].as_array().is_some_and(Vec::is_empty)
        && report["skipped"].as_object().is_some_and(|s| s.is_empty());
    assert!(
        ok,
        "expected {tracks} tracks, {pushed} pushed, {pulled} pulled, nothing failed or skipped; got {report:#}"
    );
}

/// Ensures git-annex's journal is committed to the branch; `Some` with the measured
/// `git annex merge` when the batch left it uncommitted.
fn commit_journal(env: &Env, repo: &Path) -> Option<Sample> {
    let journal = repo.join(".git/annex/journal");
    let pending = std::fs::read_dir(&journal).is_ok_and(|mut d| d.next().is_some());
    pending.then(|| measure(env, repo, "git", &["annex", "merge", "-q"], None).sample)
}

// ---------------------------------------------------------------------------------------------
/// Removes git-mixxx's recorded no-change shortcut, so the next run does the full check.
fn forget_shortcut(repo: &Path) {
    if let Ok(dir) = std::fs::read_dir(repo.join(".git/mixxx")) {
        for entry in dir.flatten() {
            if entry.path().extension().is_some_and(|e| e == "quiet") {
                std::fs::remove_file(entry.path()).expect("remove the shortcut");
            }
        }
    }
}

/// Sets a file's modification time a minute back (out of git-mixxx's racy window).
fn age(path: &Path) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open to age");
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    file.set_modified(past).expect("set mtime");
}

// Scenarios

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Scenario {
    Generate,
    FirstSync,
    NoChange,
    NoChangeShortcut,
    Hook,
    HookIndexChanged,
    Incremental,
    Pull,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::Generate => "generate library (once, time only)",
            Scenario::FirstSync => "first sync, all tracks",
            Scenario::NoChange => "no-change sync, full check",
            Scenario::NoChangeShortcut => "no-change sync, stat shortcut",
            Scenario::Hook => "hook pre-commit, no change",
            Scenario::HookIndexChanged => "hook pre-commit after `git add` of a text file",
            Scenario::Incremental => "sync after 1% changed in Mixxx",
            Scenario::Pull => "sync pulling 1% changed on branch",
        }
    }
}

/// Track indices of the "1%": one in a hundred, at `offset`.
fn one_percent(n: usize, offset: usize) -> Vec<usize> {
    let picked: Vec<usize> = (0..n).filter(|i| i % 100 == offset % 100).collect();
    if picked.is_empty() { vec![0] } else { picked }
}

fn write_batch(path: &Path, lines: impl Iterator<Item = serde_json::Value>) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("batch input"));
    for line in lines {
        writeln!(w, "{line}").expect("write batch input");
    }
    w.flush().expect("flush batch input");
}

fn batch_line(file: &str, values: &Values) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(f, vs)| (f.clone(), serde_json::json!(vs)))
        .collect();
    serde_json::json!({ "file": file, "fields": fields })
}

fn db_exec(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).expect("open database");
    conn.pragma_update(None, "foreign_keys", false)
        .expect("pragma");
    conn.execute_batch(sql).expect("SQL");
}

type Samples = BTreeMap<Scenario, Vec<Sample>>;

/// One run of every sync scenario on a fresh copy.
fn run_scenarios(env: &Env, lib: &Library, run: usize, samples: &mut Samples) {
    let n = lib.n;
    let dir = &lib.work_dir;
    lib.fresh_copy(dir);
    let repo = Library::repo(dir);
    let db = Library::db(dir);
    let db_arg = db.to_str().expect("utf-8 path");
    let me = env.mixxx();
    let sync = ["sync", "--json", "--db", db_arg];
    let mut add = |s: Scenario, sample: Sample| samples.entry(s).or_default().push(sample);

    let first = measure(env, &repo, me, &sync, None);
    expect_report(&report(&first), n, n, 0);
    add(Scenario::FirstSync, first.sample);
    if run == 0 {
        check_repo(env, lib, &repo, n, "after the first sync");
    }

    // The full check: without the recorded shortcut, every no-change run reads everything.
    for _ in 0..REPEATS {
        forget_shortcut(&repo);
        let again = measure(env, &repo, me, &sync, None);
        let r = report(&again);
        expect_report(&r, n, 0, 0);
        assert!(r["commit"].is_null(), "a no-change sync committed: {r:#}");
        add(Scenario::NoChange, again.sample);
    }
    // The shortcut: once the database and index are older than git-mixxx's racy window, a
    // no-change run records a stat fingerprint and the next ones only compare it.
    age(&db);
    age(&repo.join(".git/index"));
    measure(env, &repo, me, &sync, None);
    for _ in 0..REPEATS {
        let again = measure(env, &repo, me, &sync, None);
        expect_report(&report(&again), n, 0, 0);
        add(Scenario::NoChangeShortcut, again.sample);
    }

    env.git(&repo, &["config", "mixxx.db", db_arg]);
    let hook = ["hook", "pre-commit"];
    let warm = measure(env, &repo, me, &hook, None);
    assert!(
        warm.stderr.trim().is_empty(),
        "the warm-up hook run reported something: {}",
        warm.stderr
    );
    for _ in 0..REPEATS {
        let h = measure(env, &repo, me, &hook, None);
        assert!(
            h.stderr.trim().is_empty(),
            "a no-change hook run reported something: {}",
            h.stderr
        );
        add(Scenario::Hook, h.sample);
    }

    // A commit of something else: the index changed, so the hook's fast path cannot apply.
    std::fs::write(repo.join("notes.txt"), format!("run {run}\n")).expect("write notes");
    env.git(&repo, &["add", "notes.txt"]);
    let h = measure(env, &repo, me, &hook, None);
    assert!(
        h.stderr.trim().is_empty(),
        "the hook after `git add` reported something: {}",
        h.stderr
    );
    add(Scenario::HookIndexChanged, h.sample);

    // 1% of the tracks changed in Mixxx: rating, colour and crates.
    let changed = one_percent(n, 37);
    let ids = changed
        .iter()
        .map(|i| (i + 1).to_string())
        .collect::<Vec<_>>()
        .join(",");
    db_exec(
        &db,
        &format!(
            "BEGIN;
             UPDATE library SET rating = CASE WHEN rating BETWEEN 1 AND 4 THEN rating + 1 ELSE 1 END,
                                color = (COALESCE(color, 0) + 4242) % 16777216 WHERE id IN ({ids});
             INSERT OR IGNORE INTO crates (name) VALUES ('Bench: changed in Mixxx');
             DELETE FROM crate_tracks WHERE track_id IN ({ids});
             INSERT INTO crate_tracks (crate_id, track_id)
               SELECT (SELECT id FROM crates WHERE name = 'Bench: changed in Mixxx'), id
               FROM library WHERE id IN ({ids});
             COMMIT;"
        ),
    );
    let inc = measure(env, &repo, me, &sync, None);
    expect_report(&report(&inc), n, changed.len(), 0);
    add(Scenario::Incremental, inc.sample);

    // 1% of the tracks changed on the branch (as a pull from another clone would bring them).
    let pulled = one_percent(n, 71);
    let input = dir.join("pull.jsonl");
    write_batch(
        &input,
        pulled.iter().map(|&i| {
            let rating = values(i)
                .get("rating")
                .and_then(|r| r.iter().next()?.parse::<usize>().ok())
                .map_or(3, |r| r % 5 + 1);
            let mut v = Values::new();
            v.insert("rating".into(), BTreeSet::from([rating.to_string()]));
            v.insert(
                "crate".into(),
                BTreeSet::from(["Crate 1".to_owned(), "Bench: changed elsewhere".to_owned()]),
            );
            batch_line(&lib.files[i], &v)
        }),
    );
    env.run_with(
        &repo,
        "git",
        &["annex", "metadata", "--batch", "--json"],
        Some(&input),
    );
    commit_journal(env, &repo);
    let pull = measure(env, &repo, me, &sync, None);
    expect_report(&report(&pull), n, 0, pulled.len());
    add(Scenario::Pull, pull.sample);
    if run == 0 {
        let library = git_mixxx::mixxx::Database::open_read_only(&db)
            .and_then(|d| d.read_library())
            .expect("read the database after the pull");
        let i = pulled[pulled.len() / 2];
        let got = &library.tracks[i].row.to_values();
        let want = annex_metadata(env, &repo, &lib.files[i]);
        for field in ["rating", "crate"] {
            assert_eq!(
                got.get(field),
                want.get(field),
                "`{field}` of {} in Mixxx after the pull",
                lib.files[i]
            );
        }
    }
}

/// The comparison: the same values written by `git annex metadata --batch --json` and by
/// git-mixxx's first sync, for the first `m` tracks.
struct Comparison {
    m: usize,
    batch: Sample,
    merge: Option<Sample>,
    mixxx: Sample,
}

fn compare(env: &Env, lib: &Library, m: usize, runs: usize, first_syncs: &[Sample]) -> Comparison {
    let batch_dir = lib.work_dir.with_file_name("batch");
    let input = lib.work_dir.with_file_name("batch.jsonl");
    write_batch(
        &input,
        (0..m).map(|i| batch_line(&lib.files[i], &values(i))),
    );
    let mut batch = Vec::new();
    let mut merges = Vec::new();
    let mut mixxx = Vec::new();
    for run in 0..runs {
        eprintln!("  N={} batch comparison, run {}", lib.n, run + 1);
        lib.fresh_copy(&batch_dir);
        let repo = Library::repo(&batch_dir);
        let out = measure(
            env,
            &repo,
            "git",
            &["annex", "metadata", "--batch", "--json"],
            Some(&input),
        );
        let lines = out.stdout.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(
            lines, m,
            "git annex metadata --batch answered {lines} lines"
        );
        batch.push(out.sample);
        let merge = commit_journal(env, &repo);
        let had_merge = merge.is_some();
        merges.extend(merge);
        if run == 0 {
            check_repo(env, lib, &repo, m, "after git annex metadata --batch");
            let tip_files = env.git(&repo, &["ls-tree", "-r", "--name-only", "git-annex"]);
            let met = tip_files
                .lines()
                .filter(|l| l.ends_with(".log.met"))
                .count();
            assert_eq!(met, m, "metadata logs on the branch after the batch");
            eprintln!(
                "  batch left the journal {}",
                if had_merge {
                    "uncommitted (git annex merge timed too)"
                } else {
                    "committed"
                }
            );
        }

        if m == lib.n {
            continue;
        }
        // git-mixxx on a library of the same m tracks (in the same N-file repository).
        lib.fresh_copy(&lib.work_dir);
        let db = Library::db(&lib.work_dir);
        db_exec(
            &db,
            &format!(
                "DELETE FROM library WHERE id > {m};
                 DELETE FROM track_locations WHERE id > {m};
                 DELETE FROM crate_tracks WHERE track_id > {m};
                 DELETE FROM PlaylistTracks WHERE track_id > {m};
                 VACUUM;"
            ),
        );
        let db_arg = db.to_str().expect("utf-8 path");
        let out = measure(
            env,
            &Library::repo(&lib.work_dir),
            env.mixxx(),
            &["sync", "--json", "--db", db_arg],
            None,
        );
        expect_report(&report(&out), m, m, 0);
        mixxx.push(out.sample);
    }
    let _ = std::fs::remove_file(&input);
    if m == lib.n {
        mixxx = first_syncs.to_vec();
    }
    Comparison {
        m,
        batch: median_sample(&batch),
        merge: (!merges.is_empty()).then(|| median_sample(&merges)),
        mixxx: median_sample(&mixxx),
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn median_sample(samples: &[Sample]) -> Sample {
    Sample {
        secs: median(samples.iter().map(|s| s.secs).collect()),
        rss_kb: median(samples.iter().map(|s| s.rss_kb as f64).collect()) as u64,
        objects: median(samples.iter().map(|s| s.objects as f64).collect()) as i64,
    }
}

fn time(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

fn mb(bytes: f64) -> String {
    let m = bytes / (1024.0 * 1024.0);
    if bytes == 0.0 {
        "0".to_owned()
    } else if m.abs() < 0.01 {
        format!("{}0.01", if m < 0.0 { ">-" } else { "<" })
    } else if m.abs() < 1.0 {
        format!("{m:.2}")
    } else if m.abs() < 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.0}")
    }
}

fn cell(s: &Sample) -> String {
    format!(
        "{} / {} / {}",
        time(s.secs),
        mb(s.rss_kb as f64 * 1024.0),
        mb(s.objects as f64)
    )
}

fn machine(env: &Env) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("?".to_owned(), |kb| {
            format!("{:.1} GiB", kb / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let tmp = std::env::temp_dir();
    let annex = env.run(&tmp, "git", &["annex", "version", "--raw"]);
    let git = env.run(&tmp, "git", &["--version"]);
    format!(
        "machine: {cores} cores (nproc), {model}, {mem_gb} RAM; git-annex {}; {}",
        annex.trim(),
        git.trim()
    )
}

fn print_table(headers: &[String], rows: &[(String, Vec<String>)]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (_, cells) in rows {
        for (i, c) in cells.iter().enumerate() {
            widths[i + 1] = widths[i + 1].max(c.chars().count());
        }
    }
    for (label, _) in rows {
        widths[0] = widths[0].max(label.chars().count());
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(headers.iter().map(String::as_str).collect());
    println!(
        "|{}|",
        widths
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 {
                format!(":{}", "-".repeat(w + 1))
            } else {
                format!("{}:", "-".repeat(w + 1))
            })
            .collect::<Vec<_>>()
            .join("|")
    );
    for (label, cells) in rows {
        let mut all = vec![label.as_str()];
        all.extend(cells.iter().map(String::as_str));
        line(all);
    }
}

/// The git-mixxx binary to measure: the one `cargo bench` built (building it when missing),
/// copied so that a concurrent rebuild cannot swap it mid-run.
fn binary(root: &Path) -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_git-mixxx"));
    if !built.exists() {
        eprintln!("building {} (cargo build --release)", built.display());
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--bin", "git-mixxx"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build");
        assert!(status.success(), "cargo build --release failed");
    }
    let bin_dir = root.join("bin");
    std::fs::create_dir_all(&bin_dir).expect("bin dir");
    let copy = bin_dir.join("git-mixxx");
    std::fs::copy(&built, &copy).expect("copy git-mixxx");
    copy
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(MEASURE_CHILD) {
        measure_child(&argv[2..]);
    }
    let args = parse_args();
    let (_tmp, root) = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).expect("create --keep DIR");
            (
                None,
                std::fs::canonicalize(dir).expect("canonical --keep DIR"),
            )
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("git-mixxx-bench-")
                .tempdir()
                .expect("temp dir");
            let root = std::fs::canonicalize(tmp.path()).expect("canonical temp dir");
            (Some(tmp), root)
        }
    };
    let bin = binary(&root);
    let home = root.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let env = Env {
        home,
        path: format!(
            "{}:{}",
            bin.parent().expect("bin dir").display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        bin,
    };
    let machine = machine(&env);
    eprintln!("sync bench in {}", root.display());

    let mut columns: Vec<(usize, Samples)> = Vec::new();
    let mut comparisons: Vec<(usize, Comparison)> = Vec::new();
    for &n in &args.tracks {
        eprintln!("N={n}: generating");
        let lib = generate(&env, &root, n);
        eprintln!("N={n}: generated in {}", time(lib.secs));
        let mut samples = Samples::new();
        samples.insert(
            Scenario::Generate,
            vec![Sample {
                secs: lib.secs,
                rss_kb: 0,
                objects: 0,
            }],
        );
        for run in 0..args.runs {
            eprintln!("  N={n} run {}", run + 1);
            run_scenarios(&env, &lib, run, &mut samples);
        }
        if args.batch_compare > 0 {
            let m = n.min(args.batch_compare);
            let firsts = samples[&Scenario::FirstSync].clone();
            comparisons.push((n, compare(&env, &lib, m, args.runs, &firsts)));
        }
        debug_assert_eq!(lib.keys.len(), n);
        columns.push((n, samples));
    }

    println!(
        "\ngit-mixxx sync benchmark: median of {} run(s); cells: wall time / peak RSS MB / .git/objects growth MB",
        args.runs
    );
    println!(
        "(no-change rows: {REPEATS} consecutive runs per run; the hook after one warm-up run)\n"
    );
    let mut headers = vec!["scenario".to_owned()];
    headers.extend(columns.iter().map(|(n, _)| format!("N={n}")));
    let scenarios = [
        Scenario::Generate,
        Scenario::FirstSync,
        Scenario::NoChange,
        Scenario::NoChangeShortcut,
        Scenario::Hook,
        Scenario::HookIndexChanged,
        Scenario::Incremental,
        Scenario::Pull,
    ];
    let rows: Vec<(String, Vec<String>)> = scenarios
        .iter()
        .map(|s| {
            let cells = columns
                .iter()
                .map(|(_, samples)| {
                    let m = median_sample(&samples[s]);
                    if *s == Scenario::Generate {
                        time(m.secs)
                    } else {
                        cell(&m)
                    }
                })
                .collect();
            (s.label().to_owned(), cells)
        })
        .collect();
    print_table(&headers, &rows);
    if !comparisons.is_empty() {
        println!();
    }
    for (n, c) in &comparisons {
        let merge_secs = c.merge.map_or(0.0, |s| s.secs);
        let batch_total = c.batch.secs + merge_secs;
        let merge = c.merge.map_or(String::new(), |s| {
            format!(" + git annex merge {}", cell(&s))
        });
        println!(
            "N={n}, {} tracks: git annex metadata --batch --json {}{merge} vs git-mixxx first sync {}: ratio {:.1}x (batch time / git-mixxx time)",
            c.m,
            cell(&c.batch),
            cell(&c.mixxx),
            batch_total / c.mixxx.secs
        );
    }
    println!("\n{machine}");
    if args.keep.is_some() {
        println!("repositories kept in {}", root.display());
    }
}

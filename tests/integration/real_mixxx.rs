//! A library the real Mixxx 2.3.3 wrote (Debian bookworm's `mixxx` package, headless under
//! Xvfb) round-trips through push then pull into another clone: the cues and the analysis
//! Mixxx itself wrote arrive unchanged, and so do the plays and history sessions it recorded.
//!
//! Runs only with `GIT_MIXXX_REAL_MIXXX=1` (CI sets it; it needs `mixxx`, `xvfb-run`, `xauth`,
//! `xdotool` and `sox`). How Mixxx is driven: a track given on its command line is loaded into
//! a deck, which runs the analysers (beats, key, silence: main cue, intro, outro and the
//! audible-sound marker); the default keyboard mapping sets hot cues on deck 1 (`z`, `x`) and
//! jumps by beats (`s`), plays deck 2 (`l`) and deck 1 (`d`); `Ctrl+Q` quits, which saves
//! every loaded track to the database (and asks first while a deck plays). On a
//! first start Mixxx asks for the music directory (dismissed, or given through its
//! `directories` table) and, without a sound card, says it has no output device (continued).

use crate::laptops::*;
use crate::util::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The real Mixxx tests run only when this is `1`.
pub fn enabled() -> bool {
    std::env::var_os("GIT_MIXXX_REAL_MIXXX").is_some_and(|v| v == "1")
}

/// Runs inside `xvfb-run`: `SETTINGS analyse N FILE…` loads the files into decks, waits until
/// the N tracks are analysed, presses hot cue and beat jump keys and quits; `SETTINGS play
/// FILE` loads the file (into deck 2), waits until it is analysed, plays it for a few seconds
/// (`l`; Mixxx counts a play when a deck plays audibly, checking every 2 s) and quits;
/// `SETTINGS history` goes down the library's sidebar to History (the item after Recordings,
/// whose folder Mixxx logs), opens it, goes down its sessions until one with tracks shows,
/// loads its first track into deck 1 and plays it (keys of `Custom.kbd.cfg`, [`HISTORY_KEYS`]);
/// `SETTINGS scan` waits for the library scan Mixxx starts (`RescanOnStartup`) and quits;
/// `SETTINGS start` quits as soon as Mixxx runs. Meanwhile it dismisses the dialogs of a first
/// start without a sound card, and confirms quitting while a deck plays. Each step waits for a
/// window or a line in `mixxx.log` (flushed at every message), bounded by the `timeout` around
/// `xvfb-run`.
const DRIVER: &str = r#"
settings=$1; mode=$2; shift 2
n=1
if [ "$mode" = analyse ]; then n=$1; shift; fi
log="$settings/mixxx.log"
rm -f "$log"
mixxx --settingsPath "$settings/" --logFlushLevel debug "$@" >"$settings/stdout.txt" 2>&1 &
pid=$!
visible() { xdotool search --onlyvisible --name "$1" 2>/dev/null | head -n 1; }
ready() {
  grep -q '^Debug \[Main\]: Running Mixxx' "$log" 2>/dev/null || return 1
  case $mode in
    analyse|play) [ "$(grep -c 'Key Histogram' "$log")" -ge "$n" ] ;;
    scan) grep -q 'Scan finished cleanly' "$log" ;;
  esac
}
until ready; do
  kill -0 $pid 2>/dev/null || { echo "Mixxx exited before it was ready"; exit 1; }
  w=$(visible 'Choose music library directory')
  if [ -n "$w" ]; then xdotool key --window "$w" Escape; fi
  w=$(visible 'No Output Devices')
  if [ -n "$w" ]; then xdotool key --window "$w" Return; fi
  sleep 0.3
done
sleep 2
main=$(visible '^Mixxx$')
xdotool windowfocus --sync "$main"
if [ "$mode" = analyse ]; then
  for key in z s x s s c m k comma; do xdotool key $key; sleep 1; done
fi
if [ "$mode" = play ]; then
  xdotool key l; sleep 6; xdotool key l; sleep 1
fi
if [ "$mode" = history ]; then
  more() { [ "$(grep -c "$1" "$log")" -gt "$2" ]; }
  press() {
    seen=$(grep -c "$1" "$log"); shift; i=0
    until more "$pattern" "$seen" || [ $i -ge 15 ]; do xdotool key "$@"; sleep 0.7; i=$((i + 1)); done
  }
  pattern='Recordings folder set'; press "$pattern" F5
  xdotool key F5; sleep 0.7; xdotool key F6; sleep 0.7
  pattern='PlaylistTableModel.*select() took [0-9]* ms [1-9]'; press "$pattern" F5
  pattern='slotLoadTrack "\[Channel1\]" Track('; press "$pattern" F7 F8
  xdotool key d; sleep 6; xdotool key d; sleep 1
fi
while kill -0 $pid 2>/dev/null; do
  xdotool key ctrl+q
  sleep 0.5
  w=$(visible 'Confirm Exit')
  if [ -n "$w" ]; then xdotool key --window "$w" alt+y; fi
  i=0
  while [ $i -lt 50 ] && kill -0 $pid 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
done
wait $pid
"#;

/// The keys the `history` driver presses, added to Mixxx's default keyboard mapping in the
/// settings directory's `Custom.kbd.cfg` (which Mixxx prefers to its own): down the sidebar,
/// open or close its item, down the track list, load the selected track into the first
/// stopped deck.
const HISTORY_KEYS: &str = "\n[Playlist]\nSelectNextPlaylist F5\nToggleSelectedSidebarItem F6\n\
     SelectNextTrack F7\nLoadSelectedIntoFirstStopped F8\n";

/// One real Mixxx at a time: two started at once race for an X display (`xvfb-run -a`), and
/// one of them may exit before its window shows.
static ONE_MIXXX: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the real Mixxx with settings directory `settings` and driver arguments `args`; a
/// Mixxx that exits before it is ready (nothing logged) is started again, twice at most.
fn run_mixxx(env: &Env, settings: &Path, args: &[&str]) {
    let _one = ONE_MIXXX.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(settings).expect("settings directory");
    let settings = settings.to_str().expect("utf-8 path");
    let mut all = vec!["120", "xvfb-run", "-a", "sh", "-c", DRIVER, "sh", settings];
    all.extend_from_slice(args);
    let start = Instant::now();
    let mut attempt = 0;
    let out = loop {
        attempt += 1;
        let out = env
            .command(&env.root, "timeout", &all)
            .env("QT_QPA_PLATFORM", "xcb")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run xvfb-run (apt-get install mixxx xvfb xauth xdotool sox)");
        let early = text(&out).contains("Mixxx exited before it was ready");
        if out.status.success() || !early || attempt == 3 {
            break out;
        }
        eprintln!("real Mixxx {args:?}: exited before it was ready, starting it again");
    };
    let log = std::fs::read_to_string(Path::new(settings).join("mixxx.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    assert!(
        out.status.success(),
        "real Mixxx {args:?}: {}\nmixxx.log ends:\n{}",
        text(&out),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    eprintln!(
        "real Mixxx {args:?}: {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// A fresh database at `settings/mixxxdb.sqlite` in which the real Mixxx analysed `files`
/// (absolute paths; at most four, one per deck). The hot cue keys pressed on deck 1 (`z`,
/// beat jump `s`, `x`) usually set hot cues 1 and 2 on the first file, but Mixxx does not
/// take every key press Xvfb delivers, so callers must not count on them.
pub fn analysed(env: &Env, settings: &Path, files: &[PathBuf]) -> PathBuf {
    assert!(!files.is_empty() && files.len() <= 4, "one file per deck");
    let n = files.len().to_string();
    let mut args = vec!["analyse", n.as_str()];
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8 path")));
    run_mixxx(env, settings, &args);
    settings.join("mixxxdb.sqlite")
}

/// A fresh database at `settings/mixxxdb.sqlite` in which the real Mixxx scanned `dir` (its
/// music directory) and found its `files` tracks, analysing nothing: one start creates the
/// database, then `dir` goes into its `directories` table and the next starts rescan. Mixxx
/// sometimes runs an empty scan first and fails the next ("needed SqlQuerys have not been
/// prepared"), so it is started again until its library holds the files (three times at most).
pub fn scanned(env: &Env, settings: &Path, dir: &Path, files: usize) -> PathBuf {
    run_mixxx(env, settings, &["start"]);
    let db = settings.join("mixxxdb.sqlite");
    db_exec(
        &db,
        &format!(
            "INSERT INTO directories (directory) VALUES ('{}')",
            dir.display()
        ),
    );
    let cfg = settings.join("mixxx.cfg");
    let mut text = std::fs::read_to_string(&cfg).expect("mixxx.cfg");
    text.push_str("\n[Library]\nRescanOnStartup 1\n");
    std::fs::write(&cfg, text).expect("write mixxx.cfg");
    let found = || {
        rows(
            &db,
            "SELECT location FROM track_locations WHERE fs_deleted = 0",
        )
        .len()
    };
    for _ in 0..3 {
        run_mixxx(env, settings, &["scan"]);
        if found() >= files {
            break;
        }
    }
    assert_eq!(found(), files, "Mixxx's scan of {}", dir.display());
    db
}

/// The rows of `sql` on `db`, each column rendered with its SQLite type (a real with all its
/// digits, a blob in hex), one line per row, sorted.
fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let n = stmt.column_count();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    use rusqlite::types::ValueRef;
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => "null".to_owned(),
                        ValueRef::Integer(v) => format!("integer {v}"),
                        ValueRef::Real(v) => format!("real {v:?}"),
                        ValueRef::Text(t) => format!("text {:?}", String::from_utf8_lossy(t)),
                        ValueRef::Blob(b) => format!(
                            "blob {}",
                            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                        ),
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(|v| v.join(" | "))
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    rows.sort();
    rows
}

/// The cues of the track at `location` whose `type` is in `types`.
fn cues(db: &Path, location: &str, types: &str) -> Vec<String> {
    rows(
        db,
        &format!(
            "SELECT type, hotcue, position, length, color, label FROM cues \
             WHERE track_id = {} AND type IN ({types})",
            track(location)
        ),
    )
}

/// The synced cue types: hot cue, main cue, loop, jump, intro, outro.
const SYNCED: &str = "1, 2, 4, 5, 6, 7";

/// The track's analysis columns: `columns` of `library`.
fn analysis(db: &Path, location: &str, columns: &str) -> Vec<String> {
    rows(
        db,
        &format!(
            "SELECT {columns} FROM library WHERE id = {}",
            track(location)
        ),
    )
}

/// Key and BPM columns.
const KEY_BPM: &str = "bpm, key, key_id";
/// The beat grid columns.
const GRID: &str = "beats, beats_version, beats_sub_version, bpm_lock";

/// Everything of A's library and cues a push must leave alone.
fn snapshot(db: &Path) -> Vec<String> {
    let mut all = rows(
        db,
        "SELECT id, bpm, key, key_id, beats, beats_version, beats_sub_version, bpm_lock, \
         rating, color, location FROM library",
    );
    all.extend(rows(db, "SELECT * FROM cues"));
    all
}

/// Writes a click track: `seconds` of a short 80 Hz burst every `period` seconds, after
/// `lead` seconds of silence and before `tail` seconds of silence (so that the silence
/// analyser places the main cue, intro and outro inside the track).
fn click_track(env: &Env, path: &Path, period: f64, beats: u32, lead: f64, tail: f64) {
    let beat = path.with_extension("beat.wav");
    let (beat_s, path_s) = (beat.to_str().unwrap(), path.to_str().unwrap());
    let rest = format!("{}", period - 0.05);
    env.run(
        &env.root,
        "sox",
        &[
            "-n", "-r", "44100", "-c", "2", beat_s, "synth", "0.05", "sine", "80", "fade", "0",
            "0.05", "0.04", "pad", "0", &rest,
        ],
    );
    let (repeat, lead, tail) = ((beats - 1).to_string(), lead.to_string(), tail.to_string());
    env.run(
        &env.root,
        "sox",
        &[beat_s, path_s, "repeat", &repeat, "pad", &lead, &tail],
    );
    std::fs::remove_file(&beat).expect("remove beat");
}

// Laptop A's Mixxx (the real Mixxx 2.3.3) analyses two click tracks (120 and 133⅓ BPM) and
// takes hot cue key presses, and the DJ adds a hot cue and a loop as Mixxx's CueDAO writes
// them; laptop B's Mixxx scanned the same files and knows nothing about them. After `git mixxx
// sync` on A, `git annex sync` and `git mixxx sync` on B, B holds A's cues of every synced type
// exactly (position and length with their SQLite types, colour, label), A's key, exact BPM
// (133⅓ too) and beat grid byte for byte; the audible-sound markers (type 8) stay on A. The
// push left A's database as Mixxx wrote it; a second sync on either laptop has nothing to do.
#[test]
fn a_library_the_real_mixxx_wrote_round_trips_unchanged() {
    if !enabled() {
        eprintln!("skipped: set GIT_MIXXX_REAL_MIXXX=1 to run the real Mixxx 2.3.3");
        return;
    }
    let start = Instant::now();
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let files = ["music/Four to the floor.flac", "music/Fast/b.flac"];
    for f in files {
        std::fs::create_dir_all(a.join(f).parent().unwrap()).unwrap();
    }
    click_track(&env, &a.join(files[0]), 0.5, 60, 1.3, 2.0);
    click_track(&env, &a.join(files[1]), 0.45, 60, 0.7, 1.5);
    env.git(&a, &["annex", "add", "-q", "--", files[0], files[1]]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);

    let paths: Vec<PathBuf> = files.iter().map(|f| a.join(f)).collect();
    let db_a = analysed(&env, &env.root.join("mixxx-a"), &paths);
    let db_b = scanned(
        &env,
        &env.root.join("mixxx-b"),
        &b.join("music"),
        files.len(),
    );
    let (at_a, at_b): (Vec<String>, Vec<String>) =
        files.iter().map(|f| (loc(&a, f), loc(&b, f))).unzip();

    // What the real Mixxx wrote: schema 32, a beat grid, key and BPM for every track, the
    // main cue, intro, outro and sound markers (and, usually, the hot cues keyed on deck 1).
    assert_eq!(
        rows(
            &db_a,
            "SELECT value FROM settings WHERE name = 'mixxx.schema.version'"
        ),
        ["text \"32\""]
    );
    for location in &at_a {
        let row = analysis(
            &db_a,
            location,
            "beats_version, typeof(beats), bpm > 0, key_id",
        );
        assert_eq!(row.len(), 1, "{location} in A's Mixxx");
        assert!(
            row[0].starts_with("text \"BeatGrid-2.0\" | text \"blob\" | integer 1 | integer "),
            "{row:?}"
        );
        let types = rows(
            &db_a,
            &format!(
                "SELECT DISTINCT type FROM cues WHERE track_id = {}",
                track(location)
            ),
        );
        for t in [2, 6, 7, 8] {
            assert!(
                types.contains(&format!("integer {t}")),
                "{location}: {types:?}"
            );
        }
    }
    let mixxx_hot_cues = cues(&db_a, &at_a[0], "1").len();
    // The DJ's own preparation on the second track, written as Mixxx's CueDAO writes a cue
    // (`position` and `length` bound as doubles: a whole number is stored as an integer, a
    // fraction as a real): a labelled hot cue between two samples and a saved loop.
    db_exec(
        &db_a,
        &format!(
            "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
             VALUES ({0}, 1, 1234567.5, 0.0, 2, 'Drop ♪', 16711680), \
                    ({0}, 4, 705600.0, 88200.0, 3, 'Loop', 255)",
            track(&at_a[1])
        ),
    );
    for location in &at_a {
        eprintln!(
            "A's Mixxx, {location}:\n  {:?}\n  {:#?}",
            analysis(&db_a, location, &format!("{KEY_BPM}, {GRID}")),
            cues(&db_a, location, "0, 1, 2, 3, 4, 5, 6, 7, 8")
        );
    }
    for location in &at_b {
        assert_eq!(
            analysis(&db_b, location, "bpm, key_id, beats"),
            ["real 0.0 | integer 0 | null"],
            "{location} in B's Mixxx, unanalysed"
        );
        assert!(cues(&db_b, location, "1, 2, 3, 4, 5, 6, 7, 8").is_empty());
    }

    let before = snapshot(&db_a);
    let report = env.sync(&a, &db_a, &[]);
    assert_eq!(report["pushed"], 2, "{report}");
    assert_eq!(report["pushed_fields"]["cue"], 2, "{report}");
    assert_eq!(
        snapshot(&db_a),
        before,
        "the push left A's Mixxx as Mixxx wrote it"
    );
    env.annex_sync(&a);
    env.annex_sync(&b);
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["pulled"], 2, "{report}");

    for (at_a, at_b) in at_a.iter().zip(&at_b) {
        assert_eq!(
            cues(&db_b, at_b, SYNCED),
            cues(&db_a, at_a, SYNCED),
            "{at_a}"
        );
        assert_eq!(
            cues(&db_b, at_b, "8"),
            Vec::<String>::new(),
            "type 8 stays local"
        );
        assert_eq!(
            analysis(&db_b, at_b, KEY_BPM),
            analysis(&db_a, at_a, KEY_BPM),
            "{at_a}"
        );
        assert_eq!(
            analysis(&db_b, at_b, GRID),
            analysis(&db_a, at_a, GRID),
            "{at_a}"
        );
    }
    eprintln!("hot cues the real Mixxx set from key presses: {mixxx_hot_cues}");
    assert_settled(&env, &a, &db_a);
    assert_settled(&env, &b, &db_b);
    assert_eq!(snapshot(&db_a), before);
    eprintln!(
        "real Mixxx round trip: {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

// A new laptop: the real Mixxx 2.3.3 creates an empty database; `git mixxx sync` fills it with
// the two tracks whose content is here and A's values; then the real Mixxx opens it and
// rescans its library folders: each track is there once, with the values git-mixxx wrote, and
// the next sync has nothing to push. `git mixxx launch` starts the real Mixxx (headless, via
// `mixxx.command`) and syncs around it.
#[test]
fn the_real_mixxx_rescans_a_filled_database_without_duplicates() {
    if !enabled() {
        eprintln!("skipped: set GIT_MIXXX_REAL_MIXXX=1 to run the real Mixxx 2.3.3");
        return;
    }
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let files = ["music/Warm up.flac", "music/Peak/b.flac"];
    for (i, f) in files.iter().enumerate() {
        std::fs::create_dir_all(a.join(f).parent().unwrap()).unwrap();
        click_track(&env, &a.join(f), 0.5 - 0.05 * i as f64, 20, 0.5, 0.5);
    }
    env.git(&a, &["annex", "add", "-q", "--", files[0], files[1]]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    let db_a = env.root.join("mixxx-a/mixxxdb.sqlite");
    let tracks: Vec<(String, _)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let values = vals(&[
                ("rating", &[["4", "5"][i]]),
                ("crate", &["Tonight"]),
                ("title", &[["Warm up (edit)", "Peak"][i]]),
            ]);
            (loc(&a, f), values)
        })
        .collect();
    create_db(&db_a, 32, &tracks);
    env.sync(&a, &db_a, &[]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);

    let settings = env.root.join("mixxx-b");
    run_mixxx(&env, &settings, &["start"]);
    let db_b = settings.join("mixxxdb.sqlite");
    assert_eq!(rows(&db_b, "SELECT count(*) FROM library"), ["integer 0"]);
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["imported"].as_array().unwrap().len(), 2, "{report}");
    let values = db_values(&db_b);
    let filled = |values: &std::collections::BTreeMap<String, git_mixxx::annex::logmet::Values>| {
        files
            .iter()
            .map(|f| values[&loc(&b, f)].clone())
            .collect::<Vec<_>>()
    };
    let written = filled(&values);
    assert_eq!(written[0]["title"], set_of(&["Warm up (edit)"]));

    // Mixxx opens the filled database and rescans its library folders.
    let cfg = settings.join("mixxx.cfg");
    let mut config = std::fs::read_to_string(&cfg).expect("mixxx.cfg");
    config.push_str("\n[Library]\nRescanOnStartup 1\n");
    std::fs::write(&cfg, config).expect("write mixxx.cfg");
    run_mixxx(&env, &settings, &["scan"]);
    assert_eq!(
        rows(&db_b, "SELECT count(*) FROM library"),
        ["integer 2"],
        "each track once"
    );
    assert_eq!(
        rows(&db_b, "SELECT count(*) FROM track_locations"),
        ["integer 2"]
    );
    assert_eq!(
        rows(&db_b, "SELECT DISTINCT header_parsed FROM library"),
        ["integer 1"]
    );
    assert_eq!(
        filled(&db_values(&db_b)),
        written,
        "Mixxx kept the values git-mixxx wrote"
    );
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["conflicts"], serde_json::json!([]), "{report}");

    // `git mixxx launch` with the real Mixxx (headless: the driver starts it and quits).
    let driver = env.root.join("driver.sh");
    std::fs::write(&driver, DRIVER).unwrap();
    let command = shell_words_join(&[
        "timeout",
        "120",
        "xvfb-run",
        "-a",
        "sh",
        driver.to_str().unwrap(),
        settings.to_str().unwrap(),
        "start",
    ]);
    env.git(&b, &["config", "mixxx.command", &command]);
    let one = ONE_MIXXX.lock().unwrap_or_else(|e| e.into_inner());
    let out = env
        .command(
            &b,
            "git",
            &["mixxx", "launch", "--json", "--db", db_b.to_str().unwrap()],
        )
        .env("QT_QPA_PLATFORM", "xcb")
        .output()
        .unwrap();
    drop(one);
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mixxx_exit_code"], 0, "{doc}");
    assert_eq!(doc["after"]["pushed"], 0, "{doc}");
    assert_eq!(rows(&db_b, "SELECT count(*) FROM library"), ["integer 2"]);
}

/// Words joined into one command line a shell (and shell-words) splits back into them.
fn shell_words_join(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The real Mixxx's play counts and history in the database at `db`: (location, times played)
/// of every track, and each history playlist's name with its entries' locations and times.
fn played(db: &Path) -> (Vec<String>, Vec<String>) {
    let counts = rows(
        db,
        "SELECT tl.location, l.timesplayed FROM library l \
         JOIN track_locations tl ON tl.id = l.location",
    );
    let history = rows(
        db,
        "SELECT p.id, p.name, tl.location, pt.pl_datetime_added FROM Playlists p \
         JOIN PlaylistTracks pt ON pt.playlist_id = p.id JOIN library l ON l.id = pt.track_id \
         JOIN track_locations tl ON tl.id = l.location WHERE p.hidden = 2",
    );
    (counts, history)
}

// Laptop A's real Mixxx plays a track (loaded into a deck, played through key presses long
// enough to count), so that it writes a play and a history entry; after `git mixxx sync`, `git
// annex sync` and `git mixxx sync` on B (whose real Mixxx scanned the same files), B's Mixxx has
// the play and A's session as a history playlist; B's real Mixxx shows it under History: going
// down its sidebar to History and into the first session with tracks, it loads that session's
// track and plays it, which counts as a play of B's in a session of B's own. Those reach A in
// turn, and both laptops end with the two plays and each other's session.
#[test]
fn plays_and_history_the_real_mixxx_wrote_reach_the_other_mixxx() {
    if !enabled() {
        eprintln!("skipped: set GIT_MIXXX_REAL_MIXXX=1 to run the real Mixxx 2.3.3");
        return;
    }
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let files = ["music/Played.flac", "music/Not played.flac"];
    std::fs::create_dir_all(a.join("music")).unwrap();
    click_track(&env, &a.join(files[0]), 0.5, 40, 0.5, 0.5);
    click_track(&env, &a.join(files[1]), 0.45, 40, 0.5, 0.5);
    env.git(&a, &["annex", "add", "-q", "--", files[0], files[1]]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);

    let settings_a = env.root.join("mixxx-a");
    let played_file = a.join(files[0]);
    run_mixxx(&env, &settings_a, &["play", played_file.to_str().unwrap()]);
    let db_a = settings_a.join("mixxxdb.sqlite");
    let (counts, history) = played(&db_a);
    assert_eq!(
        counts,
        [format!("text {:?} | integer 1", loc(&a, files[0]))],
        "the real Mixxx counted the play"
    );
    assert_eq!(
        history.len(),
        1,
        "and logged it in its session: {history:?}"
    );
    let report = env.sync(&a, &db_a, &[]);
    assert_eq!(
        (report["plays"].clone(), report["sessions_pushed"].clone()),
        (1.into(), 1.into()),
        "{report}"
    );
    env.annex_sync(&a);
    env.annex_sync(&b);

    let settings_b = env.root.join("mixxx-b");
    let db_b = scanned(&env, &settings_b, &b.join("music"), files.len());
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["sessions_added"], 1, "{report}");
    let (counts, history) = played(&db_b);
    assert!(
        counts.contains(&format!("text {:?} | integer 1", loc(&b, files[0]))),
        "{counts:?}"
    );
    let at = history[0].rsplit(" | ").next().unwrap().to_owned();
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(
        history[0].contains("(laptop-a)"),
        "named with A's description: {history:?}"
    );

    let keys = std::fs::read_to_string("/usr/share/mixxx/keyboard/en_US.kbd.cfg")
        .expect("Mixxx's keyboard mapping (apt-get install mixxx)");
    std::fs::write(settings_b.join("Custom.kbd.cfg"), keys + HISTORY_KEYS).unwrap();
    run_mixxx(&env, &settings_b, &["history"]);
    let (counts, history) = played(&db_b);
    assert!(
        counts.contains(&format!("text {:?} | integer 2", loc(&b, files[0]))),
        "B's Mixxx played the track of A's session it showed under History: {counts:?}"
    );
    assert_eq!(
        history.len(),
        2,
        "A's session, and B's own with the play: {history:?}"
    );
    assert!(
        history
            .iter()
            .any(|h| h.contains("(laptop-a)") && h.ends_with(&at)),
        "A's session as it came: {history:?}"
    );

    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(
        (report["plays"].clone(), report["sessions_pushed"].clone()),
        (1.into(), 1.into()),
        "{report}"
    );
    env.annex_sync(&b);
    env.annex_sync(&a);
    let report = env.sync(&a, &db_a, &[]);
    assert_eq!(report["sessions_added"], 1, "{report}");
    let (counts, history) = played(&db_a);
    assert!(
        counts.contains(&format!("text {:?} | integer 2", loc(&a, files[0]))),
        "{counts:?}"
    );
    assert!(
        history.iter().any(|h| h.contains("(laptop-b)")),
        "{history:?}"
    );
    assert_settled(&env, &a, &db_a);
    assert_settled(&env, &b, &db_b);
}

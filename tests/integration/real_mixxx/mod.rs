//! The real Mixxx, headless under Xvfb and driven with xdotool: Mixxx 2.3.3 (Debian 12's
//! `mixxx` package, schema revision 32) on the machine, and Mixxx 2.5.0 (Debian 13's, revision
//! 39) in a Debian 13 chroot (built by `.ci/mixxx-2.5-chroot`, named by
//! `GIT_MIXXX_MIXXX25_CHROOT`), whose paths are the machine's: `/proc`, `/dev`, `/sys` and the
//! test's directory are bind-mounted at the same paths for each run of Mixxx and unmounted
//! after it, also when the test fails.
//!
//! Runs only with `GIT_MIXXX_REAL_MIXXX=1` (CI sets it; it needs `mixxx`, `xvfb-run`, `xauth`,
//! `xdotool` and `sox`, and root for the chroot's mounts). How Mixxx is driven: the files given
//! on its command line are loaded into decks (2.3.3 loads the first into deck 2, 2.5.0 into
//! deck 1), which runs the analysers (beats, key, silence: main cue, intro, outro and the
//! audible-sound marker); the default keyboard mapping (`keyboard/en_US.kbd.cfg` of both
//! packages) sets hot cues (deck 1: `z`, `x`, `c`, `v`; deck 2: `m`, `,`, `.`, `/`), jumps by
//! beats (`s`, `k`), sets a loop of four beats (`q`, `u`); `Ctrl+Q` quits, which saves every
//! loaded track to the database. Mixxx 2.5 starts with the focus in the library's search box,
//! which takes letters: `Escape` twice gives the keys to the decks. On a first start Mixxx asks
//! for the music directory (dismissed; given beforehand through its `directories` table for a
//! start without tracks), without a sound card says it has no output device (continued), and
//! 2.5 asks whether it may hide the menu bar (answered).
//!
//! What the key presses write, as read from the databases the real programs wrote: both
//! versions store each hot cue as type 1 with its slot (0-based) and the deck's last loop as
//! type 4 with hot cue -1 (`loop - POS LEN COLOR` on the branch); a hot cue pressed while a loop
//! is on is a plain hot cue in 2.3.3 and a saved loop (type 4 with the slot) in 2.5.0.

mod library;
mod mixed;

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The real Mixxx tests run only when this is `1`.
pub fn enabled() -> bool {
    std::env::var_os("GIT_MIXXX_REAL_MIXXX").is_some_and(|v| v == "1")
}

/// Runs inside `xvfb-run`: `SETTINGS analyse N FILE…` loads the files into decks, waits until
/// the N tracks are analysed, presses the keys of `$KEYS` and quits; `SETTINGS load N FILE…`
/// waits until the N tracks are loaded (analysed before: the analysers find nothing to do),
/// presses the keys and quits; `SETTINGS scan` waits for the library scan Mixxx starts
/// (`RescanOnStartup`) and quits; `SETTINGS start` quits as soon as Mixxx runs. Meanwhile it
/// dismisses the dialogs of a first start without a sound card. Each step waits for a window or
/// a line in `mixxx.log` (flushed at every message; 2.3.3 writes `Debug [Main]: …`, 2.5.0
/// `TIME Debug [Main] …`), bounded by the `timeout` around `xvfb-run`.
const DRIVER: &str = r#"
settings=$1; mode=$2; shift 2
n=0
if [ "$mode" = analyse ] || [ "$mode" = load ]; then n=$1; shift; fi
log="$settings/mixxx.log"
rm -f "$log"
mixxx --settingsPath "$settings/" --logFlushLevel debug "$@" >"$settings/stdout.txt" 2>&1 &
pid=$!
visible() { xdotool search --onlyvisible --name "$1" 2>/dev/null | head -n 1; }
answer() {
  w=$(xdotool search --name "$1" 2>/dev/null | head -n 1)
  if [ -n "$w" ]; then
    xdotool windowmap "$w" 2>/dev/null
    timeout 2 xdotool windowfocus --sync "$w" 2>/dev/null
    xdotool key "$2"
  fi
}
dismiss() {
  answer 'Choose music library directory' Escape
  answer 'No Output Devices' Return
  answer 'Allow Mixxx to hide the menu bar' Return
}
ready() {
  grep -qE 'Debug \[Main\]:? Running Mixxx$' "$log" 2>/dev/null || return 1
  grep -q 'Denormals to zero mode is working' "$log" || return 1
  [ -n "$(visible '^Mixxx$')" ] || return 1
  case $mode in
    analyse) [ "$(grep -c 'Key Histogram' "$log")" -ge "$n" ] ;;
    load) [ "$(grep -c 'AnalyzerThread - Dequeued next track' "$log")" -ge "$n" ] ;;
    scan) grep -q 'Scan finished cleanly' "$log" ;;
  esac
}
waited=0
until ready; do
  kill -0 $pid 2>/dev/null || { echo "Mixxx exited before it was ready"; exit 1; }
  dismiss
  waited=$((waited + 1))
  if [ $((waited % 20)) = 0 ]; then
    for w in $(xdotool search --onlyvisible --name . 2>/dev/null); do
      echo "$waited: $(xdotool getwindowname "$w")"
    done >"$settings/windows.txt"
  fi
  sleep 0.3
done
# The last dialogs come after: answered, then time for the windows Mixxx makes next.
for i in 1 2 3 4 5 6 7 8 9 10; do dismiss; sleep 0.5; done
sleep 3
main=$(visible '^Mixxx$')
timeout 5 xdotool windowfocus --sync "$main"
if [ "$mode" = analyse ] || [ "$mode" = load ]; then
  for key in $KEYS; do xdotool key $key; sleep 1; done
fi
while kill -0 $pid 2>/dev/null; do
  dismiss
  sleep 2
  main=$(visible '^Mixxx$')
  timeout 5 xdotool windowfocus --sync "$main"
  xdotool key ctrl+q
  i=0
  while [ $i -lt 50 ] && kill -0 $pid 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
done
wait $pid
"#;

/// One real Mixxx at a time: two started at once race for an X display, and one of them may
/// exit before its window shows; the chroot's mounts are made for one run at a time.
static ONE_MIXXX: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A real Mixxx this machine can run.
pub struct Mixxx {
    /// `2.3.3` or `2.5.0`.
    pub version: &'static str,
    /// The schema revision it creates.
    pub revision: i64,
    /// Its Debian 13 chroot (Mixxx 2.5.0); none for the machine's own Mixxx.
    chroot: Option<PathBuf>,
}

impl Mixxx {
    /// The machine's Mixxx 2.3.3, when the real Mixxx tests are on.
    pub fn v2_3() -> Option<Mixxx> {
        if !enabled() {
            eprintln!("skipped: set GIT_MIXXX_REAL_MIXXX=1 to run the real Mixxx 2.3.3");
            return None;
        }
        Some(Mixxx {
            version: "2.3.3",
            revision: 32,
            chroot: None,
        })
    }

    /// Mixxx 2.5.0 in the chroot `GIT_MIXXX_MIXXX25_CHROOT` names, when the real Mixxx tests
    /// are on and it does.
    pub fn v2_5() -> Option<Mixxx> {
        let chroot = std::env::var_os("GIT_MIXXX_MIXXX25_CHROOT").filter(|c| !c.is_empty());
        let Some(chroot) = chroot.filter(|_| enabled()) else {
            eprintln!(
                "skipped: set GIT_MIXXX_REAL_MIXXX=1 and GIT_MIXXX_MIXXX25_CHROOT (the chroot \
                 .ci/mixxx-2.5-chroot prints) to run the real Mixxx 2.5.0"
            );
            return None;
        };
        let chroot = PathBuf::from(chroot);
        assert!(
            chroot.join("usr/bin/mixxx").exists(),
            "{} has no Mixxx: build it with .ci/mixxx-2.5-chroot",
            chroot.display()
        );
        Some(Mixxx {
            version: "2.5.0",
            revision: 39,
            chroot: Some(chroot),
        })
    }

    /// The keys that make Mixxx set hot cues 1 and 2 four beats apart on the first file, then
    /// a loop of four beats four beats later with hot cue 4 pressed while it loops (a saved
    /// loop on 2.5), which stays the track's last loop.
    fn cue_keys(&self) -> &'static str {
        match self.chroot {
            None => "Escape Escape m k comma k u slash",
            Some(_) => "Escape Escape z s x s q v",
        }
    }

    /// The key that sets hot cue 1 on the first file.
    fn hot_cue_key(&self) -> &'static str {
        match self.chroot {
            None => "Escape Escape m",
            Some(_) => "Escape Escape z",
        }
    }

    /// While it lives, this Mixxx may run: the others wait, and the chroot has its mounts.
    pub fn session(&self, env: &Env) -> Session {
        let one = ONE_MIXXX.lock().unwrap_or_else(|e| e.into_inner());
        let mounts = self
            .chroot
            .as_deref()
            .map(|root| Mounts::new(root, &env.root));
        Session {
            _mounts: mounts,
            _one: one,
        }
    }

    /// The command that runs the driver with `args` under Xvfb, in the chroot if there is one,
    /// for at most two minutes.
    pub fn command_line(&self, driver: &str, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        if let Some(root) = &self.chroot {
            let root = root.to_str().expect("utf-8 path");
            all.extend(["/usr/sbin/chroot", root, "/usr/bin/env"].map(String::from));
            all.push("PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin".into());
        }
        // A screen of 24-bit colour: in xvfb-run's default of 8 bits, Mixxx 2.5.0 shows no
        // window on a first start without a track to load.
        let screen = ["-s", "-screen 0 1280x1024x24"];
        all.extend(
            ["timeout", "120", "xvfb-run"]
                .into_iter()
                .chain(screen)
                .map(String::from),
        );
        match &self.chroot {
            // The chroot's /tmp does not show the machine's X locks: a display of its own.
            Some(root) => all.extend(["-n".into(), free_display(root).to_string()]),
            None => all.push("-a".into()),
        }
        all.extend(["sh", "-c", driver, "sh"].map(String::from));
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    /// Runs this Mixxx with settings directory `settings`, driver arguments `args` and keys
    /// `keys`; a Mixxx that exits before it is ready is started again, twice at most.
    fn run(&self, env: &Env, settings: &Path, args: &[&str], keys: &str) {
        let _session = self.session(env);
        std::fs::create_dir_all(settings).expect("settings directory");
        if self.chroot.is_some() {
            show_the_menu_bar(settings);
        }
        let settings_path = settings.to_str().expect("utf-8 path");
        let mut all = vec![settings_path];
        all.extend_from_slice(args);
        let start = Instant::now();
        let mut attempt = 0;
        let out = loop {
            attempt += 1;
            let line = self.command_line(DRIVER, &all);
            let words: Vec<&str> = line.iter().map(String::as_str).collect();
            let out = env
                .command(&env.root, words[0], &words[1..])
                .env("QT_QPA_PLATFORM", "xcb")
                .env("KEYS", keys)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run xvfb-run (apt-get install mixxx xvfb xauth xdotool sox)");
            let early = text(&out).contains("Mixxx exited before it was ready");
            if out.status.success() || !early || attempt == 3 {
                break out;
            }
            eprintln!("real Mixxx {args:?}: exited before it was ready, starting it again");
        };
        let log = std::fs::read_to_string(settings.join("mixxx.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let windows = std::fs::read_to_string(settings.join("windows.txt")).unwrap_or_default();
        assert!(
            out.status.success(),
            "real Mixxx {} {args:?}: {}\nwindows:\n{windows}\nmixxx.log ends:\n{}",
            self.version,
            text(&out),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        eprintln!(
            "real Mixxx {} {args:?}: {:.1} s",
            self.version,
            start.elapsed().as_secs_f64()
        );
    }

    /// Starts Mixxx once with settings directory `settings` (a first start creates its
    /// database and `mixxx.cfg`) and library folder `folder`, as if the DJ had chosen it when
    /// the first start asked: a database that has only Mixxx's `directories` table with the
    /// folder, which Mixxx's schema creates only if missing, keeps Mixxx from asking (Mixxx
    /// 2.5.0 cannot be made to quit while it asks) and from scanning the folder.
    pub fn start(&self, env: &Env, settings: &Path, folder: &Path) -> PathBuf {
        let db = settings.join("mixxxdb.sqlite");
        if !db.exists() {
            std::fs::create_dir_all(settings).expect("settings directory");
            db_exec(
                &db,
                &format!(
                    "CREATE TABLE directories (directory TEXT UNIQUE); \
                     INSERT INTO directories (directory) VALUES ('{}')",
                    folder.display()
                ),
            );
        }
        self.run(env, settings, &["start"], "");
        db
    }

    /// A database at `settings/mixxxdb.sqlite` in which this Mixxx analysed `files` (absolute
    /// paths; at most four, one per deck) and took [`Mixxx::cue_keys`] on the first.
    pub fn analysed(&self, env: &Env, settings: &Path, files: &[PathBuf]) -> PathBuf {
        self.decks(env, settings, "analyse", files, self.cue_keys())
    }

    /// Loads `files` (analysed before) into decks, presses the hot cue 1 key and quits.
    pub fn press_hot_cue(&self, env: &Env, settings: &Path, files: &[PathBuf], analyse: bool) {
        let mode = if analyse { "analyse" } else { "load" };
        self.decks(env, settings, mode, files, self.hot_cue_key());
    }

    /// Loads `files` (analysed before) into decks and quits, pressing nothing.
    pub fn load(&self, env: &Env, settings: &Path, files: &[PathBuf]) {
        self.decks(env, settings, "load", files, "");
    }

    fn decks(
        &self,
        env: &Env,
        settings: &Path,
        mode: &str,
        files: &[PathBuf],
        keys: &str,
    ) -> PathBuf {
        assert!(!files.is_empty() && files.len() <= 4, "one file per deck");
        let n = files.len().to_string();
        let mut args = vec![mode, n.as_str()];
        args.extend(files.iter().map(|f| f.to_str().expect("utf-8 path")));
        self.run(env, settings, &args, keys);
        settings.join("mixxxdb.sqlite")
    }

    /// Mixxx with settings `settings` (started before) rescans its library folders.
    pub fn rescan(&self, env: &Env, settings: &Path) {
        let cfg = settings.join("mixxx.cfg");
        let mut text = std::fs::read_to_string(&cfg).expect("mixxx.cfg");
        if !text.contains("RescanOnStartup 1") {
            text.push_str("\n[Library]\nRescanOnStartup 1\n");
            std::fs::write(&cfg, text).expect("write mixxx.cfg");
        }
        self.run(env, settings, &["scan"], "");
    }

    /// A fresh database at `settings/mixxxdb.sqlite` in which this Mixxx scanned `dir` (its
    /// music directory) and found its `files` tracks, analysing nothing: one start creates the
    /// database with `dir` as its library folder, and the next starts rescan. Mixxx
    /// 2.3.3 sometimes runs an empty scan first and fails the next ("needed SqlQuerys have not
    /// been prepared"), so it is started again until its library holds the files (three times
    /// at most).
    pub fn scanned(&self, env: &Env, settings: &Path, dir: &Path, files: usize) -> PathBuf {
        let db = self.start(env, settings, dir);
        let found = || {
            rows(
                &db,
                "SELECT location FROM track_locations WHERE fs_deleted = 0",
            )
            .len()
        };
        for _ in 0..3 {
            self.rescan(env, settings);
            if found() >= files {
                break;
            }
        }
        assert_eq!(
            found(),
            files,
            "Mixxx {}'s scan of {}",
            self.version,
            dir.display()
        );
        db
    }
}

/// Makes Mixxx 2.5 show its menu bar without asking: it hides it by default (Alt shows it),
/// and a hidden menu bar's shortcuts, `Ctrl+Q` among them, do nothing.
fn show_the_menu_bar(settings: &Path) {
    let cfg = settings.join("mixxx.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap_or_default();
    if text.contains("\nhide_menubar 0\nshow_menubar_hint 0\n") {
        return;
    }
    if text.is_empty() {
        text.push_str("[Config]\nVersion 2.5.0\n");
    } else {
        text.push_str("\n[Config]\n");
    }
    text.push_str("hide_menubar 0\nshow_menubar_hint 0\n");
    std::fs::write(&cfg, text).expect("write mixxx.cfg");
}

/// A display number free on the machine and in `root` (no lock file, no socket in use).
fn free_display(root: &Path) -> u32 {
    let sockets = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    (200..1000)
        .find(|n| {
            let lock = format!("tmp/.X{n}-lock");
            !Path::new("/").join(&lock).exists()
                && !root.join(&lock).exists()
                && !sockets.contains(&format!("/tmp/.X11-unix/X{n}\n"))
        })
        .expect("a free X display")
}

/// While a real Mixxx may run: [`ONE_MIXXX`] held, and the chroot's mounts.
pub struct Session {
    _mounts: Option<Mounts>,
    _one: std::sync::MutexGuard<'static, ()>,
}

/// Bind mounts in a chroot, unmounted in reverse order when dropped.
struct Mounts {
    targets: Vec<PathBuf>,
    /// The mount point made for the test's directory, removed after.
    made: Option<PathBuf>,
}

impl Mounts {
    /// `/proc`, `/dev`, `/sys` and `dir` at the same paths in `root`.
    fn new(root: &Path, dir: &Path) -> Mounts {
        let mut mounts = Mounts {
            targets: Vec::new(),
            made: None,
        };
        let inside = root.join(dir.strip_prefix("/").expect("absolute directory"));
        if !inside.exists() {
            std::fs::create_dir_all(&inside).expect("mount point");
            mounts.made = Some(inside.clone());
        }
        for source in [
            Path::new("/proc"),
            Path::new("/dev"),
            Path::new("/sys"),
            dir,
        ] {
            let target = root.join(source.strip_prefix("/").expect("absolute"));
            let out = Command::new("mount")
                .arg("--bind")
                .arg(source)
                .arg(&target)
                .output()
                .expect("run mount");
            assert!(
                out.status.success(),
                "mount --bind {} {} (the Mixxx 2.5 chroot needs root): {}",
                source.display(),
                target.display(),
                text(&out)
            );
            mounts.targets.push(target);
        }
        mounts
    }
}

impl Drop for Mounts {
    /// Unmounts, waiting a few seconds for the last processes of Xvfb to let go, then
    /// detaching what is still busy.
    fn drop(&mut self) {
        for target in self.targets.iter().rev() {
            let unmounted = (0..20).any(|_| {
                let done = Command::new("umount")
                    .arg(target)
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !done {
                    std::thread::sleep(Duration::from_millis(250));
                }
                done
            });
            if !unmounted {
                let _ = Command::new("umount").arg("-l").arg(target).output();
            }
        }
        if let Some(made) = &self.made {
            let _ = std::fs::remove_dir(made);
        }
    }
}

/// The rows of `sql` on `db`, each column rendered with its SQLite type (a real with all its
/// digits, a blob in hex), one line per row, sorted.
pub fn rows(db: &Path, sql: &str) -> Vec<String> {
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
pub fn cues(db: &Path, location: &str, types: &str) -> Vec<String> {
    rows(
        db,
        &format!(
            "SELECT type, hotcue, position, length, color, label FROM cues \
             WHERE track_id = {} AND type IN ({types})",
            crate::laptops::track(location)
        ),
    )
}

/// The (type, hot cue slot) of the cues of the track at `location` whose type is in `types`.
pub fn cue_kinds(db: &Path, location: &str, types: &str) -> Vec<String> {
    rows(
        db,
        &format!(
            "SELECT type, hotcue FROM cues WHERE track_id = {} AND type IN ({types})",
            crate::laptops::track(location)
        ),
    )
}

/// The synced cue types: hot cue, main cue, loop, jump, intro, outro.
pub const SYNCED: &str = "1, 2, 4, 5, 6, 7";

/// Writes a click track: `seconds` of a short 80 Hz burst every `period` seconds, after
/// `lead` seconds of silence and before `tail` seconds of silence (so that the silence
/// analyser places the main cue, intro and outro inside the track).
pub fn click_track(env: &Env, path: &Path, period: f64, beats: u32, lead: f64, tail: f64) {
    std::fs::create_dir_all(path.parent().expect("folder")).expect("mkdir");
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

/// Words joined into one command line a shell (and shell-words) splits back into them.
pub fn shell_words_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.as_ref().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

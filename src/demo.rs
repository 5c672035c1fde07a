//! `git mixxx demo`: a self-contained demonstration on generated data. It builds a bare "NAS"
//! and two laptop clones with real git and git-annex, a Mixxx database per laptop from the
//! real Mixxx schema, and tells the story a DJ lives: laptop A's first sync, the hooks on both
//! laptops, an edit in A's Mixxx that reaches B's Mixxx through `git annex sync` alone, and a
//! conflict as `git mixxx status` shows it. Every claim it narrates is read back first (from
//! the Mixxx databases, the hooks' own words, the status); a claim that does not hold is an
//! error. It runs git with the repositories' own identity and settings only: the user's
//! global and system git configuration neither affect it nor are touched.

use crate::annex::logmet::Values;
use crate::mixxx::schema;
use crate::mixxx::write::Writer;
use rusqlite::{Transaction, TransactionBehavior, params};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "git-annex is not installed (`git annex version` failed): install it, e.g. `apt-get install git-annex`"
    )]
    NoAnnex,
    #[error(
        "{0} is not an empty directory: give a new or empty directory for the demo, or none for a new temporary one"
    )]
    NotEmpty(PathBuf),
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("creating a Mixxx database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("creating a Mixxx database: {0}")]
    Write(#[from] crate::mixxx::write::Error),
    #[error("opening the repository {0}: {1}")]
    Open(PathBuf, gix::Error),
    #[error("installing the hooks: {0}")]
    Hooks(#[from] crate::hooks::Error),
    #[error(
        "the hooks' background sync in {0} did not finish within a minute; its log is {0}/.git/mixxx/hook.log"
    )]
    Background(PathBuf),
    #[error("the demonstration went wrong: {0}; please report it with the output above")]
    Unexpected(String),
}

/// Realistic mapped values for sample track `i` (ratings, BPM, keys, colours, text with
/// non-ASCII, crates and playlists), used by the demo and the benchmark.
pub fn sample_values(i: usize, crates: usize, playlists: usize) -> Values {
    const KEYS: [&str; 8] = ["Am", "C#m", "Db", "F#m", "G", "Ebm", "B", "Em"];
    const GENRES: [&str; 5] = ["House", "Techno", "Drum & Bass", "Électronique", "Disco"];
    let mut v = Values::new();
    let mut put = |field: &str, value: String| {
        v.insert(field.to_owned(), BTreeSet::from([value]));
    };
    put("artist", format!("Artist {} Ørsted", i % 97));
    put("title", format!("Track {i} (Original Mix)"));
    put("album", format!("Album {}", i % 53));
    put("genre", GENRES[i % GENRES.len()].to_owned());
    put("year", (1990 + i % 35).to_string());
    put("key", KEYS[i % KEYS.len()].to_owned());
    put("bpm", format!("{:.2}", 118.0 + (i % 170) as f64 / 10.0));
    if !i.is_multiple_of(6) {
        put("rating", (i % 5 + 1).to_string());
    }
    if i.is_multiple_of(4) {
        put("color", format!("#{:06X}", (i * 2_654_435_761) % 0xFF_FFFF));
    }
    if crates > 0 {
        let mut set = BTreeSet::from([format!("Crate {}", i % crates)]);
        if i.is_multiple_of(3) {
            set.insert(format!("Crate {}", (i / 3) % crates));
        }
        v.insert("crate".into(), set);
    }
    if playlists > 0 && i.is_multiple_of(2) {
        v.insert(
            "playlist".into(),
            BTreeSet::from([format!("Set {}", i % playlists)]),
        );
    }
    v
}

/// Creates a Mixxx database at `db` (schema revision `revision`) holding `tracks`
/// (absolute location, values), in one transaction.
pub fn create_library(db: &Path, revision: i64, tracks: &[(String, Values)]) -> Result<(), Error> {
    let mut conn = schema::create(db, revision)?;
    let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
    let mut writer = Writer::new(tx, None)?;
    for (location, values) in tracks {
        schema::insert_track(&mut writer, location, values)?;
    }
    writer.commit()?;
    Ok(())
}

/// A demo repository: its path, the name its prompt shows, and git's view of it (for the hooks).
struct Laptop {
    dir: PathBuf,
    name: &'static str,
    repo: gix::Repository,
    db: PathBuf,
}

impl Laptop {
    /// The Mixxx location of track `name` on this laptop.
    fn location(&self, name: &str) -> String {
        format!("{}/{name}", self.dir.display())
    }
}

struct Shell<'n> {
    /// Receives the demonstration's narration, a line or a command's output at a time.
    narrate: &'n mut dyn FnMut(&str),
    /// `PATH` with this git-mixxx's directory first: `git mixxx` and the hooks run it.
    path: OsString,
    /// This git-mixxx, which the hooks run when it is not on `PATH`.
    exe: PathBuf,
}

impl Shell<'_> {
    fn output(&self, dir: &Path, program: &str, args: &[&str]) -> Result<Output, Error> {
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("PATH", &self.path)
            // The repositories' own configuration only (each has its identity): the user's
            // settings (signing, hooks paths, default branch) neither change nor break the demo.
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_MIXXX_DB")
            .output()?;
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("{program} {}", args.join(" ")),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        }
        Ok(out)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Result<String, Error> {
        let out = self.output(dir, "git", args)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn say(&mut self, text: &str) {
        (self.narrate)(text);
    }

    /// Runs `git ARGS` on a laptop, showing the command and its output.
    fn show(&mut self, laptop: &Laptop, args: &[&str]) -> Result<String, Error> {
        let out = self.git(&laptop.dir, args)?;
        self.say(&format!("{}$ git {}", laptop.name, args.join(" ")));
        self.say(out.trim_end_matches('\n'));
        Ok(out)
    }

    /// `git annex sync` on a laptop, as the DJ types it, showing what git-mixxx's hooks said
    /// (on the terminal, or in their log for a run git-annex's lock sent to the background);
    /// returns once the hooks' work is in Mixxx.
    fn annex_sync(&mut self, laptop: &Laptop) -> Result<(), Error> {
        let log = crate::hooks::log_path(&laptop.repo);
        let logged = std::fs::metadata(&log).map_or(0, |m| m.len());
        let out = self.output(&laptop.dir, "git", &["annex", "sync"])?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while crate::hooks::background_running(&laptop.repo) {
            if Instant::now() > deadline {
                return Err(Error::Background(laptop.dir.clone()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.say(&format!("{}$ git annex sync", laptop.name));
        let hooks_said = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("git-mixxx ("))
                .map(str::to_owned)
                .collect()
        };
        for line in hooks_said(&String::from_utf8_lossy(&out.stderr)) {
            self.say(&line);
        }
        let log = std::fs::read(&log).unwrap_or_default();
        let background = usize::try_from(logged)
            .ok()
            .and_then(|from| log.get(from..))
            .unwrap_or_default();
        for line in hooks_said(&String::from_utf8_lossy(background)) {
            self.say(&format!("{line}  (in the background, .git/mixxx/hook.log)"));
        }
        Ok(())
    }

    /// A repository of the demo: cloned from `nas` (or, without it, a bare "NAS"), with its
    /// own identity, annex-initialized as `description`.
    fn repo(
        &self,
        root: &Path,
        name: &str,
        nas: Option<&str>,
        description: &str,
    ) -> Result<PathBuf, Error> {
        match nas {
            Some(nas) => self.git(root, &["clone", "-q", nas, name])?,
            None => self.git(root, &["init", "-q", "--bare", name])?,
        };
        let dir = root.join(name);
        self.git(&dir, &["config", "user.name", "git-mixxx demo"])?;
        self.git(&dir, &["config", "user.email", "demo@example.invalid"])?;
        if nas.is_some() {
            // The hooks go where git of any user runs them, even with a global core.hooksPath.
            self.git(&dir, &["config", "core.hooksPath", ".git/hooks"])?;
        }
        self.git(&dir, &["annex", "init", "-q", description])?;
        Ok(dir)
    }
}

/// The first tracks of a database, a line each; the connection is closed on return (an open
/// one would look like a running Mixxx to the next command).
fn first_rows(db: &Path, n: i64) -> Result<Vec<String>, Error> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare(
        "SELECT tl.filename, l.rating, l.key, l.bpm FROM library l JOIN track_locations tl ON tl.id = l.location ORDER BY l.id LIMIT ?1",
    )?;
    let rows = stmt.query_map([n], |r| {
        Ok(format!(
            "{:<28} rating {} key {:<4} bpm {:.2}",
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, f64>(3)?
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many tracks of a Mixxx database have a rating.
fn rated(db: &Path) -> Result<i64, Error> {
    let conn = rusqlite::Connection::open(db)?;
    Ok(
        conn.query_row("SELECT count(*) FROM library WHERE rating > 0", [], |r| {
            r.get(0)
        })?,
    )
}

/// The rating Mixxx shows for the track at `location`.
fn rating(db: &Path, location: &str) -> Result<i64, Error> {
    let conn = rusqlite::Connection::open(db)?;
    Ok(conn.query_row(
        "SELECT l.rating FROM library l JOIN track_locations tl ON tl.id = l.location WHERE tl.location = ?1",
        [location],
        |r| r.get(0),
    )?)
}

/// Rates the track at `location` as the DJ does in Mixxx.
fn rate(db: &Path, location: &str, stars: i64) -> Result<(), Error> {
    let conn = rusqlite::Connection::open(db)?;
    conn.execute(
        "UPDATE library SET rating = ?2 WHERE location = (SELECT id FROM track_locations WHERE location = ?1)",
        params![location, stars],
    )?;
    Ok(())
}

/// Fails the demonstration when what it is about to claim does not hold.
fn check(holds: bool, what: impl FnOnce() -> String) -> Result<(), Error> {
    if holds {
        Ok(())
    } else {
        Err(Error::Unexpected(what()))
    }
}

/// The demo's root: `dir` when it is empty or missing (then created), a new temporary
/// directory (kept) without one; a directory with something in it, or a file, is refused.
fn root_dir(dir: Option<&Path>) -> Result<PathBuf, Error> {
    let Some(d) = dir else {
        return Ok(tempfile::Builder::new()
            .prefix("git-mixxx-demo-")
            .tempdir()?
            .keep());
    };
    match std::fs::read_dir(d) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::NotEmpty(d.to_owned()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(d)?,
        Err(_) if d.exists() && !d.is_dir() => return Err(Error::NotEmpty(d.to_owned())),
        Err(e) => return Err(e.into()),
    }
    Ok(std::fs::canonicalize(d)?)
}

/// Whether `git-mixxx` is on the user's own `PATH` (the hooks need it there after the demo).
fn on_user_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("git-mixxx").is_file()))
}

/// Runs the demonstration in `dir` (new or empty; default: a new temporary directory that is
/// kept), telling what happens to `narrate`. The hooks run the git-mixxx binary this process
/// runs.
/// The demonstration's tracks: 12 files in three genre folders.
fn track_names() -> Vec<String> {
    (0..12)
        .map(|i| {
            format!(
                "music/{}/Artist {} - Track {i}.flac",
                ["House", "Techno", "Disco"][i % 3],
                i % 97
            )
        })
        .collect()
}

/// The file name of track `i`.
fn file(names: &[String], i: usize) -> String {
    names[i].rsplit('/').next().unwrap_or(&names[i]).to_owned()
}

fn open(dir: &Path) -> Result<gix::Repository, Error> {
    gix::open(dir).map_err(|e| Error::Open(dir.to_owned(), e))
}

/// Chapter 1: the NAS, and laptop A with the music and a rated, keyed, crated Mixxx: its first sync.
fn first_laptop(
    sh: &mut Shell<'_>,
    root: &Path,
    names: &[String],
) -> Result<(String, Laptop), Error> {
    sh.say(
        "\n1. Laptop A: 12 annexed tracks, rated, keyed and crated in its Mixxx (2.3). First sync:",
    );
    let nas = sh.repo(root, "nas.git", None, "nas")?;
    let nas = nas.to_str().unwrap_or("nas.git").to_owned();
    let dir_a = sh.repo(root, "laptop-a", Some(&nas), "laptop A")?;
    for (i, name) in names.iter().enumerate() {
        let path = dir_a.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir_a))?;
        std::fs::write(&path, format!("demo audio {i}\n").repeat(64))?;
    }
    sh.git(&dir_a, &["annex", "add", "-q", "music"])?;
    sh.git(&dir_a, &["commit", "-q", "-m", "Add music"])?;
    let a = Laptop {
        repo: open(&dir_a)?,
        db: root.join("mixxx-a/mixxxdb.sqlite"),
        dir: dir_a,
        name: "laptop-a",
    };
    std::fs::create_dir_all(a.db.parent().unwrap_or(root))?;
    let tracks: Vec<(String, Values)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (a.location(n), sample_values(i, 3, 2)))
        .collect();
    create_library(&a.db, 32, &tracks)?;
    sh.git(&a.dir, &["config", "mixxx.db", &a.db.to_string_lossy()])?;
    sh.show(&a, &["mixxx", "sync"])?;
    sh.show(&a, &["annex", "find", "--metadata", "rating=5"])?;

    Ok((nas, a))
}

/// Chapter 2: laptop B, a clone of the NAS with a Mixxx that has the files, not their
/// metadata; the hooks on both laptops, and B's Mixxx filled through `git annex sync`.
fn second_laptop(
    sh: &mut Shell<'_>,
    root: &Path,
    nas: &str,
    names: &[String],
    a: &Laptop,
) -> Result<Laptop, Error> {
    sh.say("\n2. Laptop B clones the NAS; its Mixxx (2.4) has the files, not the metadata.");
    sh.say("   Both laptops get the hooks, then `git annex sync` on A, then on B:");
    let dir_b = sh.repo(root, "laptop-b", Some(nas), "laptop B")?;
    let b = Laptop {
        repo: open(&dir_b)?,
        db: root.join("mixxx-b/mixxxdb.sqlite"),
        dir: dir_b,
        name: "laptop-b",
    };
    std::fs::create_dir_all(b.db.parent().unwrap_or(root))?;
    let bare: Vec<(String, Values)> = names
        .iter()
        .map(|n| (b.location(n), Values::new()))
        .collect();
    create_library(&b.db, 39, &bare)?;
    sh.git(&b.dir, &["config", "mixxx.db", &b.db.to_string_lossy()])?;
    for laptop in [a, &b] {
        let changes = crate::hooks::install(&laptop.repo, &sh.exe)?;
        let hooks: Vec<String> = changes
            .iter()
            .filter_map(|c| c.path.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        sh.say(&format!("{}$ git mixxx install-hooks", laptop.name));
        sh.say(&format!("hooks: {}", hooks.join(", ")));
    }
    sh.annex_sync(a)?;
    sh.annex_sync(&b)?;
    let (rated_a, rated_b) = (rated(&a.db)?, rated(&b.db)?);
    check(rated_b == rated_a && rated_a > 0, || {
        format!("laptop B's Mixxx rates {rated_b} tracks, laptop A's {rated_a}")
    })?;
    sh.say(&format!(
        "Laptop B's Mixxx now rates {rated_b} of its 12 tracks, as laptop A's does; the first three:"
    ));
    for row in first_rows(&b.db, 3)? {
        sh.say(&format!("  {row}"));
    }

    Ok(b)
}

/// Chapter 3: an edit in A's Mixxx reaches B's Mixxx through the hooks alone.
fn edit_reaches_b(
    sh: &mut Shell<'_>,
    a: &Laptop,
    b: &Laptop,
    names: &[String],
) -> Result<(), Error> {
    let track = file(names, 0);
    sh.say(&format!(
        "\n3. On laptop A the DJ rates \"{track}\" 5 in Mixxx. No `git mixxx` command is typed, the hooks do it:"
    ));
    rate(&a.db, &a.location(&names[0]), 5)?;
    sh.annex_sync(a)?;
    sh.annex_sync(b)?;
    let now = rating(&b.db, &b.location(&names[0]))?;
    check(now == 5, || {
        format!("laptop B's Mixxx rates \"{track}\" {now}, not 5")
    })?;
    sh.say(&format!(
        "Laptop B's Mixxx now rates \"{track}\" {now}: laptop A's edit reached it through the hooks."
    ));

    Ok(())
}

/// Chapter 4: a conflict: both laptops rate a track offline; both end with the newer edit, and
/// `status` keeps the conflict.
fn conflict(sh: &mut Shell<'_>, a: &Laptop, b: &Laptop, names: &[String]) -> Result<(), Error> {
    let track = file(names, 2);
    let (stars_a, stars_b) = (1, 4);
    sh.say(&format!(
        "\n4. A conflict: offline, laptop A rates \"{track}\" {stars_a} and laptop B rates it {stars_b}; then each syncs (A, B, A):"
    ));
    rate(&a.db, &a.location(&names[2]), stars_a)?;
    rate(&b.db, &b.location(&names[2]), stars_b)?;
    sh.annex_sync(a)?;
    sh.annex_sync(b)?;
    sh.annex_sync(a)?;
    let status = sh.show(b, &["mixxx", "status"])?;
    let (now_a, now_b) = (
        rating(&a.db, &a.location(&names[2]))?,
        rating(&b.db, &b.location(&names[2]))?,
    );
    check(
        now_a == stars_b && now_b == stars_b && status.contains(&format!("{track} rating")),
        || {
            format!(
                "after the conflict laptop A's Mixxx rates \"{track}\" {now_a}, laptop B's {now_b}, and status says:\n{status}"
            )
        },
    )?;
    sh.say(&format!(
        "Both laptops' Mixxx now rate \"{track}\" {now_b}: the newer edit (laptop B's) won on both laptops, and `git mixxx status` keeps the conflict."
    ));

    Ok(())
}

pub fn run(dir: Option<&Path>, narrate: &mut dyn FnMut(&str)) -> Result<PathBuf, Error> {
    let exe = std::env::current_exe()?;
    let user_path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        exe.parent()
            .map(Path::to_path_buf)
            .into_iter()
            .chain(std::env::split_paths(&user_path)),
    )
    .map_err(std::io::Error::other)?;
    let mut sh = Shell {
        narrate,
        path,
        exe: exe.clone(),
    };
    if sh
        .git(&std::env::temp_dir(), &["annex", "version"])
        .is_err()
    {
        return Err(Error::NoAnnex);
    }
    let root = root_dir(dir)?;
    sh.say(&format!(
        "git-mixxx demo in {}: a NAS and two laptops, each laptop with its own Mixxx.",
        root.display()
    ));

    let names = track_names();
    let (nas, a) = first_laptop(&mut sh, &root, &names)?;
    let b = second_laptop(&mut sh, &root, &nas, &names, &a)?;
    edit_reaches_b(&mut sh, &a, &b, &names)?;
    conflict(&mut sh, &a, &b, &names)?;
    sh.say("\nTry it yourself:");
    if !on_user_path() {
        sh.say(
            "  cargo install --locked --path .  # puts git-mixxx on your PATH (the hooks need it)",
        );
    }
    sh.say(&format!("  cd {}", b.dir.display()));
    sh.say("  git annex find --metadata rating=5");
    sh.say("  git annex view 'crate=*'          # a branch of folders by crate; git annex vpop goes back");
    sh.say("  git mixxx status");
    Ok(root)
}

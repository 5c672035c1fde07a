//! `git mixxx demo`: a self-contained demonstration on generated data. It builds a bare "NAS"
//! and two laptop clones with real git and git-annex, a Mixxx database per laptop from the
//! real Mixxx schema, then syncs laptop A's ratings, crates and keys through the NAS into
//! laptop B's Mixxx, showing each step.

use crate::annex::logmet::Values;
use crate::mixxx::schema;
use crate::mixxx::write::Writer;
use rusqlite::{Transaction, TransactionBehavior};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "git-annex is not installed (`git annex version` failed): install it, e.g. `apt-get install git-annex`"
    )]
    NoAnnex,
    #[error("`{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("creating a Mixxx database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("creating a Mixxx database: {0}")]
    Write(#[from] crate::mixxx::write::Error),
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
    let mut writer = Writer::new(tx);
    for (location, values) in tracks {
        schema::insert_track(&mut writer, location, values)?;
    }
    writer.commit()?;
    Ok(())
}

struct Shell<'n> {
    /// Receives the demonstration's narration, a line or a command's output at a time.
    narrate: &'n mut dyn FnMut(&str),
}

impl Shell<'_> {
    fn run(&self, dir: &Path, program: &str, args: &[&str]) -> Result<String, Error> {
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "git-mixxx demo")
            .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
            .env("GIT_COMMITTER_NAME", "git-mixxx demo")
            .env("GIT_COMMITTER_EMAIL", "demo@example.invalid")
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("{program} {}", args.join(" ")),
                output: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(text)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Result<String, Error> {
        self.run(dir, "git", args)
    }

    fn say(&mut self, text: &str) {
        (self.narrate)(text);
    }

    fn show(
        &mut self,
        dir: &Path,
        label: &str,
        program: &str,
        args: &[&str],
    ) -> Result<String, Error> {
        let out = self.run(dir, program, args)?;
        self.say(&format!("\n$ {label}"));
        self.say(out.trim_end_matches('\n'));
        Ok(out)
    }
}

/// The first tracks of a database, a line each; the connection is closed on return (an open
/// one would look like a running Mixxx to the next command).
fn first_rows(db: &Path) -> Result<Vec<String>, Error> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare(
        "SELECT tl.filename, l.rating, l.key, l.bpm FROM library l JOIN track_locations tl ON tl.id = l.location ORDER BY l.id LIMIT 5",
    )?;
    let rows = stmt.query_map([], |r| {
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

/// Runs the demonstration in `dir` (default: a new temporary directory that is kept), telling
/// what happens to `narrate`.
pub fn run(dir: Option<&Path>, narrate: &mut dyn FnMut(&str)) -> Result<PathBuf, Error> {
    let mut sh = Shell { narrate };
    let tmp = std::env::temp_dir();
    if sh.run(&tmp, "git", &["annex", "version"]).is_err() {
        return Err(Error::NoAnnex);
    }
    let root = match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            std::fs::canonicalize(d)?
        }
        None => tempfile::Builder::new()
            .prefix("git-mixxx-demo-")
            .tempdir()?
            .keep(),
    };
    let me = std::env::current_exe()?;
    let me = me.to_str().unwrap_or("git-mixxx");
    sh.say(&format!("git-mixxx demo in {}", root.display()));

    sh.say("\n1. A NAS (bare repository) and laptop A with 12 annexed tracks");
    sh.git(&root, &["init", "-q", "--bare", "nas.git"])?;
    sh.git(&root.join("nas.git"), &["annex", "init", "-q", "nas"])?;
    sh.git(&root, &["clone", "-q", "nas.git", "laptop-a"])?;
    let a = root.join("laptop-a");
    sh.git(&a, &["annex", "init", "-q", "laptop A"])?;
    let names: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "music/{}/Artist {} - Track {i}.flac",
                ["House", "Techno", "Disco"][i % 3],
                i % 97
            )
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        let path = a.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&a))?;
        std::fs::write(&path, format!("demo audio {i}\n").repeat(64))?;
    }
    sh.git(&a, &["annex", "add", "-q", "music"])?;
    sh.git(&a, &["commit", "-q", "-m", "Add music"])?;
    sh.git(&a, &["annex", "sync", "-q"])?;

    sh.say("\n2. Laptop A's Mixxx has rated, keyed and crated them (Mixxx 2.3 schema)");
    let db_a = root.join("mixxx-a/mixxxdb.sqlite");
    std::fs::create_dir_all(db_a.parent().unwrap_or(&root))?;
    let tracks: Vec<(String, Values)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{}/{n}", a.display()), sample_values(i, 3, 2)))
        .collect();
    create_library(&db_a, 32, &tracks)?;
    let db_a_str = db_a.to_str().unwrap_or_default();
    sh.show(&a, "git mixxx sync", me, &["sync", "--db", db_a_str])?;
    sh.show(
        &a,
        "git annex find --metadata rating=5",
        "git",
        &["annex", "find", "--metadata", "rating=5"],
    )?;
    sh.show(
        &a,
        &format!("git annex metadata '{}'", names[1]),
        "git",
        &["annex", "metadata", &names[1]],
    )?;
    sh.git(&a, &["annex", "sync", "-q"])?;

    sh.say(
        "\n3. Laptop B clones the NAS; its Mixxx (2.4 schema) knows the files but not the metadata",
    );
    sh.git(&root, &["clone", "-q", "nas.git", "laptop-b"])?;
    let b = root.join("laptop-b");
    sh.git(&b, &["annex", "init", "-q", "laptop B"])?;
    let db_b = root.join("mixxx-b/mixxxdb.sqlite");
    std::fs::create_dir_all(db_b.parent().unwrap_or(&root))?;
    let bare: Vec<(String, Values)> = names
        .iter()
        .map(|n| (format!("{}/{n}", b.display()), Values::new()))
        .collect();
    create_library(&db_b, 39, &bare)?;
    let db_b_str = db_b.to_str().unwrap_or_default();
    sh.show(&b, "git mixxx sync", me, &["sync", "--db", db_b_str])?;
    sh.say("\n$ laptop B's Mixxx database now (first 5 tracks)");
    for row in first_rows(&db_b)? {
        sh.say(&row);
    }
    sh.show(&b, "git mixxx status", me, &["status", "--db", db_b_str])?;
    sh.say(&format!("\nDone. Everything is in {}", root.display()));
    Ok(root)
}

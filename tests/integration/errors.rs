//! Bad input and environments: every failure is one clear sentence and exit status 2, and
//! nothing is written.

use crate::util::*;
use rusqlite::types::ValueRef;
use std::path::Path;

fn fails_with(env: &Env, dir: &Path, args: &[&str], needle: &str) {
    let out = env.mixxx(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
}

#[test]
fn missing_database() {
    let env = Env::new();
    let (repo, _) = env.one_track("4");
    fails_with(
        &env,
        &repo,
        &["sync", "--db", "/nonexistent/mixxxdb.sqlite"],
        "does not exist",
    );
}

#[test]
fn corrupt_database() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let mut bytes = std::fs::read(&db).unwrap();
    for b in bytes.iter_mut().take(100) {
        *b = 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    fails_with(
        &env,
        &repo,
        &["sync", "--db", db.to_str().unwrap()],
        "not an SQLite database or is corrupt",
    );
}

#[test]
fn not_a_mixxx_database() {
    let env = Env::new();
    let (repo, _) = env.one_track("4");
    let other = env.root.join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    fails_with(
        &env,
        &repo,
        &["sync", "--db", other.to_str().unwrap()],
        "is not a Mixxx library database",
    );
}

// Revisions 32 (Mixxx 2.3) to 40 (Mixxx 2.6) are read and written; an older one is refused
// with what to do; a newer one (there is no revision 41 in Mixxx yet) is refused for writing,
// in one sentence that names --push-only, which reads it and pushes.
#[test]
fn unknown_schema_revisions() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let dbs = db.to_str().unwrap();
    let tip = env.branch_tip(&repo);
    let revision = |r: &str| {
        db_exec(
            &db,
            &format!("UPDATE settings SET value = '{r}' WHERE name = 'mixxx.schema.version'"),
        )
    };
    revision("31");
    fails_with(
        &env,
        &repo,
        &["sync", "--db", dbs],
        "has schema revision 31, older than Mixxx 2.3's 32, which git-mixxx cannot read: \
         open it once in Mixxx 2.3 or newer (which upgrades it), then sync",
    );
    revision("41");
    fails_with(
        &env,
        &repo,
        &["sync", "--db", dbs],
        "has schema revision 41, newer than the 40 (Mixxx 2.6) git-mixxx knows, so git-mixxx \
         reads it but never writes to it: sync with --push-only, or upgrade git-mixxx",
    );
    assert_eq!(env.branch_tip(&repo), tip);
    let text = env.mixxx_ok(&repo, &["status", "--db", dbs]);
    assert!(
        text.contains(
            "\n  Schema revision 41 (newer than git-mixxx knows: read only, sync with --push-only)\n"
        ),
        "{text}"
    );
    // Reading a newer schema is fine: it can still be pushed.
    let report = env.sync(&repo, &db, &["--push-only"]);
    assert_eq!(report["pushed"], 1);
    // Revision 40 is written.
    revision("40");
    let status: serde_json::Value =
        serde_json::from_str(&env.mixxx_ok(&repo, &["status", "--json", "--db", dbs])).unwrap();
    assert_eq!(status["database"]["schema_revision"], 40, "{status}");
    env.git(&repo, &["annex", "metadata", "-s", "rating=2", "a.flac"]);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["pulled"], 1, "{report}");
}

#[test]
fn locked_database_is_reported_not_waited_for_forever() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    // Another program holds an exclusive lock (as Mixxx does while it writes).
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE library SET rating = 1;",
    )
    .unwrap();
    fails_with(
        &env,
        &repo,
        &["sync", "--db", db.to_str().unwrap()],
        "is locked by another program",
    );
    drop(conn);
    assert_eq!(env.sync(&repo, &db, &[])["pushed"], 1);
}

#[test]
fn not_a_git_repository() {
    let env = Env::new();
    let (_, db) = env.one_track("4");
    let nowhere = env.root.join("nowhere");
    std::fs::create_dir_all(&nowhere).unwrap();
    let out = env
        .command(
            &nowhere,
            "git-mixxx",
            &["sync", "--db", db.to_str().unwrap()],
        )
        .env("GIT_CEILING_DIRECTORIES", &env.root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in a git repository"));
}

#[test]
fn git_repository_without_annex() {
    let env = Env::new();
    env.git(&env.root, &["init", "-q", "plain"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(&db, 32, &[]);
    fails_with(
        &env,
        &env.root.join("plain"),
        &["sync", "--db", db.to_str().unwrap()],
        "git annex init",
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let out = env.mixxx(&env.root, &["sync", "--push-only", "--pull-only"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.mixxx(&env.root, &["sync", "--prefer", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn database_is_not_modified_by_a_push() {
    // A push writes nothing of the DJ's: only git-mixxx's own marker row in `settings`.
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let before = every_row(&db);
    env.sync(&repo, &db, &[]);
    let after = every_row(&db);
    let marker = |r: &String| r.starts_with("settings: git-mixxx.database");
    assert_eq!(after.iter().filter(|r| marker(r)).count(), 1, "{after:?}");
    let after: Vec<String> = after.into_iter().filter(|r| !marker(r)).collect();
    assert_eq!(after, before);
    assert!(!db.with_extension("sqlite-journal").exists());
}

/// Every row of every table of a database, as text.
fn every_row(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rows = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let n = stmt.column_count();
        let mut query = stmt.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let cells: Vec<String> = (0..n)
                .map(|i| match row.get_ref(i).unwrap() {
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            rows.push(format!("{table}: {}", cells.join(" ")));
        }
    }
    rows
}

#[test]
fn works_without_a_configured_git_identity() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let out = env
        .command(
            &repo,
            "git",
            &["mixxx", "sync", "--db", db.to_str().unwrap()],
        )
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.metadata(&repo, "a.flac")["rating"],
        ["4".to_owned()].into()
    );
    let author = env.git(
        &repo,
        &["log", "-1", "--format=%an <%ae>", "refs/heads/git-annex"],
    );
    assert_eq!(author.trim(), "git-mixxx <git-mixxx@localhost>");
}

#[test]
fn a_closed_output_ends_quietly() {
    // `git mixxx status | head -1`: the reader is gone before git-mixxx writes.
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    env.sync(&repo, &db, &[]);
    for args in [
        vec!["status", "--db", db.to_str().unwrap()],
        vec!["sync", "--db", db.to_str().unwrap(), "--dry-run"],
        vec!["status", "--json", "--db", db.to_str().unwrap()],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .command(&repo, "git", &[&["mixxx"], args.as_slice()].concat())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "{args:?}: {} {stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn an_error_says_each_cause_once() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    // git-annex's journal lock cannot be opened: the OS's reason is the cause.
    let lock = repo.join(".git/annex/journal.lck");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir_all(&lock).unwrap();
    let out = env.mixxx(&repo, &["sync", "--db", db.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr.contains("journal.lck"), "{stderr}");
    assert_eq!(
        stderr.matches("Is a directory").count(),
        1,
        "the cause once: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

// A database with Mixxx's settings but without one of the tables git-mixxx reads: the error
// names the table and says what to do.
#[test]
fn a_database_without_its_library_table() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    for table in ["library", "track_locations"] {
        let copy = env.root.join(format!("without-{table}.sqlite"));
        std::fs::copy(&db, &copy).unwrap();
        db_exec(&copy, &format!("DROP TABLE {table}"));
        let needle = format!("it has no `{table}` table); pass the right --db PATH or restore it");
        fails_with(
            &env,
            &repo,
            &["sync", "--db", copy.to_str().unwrap()],
            &needle,
        );
    }
}

// A truncated database: corrupt, and the message says what to do.
#[test]
fn a_truncated_database() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 3]).unwrap();
    let out = env.mixxx(&repo, &["sync", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("is damaged") && said.contains("restore it from a backup"),
        "{said}"
    );
}

// PATH arguments outside the work tree, or that do not exist: exit 2, saying what to give.
#[test]
fn path_arguments_that_are_not_in_the_repository() {
    let env = Env::new();
    let (repo, db) = env.one_track("4");
    let db = db.to_str().unwrap();
    fails_with(
        &env,
        &repo,
        &["sync", "--db", db, "/"],
        "outside the work tree",
    );
    fails_with(
        &env,
        &repo,
        &["sync", "--db", db, "no/such/path"],
        "pathspec 'no/such/path' did not match",
    );
}

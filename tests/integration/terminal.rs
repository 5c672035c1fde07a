//! What reaches a DJ's terminal: text from the branch or from Mixxx is quoted (control
//! characters and newlines escaped, as git quotes unusual path names) in every text output,
//! while JSON keeps it exact; `log` goes through git's pager on a terminal only; the manual
//! pages have git's sections; errors share git's `error:` prefix.

use crate::laptops::*;
use crate::util::*;
use std::io::Read as _;
use std::os::fd::FromRawFd as _;
use std::process::{Command, Stdio};

/// A line forged to look like one of `log`'s, and escapes that clear the screen.
const FORGED: &str = "\u{1b}[2J\u{1b}[31mPWNED\u{1b}[0m\n    music/Techno/b.flac  rating  5 → 1";

/// The lines of `text` that hold an escape character or the forged log line.
fn raw(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            l.contains('\u{1b}') || l.trim_start().starts_with("music/Techno/b.flac  rating  5")
        })
        .collect()
}

// A comment set with `git annex metadata` holding escapes and a line shaped like a log entry,
// a cue label with a newline, and another clone's run record whose host holds an escape and a
// forged status line: `log`, `sync -v`, `sync --dry-run`, `status` and the hooks print each
// quoted, on its own line; `--json` keeps them byte for byte.
#[test]
fn text_from_the_branch_or_mixxx_is_quoted_and_json_stays_exact() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let env = &l.env;
    env.git(
        &l.b,
        &[
            "annex",
            "metadata",
            "-q",
            "-s",
            &format!("comment={FORGED}"),
            A,
        ],
    );
    db_exec(
        &l.db_a,
        &format!(
            "INSERT INTO cues (track_id, type, hotcue, position, length, color, label) \
             VALUES ({}, 1, 0, 1000, 0, 255, 'Drop\n    music/Techno/b.flac  rating  5 → 1')",
            track(&loc(&l.a, A))
        ),
    );
    l.exchange(&[&l.b, &l.a]);
    let dry = env.mixxx_ok(
        &l.a,
        &["sync", "--dry-run", "--db", l.db_a.to_str().unwrap()],
    );
    assert!(raw(&dry).is_empty(), "{dry}");
    assert!(dry.contains(r#"music/House/a.flac: comment (none) → "\033[2J\033[31mPWNED\033[0m\n    music/Techno/b.flac  rating  5 → 1" (would be pulled)"#), "{dry}");
    let synced = env.mixxx_ok(&l.a, &["sync", "-v", "--db", l.db_a.to_str().unwrap()]);
    assert!(raw(&synced).is_empty(), "{synced}");
    assert!(synced.contains(r#"cue (none) → "hotcue 1 1000 0 #0000FF Drop\n    music/Techno/b.flac  rating  5 → 1" (pushed)"#), "{synced}");
    let log = env.mixxx_ok(&l.a, &["log"]);
    assert!(raw(&log).is_empty(), "{log}");
    let json = env.mixxx_ok(&l.a, &["log", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let news: Vec<&str> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["changes"].as_array().unwrap())
        .filter(|c| c["field"] == "comment")
        .filter_map(|c| c["new"][0].as_str())
        .collect();
    assert_eq!(news, [FORGED], "{json}");
    // Another clone's run record, with a host that would print a second "this clone" line.
    let uuid = env.git(&l.b, &["config", "annex.uuid"]).trim().to_owned();
    let host = "h\u{1b}[31mX\nLast sync of this clone [laptop-a]: run 00000000";
    let record = serde_json::json!({
        "time": "2026-01-01T00:00:00Z", "uuid": uuid, "host": host, "db": "/x", "version": "0.1.0",
        "tracks": 0, "pushed": 0, "pulled": 0, "reconciled": "0".repeat(40), "finished": true,
        "conflict_count": 0, "conflicts": []
    });
    let runs = format!("2026-01-01T00:00:00Z {record}\n");
    env.commit_to_branch(
        &l.a,
        &[(format!("mixxx/{uuid}/runs"), runs.into_bytes())],
        "forged",
    );
    let db = l.db_a.to_str().unwrap();
    let status = env.mixxx_ok(&l.a, &["status", "--db", db]);
    assert!(raw(&status).is_empty(), "{status}");
    assert_eq!(
        status
            .lines()
            .filter(|l| l.starts_with("Last sync of this clone"))
            .count(),
        1,
        "{status}"
    );
    assert!(
        status.contains(r#"on "h\033[31mX\nLast sync of this clone [laptop-a]: run 00000000""#),
        "{status}"
    );
    let json = env.mixxx_ok(&l.a, &["status", "--json", "--db", db]);
    assert!(
        json.contains(r#""host": "h\u001b[31mX\nLast sync of this clone"#),
        "{json}"
    );
}

/// Runs `cmd` with its stdout on a new pseudo-terminal; returns what reached the terminal.
fn on_terminal(mut cmd: Command) -> String {
    let (mut master, mut slave) = (0, 0);
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    cmd.stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn on a terminal");
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut master = master;
        let mut seen = Vec::new();
        // The terminal reports EIO once the last process holding it has gone.
        let _ = master.read_to_end(&mut seen);
        String::from_utf8_lossy(&seen).replace("\r\n", "\n")
    });
    assert!(child.wait().unwrap().success());
    reader.join().unwrap()
}

// On a terminal, `log` goes through git's pager, started as git starts it (LESS=FRX, LV=-c
// unless set): GIT_PAGER first, then core.pager, then PAGER. `git --no-pager mixxx log` (git
// sets GIT_PAGER=cat for it), `log --no-pager`, a pager of `cat` and a pipe print directly.
#[test]
fn log_pages_through_gits_pager_on_a_terminal_only() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    let env = &l.env;
    let paged = env.root.join("paged");
    let pager = |name: &str| {
        format!(
            "echo \"LESS=$LESS LV=$LV\" > '{0}'; cat >> '{0}'; echo {name} >> '{0}'",
            paged.display()
        )
    };
    let run = |git_args: &[&str], envs: &[(&str, String)]| {
        let _ = std::fs::remove_file(&paged);
        let mut cmd = env.command(&l.a, "git", git_args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let screen = on_terminal(cmd);
        (screen, std::fs::read_to_string(&paged).unwrap_or_default())
    };
    let direct = env.mixxx_ok(&l.a, &["log"]);
    assert!(direct.contains("rating  (none) → 3"), "{direct}");
    let (screen, got) = run(
        &["mixxx", "log"],
        &[("GIT_PAGER", pager("git_pager")), ("PAGER", pager("pager"))],
    );
    assert_eq!(
        got,
        format!("LESS=FRX LV=-c\n{direct}git_pager\n"),
        "screen: {screen}"
    );
    assert!(!screen.contains("rating"), "{screen}");
    env.git(&l.a, &["config", "core.pager", &pager("core_pager")]);
    let (_, got) = run(
        &["mixxx", "log"],
        &[("PAGER", pager("pager")), ("LESS", "-R".into())],
    );
    assert_eq!(got, format!("LESS=-R LV=-c\n{direct}core_pager\n"));
    env.git(&l.a, &["config", "--unset", "core.pager"]);
    let (_, got) = run(&["mixxx", "log"], &[("PAGER", pager("pager"))]);
    assert!(got.ends_with("pager\n"), "{got}");
    for (args, envs) in [
        (
            &["--no-pager", "mixxx", "log"][..],
            vec![("PAGER", pager("pager"))],
        ),
        (
            &["mixxx", "log", "--no-pager"][..],
            vec![("PAGER", pager("pager"))],
        ),
        (
            &["mixxx", "log"][..],
            vec![("GIT_PAGER", "cat".to_owned()), ("PAGER", pager("pager"))],
        ),
    ] {
        let (screen, got) = run(args, &envs);
        assert_eq!(got, "", "{args:?} paged");
        assert!(screen.contains("rating  (none) → 3"), "{args:?}: {screen}");
    }
    // Not a terminal: the pager is not started.
    let out = env
        .command(&l.a, "git", &["mixxx", "log"])
        .env("GIT_PAGER", pager("x"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), direct);
    assert!(!paged.exists());
}

// `install-man` puts every page where `man` finds it, git-mixxx-json(7) too, and each page
// read through `man` has git's sections; CONFIGURATION lists every `mixxx.*` key, as a list.
#[test]
fn man_pages_have_gits_sections() {
    let env = Env::new();
    let prefix = env.root.join("prefix");
    env.mixxx_ok(
        &env.root,
        &["install-man", "--prefix", prefix.to_str().unwrap()],
    );
    let man = |page: &str| {
        let mut cmd = env.command(&env.root, "man", &[page]);
        cmd.env("MANPATH", prefix.join("share/man"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "200");
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "man {page}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let sections = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "CONFIGURATION",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ];
    let pages = std::fs::read_dir(prefix.join("share/man/man1")).unwrap();
    let mut seen = 0;
    for page in pages {
        let name = page
            .unwrap()
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".1")
            .to_owned();
        let text = man(&name);
        let headings: Vec<&str> = text.lines().filter(|l| sections.contains(l)).collect();
        assert_eq!(headings, sections, "{name}:\n{text}");
        seen += 1;
    }
    assert_eq!(seen, 13);
    let top = man("git-mixxx");
    for key in [
        "mixxx.db",
        "mixxx.command",
        "mixxx.import",
        "mixxx.prefix",
        "mixxx.hooks",
        "mixxx.strict",
        "mixxx.clearGuard",
    ] {
        assert!(
            top.lines().any(|l| l.trim() == key),
            "{key} is a list item:\n{top}"
        );
    }
    for see in [
        "git-annex-metadata(1)",
        "git-annex-sync(1)",
        "githooks(5)",
        "git-mixxx-json(7)",
    ] {
        assert!(top.contains(see), "{see}");
    }
    let sync = man("git-mixxx-sync");
    assert!(
        sync.contains("[--prefer SIDE]") && sync.contains("[--db PATH]"),
        "{sync}"
    );
    let json = man("git-mixxx-json");
    for heading in ["NAME", "DESCRIPTION", "SEE ALSO"] {
        assert!(json.lines().any(|l| l == heading), "{json}");
    }
    assert!(json.contains("pulled_from"), "{json}");
}

// A folder given as the database: one `error:` line and exit status 2 in every command that
// takes one; a file that is no database too, in `sync` and `status` (`restore` lists and puts
// back backups over a damaged one). Usage errors start the same way.
#[test]
fn a_folder_or_another_file_as_the_database_is_an_error_everywhere() {
    let env = Env::new();
    let (repo, _) = env.one_track("4");
    let folder = env.root.join("mixxx");
    let other = env.root.join("notes.txt");
    std::fs::write(&other, "not a database\n").unwrap();
    let commands = [
        &["sync", "status", "undo", "restore"][..],
        &["sync", "status"][..],
    ];
    for (db, commands) in [&folder, &other].into_iter().zip(commands) {
        for &command in commands {
            let out = env.mixxx(&repo, &[command, "--db", db.to_str().unwrap()]);
            let said = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} {}: {}",
                db.display(),
                text(&out)
            );
            assert!(
                said.starts_with("error: ") && said.lines().count() == 1,
                "{said}"
            );
            let what = if db == &folder {
                "is a folder, not a Mixxx database"
            } else {
                "is not a Mixxx library database"
            };
            assert!(said.contains(what), "{command}: {said}");
        }
    }
    let out = env.mixxx(&repo, &["sync", "--no-such-option"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: "),
        "{}",
        text(&out)
    );
}

// `log --since` and `--until` take what git takes, and `--date` shows dates as git's does.
#[test]
fn log_takes_gits_dates() {
    let l = Laptops::synced(&[(A, vals(&[("rating", &["3"])]))]);
    let env = &l.env;
    let log = |args: &[&str]| {
        let mut all = vec!["log"];
        all.extend_from_slice(args);
        env.mixxx_ok(&l.a, &all)
    };
    let all = log(&[]);
    assert!(all.contains("rating  (none) → 3"), "{all}");
    for since in ["yesterday", "2.weeks.ago", "3 days ago", "2000-01-01"] {
        assert_eq!(log(&["--since", since]), all, "--since {since}");
    }
    let none = "No changes of Mixxx metadata on the git-annex branch.\n";
    assert_eq!(log(&["--until", "yesterday"]), none);
    assert_eq!(log(&["--since", "2099-01-01"]), none);
    let iso = regex::Regex::new(r"  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}  commit ").unwrap();
    assert!(
        iso.is_match(&log(&["--date", "iso"])),
        "{}",
        log(&["--date", "iso"])
    );
    let relative = regex::Regex::new(r"  \d+ (seconds?|minutes?) ago  commit ").unwrap();
    assert!(
        relative.is_match(&log(&["--date=relative"])),
        "{}",
        log(&["--date=relative"])
    );
    let out = env.mixxx(&l.a, &["log", "--since", "the day after the party"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("error: ") && said.contains("is not a date git takes"),
        "{said}"
    );
}

//! git-annex as the oracle of the branch: generated and mutated `.log.met` files, hostile ones
//! included, are committed to a real git-annex branch, and for each git-mixxx's reading
//! (`MetLog::parse(..).current()`) must equal what `git annex metadata --json` shows; then,
//! with those logs on tracks a Mixxx holds, a sync and a Mixxx edit synced afterwards leave
//! git-annex showing exactly what it showed plus the edit, and Mixxx keeps every value
//! git-annex still shows. `GIT_MIXXX_DIFFERENTIAL=N` compares N logs (default 2,000; the
//! tracks test takes a fifth of N).

use crate::util::*;
use base64::Engine as _;
use git_mixxx::annex::key::metadata_log_path;
use git_mixxx::annex::logmet::{self, MetLog, Values};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type View = BTreeMap<String, BTreeSet<String>>;

const FIELDS: &[&str] = &[
    "rating", "bpm", "crate", "Crate", "TITLE", "comment", "tag", "_bad", "a/b", "", "+x", "!x",
    "ça",
];
const VALUES: &[&str] = &[
    "5", "128.00", "Peak", "a b", "é", "", "!", "+", "x-y", "\u{a0}",
];

/// A timestamp token, valid or not in every way git-annex distinguishes.
fn timestamp(d: &mut Dice) -> String {
    let secs = 1_795_000_000 + d.below(1000) as u64;
    match d.below(14) {
        0 => format!("{secs}s"),
        1 => format!("{secs}"),
        2 => format!("-{}.{}s", d.below(100), d.below(1000)),
        3 => format!("99999999999999999{:03}s", d.below(1000)),
        4 => format!(
            "12345678901234567890123456789012345678901{:03}s",
            d.below(1000)
        ),
        5 => (*d.pick(&["1x", "1.s", ".5s", "1e3s", "", "1ss", "1S", "x"])).to_owned(),
        6 => format!("+{secs}s"),
        7 => format!("00{secs}.5s"),
        _ => format!("{secs}.{:09}s", d.below(1_000_000_000)),
    }
}

/// A value token: set or unset, plain or base64, now and then undecodable.
fn value(d: &mut Dice) -> String {
    let sign = if d.below(4) == 0 { '-' } else { '+' };
    let v = *d.pick(VALUES);
    match d.below(8) {
        0 => format!(
            "{sign}!{}",
            base64::engine::general_purpose::STANDARD.encode(v)
        ),
        1 => format!("{sign}!{}", d.pick(&["!!!", "YQ", "/w==", "gA=="])),
        _ if v.contains(' ') => format!(
            "{sign}!{}",
            base64::engine::general_purpose::STANDARD.encode(v)
        ),
        _ => format!("{sign}{v}"),
    }
}

fn line(d: &mut Dice) -> String {
    let mut out = timestamp(d);
    for _ in 0..1 + d.below(4) {
        let sep = *d.pick(&[" ", " ", " ", " ", "  ", "\t"]);
        out.push_str(sep);
        let field = *d.pick(FIELDS);
        out.push_str(field);
        for _ in 0..d.below(4) {
            out.push(' ');
            out.push_str(&value(d));
        }
    }
    out
}

/// A log: lines with various endings, then maybe mutated, truncated or given bad bytes.
fn log(d: &mut Dice) -> Vec<u8> {
    let mut text = String::new();
    for _ in 0..1 + d.below(6) {
        text.push_str(&line(d));
        let end = *d.pick(&["\n", "\n", "\n", "\r\n", "\r", "\n\n"]);
        text.push_str(end);
    }
    let mut bytes = text.into_bytes();
    match d.below(6) {
        0 if !bytes.is_empty() => {
            let at = d.below(bytes.len());
            bytes.truncate(at);
        }
        1 => {
            for _ in 0..1 + d.below(3) {
                let at = d.below(bytes.len() + 1);
                let b = *d.pick(&[b' ', b'\n', b'+', b'-', b'!', b'.', b's', b'0', 0xff, 0xc3]);
                bytes.insert(at, b);
            }
        }
        2 if !bytes.is_empty() => {
            let at = d.below(bytes.len());
            bytes.remove(at);
        }
        _ => {}
    }
    bytes
}

/// The shown view without git-annex's `lastchanged` bookkeeping, fields lowercased.
fn normalize(view: View) -> View {
    let mut out = View::new();
    for (f, vs) in view {
        if f != "lastchanged" && !f.ends_with("-lastchanged") {
            out.entry(f.to_lowercase()).or_default().extend(vs);
        }
    }
    out
}

/// Commits each log as the metadata of its key, in one commit on the git-annex branch.
fn commit_logs(env: &Env, repo: &Path, logs: &[(String, Vec<u8>)]) {
    let files: Vec<(String, Vec<u8>)> = (logs.iter())
        .map(|(key, bytes)| (metadata_log_path(key), bytes.clone()))
        .collect();
    env.commit_to_branch(repo, &files, "oracle");
}

/// What `git annex metadata --json` shows for each key whose log is (or began as) the
/// matching one of `logs`: asked in one batch, except where a log holds a base64 value
/// without its padding. git-annex's batch mode now and then decodes such a value from bytes
/// beyond it (a read past the token: 1 in 10,000 logs with 10.20230126, 2 in 5,000 with
/// 10.20261026; alone, the same key shows no such value), so those keys are asked alone.
fn git_annex_views(env: &Env, repo: &Path, keys: &[String], logs: &[Vec<u8>]) -> Vec<View> {
    let input = env.root.join("keys.json");
    let lines: Vec<String> = keys
        .iter()
        .map(|k| serde_json::json!({ "key": k }).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = env.run_with(
        repo,
        "git",
        &["annex", "metadata", "--batch", "--json"],
        Some(&input),
    );
    let batch = out.lines().map(view_of);
    keys.iter()
        .zip(logs)
        .zip(batch)
        .map(|((key, log), view)| match unpadded_base64(log) {
            true => view_of(&env.git(repo, &["annex", "metadata", "--json", "--key", key])),
            false => view,
        })
        .collect()
}

/// The view in one line of `git annex metadata --json`.
fn view_of(json: &str) -> View {
    let shown: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    normalize(serde_json::from_value(shown["fields"].clone()).unwrap())
}

/// Whether a log holds a `+!` or `-!` token whose base64 is not padded to a multiple of 4.
fn unpadded_base64(log: &[u8]) -> bool {
    log.split(|b| b.is_ascii_whitespace())
        .any(|token| matches!(token, [b'+' | b'-', b'!', rest @ ..] if rest.len() % 4 != 0))
}

/// Text as git-mixxx holds it, each byte that is not UTF-8 shown as `git annex metadata`
/// shows it (U+FFFD).
fn shown(t: &str) -> String {
    t.chars()
        .map(
            |c| match logmet::bytes_of(c.encode_utf8(&mut [0; 4])).as_ref() {
                [b] if *b >= 0x80 => '\u{fffd}',
                _ => c,
            },
        )
        .collect()
}

/// git-mixxx's view, as `git annex metadata` shows it.
fn our_view(bytes: &[u8]) -> View {
    let current = MetLog::parse(&logmet::text_of(bytes)).current();
    normalize(
        current
            .into_iter()
            .map(|(f, vs)| (shown(&f), vs.keys().map(|v| shown(v)).collect()))
            .collect(),
    )
}

/// How many logs to compare: `GIT_MIXXX_DIFFERENTIAL`, else 2,000.
fn logs_to_compare() -> usize {
    std::env::var("GIT_MIXXX_DIFFERENTIAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn every_log_reads_as_git_annex_reads_it() {
    let n = logs_to_compare();
    let env = Env::new();
    let repo = env.repo("oracle");
    let mut dice = Dice(2026);
    let logs: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("SHA256E-s{i}--{i:064x}.flac"), log(&mut dice)))
        .collect();
    commit_logs(&env, &repo, &logs);
    let keys: Vec<String> = logs.iter().map(|(k, _)| k.clone()).collect();
    let bytes: Vec<Vec<u8>> = logs.iter().map(|(_, b)| b.clone()).collect();
    let theirs = git_annex_views(&env, &repo, &keys, &bytes);
    assert_eq!(theirs.len(), n);
    let differ: Vec<String> = logs
        .iter()
        .zip(&theirs)
        .filter(|((_, bytes), theirs)| our_view(bytes) != **theirs)
        .map(|((_, bytes), theirs)| {
            format!(
                "{:?}\n  git-annex: {theirs:?}\n  git-mixxx: {:?}",
                String::from_utf8_lossy(bytes),
                our_view(bytes)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {n} logs read differently:\n{}",
        differ.len(),
        differ
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The fields git-mixxx carries that hold one value; the others (`crate`, `playlist`) hold
/// any number.
const SINGLE: &[&str] = &[
    "rating",
    "bpm",
    "key",
    "color",
    "artist",
    "title",
    "album",
    "genre",
    "year",
    "tracknumber",
    "comment",
    "composer",
    "grouping",
    "albumartist",
];

/// What a DJ does to one track in Mixxx: the SQL, and its effect on git-annex's view of
/// `field` once synced.
struct Edit {
    sql: String,
    field: &'static str,
    effect: Effect,
}

enum Effect {
    Set(String),
    Add(String),
    Remove(String),
}

impl Effect {
    fn apply(&self, values: &mut BTreeSet<String>) {
        match self {
            Effect::Set(v) => *values = BTreeSet::from([v.clone()]),
            Effect::Add(v) => {
                values.insert(v.clone());
            }
            Effect::Remove(v) => {
                values.remove(&shown(v));
            }
        }
    }
}

/// One edit of track `i`, whose Mixxx values are `mixxx`, at `location`.
fn edit_for(d: &mut Dice, i: usize, location: &str, mixxx: &Values) -> Edit {
    let id = crate::laptops::track(location);
    let set = |field: &'static str, column: &str, sql_value: String, shown: String| Edit {
        sql: format!("UPDATE library SET {column} = {sql_value} WHERE id = {id};"),
        field,
        effect: Effect::Set(shown),
    };
    let crates: Vec<&String> = mixxx.get("crate").into_iter().flatten().collect();
    match d.below(6) {
        0 => {
            let now: u32 = mixxx
                .get("rating")
                .and_then(|r| r.first()?.parse().ok())
                .unwrap_or(0);
            let new = now % 5 + 1;
            set("rating", "rating", new.to_string(), new.to_string())
        }
        1 => {
            // Within Mixxx's range (at most 500) whatever the number of tracks.
            let bpm = 60.25 + (i % 400) as f64;
            set("bpm", "bpm", format!("{bpm}"), format!("{bpm:.2}"))
        }
        2 => set(
            "comment",
            "comment",
            format!("'edit {i}'"),
            format!("edit {i}"),
        ),
        3 => set(
            "title",
            "title",
            format!("'Edited {i}'"),
            format!("Edited {i}"),
        ),
        4 if !crates.is_empty() => {
            let name = (*d.pick(&crates)).clone();
            Edit {
                sql: format!(
                    "DELETE FROM crate_tracks WHERE track_id = {id}
                       AND crate_id = (SELECT id FROM crates WHERE name = '{}');",
                    name.replace('\'', "''")
                ),
                field: "crate",
                effect: Effect::Remove(name),
            }
        }
        _ => Edit {
            sql: format!(
                "INSERT OR IGNORE INTO crates (name) VALUES ('Edited');
                 INSERT OR IGNORE INTO crate_tracks (crate_id, track_id)
                   SELECT (SELECT id FROM crates WHERE name = 'Edited'), {id};"
            ),
            field: "crate",
            effect: Effect::Add("Edited".to_owned()),
        },
    }
}

/// The first values of track `i` in Mixxx, before any generated log.
fn first_values(d: &mut Dice) -> Values {
    let mut v = Values::new();
    let mut put = |f: &str, x: String| {
        v.entry(f.to_owned()).or_default().insert(x);
    };
    put("rating", (1 + d.below(5)).to_string());
    put("bpm", format!("{}.00", 90 + d.below(60)));
    put("comment", (*d.pick(VALUES)).to_owned());
    put(
        "crate",
        (*d.pick(&["Peak", "a b", "Warm up", "é"])).to_owned(),
    );
    if d.below(2) == 0 {
        put("crate", "Peak".to_owned());
    }
    v.retain(|_, vs| {
        vs.retain(|x| !x.is_empty());
        !vs.is_empty()
    });
    v
}

/// Each key's metadata log bytes on the git-annex branch (empty where it has none).
fn branch_logs(env: &Env, repo: &Path, keys: &[String]) -> Vec<Vec<u8>> {
    let input = env.root.join("cat-file.in");
    let lines: String = keys
        .iter()
        .map(|k| format!("refs/heads/git-annex:{}\n", metadata_log_path(k)))
        .collect();
    std::fs::write(&input, lines).unwrap();
    let mut cmd = env.command(repo, "git", &["cat-file", "--batch"]);
    cmd.stdin(std::fs::File::open(&input).unwrap());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut rest = out.stdout.as_slice();
    let mut logs = Vec::new();
    for _ in keys {
        let end = rest.iter().position(|&b| b == b'\n').unwrap();
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 1..];
        if header.ends_with("missing") {
            logs.push(Vec::new());
            continue;
        }
        let size: usize = header.rsplit(' ').next().unwrap().parse().unwrap();
        logs.push(rest[..size].to_vec());
        rest = &rest[size + 1..];
    }
    logs
}

/// A sync (with `extra` arguments) that may hold back values Mixxx cannot take (exit 1, each
/// one listed as failed); anything else, a refusal by the clear guard too, fails the test.
fn sync_holding(env: &Env, repo: &Path, db: &Path, extra: &[&str]) {
    let mut args = vec!["sync", "--json", "--db", db.to_str().unwrap()];
    args.extend(extra);
    let out = env.mixxx(repo, &args);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("sync printed no report: {}", text(&out)));
    let failed = report["failed"].as_array().map_or(0, Vec::len);
    assert!(
        report["refused"].is_null(),
        "the clear guard refused: {}",
        text(&out)
    );
    assert!(
        out.status.success() == (failed == 0),
        "exit and failures disagree: {}",
        text(&out)
    );
}

/// Mixxx lost no value that git-annex still shows: for every track and field, each value
/// Mixxx had before that git-annex shows now is still in Mixxx.
fn assert_nothing_lost(before: &[Values], views: &[View], after: &[Values], what: &str) {
    for (i, ((before, view), after)) in before.iter().zip(views).zip(after).enumerate() {
        for (field, values) in before {
            for v in values {
                let still_shown = view.get(field).is_some_and(|s| s.contains(&shown(v)));
                let kept = after.get(field).is_some_and(|s| s.contains(v));
                assert!(
                    !still_shown || kept,
                    "{what}: track {i} lost {field}={v:?} which git-annex shows\n  before: {before:?}\n  git-annex: {view:?}\n  after: {after:?}"
                );
            }
        }
    }
}

/// A sync without a Mixxx edit changes git-annex's view only by settling a field git-mixxx
/// carries with one value that held several on one of them (an empty value is none: it may
/// stay, or go).
fn assert_only_settled(before: &[View], after: &[View], logs: &[Vec<u8>]) {
    let values = |v: Option<&BTreeSet<String>>| -> BTreeSet<String> {
        v.into_iter()
            .flatten()
            .filter(|x| !x.is_empty())
            .cloned()
            .collect()
    };
    for (i, (before, after)) in before.iter().zip(after).enumerate() {
        let fields: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for f in fields {
            let (b, a) = (before.get(f), after.get(f));
            if b == a {
                continue;
            }
            let (bv, av) = (values(b), values(a));
            let settled = SINGLE.contains(&f.as_str())
                && bv.len() > 1
                && av.len() == 1
                && bv.is_superset(&av)
                && (b.is_some_and(|b| b.contains("")) || !a.is_some_and(|a| a.contains("")));
            assert!(
                settled,
                "track {i}: a sync without edits changed {f}: {b:?} -> {a:?}\n  log: {:?}",
                String::from_utf8_lossy(&logs[i])
            );
        }
    }
}

// The generated logs replace or extend the logs of tracks a Mixxx holds and has synced; a
// sync takes in what git-annex shows, then the DJ edits every track in Mixxx and syncs: git-
// annex shows exactly what it showed plus the edits, and Mixxx never lost a value git-annex
// shows.
#[test]
fn edits_on_hostile_logs_keep_what_git_annex_shows() {
    let n = logs_to_compare() / 5;
    let env = Env::new();
    let repo = env.repo("music");
    let files: Vec<String> = (0..n).map(|i| format!("t{i:05}.flac")).collect();
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    env.add_files(&repo, &names, &[]);
    let locations: Vec<String> = files.iter().map(|f| loc(&repo, f)).collect();
    let mut dice = Dice(7);
    let first: Vec<(String, Values)> = locations
        .iter()
        .map(|l| (l.clone(), first_values(&mut dice)))
        .collect();
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    create_db(&db, 32, &first);
    env.sync(&repo, &db, &[]);

    let keys: Vec<String> = files
        .iter()
        .map(|f| env.git(&repo, &["annex", "lookupkey", f]).trim().to_owned())
        .collect();
    let synced = branch_logs(&env, &repo, &keys);
    let logs: Vec<Vec<u8>> = synced
        .into_iter()
        .map(|mut bytes| {
            let generated = log(&mut dice);
            if dice.below(2) == 0 {
                generated
            } else {
                bytes.extend(generated);
                bytes
            }
        })
        .collect();
    let keyed: Vec<(String, Vec<u8>)> = keys.iter().cloned().zip(logs.clone()).collect();
    commit_logs(&env, &repo, &keyed);
    let shown = git_annex_views(&env, &repo, &keys, &logs);

    let mixxx = |db: &Path| -> Vec<Values> {
        let all = db_values(db);
        locations.iter().map(|l| all[l].clone()).collect()
    };
    let held = mixxx(&db);
    sync_holding(&env, &repo, &db, &[]);
    let settled = git_annex_views(&env, &repo, &keys, &logs);
    assert_only_settled(&shown, &settled, &logs);
    let pulled = mixxx(&db);
    assert_nothing_lost(&held, &settled, &pulled, "the sync after the logs");

    let edits: Vec<Edit> = locations
        .iter()
        .zip(&pulled)
        .enumerate()
        .map(|(i, (l, values))| edit_for(&mut dice, i, l, values))
        .collect();
    let sql: String = edits.iter().map(|e| e.sql.as_str()).collect();
    db_exec(&db, &sql);
    let edited = mixxx(&db);
    // The edits clear values on a fifth of the tracks, beyond what the clear guard lets a run
    // push unasked at 2,500 tracks and more: the DJ's say-so.
    sync_holding(&env, &repo, &db, &["--allow-clears"]);
    let after = git_annex_views(&env, &repo, &keys, &logs);
    for (i, ((edit, before), after)) in edits.iter().zip(&settled).zip(&after).enumerate() {
        let mut expected = before.clone();
        let values = expected.entry(edit.field.to_owned()).or_default();
        edit.effect.apply(values);
        expected.retain(|_, vs| !vs.is_empty());
        assert_eq!(
            after,
            &expected,
            "track {i}: git-annex after the edit `{}`\n  log: {:?}",
            edit.sql,
            String::from_utf8_lossy(&logs[i])
        );
    }
    assert_nothing_lost(&edited, &after, &mixxx(&db), "the sync after the edits");
}

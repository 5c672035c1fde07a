//! git-annex as the oracle of the branch: generated and mutated `.log.met` files, hostile ones
//! included, are committed to a real git-annex branch, and for each git-mixxx's reading
//! (`MetLog::parse(..).current()`) must equal what `git annex metadata --json` shows.
//! `GIT_MIXXX_DIFFERENTIAL=N` compares N logs (default 400).

use crate::util::*;
use base64::Engine as _;
use git_mixxx::annex::key::metadata_log_path;
use git_mixxx::annex::logmet::{self, MetLog};
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
    let git = gix::open(repo).unwrap();
    let mut listing = String::new();
    for (key, bytes) in logs {
        let blob = git.write_blob(bytes).unwrap();
        listing.push_str(&format!("100644 {blob}\t{}\n", metadata_log_path(key)));
    }
    let list = env.root.join("index-info");
    std::fs::write(&list, listing).unwrap();
    let index = env.root.join("oracle.index");
    let with_index = |args: &[&str], stdin: Option<&Path>| {
        let mut cmd = env.command(repo, "git", args);
        cmd.env("GIT_INDEX_FILE", &index);
        if let Some(p) = stdin {
            cmd.stdin(std::fs::File::open(p).unwrap());
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    with_index(&["read-tree", "git-annex"], None);
    with_index(&["update-index", "--index-info"], Some(&list));
    let tree = with_index(&["write-tree"], None);
    let commit = with_index(
        &["commit-tree", &tree, "-p", "git-annex", "-m", "oracle"],
        None,
    );
    env.git(repo, &["update-ref", "refs/heads/git-annex", &commit]);
}

/// What `git annex metadata --batch --json` shows for each key.
fn git_annex_views(env: &Env, repo: &Path, keys: &[String]) -> Vec<View> {
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
    out.lines()
        .map(|l| {
            let shown: serde_json::Value = serde_json::from_str(l).unwrap();
            let fields: View = serde_json::from_value(shown["fields"].clone()).unwrap();
            normalize(fields)
        })
        .collect()
}

/// git-mixxx's view, each byte that is not UTF-8 shown as `git annex metadata` shows it
/// (U+FFFD).
fn our_view(bytes: &[u8]) -> View {
    let shown = |t: &str| -> String {
        t.chars()
            .map(
                |c| match logmet::bytes_of(c.encode_utf8(&mut [0; 4])).as_slice() {
                    [b] if *b >= 0x80 => '\u{fffd}',
                    _ => c,
                },
            )
            .collect()
    };
    let current = MetLog::parse(&logmet::text_of(bytes)).current();
    normalize(
        current
            .into_iter()
            .map(|(f, vs)| (shown(&f), vs.keys().map(|v| shown(v)).collect()))
            .collect(),
    )
}

#[test]
fn every_log_reads_as_git_annex_reads_it() {
    let n: usize = std::env::var("GIT_MIXXX_DIFFERENTIAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let env = Env::new();
    let repo = env.repo("oracle");
    let mut dice = Dice(2026);
    let logs: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("SHA256E-s{i}--{i:064x}.flac"), log(&mut dice)))
        .collect();
    commit_logs(&env, &repo, &logs);
    let keys: Vec<String> = logs.iter().map(|(k, _)| k.clone()).collect();
    let theirs = git_annex_views(&env, &repo, &keys);
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

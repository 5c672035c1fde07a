//! Checks that each measured step did what it should: the sync reports, the values on the
//! git-annex branch, a clean `git fsck`.

use crate::generate::{Library, values};
use crate::measure::Outcome;
use crate::support::Env;
use std::path::Path;

fn sample_tracks(n: usize) -> Vec<usize> {
    let mut picks = vec![1.min(n - 1), n / 2, n - 1];
    picks.dedup();
    picks
}

/// The branch holds the sample values for a few files (rating, bpm and crate compared), and
/// git finds the repository consistent.
pub fn check_repo(env: &Env, lib: &Library, repo: &Path, upto: usize, what: &str) {
    for i in sample_tracks(upto) {
        let got = env.metadata(repo, &lib.files[i]);
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
    let fsck = env.output(repo, "git", &["fsck", "--no-dangling", "--no-progress"]);
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

pub fn report(out: &Outcome) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("sync --json: {e}:\n{}{}", out.stdout, out.stderr))
}

fn count(report: &serde_json::Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("report has no `{field}`: {report}"))
}

/// Fails loudly unless the first sync pushed every play and history session of the library.
pub fn expect_plays(report: &serde_json::Value, lib: &Library) {
    let sessions = if lib.plays > 0 {
        crate::generate::SESSIONS
    } else {
        0
    };
    assert!(
        count(report, "plays") == lib.plays && count(report, "sessions_pushed") == sessions as u64,
        "expected {} plays and {sessions} sessions pushed; got {report:#}",
        lib.plays
    );
}

/// Fails loudly unless the sync report says exactly this happened.
pub fn expect_report(report: &serde_json::Value, tracks: usize, pushed: usize, pulled: usize) {
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

//! Writing metadata the way another git-annex client does: `git annex metadata --batch --json`
//! input, and committing git-annex's journal when the batch left it uncommitted.

use crate::measure::{Sample, measure};
use crate::support::Env;
use git_mixxx::annex::logmet::Values;
use std::io::Write as _;
use std::path::Path;

pub fn write_batch(path: &Path, lines: impl Iterator<Item = serde_json::Value>) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("batch input"));
    for line in lines {
        writeln!(w, "{line}").expect("write batch input");
    }
    w.flush().expect("flush batch input");
}

pub fn batch_line(file: &str, values: &Values) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(f, vs)| (f.clone(), serde_json::json!(vs)))
        .collect();
    serde_json::json!({ "file": file, "fields": fields })
}

/// Ensures git-annex's journal is committed to the branch; `Some` with the measured
/// `git annex merge` when the batch left it uncommitted.
pub fn commit_journal(env: &Env, repo: &Path) -> Option<Sample> {
    let journal = repo.join(".git/annex/journal");
    let pending = std::fs::read_dir(&journal).is_ok_and(|mut d| d.next().is_some());
    pending.then(|| measure(env, repo, "git", &["annex", "merge", "-q"], None).sample)
}

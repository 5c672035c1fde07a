//! The comparison with another git-annex client: the same values written by
//! `git annex metadata --batch --json` and by git-mixxx's first sync.

use crate::batch::{batch_line, commit_journal, write_batch};
use crate::checks::{check_repo, expect_report, report};
use crate::generate::{Library, values};
use crate::measure::{Sample, measure, median_sample};
use crate::support::{Env, db_exec};

/// The comparison: the same values written by `git annex metadata --batch --json` and by
/// git-mixxx's first sync, for the first `m` tracks.
pub struct Comparison {
    pub m: usize,
    pub batch: Sample,
    pub merge: Option<Sample>,
    pub mixxx: Sample,
}

pub fn compare(
    env: &Env,
    lib: &Library,
    m: usize,
    runs: usize,
    first_syncs: &[Sample],
) -> Comparison {
    let batch_dir = lib.work_dir.with_file_name("batch");
    let input = lib.work_dir.with_file_name("batch.jsonl");
    write_batch(
        &input,
        (0..m).map(|i| batch_line(&lib.files[i], &values(i))),
    );
    let mut batch = Vec::new();
    let mut merges = Vec::new();
    let mut mixxx = Vec::new();
    for run in 0..runs {
        eprintln!("  N={} batch comparison, run {}", lib.n, run + 1);
        lib.fresh_copy(&batch_dir);
        let repo = Library::repo(&batch_dir);
        let out = measure(
            env,
            &repo,
            "git",
            &["annex", "metadata", "--batch", "--json"],
            Some(&input),
        );
        let lines = out.stdout.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(
            lines, m,
            "git annex metadata --batch answered {lines} lines"
        );
        batch.push(out.sample);
        let merge = commit_journal(env, &repo);
        let had_merge = merge.is_some();
        merges.extend(merge);
        if run == 0 {
            check_repo(env, lib, &repo, m, "after git annex metadata --batch");
            let tip_files = env.git(&repo, &["ls-tree", "-r", "--name-only", "git-annex"]);
            let met = tip_files
                .lines()
                .filter(|l| l.ends_with(".log.met"))
                .count();
            assert_eq!(met, m, "metadata logs on the branch after the batch");
            eprintln!(
                "  batch left the journal {}",
                if had_merge {
                    "uncommitted (git annex merge timed too)"
                } else {
                    "committed"
                }
            );
        }

        if m == lib.n {
            continue;
        }
        // git-mixxx on a library of the same m tracks (in the same N-file repository).
        lib.fresh_copy(&lib.work_dir);
        let db = Library::db(&lib.work_dir);
        db_exec(
            &db,
            &format!(
                "DELETE FROM library WHERE id > {m};
                 DELETE FROM track_locations WHERE id > {m};
                 DELETE FROM crate_tracks WHERE track_id > {m};
                 DELETE FROM PlaylistTracks WHERE track_id > {m};
                 VACUUM;"
            ),
        );
        let db_arg = db.to_str().expect("utf-8 path");
        let bin = env.bin();
        let out = measure(
            env,
            &Library::repo(&lib.work_dir),
            bin.to_str().expect("utf-8 binary path"),
            &["sync", "--json", "--db", db_arg],
            None,
        );
        expect_report(&report(&out), m, m, 0);
        mixxx.push(out.sample);
    }
    let _ = std::fs::remove_file(&input);
    if m == lib.n {
        mixxx = first_syncs.to_vec();
    }
    Comparison {
        m,
        batch: median_sample(&batch),
        merge: (!merges.is_empty()).then(|| median_sample(&merges)),
        mixxx: median_sample(&mixxx),
    }
}

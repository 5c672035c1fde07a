//! Proven under faults: keys and paths git-annex escapes, and the other hostile inputs of the
//! fault issue that are not differential (see `differential`).

use crate::util::*;
use serde_json::Value;

// WORM keys of file names with `:`, `%`, `&` and spaces (git-annex escapes them in branch and
// object file names), locked and unlocked, and a URL key: their values sync both ways, at the
// branch paths git-annex reads.
#[test]
fn escaped_keys_sync_both_ways() {
    let env = Env::new();
    let repo = env.repo("music");
    let (locked, unlocked, url) = ("a:b%c&d e.flac", "u:n%l&k e.flac", "stream.mp3");
    for f in [locked, unlocked] {
        std::fs::write(repo.join(f), format!("audio of {f}\n")).unwrap();
    }
    env.git(
        &repo,
        &["annex", "add", "-q", "--backend=WORM", locked, unlocked],
    );
    env.git(&repo, &["annex", "unlock", "-q", unlocked]);
    let url_key = "URL--http&c%%example.com%a b.mp3";
    env.git(&repo, &["annex", "fromkey", "-q", "--force", url_key, url]);
    env.git(&repo, &["commit", "-q", "-m", "odd keys"]);
    let db = env.root.join("mixxx/mixxxdb.sqlite");
    let files = [locked, unlocked, url];
    let tracks: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (loc(&repo, f), vals(&[("rating", &[&(i + 2).to_string()])])))
        .collect();
    create_db(&db, 32, &tracks);
    let report = env.sync(&repo, &db, &[]);
    assert_eq!(report["tracks"], 3, "{report}");
    assert_eq!(report["pushed"], 3, "{report}");
    for (i, f) in files.iter().enumerate() {
        let want = vals(&[("rating", &[&(i + 2).to_string()])]);
        assert_eq!(env.metadata(&repo, f), want, "{f}");
    }
    for f in files {
        env.git(&repo, &["annex", "metadata", "-q", "--set", "rating=1", f]);
    }
    let report: Value = env.sync(&repo, &db, &[]);
    assert_eq!(report["pulled"], 3, "{report}");
    let in_mixxx = db_values(&db);
    for f in files {
        assert_eq!(in_mixxx[&loc(&repo, f)], vals(&[("rating", &["1"])]), "{f}");
    }
}

//! Every change explainable and reversible, on three laptops: `log` tells who changed what in
//! which run, `undo` reverts a run everywhere (leaving values changed since), `restore` puts a
//! backup back without losing what other clones did since.

use crate::laptops::*;
use crate::util::*;
use serde_json::{Value, json};
use std::path::Path;

/// `git mixxx ARGS --json` in `dir`, parsed.
fn json_of(env: &Env, dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&env.mixxx_ok(dir, &all)).expect("JSON")
}

/// The id of this clone's last run, as `status` shows it.
pub(crate) fn last_run(env: &Env, repo: &Path, db: &Path) -> String {
    let status = status(env, repo, db);
    let this = status["clones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["this_clone"] == true)
        .expect("this clone has synced");
    this["id"].as_str().unwrap().to_owned()
}

/// A run of `log --json` as (writer, run, description, [(field, old, new)]).
fn summary(run: &Value) -> (String, Value, Value, Vec<(String, Value, Value)>) {
    let changes = run["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["old"].clone(),
                c["new"].clone(),
            )
        })
        .collect();
    (
        run["writer"].as_str().unwrap().to_owned(),
        run["run"].clone(),
        run["description"].clone(),
        changes,
    )
}

fn ratings_everywhere(t: &Trio, file: &str) -> Vec<Values> {
    t.clones()
        .iter()
        .map(|(repo, db)| values_of(db, &loc(repo, file)))
        .collect()
}

use git_mixxx::annex::logmet::Values;

#[test]
fn log_tells_each_change_of_a_file_by_whom_and_in_order() {
    let t = Trio::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let env = &t.l.env;
    let first_a = last_run(env, &t.l.a, &t.l.db_a);
    edit(&t.l.db_a, &loc(&t.l.a, A), "rating = 5");
    t.l.sync_a(&[]);
    let second_a = last_run(env, &t.l.a, &t.l.db_a);
    t.exchange_all();
    t.l.sync_b(&[]);
    edit(&t.l.db_b, &loc(&t.l.b, A), "rating = 4, color = 65280");
    t.l.sync_b(&[]);
    let run_b = last_run(env, &t.l.b, &t.l.db_b);
    t.exchange_all();
    // On laptop C, by hand.
    env.git(
        &t.c,
        &["annex", "metadata", "-q", "--set", "genre=House", A],
    );
    t.exchange_all();
    t.sync_c(&[]);

    for (repo, _) in t.clones() {
        let log = json_of(env, repo, &["log", A]);
        assert_eq!(log["command"], "log");
        let runs: Vec<_> = log["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(summary)
            .collect();
        let (name, _) = env.identity();
        assert_eq!(log["runs"][0]["author"], name);
        assert_eq!(
            runs,
            [
                (
                    "git_annex".to_owned(),
                    Value::Null,
                    Value::Null,
                    vec![("genre".to_owned(), json!([]), json!(["House"]))]
                ),
                (
                    "git_mixxx".to_owned(),
                    json!(run_b),
                    json!("laptop-b"),
                    vec![
                        ("color".to_owned(), json!([]), json!(["#00FF00"])),
                        ("rating".to_owned(), json!(["5"]), json!(["4"])),
                    ]
                ),
                (
                    "git_mixxx".to_owned(),
                    json!(second_a),
                    json!("laptop-a"),
                    vec![("rating".to_owned(), json!(["3"]), json!(["5"]))]
                ),
                (
                    "git_mixxx".to_owned(),
                    json!(first_a),
                    json!("laptop-a"),
                    vec![("rating".to_owned(), json!([]), json!(["3"]))]
                ),
            ],
            "{log:#}"
        );
        assert!(log["runs"][1]["host"].is_string(), "{log:#}");
        assert_eq!(log["runs"][1]["changes"][0]["path"], A);
    }
    // The other file's history is its own.
    let log = json_of(env, &t.c, &["log", B]);
    assert_eq!(log["runs"].as_array().unwrap().len(), 1, "{log:#}");
    // The whole library, newest first, and as a DJ reads it.
    // C's last run only pulled: the whole library's log says what, and from which runs.
    let log = json_of(env, &t.c, &["log", "-n", "3"]);
    let runs = log["runs"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["run"] == json!(run_b)), "{log:#}");
    let pull = &runs[0];
    assert_eq!(
        (&pull["description"], &pull["changes"]),
        (&json!("laptop-c"), &json!([])),
        "{log:#}"
    );
    assert!(pull["pulled"].as_u64() > Some(0), "{log:#}");
    let sources: Vec<&Value> = pull["pulled_from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["run"])
        .collect();
    assert!(sources.contains(&&json!(run_b)), "{log:#}");
    let text = env.mixxx_ok(&t.c, &["log", "-n", "1"]);
    assert!(
        text.contains(" into Mixxx, from ") && text.contains(&format!("run {run_b} of laptop-b (")),
        "{text}"
    );
    let text = env.mixxx_ok(&t.c, &["log", A]);
    assert!(
        text.contains(&format!("run {run_b} of laptop-b on "))
            && text.contains("    music/House/a.flac  rating  5 → 4")
            && text.contains("git annex metadata, by "),
        "{text}"
    );
    let log = json_of(env, &t.c, &["log", "--since", "2000-01-01", B]);
    assert_eq!(log["runs"].as_array().unwrap().len(), 1, "{log:#}");

    // B syncs while A's branch is fetched but not merged: B's commit carries A's change
    // too, which stays A's, in the file's history and in the library's.
    edit(&t.l.db_a, &loc(&t.l.a, B), "rating = 1");
    t.l.sync_a(&[]);
    let third_a = last_run(env, &t.l.a, &t.l.db_a);
    env.annex_sync(&t.l.a);
    env.git(&t.l.b, &["fetch", "-q", "origin"]);
    edit(&t.l.db_b, &loc(&t.l.b, B), "color = 255");
    t.l.sync_b(&[]);
    let second_b = last_run(env, &t.l.b, &t.l.db_b);
    for args in [&["log", B][..], &["log", "-n", "2"][..]] {
        let log = json_of(env, &t.l.b, args);
        let runs: Vec<_> = log["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(summary)
            .collect();
        assert_eq!(
            runs[..2],
            [
                (
                    "git_mixxx".to_owned(),
                    json!(second_b),
                    json!("laptop-b"),
                    vec![("color".to_owned(), json!([]), json!(["#0000FF"]))]
                ),
                (
                    "git_mixxx".to_owned(),
                    json!(third_a),
                    json!("laptop-a"),
                    vec![("rating".to_owned(), json!(["2"]), json!(["1"]))]
                ),
            ],
            "{args:?}: {log:#}"
        );
    }
    // Undoing B's run reverts B's colour, not A's rating it carried.
    let db_b = t.l.db_b.to_str().unwrap();
    let undo = json_of(env, &t.l.b, &["undo", "--dry-run", "--db", db_b]);
    let fields: Vec<&str> = undo["reverted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["color"], "{undo:#}");
}

#[test]
fn undo_of_another_laptops_run_reverts_it_on_all_three_and_leaves_later_changes() {
    let t = Trio::synced(&[
        (A, vals(&[("rating", &["3"]), ("crate", &["Peak"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let env = &t.l.env;
    edit(&t.l.db_b, &loc(&t.l.b, A), "rating = 4");
    add_to_crate(&t.l.db_b, &loc(&t.l.b, A), "Warmup");
    t.l.sync_b(&[]);
    let run_b = last_run(env, &t.l.b, &t.l.db_b);
    t.exchange_all();
    t.l.sync_a(&[]);
    t.sync_c(&[]);
    assert_eq!(ratings_everywhere(&t, A)[0]["rating"], set_of(&["4"]));

    // On C, B's run is undone by its id: first a dry run.
    let c_db = t.db_c.to_str().unwrap();
    let dry = json_of(env, &t.c, &["undo", &run_b, "--dry-run", "--db", c_db]);
    assert_eq!(dry["reverted"].as_array().unwrap().len(), 2, "{dry:#}");
    assert_eq!(dry["commit"], Value::Null);
    let undo = json_of(env, &t.c, &["undo", &run_b[..6], "--db", c_db]);
    assert_eq!(undo["run"]["id"], json!(run_b));
    assert_eq!(undo["run"]["description"], "laptop-b");
    assert_eq!(undo["sync"]["pulled"], 1, "{undo:#}");
    assert_eq!(undo["changed_since"], json!([]));
    t.exchange_all();
    t.l.sync_a(&[]);
    t.l.sync_b(&[]);
    let before = vals(&[("rating", &["3"]), ("crate", &["Peak"])]);
    for values in ratings_everywhere(&t, A) {
        assert_eq!(values, before);
    }
    for (repo, db) in t.clones() {
        assert_eq!(env.metadata(repo, A), before);
        assert_settled(env, repo, db);
    }
    // The undo is in the history, as a run of C.
    let log = json_of(env, &t.l.a, &["log", "-n", "1", A]);
    assert_eq!(log["runs"][0]["undid"], json!(run_b), "{log:#}");
    assert_eq!(log["runs"][0]["description"], "laptop-c");

    // A rates b.flac; B changes it again; undoing A's run leaves B's value, listed.
    edit(&t.l.db_a, &loc(&t.l.a, B), "rating = 5");
    t.l.sync_a(&[]);
    t.exchange_all();
    t.l.sync_b(&[]);
    edit(&t.l.db_b, &loc(&t.l.b, B), "rating = 1");
    t.l.sync_b(&[]);
    t.exchange_all();
    let a_db = t.l.db_a.to_str().unwrap();
    let undo = json_of(env, &t.l.a, &["undo", "--db", a_db]);
    assert_eq!(undo["reverted"], json!([]), "{undo:#}");
    assert_eq!(undo["commit"], Value::Null);
    let left = &undo["changed_since"][0];
    assert_eq!(
        (&left["path"], &left["before"], &left["after"], &left["now"]),
        (&json!(B), &json!(["2"]), &json!(["5"]), &json!(["1"]))
    );
    assert_eq!(env.metadata(&t.l.a, B)["rating"], set_of(&["1"]));
    let text = env.mixxx_ok(&t.l.a, &["undo", "--dry-run", "--db", a_db]);
    assert!(
        text.contains("changed again after that run, left alone"),
        "{text}"
    );
    // Forced, it goes back to what it was before A's run.
    let undo = json_of(env, &t.l.a, &["undo", "--force", "--db", a_db]);
    assert_eq!(undo["reverted"].as_array().unwrap().len(), 1, "{undo:#}");
    assert_eq!(env.metadata(&t.l.a, B)["rating"], set_of(&["2"]));
    assert_eq!(
        values_of(&t.l.db_a, &loc(&t.l.a, B))["rating"],
        set_of(&["2"])
    );
}

const DROP: &str = "hotcue 1 44100 0 #FF0000 Drop";
const INTRO: &str = "intro - 1000 5000 #000000";
const BREAK_B: &str = "hotcue 2 200000 0 #0000FF BreakB";

/// Edits a track's cues in Mixxx (`SET` or `DELETE` clauses of SQL on its rows).
fn cue_sql(db: &Path, location: &str, sql: &str) {
    db_exec(db, &sql.replace("{track}", &track(location)));
}

/// Laptop B adds hot cue 2 (Break B) to the track at `location`.
fn add_break_b(db: &Path, location: &str) {
    cue_sql(
        db,
        location,
        "INSERT INTO cues (track_id, type, hotcue, position, length, color, label) \
         SELECT {track}, 1, 1, 200000, 0, 255, 'BreakB'",
    );
}

/// (field, before, after, now) of each entry of an undo's `reverted` or `changed_since`.
fn parts(list: &Value) -> Vec<(String, Value, Value, Value)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = r["field"].as_str().unwrap().to_owned();
            (
                field,
                r["before"].clone(),
                r["after"].clone(),
                r["now"].clone(),
            )
        })
        .collect()
}

// Laptop A's run moves hot cue 1, deletes the intro, adds the track to crates Peak and New and
// takes it out of Old. Laptop B then adds hot cue 2 and crate Late, takes the track out of New
// and puts it back in Old. Undoing A's run reverts cue by cue and crate by crate: hot cue 1
// and the intro come back, Peak goes; B's cue and crates stay, and what B already put back
// needs nothing. A genre waiting in git-annex's journal on A is kept.
#[test]
fn undo_reverts_cue_by_cue_and_crate_by_crate_and_leaves_the_other_laptops() {
    let l = Laptops::synced(&[
        (
            A,
            vals(&[("cue", &[DROP, INTRO]), ("crate", &["Old", "Warm"])]),
        ),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let env = &l.env;
    let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
    cue_sql(
        &l.db_a,
        &at_a,
        "UPDATE cues SET position = 99999 WHERE track_id = {track} AND hotcue = 0;
         DELETE FROM cues WHERE track_id = {track} AND type = 6;",
    );
    add_to_crate(&l.db_a, &at_a, "Peak");
    add_to_crate(&l.db_a, &at_a, "New");
    remove_from_crate(&l.db_a, &at_a, "Old");
    l.sync_a(&[]);
    let run_a = last_run(env, &l.a, &l.db_a);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    add_break_b(&l.db_b, &at_b);
    add_to_crate(&l.db_b, &at_b, "Late");
    remove_from_crate(&l.db_b, &at_b, "New");
    add_to_crate(&l.db_b, &at_b, "Old");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);

    // A genre set by hand on A waits in git-annex's journal: the undo reads and keeps it.
    env.git(
        &l.a,
        &[
            "-c",
            "annex.alwayscommit=false",
            "annex",
            "metadata",
            "-q",
            "-s",
            "genre=House",
            A,
        ],
    );
    let moved = "hotcue 1 99999 0 #FF0000 Drop";
    let undo = json_of(
        env,
        &l.a,
        &["undo", &run_a, "--db", l.db_a.to_str().unwrap()],
    );
    assert_eq!(
        parts(&undo["reverted"]),
        [
            ("crate".into(), json!([]), json!(["Peak"]), json!(["Peak"])),
            ("cue".into(), json!([DROP]), json!([moved]), json!([moved])),
            ("cue".into(), json!([INTRO]), json!([]), json!([])),
        ],
        "{undo:#}"
    );
    assert_eq!(undo["changed_since"], json!([]), "{undo:#}");
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let expected = vals(&[
        ("cue", &[DROP, INTRO, BREAK_B]),
        ("crate", &["Late", "Old", "Warm"]),
        ("genre", &["House"]),
    ]);
    assert_eq!(env.metadata(&l.a, A), expected);
    assert_eq!(values_of(&l.db_a, &at_a), expected);
    assert_eq!(values_of(&l.db_b, &at_b), expected);
    assert_settled(env, &l.a, &l.db_a);
    assert_settled(env, &l.b, &l.db_b);
}

// Laptop A's run moves hot cue 1 and adds the track to crate Peak; laptop B moves hot cue 1
// again and adds hot cue 2 and crate Late. Undoing A's run takes Peak away and lists hot cue
// 1, changed since; forced, it puts hot cue 1 back where it was before A's run, and B's hot
// cue 2 and crate Late stay: --force reverts only what the run changed.
#[test]
fn undo_force_puts_back_a_cue_changed_since_and_never_removes_the_other_laptops() {
    let l = Laptops::synced(&[
        (A, vals(&[("cue", &[DROP]), ("crate", &["Old"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let env = &l.env;
    let (at_a, at_b) = (loc(&l.a, A), loc(&l.b, A));
    let db_a = l.db_a.to_str().unwrap();
    cue_sql(
        &l.db_a,
        &at_a,
        "UPDATE cues SET position = 99999 WHERE track_id = {track} AND hotcue = 0",
    );
    add_to_crate(&l.db_a, &at_a, "Peak");
    l.sync_a(&[]);
    let run_a = last_run(env, &l.a, &l.db_a);
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    cue_sql(
        &l.db_b,
        &at_b,
        "UPDATE cues SET position = 77777 WHERE track_id = {track} AND hotcue = 0",
    );
    add_break_b(&l.db_b, &at_b);
    add_to_crate(&l.db_b, &at_b, "Late");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);

    let (moved, moved_again) = (
        "hotcue 1 99999 0 #FF0000 Drop",
        "hotcue 1 77777 0 #FF0000 Drop",
    );
    let undo = json_of(env, &l.a, &["undo", &run_a, "--db", db_a]);
    assert_eq!(
        parts(&undo["reverted"]),
        [("crate".into(), json!([]), json!(["Peak"]), json!(["Peak"]))],
        "{undo:#}"
    );
    let changed = (
        "cue".into(),
        json!([DROP]),
        json!([moved]),
        json!([moved_again]),
    );
    assert_eq!(
        parts(&undo["changed_since"]),
        std::slice::from_ref(&changed),
        "{undo:#}"
    );
    assert_eq!(
        env.metadata(&l.a, A),
        vals(&[
            ("cue", &[moved_again, BREAK_B]),
            ("crate", &["Late", "Old"])
        ])
    );
    let text = env.mixxx_ok(&l.a, &["undo", &run_a, "--dry-run", "--db", db_a]);
    assert!(
        text.contains("1 value changed again after that run"),
        "{text}"
    );

    let forced = json_of(env, &l.a, &["undo", &run_a, "--force", "--db", db_a]);
    assert_eq!(
        parts(&forced["reverted"]),
        std::slice::from_ref(&changed),
        "{forced:#}"
    );
    assert_eq!(parts(&forced["changed_since"]), [changed], "{forced:#}");
    l.exchange(&[&l.a, &l.b]);
    l.sync_b(&[]);
    let expected = vals(&[("cue", &[DROP, BREAK_B]), ("crate", &["Late", "Old"])]);
    assert_eq!(env.metadata(&l.a, A), expected);
    assert_eq!(values_of(&l.db_a, &at_a), expected);
    assert_eq!(values_of(&l.db_b, &at_b), expected);
    assert_settled(env, &l.a, &l.db_a);
    assert_settled(env, &l.b, &l.db_b);
}

#[test]
fn restore_puts_a_backup_back_and_the_next_sync_loses_nothing_newer() {
    let l = Laptops::synced(&[
        (A, vals(&[("rating", &["3"])])),
        (B, vals(&[("rating", &["2"])])),
    ]);
    let env = &l.env;
    let db_a = l.db_a.to_str().unwrap();
    edit(&l.db_b, &loc(&l.b, A), "rating = 4");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    let pulled = l.sync_a(&[]);
    assert_eq!(pulled["pulled"], 1);
    let first_backup = pulled["backup"].as_str().unwrap().to_owned();
    let run_a = last_run(env, &l.a, &l.db_a);
    edit(&l.db_b, &loc(&l.b, B), "rating = 5, color = 255");
    l.sync_b(&[]);
    l.exchange(&[&l.b, &l.a]);
    l.sync_a(&[]);

    let list = json_of(env, &l.a, &["restore", "--list", "--db", db_a]);
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2, "{list:#}");
    assert_eq!(backups[1]["path"], json!(first_backup));
    assert_eq!(backups[1]["run"], json!(run_a));
    let name = backups[1]["name"].as_str().unwrap().to_owned();
    let text = env.mixxx_ok(&l.a, &["restore", "--db", db_a]);
    let first_column: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(first_column[1], name, "{text}");
    assert!(text.contains(&format!("before run {run_a}")), "{text}");

    // Not while Mixxx runs.
    let holder = Holder::spawn(&l.db_a);
    let out = env.mixxx(&l.a, &["restore", &name, "--db", db_a]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(
        text_of(&out).contains("Mixxx is running"),
        "{}",
        text_of(&out)
    );
    drop(holder);

    let prefix = name.trim_end_matches(".sqlite");
    let restored = json_of(env, &l.a, &["restore", prefix, "--db", db_a]);
    assert_eq!(restored["restored"]["name"], json!(name));
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, A)),
        vals(&[("rating", &["3"])])
    );
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, B)),
        vals(&[("rating", &["2"])])
    );
    // The database as it was is a backup too.
    let now = json_of(env, &l.a, &["restore", "--db", db_a]);
    assert_eq!(now["backups"].as_array().unwrap().len(), 3, "{now:#}");

    let report = l.sync_a(&[]);
    assert_eq!(report["database_replaced"], true, "{report}");
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, A)),
        vals(&[("rating", &["4"])])
    );
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, B)),
        vals(&[("rating", &["5"]), ("color", &["#0000FF"])])
    );
    assert_eq!(env.metadata(&l.a, A)["rating"], set_of(&["4"]));
    assert_eq!(env.metadata(&l.a, B)["rating"], set_of(&["5"]));
    assert_settled(env, &l.a, &l.db_a);

    // A damaged database (what Mixxx's error about it advises) is set aside, then replaced;
    // a missing one is put back.
    std::fs::write(&l.db_a, b"this is no longer a database").unwrap();
    let restored = json_of(env, &l.a, &["restore", &name, "--db", db_a]);
    assert_eq!(restored["damaged"], true, "{restored:#}");
    let aside = restored["backup"].as_str().unwrap();
    assert_eq!(
        std::fs::read(aside).unwrap(),
        b"this is no longer a database"
    );
    std::fs::remove_file(&l.db_a).unwrap();
    let restored = json_of(env, &l.a, &["restore", &name, "--db", db_a]);
    assert_eq!(restored["backup"], Value::Null, "{restored:#}");
    l.sync_a(&[]);
    assert_eq!(
        values_of(&l.db_a, &loc(&l.a, A)),
        vals(&[("rating", &["4"])])
    );
    assert_settled(env, &l.a, &l.db_a);
}

fn text_of(out: &std::process::Output) -> String {
    text(out)
}

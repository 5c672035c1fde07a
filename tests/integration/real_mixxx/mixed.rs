//! Mixed versions: a laptop on Mixxx 2.3 and one on Mixxx 2.5 share one library. What 2.5 writes
//! that 2.3 cannot show (a saved loop in a hot cue slot) stays in 2.3's database, through the
//! real Mixxx 2.3.3 loading the track, and comes back unchanged; when the 2.3 laptop upgrades
//! (the real Mixxx 2.5.0 migrates its database to revision 39), its next sync pushes and pulls
//! nothing.

use super::*;
use crate::laptops::*;

/// A sync that finds nothing to do on either side.
fn assert_nothing_to_do(report: &serde_json::Value) {
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(report["pulled"], 0, "{report}");
    assert_eq!(report["imported"], serde_json::json!([]), "{report}");
    assert_eq!(report["conflicts"], serde_json::json!([]), "{report}");
}

#[test]
fn a_mixxx_2_3_laptop_keeps_what_mixxx_2_5_wrote_and_upgrades_without_a_change() {
    let (Some(old), Some(new)) = (Mixxx::v2_3(), Mixxx::v2_5()) else {
        return;
    };
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let file = "music/Loop me.flac";
    click_track(&env, &a.join(file), 0.5, 60, 1.3, 2.0);
    env.git(&a, &["annex", "add", "-q", "--", file]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);
    let (at_a, at_b) = (loc(&a, file), loc(&b, file));

    // Laptop B (Mixxx 2.5.0) analyses the track and saves a loop in hot cue slot 4.
    let db_b = new.analysed(&env, &env.root.join("mixxx-b"), &[b.join(file)]);
    assert!(
        cue_kinds(&db_b, &at_b, "4").contains(&"integer 4 | integer 3".to_owned()),
        "a saved loop: {:#?}",
        cues(&db_b, &at_b, SYNCED)
    );
    // Laptop A (Mixxx 2.3.3) scanned the same file; it pulls B's analysis and cues.
    let settings_a = env.root.join("mixxx-a");
    let db_a = old.scanned(&env, &settings_a, &a.join("music"), 1);
    assert_eq!(env.sync(&b, &db_b, &[])["pushed"], 1);
    env.annex_sync(&b);
    env.annex_sync(&a);
    assert_eq!(env.sync(&a, &db_a, &[])["pulled"], 1);
    let pulled = cues(&db_a, &at_a, SYNCED);
    assert_eq!(pulled, cues(&db_b, &at_b, SYNCED));

    // Mixxx 2.3.3 loads the track and quits (saving it): the saved loop stays as it was.
    old.load(&env, &settings_a, &[a.join(file)]);
    assert_eq!(
        cues(&db_a, &at_a, SYNCED),
        pulled,
        "Mixxx 2.3.3 kept the saved loop"
    );
    assert_nothing_to_do(&env.sync(&a, &db_a, &[]));
    env.annex_sync(&a);
    env.annex_sync(&b);
    assert_nothing_to_do(&env.sync(&b, &db_b, &[]));

    // A upgrades: Mixxx 2.5.0 opens A's database (migrating it to 39) and rescans.
    new.rescan(&env, &settings_a);
    assert_eq!(
        rows(
            &db_a,
            "SELECT value FROM settings WHERE name = 'mixxx.schema.version'"
        ),
        ["text \"39\""]
    );
    assert_eq!(cues(&db_a, &at_a, SYNCED), pulled);
    assert_nothing_to_do(&env.sync(&a, &db_a, &[]));
    env.annex_sync(&a);
    env.annex_sync(&b);
    assert_nothing_to_do(&env.sync(&b, &db_b, &[]));
    assert_settled(&env, &a, &db_a);
}

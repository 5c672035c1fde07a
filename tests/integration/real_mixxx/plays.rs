//! Plays and history sessions the real Mixxx 2.3.3 wrote reach the other laptop's real Mixxx,
//! which shows the session under History. Mixxx 2.3.3 only: the way to History through the
//! sidebar follows 2.3.3's log lines. How Mixxx plays: a file given on its command line is
//! loaded into deck 2, which `l` plays (Mixxx counts a play when a deck plays audibly, checking
//! every 2 s); the `history` driver goes down the library's sidebar to History (the item after
//! Recordings, whose folder Mixxx logs), opens it, goes down its sessions until one with
//! tracks shows, loads its first track into deck 1 and plays it (`d`), with the keys of
//! [`HISTORY_KEYS`].

use super::*;
use crate::laptops::*;

/// The keys that play deck 2 for six seconds.
const PLAY_KEYS: &str = "Escape Escape l sleep6 l";

/// The keys the `history` driver presses, added to Mixxx's default keyboard mapping in the
/// settings directory's `Custom.kbd.cfg` (which Mixxx prefers to its own): down the sidebar,
/// open or close its item, down the track list, load the selected track into the first
/// stopped deck.
const HISTORY_KEYS: &str = "\n[Playlist]\nSelectNextPlaylist F5\nToggleSelectedSidebarItem F6\n\
     SelectNextTrack F7\nLoadSelectedIntoFirstStopped F8\n";

/// The real Mixxx's play counts and history in the database at `db`: (location, times played)
/// of every track, and each history playlist's name with its entries' locations and times.
fn played(db: &Path) -> (Vec<String>, Vec<String>) {
    let counts = rows(
        db,
        "SELECT tl.location, l.timesplayed FROM library l \
         JOIN track_locations tl ON tl.id = l.location",
    );
    let history = rows(
        db,
        "SELECT p.id, p.name, tl.location, pt.pl_datetime_added FROM Playlists p \
         JOIN PlaylistTracks pt ON pt.playlist_id = p.id JOIN library l ON l.id = pt.track_id \
         JOIN track_locations tl ON tl.id = l.location WHERE p.hidden = 2",
    );
    (counts, history)
}

// Laptop A's real Mixxx plays a track (loaded into a deck, played through key presses long
// enough to count), so that it writes a play and a history entry; after `git mixxx sync`, `git
// annex sync` and `git mixxx sync` on B (whose real Mixxx scanned the same files), B's Mixxx has
// the play and A's session as a history playlist; B's real Mixxx shows it under History: going
// down its sidebar to History and into the first session with tracks, it loads that session's
// track and plays it, which counts as a play of B's in a session of B's own. Those reach A in
// turn, and both laptops end with the two plays and each other's session.
#[test]
fn plays_and_history_the_real_mixxx_wrote_reach_the_other_mixxx() {
    let Some(mixxx) = Mixxx::v2_3() else {
        return;
    };
    let env = Env::new();
    let nas = env.nas();
    let a = env.laptop(&nas, "laptop-a");
    let files = ["music/Played.flac", "music/Not played.flac"];
    std::fs::create_dir_all(a.join("music")).unwrap();
    click_track(&env, &a.join(files[0]), 0.5, 40, 0.5, 0.5);
    click_track(&env, &a.join(files[1]), 0.45, 40, 0.5, 0.5);
    env.git(&a, &["annex", "add", "-q", "--", files[0], files[1]]);
    env.git(&a, &["commit", "-q", "-m", "add music"]);
    env.git(&a, &["annex", "copy", "-q", "--to", "origin", "."]);
    env.annex_sync(&a);
    let b = env.laptop(&nas, "laptop-b");
    env.annex_sync(&b);
    env.git(&b, &["annex", "get", "-q", "."]);

    let settings_a = env.root.join("mixxx-a");
    let played_file = a.join(files[0]);
    let db_a = mixxx.decks(&env, &settings_a, "analyse", &[played_file], PLAY_KEYS);
    let (counts, history) = played(&db_a);
    assert_eq!(
        counts,
        [format!("text {:?} | integer 1", loc(&a, files[0]))],
        "the real Mixxx counted the play"
    );
    assert_eq!(
        history.len(),
        1,
        "and logged it in its session: {history:?}"
    );
    let report = env.sync(&a, &db_a, &[]);
    assert_eq!(
        (report["plays"].clone(), report["sessions_pushed"].clone()),
        (1.into(), 1.into()),
        "{report}"
    );
    env.annex_sync(&a);
    env.annex_sync(&b);

    let settings_b = env.root.join("mixxx-b");
    let db_b = mixxx.scanned(&env, &settings_b, &b.join("music"), files.len());
    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(report["sessions_added"], 1, "{report}");
    let (counts, history) = played(&db_b);
    assert!(
        counts.contains(&format!("text {:?} | integer 1", loc(&b, files[0]))),
        "{counts:?}"
    );
    let at = history[0].rsplit(" | ").next().unwrap().to_owned();
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(
        history[0].contains("(laptop-a)"),
        "named with A's description: {history:?}"
    );

    let keys = std::fs::read_to_string("/usr/share/mixxx/keyboard/en_US.kbd.cfg")
        .expect("Mixxx's keyboard mapping (apt-get install mixxx)");
    std::fs::write(settings_b.join("Custom.kbd.cfg"), keys + HISTORY_KEYS).unwrap();
    mixxx.run(&env, &settings_b, &["history"], "");
    let (counts, history) = played(&db_b);
    assert!(
        counts.contains(&format!("text {:?} | integer 2", loc(&b, files[0]))),
        "B's Mixxx played the track of A's session it showed under History: {counts:?}"
    );
    assert_eq!(
        history.len(),
        2,
        "A's session, and B's own with the play: {history:?}"
    );
    assert!(
        history
            .iter()
            .any(|h| h.contains("(laptop-a)") && h.ends_with(&at)),
        "A's session as it came: {history:?}"
    );

    let report = env.sync(&b, &db_b, &[]);
    assert_eq!(
        (report["plays"].clone(), report["sessions_pushed"].clone()),
        (1.into(), 1.into()),
        "{report}"
    );
    env.annex_sync(&b);
    env.annex_sync(&a);
    let report = env.sync(&a, &db_a, &[]);
    assert_eq!(report["sessions_added"], 1, "{report}");
    let (counts, history) = played(&db_a);
    assert!(
        counts.contains(&format!("text {:?} | integer 2", loc(&a, files[0]))),
        "{counts:?}"
    );
    assert!(
        history.iter().any(|h| h.contains("(laptop-b)")),
        "{history:?}"
    );
    assert_settled(&env, &a, &db_a);
    assert_settled(&env, &b, &db_b);
}

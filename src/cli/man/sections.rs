//! The sections of the manual pages that the command-line definitions do not hold: the fields
//! on the branch (git-mixxx(1)), and on every page CONFIGURATION (every `mixxx.*` key), FILES,
//! EXIT STATUS, EXAMPLES (the README's everyday commands, or the command's own) and SEE ALSO.
//! Lists render as lists (`.TP`: a term, then its text).

use roff::{Roff, bold, italic, roman};

/// A list: (term, text).
type List = &'static [(&'static str, &'static str)];

const FIELDS: List = &[
    ("rating", "1 to 5."),
    (
        "bpm",
        "Two decimals, 128.00; kept consistent with the beat grid.",
    ),
    (
        "key",
        "One notation: C Db D Eb E F F# G Ab A Bb B, Cm C#m Dm Ebm Em Fm F#m Gm G#m Am Bbm Bm; written back in the clone's own notation.",
    ),
    ("color", "#RRGGBB, upper-case hex."),
    (
        "artist, title, album, albumartist, genre, year, tracknumber, comment, composer, grouping",
        "Text, as Mixxx holds it.",
    ),
    (
        "crate, playlist",
        "One value per crate or user playlist the track is in.",
    ),
    (
        "cue",
        "One value per cue: KIND SLOT POSITION LENGTH COLOR [LABEL], KIND one of hotcue, maincue, loop, jump, intro, outro; SLOT 1 to 37 or -; positions in Mixxx's engine samples as stored (hotcue 1 5443200 0 #FF0000 Drop).",
    ),
    (
        "grid",
        "The beat grid: VERSION LOCK BASE64 [SUB-VERSION] (BeatGrid-2.0, BeatGrid-1.0 or BeatMap-1.0; the blob byte for byte).",
    ),
    (
        "mixxx/playlists/<id>.log",
        "Not a field: a playlist's order, each line an order naming the lines it was made from; orders edited on two clones merge per entry.",
    ),
];

const CONFIGURATION: List = &[
    (
        "mixxx.db",
        "The path of this clone's Mixxx database (else GIT_MIXXX_DB, else the --settingsPath of mixxx.command, else the first of Mixxx's default locations that exists; git mixxx status says which is used). --db PATH overrides it for one run.",
    ),
    (
        "mixxx.command",
        "The command git mixxx launch starts (default mixxx), split as a shell would but run without one, e.g. mixxx --settingsPath ~/dj.",
    ),
    (
        "mixxx.import",
        "false: a sync adds no files to Mixxx (as --no-import). By default it adds the annexed audio files whose content is here and that the branch has Mixxx metadata for.",
    ),
    (
        "mixxx.prefix",
        "Another absolute path under which Mixxx sees this work tree, for a mount that resolving symlinks cannot see (a NAS mounted at another path); may be given several times (git config --add). Paths reached through symlinks need none: they are compared with symlinks resolved.",
    ),
    (
        "mixxx.hooks",
        "false: the installed hooks do nothing (to switch them off for a while).",
    ),
    (
        "mixxx.strict",
        "true: a failing pre-commit hook fails the commit (default: one warning line, and the commit goes on).",
    ),
    (
        "mixxx.clearGuard",
        "false: no limit on how many values one sync may clear on the branch (default true: a sync that would clear many refuses, see --allow-clears).",
    ),
    (
        "mixxx.private",
        "true: the run records and commit messages this clone writes on the branch leave out this machine's host name and the Mixxx database's path (default false).",
    ),
];

const FILES: List = &[
    (
        "~/.mixxx/mixxxdb.sqlite",
        "Mixxx's database on Linux; then ~/.var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite (Flatpak). On macOS ~/Library/Containers/org.mixxx.mixxx/Data/Library/Application Support/Mixxx/mixxxdb.sqlite, then ~/Library/Application Support/Mixxx/mixxxdb.sqlite; on Windows %LOCALAPPDATA%\\Mixxx\\mixxxdb.sqlite.",
    ),
    (
        "git-mixxx-backups/",
        "Beside the database: the backups git-mixxx takes before it writes Mixxx (git mixxx restore --list), kept by age.",
    ),
    (
        "$GIT_DIR/mixxx/",
        "git-mixxx's local files: this clone's own sync state in <uuid>/ (its runs, and one base per Mixxx database it syncs: authoritative, the branch's copy is read back only when it is missing, and only for runs this repository's reflog vouches for), the keys of the work tree's files, the no-change fingerprint, acknowledged conflicts, the hooks' lock, log and last runs.",
    ),
    (
        "mixxx/ on the git-annex branch",
        "Each clone's run records (mixxx/<uuid>/runs), the keys it synced (mixxx/<uuid>/synced/) and the playlists' orders (mixxx/playlists/).",
    ),
];

const EXIT_STATUS: List = &[
    ("0", "Success."),
    (
        "1",
        "Some values could not be synced (the rest were), or the clear guard refused the run.",
    ),
    (
        "2",
        "A usage, configuration or environment error: no repository, no git-annex, a database that is missing, a folder, not Mixxx's or of an unknown schema revision.",
    ),
    ("70", "A bug in git-mixxx."),
];

const EXAMPLES: List = &[
    (
        "git mixxx status",
        "Which Mixxx database this clone uses and why, every clone's last sync, and what a sync would do now.",
    ),
    (
        "git mixxx sync",
        "Push this Mixxx's changes to the branch, then apply the branch's to Mixxx.",
    ),
    (
        "git mixxx install-hooks",
        "From now on commits and git annex sync are enough.",
    ),
    (
        "git annex sync",
        "Carries the metadata to the NAS and the other clones.",
    ),
    (
        "git mixxx log --since yesterday",
        "What changed since yesterday, run by run.",
    ),
    (
        "git mixxx undo",
        "Revert this clone's last run that changed the branch.",
    ),
];

/// A command's own examples.
fn examples(command: &str) -> List {
    match command {
        "sync" => &[
            (
                "git mixxx sync --dry-run -v",
                "What a sync would change, field by field; nothing is written.",
            ),
            (
                "git mixxx sync music/new",
                "Only the tracks under music/new.",
            ),
            (
                "git mixxx sync --prefer mixxx",
                "Where Mixxx and the branch both changed a value, keep Mixxx's.",
            ),
        ],
        "log" => &[
            (
                "git mixxx log -n 3",
                "The last three runs of the whole library.",
            ),
            (
                "git mixxx log --since 2.weeks.ago --date=relative",
                "Two weeks of history, dates as ages.",
            ),
            (
                "git mixxx log music/track.flac",
                "The whole history of one track.",
            ),
        ],
        "undo" => &[
            (
                "git mixxx undo --dry-run",
                "What undoing this clone's last run would revert.",
            ),
            (
                "git mixxx undo 8ca9",
                "Undo the run whose id starts with 8ca9 (git mixxx log shows ids).",
            ),
        ],
        "restore" => &[
            ("git mixxx restore --list", "The backups, newest first."),
            (
                "git mixxx restore mixxxdb.sqlite.2026",
                "Put back the backup whose name starts so; then git mixxx sync.",
            ),
        ],
        "" => EXAMPLES,
        _ => &EXAMPLES[..4],
    }
}

const SEE_ALSO: &str = "git-annex(1), git-annex-metadata(1), git-annex-sync(1), git-annex-view(1), githooks(5), git-mixxx-json(7), mixxx(1)";

/// Writes a section of `list` as tagged paragraphs.
fn list(roff: &mut Roff, title: &str, items: List) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", [])
            .text([bold(*term)])
            .text([roman(*text)]);
    }
}

/// FIELDS (git-mixxx(1) only): the fields on the git-annex branch.
pub fn fields() -> Roff {
    let mut roff = Roff::new();
    list(&mut roff, "FIELDS", FIELDS);
    roff
}

/// The sections after OPTIONS of `command`'s page (empty for git-mixxx(1)).
pub fn rest(command: &str) -> Roff {
    let mut roff = Roff::new();
    list(&mut roff, "CONFIGURATION", CONFIGURATION);
    list(&mut roff, "FILES", FILES);
    list(&mut roff, "EXIT STATUS", EXIT_STATUS);
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in examples(command) {
        roff.control("TP", [])
            .text([bold(*command)])
            .text([roman(*what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([italic(SEE_ALSO)]);
    roff.control("PP", []);
    roff.text([roman("git-mixxx's README and docs/json.md, in its source.")]);
    roff
}

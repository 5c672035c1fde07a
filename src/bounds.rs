//! The limits on what git-mixxx reads from the git-annex branch, which any clone can write:
//! well above any real library, so that a hostile or broken clone's files cost bounded memory
//! and time. A file's size is read from its object header before the object; beyond a limit
//! the entry (a file, a line, a run record, a commit's message) is skipped and noted
//! ([`Skipped`]), and whoever runs the reading collects the notes ([`collect`]) to report them
//! (a sync through its observer, `status` in its result): the library prints nothing.
//!
//! Time has a limit too: a date more than [`FUTURE_SECS`] past this machine's clock is not
//! trusted to order anything this clone chooses (its base, its last run).

use std::cell::RefCell;
use std::fmt;

/// A file on the branch (its blob): larger ones are not read.
pub const FILE_BYTES: u64 = 32 << 20;
/// Lines read from one file; the lines after them are skipped.
pub const LINES: usize = 200_000;
/// A line of a metadata log (several values of up to [`VALUE_BYTES`] each).
pub const LINE_BYTES: usize = 4 << 20;
/// A value in a metadata log, decoded.
pub const VALUE_BYTES: usize = 1 << 20;
/// Entries of one playlist order (a line of `mixxx/playlists/<id>.log`): a playlist of
/// 100,000 tracks.
pub const ORDER_ENTRIES: usize = 100_000;
/// A line of a playlist order file: [`ORDER_ENTRIES`] keys of 160 bytes.
pub const ORDER_LINE_BYTES: usize = 16 << 20;
/// A run record: one line of a `runs` file.
pub const RECORD_BYTES: usize = 1 << 20;
/// A history session: one line of a clone's history file ([`crate::sync::sessions`]).
pub const SESSION_BYTES: usize = 1 << 20;
/// The entries of one history session.
pub const SESSION_ENTRIES: usize = 10_000;
/// A commit object read for its message (trailers); larger ones are read as without any.
pub const COMMIT_BYTES: u64 = 1 << 20;
/// Clones whose state (`mixxx/<uuid>/`) is read; more are skipped.
pub const CLONES: usize = 1000;
/// How far past this machine's clock a date may be and still count as now (clocks are a
/// little off, and time zones are easy to get wrong by hours).
pub const FUTURE_SECS: i64 = 86_400;

/// What was beyond a limit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum Beyond {
    /// A file of `bytes` bytes, over [`FILE_BYTES`].
    File { bytes: u64 },
    /// `count` lines after the first [`LINES`].
    Lines { count: usize },
    /// `count` lines longer than their limit (the longest `bytes`).
    LongLines { count: usize, bytes: usize },
    /// `count` lines beyond the limits of their kind (a metadata log's lines after the first
    /// [`LINES`], over [`LINE_BYTES`] or with a value over [`VALUE_BYTES`]).
    Entries { count: usize },
    /// A commit object of `bytes` bytes, over [`COMMIT_BYTES`].
    Commit { bytes: u64 },
    /// `count` clone folders after the first [`CLONES`].
    Clones { count: usize },
}

/// An entry skipped for a limit: the file (a branch path, or a commit) and what was beyond.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub file: String,
    #[serde(flatten)]
    pub beyond: Beyond,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |n: u64| n as f64 / f64::from(1 << 20);
        match &self.beyond {
            Beyond::File { bytes } => write!(
                f,
                "{}: not read, {:.1} MiB is over the limit of {} MiB for a file",
                self.file,
                mib(*bytes),
                FILE_BYTES >> 20
            ),
            Beyond::Lines { count } => write!(
                f,
                "{}: {count} lines after the first {LINES} skipped",
                self.file
            ),
            Beyond::LongLines { count, bytes } => write!(
                f,
                "{}: {count} line(s) over the size limit skipped (the longest {:.1} MiB)",
                self.file,
                mib(*bytes as u64)
            ),
            Beyond::Entries { count } => write!(
                f,
                "{}: {count} line(s) beyond the limits skipped",
                self.file
            ),
            Beyond::Commit { bytes } => write!(
                f,
                "commit {}: its message not read, {:.1} MiB is over the limit of {} MiB",
                self.file,
                mib(*bytes),
                COMMIT_BYTES >> 20
            ),
            Beyond::Clones { count } => write!(
                f,
                "{}: the state of {count} clones after the first {CLONES} skipped",
                self.file
            ),
        }
    }
}

thread_local! {
    /// The notes of the innermost [`collect`] running on this thread.
    static NOTES: RefCell<Vec<Vec<Skipped>>> = const { RefCell::new(Vec::new()) };
}

/// Notes an entry skipped for a limit (once, however often it is read).
pub fn note(skipped: Skipped) {
    NOTES.with(|notes| {
        if let Some(top) = notes.borrow_mut().last_mut()
            && !top.contains(&skipped)
        {
            top.push(skipped);
        }
    });
}

/// Runs `work`, returning with its result what it skipped for a limit.
pub fn collect<T>(work: impl FnOnce() -> T) -> (T, Vec<Skipped>) {
    NOTES.with(|notes| notes.borrow_mut().push(Vec::new()));
    /// Pops the frame even when `work` unwinds.
    struct Frame;
    impl Drop for Frame {
        fn drop(&mut self) {
            NOTES.with(|notes| notes.borrow_mut().pop());
        }
    }
    let frame = Frame;
    let out = work();
    let skipped = NOTES.with(|notes| notes.borrow_mut().last_mut().map(std::mem::take));
    drop(frame);
    (out, skipped.unwrap_or_default())
}

/// The lines of `text` (the branch file `file`) within the limits: the first [`LINES`], each
/// at most `max` bytes; the rest are skipped and noted.
pub fn lines<'t>(text: &'t str, file: &str, max: usize) -> Vec<&'t str> {
    let mut out = Vec::new();
    let (mut long, mut longest, mut after) = (0, 0, 0);
    for line in text.lines() {
        if line.len() > max {
            long += 1;
            longest = longest.max(line.len());
        } else if out.len() < LINES {
            out.push(line);
        } else {
            after += 1;
        }
    }
    if long > 0 {
        note(Skipped {
            file: file.to_owned(),
            beyond: Beyond::LongLines {
                count: long,
                bytes: longest,
            },
        });
    }
    if after > 0 {
        note(Skipped {
            file: file.to_owned(),
            beyond: Beyond::Lines { count: after },
        });
    }
    out
}

/// Whether a date (seconds since the epoch) is too far past `now` to be trusted.
pub fn in_future(secs: i64, now: i64) -> bool {
    secs > now.saturating_add(FUTURE_SECS)
}

/// Whether an RFC 3339 time (a run record's) is too far past `now` (seconds since the epoch);
/// a time that is not one is not in the future.
pub fn rfc3339_in_future(time: &str, now: i64) -> bool {
    chrono::DateTime::parse_from_rfc3339(time).is_ok_and(|t| in_future(t.timestamp(), now))
}

/// Seconds since the epoch now, by this machine's clock.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_beyond_the_limits_are_skipped_and_noted_once() {
        let long = "x".repeat(20);
        let text = format!("a\n{long}\nb\n");
        let (kept, notes) = collect(|| {
            let kept = lines(&text, "f", 10);
            lines(&text, "f", 10);
            kept
        });
        assert_eq!(kept, ["a", "b"]);
        assert_eq!(
            notes,
            [Skipped {
                file: "f".into(),
                beyond: Beyond::LongLines {
                    count: 1,
                    bytes: 20
                }
            }]
        );
        let many = "l\n".repeat(LINES + 3);
        let (kept, notes) = collect(|| lines(&many, "g", 10).len());
        assert_eq!(kept, LINES);
        assert_eq!(notes[0].beyond, Beyond::Lines { count: 3 });
        assert!(notes[0].to_string().starts_with("g: 3 lines after"));
        // Outside a collection, notes go nowhere.
        lines(&text, "f", 10);
    }

    #[test]
    fn dates_more_than_a_day_ahead_are_in_the_future() {
        let now = 1_800_000_000;
        assert!(!in_future(now + FUTURE_SECS, now));
        assert!(in_future(now + FUTURE_SECS + 1, now));
        assert!(rfc3339_in_future("9999-01-01T00:00:00Z", now));
        assert!(!rfc3339_in_future("2020-01-01T00:00:00Z", now));
        assert!(!rfc3339_in_future("not a time", now));
    }
}

//! The git-annex metadata log format (`.log.met`): parsing, the current values exactly as
//! git-annex computes them, and serializing new lines.
//!
//! A line is `<timestamp> <field> (+|-)<value> ... [<field2> (+|-)<value> ...]`. The newest line
//! that mentions a (field, value) pair decides whether that value is set; field names compare
//! case-insensitively.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A log timestamp: seconds since the epoch plus a fraction in picoseconds (git-annex stores
/// Haskell `POSIXTime`, whose resolution is the picosecond).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub picos: u64,
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let now = chrono::Utc::now();
        Timestamp {
            secs: now.timestamp(),
            picos: u64::from(now.timestamp_subsec_nanos()) * 1000,
        }
    }

    /// Parses `1795313368.14129541s`, `1703689876s` or `1703689876`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.strip_suffix('s').unwrap_or(s);
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: i64 = int.parse().ok()?;
        let mut picos: u64 = 0;
        for (i, b) in frac.bytes().take(12).enumerate() {
            picos += u64::from(b - b'0') * 10u64.pow(11 - i as u32);
        }
        Some(Timestamp { secs, picos })
    }

    /// One nanosecond later: the time of a line that must supersede a line at `self` and
    /// nothing written after it.
    pub fn just_after(self) -> Timestamp {
        let picos = self.picos + 1000;
        Timestamp {
            secs: self.secs + (picos / 1_000_000_000_000) as i64,
            picos: picos % 1_000_000_000_000,
        }
    }

    /// The smallest timestamp that is strictly later than both `self` and `other` would be
    /// `max(self, other + 1 s)`: git-annex itself uses the file's maximum plus one second when
    /// its clock is behind.
    pub fn after(self, max_in_file: Option<Timestamp>) -> Timestamp {
        match max_in_file {
            Some(m) if m >= self => Timestamp {
                secs: m.secs + 1,
                picos: m.picos,
            },
            _ => self,
        }
    }
}

impl fmt::Display for Timestamp {
    /// Writes the form git-annex writes: `secs.fractions` with trailing zeros trimmed, then `s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.picos == 0 {
            return write!(f, "{}s", self.secs);
        }
        let frac = format!("{:012}", self.picos);
        write!(f, "{}.{}s", self.secs, frac.trim_end_matches('0'))
    }
}

/// One change in a line: set or unset one value of one field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub field: String,
    pub set: bool,
    pub value: String,
}

/// A parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub timestamp: Timestamp,
    pub changes: Vec<Change>,
}

/// Whether a field name is valid for git-annex: starts alphanumeric, then alphanumerics or
/// `_ - .`.
pub fn valid_field(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphanumeric())
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Encodes a value for a log line. git-annex base64-encodes values containing a space, CR or
/// LF, or starting with `!`; we also encode any other whitespace or control character (tabs
/// included), which git-annex decodes the same way, so no reader can split a value.
pub fn encode_value(value: &str) -> String {
    if value.starts_with('!') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        format!("!{}", B64.encode(value.as_bytes()))
    } else {
        value.to_owned()
    }
}

/// Decodes a value as git-annex does: a leading `!` means base64 of the UTF-8 bytes.
pub fn decode_value(raw: &str) -> Option<String> {
    match raw.strip_prefix('!') {
        Some(b64) => B64
            .decode(b64.as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(raw.to_owned()),
    }
}

/// Parses one line; `None` for a line git-annex would not understand either.
pub fn parse_line(line: &str) -> Option<Line> {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let timestamp = Timestamp::parse(words.next()?)?;
    let mut field: Option<String> = None;
    let mut changes = Vec::new();
    for word in words {
        let (set, raw) = match word.as_bytes()[0] {
            b'+' => (true, &word[1..]),
            b'-' => (false, &word[1..]),
            _ => {
                if !valid_field(word) {
                    return None;
                }
                field = Some(word.to_lowercase());
                continue;
            }
        };
        let field = field.clone()?;
        changes.push(Change {
            field,
            set,
            value: decode_value(raw)?,
        });
    }
    Some(Line { timestamp, changes })
}

/// A whole `.log.met` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetLog {
    pub lines: Vec<Line>,
}

/// The values currently set for each field (lowercased), with the timestamp of the line that
/// set each value.
pub type Current = BTreeMap<String, BTreeMap<String, Timestamp>>;

impl MetLog {
    /// Parses a file; lines that cannot be parsed are skipped, as git-annex skips them.
    pub fn parse(text: &str) -> MetLog {
        MetLog {
            lines: text.lines().filter_map(parse_line).collect(),
        }
    }

    /// Every (field, value) pair that any line sets or unsets: the branch's history of a key.
    pub fn mentioned(&self) -> BTreeSet<(String, String)> {
        self.lines
            .iter()
            .flat_map(|l| &l.changes)
            .map(|c| (c.field.clone(), c.value.clone()))
            .collect()
    }

    pub fn max_timestamp(&self) -> Option<Timestamp> {
        self.lines.iter().map(|l| l.timestamp).max()
    }

    /// The current values, computed as git-annex does: lines in timestamp order, and for every
    /// (field, value) pair the newest line mentioning it decides.
    pub fn current(&self) -> Current {
        let mut order: Vec<&Line> = self.lines.iter().collect();
        order.sort_by_key(|l| l.timestamp);
        let mut state: BTreeMap<(String, String), (bool, Timestamp)> = BTreeMap::new();
        for line in order {
            for c in &line.changes {
                state.insert((c.field.clone(), c.value.clone()), (c.set, line.timestamp));
            }
        }
        let mut current = Current::new();
        for ((field, value), (set, ts)) in state {
            if set {
                current.entry(field).or_default().insert(value, ts);
            }
        }
        current
    }
}

/// Serializes one line, grouping changes by field in the order given.
pub fn format_line(timestamp: Timestamp, changes: &[Change]) -> String {
    format_line_of(
        timestamp,
        changes
            .iter()
            .map(|c| (c.field.as_str(), c.set, c.value.as_str())),
    )
}

/// [`format_line`] of (field, set, value) triples.
pub fn format_line_of<'a>(
    timestamp: Timestamp,
    changes: impl IntoIterator<Item = (&'a str, bool, &'a str)>,
) -> String {
    let mut out = timestamp.to_string();
    let mut last_field: Option<&str> = None;
    for (field, set, value) in changes {
        if last_field != Some(field) {
            out.push(' ');
            out.push_str(field);
            last_field = Some(field);
        }
        out.push(' ');
        out.push(if set { '+' } else { '-' });
        out.push_str(&encode_value(value));
    }
    out
}

/// Field → set of values: the shape of a track's mapped metadata.
pub type Values = BTreeMap<String, BTreeSet<String>>;

#[cfg(test)]
mod tests {
    #[test]
    fn just_after_is_one_nanosecond_later() {
        let t = Timestamp {
            secs: 5,
            picos: 999_999_999_999_000 % 1_000_000_000_000,
        };
        assert_eq!(t.just_after(), Timestamp { secs: 6, picos: 0 });
        let t = Timestamp { secs: 5, picos: 1 };
        assert_eq!(
            t.just_after(),
            Timestamp {
                secs: 5,
                picos: 1001
            }
        );
        assert_eq!(t.just_after().to_string(), "5.000000001001s");
    }

    use super::*;
    use proptest::prelude::*;

    const PICOS_PER_SEC: u64 = 1_000_000_000_000;

    #[test]
    fn parses_real_git_annex_lines() {
        let log = MetLog::parse(
            "1795313368.14129541s artist +!QXJ0aXN0IDE= bpm +121.00 crate +Festival +Techno key +Am rating +2 title +!VGl0bGUgMQ==\n\
             1795313375.49724522s comment +!aGVsbG8gd29ybGQgw6k= rating -2 +5 tag -x\n",
        );
        let cur = log.current();
        assert_eq!(cur["artist"].keys().collect::<Vec<_>>(), ["Artist 1"]);
        assert_eq!(cur["rating"].keys().collect::<Vec<_>>(), ["5"]);
        assert_eq!(cur["comment"].keys().collect::<Vec<_>>(), ["hello world é"]);
        assert_eq!(cur["crate"].len(), 2);
        assert!(!cur.contains_key("tag"));
    }

    #[test]
    fn newest_line_decides_per_value_regardless_of_file_order() {
        let log = MetLog::parse("20s rating -5\n10s rating +5 +3\n");
        let cur = log.current();
        assert_eq!(cur["rating"].keys().collect::<Vec<_>>(), ["3"]);
    }

    #[test]
    fn both_timestamp_precisions_parse_and_order() {
        let a = Timestamp::parse("1703689876s").unwrap();
        let b = Timestamp::parse("1703689876.000000000001s").unwrap();
        let c = Timestamp::parse("1703689876.5").unwrap();
        assert!(a < b && b < c);
        assert_eq!(c.picos, 500_000_000_000);
        assert_eq!(Timestamp::parse("x1s"), None);
        assert_eq!(Timestamp::parse("1.2.3s"), None);
    }

    #[test]
    fn field_names_compare_case_insensitively() {
        let log = MetLog::parse("1s Rating +4\n2s rating -4\n");
        assert!(log.current().is_empty());
    }

    #[test]
    fn bad_lines_are_skipped() {
        let log = MetLog::parse("garbage\n1s +orphan\n2s ok +1\n3s bad +!!!notb64\n");
        assert_eq!(log.lines.len(), 1);
    }

    #[test]
    fn new_timestamp_is_strictly_after_the_file() {
        let now = Timestamp {
            secs: 100,
            picos: 0,
        };
        let later = Timestamp {
            secs: 200,
            picos: 7,
        };
        assert_eq!(
            now.after(Some(later)),
            Timestamp {
                secs: 201,
                picos: 7
            }
        );
        assert_eq!(later.after(Some(now)), later);
        assert_eq!(now.after(None), now);
    }

    #[test]
    fn encoding_rule() {
        assert_eq!(encode_value("Am"), "Am");
        assert_eq!(encode_value("Café"), "Café");
        assert!(encode_value("a b").starts_with('!'));
        assert!(encode_value("!x").starts_with('!'));
        assert!(encode_value("a\tb").starts_with('!'));
        assert!(encode_value("a\nb").starts_with('!'));
    }

    proptest! {
        #[test]
        fn lines_round_trip(
            secs in 0i64..4_000_000_000,
            picos in 0u64..PICOS_PER_SEC,
            changes in proptest::collection::vec(
                ("[a-z][a-z0-9_.-]{0,8}", any::<bool>(), "\\PC{1,40}|[ \t\n!]{1,5}\\PC{0,5}"),
                1..8,
            ),
        ) {
            let ts = Timestamp { secs, picos };
            let changes: Vec<Change> = changes
                .into_iter()
                .map(|(field, set, value)| Change { field, set, value })
                .collect();
            let line = format_line(ts, &changes);
            prop_assert!(!line.contains('\n'));
            let parsed = parse_line(&line).expect("our own line parses");
            prop_assert_eq!(parsed.timestamp, ts);
            prop_assert_eq!(parsed.changes, changes);
        }
    }
}

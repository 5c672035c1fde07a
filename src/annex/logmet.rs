//! The git-annex metadata log format (`.log.met`): parsing, the current values exactly as
//! git-annex computes them, and serializing new lines.
//!
//! A line is `<timestamp> <field> (+|-)<value> ... [<field2> (+|-)<value> ...]`. The newest line
//! that mentions a (field, value) pair decides whether that value is set; field names compare
//! case-insensitively.

use crate::bounds;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fmt::Write as _;

/// A log timestamp: seconds since the epoch plus a fraction in picoseconds (git-annex stores
/// Haskell `POSIXTime`, whose resolution is the picosecond). Negative and very large times are
/// valid, as git-annex reads them: `secs` is the floor of the time (so `-1.5` is `-2` and half a
/// second), saturating beyond ±1.7e38 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i128,
    pub picos: u64,
}

const PICOS_PER_SEC: u64 = 1_000_000_000_000;

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let now = chrono::Utc::now();
        Timestamp {
            secs: i128::from(now.timestamp()),
            picos: u64::from(now.timestamp_subsec_nanos()) * 1000,
        }
    }

    /// Parses a timestamp as git-annex does: an optional sign, digits, optionally `.` and more
    /// digits (up to picoseconds), optionally `s` (`1795313368.14129541s`, `1703689876`,
    /// `-5s`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.strip_suffix('s').unwrap_or(s);
        let (negative, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = match s.split_once('.') {
            Some((_, "")) => return None,
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) {
            return None;
        }
        let secs = int.bytes().fold(0i128, |n, b| {
            n.saturating_mul(10).saturating_add(i128::from(b - b'0'))
        });
        let mut picos: u64 = 0;
        for (i, b) in frac.bytes().take(12).enumerate() {
            picos += u64::from(b - b'0') * 10u64.pow(11 - i as u32);
        }
        Some(match (negative, picos) {
            (false, _) => Timestamp { secs, picos },
            (true, 0) => Timestamp { secs: -secs, picos },
            (true, _) => Timestamp {
                secs: -secs - 1,
                picos: PICOS_PER_SEC - picos,
            },
        })
    }
}

impl fmt::Display for Timestamp {
    /// Writes the form git-annex writes: `secs.fractions` with trailing zeros trimmed, then `s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A negative time with a fraction is written from its magnitude.
        let (sign, secs, picos) = match (self.secs < 0, self.picos) {
            (true, p) if p > 0 => ("-", -(self.secs + 1), PICOS_PER_SEC - p),
            (true, _) => ("-", -self.secs, 0),
            (false, p) => ("", self.secs, p),
        };
        if picos == 0 {
            return write!(f, "{sign}{secs}s");
        }
        let frac = format!("{picos:012}");
        write!(f, "{sign}{secs}.{}s", frac.trim_end_matches('0'))
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
    /// The line's time, exactly (beyond `Timestamp`'s range too).
    pub order: Order,
    pub changes: Vec<Change>,
}

/// A line's time, exact at any size as git-annex reads it: times within `Timestamp`'s range
/// are that; larger ones keep their digits. Lines written after one at a huge time are dated
/// after it, exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Order {
    Exact(Timestamp),
    /// Beyond ±1.7e38 s: the sign, the integer digits (no leading zeros) and the fraction.
    Huge {
        negative: bool,
        digits: Box<str>,
        picos: u64,
    },
}

impl Order {
    /// Whether the line's time is more than [`bounds::FUTURE_SECS`] past `now` (seconds since
    /// the epoch).
    pub fn in_future(&self, now: i64) -> bool {
        let limit = Timestamp {
            secs: i128::from(now.saturating_add(bounds::FUTURE_SECS)),
            picos: 0,
        };
        *self > Order::Exact(limit)
    }

    /// Parses what [`Timestamp::parse`] accepts.
    pub fn parse(s: &str) -> Option<Order> {
        let timestamp = Timestamp::parse(s)?;
        let body = s.strip_suffix('s').unwrap_or(s);
        let negative = body.starts_with('-');
        let body = body.trim_start_matches(['-', '+']);
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits = int.trim_start_matches('0');
        if digits.len() < 38 {
            return Some(Order::Exact(timestamp));
        }
        let mut picos: u64 = 0;
        for (i, b) in frac.bytes().take(12).enumerate() {
            picos += u64::from(b - b'0') * 10u64.pow(11 - i as u32);
        }
        Some(Order::Huge {
            negative,
            digits: digits.into(),
            picos,
        })
    }

    /// One nanosecond later: the time of a line that must supersede a line at `self` and
    /// nothing written after it.
    pub fn just_after(&self) -> Order {
        self.shifted(1000)
    }

    /// The time of a line written `now` to a file whose newest line is at `max_in_file`:
    /// `now`, or one second after the newest line when that is not earlier (as git-annex
    /// does when its clock is behind), so that the new line is the newest.
    pub fn after(now: Timestamp, max_in_file: Option<&Order>) -> Order {
        let now = Order::Exact(now);
        match max_in_file {
            Some(m) if *m >= now => m.shifted(PICOS_PER_SEC),
            _ => now,
        }
    }

    /// `self` plus `picos` picoseconds, exactly.
    fn shifted(&self, picos: u64) -> Order {
        let printed = match self {
            Order::Exact(t) => {
                let sum = t.picos + picos;
                Timestamp {
                    secs: t.secs + i128::from(sum / PICOS_PER_SEC),
                    picos: sum % PICOS_PER_SEC,
                }
                .to_string()
            }
            // Beyond ±1e37 s, the magnitude's digits (integer, then 12 of fraction) move by
            // `picos` away from or towards zero; they never cross it.
            Order::Huge {
                negative,
                digits,
                picos: p,
            } => {
                let magnitude = format!("{digits}{p:012}");
                let moved = if *negative {
                    decimal_sub(&magnitude, picos)
                } else {
                    decimal_add(&magnitude, picos)
                };
                let (int, frac) = moved.split_at(moved.len() - 12);
                let sign = if *negative { "-" } else { "" };
                format!("{sign}{int}.{frac}s")
            }
        };
        Order::parse(&printed).expect("a printed time parses")
    }

    /// -1 for huge negative times, 0 for exact ones, 1 for huge positive ones.
    fn band(&self) -> i8 {
        match self {
            Order::Exact(_) => 0,
            Order::Huge { negative: true, .. } => -1,
            Order::Huge { .. } => 1,
        }
    }
}

impl fmt::Display for Order {
    /// Writes the form git-annex writes (see [`Timestamp`]'s).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Order::Exact(t) => t.fmt(f),
            Order::Huge {
                negative,
                digits,
                picos,
            } => {
                let sign = if *negative { "-" } else { "" };
                if *picos == 0 {
                    return write!(f, "{sign}{digits}s");
                }
                let frac = format!("{picos:012}");
                write!(f, "{sign}{digits}.{}s", frac.trim_end_matches('0'))
            }
        }
    }
}

/// The decimal digits `n` plus `x`.
fn decimal_add(n: &str, x: u64) -> String {
    let mut digits: Vec<u8> = n.bytes().map(|b| b - b'0').collect();
    let mut carry = x;
    for d in digits.iter_mut().rev() {
        let sum = u64::from(*d) + carry % 10;
        carry /= 10;
        *d = (sum % 10) as u8;
        carry += sum / 10;
        if carry == 0 {
            break;
        }
    }
    let mut out = if carry > 0 {
        carry.to_string()
    } else {
        String::new()
    };
    out.extend(digits.iter().map(|d| char::from(b'0' + d)));
    out
}

/// The decimal digits `n` minus `x` (`n` ≥ `x`).
fn decimal_sub(n: &str, x: u64) -> String {
    let mut digits: Vec<u8> = n.bytes().map(|b| b - b'0').collect();
    let mut borrow = x;
    for d in digits.iter_mut().rev() {
        let take = borrow % 10;
        borrow /= 10;
        if u64::from(*d) >= take {
            *d -= take as u8;
        } else {
            *d = (u64::from(*d) + 10 - take) as u8;
            borrow += 1;
        }
        if borrow == 0 {
            break;
        }
    }
    let out: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let trimmed = out.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl Ord for Order {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Order::Exact(a), Order::Exact(b)) => a.cmp(b),
            (
                Order::Huge {
                    negative,
                    digits: a,
                    picos: pa,
                },
                Order::Huge {
                    negative: nb,
                    digits: b,
                    picos: pb,
                },
            ) if negative == nb => {
                let magnitude = (a.len(), a, pa).cmp(&(b.len(), b, pb));
                if *negative {
                    magnitude.reverse()
                } else {
                    magnitude
                }
            }
            _ => self.band().cmp(&other.band()),
        }
    }
}

impl PartialOrd for Order {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether a field name is valid for git-annex's `metadata` command (its `legalField`):
/// starts alphanumeric, then alphanumerics or `_ - .`. Logs may hold any name.
#[cfg(test)]
pub fn valid_field(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphanumeric())
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Where the bytes of a log that are not UTF-8 go in its text: byte `b` is the private-use
/// character `U+F700 + b`, so that reading a log and writing it back keeps every byte, and
/// values that differ only in such bytes stay apart (git-annex compares bytes).
const ESCAPE_BASE: u32 = 0xF700;

fn is_escape(c: char) -> bool {
    (ESCAPE_BASE + 0x80..=ESCAPE_BASE + 0xFF).contains(&u32::from(c))
}

/// A log's bytes as text, invalid UTF-8 escaped (see [`bytes_of`] for the way back).
pub fn text_of(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(
            chunk
                .invalid()
                .iter()
                .filter_map(|b| char::from_u32(ESCAPE_BASE + u32::from(*b))),
        );
    }
    out
}

/// The bytes [`text_of`] read.
pub fn bytes_of(text: &str) -> Cow<'_, [u8]> {
    if !text.chars().any(is_escape) {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match u8::try_from(u32::from(c).wrapping_sub(ESCAPE_BASE)) {
            Ok(b) if is_escape(c) => out.push(b),
            _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Cow::Owned(out)
}

/// [`bytes_of`] an owned text, without a copy when it holds no escaped byte.
pub fn into_bytes(text: String) -> Vec<u8> {
    match bytes_of(&text) {
        Cow::Borrowed(_) => text.into_bytes(),
        Cow::Owned(bytes) => bytes,
    }
}

/// Appends `value` to `out` encoded for a log line. git-annex base64-encodes values
/// containing a space, CR or LF, or starting with `!`; we also encode any other whitespace or
/// control character (tabs included), which git-annex decodes the same way, so no reader can
/// split a value.
fn push_value(out: &mut String, value: &str) {
    if value.starts_with('!') || !plain(value) {
        out.push('!');
        B64.encode_string(bytes_of(value), out);
    } else {
        out.push_str(value);
    }
}

/// Whether a value holds no whitespace, control or escape character (ASCII checked by byte).
fn plain(value: &str) -> bool {
    if value.is_ascii() {
        // ASCII whitespace and control characters are the bytes up to the space, and DEL.
        return !value.bytes().any(|b| b <= b' ' || b == 0x7f);
    }
    !value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_escape(c))
}

/// Decodes a value as git-annex does: a leading `!` means base64 of the bytes (read as
/// [`text_of`] reads them).
pub fn decode_value(raw: &str) -> Option<String> {
    match raw.strip_prefix('!') {
        Some(b64) => decode_base64(b64).map(|bytes| text_of(&bytes)),
        None => Some(raw.to_owned()),
    }
}

/// Base64 as git-annex decodes it: standard alphabet, whole groups of four, decoding ending
/// with the first padded group (what follows it is ignored); unused bits may be set.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let bytes = text.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        let group = bytes.get(end..end + 4)?;
        end += 4;
        if group.contains(&b'=') {
            break;
        }
    }
    LENIENT.decode(&bytes[..end]).ok()
}

/// A token that is a value: `+` or `-` and the (decodable) value.
fn value_token(token: &str) -> Option<(bool, String)> {
    let set = match token.as_bytes().first()? {
        b'+' => true,
        b'-' => false,
        _ => return None,
    };
    Some((set, decode_value(&token[1..])?))
}

/// Parses one line exactly as git-annex does; `None` when its timestamp is not one (git-annex
/// skips the line). After the timestamp and a space, tokens are separated by single spaces
/// (empty tokens included); the first token names a field (any text, compared
/// case-insensitively), and each later one is a value of the current field when it is one
/// ([`value_token`]), else names the next field. So a bad token never discards the line.
///
/// A line beyond the limits ([`bounds::LINE_BYTES`], a value over [`bounds::VALUE_BYTES`]) is
/// skipped too: no real library writes one.
pub fn parse_line(line: &str) -> Option<Line> {
    if line.len() > bounds::LINE_BYTES {
        return None;
    }
    let (time, rest) = line.split_once(' ').unwrap_or((line, ""));
    let order = Order::parse(time)?;
    let mut field: Option<String> = None;
    let mut changes = Vec::new();
    for token in rest.split(' ') {
        match (&field, value_token(token)) {
            (Some(_), Some((_, value))) if value.len() > bounds::VALUE_BYTES => return None,
            (Some(name), Some((set, value))) => changes.push(Change {
                field: name.clone(),
                set,
                value,
            }),
            // A field name that is not UTF-8 ends the line.
            _ if token.chars().any(is_escape) => break,
            _ => field = Some(token.to_lowercase()),
        }
    }
    Some(Line { order, changes })
}

/// An edit of a value: the time of the line that unset it and the values of its field that
/// line set.
pub type Edit = (Order, Vec<String>);

/// A whole `.log.met` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetLog {
    pub lines: Vec<Line>,
}

/// The values currently set for each field (lowercased), with the timestamp of the line that
/// set each value.
pub type Current = BTreeMap<String, BTreeMap<String, Order>>;

impl MetLog {
    /// Parses a file as git-annex does: lines end at `\n` or `\r`, and those without a
    /// timestamp are skipped; so are lines beyond the limits, and those after the first
    /// [`bounds::LINES`].
    pub fn parse(text: &str) -> MetLog {
        MetLog {
            lines: text
                .split(['\n', '\r'])
                .filter(|l| !l.is_empty())
                .take(bounds::LINES)
                .filter_map(parse_line)
                .collect(),
        }
    }

    /// How many lines of a file [`MetLog::parse`] skips for the limits (counted only in a file
    /// large enough to have any).
    pub fn beyond_limits(text: &str) -> usize {
        if text.len() <= bounds::VALUE_BYTES {
            return 0;
        }
        let lines: Vec<&str> = text.split(['\n', '\r']).filter(|l| !l.is_empty()).collect();
        let after = lines.len().saturating_sub(bounds::LINES);
        let oversized = lines
            .iter()
            .take(bounds::LINES)
            .filter(|l| {
                let dated = l.split(' ').next().and_then(Order::parse).is_some();
                l.len() > bounds::VALUE_BYTES && dated && parse_line(l).is_none()
            })
            .count();
        after + oversized
    }

    /// Every (field, value) pair that any line sets or unsets: the branch's history of a key.
    pub fn mentioned(&self) -> BTreeSet<(String, String)> {
        self.lines
            .iter()
            .flat_map(|l| &l.changes)
            .map(|c| (c.field.clone(), c.value.clone()))
            .collect()
    }

    /// The newest line's time.
    pub fn max_order(&self) -> Option<&Order> {
        self.lines.iter().map(|l| &l.order).max()
    }

    /// The values of `field` that the newest line setting `value` unset and did not set again:
    /// what that edit replaced (a cue's earlier version, say).
    pub fn replaced(&self, field: &str, value: &str) -> Vec<String> {
        let sets = |l: &&Line| {
            l.changes
                .iter()
                .any(|c| c.set && c.field == field && c.value == value)
        };
        let Some(line) = self
            .lines
            .iter()
            .filter(sets)
            .max_by(|a, b| a.order.cmp(&b.order))
        else {
            return Vec::new();
        };
        let set_again =
            |v: &str| (line.changes.iter()).any(|c| c.set && c.field == field && c.value == v);
        line.changes
            .iter()
            .filter(|c| !c.set && c.field == field && !set_again(&c.value))
            .map(|c| c.value.clone())
            .collect()
    }

    /// The edits made from `value` of `field`: the lines after the newest one that set it that
    /// unset it, each with its time and the values of `field` it set (several when clones
    /// edited it concurrently; git-annex's union merge keeps every line). A line dated more
    /// than [`bounds::FUTURE_SECS`] past this machine's clock is none: its time says nothing
    /// of when its edit was made, so it never outdates another.
    pub fn edits_of(&self, field: &str, value: &str) -> Vec<Edit> {
        let now = bounds::now_secs();
        let is = |c: &Change, set: bool| c.set == set && c.field == field && c.value == value;
        let set_at = (self.lines.iter())
            .filter(|l| l.changes.iter().any(|c| is(c, true)))
            .map(|l| &l.order)
            .max();
        let after = |l: &&Line| set_at.is_none_or(|at| l.order > *at);
        (self.lines.iter())
            .filter(after)
            .filter(|l| !l.order.in_future(now))
            .filter(|l| l.changes.iter().any(|c| is(c, false)))
            .map(|l| {
                let sets = (l.changes.iter())
                    .filter(|c| c.set && c.field == field)
                    .map(|c| c.value.clone());
                (l.order.clone(), sets.collect())
            })
            .collect()
    }

    /// The current values, computed as git-annex does: lines in timestamp order, and for every
    /// (field, value) pair the newest line mentioning it decides.
    pub fn current(&self) -> Current {
        let mut order: Vec<&Line> = self.lines.iter().collect();
        order.sort_by(|a, b| a.order.cmp(&b.order));
        let mut state: BTreeMap<(String, String), (bool, &Order)> = BTreeMap::new();
        for line in order {
            for c in &line.changes {
                state.insert((c.field.clone(), c.value.clone()), (c.set, &line.order));
            }
        }
        let mut current = Current::new();
        for ((field, value), (set, ts)) in state {
            if set {
                current.entry(field).or_default().insert(value, ts.clone());
            }
        }
        current
    }
}

/// Serializes one line, grouping changes by field in the order given.
pub fn format_line(time: impl fmt::Display, changes: &[Change]) -> String {
    format_line_of(
        time,
        changes
            .iter()
            .map(|c| (c.field.as_str(), c.set, c.value.as_str())),
    )
}

/// [`format_line`] of (field, set, value) triples.
pub fn format_line_of<'a>(
    time: impl fmt::Display,
    changes: impl IntoIterator<Item = (&'a str, bool, &'a str)>,
) -> String {
    let mut out = String::with_capacity(128);
    let _ = write!(out, "{time}");
    let mut last_field: Option<&str> = None;
    for (field, set, value) in changes {
        if last_field != Some(field) {
            out.push(' ');
            out.push_str(field);
            last_field = Some(field);
        }
        out.push(' ');
        out.push(if set { '+' } else { '-' });
        push_value(&mut out, value);
    }
    out
}

/// Field → set of values: the shape of a track's mapped metadata.
pub type Values = BTreeMap<String, BTreeSet<String>>;

#[cfg(test)]
mod tests {
    #[test]
    fn just_after_is_one_nanosecond_later() {
        let t = Order::Exact(Timestamp {
            secs: 5,
            picos: 999_999_999_000,
        });
        assert_eq!(
            t.just_after(),
            Order::Exact(Timestamp { secs: 6, picos: 0 })
        );
        let t = Order::Exact(Timestamp { secs: 5, picos: 1 });
        assert_eq!(t.just_after().to_string(), "5.000000001001s");
        let t = Order::Exact(Timestamp {
            secs: -2,
            picos: 999_999_999_000,
        });
        assert_eq!(t.just_after().to_string(), "-1s");
    }

    use super::*;
    use proptest::prelude::*;

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

    /// What `git annex metadata --json` shows for each log (git-annex 10.20230126 and
    /// 10.20261026 agree on every one), as `field=value` pairs sorted.
    const GIT_ANNEX_READS: &[(&str, &str)] = &[
        ("1s rating +5 _bad +3 title +x", "_bad=3 rating=5 title=x"),
        ("1s rating +5 +!!!! title +x", "rating=5 title=x"),
        ("1s +orphan rating +2", "rating=2"),
        (
            "1s rating +5 crate +a\n2s rating +3\n1s rating -5",
            "crate=a rating=3",
        ),
        ("-5s rating +1", "rating=1"),
        ("99999999999999999999s rating +1", "rating=1"),
        ("1.5.5s rating +1", ""),
        ("1x rating +1", ""),
        ("1 rating +1", "rating=1"),
        ("1s\trating\t+1", ""),
        ("1s rating +5 a/b +1 c +2", "a/b=1 c=2 rating=5"),
        ("1s rating +", "rating="),
        ("1s rating +!YQ", ""),
        ("1s rating +!/w==", "rating=\u{fffd}"),
        ("1s rating +5\n2s rating -5\n2s rating +5", "rating=5"),
        ("2s rating +5\n2s rating -5\n1s rating +7", "rating=7"),
        ("1s rating +8\r\n2s crate +x\r\n", "crate=x rating=8"),
        (
            "1s title +a\u{a0}b crate +y\u{2003}z",
            "crate=y\u{2003}z title=a\u{a0}b",
        ),
        ("1s rating\t+4", ""),
        ("1s rating +1 rating -1", ""),
        ("1s rating -1 rating +1", "rating=1"),
        ("1s ratinG +3\n2s RATING -3", ""),
        ("00001s rating +3\n1s rating -3", ""),
        ("1s rating  +4", "=4"),
        ("1s  rating +4", "rating=4"),
        (" 1s rating +4", ""),
        ("1.s rating +4", ""),
        (".5s rating +4", ""),
        ("+5s rating +4", "rating=4"),
        ("1e3s rating +4", ""),
        ("-1.5s rating +4\n-1.2s rating -4", ""),
        ("-1.2s rating +4\n-1.5s rating -4", "rating=4"),
        ("1s rating +a\n1s rating -a\n0.5s rating +b", "rating=b"),
        ("1s rating +4 crate  +x", "=x rating=4"),
        ("1ss rating +4", ""),
        ("1S rating +4", ""),
        (
            "123456789012345678901234567890123456789012345s rating +4\n\
             123456789012345678901234567890123456789012344s rating -4",
            "rating=4",
        ),
        ("1s !x +4", "!x=4"),
        ("1s rating +a\rb crate +c", "rating=a"),
        ("1s rating +4\n\n\n2s crate +x\n", "crate=x rating=4"),
        ("1s rating +!Kw==junk", "rating=+"),
        ("1s rating +!Kw==Kw==", "rating=+"),
        ("1s rating +!0gA==", "rating=\u{fffd}\0"),
        ("1s rating +!Kw=x", ""),
        ("1s rating +!Kw", ""),
        ("1s rating +!Kw===", "rating=+"),
        ("1s rating +!YWJjZA==xyz", "rating=abcd"),
        ("1s rating +5 crate +!YWJj=", "rating=5"),
        ("1s rating +!====", ""),
        ("1s r +!Kx==", "r=+"),
        ("1s r +!YR==", "r=a"),
        ("1s r +!Y-Jj", ""),
        ("1s r +!YWJjZA=", ""),
        ("1s \u{fffd}x +5", "\u{fffd}x=5"),
    ];

    #[test]
    fn bytes_that_are_not_utf8_survive_reading_and_writing() {
        let bytes = b"1s rating +a\xffb crate +!gA== +!/w==\n2s ab\xff +1 title +x\n";
        let text = text_of(bytes);
        assert_eq!(&*bytes_of(&text), bytes);
        let cur = MetLog::parse(&text).current();
        assert_eq!(cur["crate"].len(), 2, "0x80 and 0xff are two values");
        assert!(
            !cur.contains_key("title"),
            "a field that is not UTF-8 ends its line"
        );
        let value = cur["rating"].keys().next().unwrap();
        assert_eq!(&*bytes_of(value), b"a\xffb");
        let line = format_line_of(
            Timestamp::parse("3s").unwrap(),
            [("rating", false, value.as_str())],
        );
        assert_eq!(
            MetLog::parse(&format!("{text}{line}\n"))
                .current()
                .get("rating"),
            None
        );
    }

    #[test]
    fn reads_every_log_as_git_annex_does() {
        for (log, want) in GIT_ANNEX_READS {
            // Bytes that are not UTF-8 as git-annex shows them.
            let shown = |t: &str| -> String {
                t.chars()
                    .map(|c| if is_escape(c) { '\u{fffd}' } else { c })
                    .collect()
            };
            let mut got: Vec<String> = MetLog::parse(&text_of(log.as_bytes()))
                .current()
                .into_iter()
                .flat_map(|(f, vs)| {
                    vs.into_keys()
                        .map(move |v| format!("{f}={v}"))
                        .collect::<Vec<_>>()
                })
                .map(|s| shown(&s))
                .collect();
            got.sort();
            assert_eq!(got.join(" "), *want, "{log:?}");
        }
    }

    #[test]
    fn negative_and_huge_timestamps_order_and_print() {
        let t = |s| Timestamp::parse(s).unwrap();
        assert!(t("-1.5s") < t("-1.2s") && t("-1.2s") < t("-1s") && t("-1s") < t("0s"));
        assert!(t("99999999999999999999s") > t("1795313368s"));
        for s in ["-1.5s", "-2s", "0.25s", "99999999999999999999s"] {
            assert_eq!(t(s).to_string(), s);
        }
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
        let after = |max: Option<Timestamp>| Order::after(now, max.map(Order::Exact).as_ref());
        assert_eq!(
            after(Some(later)),
            Order::Exact(Timestamp {
                secs: 201,
                picos: 7
            })
        );
        assert_eq!(
            Order::after(later, Some(&Order::Exact(now))),
            Order::Exact(later)
        );
        assert_eq!(after(None), Order::Exact(now));
    }

    #[test]
    fn lines_after_huge_times_are_dated_after_them_exactly() {
        let o = |s: &str| Order::parse(s).unwrap();
        let now = Timestamp::parse("1796400000s").unwrap();
        let cases = [
            (
                "99999999999999999999999999999999999999999s",
                "100000000000000000000000000000000000000000s",
            ),
            (
                "12345678901234567890123456789012345678901276.5s",
                "12345678901234567890123456789012345678901277.5s",
            ),
            (
                "-12345678901234567890123456789012345678901276s",
                "1796400000s",
            ),
            (
                "9999999999999999999999999999999999999s",
                "10000000000000000000000000000000000000s",
            ),
        ];
        for (max, want) in cases {
            let after = Order::after(now, Some(&o(max)));
            assert_eq!(after.to_string(), want);
            assert!(after > o(max), "{max}");
        }
        let huge = o("12345678901234567890123456789012345678901276s");
        assert_eq!(
            huge.just_after().to_string(),
            "12345678901234567890123456789012345678901276.000000001s"
        );
        let negative = o("-12345678901234567890123456789012345678901276s");
        assert_eq!(
            negative.just_after().to_string(),
            "-12345678901234567890123456789012345678901275.999999999s"
        );
        assert!(negative.just_after() > negative);
    }

    #[test]
    fn edits_of_a_value_are_the_lines_that_unset_it_since_it_was_set() {
        // 3 set, then concurrently changed to 5 on one clone and cleared on another; an older
        // clear of 3 (before it was set again) is no edit of it.
        let log = MetLog::parse(
            "1s rating +3\n2s rating -3\n3s rating +3\n4s rating +5 -3\n5s rating -3\n",
        );
        let edits: Vec<(String, Vec<String>)> = (log.edits_of("rating", "3").into_iter())
            .map(|(at, sets)| (at.to_string(), sets))
            .collect();
        assert_eq!(
            edits,
            [
                ("4s".to_owned(), vec!["5".to_owned()]),
                ("5s".to_owned(), vec![])
            ]
        );
        assert_eq!(log.replaced("rating", "5"), ["3"]);
        assert!(log.edits_of("rating", "5").is_empty());
        // A value a line unset and set again is not what it replaced.
        let log = MetLog::parse("1s title +5\n2s title +x -5 +5\n");
        assert!(log.replaced("title", "x").is_empty());
        // A clear from a clock far ahead is no edit: it outdates nothing.
        let log = MetLog::parse("1s rating +3\n4s rating +5 -3\n99999999999s rating -3\n");
        assert!(log.edits_of("rating", "3")[1..].is_empty());
    }

    #[test]
    fn the_byte_check_of_ascii_values_is_the_character_check() {
        for c in (0u8..=0x7f).map(char::from) {
            let by_char = !(c.is_whitespace() || c.is_control() || is_escape(c));
            assert_eq!(plain(&format!("a{c}b")), by_char, "{c:?}");
        }
        assert!(!plain("a\u{a0}b"), "a non-ASCII space is encoded");
        assert!(plain("Café"));
    }

    fn encode_value(value: &str) -> String {
        let mut out = String::new();
        push_value(&mut out, value);
        out
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
        /// Any text parses without panicking, and every timestamp read prints as one that
        /// reads back the same (negative and fractional ones included).
        #[test]
        fn any_text_parses_and_timestamps_print_back(
            text in "([0-9]{1,4}|\\PC|[ \n\r\t+!.s-]){0,200}",
        ) {
            for line in MetLog::parse(&text).lines {
                let printed = line.order.to_string();
                prop_assert_eq!(Order::parse(&printed), Some(line.order), "{}", printed);
            }
        }

        #[test]
        fn lines_round_trip(
            secs in -4_000_000_000i128..4_000_000_000,
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
            prop_assert_eq!(parsed.order, Order::Exact(ts));
            prop_assert_eq!(parsed.changes, changes);
        }
    }
}

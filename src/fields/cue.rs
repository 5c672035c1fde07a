//! One Mixxx cue (a row of `cues` a user made) as the branch's `cue` value, readable and exact:
//! `KIND SLOT POSITION LENGTH COLOR [LABEL]`, e.g. `hotcue 1 5443200 0 #FF0000 Drop`.
//!
//! - KIND: `hotcue` (type 1), `maincue` (2), `loop` (4), `jump` (5), `intro` (6), `outro` (7).
//!   Type 8 (the audible-sound markers Mixxx's analyser recomputes) and unknown types are not
//!   synced.
//! - SLOT: the hot cue number as Mixxx shows it (`hotcue` column + 1), `-` for none.
//! - POSITION, LENGTH: engine samples exactly as SQLite holds them: an integer (`5443200`) or
//!   a real (`5443200.5`, `5443200.0`).
//! - COLOR: `#RRGGBB`, or `0xAARRGGBB` for a stored value beyond 24 bits.
//! - LABEL: the rest of the value, any text; absent when empty.
//!
//! A cue's identity is its kind and slot: two values of one identity are one cue edited on two
//! clones, and converge like a single-valued field.

use rusqlite::types::{Value as SqlValue, ValueRef};
use std::borrow::Cow;
use std::fmt;

/// Hot cue slots accepted: Mixxx's `kMaxNumberOfHotcues` is 36 (indexes 0..35); one more is
/// tolerated, as older Mixxx versions counted 37.
pub const HOTCUE_SLOTS: i64 = 37;
/// The largest position or length accepted: a day at 384 kHz, in engine samples (stereo
/// frames × 2); anything beyond is not a cue in a track.
const MAX_SAMPLES: f64 = 86_400.0 * 384_000.0 * 2.0;
/// The longest label accepted, in bytes.
const MAX_LABEL: usize = 4096;

/// The cue types git-mixxx syncs, with their names.
const KINDS: [(i64, &str); 6] = [
    (1, "hotcue"),
    (2, "maincue"),
    (4, "loop"),
    (5, "jump"),
    (6, "intro"),
    (7, "outro"),
];

/// The `cues.type` values git-mixxx syncs, for SQL.
pub const SYNCED_TYPES: &str = "1, 2, 4, 5, 6, 7";

/// A number as SQLite holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Real(f64),
}

impl Num {
    fn parse(text: &str) -> Option<Num> {
        let real = text.contains(['.', 'e', 'E']);
        let num = match real {
            true => Num::Real(text.parse().ok().filter(|r: &f64| r.is_finite())?),
            false => Num::Int(text.parse().ok()?),
        };
        // Only the spelling `Display` writes: one value, one text.
        (num.to_string() == text).then_some(num)
    }

    fn value(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Real(r) => r,
        }
    }

    fn from_sql(raw: ValueRef<'_>) -> Option<Num> {
        match raw {
            ValueRef::Integer(i) => Some(Num::Int(i)),
            ValueRef::Real(r) if r.is_finite() => Some(Num::Real(r)),
            _ => None,
        }
    }

    fn to_sql(self) -> SqlValue {
        match self {
            Num::Int(i) => SqlValue::Integer(i),
            Num::Real(r) => SqlValue::Real(r),
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Most positions are integers: written without the formatting machinery (a
            // library holds hundreds of thousands of them).
            Num::Int(i) => f.write_str(itoa::Buffer::new().format(*i)),
            // The shortest text that reads back as the same number, always with a `.` or an
            // exponent so that it reads back as a real.
            Num::Real(r) => write!(f, "{r:?}"),
        }
    }
}

/// One cue.
#[derive(Clone, Debug, PartialEq)]
pub struct Cue {
    /// `cues.type`.
    pub kind: i64,
    /// `cues.hotcue`: 0-based, -1 for none.
    pub slot: i64,
    pub position: Num,
    pub length: Num,
    /// `cues.color` as stored.
    pub color: i64,
    pub label: String,
}

impl Cue {
    /// The cue of a `cues` row (type, position, length, hotcue, label, color), if it is one
    /// git-mixxx syncs.
    pub fn from_row(columns: [ValueRef<'_>; 6]) -> Option<Cue> {
        CueRow::from_row(columns).map(|r| Cue {
            kind: r.kind,
            slot: r.slot,
            position: r.position,
            length: r.length,
            color: r.color,
            label: r.label.into_owned(),
        })
    }

    /// The columns (type, position, length, hotcue, label, color) that store it.
    pub fn to_row(&self) -> [SqlValue; 6] {
        [
            SqlValue::Integer(self.kind),
            self.position.to_sql(),
            self.length.to_sql(),
            SqlValue::Integer(self.slot),
            SqlValue::Text(self.label.clone()),
            SqlValue::Integer(self.color),
        ]
    }

    /// Parses a branch value; `None` when it is not a cue Mixxx can hold.
    pub fn parse(value: &str) -> Option<Cue> {
        let mut parts = value.splitn(6, ' ');
        let kind_name = parts.next()?;
        let kind = KINDS.iter().find(|(_, n)| *n == kind_name)?.0;
        let slot = match parts.next()? {
            "-" => -1,
            s if !s.starts_with(['0', '+', '-']) => s.parse::<i64>().ok()? - 1,
            _ => return None,
        };
        let position = Num::parse(parts.next()?)?;
        let length = Num::parse(parts.next()?)?;
        let color = parse_color(parts.next()?)?;
        let label = parts.next().unwrap_or_default().to_owned();
        let cue = Cue {
            kind,
            slot,
            position,
            length,
            color,
            label,
        };
        cue.is_sane().then_some(cue)
    }

    /// Whether Mixxx can hold it: a slot in Mixxx's range (a hot cue always has one; a loop
    /// or jump may have none: Mixxx 2.4 and later keep the track's last loop so, `hotcue`
    /// -1), a position and length within a track, a label of sensible size, and a value that
    /// was not empty.
    fn is_sane(&self) -> bool {
        let slot_ok = (0..HOTCUE_SLOTS).contains(&self.slot) || (self.kind != 1 && self.slot == -1);
        let position = self.position.value();
        let length = self.length.value();
        slot_ok
            && (-1.0..=MAX_SAMPLES).contains(&position)
            && (0.0..=MAX_SAMPLES).contains(&length)
            && self.label.len() <= MAX_LABEL
    }

    /// Its identity: the kind, and the slot of a hot cue, loop or jump.
    pub fn identity(&self) -> (i64, i64) {
        (self.kind, self.slot)
    }
}

impl fmt::Display for Cue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        CueRow {
            kind: self.kind,
            slot: self.slot,
            position: self.position,
            length: self.length,
            color: self.color,
            label: Cow::Borrowed(&self.label),
        }
        .fmt(f)
    }
}

/// A cue as read from a `cues` row, its label borrowed from SQLite where it can be: turned
/// into its value without building a [`Cue`] (a library has hundreds of thousands).
#[derive(Clone, Debug, PartialEq)]
pub struct CueRow<'a> {
    kind: i64,
    slot: i64,
    position: Num,
    length: Num,
    color: i64,
    label: Cow<'a, str>,
}

impl<'a> CueRow<'a> {
    /// The cue of a `cues` row (type, position, length, hotcue, label, color), if it is one
    /// git-mixxx syncs.
    pub fn from_row(columns: [ValueRef<'a>; 6]) -> Option<CueRow<'a>> {
        let [kind, position, length, slot, label, color] = columns;
        let integer = |v: ValueRef<'_>| match v {
            ValueRef::Integer(i) => Some(i),
            _ => None,
        };
        let kind = integer(kind).filter(|k| KINDS.iter().any(|(t, _)| t == k))?;
        let label = match label {
            ValueRef::Text(t) => String::from_utf8_lossy(t),
            _ => Cow::Borrowed(""),
        };
        Some(CueRow {
            kind,
            slot: integer(slot).unwrap_or(-1),
            position: Num::from_sql(position)?,
            length: Num::from_sql(length).unwrap_or(Num::Int(0)),
            color: integer(color).unwrap_or(0),
            label,
        })
    }
}

impl fmt::Display for CueRow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = KINDS
            .iter()
            .find(|(t, _)| *t == self.kind)
            .map_or("cue", |(_, n)| n);
        f.write_str(kind)?;
        match self.slot {
            -1 => f.write_str(" -")?,
            s => {
                f.write_str(" ")?;
                f.write_str(itoa::Buffer::new().format(s + 1))?;
            }
        }
        f.write_str(" ")?;
        self.position.fmt(f)?;
        f.write_str(" ")?;
        self.length.fmt(f)?;
        f.write_str(" ")?;
        match self.color {
            0..=0xFF_FFFF => {
                let hex = hex_color(self.color);
                f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)?;
            }
            c => write!(f, "0x{:08X}", c)?,
        }
        if !self.label.is_empty() {
            f.write_str(" ")?;
            f.write_str(&self.label)?;
        }
        Ok(())
    }
}

/// `#RRGGBB` of a colour within 24 bits, upper-case, as ASCII bytes.
fn hex_color(color: i64) -> [u8; 7] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = [b'#'; 7];
    for (i, byte) in out[1..].iter_mut().enumerate() {
        *byte = DIGITS[((color >> ((5 - i) * 4)) & 0xF) as usize];
    }
    out
}

/// `#RRGGBB` or `0xAARRGGBB` (upper-case hex, as written).
fn parse_color(text: &str) -> Option<i64> {
    let hex = |digits: &str, n: usize| {
        (digits.len() == n
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
        .then(|| i64::from_str_radix(digits, 16).ok())
        .flatten()
    };
    if let Some(rgb) = text.strip_prefix('#') {
        return hex(rgb, 6);
    }
    let argb = hex(text.strip_prefix("0x")?, 8)?;
    (argb > 0xFF_FFFF).then_some(argb)
}

/// The canonical text of a branch value: the value itself when it is a cue, as
/// [`Cue::parse`] and `Display` agree on one spelling.
pub fn canonical(value: &str) -> Option<String> {
    let cue = Cue::parse(value)?;
    let text = cue.to_string();
    (text == value).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: i64, position: ValueRef<'static>, slot: i64, label: &'static str) -> Cue {
        Cue::from_row([
            ValueRef::Integer(kind),
            position,
            ValueRef::Integer(0),
            ValueRef::Integer(slot),
            ValueRef::Text(label.as_bytes()),
            ValueRef::Integer(0xFF0000),
        ])
        .unwrap()
    }

    #[test]
    fn rows_read_as_readable_values_and_back_exactly() {
        let cases = [
            (
                row(1, ValueRef::Integer(5443200), 0, "Drop"),
                "hotcue 1 5443200 0 #FF0000 Drop",
            ),
            (
                row(1, ValueRef::Real(5443200.5), 36, ""),
                "hotcue 37 5443200.5 0 #FF0000",
            ),
            (
                row(2, ValueRef::Real(88200.0), -1, ""),
                "maincue - 88200.0 0 #FF0000",
            ),
            (
                row(4, ValueRef::Integer(1), 2, " two  spaces "),
                "loop 3 1 0 #FF0000  two  spaces ",
            ),
            // The loop Mixxx keeps without a hot cue slot, and a jump cue so.
            (
                row(4, ValueRef::Integer(1411200), -1, ""),
                "loop - 1411200 0 #FF0000",
            ),
            (
                row(5, ValueRef::Integer(7), -1, "x"),
                "jump - 7 0 #FF0000 x",
            ),
        ];
        for (cue, text) in cases {
            assert_eq!(cue.to_string(), text);
            assert_eq!(Cue::parse(text), Some(cue.clone()), "{text}");
            assert_eq!(canonical(text).as_deref(), Some(text));
            let back = cue.to_row();
            assert_eq!(back[1], cue.position.to_sql());
        }
        let argb = Cue {
            color: 0xFFFF_0000,
            ..row(1, ValueRef::Integer(0), 0, "")
        };
        assert_eq!(argb.to_string(), "hotcue 1 0 0 0xFFFF0000");
        assert_eq!(Cue::parse("hotcue 1 0 0 0xFFFF0000"), Some(argb));
    }

    #[test]
    fn values_mixxx_cannot_hold_are_refused() {
        let bad = [
            "",
            "hotcue",
            "hotcue 0 100 0 #FF0000",
            "hotcue 38 100 0 #FF0000",
            "hotcue - 100 0 #FF0000",
            "hotcue 1 -5 0 #FF0000",
            "hotcue 1 1e300 0 #FF0000",
            "hotcue 1 100 -3 #FF0000",
            "hotcue 1 NaN 0 #FF0000",
            "hotcue 1 100 0 red",
            "hotcue 1 100 0 #ff0000",
            "hotcue 1 0100 0 #FF0000",
            "hotcue 01 100 0 #FF0000",
            "sound - 100 0 #FF0000",
            "hotcue 1 100.50 0 #FF0000",
        ];
        for value in bad {
            assert_eq!(canonical(value), None, "{value:?}");
        }
        let huge = format!("hotcue 1 100 0 #FF0000 {}", "x".repeat(1 << 20));
        assert_eq!(canonical(&huge), None);
        // Audible-sound markers (type 8) are Mixxx's analysis, not a cue someone made.
        let sound = [8, 1, 0, -1].map(ValueRef::Integer);
        let [kind, position, length, slot] = sound;
        let columns = [
            kind,
            position,
            length,
            slot,
            ValueRef::Null,
            ValueRef::Integer(0),
        ];
        assert_eq!(Cue::from_row(columns), None);
    }
}

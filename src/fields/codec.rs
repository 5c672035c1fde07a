//! How each field's values are encoded: from what Mixxx stores to the canonical text on the
//! branch, from any spelling a git-annex user may have written to that canonical text, and
//! back to what Mixxx stores. Codecs are strict: a branch value the field cannot hold is an
//! [`Invalid`], never dropped or guessed; and canonical: two spellings of one value (`bpm=128`
//! and `bpm=128.00`) read as the same value, so a value is never rewritten for its spelling.

use super::key;
use rusqlite::types::{Value as SqlValue, ValueRef};
use std::borrow::Cow;

/// The encodings of the field table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// Any non-empty text, exactly as it is (an empty text is unset).
    Text,
    /// `library.rating` 1..5 (0 = unset) ⇄ `1`..`5`.
    Rating,
    /// `library.bpm` REAL in Mixxx's range, above 0 and at most 500 (0 = unset) ⇄ two
    /// decimals, `128.00`.
    Bpm,
    /// `library.color` 0xRRGGBB (NULL = unset) ⇄ `#RRGGBB`, upper-case.
    Color,
    /// `library.key_id` 1..24 (with `library.key` in the clone's notation) ⇄ one canonical
    /// notation ([`key::canonical`]).
    Key,
    /// A row of `cues` ⇄ its [`super::cue`] value (read and written by the cue table's code,
    /// not as a column).
    Cue,
    /// The grid's four `library` columns ⇄ its [`super::grid`] value (read and written by
    /// the grid's code, not as one column).
    Grid,
}

/// A branch value that a field cannot hold, with what the field expects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
#[error("{value:?} is not {expected}")]
pub struct Invalid {
    pub value: String,
    pub expected: &'static str,
}

impl Codec {
    /// What the field expects, for messages.
    fn expected(self) -> &'static str {
        match self {
            Codec::Text => "text",
            Codec::Rating => "a rating from 1 to 5",
            Codec::Bpm => "a BPM above 0 and at most 500",
            Codec::Color => "a colour written #RRGGBB",
            Codec::Key => "a musical key such as Am, C#m, 8A or 1m",
            Codec::Cue => {
                "a cue: KIND SLOT POSITION LENGTH #RRGGBB [LABEL], with a slot from 1 to 37 (- for a main cue, intro or outro, and a loop or jump without a pad) and a position within a day"
            }
            Codec::Grid => super::grid::reason::SPELLING,
        }
    }

    /// The canonical branch text of a value Mixxx stores (`key_id` is the row's
    /// `library.key_id`, used by [`Codec::Key`]); `None` when Mixxx's value means unset.
    pub fn from_mixxx(self, raw: ValueRef<'_>, key_id: Option<i64>) -> Option<Cow<'_, str>> {
        match self {
            Codec::Text => text(raw),
            Codec::Rating => integer(raw).and_then(rating).map(Cow::Owned),
            Codec::Bpm => real(raw).and_then(bpm).map(Cow::Owned),
            Codec::Color => integer(raw).and_then(color).map(Cow::Owned),
            Codec::Key => {
                let id = key_id
                    .filter(|id| key::canonical(*id).is_some())
                    .or_else(|| text(raw).map(|t| key::key_id(&t)))?;
                key::canonical(id).map(Cow::Borrowed)
            }
            Codec::Cue | Codec::Grid => None,
        }
    }

    /// The canonical form of a branch value, or why the field cannot hold it.
    pub fn canonical(self, value: &str) -> Result<Cow<'_, str>, Invalid> {
        let canonical = match self {
            Codec::Text => return Ok(Cow::Borrowed(value)),
            Codec::Rating => value.parse().ok().and_then(rating),
            Codec::Bpm => value.parse().ok().and_then(bpm),
            Codec::Color => parse_color(value).and_then(color),
            Codec::Key => key::canonical(key::key_id(value)).map(str::to_owned),
            Codec::Cue => super::cue::canonical(value),
            Codec::Grid => {
                // Only the canonical spelling is a grid: the value is its own canonical form.
                let canonical = super::grid::canonical(value);
                return canonical
                    .map(|_| Cow::Borrowed(value))
                    .map_err(|expected| Invalid {
                        value: value.to_owned(),
                        expected,
                    });
            }
        };
        match canonical {
            Some(c) if c == value => Ok(Cow::Borrowed(value)),
            Some(c) => Ok(Cow::Owned(c)),
            None => Err(Invalid {
                value: value.to_owned(),
                expected: self.expected(),
            }),
        }
    }

    /// The column value that stores a canonical value (`None`: unset). For [`Codec::Key`]
    /// this is `key_id`; the text goes in the clone's notation ([`key::render`]).
    pub fn to_mixxx(self, value: Option<&str>) -> Result<SqlValue, Invalid> {
        let Some(value) = value else {
            return Ok(match self {
                Codec::Text => SqlValue::Text(String::new()),
                Codec::Rating | Codec::Key => SqlValue::Integer(0),
                Codec::Bpm => SqlValue::Real(0.0),
                Codec::Color | Codec::Cue | Codec::Grid => SqlValue::Null,
            });
        };
        let canonical = self.canonical(value)?;
        Ok(match self {
            Codec::Text => SqlValue::Text(canonical.into_owned()),
            Codec::Rating => SqlValue::Integer(canonical.parse().unwrap_or_default()),
            Codec::Bpm => SqlValue::Real(canonical.parse().unwrap_or_default()),
            Codec::Color => SqlValue::Integer(parse_color(&canonical).unwrap_or_default()),
            Codec::Key => SqlValue::Integer(key::key_id(&canonical)),
            Codec::Cue | Codec::Grid => SqlValue::Text(canonical.into_owned()),
        })
    }
}

/// A rating 1..5 as text; anything else is unset.
fn rating(rating: i64) -> Option<String> {
    (1..=5).contains(&rating).then(|| rating.to_string())
}

/// The largest BPM Mixxx accepts (`mixxx::Bpm::kValueMax`); the beat grid has the same limit.
const MAX_BPM: f64 = 500.0;

/// A BPM with two decimals; what rounds to 0 or below, above Mixxx's 500 or is not a number
/// is none (a branch value so is held, never written to Mixxx nor used to move a beat grid).
fn bpm(bpm: f64) -> Option<String> {
    let text = format!("{bpm:.2}");
    let in_range = |b: f64| b > 0.0 && b <= MAX_BPM;
    (bpm.is_finite() && text.parse::<f64>().is_ok_and(in_range)).then_some(text)
}

/// A colour `0xRRGGBB` as `#RRGGBB`.
fn color(color: i64) -> Option<String> {
    (0..=0xFF_FFFF)
        .contains(&color)
        .then(|| format!("#{color:06X}"))
}

/// `#RRGGBB` in either case.
fn parse_color(value: &str) -> Option<i64> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    i64::from_str_radix(hex, 16).ok()
}

/// Any SQLite value as text (SQLite does not enforce column types); empty text is unset.
fn text(v: ValueRef<'_>) -> Option<Cow<'_, str>> {
    let s = match v {
        ValueRef::Null => return None,
        ValueRef::Integer(i) => Cow::Owned(i.to_string()),
        ValueRef::Real(f) => Cow::Owned(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t),
    };
    (!s.is_empty()).then_some(s)
}

fn integer(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) => Some(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn real(v: ValueRef<'_>) -> Option<f64> {
    match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn from_sql(codec: Codec, v: &SqlValue, key_id: Option<i64>) -> Option<String> {
        let raw = ValueRef::from(v);
        codec.from_mixxx(raw, key_id).map(Cow::into_owned)
    }

    #[test]
    fn non_canonical_spellings_read_as_the_same_value() {
        let same = |codec: Codec, spelled: &str, canonical: &str| {
            assert_eq!(
                codec.canonical(spelled).as_deref(),
                Ok(canonical),
                "{spelled}"
            );
        };
        same(Codec::Bpm, "128", "128.00");
        same(Codec::Bpm, "128.0", "128.00");
        same(Codec::Bpm, "128.00", "128.00");
        same(Codec::Rating, "05", "5");
        same(Codec::Color, "#ff0000", "#FF0000");
        same(Codec::Key, "8A", "Am");
        same(Codec::Key, "1m", "Am");
        same(Codec::Key, "Am", "Am");
        same(Codec::Text, " spaced ", " spaced ");
        assert!(matches!(
            Codec::Bpm.canonical("128.00"),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn values_a_field_cannot_hold_are_invalid() {
        for (codec, value) in [
            (Codec::Rating, "9"),
            (Codec::Rating, "0"),
            (Codec::Rating, "five"),
            (Codec::Bpm, "abc"),
            (Codec::Bpm, "-5"),
            (Codec::Bpm, "NaN"),
            (Codec::Bpm, "inf"),
            (Codec::Bpm, "1000"),
            (Codec::Bpm, "500.01"),
            (Codec::Bpm, "0.001"),
            (Codec::Color, "red"),
            (Codec::Color, "#12345"),
            (Codec::Color, "#+12345"),
            (Codec::Key, "H minor"),
        ] {
            let err = codec.canonical(value).expect_err(value);
            assert_eq!(err.value, value);
            assert!(codec.to_mixxx(Some(value)).is_err());
        }
    }

    #[test]
    fn mixxx_unset_values() {
        assert_eq!(from_sql(Codec::Rating, &SqlValue::Integer(0), None), None);
        assert_eq!(from_sql(Codec::Bpm, &SqlValue::Real(0.0), None), None);
        assert_eq!(from_sql(Codec::Color, &SqlValue::Null, None), None);
        assert_eq!(
            from_sql(Codec::Text, &SqlValue::Text(String::new()), None),
            None
        );
        assert_eq!(
            from_sql(Codec::Key, &SqlValue::Text(String::new()), Some(0)),
            None
        );
        assert_eq!(Codec::Rating.to_mixxx(None), Ok(SqlValue::Integer(0)));
        assert_eq!(Codec::Color.to_mixxx(None), Ok(SqlValue::Null));
    }

    #[test]
    fn keys_come_from_key_id_whatever_the_notation() {
        let lancelot = SqlValue::Text("8A".into());
        assert_eq!(
            from_sql(Codec::Key, &lancelot, Some(22)).as_deref(),
            Some("Am")
        );
        assert_eq!(from_sql(Codec::Key, &lancelot, None).as_deref(), Some("Am"));
        let custom = SqlValue::Text("la mineur".into());
        assert_eq!(
            from_sql(Codec::Key, &custom, Some(22)).as_deref(),
            Some("Am")
        );
        assert_eq!(from_sql(Codec::Key, &custom, Some(0)), None);
    }

    /// Every value Mixxx can store: read, canonical on the branch, written back, read again.
    fn round_trip(codec: Codec, stored: SqlValue, key_id: Option<i64>) {
        let Some(text) = from_sql(codec, &stored, key_id) else {
            return;
        };
        assert_eq!(codec.canonical(&text).as_deref(), Ok(text.as_str()));
        let written = codec
            .to_mixxx(Some(&text))
            .expect("canonical values are valid");
        let id = match (codec, &written) {
            (Codec::Key, SqlValue::Integer(id)) => Some(*id),
            _ => key_id,
        };
        assert_eq!(from_sql(codec, &written, id), Some(text));
    }

    #[test]
    fn every_rating_colour_and_key_round_trips() {
        for r in 0..=5 {
            round_trip(Codec::Rating, SqlValue::Integer(r), None);
        }
        for c in [0, 1, 0xABCDEF, 0xFF_FFFF] {
            round_trip(Codec::Color, SqlValue::Integer(c), None);
        }
        for id in 0..=24 {
            round_trip(Codec::Key, SqlValue::Text(String::new()), Some(id));
        }
    }

    proptest! {
        #[test]
        fn bpm_round_trips(bpm in 0.0f64..1000.0) {
            round_trip(Codec::Bpm, SqlValue::Real(bpm), None);
        }

        #[test]
        fn colour_round_trips(c in 0i64..=0xFF_FFFF) {
            round_trip(Codec::Color, SqlValue::Integer(c), None);
        }

        #[test]
        fn text_round_trips(t in "\\PC*") {
            round_trip(Codec::Text, SqlValue::Text(t), None);
        }
    }
}

//! A track's beat grid (`library.beats`, `beats_version`, `beats_sub_version`, `bpm_lock`) as
//! the branch's `grid` value, one readable line: `VERSION LOCK BASE64 [SUB-VERSION]`, e.g.
//! `BeatGrid-2.0 1 CgkJAAAAAAAAYEASAggA`.
//!
//! - VERSION: `BeatGrid-1.0`, `BeatGrid-2.0` or `BeatMap-1.0`, as Mixxx names the blob's format.
//! - LOCK: `bpm_lock`, `0` or `1`.
//! - BASE64: the blob, byte for byte, in standard padded base64.
//! - SUB-VERSION: the rest of the value, exactly as stored (any text, spaces included); absent
//!   when NULL or empty.
//!
//! A NULL or empty blob or version is no grid. The blob is checked as the format its version
//! names, from Mixxx's `src/proto/beats.proto` (`BeatGrid-2.0`: a `BeatGrid` message,
//! `BeatMap-1.0`: a `BeatMap` message) and `src/track/beatgrid.cpp` (`BeatGrid-1.0`: the legacy
//! `BeatGridData`, two little-endian doubles: the BPM and the first beat in frames). A value
//! Mixxx could not load sanely (another version, a blob that does not parse, a BPM outside
//! Mixxx's range, a beat before the track's start, beats out of order, an absurd size) is
//! refused with the reason.
//!
//! In Mixxx the grid is the truth and the `bpm` column is derived from it: [`Grid::bpm`] and
//! [`Grid::with_bpm`] let a sync keep the two together.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use prost::Message as _;
use rusqlite::types::{Value as SqlValue, ValueRef};
use std::fmt;

/// The columns of `library` that hold a grid, in the order of [`Grid::from_columns`] and
/// [`Grid::to_columns`].
pub const COLUMNS: [&str; 4] = ["beats", "beats_version", "beats_sub_version", "bpm_lock"];
/// The largest blob accepted.
const MAX_BLOB: usize = 16 << 20;
/// The most beats a beat map may have (an hour at 300 BPM is 18,000).
const MAX_BEATS: usize = 1_000_000;
/// Mixxx's BPM range: above 0, at most 500 (`mixxx::Bpm::kValueMax`).
const MAX_BPM: f64 = 500.0;
/// The longest sub-version accepted, in bytes.
const MAX_SUB_VERSION: usize = 4096;

/// Why a value is not a grid, as the end of "… is not …".
pub mod reason {
    pub const SPELLING: &str = "a beat grid written VERSION LOCK BASE64 [SUB-VERSION], with LOCK 0 or 1 and the blob in padded base64";
    pub const VERSION: &str =
        "a beat grid: its version must be BeatGrid-1.0, BeatGrid-2.0 or BeatMap-1.0";
    pub const SIZE: &str =
        "a beat grid of at most 16 MiB with a sub-version of at most 4 KiB and a blob";
    pub const BLOB: &str = "a beat grid whose blob is in the format its version names";
    pub const BPM: &str = "a beat grid with a BPM above 0 and at most 500";
    pub const POSITION: &str = "a beat grid with no beat before the start of the track";
    pub const BEATS: &str = "a beat map of at most 1,000,000 beats, in order";
}

/// The formats of a grid blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `BeatGrid-1.0`: two little-endian doubles, the BPM and the first beat (frames).
    Legacy,
    /// `BeatGrid-2.0`: a [`BeatGrid`] message.
    Grid,
    /// `BeatMap-1.0`: a [`BeatMap`] message.
    Map,
}

const VERSIONS: [(Format, &str); 3] = [
    (Format::Legacy, "BeatGrid-1.0"),
    (Format::Grid, "BeatGrid-2.0"),
    (Format::Map, "BeatMap-1.0"),
];

/// `mixxx.track.io.Beat`. `source` is the enum `Source` (ANALYZER = 0, FILE_METADATA = 1,
/// USER = 2), read and written as the varint it is on the wire.
#[derive(Clone, PartialEq, prost::Message)]
struct Beat {
    #[prost(int32, optional, tag = "1")]
    frame_position: Option<i32>,
    #[prost(bool, optional, tag = "2", default = "true")]
    enabled: Option<bool>,
    #[prost(int32, optional, tag = "3")]
    source: Option<i32>,
}

/// `mixxx.track.io.Bpm`.
#[derive(Clone, PartialEq, prost::Message)]
struct Bpm {
    #[prost(double, optional, tag = "1")]
    bpm: Option<f64>,
    #[prost(int32, optional, tag = "2")]
    source: Option<i32>,
}

/// `mixxx.track.io.BeatMap`.
#[derive(Clone, PartialEq, prost::Message)]
struct BeatMap {
    #[prost(message, repeated, tag = "1")]
    beat: Vec<Beat>,
}

/// `mixxx.track.io.BeatGrid`.
#[derive(Clone, PartialEq, prost::Message)]
struct BeatGrid {
    #[prost(message, optional, tag = "1")]
    bpm: Option<Bpm>,
    #[prost(message, optional, tag = "2")]
    first_beat: Option<Beat>,
}

/// One beat grid, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    format: Format,
    lock: bool,
    blob: Vec<u8>,
    sub_version: String,
}

impl Grid {
    /// The grid of a `library` row's [`COLUMNS`]; `None` when it has none, or one git-mixxx
    /// cannot read (such a grid stays as it is in this Mixxx).
    pub fn from_columns(columns: [ValueRef<'_>; 4]) -> Option<Grid> {
        let [beats, version, sub_version, lock] = columns;
        let bytes = |v: ValueRef<'_>| match v {
            ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
            _ => None,
        };
        let text = |v| bytes(v).and_then(|b| String::from_utf8(b).ok());
        let version = text(version)?;
        let format = VERSIONS.iter().find(|(_, n)| *n == version)?.0;
        let lock = match lock {
            ValueRef::Integer(i) => i != 0,
            ValueRef::Real(r) => r != 0.0,
            _ => false,
        };
        let grid = Grid {
            format,
            lock,
            blob: bytes(beats)?,
            sub_version: text(sub_version).unwrap_or_default(),
        };
        grid.check().ok().map(|()| grid)
    }

    /// The values of [`COLUMNS`] that store it. `bpm_lock` is never NULL for a grid: NULL
    /// (no grid) leaves the column as it is.
    pub fn to_columns(grid: Option<&Grid>) -> [SqlValue; 4] {
        let Some(grid) = grid else {
            return [
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
            ];
        };
        let sub_version = match grid.sub_version.is_empty() {
            true => SqlValue::Null,
            false => SqlValue::Text(grid.sub_version.clone()),
        };
        [
            SqlValue::Blob(grid.blob.clone()),
            SqlValue::Text(grid.version().to_owned()),
            sub_version,
            SqlValue::Integer(i64::from(grid.lock)),
        ]
    }

    /// Parses a branch value, or says why it is not a grid Mixxx can load.
    pub fn parse(value: &str) -> Result<Grid, &'static str> {
        let mut parts = value.splitn(4, ' ');
        let version = parts.next().unwrap_or_default();
        let format = VERSIONS
            .iter()
            .find(|(_, n)| *n == version)
            .ok_or(reason::VERSION)?
            .0;
        let lock = match parts.next() {
            Some("0") => false,
            Some("1") => true,
            _ => return Err(reason::SPELLING),
        };
        let encoded = parts.next().ok_or(reason::SPELLING)?;
        if encoded.len() > MAX_BLOB.div_ceil(3) * 4 {
            return Err(reason::SIZE);
        }
        let blob = B64.decode(encoded).map_err(|_| reason::SPELLING)?;
        let grid = Grid {
            format,
            lock,
            blob,
            sub_version: parts.next().unwrap_or_default().to_owned(),
        };
        grid.check()?;
        Ok(grid)
    }

    fn version(&self) -> &'static str {
        VERSIONS
            .iter()
            .find(|(f, _)| *f == self.format)
            .map_or("", |(_, n)| n)
    }

    /// Whether Mixxx can load it sanely.
    fn check(&self) -> Result<(), &'static str> {
        if self.blob.is_empty()
            || self.blob.len() > MAX_BLOB
            || self.sub_version.len() > MAX_SUB_VERSION
        {
            return Err(reason::SIZE);
        }
        match self.format {
            Format::Legacy => {
                let (bpm, first) = legacy(&self.blob).ok_or(reason::BLOB)?;
                check_bpm(bpm)?;
                (first.is_finite() && first >= 0.0)
                    .then_some(())
                    .ok_or(reason::POSITION)
            }
            Format::Grid => {
                let grid = BeatGrid::decode(self.blob.as_slice()).map_err(|_| reason::BLOB)?;
                check_bpm(grid.bpm.and_then(|b| b.bpm).unwrap_or_default())?;
                let first = grid.first_beat.map_or(0, |b| b.frame_position());
                (first >= 0).then_some(()).ok_or(reason::POSITION)
            }
            Format::Map => {
                let map = BeatMap::decode(self.blob.as_slice()).map_err(|_| reason::BLOB)?;
                if map.beat.len() > MAX_BEATS {
                    return Err(reason::BEATS);
                }
                let mut previous = 0;
                for beat in &map.beat {
                    let position = beat.frame_position();
                    if position < 0 {
                        return Err(reason::POSITION);
                    }
                    if position < previous {
                        return Err(reason::BEATS);
                    }
                    previous = position;
                }
                Ok(())
            }
        }
    }

    /// The BPM of a beat grid; `None` for a beat map (its tempo varies).
    pub fn bpm(&self) -> Option<f64> {
        match self.format {
            Format::Legacy => legacy(&self.blob).map(|(bpm, _)| bpm),
            Format::Grid => BeatGrid::decode(self.blob.as_slice()).ok()?.bpm?.bpm,
            Format::Map => None,
        }
    }

    /// The grid at another BPM, as Mixxx makes it when a BPM is typed in: a beat grid keeps
    /// its first beat (and everything else) and takes the new BPM; a beat map cannot be
    /// rescaled and gives `None` (no grid: Mixxx builds one from the `bpm` column).
    pub fn with_bpm(&self, bpm: f64) -> Option<Grid> {
        let blob = match self.format {
            Format::Legacy => {
                let (_, first) = legacy(&self.blob)?;
                [bpm.to_le_bytes(), first.to_le_bytes()].concat()
            }
            Format::Grid => {
                let mut grid = BeatGrid::decode(self.blob.as_slice()).ok()?;
                grid.bpm.get_or_insert_with(Bpm::default).bpm = Some(bpm);
                grid.encode_to_vec()
            }
            Format::Map => return None,
        };
        let grid = Grid {
            blob,
            ..self.clone()
        };
        grid.check().ok().map(|()| grid)
    }
}

/// A legacy `BeatGrid-1.0` blob's BPM and first beat.
fn legacy(blob: &[u8]) -> Option<(f64, f64)> {
    let blob: &[u8; 16] = blob.try_into().ok()?;
    let (bpm, first) = blob.split_at(8);
    Some((
        f64::from_le_bytes(bpm.try_into().ok()?),
        f64::from_le_bytes(first.try_into().ok()?),
    ))
}

fn check_bpm(bpm: f64) -> Result<(), &'static str> {
    (bpm.is_finite() && bpm > 0.0 && bpm <= MAX_BPM)
        .then_some(())
        .ok_or(reason::BPM)
}

impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lock = u8::from(self.lock);
        write!(f, "{} {lock} {}", self.version(), B64.encode(&self.blob))?;
        if !self.sub_version.is_empty() {
            write!(f, " {}", self.sub_version)?;
        }
        Ok(())
    }
}

/// The canonical text of a branch value: the value itself when it is a grid written the one
/// way [`Grid`]'s `Display` writes it.
pub fn canonical(value: &str) -> Result<String, &'static str> {
    let text = Grid::parse(value)?.to_string();
    match text == value {
        true => Ok(text),
        false => Err(reason::SPELLING),
    }
}

/// A `BeatGrid-2.0` blob, for tests.
#[cfg(test)]
pub(crate) fn beat_grid(bpm: f64, first: i32) -> Vec<u8> {
    BeatGrid {
        bpm: Some(Bpm {
            bpm: Some(bpm),
            source: None,
        }),
        first_beat: Some(Beat {
            frame_position: Some(first),
            enabled: None,
            source: Some(2),
        }),
    }
    .encode_to_vec()
}

/// A `BeatMap-1.0` blob, for tests.
#[cfg(test)]
pub(crate) fn beat_map(positions: &[i32]) -> Vec<u8> {
    let beat = positions
        .iter()
        .map(|p| Beat {
            frame_position: Some(*p),
            enabled: None,
            source: None,
        })
        .collect();
    BeatMap { beat }.encode_to_vec()
}

/// The branch value of a blob of `version`, unlocked, for tests.
#[cfg(test)]
pub(crate) fn value(version: &str, blob: &[u8]) -> String {
    format!("{version} 0 {}", B64.encode(blob))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(blob: &[u8], version: &str, sub: Option<&str>, lock: i64) -> Option<Grid> {
        let sub = sub.map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes()));
        Grid::from_columns([
            ValueRef::Blob(blob),
            ValueRef::Text(version.as_bytes()),
            sub,
            ValueRef::Integer(lock),
        ])
    }

    /// Read from columns, written as text, parsed back, and stored exactly as read.
    fn round_trip(blob: &[u8], version: &str, sub: Option<&str>, lock: i64) -> String {
        let grid = columns(blob, version, sub, lock).expect("a grid");
        let text = grid.to_string();
        assert_eq!(canonical(&text).as_deref(), Ok(text.as_str()));
        let back = Grid::parse(&text).expect("parses");
        let stored = Grid::to_columns(Some(&back));
        assert_eq!(stored[0], SqlValue::Blob(blob.to_vec()));
        assert_eq!(stored[1], SqlValue::Text(version.to_owned()));
        let sub = sub.filter(|s| !s.is_empty());
        assert_eq!(
            stored[2],
            sub.map_or(SqlValue::Null, |s| SqlValue::Text(s.into()))
        );
        assert_eq!(stored[3], SqlValue::Integer(lock));
        text
    }

    #[test]
    fn grids_round_trip_byte_for_byte() {
        let grid = beat_grid(128.0, 1234);
        let text = round_trip(&grid, "BeatGrid-2.0", Some("mixxx-queenmarydf 2"), 1);
        assert_eq!(
            text,
            format!("BeatGrid-2.0 1 {} mixxx-queenmarydf 2", B64.encode(&grid))
        );
        let text = round_trip(&grid, "BeatGrid-2.0", None, 0);
        assert!(
            !text.ends_with(' '),
            "no sub-version, no trailing space: {text:?}"
        );
        assert_eq!(round_trip(&grid, "BeatGrid-2.0", Some(""), 0), text);
        let map = beat_map(&[0, 20_000, 40_000, 40_000, 61_000]);
        round_trip(&map, "BeatMap-1.0", Some("  spaced  sub version "), 0);
        let legacy = [120.5f64.to_le_bytes(), 4410.0f64.to_le_bytes()].concat();
        round_trip(&legacy, "BeatGrid-1.0", None, 1);
        assert_eq!(
            Grid::parse(&round_trip(&legacy, "BeatGrid-1.0", None, 1))
                .unwrap()
                .bpm(),
            Some(120.5)
        );
    }

    #[test]
    fn no_grid_is_unset() {
        let grid = beat_grid(128.0, 0);
        assert_eq!(columns(&[], "BeatGrid-2.0", None, 0), None);
        assert_eq!(columns(&grid, "", None, 0), None);
        let null = Grid::from_columns([
            ValueRef::Null,
            ValueRef::Null,
            ValueRef::Null,
            ValueRef::Integer(1),
        ]);
        assert_eq!(null, None);
        assert_eq!(Grid::to_columns(None), [const { SqlValue::Null }; 4]);
    }

    #[test]
    fn hostile_values_are_refused_with_their_reason() {
        let encode = |blob: &[u8]| B64.encode(blob);
        let grid = encode(&beat_grid(128.0, 100));
        let cases = [
            (String::new(), reason::VERSION),
            (format!("BeatGrid-3.0 0 {grid}"), reason::VERSION),
            (format!("beatgrid-2.0 0 {grid}"), reason::VERSION),
            (format!("BeatGrid-2.0 2 {grid}"), reason::SPELLING),
            ("BeatGrid-2.0 0".to_owned(), reason::SPELLING),
            ("BeatGrid-2.0 0 not*base64".to_owned(), reason::SPELLING),
            (
                format!("BeatGrid-2.0 0 {}", grid.trim_end_matches('=')),
                reason::SPELLING,
            ),
            (format!("BeatGrid-2.0 0 {grid} "), reason::SPELLING),
            ("BeatGrid-2.0 0 ".to_owned(), reason::SIZE),
            (
                format!("BeatGrid-2.0 0 {}", encode(&[0xFF; 7])),
                reason::BLOB,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_grid(0.0, 0))),
                reason::BPM,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_grid(-120.0, 0))),
                reason::BPM,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_grid(f64::NAN, 0))),
                reason::BPM,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_grid(f64::INFINITY, 0))),
                reason::BPM,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_grid(500.5, 0))),
                reason::BPM,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_grid(128.0, -1))),
                reason::POSITION,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&beat_map(&[1]))),
                reason::BLOB,
            ),
            (
                format!("BeatGrid-2.0 0 {}", encode(&[0x12, 0x02, 0x08, 0x01])),
                reason::BPM,
            ),
            (
                format!("BeatMap-1.0 0 {}", encode(&beat_map(&[5, 3]))),
                reason::BEATS,
            ),
            (
                format!("BeatMap-1.0 0 {}", encode(&beat_map(&[-5, 3]))),
                reason::POSITION,
            ),
            (format!("BeatGrid-1.0 0 {grid}"), reason::BLOB),
            (format!("BeatGrid-1.0 0 {}", encode(&[0; 16])), reason::BPM),
            (
                format!(
                    "BeatGrid-1.0 0 {}",
                    encode(&[128f64.to_le_bytes(), (-1f64).to_le_bytes()].concat())
                ),
                reason::POSITION,
            ),
            (
                format!("BeatGrid-2.0 0 {grid} {}", "x".repeat(5000)),
                reason::SIZE,
            ),
            (
                format!("BeatMap-1.0 0 {}", "A".repeat(23 << 20)),
                reason::SIZE,
            ),
        ];
        for (value, why) in cases {
            let shown = &value[..value.len().min(80)];
            assert_eq!(canonical(&value), Err(why), "{shown:?}");
        }
        // A map of more beats than any track has.
        let many: Vec<i32> = (0..=MAX_BEATS as i32).collect();
        let value = format!("BeatMap-1.0 0 {}", encode(&beat_map(&many)));
        assert_eq!(canonical(&value), Err(reason::BEATS));
        // What Mixxx holds that git-mixxx cannot read is no grid to sync.
        assert_eq!(columns(&beat_grid(0.0, 0), "BeatGrid-2.0", None, 0), None);
        assert_eq!(columns(&beat_grid(128.0, 0), "BeatGrid-9", None, 0), None);
    }

    #[test]
    fn a_new_bpm_keeps_the_first_beat_and_clears_a_beat_map() {
        let grid = columns(&beat_grid(128.0, 1234), "BeatGrid-2.0", Some("sub"), 1).unwrap();
        assert_eq!(grid.bpm(), Some(128.0));
        let adjusted = grid.with_bpm(130.0).expect("a grid takes any BPM");
        assert_eq!(adjusted.bpm(), Some(130.0));
        let expected = beat_grid(130.0, 1234);
        assert_eq!(adjusted.blob, expected, "only the BPM changes");
        assert_eq!(
            (adjusted.lock, adjusted.sub_version.as_str()),
            (true, "sub")
        );
        let legacy = [128f64.to_le_bytes(), 99.5f64.to_le_bytes()].concat();
        let legacy = columns(&legacy, "BeatGrid-1.0", None, 0).unwrap();
        let adjusted = legacy.with_bpm(90.0).unwrap();
        assert_eq!(adjusted.version(), "BeatGrid-1.0");
        assert_eq!(
            adjusted.blob,
            [90f64.to_le_bytes(), 99.5f64.to_le_bytes()].concat()
        );
        let map = columns(&beat_map(&[0, 100]), "BeatMap-1.0", None, 0).unwrap();
        assert_eq!(map.bpm(), None);
        assert_eq!(map.with_bpm(130.0), None);
        assert_eq!(grid.with_bpm(0.0), None, "not a BPM Mixxx holds");
    }
}

//! The mapping between Mixxx library columns and git-annex metadata fields (the design's
//! field table): names, which fields hold one value and which hold a set, and how each value is
//! encoded in both directions.

use crate::annex::logmet::Values;
pub mod key;

use md5::{Digest as _, Md5};

/// Fields that hold at most one value, with the `library` column each comes from.
pub const SINGLE: &[(&str, &str)] = &[
    ("artist", "artist"),
    ("title", "title"),
    ("album", "album"),
    ("albumartist", "album_artist"),
    ("genre", "genre"),
    ("year", "year"),
    ("tracknumber", "tracknumber"),
    ("comment", "comment"),
    ("composer", "composer"),
    ("grouping", "grouping"),
    ("rating", "rating"),
    ("bpm", "bpm"),
    ("key", "key"),
    ("color", "color"),
];

/// Fields that hold a set of values (membership).
pub const SETS: &[&str] = &["crate", "playlist"];

/// Every field git-mixxx owns on the branch, in the order lines are written.
pub fn all() -> impl Iterator<Item = &'static str> + Clone {
    SINGLE.iter().map(|(f, _)| *f).chain(SETS.iter().copied())
}

pub fn is_set_field(field: &str) -> bool {
    SETS.contains(&field)
}

/// A track's mapped values in compact form (a library holds 100,000 of them): the
/// single-valued fields' values concatenated in [`SINGLE`] order (a value is never empty, so
/// an empty span is an unset field), and a sorted, de-duplicated list per set field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    text: Box<str>,
    /// Where each single-valued field's value ends in `text`.
    ends: [u32; SINGLE_COUNT],
    sets: [Vec<String>; 2],
}

const SINGLE_COUNT: usize = 14;
const _: () = assert!(SINGLE.len() == SINGLE_COUNT && SETS.len() == 2);

impl Row {
    /// A row with the single-valued fields' values in [`SINGLE`] order (`None` or empty:
    /// unset; missing at the end: unset) and no set members.
    pub fn new<S: AsRef<str>>(singles: impl IntoIterator<Item = Option<S>>) -> Row {
        let mut text = String::new();
        let mut ends = [0u32; SINGLE_COUNT];
        let mut singles = singles.into_iter();
        for end in &mut ends {
            if let Some(Some(v)) = singles.next() {
                text.push_str(v.as_ref());
            }
            // Values are at most a few kilobytes; a row never nears 4 GiB.
            *end = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        Row {
            text: text.into_boxed_str(),
            ends,
            sets: Default::default(),
        }
    }

    /// The value of single-valued field number `index` (in [`SINGLE`] order).
    pub fn single(&self, index: usize) -> Option<&str> {
        let start = index.checked_sub(1).map_or(0, |i| self.ends[i]) as usize;
        let value = self.text.get(start..self.ends[index] as usize)?;
        (!value.is_empty()).then_some(value)
    }

    /// Adds a member to set field number `index` (in [`SETS`] order).
    pub fn add_member(&mut self, index: usize, name: String) {
        let set = &mut self.sets[index];
        if let Err(at) = set.binary_search(&name) {
            set.insert(at, name);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.sets.iter().all(Vec::is_empty)
    }

    /// Every (field, value), fields in [`all`] order and each set's values sorted.
    pub fn values(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let singles = SINGLE
            .iter()
            .enumerate()
            .filter_map(|(i, (f, _))| Some((*f, self.single(i)?)));
        let sets = SETS
            .iter()
            .zip(&self.sets)
            .flat_map(|(f, set)| set.iter().map(move |v| (*f, v.as_str())));
        singles.chain(sets)
    }

    pub fn to_values(&self) -> Values {
        let mut values = Values::new();
        for (field, v) in self.values() {
            values
                .entry(field.to_owned())
                .or_default()
                .insert(v.to_owned());
        }
        values
    }

    /// The digest of these values; equal to [`digest`] of [`Row::to_values`].
    pub fn digest(&self) -> Digest {
        digest_of(self.values())
    }
}

/// A stable fingerprint of a track's mapped values (MD5: the same on every machine and build).
pub type Digest = u128;

/// The digest of (field, value) pairs, fields in [`all`] order and values sorted.
fn digest_of<'a, 'b>(pairs: impl Iterator<Item = (&'a str, &'b str)>) -> Digest {
    let mut bytes = Vec::with_capacity(512);
    for (field, v) in pairs {
        // Lengths first, so that no two different value lists hash alike.
        bytes.extend_from_slice(&(field.len() as u64).to_le_bytes());
        bytes.extend_from_slice(field.as_bytes());
        bytes.extend_from_slice(&(v.len() as u64).to_le_bytes());
        bytes.extend_from_slice(v.as_bytes());
    }
    u128::from_le_bytes(Md5::digest(&bytes).into())
}

/// The digest of the owned fields of `values`.
pub fn digest(values: &Values) -> Digest {
    digest_of(all().flat_map(|f| {
        values
            .get(f)
            .into_iter()
            .flatten()
            .map(move |v| (f, v.as_str()))
    }))
}

/// The annex value of a rating (1..5); 0 and anything out of range is unset.
pub fn rating_value(rating: i64) -> Option<String> {
    (1..=5).contains(&rating).then(|| rating.to_string())
}

/// The annex value of a BPM: two decimals; 0, negative or not a number is unset.
pub fn bpm_value(bpm: f64) -> Option<String> {
    (bpm.is_finite() && bpm > 0.0).then(|| format!("{bpm:.2}"))
}

/// The annex value of a colour (`0xRRGGBB` integer): `#RRGGBB` upper-case.
pub fn color_value(color: i64) -> Option<String> {
    (0..=0xFF_FFFF)
        .contains(&color)
        .then(|| format!("#{color:06X}"))
}

/// Parses an annex rating back into Mixxx's 1..5.
pub fn parse_rating(value: &str) -> Option<i64> {
    value.parse().ok().filter(|r| (1..=5).contains(r))
}

/// Parses an annex BPM back into Mixxx's REAL.
pub fn parse_bpm(value: &str) -> Option<f64> {
    value
        .parse()
        .ok()
        .filter(|b: &f64| b.is_finite() && *b > 0.0)
}

/// Parses `#RRGGBB` (either case) back into Mixxx's integer.
pub fn parse_color(value: &str) -> Option<i64> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    i64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_digest_matches_values_digest() {
        let mut singles = vec![None; 11];
        singles[0] = Some("Artist");
        singles[10] = Some("5");
        let mut row = Row::new(singles);
        assert_eq!(row.single(0), Some("Artist"));
        assert_eq!(row.single(1), None);
        assert_eq!(row.single(10), Some("5"));
        assert_eq!(row.single(13), None);
        row.add_member(0, "B".into());
        row.add_member(0, "A".into());
        row.add_member(0, "B".into());
        let values = row.to_values();
        assert_eq!(values["crate"].len(), 2);
        assert_eq!(row.digest(), digest(&values));
        let other = Row::new([Some("Artist")]);
        assert_ne!(other.digest(), row.digest());
        assert_ne!(Row::default().digest(), row.digest());
    }

    #[test]
    fn value_encodings() {
        assert_eq!(rating_value(0), None);
        assert_eq!(rating_value(5).as_deref(), Some("5"));
        assert_eq!(rating_value(6), None);
        assert_eq!(bpm_value(128.0).as_deref(), Some("128.00"));
        assert_eq!(bpm_value(127.996).as_deref(), Some("128.00"));
        assert_eq!(bpm_value(0.0), None);
        assert_eq!(color_value(0xff8800).as_deref(), Some("#FF8800"));
        assert_eq!(parse_color("#ff8800"), Some(0xff8800));
        assert_eq!(parse_color("red"), None);
        assert_eq!(parse_rating("9"), None);
        assert_eq!(parse_bpm("128.00"), Some(128.0));
    }
}

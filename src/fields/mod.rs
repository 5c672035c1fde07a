//! The synced fields, described once: for each field its annex name, where Mixxx keeps it
//! (a `library` column, or membership of crates or user playlists), whether it holds one value
//! or a set, and its [`Codec`] (Mixxx value → canonical branch text → Mixxx value). Everything
//! else (reading and writing Mixxx, planning, digests) iterates [`Field::ALL`] and asks the
//! table; adding a field is one entry here plus its codec.
//!
//! Cues are elements of a track keyed by type and slot (a set-valued field whose values carry
//! their attributes); the beat grid is one value read from four columns and planned together
//! with `bpm` ([`grid`]). Play counts and last played are columns too, but merge as a counter
//! and as the latest moment, and a count is several fields on the branch ([`plays`]).

pub mod codec;
pub mod cue;
pub mod grid;
pub mod key;
pub mod plays;

pub use codec::Codec;

use std::collections::{BTreeMap, BTreeSet};

/// A field git-mixxx owns on the branch. The order is the order of the table and of the
/// fields in the lines git-mixxx writes (and in digests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Artist,
    Title,
    Album,
    AlbumArtist,
    Genre,
    Year,
    TrackNumber,
    Comment,
    Composer,
    Grouping,
    Rating,
    Bpm,
    Key,
    Color,
    Grid,
    Plays,
    LastPlayed,
    Crate,
    Playlist,
    Cue,
}

/// Where Mixxx keeps a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A column of `library` (one value).
    Column(&'static str),
    /// The beat grid's columns of `library` ([`grid::COLUMNS`]: one value).
    Grid,
    /// Membership of a container (a set of container names).
    Member(Container),
    /// The track's rows of `cues` that a user made (a set of [`cue`] values).
    Cues,
}

/// The containers a track can be a member of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// `crates` / `crate_tracks`.
    Crate,
    /// `Playlists` with `hidden = 0` / `PlaylistTracks`.
    Playlist,
}

/// One row of the field table.
struct Descriptor {
    name: &'static str,
    source: Source,
    codec: Codec,
}

const fn column(name: &'static str, column: &'static str, codec: Codec) -> Descriptor {
    Descriptor {
        name,
        source: Source::Column(column),
        codec,
    }
}

/// The field table, in [`Field`] order.
const TABLE: [Descriptor; 20] = [
    column("artist", "artist", Codec::Text),
    column("title", "title", Codec::Text),
    column("album", "album", Codec::Text),
    column("albumartist", "album_artist", Codec::Text),
    column("genre", "genre", Codec::Text),
    column("year", "year", Codec::Text),
    column("tracknumber", "tracknumber", Codec::Text),
    column("comment", "comment", Codec::Text),
    column("composer", "composer", Codec::Text),
    column("grouping", "grouping", Codec::Text),
    column("rating", "rating", Codec::Rating),
    column("bpm", "bpm", Codec::Bpm),
    column("key", "key", Codec::Key),
    column("color", "color", Codec::Color),
    Descriptor {
        name: "grid",
        source: Source::Grid,
        codec: Codec::Grid,
    },
    // A counter (each clone adds its plays, [`plays`]) and the latest of every clone's.
    column("plays", "timesplayed", Codec::Count),
    column("lastplayed", "last_played_at", Codec::Time),
    Descriptor {
        name: "crate",
        source: Source::Member(Container::Crate),
        codec: Codec::Text,
    },
    Descriptor {
        name: "playlist",
        source: Source::Member(Container::Playlist),
        codec: Codec::Text,
    },
    Descriptor {
        name: "cue",
        source: Source::Cues,
        codec: Codec::Cue,
    },
];

impl Field {
    /// Every field, in table order.
    pub const ALL: [Field; 20] = [
        Field::Artist,
        Field::Title,
        Field::Album,
        Field::AlbumArtist,
        Field::Genre,
        Field::Year,
        Field::TrackNumber,
        Field::Comment,
        Field::Composer,
        Field::Grouping,
        Field::Rating,
        Field::Bpm,
        Field::Key,
        Field::Color,
        Field::Grid,
        Field::Plays,
        Field::LastPlayed,
        Field::Crate,
        Field::Playlist,
        Field::Cue,
    ];

    /// The single-valued fields (kept in `library` columns), in table order.
    pub fn singles() -> impl Iterator<Item = Field> {
        Field::ALL[..SINGLE_COUNT].iter().copied()
    }

    fn descriptor(self) -> &'static Descriptor {
        &TABLE[self as usize]
    }

    /// The field's name on the branch.
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    pub fn source(self) -> Source {
        self.descriptor().source
    }

    pub fn codec(self) -> Codec {
        self.descriptor().codec
    }

    /// Whether the field holds a set of values (membership) rather than at most one.
    pub fn is_set(self) -> bool {
        !matches!(self.source(), Source::Column(_) | Source::Grid)
    }

    /// The field of a branch field name (git-annex compares names case-insensitively and
    /// stores them lower-case).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of fields, as bits (a plan holds one per track of a library).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(u32);

impl FieldSet {
    pub fn insert(&mut self, field: Field) {
        self.0 |= 1 << field as u32;
    }

    pub fn contains(self, field: Field) -> bool {
        self.0 & (1 << field as u32) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in table order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Field>>(fields: I) -> FieldSet {
        let mut set = FieldSet::default();
        for field in fields {
            set.insert(field);
        }
        set
    }
}

/// Field → set of canonical values: a track's synced metadata.
pub type Values = BTreeMap<Field, BTreeSet<String>>;

/// `values` keyed by branch field name, as git-annex shows them.
pub fn by_name(values: &Values) -> crate::annex::logmet::Values {
    values
        .iter()
        .map(|(f, vs)| (f.name().to_owned(), vs.clone()))
        .collect()
}

/// How many fields live in `library` columns (they come first in the table): one column
/// each, and the grid's four.
pub const COLUMN_COUNT: usize = 17;
const SINGLE_COUNT: usize = COLUMN_COUNT;
/// How many fields hold sets (memberships, cues).
const SET_COUNT: usize = 3;
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        let is_column = matches!(TABLE[i].source, Source::Column(_) | Source::Grid);
        assert!(is_column == (i < SINGLE_COUNT));
        i += 1;
    }
    assert!(TABLE.len() == SINGLE_COUNT + SET_COUNT);
};

/// A set field's values, sorted and de-duplicated, packed in one string: a library of
/// 100,000 tracks with 8 cues each holds 800,000 of them (one allocation a track instead of
/// one a value, and no pointer a value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Set {
    text: Box<str>,
    /// Where each value ends in `text`.
    ends: Box<[u32]>,
}

impl Set {
    /// The set of `values` (in any order, repeated or not).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Set {
        let mut values: Vec<&str> = values.into_iter().collect();
        values.sort_unstable();
        values.dedup();
        let mut text = String::with_capacity(values.iter().map(|v| v.len()).sum());
        let ends = values
            .iter()
            .map(|v| {
                text.push_str(v);
                // Values are at most a few kilobytes; a set never nears 4 GiB.
                u32::try_from(text.len()).unwrap_or(u32::MAX)
            })
            .collect();
        Set {
            text: text.into_boxed_str(),
            ends,
        }
    }

    /// The values, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| self.get(i))
    }

    fn get(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |i| self.ends[i]) as usize;
        self.text
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Whether `value` is one of the values (a track's set holds a few).
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|v| v == value)
    }
}

/// A track's values in compact form (a library holds 100,000 of them): the column fields'
/// values concatenated in table order (a value is never empty, so an empty span is an unset
/// field), and a [`Set`] per membership field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    text: Box<str>,
    /// Where each column field's value ends in `text`.
    ends: [u32; SINGLE_COUNT],
    sets: [Set; SET_COUNT],
}

impl Row {
    /// A row with the column fields' canonical values in table order (`None` or empty: unset;
    /// missing at the end: unset) and no memberships.
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

    /// The value of a column field.
    pub fn single(&self, field: Field) -> Option<&str> {
        let index = field as usize;
        let end = *self.ends.get(index)? as usize;
        let start = index.checked_sub(1).map_or(0, |i| self.ends[i]) as usize;
        let value = self.text.get(start..end)?;
        (!value.is_empty()).then_some(value)
    }

    /// Makes a set field hold `values` (ignored for column fields).
    pub fn set_members(&mut self, field: Field, values: Set) {
        if let Some(set) = self.set_mut(field) {
            *set = values;
        }
    }

    /// The set of a set field (none for column fields).
    fn set_mut(&mut self, field: Field) -> Option<&mut Set> {
        (field as usize)
            .checked_sub(SINGLE_COUNT)
            .and_then(|i| self.sets.get_mut(i))
    }

    /// The values of a set field, sorted (none for column fields).
    pub fn set(&self, field: Field) -> &Set {
        static EMPTY: std::sync::LazyLock<Set> = std::sync::LazyLock::new(Set::default);
        (field as usize)
            .checked_sub(SINGLE_COUNT)
            .and_then(|i| self.sets.get(i))
            .unwrap_or(&EMPTY)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.sets.iter().all(Set::is_empty)
    }

    /// Every (field, value), fields in table order and each set's values sorted.
    pub fn values(&self) -> impl Iterator<Item = (Field, &str)> {
        let singles = Field::ALL[..SINGLE_COUNT]
            .iter()
            .filter_map(|f| Some((*f, self.single(*f)?)));
        let sets = Field::ALL[SINGLE_COUNT..]
            .iter()
            .zip(&self.sets)
            .flat_map(|(f, set)| set.iter().map(move |v| (*f, v)));
        singles.chain(sets)
    }

    pub fn to_values(&self) -> Values {
        let mut values = Values::new();
        for (field, v) in self.values() {
            values.entry(field).or_default().insert(v.to_owned());
        }
        values
    }

    /// The digest of these values; equal to [`digest`] of [`Row::to_values`].
    pub fn digest(&self) -> Digest {
        digest_of(self.values())
    }
}

/// A stable fingerprint of a track's values (XXH3-128: the same on every machine and build;
/// kept only in the local cache, whose format number changes with it).
pub type Digest = u128;

/// The digest of (field, value) pairs, fields in table order and values sorted.
fn digest_of<'b>(pairs: impl Iterator<Item = (Field, &'b str)>) -> Digest {
    let mut bytes = Vec::with_capacity(512);
    for (field, v) in pairs {
        let name = field.name();
        // Lengths first, so that no two different value lists hash alike.
        bytes.extend_from_slice(&(name.len() as u64).to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&(v.len() as u64).to_le_bytes());
        bytes.extend_from_slice(v.as_bytes());
    }
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

/// The digest of `values`.
pub fn digest(values: &Values) -> Digest {
    digest_of(
        values
            .iter()
            .flat_map(|(f, vs)| vs.iter().map(move |v| (*f, v.as_str()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_enum() {
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(f as usize, i);
            assert_eq!(Field::from_name(f.name()), Some(f));
            assert_eq!(Field::from_name(&f.name().to_uppercase()), Some(f));
            assert!(crate::annex::logmet::valid_field(f.name()));
        }
        assert_eq!(Field::from_name("tag"), None);
        assert_eq!(Field::singles().count(), SINGLE_COUNT);
        assert!(Field::singles().all(|f| !f.is_set()));
        assert!(Field::Crate.is_set() && !Field::Key.is_set() && !Field::Grid.is_set());
    }

    #[test]
    fn a_set_holds_its_values_sorted_once() {
        let set = Set::new(["b", "", "a", "b", "ab"]);
        assert_eq!(set.iter().collect::<Vec<_>>(), ["", "a", "ab", "b"]);
        assert_eq!(set.len(), 4);
        assert!(set.contains("") && set.contains("ab") && !set.contains("c"));
        assert!(Set::default().is_empty() && !Set::default().contains(""));
        assert_eq!(Set::new(["x", "y"]), Set::new(["y", "x", "y"]));
    }

    #[test]
    fn row_digest_matches_values_digest() {
        let mut singles = vec![None; 11];
        singles[0] = Some("Artist");
        singles[10] = Some("5");
        let mut row = Row::new(singles);
        assert_eq!(row.single(Field::Artist), Some("Artist"));
        assert_eq!(row.single(Field::Title), None);
        assert_eq!(row.single(Field::Rating), Some("5"));
        assert_eq!(row.single(Field::Color), None);
        assert_eq!(row.single(Field::Crate), None);
        row.set_members(Field::Crate, Set::new(["B", "A", "B"]));
        row.set_members(Field::Artist, Set::new(["ignored"]));
        let values = row.to_values();
        assert_eq!(values[&Field::Crate].len(), 2);
        assert_eq!(row.digest(), digest(&values));
        let other = Row::new([Some("Artist")]);
        assert_ne!(other.digest(), row.digest());
        assert_ne!(Row::default().digest(), row.digest());
    }
}

//! The lines of an order file, `<time> {"name","clone","tracks":[keys],"parents":[ids]}`: one
//! order each, named by the lines it was made from. A line's id is derived from its name,
//! tracks and parents (not its time or clone), so two clones that write the same merge write
//! the same node. Lines older than `parents` have none; they are read as before.
//!
//! Reading is bounded: a line over [`bounds::ORDER_LINE_BYTES`] bytes or [`bounds::ORDER_ENTRIES`] entries is skipped
//! and counted, so that no line on the branch can make a sync slow or large.

use crate::annex::logmet::Order;
use crate::bounds;
use md5::{Digest as _, Md5};
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The folder of the order files on the branch.
pub const DIR: &str = "mixxx/playlists";

/// Parents of one line at most (heads merged at once).
const MAX_PARENTS: usize = 64;

/// Whether the branch file at `path` is an order file.
pub fn is_file(path: &str) -> bool {
    (path.strip_prefix(DIR))
        .and_then(|p| p.strip_prefix('/'))
        .is_some_and(|name| name.ends_with(".log") && !name.contains('/'))
}

/// The branch file of a new playlist `name`; `n` > 0 gives the `n`-th other file for it, when
/// that one is taken by a playlist renamed since.
pub fn file_path(name: &str, n: usize) -> String {
    let digest = match n {
        0 => Md5::digest(name.as_bytes()),
        n => Md5::digest(format!("{name}\n{n}").as_bytes()),
    };
    format!("{DIR}/{}.log", faster_hex::hex_string(&digest[..8]))
}

/// The id of a line with this content: 16 hex digits of the MD5 of its name, tracks and
/// parents.
pub fn id_of(name: &str, tracks: &[String], parents: &[String]) -> String {
    let json = serde_json::to_string(&(name, tracks, parents)).expect("strings always serialize");
    faster_hex::hex_string(&Md5::digest(json.as_bytes())[..8])
}

/// One order written to the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub time: Order,
    pub name: String,
    pub clone: String,
    pub tracks: Vec<String>,
    /// The lines it was made from; `None` in lines older than this field.
    pub parents: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Written<'a> {
    name: &'a str,
    clone: &'a str,
    tracks: &'a [String],
    parents: &'a [String],
}

#[derive(Deserialize)]
struct Read {
    name: String,
    clone: String,
    tracks: Keys,
    #[serde(default)]
    parents: Option<Keys>,
}

impl Line {
    pub fn id(&self) -> String {
        id_of(
            &self.name,
            &self.tracks,
            self.parents.as_deref().unwrap_or_default(),
        )
    }

    /// The line as written to the file, with its line end.
    pub fn text(&self) -> String {
        let json = serde_json::to_string(&Written {
            name: &self.name,
            clone: &self.clone,
            tracks: &self.tracks,
            parents: self.parents.as_deref().unwrap_or_default(),
        })
        .expect("an order line always serializes");
        format!("{} {json}\n", self.time)
    }
}

/// The lines of a file that parse, and how many were skipped for being over the limits.
#[derive(Debug, Default)]
pub struct Parsed {
    pub lines: Vec<Line>,
    pub over_limits: usize,
}

/// Parses a file's lines; lines that are no order line are skipped, as are lines over the
/// limits (counted).
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    for l in text.lines() {
        if l.len() > bounds::ORDER_LINE_BYTES {
            out.over_limits += 1;
            continue;
        }
        let Some((time, json)) = l.split_once(' ') else {
            continue;
        };
        let (Some(time), Ok(read)) = (Order::parse(time), serde_json::from_str::<Read>(json))
        else {
            continue;
        };
        let parents_over =
            (read.parents.as_ref()).is_some_and(|p| p.over || p.keys.len() > MAX_PARENTS);
        if read.tracks.over || parents_over {
            out.over_limits += 1;
            continue;
        }
        out.lines.push(Line {
            time,
            name: read.name,
            clone: read.clone,
            tracks: read.tracks.keys,
            parents: read.parents.map(|p| p.keys),
        });
    }
    out
}

/// A list of strings read up to [`bounds::ORDER_ENTRIES`]: beyond, `over` is set and the rest is
/// skipped without being kept.
struct Keys {
    keys: Vec<String>,
    over: bool,
}

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        d.deserialize_seq(KeysVisitor)
    }
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = Keys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Keys, A::Error> {
        let mut out = Keys {
            keys: Vec::new(),
            over: false,
        };
        while !out.over {
            match seq.next_element::<String>()? {
                Some(_) if out.keys.len() == bounds::ORDER_ENTRIES => out.over = true,
                Some(k) => out.keys.push(k),
                None => return Ok(out),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(out)
    }
}

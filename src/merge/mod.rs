//! Three-way merges by the shape of a value, as git merges text: what one side changed since
//! the base applies, changes of different parts combine, and only the same part changed
//! differently on both sides is a conflict, resolved by [`Prefer`]. One module per shape, each
//! with its types up front and its function beside them:
//!
//! - [`single`]: a value a field holds at most one of (a rating, a key, the beat grid);
//! - [`set`]: elements (crate and playlist memberships), merged per element;
//! - [`cue`]: a track's cues, merged per cue and, within a cue, per attribute;
//! - [`counter`]: a count each clone adds to (play counts), one part per clone;
//! - [`latest`]: moments (last played), merged to the latest.
//! - [`sequence`]: ordered lists whose entries may repeat (a playlist's order), merged per
//!   entry.
//!
//! Pure: values in, a [`Decision`] out; the planner ([`crate::sync::plan`]) calls them and
//! holds no merge rule itself.

pub mod counter;
pub mod cue;
pub mod latest;
pub mod sequence;
pub mod set;
pub mod single;

use crate::annex::logmet::Order;
use crate::fields::codec::Invalid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which side wins a conflict: the branch (`git`, the default) or this Mixxx.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    #[default]
    Git,
    Mixxx,
}

impl Prefer {
    pub fn name(self) -> &'static str {
        match self {
            Prefer::Git => "git",
            Prefer::Mixxx => "mixxx",
        }
    }
}

/// What a merge knows of a field's past.
#[derive(Clone, Copy, Debug)]
pub enum Past<'a> {
    /// The field's values at this clone's last sync (the base).
    Base(&'a BTreeSet<String>),
    /// No base (a first sync, a new row or database): the branch's log, as the (field, value)
    /// pairs it ever set or unset, and the field's name. Where the branch has history, it is
    /// the truth.
    History {
        log: &'a BTreeSet<(String, String)>,
        field: &'a str,
    },
}

impl<'a> Past<'a> {
    /// The base's values, if there is a base.
    pub fn base(self) -> Option<&'a BTreeSet<String>> {
        match self {
            Past::Base(b) => Some(b),
            Past::History { .. } => None,
        }
    }

    /// Whether the branch ever had `value` for the field (any value, with `None`); never
    /// with a base.
    pub fn mentions(self, value: Option<&str>) -> bool {
        let Past::History { log, field } = self else {
            return false;
        };
        log.iter()
            .any(|(f, v)| f == field && value.is_none_or(|value| v == value))
    }
}

/// One field's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Both sides hold this value afterwards.
    Value(BTreeSet<String>),
    /// Both changed the same part: a conflict, won by one side, with this value.
    Conflict(BTreeSet<String>, Prefer),
    /// The branch's value cannot be held by Mixxx: the field is left alone.
    Hold(Invalid),
    /// Several values after a merge resolve to this one, the newest, set at this time as
    /// this text: a conflict the branch wins, whose resolution keeps the winner's text as it
    /// is and is dated just after it (so that an edit made meanwhile on another clone is
    /// newer, and wins).
    Resolve(BTreeSet<String>, Order, String),
}

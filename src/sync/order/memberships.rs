//! What the orders say of the per-track `playlist` field, which names playlists. A membership
//! set under an old name (by a clone that had not seen a rename, or in this Mixxx before it) is
//! one of the renamed playlist's: the planner merges memberships on the names after the run,
//! and pushes them so. And where a playlist's order merge removed a track, or where the
//! playlist was renamed since (the field cannot tell a rename, which sets the new name of every
//! track the renaming clone held, from a track added), its merged order says which tracks it
//! holds: the planner's memberships follow it in the same run.

use crate::annex::logmet::{Change, Current, Line, MetLog};
use crate::fields::{Field, Values};
use rustc_hash::FxHashSet as HashSet;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Playlists' old names and the members their order merges decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memberships {
    /// Old names of renamed playlists, with their names after the run.
    renames: BTreeMap<String, String>,
    /// By playlist (its name after the run), what its order merge decided.
    decided: BTreeMap<String, Decided>,
    /// The keys `decided` names.
    keys: HashSet<String>,
}

/// What a playlist's order merge decided of its members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decided {
    /// Renamed since: the keys its merged order holds, and no others.
    pub only: Option<HashSet<String>>,
    /// Keys the merge removed.
    pub removed: HashSet<String>,
}

impl Memberships {
    pub(crate) fn new(
        renames: BTreeMap<String, String>,
        decided: BTreeMap<String, Decided>,
    ) -> Memberships {
        let decided: BTreeMap<String, Decided> = (decided.into_iter())
            .filter(|(_, d)| d.only.is_some() || !d.removed.is_empty())
            .collect();
        let keys = (decided.values())
            .flat_map(|d| d.only.iter().flatten().chain(&d.removed))
            .cloned()
            .collect();
        Memberships {
            renames,
            decided,
            keys,
        }
    }

    /// Whether the orders decide memberships of `key` (so it is planned, changed or not).
    pub fn decides(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// `names`, a key's memberships (under the names after the run), as the orders decide.
    pub fn settle(&self, key: &str, names: &mut BTreeSet<String>) {
        for (name, decided) in &self.decided {
            let member = match &decided.only {
                Some(only) => only.contains(key),
                None if decided.removed.contains(key) => false,
                None => continue,
            };
            match member {
                true => names.insert(name.clone()),
                false => names.remove(name),
            };
        }
    }

    /// The playlist a membership of `name` is in after the run.
    pub fn name<'n>(&'n self, name: &'n str) -> &'n str {
        self.renames.get(name).map_or(name, String::as_str)
    }

    /// Whether `name` is an old name.
    pub fn is_old(&self, name: &str) -> bool {
        self.renames.contains_key(name)
    }

    /// Whether any of `names` is an old name.
    pub fn any<'n>(&self, mut names: impl Iterator<Item = &'n str>) -> bool {
        !self.renames.is_empty() && names.any(|n| self.renames.contains_key(n))
    }

    /// `values` with the `playlist` memberships under their names after the run.
    pub fn values<'v>(&self, values: &'v Values) -> Cow<'v, Values> {
        let Some(names) = values
            .get(&Field::Playlist)
            .filter(|n| self.any(n.iter().map(String::as_str)))
        else {
            return Cow::Borrowed(values);
        };
        let mut out = values.clone();
        let renamed: BTreeSet<String> = names.iter().map(|n| self.name(n).to_owned()).collect();
        out.insert(Field::Playlist, renamed);
        Cow::Owned(out)
    }

    /// A branch log's values with its `playlist` memberships under their names after the run,
    /// as git-annex computes values (for each name, the newest line setting or unsetting it
    /// under any of its names decides: a membership unset under the old name after the rename
    /// was pushed is gone); `None` when the log names no old name.
    pub fn current(&self, log: &MetLog) -> Option<Current> {
        let field = Field::Playlist.name();
        let old = |c: &Change| c.field == field && self.renames.contains_key(&c.value);
        if self.renames.is_empty() || !log.lines.iter().flat_map(|l| &l.changes).any(old) {
            return None;
        }
        let rename = |c: &Change| match old(c) {
            true => Change {
                value: self.name(&c.value).to_owned(),
                ..c.clone()
            },
            false => c.clone(),
        };
        let lines = (log.lines.iter())
            .map(|l| Line {
                order: l.order.clone(),
                changes: l.changes.iter().map(rename).collect(),
            })
            .collect();
        Some(MetLog { lines }.current())
    }

    /// [`Memberships::current`], else the log's values as they are.
    pub fn current_of(&self, log: &MetLog) -> Current {
        self.current(log).unwrap_or_else(|| log.current())
    }

    /// The (field, value) pairs of a log's history with `playlist` values under their names
    /// after the run, beside the old ones.
    pub fn history(&self, history: &BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
        let field = Field::Playlist.name();
        let renamed = (history.iter())
            .filter(|(f, v)| f == field && self.renames.contains_key(v))
            .map(|(f, v)| (f.clone(), self.name(v).to_owned()));
        history
            .iter()
            .cloned()
            .chain(renamed)
            .collect::<BTreeSet<_>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_under_old_names_read_as_under_the_new() {
        let renames = Memberships::new(
            BTreeMap::from([("Sat".to_owned(), "Saturday".to_owned())]),
            BTreeMap::new(),
        );
        let values = Values::from([(
            Field::Playlist,
            BTreeSet::from(["Sat".to_owned(), "Fri".to_owned()]),
        )]);
        let want = BTreeSet::from(["Saturday".to_owned(), "Fri".to_owned()]);
        assert_eq!(renames.values(&values)[&Field::Playlist], want);
        // Renamed on one clone, removed under the old name on another, later: removed.
        let log = MetLog::parse("1s playlist +Sat\n2s playlist -Sat +Saturday\n3s playlist -Sat\n");
        assert_eq!(renames.current(&log).unwrap().get("playlist"), None);
        let log = MetLog::parse("1s playlist +Sat\n2s playlist -Sat +Saturday\n");
        let current = renames.current(&log).unwrap();
        assert_eq!(current["playlist"].keys().collect::<Vec<_>>(), ["Saturday"]);
        assert_eq!(renames.current(&MetLog::parse("1s playlist +Fri\n")), None);
        assert!(matches!(
            Memberships::default().values(&values),
            Cow::Borrowed(_)
        ));
    }
}

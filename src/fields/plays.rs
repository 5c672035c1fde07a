//! Play counts on the branch, a counter (merged by `merge::counter`): each clone's plays are a
//! field of their own, `plays.<id>` (`<id>`: the first 8 hex digits of the clone's annex UUID),
//! which only that clone writes; `plays` holds the total, the sum of those, written by whichever
//! clone syncs when it differs (so that `git annex find --metadata 'plays>=10'` works). A
//! `plays` value on a key that has no clone's field yet (set by hand, or by another tool before
//! git-mixxx) is the count from before: it is kept as the part `plays.before`.
//!
//! `lastplayed` is the latest of every clone's last play (`merge::latest`).

use super::Field;
use crate::annex::logmet::Current;
use std::collections::BTreeMap;

/// The prefix of the clones' parts.
const PART: &str = "plays.";
/// The part that holds a total written before any clone's part.
pub const BEFORE: &str = "plays.before";

/// The most plays one part counts: a larger value is no count (a typo, or hostile), and is
/// left out of the total.
const MAX_PART: u64 = 10_000_000;

/// The field of clone `uuid`'s plays.
pub fn part_field(uuid: &str) -> String {
    let id: String = uuid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect();
    format!("{PART}{}", id.to_ascii_lowercase())
}

/// Whether a branch field is one of the play fields (the total, a part, last played): records
/// of what was played, not values a DJ edits.
pub fn is_play_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == Field::Plays.name() || name == Field::LastPlayed.name() || name.starts_with(PART)
}

/// A count as written on the branch, if it is one.
fn count(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|n| *n <= MAX_PART)
}

/// The largest count among a field's values (several after a merge: a part only grows).
fn largest<'a>(values: impl Iterator<Item = &'a String>) -> Option<u64> {
    values.filter_map(|v| count(v)).max()
}

/// The parts of the counter the branch holds for a key: each part's value; without any part, a
/// total as the part [`BEFORE`].
pub fn parts(g: &Current) -> BTreeMap<String, u64> {
    let mut parts: BTreeMap<String, u64> = g
        .iter()
        .filter(|(name, _)| name.starts_with(PART))
        .filter_map(|(name, values)| Some((name.clone(), largest(values.keys())?)))
        .collect();
    if parts.is_empty()
        && let Some(total) = g.get(Field::Plays.name()).and_then(|v| largest(v.keys()))
    {
        parts.insert(BEFORE.to_owned(), total);
    }
    parts
}

/// Whether the branch's log ever had any play count for a key (`mentioned`: its (field,
/// value) pairs).
pub fn has_history(mentioned: &std::collections::BTreeSet<(String, String)>) -> bool {
    mentioned
        .iter()
        .any(|(f, _)| f == Field::Plays.name() || f.starts_with(PART))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::MetLog;

    #[test]
    fn parts_add_up_and_a_total_alone_is_the_count_from_before() {
        let g = MetLog::parse(
            "1s plays.aaaa1111 +2 plays +2\n2s plays.bbbb2222 +3 plays +3\n\
             3s plays.aaaa1111 -2 +4 plays.cccc3333 +x plays.dddd4444 +99999999999\n",
        )
        .current();
        let p = parts(&g);
        assert_eq!(p.values().sum::<u64>(), 7, "{p:?}");
        let before = MetLog::parse("1s plays +10\n").current();
        assert_eq!(parts(&before)[BEFORE], 10);
        assert_eq!(part_field("0B1C2D3E-4f5a-6b7c"), "plays.0b1c2d3e");
        assert!(is_play_field("plays") && is_play_field("plays.0b1c2d3e"));
        assert!(is_play_field("LastPlayed") && !is_play_field("playlist"));
    }
}

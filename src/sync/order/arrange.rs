//! Orders as lists of keys: a clone's view of them (the keys it holds), the playlist as Mixxx
//! is to hold it (the members in the merged order), and the order written back with the keys
//! this clone lacks where they were, so that it never shortens a playlist.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;

/// `v` without the keys not in `keep` (duplicates kept).
pub fn only<'a>(v: &[&'a str], keep: impl Fn(&str) -> bool) -> Vec<&'a str> {
    v.iter().copied().filter(|k| keep(k)).collect()
}

/// The playlist as this Mixxx is to hold it: the `chosen` order's members (duplicates kept),
/// then members it lacks in Mixxx's order, then the remaining members.
pub fn arrange<'a>(chosen: &[&'a str], members: &[&'a str], mixxx: &[&'a str]) -> Vec<&'a str> {
    let is_member: HashSet<&str> = members.iter().copied().collect();
    let mut out: Vec<&str> = chosen
        .iter()
        .copied()
        .filter(|k| is_member.contains(k))
        .collect();
    let mut placed: HashSet<&str> = out.iter().copied().collect();
    for k in mixxx.iter().chain(members) {
        if is_member.contains(k) && placed.insert(k) {
            out.push(k);
        }
    }
    out
}

/// `local` (this clone's order of the keys it holds) with the keys of `branch` it does not
/// hold put back where they were: each after the held entry that preceded it on the branch
/// (by key and occurrence), or at the start; those whose anchor is gone at the end.
pub fn keep_absent<'a>(
    local: &[&'a str],
    branch: &[&'a str],
    held: &dyn Fn(&str) -> bool,
) -> Vec<&'a str> {
    if local == branch {
        // Every entry held, in the same order: nothing to put back.
        return local.to_vec();
    }
    let mut groups: BTreeMap<Option<(&str, usize)>, Vec<&str>> = BTreeMap::new();
    let mut seen: HashMap<&str, usize> = HashMap::default();
    let mut anchor = None;
    for k in branch {
        if held(k) {
            let n = seen.entry(k).or_insert(0);
            anchor = Some((*k, *n));
            *n += 1;
        } else {
            groups.entry(anchor).or_default().push(k);
        }
    }
    let mut out: Vec<&str> = groups.remove(&None).unwrap_or_default();
    let mut seen: HashMap<&str, usize> = HashMap::default();
    for k in local {
        out.push(k);
        let n = seen.entry(k).or_insert(0);
        out.extend(groups.remove(&Some((*k, *n))).unwrap_or_default());
        *n += 1;
    }
    out.extend(groups.into_values().flatten());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(keys: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |k| keys.contains(&k)
    }

    #[test]
    fn absent_tracks_keep_their_places() {
        let branch = ["a", "x", "b", "y", "c", "z"];
        let h = held(&["a", "b", "c"]);
        assert_eq!(
            keep_absent(&["c", "a", "b"], &branch, &h),
            ["c", "z", "a", "x", "b", "y"]
        );
        assert_eq!(keep_absent(&["a", "b", "c"], &branch, &h), branch);
        // The branch's order is this clone's: every entry is held.
        assert_eq!(keep_absent(&["c", "a"], &["c", "a"], &h), ["c", "a"]);
        // The anchor left the playlist: its followers go to the end.
        assert_eq!(
            keep_absent(&["b", "c"], &branch, &h),
            ["b", "y", "c", "z", "x"]
        );
        // Leading absent tracks stay first; duplicates anchor by occurrence.
        let branch = ["x", "a", "b", "a", "y"];
        assert_eq!(
            keep_absent(&["a", "a", "b"], &branch, &held(&["a", "b"])),
            ["x", "a", "a", "y", "b"]
        );
    }

    #[test]
    fn arrange_keeps_duplicates_and_places_new_members() {
        let members = ["a", "b", "c", "d"];
        assert_eq!(
            arrange(&["b", "a", "b", "gone"], &members, &["d", "a"]),
            ["b", "a", "b", "d", "c"]
        );
    }
}

//! A track's cues (the `cue` field, one value per cue) merge per cue and, within a cue, per
//! attribute. A cue is identified by its kind and slot ([`Cue::identity`]); its position,
//! length, colour and label each merge three-way, so a pad swap on one laptop and a relabel on
//! another keep both cues' positions. Only the same attribute changed differently on both
//! sides is a conflict, and so is a cue deleted on one side and changed on the other; either
//! is resolved by [`Prefer`] (between several values of one cue on the branch, which a union
//! merge of two clones' edits leaves, the newest line's).
//!
//! Values that are no cue git-mixxx can read (Mixxx rows beyond what it syncs) merge as
//! plain elements ([`set`]).

use super::{Decision, Past, Prefer, set};
use crate::annex::logmet::{Edit, Order};
use crate::fields::cue::{Cue, Num};
use std::collections::{BTreeMap, BTreeSet};

/// The branch's side of a track's cues.
pub struct Branch<'a> {
    /// The values, canonical.
    pub gv: &'a BTreeSet<String>,
    /// The values as written, with the time of the line that set each.
    pub raw: &'a BTreeMap<String, Order>,
    /// The values the line that set a value unset: what that edit replaced.
    pub replaced: &'a dyn Fn(&str) -> Vec<String>,
    /// The edits made from a value since it was set ([`MetLog::edits_of`]).
    ///
    /// [`MetLog::edits_of`]: crate::annex::logmet::MetLog::edits_of
    pub edits_of: &'a dyn Fn(&str) -> Vec<Edit>,
}

/// One cue's versions: Mixxx's, the branch's (oldest line first, each with the version it
/// replaced) and the base's.
#[derive(Default)]
struct Versions {
    mixxx: Vec<Cue>,
    branch: Vec<(Order, Cue, Option<Cue>)>,
    base: Vec<Cue>,
}

/// The merge of Mixxx's cues `mv` and the branch's.
pub fn merge(mv: &BTreeSet<String>, g: &Branch<'_>, past: Past<'_>, prefer: Prefer) -> Decision {
    let mut cues: BTreeMap<(i64, i64), Versions> = BTreeMap::new();
    let mut opaque = (BTreeSet::new(), BTreeSet::new());
    for v in mv {
        match Cue::parse(v) {
            Some(c) => cues.entry(c.identity()).or_default().mixxx.push(c),
            None => drop(opaque.0.insert(v.clone())),
        }
    }
    for v in g.gv {
        // A cue has one spelling: its canonical value is the value as written.
        match (Cue::parse(v), g.raw.get(v)) {
            (Some(c), Some(at)) => {
                let parent = (g.replaced)(v)
                    .iter()
                    .filter_map(|p| Cue::parse(p))
                    .find(|p| p.identity() == c.identity());
                let versions = cues.entry(c.identity()).or_default();
                versions.branch.push((at.clone(), c, parent));
            }
            _ => drop(opaque.1.insert(v.clone())),
        }
    }
    for c in past
        .base()
        .into_iter()
        .flatten()
        .filter_map(|v| Cue::parse(v))
    {
        cues.entry(c.identity()).or_default().base.push(c);
    }
    let mut out = BTreeSet::new();
    let mut conflict = false;
    for versions in cues.values_mut() {
        versions.branch.sort_by(|a, b| a.0.cmp(&b.0));
        let concurrent = settle_branch(versions);
        let deletion = settle_deletion(versions, g);
        let (merged, disputed) = merge_cue(versions, past, prefer);
        // A deletion that won is a conflict wherever it is seen (the run writes it, and no
        // clone sees the clash again); a version that won stays, clash and all, so it is one
        // only for the clone whose deletion it displaced (what it last synced changes).
        let displaced = match deletion {
            Deletion::None => false,
            Deletion::Won => true,
            Deletion::Lost => matches!(past, Past::History { .. }) || merged != versions.base,
        };
        out.extend(merged.iter().map(Cue::to_string));
        conflict |= disputed || concurrent || displaced;
    }
    if let Decision::Value(others) = set::merge(&opaque.0, &opaque.1, past, prefer) {
        out.extend(others);
    }
    match conflict {
        true => Decision::Conflict(out, prefer),
        false => Decision::Value(out),
    }
}

/// Several versions of one cue on the branch (two clones edited it concurrently; git-annex's
/// union merge kept both lines), all made from one earlier version, or all new (two clones set
/// the same pad, each on a line of its own): merged with each other against that version (or
/// nothing) first, attribute by attribute, the newest line winning a clash. Returns whether
/// they clashed.
fn settle_branch(versions: &mut Versions) -> bool {
    let [.., (at, newest, _)] = versions.branch.as_slice() else {
        return false;
    };
    let parents: Vec<Option<&Cue>> = versions.branch.iter().map(|(_, _, p)| p.as_ref()).collect();
    let Some(&parent) = parents.first() else {
        return false;
    };
    if versions.branch.len() < 2 || parents.iter().any(|p| *p != parent) {
        return false;
    }
    if parent.is_none() && !concurrent_additions(versions) {
        return false;
    }
    let branch: Vec<&Cue> = versions.branch.iter().map(|(_, c, _)| c).collect();
    let (merged, clash) = attributes(parent, None, newest, &branch, Prefer::Git);
    versions.branch = vec![(at.clone(), merged, parent.cloned())];
    clash
}

/// Whether the branch's versions of a cue, none made from an earlier one, are additions of one
/// pad on several clones: each set by a line of its own, neither Mixxx nor the base holds
/// several values for the pad (where one does, they are its values, merged as elements), and
/// the base holds none but one of them (this clone's addition, synced).
fn concurrent_additions(versions: &Versions) -> bool {
    let mut lines: Vec<&Order> = versions.branch.iter().map(|(at, _, _)| at).collect();
    lines.sort();
    lines.dedup();
    let added_here = |b: &Cue| versions.branch.iter().any(|(_, c, _)| c == b);
    lines.len() == versions.branch.len()
        && versions.mixxx.len() <= 1
        && versions.base.len() <= 1
        && versions.base.iter().all(added_here)
}

/// A version of the cue on the branch made from a cue that another clone deleted meanwhile
/// (git-annex's union merge keeps the version: the deletion unset only the cue it was made
/// from): the newer of the two lines decides, as between two versions.
fn settle_deletion(versions: &mut Versions, g: &Branch<'_>) -> Deletion {
    let [(at, cue, Some(parent))] = versions.branch.as_slice() else {
        return Deletion::None;
    };
    let same = |v: &String| Cue::parse(v).is_some_and(|c| c.identity() == cue.identity());
    let deletions = (g.edits_of)(&parent.to_string())
        .into_iter()
        .filter(|(_, sets)| !sets.iter().any(same))
        .map(|(order, _)| order);
    let Some(newest) = deletions.max() else {
        return Deletion::None;
    };
    if newest > *at {
        versions.branch.clear();
        return Deletion::Won;
    }
    Deletion::Lost
}

/// What became of a deletion made concurrently with a new version of the cue.
enum Deletion {
    None,
    Won,
    Lost,
}

/// One cue's merge: what both sides hold afterwards (none, one cue, or several values where
/// Mixxx holds several for one slot), and whether it was a conflict.
fn merge_cue(v: &Versions, past: Past<'_>, prefer: Prefer) -> (Vec<Cue>, bool) {
    if v.mixxx.len() > 1 || v.base.len() > 1 {
        // Not one cue per slot here: merged as elements, each value on its own.
        let text = |cues: &mut dyn Iterator<Item = &Cue>| cues.map(Cue::to_string).collect();
        let (m, g): (BTreeSet<String>, BTreeSet<String>) = (
            text(&mut v.mixxx.iter()),
            text(&mut v.branch.iter().map(|(_, c, _)| c)),
        );
        let Decision::Value(r) = set::merge(&m, &g, past, prefer) else {
            return (v.mixxx.clone(), false);
        };
        return (r.iter().filter_map(|t| Cue::parse(t)).collect(), false);
    }
    let (m, base) = (v.mixxx.first(), v.base.first());
    let branch: Vec<&Cue> = v.branch.iter().map(|(_, c, _)| c).collect();
    let base = match past {
        Past::Base(_) => base,
        // No base: a cue the branch had and removed stays removed.
        Past::History { .. } => {
            let removed = |c: &Cue| past.mentions(Some(&c.to_string()));
            if branch.is_empty() && m.is_some_and(removed) && prefer == Prefer::Git {
                return (Vec::new(), false);
            }
            None
        }
    };
    let Some(&newest) = branch.last() else {
        return match (m, base) {
            (None, _) => (Vec::new(), false),
            (Some(m), None) => (vec![m.clone()], false),
            // Deleted on the branch: gone, unless Mixxx changed it since (a conflict).
            (Some(m), Some(b)) if m == b => (Vec::new(), false),
            (Some(m), Some(_)) => resolved(prefer, Some(m.clone()), None),
        };
    };
    match (m, base) {
        // Deleted in Mixxx: gone, unless the branch changed it since (a conflict).
        (None, Some(b)) if branch.iter().all(|g| *g == b) => (Vec::new(), false),
        (None, Some(b)) => {
            let (g, _) = attributes(Some(b), None, newest, &branch, Prefer::Git);
            resolved(prefer, None, Some(g))
        }
        (m, base) => {
            let (cue, disputed) = attributes(base, m, newest, &branch, prefer);
            (vec![cue], disputed)
        }
    }
}

/// A deletion against a change: the preferred side's cue (none where it deleted it).
fn resolved(prefer: Prefer, mixxx: Option<Cue>, branch: Option<Cue>) -> (Vec<Cue>, bool) {
    let winner = match prefer {
        Prefer::Git => branch,
        Prefer::Mixxx => mixxx,
    };
    (winner.into_iter().collect(), true)
}

/// One cue the branch holds (`newest` its newest version), merged with Mixxx's and the base's
/// attribute by attribute ([`attribute`]); whether any was a conflict.
fn attributes(
    base: Option<&Cue>,
    mixxx: Option<&Cue>,
    newest: &Cue,
    branch: &[&Cue],
    prefer: Prefer,
) -> (Cue, bool) {
    let mut disputed = false;
    let mut pick = |get: &dyn Fn(&Cue) -> Attr| {
        let (value, conflict) = attribute(
            base.map(get),
            mixxx.map(get),
            branch.iter().map(|c| get(c)).collect(),
            prefer,
        );
        disputed |= conflict;
        value
    };
    let mut cue = mixxx.unwrap_or(newest).clone();
    if let Attr::Num(n) = pick(&|c| Attr::Num(c.position)) {
        cue.position = n;
    }
    if let Attr::Num(n) = pick(&|c| Attr::Num(c.length)) {
        cue.length = n;
    }
    if let Attr::Int(n) = pick(&|c| Attr::Int(c.color)) {
        cue.color = n;
    }
    if let Attr::Text(t) = pick(&|c| Attr::Text(c.label.clone())) {
        cue.label = t;
    }
    (cue, disputed)
}

/// A cue attribute's value.
#[derive(Clone, Debug, PartialEq)]
enum Attr {
    Num(Num),
    Int(i64),
    Text(String),
}

/// One attribute's merge: a side that changed it since the base decides; the branch's values
/// come oldest line first, so among several the newest is last. Two different changes are a
/// conflict, won by the preferred side.
fn attribute(
    base: Option<Attr>,
    mixxx: Option<Attr>,
    branch: Vec<Attr>,
    prefer: Prefer,
) -> (Attr, bool) {
    let changed = |a: &Attr| base.as_ref() != Some(a);
    let m = mixxx.filter(|a| changed(a));
    let g: Vec<Attr> = branch.into_iter().filter(|a| changed(a)).collect();
    let changes: Vec<&Attr> = m.iter().chain(&g).collect();
    let conflict = changes.iter().any(|a| *a != changes[0]);
    let result = match (changes.first(), conflict, prefer) {
        (None, ..) => base,
        (Some(one), false, _) => Some((*one).clone()),
        (_, true, Prefer::Git) => g.last().or(m.as_ref()).cloned(),
        (_, true, Prefer::Mixxx) => m.or_else(|| g.last().cloned()),
    };
    // Some side holds the cue, so some version has the attribute.
    (result.unwrap_or(Attr::Int(0)), conflict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::Timestamp;

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn raw(values: &[(&str, i64)]) -> BTreeMap<String, Order> {
        let at = |secs| Order::Exact(Timestamp { secs, picos: 0 });
        values
            .iter()
            .map(|(v, t)| (v.to_string(), at(i128::from(*t))))
            .collect()
    }

    fn merged(
        m: &[&str],
        g: &[(&str, i64)],
        base: &[&str],
        prefer: Prefer,
    ) -> (BTreeSet<String>, bool) {
        let raw = raw(g);
        let gv = raw.keys().cloned().collect();
        let base = set(base);
        let none = |_: &str| Vec::new();
        let branch = Branch {
            gv: &gv,
            raw: &raw,
            replaced: &none,
            edits_of: &|_| Vec::new(),
        };
        match merge(&set(m), &branch, Past::Base(&base), prefer) {
            Decision::Value(v) => (v, false),
            Decision::Conflict(v, _) => (v, true),
            other => panic!("{other:?}"),
        }
    }

    const INTRO: &str = "hotcue 1 100000 0 #FF0000 Intro";
    const DROP: &str = "hotcue 2 200000 0 #00FF00 Drop";

    #[test]
    fn a_pad_swap_and_a_relabel_keep_both_positions() {
        // A swapped pads 1 and 2; B relabelled pad 1 (the branch).
        let swapped = [
            "hotcue 1 200000 0 #00FF00 Drop",
            "hotcue 2 100000 0 #FF0000 Intro",
        ];
        let relabelled = [("hotcue 1 100000 0 #FF0000 Intro vox", 20), (DROP, 10)];
        let (result, conflict) = merged(&swapped, &relabelled, &[INTRO, DROP], Prefer::Git);
        // Pad 1: the swap's position and colour, the label both changed: the branch's.
        assert_eq!(
            result,
            set(&[
                "hotcue 1 200000 0 #00FF00 Intro vox",
                "hotcue 2 100000 0 #FF0000 Intro"
            ])
        );
        assert!(conflict, "the label changed on both sides");
        let positions: Vec<&str> = result
            .iter()
            .map(|c| c.split(' ').nth(2).unwrap())
            .collect();
        assert_eq!(positions, ["200000", "100000"]);
        // Mixxx preferred: its label.
        let (result, _) = merged(&swapped, &relabelled, &[INTRO, DROP], Prefer::Mixxx);
        assert!(
            result.contains("hotcue 1 200000 0 #00FF00 Drop"),
            "{result:?}"
        );
    }

    #[test]
    fn different_attributes_of_one_cue_combine_without_conflict() {
        let moved = "hotcue 1 150000 0 #FF0000 Intro";
        let recoloured = ("hotcue 1 100000 0 #0000FF Intro", 20);
        let (result, conflict) = merged(&[moved], &[recoloured], &[INTRO], Prefer::Git);
        assert_eq!(result, set(&["hotcue 1 150000 0 #0000FF Intro"]));
        assert!(!conflict);
    }

    #[test]
    fn a_deletion_against_a_change_is_a_conflict_and_an_untouched_cue_goes() {
        // Deleted in Mixxx, untouched on the branch: gone.
        assert_eq!(
            merged(&[], &[(INTRO, 10)], &[INTRO], Prefer::Git),
            (set(&[]), false)
        );
        // Deleted in Mixxx, moved on the branch: the branch's move stays (git preferred).
        let moved = "hotcue 1 150000 0 #FF0000 Intro";
        assert_eq!(
            merged(&[], &[(moved, 20)], &[INTRO], Prefer::Git),
            (set(&[moved]), true)
        );
        assert_eq!(
            merged(&[], &[(moved, 20)], &[INTRO], Prefer::Mixxx),
            (set(&[]), true)
        );
        // Deleted on the branch, moved in Mixxx.
        assert_eq!(
            merged(&[moved], &[], &[INTRO], Prefer::Git),
            (set(&[]), true)
        );
        assert_eq!(
            merged(&[moved], &[], &[INTRO], Prefer::Mixxx),
            (set(&[moved]), true)
        );
    }

    #[test]
    fn several_branch_values_of_one_cue_merge_with_the_newest_winning_a_clash() {
        let (a, b) = (
            "hotcue 1 150000 0 #FF0000 Intro",
            "hotcue 1 100000 0 #FF0000 Intro B",
        );
        // Two clones edited different attributes concurrently: both apply.
        let (result, conflict) = merged(&[INTRO], &[(a, 10), (b, 20)], &[INTRO], Prefer::Git);
        assert_eq!(result, set(&["hotcue 1 150000 0 #FF0000 Intro B"]));
        assert!(!conflict);
        // Both moved it: the newest line wins.
        let c = "hotcue 1 175000 0 #FF0000 Intro";
        let (result, conflict) = merged(&[INTRO], &[(a, 10), (c, 20)], &[INTRO], Prefer::Git);
        assert_eq!(result, set(&[c]));
        assert!(conflict);
    }

    #[test]
    fn one_pad_set_on_two_clones_settles_on_the_newest_line_as_a_conflict() {
        let (a, b) = (
            "hotcue 5 105840 0 #FF0000 ",
            "hotcue 5 343980 0 #FF0000 Drop",
        );
        // This clone synced its pad; another set the same pad meanwhile, on a newer line.
        let (result, conflict) = merged(&[a], &[(a, 10), (b, 20)], &[a], Prefer::Git);
        assert_eq!(result, set(&[b]));
        assert!(conflict);
        // The same on the clone whose line is newer: its pad stays, and it hears of the clash.
        let (result, conflict) = merged(&[b], &[(a, 10), (b, 20)], &[b], Prefer::Git);
        assert_eq!(result, set(&[b]));
        assert!(conflict);
    }

    #[test]
    fn without_a_base_a_cue_the_branch_removed_stays_removed() {
        let log = BTreeSet::from([("cue".to_owned(), INTRO.to_owned())]);
        let past = Past::History {
            log: &log,
            field: "cue",
        };
        let m = set(&[INTRO, DROP]);
        let none = |_: &str| Vec::new();
        let branch = Branch {
            gv: &BTreeSet::new(),
            raw: &BTreeMap::new(),
            replaced: &none,
            edits_of: &|_| Vec::new(),
        };
        let decision = merge(&m, &branch, past, Prefer::Git);
        assert_eq!(decision, Decision::Value(set(&[DROP])));
    }
}

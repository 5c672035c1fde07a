//! A single value (a rating, a key, the beat grid): a side that changed it since the base
//! decides; both changed it differently is a conflict. On the branch a single-valued field
//! may hold several values after git-annex's union merge (two clones set it concurrently):
//! they resolve to the newest line's value, on every clone alike. So does a value set on one
//! clone while another cleared it (the clear unset only the value it saw, so git-annex's
//! union merge keeps the new one): the newer line decides.

use super::{Decision, Past, Prefer};
use crate::annex::logmet::Order;
use crate::fields::Codec;
use std::collections::{BTreeMap, BTreeSet};

/// The value a field resolves to when a merge left several: the newest line's.
pub fn newest(values: &BTreeMap<String, Order>) -> Option<&String> {
    values
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
        .map(|(v, _)| v)
}

/// The three-way merge of Mixxx's value `mv` and the branch's `gr` (canonical). Without a
/// base, a value the branch never had is pushed, and where the branch has history (set, or
/// set and cleared) a different Mixxx value is a conflict.
pub fn merge(
    mv: &BTreeSet<String>,
    gr: BTreeSet<String>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    if *mv == gr {
        return Decision::Value(gr);
    }
    let take_mixxx = match past.base() {
        Some(bv) if gr == *bv => Some(true),
        Some(bv) if mv == bv => Some(false),
        Some(_) => None,
        None if gr.is_empty() && !past.mentions(None) => Some(true),
        None if mv.is_empty() => Some(false),
        None => None,
    };
    match (take_mixxx, prefer) {
        (Some(true), _) => Decision::Value(mv.clone()),
        (Some(false), _) => Decision::Value(gr),
        (None, Prefer::Git) => Decision::Conflict(gr, Prefer::Git),
        (None, Prefer::Mixxx) => Decision::Conflict(mv.clone(), Prefer::Mixxx),
    }
}

/// The decision for a single-valued field from its branch values as written (`raw`, with the
/// time of the line that set each), read with `codec`; `cleared`: when another clone cleared
/// the value the branch's one was made from (a line unsetting it and setting nothing).
pub fn decide(
    codec: Codec,
    mv: &BTreeSet<String>,
    raw: &BTreeMap<String, Order>,
    cleared: Option<&Order>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    match (raw.iter().next(), cleared) {
        (Some((_, set_at)), Some(cleared_at)) if raw.len() == 1 => {
            let after_clear = (cleared_at > set_at).then(BTreeMap::new);
            let decision =
                decide_values(codec, mv, after_clear.as_ref().unwrap_or(raw), past, prefer);
            displaced(decision, past, after_clear.is_some())
        }
        _ => decide_values(codec, mv, raw, past, prefer),
    }
}

/// A value set and cleared concurrently, settled on the branch: a conflict. A clear that won
/// is one wherever it is seen (the run writes it, and no clone sees the clash again); a value
/// that won stays, clash and all, so it is one only for the clone whose clear it displaced.
fn displaced(decision: Decision, past: Past<'_>, cleared: bool) -> Decision {
    match decision {
        Decision::Value(r) if cleared || past.base().is_none_or(|b| *b != r) => {
            Decision::Conflict(r, Prefer::Git)
        }
        other => other,
    }
}

/// [`decide`] from the branch's values alone.
fn decide_values(
    codec: Codec,
    mv: &BTreeSet<String>,
    raw: &BTreeMap<String, Order>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    let bv = past.base();
    let outcomes: BTreeSet<Result<_, _>> = raw.keys().map(|v| codec.canonical(v)).collect();
    let resolved = newest(raw).map(|v| codec.canonical(v).map(|c| c.into_owned()));
    let resolved = match resolved {
        None => BTreeSet::new(),
        Some(Ok(v)) => BTreeSet::from([v]),
        // Mixxx changed it since, or wins by request: its value replaces the invalid one.
        Some(Err(_)) if prefer == Prefer::Mixxx || bv.is_some_and(|b| b != mv) => {
            return Decision::Value(mv.clone());
        }
        Some(Err(invalid)) => return Decision::Hold(invalid),
    };
    if outcomes.len() > 1 {
        return resolve_several(mv, raw, resolved, past, prefer);
    }
    merge(mv, resolved, past, prefer)
}

/// Several values after a merge: clones set it concurrently, a conflict by definition. They
/// resolve to the newest line's value (`resolved`) on every clone alike, which then merges
/// with Mixxx as the branch's value: a Mixxx edit since the base still counts as one.
fn resolve_several(
    mv: &BTreeSet<String>,
    raw: &BTreeMap<String, Order>,
    resolved: BTreeSet<String>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    let winner = newest(raw).and_then(|v| Some((v.clone(), raw.get(v)?.clone())));
    if prefer == Prefer::Mixxx && !mv.is_empty() {
        return Decision::Conflict(mv.clone(), Prefer::Mixxx);
    }
    match (merge(mv, resolved.clone(), past, prefer), winner) {
        (Decision::Value(r) | Decision::Conflict(r, _), Some((text, at))) if r == resolved => {
            Decision::Resolve(resolved, at, text)
        }
        (Decision::Value(r), _) => Decision::Conflict(r, Prefer::Mixxx),
        (decision, _) => decision,
    }
}

//! Sets (crate and playlist memberships): each element merges on its own. An element one side
//! added or removed since the base is added or removed; as an element is either in or out,
//! two sides never conflict.

use super::{Decision, Past, Prefer};
use std::collections::BTreeSet;

/// The three-way merge of a set: Mixxx's elements `mv`, the branch's `gv`. Without a base,
/// Mixxx's elements that the branch removed stay removed (unless Mixxx is preferred).
pub fn merge(
    mv: &BTreeSet<String>,
    gv: &BTreeSet<String>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    let Some(bv) = past.base() else {
        let kept = mv
            .iter()
            .filter(|e| prefer == Prefer::Mixxx || !past.mentions(Some(e)));
        return Decision::Value(gv.iter().chain(kept).cloned().collect());
    };
    let merged = mv
        .union(gv)
        .chain(bv.iter())
        .filter(|e| {
            let (in_m, in_g, in_b) = (mv.contains(*e), gv.contains(*e), bv.contains(*e));
            if in_m != in_b { in_m } else { in_g }
        })
        .cloned()
        .collect();
    Decision::Value(merged)
}

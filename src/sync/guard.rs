//! The clear guard: a plan that would make many tracks lose values on the branch (a field going
//! from set to unset, or a set losing elements without gaining others) is refused before
//! anything is written. A new, emptied or wrongly chosen database looks exactly like a DJ who
//! deleted the whole collection's metadata; one such run would wipe every clone. Play counts,
//! last played and history sessions are never counted: they only grow.

use super::plan::Plan;
use crate::fields::plays;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tracks that each lose this many values or more count towards [`MANY_LOSING_MUCH`].
const MUCH: usize = 2;
/// More than this many tracks losing [`MUCH`] values each: refused.
const MANY_LOSING_MUCH: usize = 5;
/// More than this many tracks losing any value (and more than a quarter of the library):
/// refused.
const MANY_LOSING_ANY: usize = 20;
/// How many examples a refusal lists.
const EXAMPLES: usize = 5;

/// A value a track would lose on the branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    pub path: String,
    pub field: String,
    pub value: String,
}

/// Why a run was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Tracks that would lose values.
    pub tracks: usize,
    /// Values they would lose.
    pub values: usize,
    /// The first few.
    pub examples: Vec<Loss>,
}

/// The values each planned track would lose on the branch.
fn losses(plan: &Plan<'_>) -> Vec<Vec<Loss>> {
    let mut out = Vec::new();
    for track in &plan.tracks {
        let Some(push) = track.push.as_ref().filter(|p| p.unsets) else {
            continue;
        };
        // Per field: what it loses, and whether it gains anything.
        let mut by_field: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
        // Play counts and last played are records of what was played, never cleared values.
        let edits = push
            .edits()
            .into_iter()
            .filter(|c| !plays::is_play_field(&c.field));
        for change in edits {
            let entry = by_field.entry(change.field).or_default();
            if change.set {
                entry.1 = true;
            } else {
                entry.0.push(change.value);
            }
        }
        let lost: Vec<Loss> = by_field
            .into_iter()
            .filter(|(_, (_, gains))| !gains)
            .flat_map(|(field, (values, _))| {
                values.into_iter().map(move |value| Loss {
                    path: track.item.path.clone(),
                    field: field.clone(),
                    value,
                })
            })
            .collect();
        if !lost.is_empty() {
            out.push(lost);
        }
    }
    out
}

/// The refusal of `plan`, if it clears too much of a library of `tracks` keys.
pub fn check(plan: &Plan<'_>, tracks: usize) -> Option<Refusal> {
    let losses = losses(plan);
    let losing_much = losses.iter().filter(|l| l.len() >= MUCH).count();
    let losing_any = losses.len();
    let refused =
        losing_much > MANY_LOSING_MUCH || (losing_any > MANY_LOSING_ANY && losing_any * 4 > tracks);
    refused.then(|| Refusal {
        tracks: losing_any,
        values: losses.iter().map(Vec::len).sum(),
        examples: losses.into_iter().flatten().take(EXAMPLES).collect(),
    })
}

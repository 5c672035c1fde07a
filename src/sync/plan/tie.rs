//! The tie between `bpm` and the beat grid: in Mixxx the grid is the truth and the `bpm`
//! column follows it, so a merge that pulls one of them adjusts the other.

use super::values::branch_values;
use crate::annex::logmet::Current;
use crate::fields::grid::Grid;
use crate::fields::{Codec, Field, Values};
use std::collections::BTreeSet;

/// One field's outcome in a key's merge, before it becomes pulls and pushes.
pub(super) struct Outcome {
    pub field: Field,
    /// What both sides hold afterwards.
    pub result: BTreeSet<String>,
    /// The branch's canonical values.
    pub branch: BTreeSet<String>,
    /// Whether the branch holds a value Mixxx cannot (replaced by `result`).
    pub invalid: bool,
    /// Whether a resolution line writes `result` (several values after a merge).
    pub resolved: bool,
}

/// Keeps `bpm` and `grid` together where the merge pulls one of them (in Mixxx the grid is
/// the truth and the `bpm` column follows it), as Mixxx does when a BPM is typed in:
///
/// - `bpm` pulled alone: a beat grid takes the new BPM and keeps its first beat; a beat map,
///   which cannot be rescaled, is cleared (Mixxx builds a grid from the `bpm` column).
/// - `grid` pulled alone: `bpm` takes a beat grid's BPM.
/// - both pulled and disagreeing: the newer line on the branch decides, the grid on a tie.
///
/// The adjusted value is both written to Mixxx and pushed, so every clone ends with the same
/// pair, and the next run finds them in agreement. Returns the fields it changed.
pub(super) fn tie_bpm_and_grid(m: &Values, g: &Current, outcomes: &mut [Outcome]) -> Vec<Field> {
    let at = |field| outcomes.iter().position(|o: &Outcome| o.field == field);
    let (Some(b), Some(gr)) = (at(Field::Bpm), at(Field::Grid)) else {
        return Vec::new();
    };
    let empty = BTreeSet::new();
    let pulled = |i: usize| m.get(&outcomes[i].field).unwrap_or(&empty) != &outcomes[i].result;
    let only = |values: &BTreeSet<String>| values.iter().next().cloned();
    let Some(grid_text) = only(&outcomes[gr].result) else {
        return Vec::new();
    };
    let Ok(grid) = Grid::parse(&grid_text) else {
        return Vec::new();
    };
    let bpm_text = only(&outcomes[b].result);
    let bpm = bpm_text.as_deref().and_then(|t| t.parse::<f64>().ok());
    let grid_bpm = grid.bpm().and_then(|x| {
        let text = Codec::Bpm.from_mixxx(rusqlite::types::ValueRef::Real(x), None)?;
        Some(text.into_owned())
    });
    let follow_bpm = |outcomes: &mut [Outcome], bpm: f64| {
        let adjusted = grid.with_bpm(bpm).map(|g| g.to_string());
        outcomes[gr].result = adjusted.into_iter().collect();
        vec![Field::Grid]
    };
    let follow_grid = |outcomes: &mut [Outcome], text: String| {
        outcomes[b].result = BTreeSet::from([text]);
        vec![Field::Bpm]
    };
    match (pulled(b), pulled(gr), bpm, grid_bpm) {
        (_, _, Some(_), Some(from_grid)) if bpm_text.as_deref() == Some(from_grid.as_str()) => {
            Vec::new()
        }
        (true, false, Some(bpm), _) => follow_bpm(outcomes, bpm),
        (false, true, _, Some(from_grid)) => follow_grid(outcomes, from_grid),
        (true, true, Some(bpm), Some(from_grid)) => {
            let newest = |field: Field, value: &str| {
                branch_values(field, g)
                    .iter()
                    .filter(|(v, _)| field.codec().canonical(v).is_ok_and(|c| c == value))
                    .map(|(_, order)| order.clone())
                    .max()
            };
            let bpm_at = bpm_text.as_deref().and_then(|t| newest(Field::Bpm, t));
            match bpm_at > newest(Field::Grid, &grid_text) {
                true => follow_bpm(outcomes, bpm),
                false => follow_grid(outcomes, from_grid),
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::annex::logmet::MetLog;
    use crate::fields::Field::{Bpm, Grid as BeatGrid, Rating};
    use crate::fields::grid;
    use crate::sync::options::Options;
    use crate::sync::plan::tests::*;
    use crate::sync::plan::{KeyPast, Local, plan_key};
    #[test]
    fn a_pulled_bpm_moves_the_grid_and_clears_a_beat_map() {
        let (old, new) = (grid_value(128.0, 1234), grid_value(130.0, 1234));
        let m = vals(&[(Bpm, &["128.00"]), (BeatGrid, &[&old])]);
        let g = cur(&[(Bpm, &[("130", 20)]), (BeatGrid, &[(&old, 10)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(
            plan.pull,
            vec![(Bpm, set(&["130.00"])), (BeatGrid, set(&[&new]))]
        );
        assert_eq!(
            pushed(&plan),
            [format!("grid-{old}"), format!("grid+{new}")]
        );
        settles(&m, &g, &plan);
        // A beat map cannot be rescaled: it is cleared, here and on the branch.
        let map = grid::value("BeatMap-1.0", &grid::beat_map(&[0, 20_000, 40_000]));
        let m = vals(&[(Bpm, &["128.00"]), (BeatGrid, &[&map])]);
        let g = cur(&[(Bpm, &[("130.00", 20)]), (BeatGrid, &[(&map, 10)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(
            plan.pull,
            vec![(Bpm, set(&["130.00"])), (BeatGrid, set(&[]))]
        );
        assert_eq!(pushed(&plan), [format!("grid-{map}")]);
        settles(&m, &g, &plan);
    }

    #[test]
    fn a_pulled_grid_sets_the_bpm() {
        let (old, new) = (grid_value(128.0, 0), grid_value(124.456, 99));
        let m = vals(&[(Bpm, &["128.00"]), (BeatGrid, &[&old])]);
        let g = cur(&[(Bpm, &[("128.00", 10)]), (BeatGrid, &[(&new, 20)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(
            plan.pull,
            vec![(Bpm, set(&["124.46"])), (BeatGrid, set(&[&new]))]
        );
        assert_eq!(pushed(&plan), ["bpm-128.00", "bpm+124.46"]);
        settles(&m, &g, &plan);
        // A grid that agrees with the BPM changes nothing else.
        let g = cur(&[
            (Bpm, &[("128.00", 10)]),
            (BeatGrid, &[(&grid_value(128.0, 5), 20)]),
        ]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull.len(), 1);
        assert!(plan.push.is_empty());
    }

    #[test]
    fn both_pulled_and_disagreeing_the_newer_line_decides() {
        let old = grid_value(128.0, 7);
        let m = vals(&[(Bpm, &["128.00"]), (BeatGrid, &[&old])]);
        let grid = grid_value(126.0, 7);
        // The grid is newer: the BPM follows it.
        let g = cur(&[(Bpm, &[("131.00", 20)]), (BeatGrid, &[(&grid, 30)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(
            plan.pull,
            vec![(Bpm, set(&["126.00"])), (BeatGrid, set(&[&grid]))]
        );
        assert_eq!(pushed(&plan), ["bpm-131.00", "bpm+126.00"]);
        settles(&m, &g, &plan);
        // The BPM is newer: the grid follows it.
        let g = cur(&[(Bpm, &[("131.00", 30)]), (BeatGrid, &[(&grid, 20)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        let moved = grid_value(131.0, 7);
        assert_eq!(
            plan.pull,
            vec![(Bpm, set(&["131.00"])), (BeatGrid, set(&[&moved]))]
        );
        assert_eq!(
            pushed(&plan),
            [format!("grid-{grid}"), format!("grid+{moved}")]
        );
        settles(&m, &g, &plan);
    }

    #[test]
    fn a_hostile_grid_is_held_and_the_bpm_left_alone() {
        let old = grid_value(128.0, 7);
        let m = vals(&[(Bpm, &["128.00"]), (BeatGrid, &[&old]), (Rating, &["3"])]);
        let g = cur(&[
            (Bpm, &[("128.00", 10)]),
            (BeatGrid, &[("BeatGrid-2.0 0 !!!", 20)]),
            (Rating, &[("5", 20)]),
        ]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull, vec![(Rating, set(&["5"]))]);
        assert!(plan.push.is_empty());
        assert_eq!(plan.held.len(), 1);
        assert_eq!(plan.held[0].field, BeatGrid);
    }
}

//! One key's merge: each field decided by the merge of its shape ([`crate::merge`]), the
//! bpm/grid tie ([`super::tie`]), then what the decisions mean for Mixxx (pulls) and for the
//! branch (pushed changes, resolutions), and the values that become the base.

use super::plays::Local;
use super::push::changes;
use super::tie::Outcome;
use super::values::{branch_values, canonical, rejected};
use super::{FieldConflict, Held, KeyPlan};
use crate::annex::logmet::{Current, MetLog, Order};
use crate::fields::{Codec, Field, Values};
use crate::merge::{self, Decision, Past, Prefer};
use crate::sync::options::Options;
use std::collections::{BTreeMap, BTreeSet};

/// What the merge knows of a key's past.
#[derive(Clone, Copy, Debug)]
pub enum KeyPast<'a> {
    /// The values at this clone's last sync of the key ([`super::values::base_values`]).
    Base(&'a Values),
    /// No base (a first sync, a new row or database): the (field, value) pairs the branch's
    /// log ever set or unset ([`crate::annex::logmet::MetLog::mentioned`]).
    History(&'a BTreeSet<(String, String)>),
}

impl<'a> KeyPast<'a> {
    /// The past of one field.
    fn of(self, field: Field) -> Past<'a> {
        static EMPTY: BTreeSet<String> = BTreeSet::new();
        match self {
            KeyPast::Base(b) => Past::Base(b.get(&field).unwrap_or(&EMPTY)),
            KeyPast::History(log) => Past::History {
                log,
                field: field.name(),
            },
        }
    }
}

/// The decisions of a key's fields as they are taken.
#[derive(Default)]
struct Merged {
    outcomes: Vec<Outcome>,
    /// Fields a resolution line writes, with the winner's text.
    resolved: Vec<(Field, BTreeSet<String>)>,
    /// Held fields: what Mixxx keeps, which is also what the branch counts as for the base.
    kept: Values,
}

/// The three-way merge of one key, by the design's sync rules. `g` is the branch's log as
/// git-annex reads it (the current values of `log`, the lines); play counts and last played
/// merge as they do ([`super::plays`]), with what `local` knows of this clone.
pub fn plan_key(
    m: &Values,
    g: &Current,
    log: &MetLog,
    past: KeyPast<'_>,
    local: &Local<'_>,
    opts: &Options,
) -> KeyPlan {
    let mut plan = KeyPlan::default();
    let mut merged = Merged::default();
    let (empty, empty_log) = (BTreeSet::new(), BTreeMap::new());
    for field in Field::ALL {
        if matches!(field, Field::Plays | Field::LastPlayed) {
            continue;
        }
        let mv = m.get(&field).unwrap_or(&empty);
        if field.is_set() && field.codec() != Codec::Text {
            let all = g.get(field.name()).unwrap_or(&empty_log);
            plan.rejected
                .extend(rejected(field, all).into_iter().map(|i| (field, i)));
        }
        let raw = branch_values(field, g);
        let (gv, invalid) = canonical(field, &raw);
        let sides = Sides {
            field,
            mv,
            raw: &raw,
            gv,
            log,
        };
        let decision = decide(&sides, past.of(field), opts);
        take(
            &mut plan,
            &mut merged,
            sides,
            invalid.is_some(),
            decision,
            past.of(field),
        );
    }
    if !opts.all {
        for field in super::tie::tie_bpm_and_grid(m, g, &mut merged.outcomes) {
            // The tie changed what both sides hold: the branch gets it too.
            if let Some(o) = merged.outcomes.iter_mut().find(|o| o.field == field) {
                o.resolved = false;
                for c in plan.conflicts.iter_mut().filter(|c| c.field == field) {
                    c.result = o.result.clone();
                }
            }
        }
    }
    let mut plan = finish(plan, merged, m, g, opts);
    let plays = super::plays::plan(m, g, past, local, opts);
    plan.pull.extend(plays.pull);
    plan.push.extend(plays.push);
    plan.plays = plays.added;
    plan.acknowledged = plays.acknowledged;
    for (field, values) in plays.settled {
        if !values.is_empty() {
            plan.settled.insert(field, values);
        }
    }
    plan
}

/// One field's two sides: Mixxx's values, the branch's as written (with the time of the line
/// that set each) and in canonical form.
struct Sides<'a> {
    field: Field,
    mv: &'a BTreeSet<String>,
    raw: &'a BTreeMap<String, Order>,
    gv: BTreeSet<String>,
    /// The log's lines: what each branch value replaced.
    log: &'a MetLog,
}

/// A field's decision by the merge of its shape.
fn decide(sides: &Sides<'_>, past: Past<'_>, opts: &Options) -> Decision {
    let Sides {
        field,
        mv,
        raw,
        gv,
        log,
    } = sides;
    match field {
        _ if opts.all => Decision::Value((*mv).clone()),
        Field::Cue => {
            let replaced = |value: &str| log.replaced(field.name(), value);
            let edits_of = |value: &str| log.edits_of(field.name(), value);
            let branch = merge::cue::Branch {
                gv,
                raw,
                replaced: &replaced,
                edits_of: &edits_of,
            };
            merge::cue::merge(mv, &branch, past, opts.prefer)
        }
        _ if field.is_set() => merge::set::merge(mv, gv, past, opts.prefer),
        _ => {
            let cleared = cleared(log, field.name(), raw);
            merge::single::decide(field.codec(), mv, raw, cleared.as_ref(), past, opts.prefer)
        }
    }
}

/// When another clone cleared the value the branch's one replaced: the newest line that unset
/// it and set nothing in the field.
fn cleared(log: &MetLog, field: &str, raw: &BTreeMap<String, Order>) -> Option<Order> {
    let [value] = raw.keys().collect::<Vec<_>>()[..] else {
        return None;
    };
    let parents = log.replaced(field, value);
    let clears = parents.iter().flat_map(|p| log.edits_of(field, p));
    clears
        .filter(|(_, sets)| sets.is_empty())
        .map(|(order, _)| order)
        .max()
}

/// Records a field's decision: its conflict, resolution or hold, and its outcome (`invalid`:
/// the branch holds a value Mixxx cannot).
fn take(
    plan: &mut KeyPlan,
    merged: &mut Merged,
    sides: Sides<'_>,
    invalid: bool,
    decision: Decision,
    past: Past<'_>,
) {
    let Sides {
        field,
        mv,
        gv: branch,
        ..
    } = sides;
    let conflict = |result: &BTreeSet<String>, winner| FieldConflict {
        field,
        mixxx: mv.clone(),
        // A single value the branch won is the branch's as settled (a clear that won over
        // a change made concurrently is no value).
        branch: match (field.is_set(), winner) {
            (false, Prefer::Git) => result.clone(),
            _ => branch.clone(),
        },
        winner,
        result: result.clone(),
    };
    let (result, resolved) = match decision {
        Decision::Value(r) => (r, false),
        Decision::Conflict(r, winner) => {
            plan.conflicts.push(conflict(&r, winner));
            (r, false)
        }
        Decision::Resolve(r, at, text) => {
            // The several values the branch held.
            let several = FieldConflict {
                branch: branch.clone(),
                ..conflict(&r, Prefer::Git)
            };
            plan.conflicts.push(several);
            plan.resolved_at = plan.resolved_at.clone().max(Some(at.just_after()));
            merged.resolved.push((field, BTreeSet::from([text])));
            (r, true)
        }
        Decision::Hold(invalid) => {
            // Mixxx keeps its value, and so does the base: the next run tries again.
            let kept = past.base().unwrap_or(mv).clone();
            plan.held.push(Held {
                field,
                invalid,
                kept: kept.clone(),
            });
            if !kept.is_empty() {
                merged.kept.insert(field, kept);
            }
            return;
        }
    };
    merged.outcomes.push(Outcome {
        field,
        result,
        branch,
        invalid,
        resolved,
    });
}

/// The pulls, pushes and settled values of a key's outcomes.
fn finish(mut plan: KeyPlan, merged: Merged, m: &Values, g: &Current, opts: &Options) -> KeyPlan {
    let empty = BTreeSet::new();
    let mut result = merged.kept.clone();
    let mut branch = merged.kept;
    let mut changed_fields = Vec::new();
    for o in merged.outcomes {
        if m.get(&o.field).unwrap_or(&empty) != &o.result {
            plan.pull.push((o.field, o.result.clone()));
        }
        // A resolved field is written by the resolution line.
        if !o.resolved && (o.branch != o.result || o.invalid) {
            changed_fields.push((o.field, o.result.clone()));
        }
        if !o.result.is_empty() {
            result.insert(o.field, o.result);
        }
        if !o.branch.is_empty() {
            branch.insert(o.field, o.branch);
        }
    }
    if !opts.pull_only {
        plan.push = changes(g, &changed_fields);
        plan.resolution = changes(g, &merged.resolved);
    }
    plan.settled = if plan.push.is_empty() && plan.resolution.is_empty() {
        branch
    } else {
        result
    };
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annex::logmet::Timestamp;
    use crate::sync::plan::tests::*;
    use Field::{Bpm, Color, Crate, Cue, Key, Rating};
    #[test]
    fn mixxx_change_is_pushed_and_branch_change_is_pulled() {
        let b = vals(&[(Rating, &["3"]), (Color, &["#FF0000"])]);
        let m = vals(&[(Rating, &["4"]), (Color, &["#FF0000"])]);
        let g = cur(&[(Rating, &[("3", 1)]), (Color, &[("#00FF00", 2)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.conflicts, vec![]);
        assert_eq!(pushed(&plan), ["rating-3", "rating+4"]);
        assert_eq!(plan.pull, vec![(Color, set(&["#00FF00"]))]);
        assert_eq!(
            plan.settled,
            vals(&[(Rating, &["4"]), (Color, &["#00FF00"])])
        );
    }

    #[test]
    fn conflict_prefers_git_by_default_and_mixxx_on_request() {
        let b = vals(&[(Rating, &["3"])]);
        let m = vals(&[(Rating, &["5"])]);
        let g = cur(&[(Rating, &[("2", 1)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].winner, Prefer::Git);
        assert!(plan.push.is_empty());
        assert_eq!(plan.pull[0].1, set(&["2"]));
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &opts,
        );
        assert!(plan.pull.is_empty());
        assert_eq!(plan.conflicts[0].winner, Prefer::Mixxx);
        assert_eq!(pushed(&plan), ["rating-2", "rating+5"]);
    }

    #[test]
    fn sets_merge_per_element() {
        let b = vals(&[(Crate, &["A", "B"])]);
        let m = vals(&[(Crate, &["A", "B", "X"])]);
        let g = cur(&[(Crate, &[("B", 1), ("Y", 1)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &Options::default(),
        );
        assert!(plan.conflicts.is_empty());
        assert_eq!(plan.pull, vec![(Crate, set(&["B", "X", "Y"]))]);
        assert_eq!(pushed(&plan), ["crate+X"]);
    }

    #[test]
    fn several_values_resolve_to_the_newest_and_are_written_back() {
        let m = vals(&[(Rating, &["2"])]);
        let g = cur(&[(Rating, &[("2", 10), ("5", 20)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull[0].1, set(&["5"]));
        assert!(plan.push.is_empty());
        assert_eq!(described(&plan.resolution), ["rating-2"]);
        // Dated just after the winner, not now: an edit made meanwhile elsewhere stays newer.
        let winner = Timestamp { secs: 20, picos: 0 };
        assert_eq!(plan.resolved_at, Some(Order::Exact(winner).just_after()));
        assert_eq!(plan.conflicts.len(), 1, "concurrent sets are a conflict");
        // Where this Mixxx holds the winning value, the conflict is recorded too.
        let m5 = vals(&[(Rating, &["5"])]);
        let plan = plan_key(
            &m5,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m5),
            &Local::default(),
            &Options::default(),
        );
        assert!(plan.pull.is_empty());
        assert_eq!(plan.conflicts.len(), 1);
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &opts,
        );
        assert!(plan.pull.is_empty());
        assert_eq!(pushed(&plan), ["rating-5"]);
    }

    #[test]
    fn cues_combine_per_cue_and_one_cue_edited_twice_converges() {
        let (c1, c2, c3) = (
            "hotcue 1 100 0 #FF0000 Intro",
            "hotcue 2 200 0 #00FF00",
            "loop 3 300 88200 #0000FF",
        );
        // B moved hot cue 1 (pushed); A, offline, added a loop: both stay.
        let base = vals(&[(Cue, &[c1, c2])]);
        let moved = "hotcue 1 150 0 #FF0000 Intro";
        let m = vals(&[(Cue, &[c1, c2, c3])]);
        let g = cur(&[(Cue, &[(moved, 20), (c2, 10)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&base),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull, vec![(Cue, set(&[moved, c2, c3]))]);
        assert_eq!(pushed(&plan), [format!("cue+{c3}")]);
        assert!(plan.conflicts.is_empty());
        // Both moved hot cue 1: the branch's newest wins, as for a single-valued field.
        let elsewhere = "hotcue 1 175 0 #FF0000 Intro";
        let m = vals(&[(Cue, &[elsewhere, c2])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&base),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull, vec![(Cue, set(&[moved, c2]))]);
        assert!(plan.push.is_empty());
        assert_eq!(plan.conflicts.len(), 1);
        // Two values of one cue on the branch (a union merge): the newer stays everywhere.
        let g = cur(&[(Cue, &[(moved, 20), (elsewhere, 30), (c2, 10)])]);
        let m = vals(&[(Cue, &[c1, c2])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&base),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull, vec![(Cue, set(&[elsewhere, c2]))]);
        assert_eq!(pushed(&plan), [format!("cue-{moved}")]);
    }

    #[test]
    fn cues_mixxx_cannot_hold_are_rejected_and_left_on_the_branch() {
        let good = "hotcue 1 100 0 #FF0000";
        let bad = [
            "hotcue 99 100 0 #FF0000",
            "hotcue 2 -5 0 #FF0000",
            "sound - 1 0 #FF0000",
        ];
        let mut log: Vec<(&str, i64)> = bad.iter().map(|b| (*b, 10)).collect();
        log.push((good, 10));
        let g = cur(&[(Cue, &log)]);
        let m = Values::new();
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull, vec![(Cue, set(&[good]))]);
        assert!(plan.push.is_empty(), "the bad ones stay on the branch");
        let mut rejected: Vec<&str> = plan
            .rejected
            .iter()
            .map(|(_, i)| i.value.as_str())
            .collect();
        rejected.sort();
        assert_eq!(
            rejected,
            [
                "hotcue 2 -5 0 #FF0000",
                "hotcue 99 100 0 #FF0000",
                "sound - 1 0 #FF0000"
            ]
        );
        // A cue added in Mixxx is pushed without touching them.
        let added = "hotcue 3 300 0 #FF0000";
        let m = vals(&[(Cue, &[good, added])]);
        let base = vals(&[(Cue, &[good])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&base),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(pushed(&plan), [format!("cue+{added}")]);
    }

    #[test]
    fn a_resolution_keeps_the_winners_text() {
        // "5" and "128.00" set concurrently: the newest, "5", stays as written, not as
        // Mixxx writes it ("5.00").
        let m = vals(&[(Bpm, &["128.00"])]);
        let g = cur(&[(Bpm, &[("128.00", 10), ("5", 20)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull[0].1, set(&["5.00"]));
        assert_eq!(described(&plan.resolution), ["bpm-128.00"]);
    }

    #[test]
    fn a_mixxx_edit_since_the_base_still_counts_when_the_branch_holds_several_values() {
        // This clone synced 1; another set 2 concurrently; then the DJ rated it 5 here. The
        // newest line is this clone's own old 1, which the DJ replaced: 5 is the edit.
        let b = vals(&[(Rating, &["1"])]);
        let m = vals(&[(Rating, &["5"])]);
        let g = cur(&[(Rating, &[("1", 20), ("2", 10)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &Options::default(),
        );
        assert!(plan.pull.is_empty());
        assert_eq!(pushed(&plan), ["rating-1", "rating-2", "rating+5"]);
        assert!(plan.resolution.is_empty());
        assert_eq!(plan.conflicts[0].winner, Prefer::Mixxx);
        // Where the other clone's value is the newest, both changed: the branch wins.
        let g = cur(&[(Rating, &[("1", 10), ("2", 20)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(plan.pull, vec![(Rating, set(&["2"]))]);
        assert_eq!(described(&plan.resolution), ["rating-1"]);
        assert_eq!(plan.conflicts[0].winner, Prefer::Git);
    }

    #[test]
    fn first_sync_fills_empty_sides() {
        let m = vals(&[(Rating, &["4"])]);
        let g = cur(&[(Color, &[("#123456", 1)])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::History(&no_history()),
            &Local::default(),
            &Options::default(),
        );
        assert!(plan.conflicts.is_empty());
        assert_eq!(pushed(&plan), ["rating+4"]);
        assert_eq!(plan.pull, vec![(Color, set(&["#123456"]))]);
    }

    #[test]
    fn without_a_base_the_branch_history_is_the_truth() {
        // A restored database holds values the branch has cleared since, and crates the
        // branch removed the track from.
        let m = vals(&[
            (Rating, &["3"]),
            (Crate, &["Old", "Mine"]),
            (Color, &["#111111"]),
        ]);
        let g = cur(&[(Crate, &[("New", 2)])]);
        let history = BTreeSet::from([
            ("rating".into(), "3".into()),
            ("crate".into(), "Old".into()),
            ("crate".into(), "New".into()),
        ]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::History(&history),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(
            plan.pull,
            vec![(Rating, set(&[])), (Crate, set(&["Mine", "New"]))]
        );
        assert_eq!(plan.conflicts.len(), 1, "the cleared rating: {plan:?}");
        assert_eq!(plan.conflicts[0].winner, Prefer::Git);
        // What the branch never had is pushed.
        assert_eq!(pushed(&plan), ["color+#111111", "crate+Mine"]);
        // Preferring Mixxx brings them back, as asked.
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::History(&history),
            &Local::default(),
            &opts,
        );
        assert_eq!(plan.pull, vec![(Crate, set(&["Mine", "New", "Old"]))]);
        assert_eq!(
            pushed(&plan),
            ["rating+3", "color+#111111", "crate+Mine", "crate+Old"]
        );
    }

    #[test]
    fn all_makes_mixxx_win() {
        let m = vals(&[(Crate, &["A"])]);
        let g = cur(&[(Crate, &[("B", 1)]), (Rating, &[("5", 1)])]);
        let opts = Options {
            all: true,
            ..Options::default()
        };
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::History(&no_history()),
            &Local::default(),
            &opts,
        );
        assert!(plan.pull.is_empty());
        assert_eq!(pushed(&plan), ["rating-5", "crate-B", "crate+A"]);
    }

    #[test]
    fn spellings_are_never_rewritten() {
        // A git-annex user wrote these by hand; Mixxx holds the same values.
        let g = cur(&[
            (Bpm, &[("128", 1)]),
            (Key, &[("8A", 1)]),
            (Color, &[("#ff0000", 1)]),
        ]);
        let m = vals(&[(Bpm, &["128.00"]), (Key, &["Am"]), (Color, &["#FF0000"])]);
        let history = BTreeSet::from([("rating".into(), "9".into())]);
        for past in [KeyPast::History(&history), KeyPast::Base(&m)] {
            let plan = plan_key(
                &m,
                &g,
                &MetLog::default(),
                past,
                &Local::default(),
                &Options::default(),
            );
            assert_eq!(
                plan,
                KeyPlan {
                    settled: m.clone(),
                    ..KeyPlan::default()
                }
            );
        }
        // A real change replaces the old spelling.
        let m2 = vals(&[(Bpm, &["130.00"]), (Key, &["Am"]), (Color, &["#FF0000"])]);
        let plan = plan_key(
            &m2,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(pushed(&plan), ["bpm-128", "bpm+130.00"]);
    }

    #[test]
    fn invalid_branch_values_are_held_not_pulled_nor_overwritten() {
        let m = vals(&[(Rating, &["3"])]);
        let g = cur(&[(Rating, &[("9", 5)])]);
        let history = BTreeSet::from([("rating".into(), "9".into())]);
        for past in [KeyPast::History(&history), KeyPast::Base(&m)] {
            let plan = plan_key(
                &m,
                &g,
                &MetLog::default(),
                past,
                &Local::default(),
                &Options::default(),
            );
            assert!(plan.pull.is_empty() && plan.push.is_empty(), "{plan:?}");
            assert_eq!(plan.held.len(), 1);
            assert_eq!(plan.held[0].invalid.value, "9");
            assert_eq!(
                plan.settled, m,
                "the base keeps Mixxx's value: retried next run"
            );
        }
        // Edited in Mixxx since the base: the edit replaces the invalid value.
        let b = vals(&[(Rating, &["2"])]);
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&b),
            &Local::default(),
            &Options::default(),
        );
        assert_eq!(pushed(&plan), ["rating-9", "rating+3"]);
        // Or by request.
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&m),
            &Local::default(),
            &opts,
        );
        assert_eq!(pushed(&plan), ["rating-9", "rating+3"]);
    }
}

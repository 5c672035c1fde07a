//! One key's play count and last played: the counter's merge ([`crate::merge::counter`]), the
//! latest moment ([`crate::merge::latest`]), and what they mean for Mixxx (pulls) and the
//! branch (this clone's part, the total, the latest). Neither is ever a conflict, nor a value
//! the clear guard counts.

use super::KeyPast;
use super::push::changes;
use super::values::{branch_counter, count_value};
use crate::annex::logmet::{Change, Current};
use crate::fields::{Codec, Field, FieldSet, Values, plays};
use crate::merge::counter::{self, Counter};
use crate::merge::latest::latest;
use crate::sync::options::Options;
use std::collections::BTreeSet;

/// What a key's merge knows of this clone and this Mixxx beyond the two sides' values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local<'a> {
    /// This clone's part of play counts on the branch ([`plays::part_field`]).
    pub part: &'a str,
    /// This clone's part at the base.
    pub own_base: u64,
    /// The fields this Mixxx has no column for (`lastplayed` before revision 35).
    pub missing: FieldSet,
}

/// What a key's plays mean for both sides.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plays {
    pub pull: Vec<(Field, BTreeSet<String>)>,
    pub push: Vec<Change>,
    /// What the base holds of them afterwards: the branch's, as a later run reads it.
    pub settled: Vec<(Field, BTreeSet<String>)>,
    /// The plays this run adds to this clone's part.
    pub added: u64,
    /// When Mixxx's count is written, what the base acknowledges once it is: the total less
    /// the plays counted since the base, which the branch does not have until the run commits.
    pub acknowledged: Option<u64>,
}

/// A field's single value as a count (0: none).
fn count_of(values: &Values, field: Field) -> u64 {
    values
        .get(&field)
        .and_then(|v| v.first())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Plans the play count and last played of a key: Mixxx's values `m`, the branch's `g`.
pub(super) fn plan(
    m: &Values,
    g: &Current,
    past: KeyPast<'_>,
    local: &Local<'_>,
    opts: &Options,
) -> Plays {
    let mut out = Plays::default();
    count(m, g, past, local, opts, &mut out);
    last_played(m, g, local, opts, &mut out);
    out
}

fn count(
    m: &Values,
    g: &Current,
    past: KeyPast<'_>,
    local: &Local<'_>,
    opts: &Options,
    out: &mut Plays,
) {
    let branch = branch_counter(g);
    let counter_past = match past {
        KeyPast::Base(b) => counter::Past::Base {
            acknowledged: count_of(b, Field::Plays),
            own: local.own_base,
        },
        KeyPast::History(log) => counter::Past::History {
            any: plays::has_history(log),
        },
    };
    let mixxx = count_of(m, Field::Plays);
    let merged = counter::merge(mixxx, &branch, local.part, counter_past);
    let pushing = !opts.pull_only;
    if pushing {
        out.push
            .extend(part_changes(g, &branch, local.part, merged.own));
        out.added = merged.added;
        if merged.total > 0 && written(g, Field::Plays) != count_value(merged.total) {
            out.push
                .extend(changes(g, &[(Field::Plays, count_value(merged.total))]));
        }
    }
    // A run over some files leaves Mixxx's count alone: it writes no marker, so a count
    // written then could not be told from plays made since.
    if opts.paths.is_empty() && mixxx != merged.total {
        out.pull.push((Field::Plays, count_value(merged.total)));
        if let counter::Past::Base { own, .. } = counter_past {
            out.acknowledged = Some(merged.total - merged.own.saturating_sub(own));
        }
    }
    let settled = if pushing {
        merged.total
    } else {
        branch.total()
    };
    out.settled.push((Field::Plays, count_value(settled)));
}

/// The changes that make this clone's part `own` (with the count from before recorded as its
/// part, when it was only a total until now).
fn part_changes(g: &Current, branch: &Counter, part: &str, own: u64) -> Vec<Change> {
    if own == branch.part(part) && g.get(part).is_none_or(|v| v.len() <= 1) {
        return Vec::new();
    }
    let mut out: Vec<Change> = g
        .get(part)
        .into_iter()
        .flat_map(|v| v.keys())
        .map(|old| Change {
            field: part.to_owned(),
            set: false,
            value: old.clone(),
        })
        .collect();
    out.push(Change {
        field: part.to_owned(),
        set: true,
        value: own.to_string(),
    });
    if !g.contains_key(plays::BEFORE)
        && let Some(before) = branch.parts.get(plays::BEFORE)
    {
        out.push(Change {
            field: plays::BEFORE.to_owned(),
            set: true,
            value: before.to_string(),
        });
    }
    out
}

/// The canonical values a field's branch values read as (those that are valid).
fn written(g: &Current, field: Field) -> BTreeSet<String> {
    g.get(field.name())
        .into_iter()
        .flat_map(|v| v.keys())
        .filter_map(|v| field.codec().canonical(v).ok().map(|c| c.into_owned()))
        .collect()
}

fn last_played(m: &Values, g: &Current, local: &Local<'_>, opts: &Options, out: &mut Plays) {
    let field = Field::LastPlayed;
    let holds = !local.missing.contains(field);
    let mixxx = m.get(&field).and_then(|v| v.first()).filter(|_| holds);
    let on_branch = written(g, field);
    let Some(result) = latest(on_branch.iter().chain(mixxx).map(String::as_str)) else {
        return;
    };
    let result = result.to_owned();
    let pushing = !opts.pull_only && on_branch.iter().ne([&result]);
    if pushing {
        // Values written in another spelling of the latest stay as written.
        let raw = g.get(field.name()).into_iter().flat_map(|v| v.keys());
        let canonical = |v: &String| Codec::Time.canonical(v).ok().map(|c| c.into_owned());
        let mut spelled = false;
        for value in raw {
            match canonical(value) {
                Some(c) if c == result => spelled = true,
                Some(_) => out.push.push(Change {
                    field: field.name().to_owned(),
                    set: false,
                    value: value.clone(),
                }),
                None => {}
            }
        }
        if !spelled {
            out.push.push(Change {
                field: field.name().to_owned(),
                set: true,
                value: result.clone(),
            });
        }
    }
    if holds && mixxx != Some(&result) {
        out.pull.push((field, BTreeSet::from([result.clone()])));
    }
    if holds {
        let settled = match pushing || on_branch.is_empty() {
            true => BTreeSet::from([result]),
            false => latest(on_branch.iter().map(String::as_str))
                .map(|l| BTreeSet::from([l.to_owned()]))
                .unwrap_or_default(),
        };
        out.settled.push((field, settled));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan::tests::{cur, described, set, vals};
    use Field::{LastPlayed, Plays as Count};

    fn local(own_base: u64) -> Local<'static> {
        Local {
            part: "plays.aaaa1111",
            own_base,
            missing: FieldSet::default(),
        }
    }

    fn named(pairs: &[(&str, &[(&str, i64)])]) -> Current {
        let mut g = Current::new();
        for (name, values) in pairs {
            let field = g.entry(name.to_string()).or_default();
            for (v, t) in *values {
                let at = crate::annex::logmet::Timestamp {
                    secs: i128::from(*t),
                    picos: 0,
                };
                field.insert(v.to_string(), crate::annex::logmet::Order::Exact(at));
            }
        }
        g
    }

    #[test]
    fn new_plays_go_to_this_clones_part_and_the_total_to_both_sides() {
        // At the base: total 4, this clone's part 1. Mixxx played twice since; another clone
        // added 3 meanwhile.
        let b = vals(&[(Count, &["4"])]);
        let m = vals(&[(Count, &["6"])]);
        let g = named(&[
            ("plays.aaaa1111", &[("1", 1)]),
            ("plays.bbbb2222", &[("6", 2)]),
            ("plays", &[("7", 2)]),
        ]);
        let p = plan(&m, &g, KeyPast::Base(&b), &local(1), &Options::default());
        assert_eq!(
            described(&p.push),
            ["plays.aaaa1111-1", "plays.aaaa1111+3", "plays-7", "plays+9"]
        );
        assert_eq!(p.pull, vec![(Count, set(&["9"]))]);
        assert_eq!(p.added, 2);
        assert_eq!(p.settled, vec![(Count, set(&["9"]))]);
        // Over some files only, Mixxx's count is left alone.
        let opts = Options {
            paths: vec!["a.flac".into()],
            ..Options::default()
        };
        let p = plan(&m, &g, KeyPast::Base(&b), &local(1), &opts);
        assert!(p.pull.is_empty() && p.added == 2);
    }

    #[test]
    fn a_total_alone_is_kept_as_the_count_from_before() {
        let b = vals(&[(Count, &["10"])]);
        let m = vals(&[(Count, &["11"])]);
        let g = named(&[("plays", &[("10", 1)])]);
        let p = plan(&m, &g, KeyPast::Base(&b), &local(0), &Options::default());
        assert_eq!(
            described(&p.push),
            [
                "plays.aaaa1111+1",
                "plays.before+10",
                "plays-10",
                "plays+11"
            ]
        );
        assert!(p.pull.is_empty());
    }

    #[test]
    fn last_played_is_the_latest_and_kept_on_the_branch_for_an_older_mixxx() {
        let (early, late) = ("2026-12-05T21:00:00Z", "2026-12-06T01:30:00Z");
        let m = vals(&[(LastPlayed, &[early])]);
        let g = cur(&[(LastPlayed, &[(late, 5), (early, 9)])]);
        let p = plan(&m, &g, KeyPast::Base(&m), &local(0), &Options::default());
        assert_eq!(p.pull, vec![(LastPlayed, set(&[late]))]);
        assert_eq!(described(&p.push), [format!("lastplayed-{early}")]);
        let old = Local {
            missing: FieldSet::from_iter([LastPlayed]),
            ..local(0)
        };
        let p = plan(
            &Values::new(),
            &g,
            KeyPast::Base(&Values::new()),
            &old,
            &Options::default(),
        );
        assert!(p.pull.is_empty() && p.settled.iter().all(|(f, _)| *f != LastPlayed));
        assert_eq!(described(&p.push), [format!("lastplayed-{early}")]);
        // Another spelling of the latest is never rewritten.
        let g = cur(&[(LastPlayed, &[("2026-12-06 01:30:00", 5)])]);
        let p = plan(&m, &g, KeyPast::Base(&m), &local(0), &Options::default());
        assert!(p.push.is_empty());
        assert_eq!(p.pull, vec![(LastPlayed, set(&[late]))]);
    }
}

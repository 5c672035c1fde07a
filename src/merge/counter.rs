//! Counters (play counts): a count that only grows, kept as one part per clone. Each clone
//! adds its own increments to its own part, which no other clone writes, so increments made
//! concurrently on two clones never collide; the total is the sum of the parts, the same on
//! every clone however the branch merged.
//!
//! A clone's new increments are what its Mixxx counts beyond what it acknowledged at the base
//! (the total it last wrote there): its part becomes its part at the base plus those, which is
//! the same however often a run that did not finish is repeated.

use std::collections::BTreeMap;

/// A counter on the branch: its parts, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Each part (a clone's, or the count from before the counter had parts) and its value.
    pub parts: BTreeMap<String, u64>,
}

impl Counter {
    /// The total: the sum of the parts.
    pub fn total(&self) -> u64 {
        self.parts.values().fold(0, |sum, v| sum.saturating_add(*v))
    }

    /// A part's value (0 when it has none).
    pub fn part(&self, name: &str) -> u64 {
        self.parts.get(name).copied().unwrap_or(0)
    }
}

/// What the merge knows of a counter's past on this clone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Past {
    /// At this clone's last sync: the total it acknowledged (what Mixxx held then, or would
    /// have), and its own part.
    Base { acknowledged: u64, own: u64 },
    /// No base (a first sync, a new or restored database, a new row): whether the branch has
    /// any history of the counter.
    History { any: bool },
}

/// A counter's merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// This clone's part afterwards.
    pub own: u64,
    /// The increments this run adds to this clone's part.
    pub added: u64,
    /// The total afterwards, for Mixxx and the branch.
    pub total: u64,
}

/// Merges Mixxx's count `mixxx` with the branch's counter, as clone `me`. With a base, Mixxx's
/// count beyond what was acknowledged are new increments (a count lowered in Mixxx adds none:
/// the total stands); without one, where the branch has history it wins (nothing is added),
/// else Mixxx's count so far is this clone's part.
pub fn merge(mixxx: u64, branch: &Counter, me: &str, past: Past) -> Merged {
    let now = branch.part(me);
    let own = match past {
        Past::Base { acknowledged, own } => {
            now.max(own.saturating_add(mixxx.saturating_sub(acknowledged)))
        }
        Past::History { any: true } => now,
        Past::History { any: false } => now.max(mixxx),
    };
    let mut parts = branch.clone();
    if own > 0 {
        parts.parts.insert(me.to_owned(), own);
    }
    Merged {
        own,
        added: own - now,
        total: parts.total(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(parts: &[(&str, u64)]) -> Counter {
        Counter {
            parts: parts.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn two_clones_playing_offline_add_up() {
        // Both synced a total of 4 (a: 1, b: 3); a played twice, b three times.
        let at_base = counter(&[("a", 1), ("b", 3)]);
        let base_a = Past::Base {
            acknowledged: 4,
            own: 1,
        };
        let after_a = merge(6, &at_base, "a", base_a);
        assert_eq!((after_a.own, after_a.added, after_a.total), (3, 2, 6));
        let branch = counter(&[("a", 3), ("b", 3)]);
        let base_b = Past::Base {
            acknowledged: 4,
            own: 3,
        };
        let after_b = merge(7, &branch, "b", base_b);
        assert_eq!((after_b.own, after_b.added, after_b.total), (6, 3, 9));
    }

    #[test]
    fn a_run_repeated_before_its_base_moves_adds_nothing_twice() {
        let base = Past::Base {
            acknowledged: 4,
            own: 1,
        };
        // The first run pushed a's part 3 but never finished: the base stayed.
        let branch = counter(&[("a", 3), ("b", 3)]);
        let again = merge(6, &branch, "a", base);
        assert_eq!((again.own, again.added, again.total), (3, 0, 6));
        // One more play meanwhile counts once.
        let more = merge(7, &branch, "a", base);
        assert_eq!((more.own, more.added, more.total), (4, 1, 7));
        // A count lowered in Mixxx (history deleted) takes nothing away.
        let lowered = merge(2, &branch, "a", base);
        assert_eq!((lowered.own, lowered.total), (3, 6));
    }

    #[test]
    fn without_a_base_the_branch_wins_where_it_has_history() {
        let branch = counter(&[("b", 5)]);
        let restored = merge(3, &branch, "a", Past::History { any: true });
        assert_eq!((restored.own, restored.added, restored.total), (0, 0, 5));
        let first = merge(3, &Counter::default(), "a", Past::History { any: false });
        assert_eq!((first.own, first.added, first.total), (3, 3, 3));
        let never = merge(0, &Counter::default(), "a", Past::History { any: false });
        assert_eq!(never.total, 0);
    }
}

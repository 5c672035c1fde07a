//! Three-way merge of sequences whose entries may repeat (a playlist's order), as git merges
//! lines: the base O and two sides A and B (in a sync, A is this Mixxx and B the branch).
//!
//! - Entries are (key, occurrence): the k-th copy of a key in one sequence is the same entry as
//!   the k-th copy in another. An entry of O that A or B lacks is removed; an entry O lacks is
//!   an insertion of the side(s) holding it.
//! - Whether entry e comes before f is decided pair by pair: a side that changed their order
//!   since O wins (when both did, they agree); when O lacks one of them, A and B must agree;
//!   when only one side holds both, that side decides. An insertion of A and one of B that no
//!   sequence orders go where each side's neighbours put them; at the same place B's first.
//! - When these decisions are no order (the same entry moved to different places, one region
//!   edited differently on both sides), the merge is a conflict: the preferred side's order
//!   of the entries both sides hold decides, and both sides' insertions and removals apply.
//!
//! The pairwise check costs O(n²) for the entries both sides hold when both reordered them;
//! when one side only inserted and removed, or both agree, it is linear. Beyond
//! [`PAIR_BUDGET`] pairs the merge takes the conflict rule instead of taking seconds.

use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

/// A side of the merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// What a merge made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged<T> {
    pub items: Vec<T>,
    /// The sides' edits were no order: the preferred side's order decided.
    pub conflict: bool,
}

/// Pairs of common entries compared at most (about 8,000 entries reordered on both sides,
/// a tenth of a second).
pub const PAIR_BUDGET: usize = 32_000_000;

const ABSENT: u32 = u32::MAX;
const O: usize = 0;
const A: usize = 1;
const B: usize = 2;

/// Merges `a` and `b`, both made from `base`; `prefer` decides a conflict.
pub fn merge<T: Copy + Eq + Hash>(base: &[T], a: &[T], b: &[T], prefer: Side) -> Merged<T> {
    // One side kept the base, or both made it alike: the other side's, as git takes it (what
    // the merge below gives too, without its maps: a playlist left alone costs one compare).
    if a == b || b == base {
        return Merged {
            items: a.to_vec(),
            conflict: false,
        };
    }
    if a == base {
        return Merged {
            items: b.to_vec(),
            conflict: false,
        };
    }
    merge_entries(base, a, b, prefer)
}

/// [`merge`] by the entries' orders.
fn merge_entries<T: Copy + Eq + Hash>(base: &[T], a: &[T], b: &[T], prefer: Side) -> Merged<T> {
    let e = Entries::new([base, a, b]);
    let held_by = |side: usize, other: usize| -> Vec<u32> {
        let other = &e.pos[other];
        e.seqs[side]
            .iter()
            .copied()
            .filter(|id| other[*id as usize] != ABSENT)
            .collect()
    };
    let (in_a, in_b) = (held_by(A, B), held_by(B, A));
    let preferred = || match prefer {
        Side::A => in_a.clone(),
        Side::B => in_b.clone(),
    };
    let (order, mut conflict) = match order_common(&e, &in_a, &in_b) {
        Some(order) => (order, false),
        None => (preferred(), true),
    };
    let placed = match place(&e, &order, !conflict) {
        Some(placed) => placed,
        None => {
            conflict = true;
            place(&e, &preferred(), false).unwrap_or_default()
        }
    };
    Merged {
        items: placed.into_iter().map(|id| e.keys[id as usize]).collect(),
        conflict,
    }
}

/// Whether `result` keeps every reorder `side` made of `base`: each pair of entries all three
/// hold that `side` orders differently from `base` is ordered as `side` orders it. Beyond
/// [`PAIR_BUDGET`] pairs, `false` (a merge that cannot tell is a conflict).
pub fn keeps_reorders<T: Copy + Eq + Hash>(base: &[T], side: &[T], result: &[T]) -> bool {
    let e = Entries::new([base, side, result]);
    let held = |id: &u32| e.pos[O][*id as usize] != ABSENT && e.pos[B][*id as usize] != ABSENT;
    let common: Vec<u32> = e.seqs[A].iter().copied().filter(held).collect();
    let at = |s: usize| -> Vec<u32> { common.iter().map(|id| e.pos[s][*id as usize]).collect() };
    let (base, result) = (at(O), at(B));
    if base.is_sorted() {
        return true;
    }
    let n = common.len();
    if n.saturating_mul(n.saturating_sub(1)) / 2 > PAIR_BUDGET {
        return false;
    }
    // `side` puts i before j; where the base put j first, so must the result not.
    (0..n).all(|i| (i + 1..n).all(|j| base[i] < base[j] || result[i] < result[j]))
}

/// The three sequences as entry ids, and where each entry is in each.
struct Entries<T> {
    /// Each entry's key, by id.
    keys: Vec<T>,
    /// O, A and B as ids.
    seqs: [Vec<u32>; 3],
    /// Each entry's position in O, A and B (`ABSENT`: not there).
    pos: [Vec<u32>; 3],
}

impl<T: Copy + Eq + Hash> Entries<T> {
    fn new(seqs: [&[T]; 3]) -> Entries<T> {
        let mut ids: HashMap<(T, u32), u32> = HashMap::default();
        let mut keys = Vec::new();
        let mut as_ids = |seq: &[T], keys: &mut Vec<T>| -> Vec<u32> {
            let mut copies: HashMap<T, u32> = HashMap::default();
            seq.iter()
                .map(|k| {
                    let n = copies.entry(*k).or_insert(0);
                    let id = *ids.entry((*k, *n)).or_insert_with(|| {
                        keys.push(*k);
                        (keys.len() - 1) as u32
                    });
                    *n += 1;
                    id
                })
                .collect()
        };
        let seqs = [
            as_ids(seqs[O], &mut keys),
            as_ids(seqs[A], &mut keys),
            as_ids(seqs[B], &mut keys),
        ];
        let pos = std::array::from_fn(|s| {
            let mut pos = vec![ABSENT; keys.len()];
            for (i, id) in seqs[s].iter().enumerate() {
                pos[*id as usize] = i as u32;
            }
            pos
        });
        Entries { keys, seqs, pos }
    }
}

impl<T> Entries<T> {
    /// Whether `id` is an insertion of `side` alone.
    fn inserted_by(&self, side: usize, id: u32) -> bool {
        let other = if side == A { B } else { A };
        self.pos[O][id as usize] == ABSENT && self.pos[other][id as usize] == ABSENT
    }
}

/// The merged order of the entries both sides hold (`in_a` in A's order, `in_b` in B's), or
/// `None` when the pairwise decisions are no order (or too many to check).
fn order_common<T>(e: &Entries<T>, in_a: &[u32], in_b: &[u32]) -> Option<Vec<u32>> {
    if in_a == in_b {
        return Some(in_a.to_vec());
    }
    let base = &e.pos[O];
    if in_a.iter().all(|id| base[*id as usize] != ABSENT) {
        let in_b_pos = &e.pos[B];
        let in_base: Vec<u32> = e.seqs[O]
            .iter()
            .copied()
            .filter(|id| in_b_pos[*id as usize] != ABSENT && e.pos[A][*id as usize] != ABSENT)
            .collect();
        // One side did not reorder them: the other's order stands.
        if in_a == in_base {
            return Some(in_b.to_vec());
        }
        if in_b == in_base {
            return Some(in_a.to_vec());
        }
    }
    let n = in_a.len();
    if n.saturating_mul(n.saturating_sub(1)) / 2 > PAIR_BUDGET {
        return None;
    }
    pairwise(e, in_a)
}

/// The order the pairwise decisions make of `common` (in A's order), if they make one: each
/// entry's count of entries it precedes must be different (a tournament is an order exactly
/// when its scores are n-1, ..., 0).
fn pairwise<T>(e: &Entries<T>, common: &[u32]) -> Option<Vec<u32>> {
    let at =
        |side: usize| -> Vec<u32> { common.iter().map(|id| e.pos[side][*id as usize]).collect() };
    let (base, b) = (at(O), at(B));
    let n = common.len();
    let mut ahead = vec![0u32; n];
    for i in 0..n {
        for j in i + 1..n {
            // A puts i first.
            let i_first = if b[i] < b[j] {
                true
            } else if base[i] == ABSENT || base[j] == ABSENT {
                // Only A and B order them, and they disagree.
                return None;
            } else {
                // B swapped them: A wins if it swapped them too (from O's j before i).
                base[i] > base[j]
            };
            if i_first {
                ahead[i] += 1;
            } else {
                ahead[j] += 1;
            }
        }
    }
    let mut order = vec![ABSENT; n];
    for (i, id) in common.iter().enumerate() {
        let slot = n - 1 - ahead[i] as usize;
        if order[slot] != ABSENT {
            return None;
        }
        order[slot] = *id;
    }
    Some(order)
}

/// `order` (the entries both sides hold) with each side's insertions placed after every
/// entry that side put before them, B's first at one place. With `check`, `None` when an
/// insertion's side put an entry after it that `order` puts before it (a conflict).
fn place<T>(e: &Entries<T>, order: &[u32], check: bool) -> Option<Vec<u32>> {
    let mut at = vec![ABSENT; e.keys.len()];
    for (i, id) in order.iter().enumerate() {
        at[*id as usize] = i as u32;
    }
    let mut inserts: [Vec<(u32, u32)>; 2] = [Vec::new(), Vec::new()];
    for (slot, side) in [(0, B), (1, A)] {
        let seq = &e.seqs[side];
        // The earliest place in `order` of what follows each entry.
        let mut after = vec![ABSENT; seq.len() + 1];
        for i in (0..seq.len()).rev() {
            after[i] = after[i + 1].min(at[seq[i] as usize]);
        }
        let mut place = 0u32;
        for (i, id) in seq.iter().enumerate() {
            match at[*id as usize] {
                ABSENT if e.inserted_by(side, *id) => {
                    if check && after[i + 1] < place {
                        return None;
                    }
                    inserts[slot].push((place, *id));
                }
                ABSENT => {}
                p => place = place.max(p + 1),
            }
        }
    }
    let mut out = Vec::with_capacity(order.len() + inserts[0].len() + inserts[1].len());
    let mut cursors = [0usize; 2];
    for k in 0..=order.len() as u32 {
        for (side, cursor) in cursors.iter_mut().enumerate() {
            while let Some((_, id)) = inserts[side].get(*cursor).filter(|(p, _)| *p == k) {
                out.push(*id);
                *cursor += 1;
            }
        }
        out.extend(order.get(k as usize));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(base: &[u32], a: &[u32], b: &[u32]) -> (Vec<u32>, bool) {
        let out = merge(base, a, b, Side::B);
        (out.items, out.conflict)
    }

    #[test]
    fn a_result_keeps_a_sides_reorders_only_where_it_orders_its_pairs_so() {
        let base = [5, 8, 6, 7];
        // Nothing reordered: kept whatever the result.
        assert!(keeps_reorders(&base, &[5, 8, 6, 7, 9], &[7, 6, 8, 5]));
        // 5 moved to the end, with an insertion: kept where 5 ends after 8, 6 and 7.
        assert!(keeps_reorders(&base, &[8, 9, 6, 7, 5], &[7, 8, 6, 5]));
        assert!(!keeps_reorders(&base, &[8, 6, 7, 5], &[8, 6, 5, 7]));
        // The second copy of 6 moved to the front: the first copy is another entry.
        assert!(keeps_reorders(&[6, 1, 6], &[6, 6, 1], &[6, 6, 1]));
        assert!(!keeps_reorders(&[6, 1, 6], &[6, 6, 1], &[6, 1, 6]));
    }

    #[test]
    fn a_reverse_and_an_append_combine() {
        let base = [1, 2, 3, 4];
        assert_eq!(
            m(&base, &[4, 3, 2, 1], &[1, 2, 3, 4, 5]),
            (vec![4, 3, 2, 1, 5], false)
        );
        assert_eq!(
            m(&base, &[1, 2, 3, 4, 5], &[4, 3, 2, 1]),
            (vec![4, 3, 2, 1, 5], false)
        );
    }

    #[test]
    fn a_removed_copy_and_a_move_combine() {
        let base = [1, 2, 3, 4, 2];
        assert_eq!(
            m(&base, &[1, 2, 3, 4], &[4, 1, 2, 3, 2]),
            (vec![4, 1, 2, 3], false)
        );
        assert_eq!(
            m(&base, &[4, 1, 2, 3, 2], &[1, 2, 3, 4]),
            (vec![4, 1, 2, 3], false)
        );
        // The first copy removed instead: the one left stays where the second was.
        assert_eq!(
            m(&base, &[1, 3, 4, 2], &[4, 1, 2, 3, 2]),
            (vec![4, 1, 3, 2], false)
        );
    }

    #[test]
    fn one_entry_moved_to_two_places_is_a_conflict() {
        let base = [1, 9, 2, 3];
        let (front, back) = ([9, 1, 2, 3], [1, 2, 3, 9]);
        assert_eq!(m(&base, &front, &back), (back.to_vec(), true));
        let out = merge(&base, &front, &back, Side::A);
        assert_eq!((out.items, out.conflict), (front.to_vec(), true));
    }

    #[test]
    fn a_reversed_region_and_an_insertion_into_it_conflict() {
        let base = [1, 2, 3, 4];
        let (a, b) = ([4, 3, 2, 1], [1, 2, 7, 3, 4]);
        // Insertions and removals of both sides apply; the preferred side orders the rest.
        assert_eq!(m(&base, &a, &b), (vec![1, 2, 7, 3, 4], true));
        let out = merge(&base, &a, &b, Side::A);
        assert_eq!((out.items, out.conflict), (vec![4, 3, 2, 1, 7], true));
    }

    #[test]
    fn insertions_at_one_place_keep_both_b_first() {
        let base = [1, 2];
        assert_eq!(m(&base, &[1, 8, 2], &[1, 9, 2]), (vec![1, 9, 8, 2], false));
        // The same key inserted by both at one place is one entry.
        assert_eq!(
            m(&base, &[1, 8, 2], &[1, 8, 2, 3]),
            (vec![1, 8, 2, 3], false)
        );
        // ... and at two places it is a conflict.
        assert_eq!(m(&base, &[8, 1, 2], &[1, 2, 8]), (vec![1, 2, 8], true));
    }

    #[test]
    fn moves_of_different_entries_combine() {
        let base = [1, 2, 3, 4, 5, 6];
        assert_eq!(
            m(&base, &[2, 1, 3, 4, 5, 6], &[1, 2, 3, 4, 6, 5]),
            (vec![2, 1, 3, 4, 6, 5], false)
        );
        // Both reordered; each side's own change applies.
        assert_eq!(
            m(&base, &[6, 1, 2, 3, 4, 5], &[1, 2, 4, 3, 5, 6]),
            (vec![6, 1, 2, 4, 3, 5], false)
        );
    }

    #[test]
    fn without_a_base_the_sides_must_agree() {
        assert_eq!(m(&[], &[1, 2, 3], &[1, 2, 3]), (vec![1, 2, 3], false));
        assert_eq!(m(&[], &[1, 2], &[3, 4]), (vec![3, 4, 1, 2], false));
        assert_eq!(m(&[], &[1, 2, 3], &[3, 2, 1]), (vec![3, 2, 1], true));
    }

    #[test]
    fn removals_apply_on_either_side() {
        let base = [1, 2, 3, 4];
        assert_eq!(m(&base, &[1, 3, 4], &[4, 3, 2, 1]), (vec![4, 3, 1], false));
        assert_eq!(m(&base, &[], &[1, 2, 5, 3, 4]), (vec![5], false));
    }

    #[test]
    fn beyond_the_budget_the_preferred_order_decides() {
        let n = 8_100u32;
        let base: Vec<u32> = (0..n).collect();
        let mut a = base.clone();
        a.swap(0, 1);
        let mut b = base.clone();
        b.swap(n as usize - 2, n as usize - 1);
        let out = merge(&base, &a, &b, Side::B);
        assert!(out.conflict);
        assert_eq!(out.items, b);
    }

    fn shuffled(v: &[u32], seed: u64) -> Vec<u32> {
        let mut out = v.to_vec();
        let mut s = seed;
        for i in (1..out.len()).rev() {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.swap(i, (s >> 33) as usize % (i + 1));
        }
        out
    }

    #[test]
    fn five_thousand_entries_reordered_on_both_sides() {
        let base: Vec<u32> = (0..5000).collect();
        let mut a = base.clone();
        a[..2500].reverse();
        let mut b = base.clone();
        b[2500..].reverse();
        b.push(9999);
        let out = merge(&base, &a, &b, Side::B);
        assert!(!out.conflict);
        let mut want = a[..2500].to_vec();
        want.extend(&b[2500..]);
        assert_eq!(out.items, want);
        // Shuffled on both sides: no order, the branch's decides.
        let out = merge(&base, &shuffled(&base, 1), &shuffled(&base, 2), Side::B);
        assert!(out.conflict);
        assert_eq!(out.items, shuffled(&base, 2));
    }

    proptest! {
        #[test]
        fn one_sided_edits_apply_exactly(
            base in proptest::collection::vec(0u32..6, 0..12),
            side in proptest::collection::vec(0u32..8, 0..12),
        ) {
            let want = (side.clone(), false);
            prop_assert_eq!(m(&base, &side, &base), want.clone());
            prop_assert_eq!(m(&base, &base, &side), want.clone());
            prop_assert_eq!(m(&base, &side, &side), want.clone());
            // The shortcut gives what the merge by the entries' orders gives.
            let slow = |a: &[u32], b: &[u32]| {
                let out = merge_entries(&base, a, b, Side::B);
                (out.items, out.conflict)
            };
            prop_assert_eq!(slow(&side, &base), want.clone());
            prop_assert_eq!(slow(&base, &side), want.clone());
            prop_assert_eq!(slow(&side, &side), want);
        }

        #[test]
        fn every_kept_entry_is_there_once(
            base in proptest::collection::vec(0u32..6, 0..10),
            a in proptest::collection::vec(0u32..8, 0..10),
            b in proptest::collection::vec(0u32..8, 0..10),
        ) {
            let count = |v: &[u32], k: u32| v.iter().filter(|x| **x == k).count();
            let (out, _) = m(&base, &a, &b);
            for k in 0..8 {
                let (o, a, b) = (count(&base, k), count(&a, k), count(&b, k));
                // Copies both hold, plus copies one side added beyond the base.
                let want = a.min(b) + a.max(b).saturating_sub(o.max(a.min(b)));
                prop_assert_eq!(count(&out, k), want, "key {}", k);
            }
            let swapped = merge(&base, &b, &a, Side::A);
            let mut sorted = swapped.items.clone();
            sorted.sort_unstable();
            let mut mine = out.clone();
            mine.sort_unstable();
            prop_assert_eq!(sorted, mine);
        }
    }
}

//! Hot cues and saved loops in the randomized preparation: the edits a DJ makes on a track's
//! pads ([`CueOp`]), what each claims of the end state, and the checks that every Mixxx and the
//! branch hold the same pads and that the claims hold. Pads 1 to 4 hold hot cues, 5 and 6 saved
//! loops (Mixxx 2.4's loops in hot cue slots); a swap exchanges two pads of one kind, or moves
//! a cue to an empty pad, as dragging one pad onto another does in Mixxx.

use super::{Change, Claim, Crew, TRACKS, Touch};
use crate::laptops::track;
use crate::util::*;
use std::collections::BTreeMap;

/// A track's pads in one Mixxx: slot (0-based) → (position, label).
pub type Pads = BTreeMap<i64, (i64, String)>;

/// An attribute of a cue the oracle follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    Position,
    Label,
}

impl Attr {
    fn of(self, (position, label): &(i64, String)) -> String {
        match self {
            Attr::Position => position.to_string(),
            Attr::Label => label.clone(),
        }
    }
}

/// An edit of a track's pads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CueOp {
    Add,
    Move,
    Relabel,
    Delete,
    Swap,
}

impl CueOp {
    const ALL: [CueOp; 5] = [
        CueOp::Add,
        CueOp::Move,
        CueOp::Relabel,
        CueOp::Delete,
        CueOp::Swap,
    ];
}

const SLOTS: i64 = 6;
const FIRST_LOOP: i64 = 4;
const LOOP_LENGTH: i64 = 88200;

/// The cue type of a pad: a hot cue (1) or a saved loop (4).
fn kind(slot: i64) -> i64 {
    if slot < FIRST_LOOP { 1 } else { 4 }
}

/// The claims of a cue at `slot`: its position and label.
fn pad_claims(t: usize, slot: i64, pad: &(i64, String)) -> Vec<Claim> {
    [Attr::Position, Attr::Label]
        .map(|attr| Claim::Cue {
            t,
            slot,
            attr,
            value: attr.of(pad),
            changed: true,
        })
        .into()
}

/// Sets `changed` of a cue claim: false when its laptop's Mixxx had it so at its last sync.
pub fn mark_changed(claim: &mut Claim, synced: &[Pads]) {
    match claim {
        Claim::Cue {
            t,
            slot,
            attr,
            value,
            changed,
        } => *changed = synced[*t].get(slot).map(|pad| attr.of(pad)).as_ref() != Some(value),
        Claim::NoCue { t, slot, changed } => *changed = synced[*t].contains_key(slot),
        _ => {}
    }
}

impl Crew {
    /// Track `t`'s pads in laptop `i`'s Mixxx; two cues on one pad fail the test.
    fn pads(&self, i: usize, t: usize) -> Pads {
        let l = &self.laptops[i];
        let conn = rusqlite::Connection::open(&l.db).unwrap();
        let sql = format!(
            "SELECT hotcue, CAST(position AS INTEGER), label FROM cues \
             WHERE track_id = {} AND type IN (1, 4) AND hotcue >= 0",
            track(&loc(&l.repo, &l.files[t]))
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .unwrap();
        let mut pads = Pads::new();
        for (slot, pad) in rows.map(Result::unwrap) {
            assert!(
                pads.insert(slot, pad).is_none(),
                "t{t}: two cues on pad {slot}"
            );
        }
        pads
    }

    /// Every track's pads in laptop `i`'s Mixxx.
    pub(super) fn all_pads(&self, i: usize) -> Vec<Pads> {
        (0..TRACKS).map(|t| self.pads(i, t)).collect()
    }

    /// Runs `sql` on laptop `i`'s Mixxx, `TRACK` standing for track `t`'s row.
    fn cue_sql(&self, i: usize, t: usize, sql: &str) {
        let l = &self.laptops[i];
        db_exec(
            &l.db,
            &sql.replace("TRACK", &track(&loc(&l.repo, &l.files[t]))),
        );
    }

    /// Laptop A sets two hot cues on every track: their claims.
    pub(super) fn prepare_pads(&mut self) -> Vec<Claim> {
        let mut claims = Vec::new();
        for t in 0..TRACKS {
            for slot in 0..2 {
                let pad = (
                    Crew::position(1000 + t, slot),
                    format!("t{t} pad {}", slot + 1),
                );
                self.cue_sql(0, t, &insert(slot, &pad));
                claims.extend(pad_claims(t, slot, &pad));
            }
        }
        claims
    }

    /// A position no other edit sets.
    fn position(tag: usize, slot: i64) -> i64 {
        (tag as i64 * SLOTS + slot + 1) * 4410
    }

    /// An edit of one track's pads in laptop `i`'s Mixxx (not a track it has not relinked).
    pub(super) fn edit_pads(&mut self, i: usize) {
        let settled: Vec<usize> = (0..TRACKS)
            .filter(|t| !self.laptops[i].pending.contains(t))
            .collect();
        if settled.is_empty() {
            return;
        }
        let t = *self.dice.pick(&settled);
        let pads = self.pads(i, t);
        let set: Vec<i64> = pads.keys().copied().collect();
        let tag = self.edits.len();
        let op = *self.dice.pick(&CueOp::ALL);
        let edit = match op {
            CueOp::Add => self.add_pad(t, &pads, tag),
            _ if set.is_empty() => None,
            CueOp::Move => Some(self.move_pad(t, &set, tag)),
            CueOp::Relabel => Some(self.relabel_pad(t, &set, tag)),
            CueOp::Delete => Some(self.delete_pad(t, &set)),
            CueOp::Swap => Some(self.swap_pads(t, &pads)),
        };
        let Some((sql, change)) = edit else {
            return;
        };
        self.cue_sql(i, t, &sql);
        let what = format!("t{t}: {}", change.what);
        self.record(i, what, change.claims, change.touches);
    }

    fn add_pad(&mut self, t: usize, pads: &Pads, tag: usize) -> Option<(String, Change)> {
        let free: Vec<i64> = (0..SLOTS).filter(|s| !pads.contains_key(s)).collect();
        if free.is_empty() {
            return None;
        }
        let slot = *self.dice.pick(&free);
        let pad = (Crew::position(tag, slot), format!("e{tag}"));
        let change = Change {
            what: format!("add pad {} at {}", slot + 1, pad.0),
            claims: pad_claims(t, slot, &pad),
            touches: vec![whole(t, slot)],
        };
        Some((insert(slot, &pad), change))
    }

    fn move_pad(&mut self, t: usize, set: &[i64], tag: usize) -> (String, Change) {
        let slot = *self.dice.pick(set);
        let position = Crew::position(tag, slot);
        let sql = format!(
            "UPDATE cues SET position = {position}.0 WHERE track_id = TRACK AND hotcue = {slot}"
        );
        let change = Change {
            what: format!("move pad {} to {position}", slot + 1),
            claims: vec![claim(t, slot, Attr::Position, position.to_string())],
            touches: vec![part(t, slot, Attr::Position)],
        };
        (sql, change)
    }

    fn relabel_pad(&mut self, t: usize, set: &[i64], tag: usize) -> (String, Change) {
        let slot = *self.dice.pick(set);
        let label = format!("e{tag}");
        let sql =
            format!("UPDATE cues SET label = '{label}' WHERE track_id = TRACK AND hotcue = {slot}");
        let change = Change {
            what: format!("label pad {} {label}", slot + 1),
            claims: vec![claim(t, slot, Attr::Label, label)],
            touches: vec![part(t, slot, Attr::Label)],
        };
        (sql, change)
    }

    fn delete_pad(&mut self, t: usize, set: &[i64]) -> (String, Change) {
        let slot = *self.dice.pick(set);
        let sql = format!("DELETE FROM cues WHERE track_id = TRACK AND hotcue = {slot}");
        let change = Change {
            what: format!("delete pad {}", slot + 1),
            claims: vec![Claim::NoCue {
                t,
                slot,
                changed: true,
            }],
            touches: vec![whole(t, slot)],
        };
        (sql, change)
    }

    /// Drags a set pad onto another of its kind: the two swap, or the cue moves there.
    fn swap_pads(&mut self, t: usize, pads: &Pads) -> (String, Change) {
        let set: Vec<i64> = pads.keys().copied().collect();
        let a = *self.dice.pick(&set);
        let others: Vec<i64> = (0..SLOTS)
            .filter(|s| *s != a && kind(*s) == kind(a))
            .collect();
        let b = *self.dice.pick(&others);
        let sql = format!(
            "UPDATE cues SET hotcue = CASE hotcue WHEN {a} THEN {b} ELSE {a} END \
             WHERE track_id = TRACK AND hotcue IN ({a}, {b})"
        );
        let takes = |slot: i64, from: i64| match pads.get(&from) {
            Some(pad) => pad_claims(t, slot, pad),
            None => vec![Claim::NoCue {
                t,
                slot,
                changed: true,
            }],
        };
        let mut claims = takes(a, b);
        claims.extend(takes(b, a));
        let change = Change {
            what: format!("swap pads {} and {}", a + 1, b + 1),
            claims,
            touches: vec![whole(t, a), whole(t, b)],
        };
        (sql, change)
    }

    /// Every Mixxx holds the same pads, and they are the branch's.
    pub(super) fn check_pads_agree(&self, story: &str) {
        let repo = &self.laptops[0].repo;
        for t in 0..TRACKS {
            let pads = self.pads(0, t);
            for i in 1..3 {
                assert_eq!(
                    self.pads(i, t),
                    pads,
                    "t{t}: laptops A and {i} differ\n{story}"
                );
            }
            let file = &self.laptops[0].files[t];
            let on_branch = self.env.metadata(repo, file).remove("cue");
            let branch_pads: Pads = on_branch
                .unwrap_or_default()
                .iter()
                .map(|v| branch_pad(v))
                .collect();
            assert_eq!(
                branch_pads, pads,
                "t{t}: Mixxx and the branch differ\n{story}"
            );
        }
    }

    /// Every cue claim no edit replaced holds, or lost to a colliding edit with a conflict
    /// reported for the track's cues (or to one its laptop had not changed).
    pub(super) fn check_pad_claims(&self, story: &str) {
        let finals = self.all_pads(0);
        for (e, claim) in self.standing() {
            let (t, holds, changed) = match claim {
                Claim::Cue {
                    t,
                    slot,
                    attr,
                    value,
                    changed,
                } => {
                    let now = finals[*t].get(slot).map(|pad| attr.of(pad));
                    (*t, now.as_ref() == Some(value), *changed)
                }
                Claim::NoCue { t, slot, changed } => (*t, !finals[*t].contains_key(slot), *changed),
                _ => continue,
            };
            let round = self.edits[e].round;
            let lost = self.touched_unseen(e, claim)
                && (!changed || self.conflict_on(&self.keys[t], "cue", round));
            assert!(
                holds || lost,
                "t{t}: {claim:?} of edit {e} (round {round}) lost with no conflict reported; \
                 its pads are {:?}\n{story}",
                finals[t]
            );
        }
    }
}

/// The SQL that adds a cue on `slot`, as Mixxx's CueDAO stores it.
fn insert(slot: i64, (position, label): &(i64, String)) -> String {
    let length = if kind(slot) == 4 { LOOP_LENGTH } else { 0 };
    format!(
        "INSERT INTO cues (track_id, type, position, length, hotcue, label, color) \
         VALUES (TRACK, {}, {position}.0, {length}.0, {slot}, '{label}', 16711680)",
        kind(slot)
    )
}

fn claim(t: usize, slot: i64, attr: Attr, value: String) -> Claim {
    Claim::Cue {
        t,
        slot,
        attr,
        value,
        changed: true,
    }
}

fn part(t: usize, slot: i64, attr: Attr) -> Touch {
    Touch::Cue {
        t,
        slot,
        attr: Some(attr),
    }
}

fn whole(t: usize, slot: i64) -> Touch {
    Touch::Cue {
        t,
        slot,
        attr: None,
    }
}

/// A pad of a branch value `KIND SLOT POSITION LENGTH COLOR [LABEL]` (slot 1-based).
fn branch_pad(value: &str) -> (i64, (i64, String)) {
    let parts: Vec<&str> = value.splitn(6, ' ').collect();
    let slot: i64 = parts[1].parse().expect("a pad");
    let position: f64 = parts[2].parse().expect("a position");
    let label = parts.get(5).copied().unwrap_or_default();
    (slot - 1, (position as i64, label.to_owned()))
}

//! The plan: for every key of this Mixxx and every field, what the sync does, decided by the
//! design's three-way rules between Mixxx now (M), the branch now (G) and the base (B). The
//! plan is a value: nothing is written while it is made, `--dry-run` stops after it, and the
//! later stages only carry it out.
//!
//! Here: the plan's types and the run over the library (which keys need a merge, their logs
//! and bases). Beside it: [`key`] (one key's merge, by the shape merges of [`crate::merge`]),
//! [`plays`] (play counts and last played), [`tie`] (bpm and beat grid), [`values`] (the
//! branch's values as compared), [`push`] (what is written to the branch), [`members`]
//! (playlist memberships as the playlists' orders say).

pub mod key;
mod members;
pub mod plays;
pub mod push;
mod tie;
pub mod values;

pub use key::{KeyPast, plan_key};
pub use plays::Local;
pub use push::Push;
pub use values::{base_values, field_value};

use super::branch::{Log, Logs};
use super::options::Options;
use super::order::Memberships;
use super::snapshot::{Item, Keyed};
use crate::annex::logmet::{self, Change, MetLog, Order, Timestamp};
use crate::annex::{self, key as annex_key};
use crate::fields::codec::Invalid;
use crate::fields::{self, Digest, Field, FieldSet, Values};
use crate::merge::Prefer;
use crate::state::Synced;
use crate::worktree::Key;
use rustc_hash::FxHashMap;
use std::collections::{BTreeSet, HashMap};

/// A field both sides changed differently since the base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldConflict {
    pub field: Field,
    pub mixxx: BTreeSet<String>,
    pub branch: BTreeSet<String>,
    pub winner: Prefer,
    /// What both sides hold afterwards.
    pub result: BTreeSet<String>,
}

/// A field left alone because the branch's value cannot be held by Mixxx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub field: Field,
    pub invalid: Invalid,
    /// What Mixxx keeps meanwhile, and the base with it (recorded with the run, so that a
    /// later Mixxx edit is seen as one although the base's log holds the invalid value).
    pub kept: BTreeSet<String>,
}

/// The plan for one key, as the three-way merge decides it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeyPlan {
    /// Changes for the branch.
    pub push: Vec<Change>,
    /// Changes that resolve fields left with several values by a merge, for a line dated
    /// `resolved_at`.
    pub resolution: Vec<Change>,
    pub resolved_at: Option<Order>,
    /// Fields to write to Mixxx, with their new values.
    pub pull: Vec<(Field, BTreeSet<String>)>,
    pub conflicts: Vec<FieldConflict>,
    pub held: Vec<Held>,
    /// Elements of a set field on the branch that Mixxx cannot hold (a cue at an absurd
    /// position): never written to Mixxx nor removed from the branch; the field's other
    /// elements sync.
    pub rejected: Vec<(Field, Invalid)>,
    /// The values that become the base once the plan is carried out.
    pub settled: Values,
    /// The plays this run adds to this clone's part of the key's play count.
    pub plays: u64,
    /// When Mixxx's play count is written: the count the base acknowledges once it is, should
    /// the run stop before its commit ([`Past::acknowledged`]).
    pub acknowledged: Option<u64>,
}

impl KeyPlan {
    fn is_empty(&self) -> bool {
        self.push.is_empty()
            && self.resolution.is_empty()
            && self.pull.is_empty()
            && self.conflicts.is_empty()
            && self.held.is_empty()
            && self.rejected.is_empty()
    }
}

/// A key with something to do.
#[derive(Debug)]
pub struct TrackPlan<'k> {
    pub key: &'k Key,
    pub item: &'k Item,
    /// The key's metadata log on the branch.
    pub log_path: String,
    pub push: Option<Push>,
    /// Without a push: the log as read (with lines from unmerged remote branches or the
    /// journal), written to the branch so that the run's commit holds what it settled on.
    pub combined: Option<Push>,
    pub pull: Vec<(Field, BTreeSet<String>)>,
    pub conflicts: Vec<FieldConflict>,
    pub held: Vec<Held>,
    /// Elements of set fields on the branch that Mixxx cannot hold ([`KeyPlan::rejected`]).
    pub rejected: Vec<(Field, Invalid)>,
    /// The plays this run adds to this clone's part ([`KeyPlan::plays`]).
    pub plays: u64,
    /// The count the base acknowledges once Mixxx's is written ([`KeyPlan::acknowledged`]).
    pub acknowledged: Option<u64>,
}

impl<'k> TrackPlan<'k> {
    fn new(k: &'k Key, item: &'k Item, push: Option<Push>, combined: Option<Push>) -> Self {
        TrackPlan {
            key: k,
            item,
            log_path: annex_key::metadata_log_path(k),
            push,
            combined,
            pull: Vec::new(),
            conflicts: Vec::new(),
            held: Vec::new(),
            rejected: Vec::new(),
            plays: 0,
            acknowledged: None,
        }
    }

    fn with(mut self, kp: KeyPlan) -> Self {
        self.pull = kp.pull;
        self.conflicts = kp.conflicts;
        self.held = kp.held;
        self.rejected = kp.rejected;
        self.plays = kp.plays;
        self.acknowledged = kp.acknowledged;
        self
    }
}

/// Every decision of a run.
#[derive(Debug, Default)]
pub struct Plan<'k> {
    /// The keys with something to do, in library order.
    pub tracks: Vec<TrackPlan<'k>>,
    /// Tracks (rows) with nothing to do.
    pub unchanged: usize,
    /// The digest of each planned key's values once the plan is carried out.
    pub settled: FxHashMap<&'k Key, Digest>,
    /// How many of this Mixxx's keys have a base.
    pub in_base: usize,
    /// What the run does with the playlists' orders and names ([`super::order`]).
    pub orders: super::order::Orders,
    /// The history sessions it writes ([`super::sessions`]).
    pub sessions: super::sessions::SessionPlan,
}

impl Plan<'_> {
    pub fn pulls(&self) -> bool {
        self.tracks.iter().any(|t| !t.pull.is_empty())
            || self.orders.pulls()
            || self.sessions.pulls()
    }

    /// The `playlist` memberships the plan pulls, by key.
    pub fn playlist_pulls(&self) -> FxHashMap<&str, &BTreeSet<String>> {
        (self.tracks.iter())
            .flat_map(|t| t.pull.iter().map(move |(f, v)| (&**t.key, f, v)))
            .filter_map(|(key, f, v)| (*f == Field::Playlist).then_some((key, v)))
            .collect()
    }

    /// Whether carrying out the plan writes logs to the branch (pushed or combined ones).
    pub fn writes_logs(&self) -> bool {
        self.tracks
            .iter()
            .any(|t| t.push.is_some() || t.combined.is_some())
            || self.orders.pushes()
            || !self.sessions.push.is_empty()
    }
}

/// The digest of each key's Mixxx values, in the keys' order, computed on all cores (comparing them
/// with the base's is most of a no-change run's planning).
fn mixxx_digests(keyed: &Keyed) -> Vec<Digest> {
    let items: Vec<&Item> = keyed.items.values().map(|i| &**i).collect();
    crate::on_cores(&items, 4096, |part| {
        part.iter().map(|i| i.m.digest()).collect::<Vec<_>>()
    })
    .concat()
}

/// What the planner knows of a key before its merge.
struct KeyState<'k, 'h> {
    key: &'k Key,
    item: &'k Item,
    digest: Digest,
    /// The digest of its values at the base; `None` without a base.
    base: Option<Digest>,
    /// Whether its branch log is the base's (and no value of it is held).
    branch_same: bool,
    /// Fields held at the base, with what Mixxx kept.
    held: Option<&'h Values>,
    /// The play count the base acknowledges instead of its own: one a run wrote to Mixxx
    /// without committing ([`Past::acknowledged`]).
    acknowledged: Option<u64>,
}

/// What a run knows of this clone's past beyond the branch.
pub struct Past<'a> {
    /// The base: each synced key's digest and row.
    pub digests: &'a FxHashMap<String, Synced>,
    /// Fields held at the base, with what Mixxx kept.
    pub held: &'a HashMap<String, Values>,
    /// Play counts a run wrote to this Mixxx but did not commit on the branch (it was
    /// stopped between the two): for each key, the count its base acknowledges instead
    /// ([`crate::sync::ledger`]).
    pub acknowledged: &'a FxHashMap<String, u64>,
    /// This clone's part of play counts on the branch.
    pub part: &'a str,
}

/// Plans a run: every key of `keyed` against the branch (`logs`) and this clone's `past`,
/// telling `progress` how many of how many keys are through. Playlist memberships follow the
/// playlists' orders (`memberships`).
pub fn plan<'k>(
    keyed: &'k Keyed,
    past: &Past<'_>,
    logs: &mut impl Logs,
    memberships: &Memberships,
    opts: &Options,
    now: Timestamp,
    mut progress: impl FnMut(usize, usize),
) -> annex::Result<Plan<'k>> {
    let mut plan = Plan::default();
    let digests = mixxx_digests(keyed);
    let total = keyed.items.len();
    for (i, ((k, item), &digest)) in keyed.items.iter().zip(&digests).enumerate() {
        if i % 1024 == 0 {
            progress(i, total);
        }
        let base_digest = past.digests.get(&**k).map(|s| s.digest);
        plan.in_base += usize::from(base_digest.is_some());
        // A key with a held value is retried every run.
        let held_here = past.held.get(&**k);
        let branch_same = !logs.changed_since_base(k) && held_here.is_none();
        // Keys whose memberships the playlists' orders settle are planned, changed or not.
        let settled = memberships.any(item.m.set(Field::Playlist).iter()) || memberships.decides(k);
        if !opts.all && branch_same && base_digest == Some(digest) && item.rows_agree() && !settled
        {
            plan.unchanged += item.rows();
            continue;
        }
        let state = KeyState {
            key: k,
            item,
            digest,
            base: base_digest,
            branch_same,
            held: held_here,
            acknowledged: past.acknowledged.get(&**k).copied(),
        };
        let local = Local {
            part: past.part,
            own_base: 0,
            missing: keyed.missing,
        };
        if let Some(track) = plan_one(&state, local, logs, memberships, opts, now, &mut plan)? {
            plan.tracks.push(track);
        }
    }
    progress(total, total);
    Ok(plan)
}

/// Adds pulls so that every row of a key with several rows ends with the same values: the
/// pulled ones, else those of the row that stood for Mixxx (`chosen`).
fn align_rows(item: &Item, chosen: &Values, pull: &mut Vec<(Field, BTreeSet<String>)>) {
    let empty = BTreeSet::new();
    for row in item.all_rows() {
        let have = row.to_values();
        for field in Field::ALL {
            let want = chosen.get(&field).unwrap_or(&empty);
            if pull.iter().all(|(f, _)| *f != field) && have.get(&field).unwrap_or(&empty) != want {
                pull.push((field, want.clone()));
            }
        }
    }
    pull.sort_by_key(|(f, _)| *f);
}

/// A key's log now and its values at the base (`None` without a base), with this clone's part
/// of its play count there (in `local`). `kept` is Mixxx's values with, for a field held at
/// the base, what Mixxx kept then.
fn read_logs(
    state: &KeyState<'_, '_>,
    local: &mut Local<'_>,
    logs: &mut impl Logs,
    memberships: &Memberships,
    kept: impl FnOnce() -> Values,
) -> annex::Result<(Log, Option<Values>)> {
    let k: &str = state.key;
    if state.base.is_none() {
        return Ok((logs.now(k)?, None));
    }
    let at_base = logs.at_base(k)?;
    let current = memberships.current_of(&MetLog::parse(&at_base));
    let mut b = base_values(&current, &kept(), local.missing);
    local.own_base = values::branch_counter(&current).part(local.part);
    if let Some(acknowledged) = state.acknowledged {
        b.insert(Field::Plays, values::count_value(acknowledged));
        b.retain(|_, v| !v.is_empty());
    }
    let now = match state.branch_same {
        true => Log {
            text: at_base,
            ..Log::default()
        },
        false => logs.now(k)?,
    };
    Ok((now, Some(b)))
}

/// Plans one key whose values or log may have changed; `None` when it has nothing to do.
fn plan_one<'k>(
    state: &KeyState<'k, '_>,
    mut local: Local<'_>,
    logs: &mut impl Logs,
    memberships: &Memberships,
    opts: &Options,
    now: Timestamp,
    plan: &mut Plan<'k>,
) -> annex::Result<Option<TrackPlan<'k>>> {
    let (k, item) = (state.key, state.item);
    // Mixxx's values as a map, built only for the keys that need the three-way merge.
    let row = item.edited_row(state.base);
    let m = std::cell::OnceCell::new();
    let values = || m.get_or_init(|| row.to_values());
    let kept = || {
        let mut kept = values().clone();
        kept.extend(
            state
                .held
                .into_iter()
                .flatten()
                .map(|(f, v)| (*f, v.clone())),
        );
        kept
    };
    let (log, b) = read_logs(state, &mut local, logs, memberships, kept)?;
    if log.skipped {
        // Beyond the limits: left alone (reported where it was read).
        return Ok(None);
    }
    // No base and nothing on the branch (a first sync): the plan is to push Mixxx's values,
    // written straight from the row.
    if b.is_none() && log.text.is_empty() && !opts.pull_only && item.rows_agree() {
        plan.settled.insert(k, state.digest);
        return Ok(first_push(state, local.part, now, log.in_journal, plan));
    }
    let met = MetLog::parse(&log.text);
    let history;
    let past = match &b {
        Some(b) => KeyPast::Base(b),
        None => {
            history = met.mentioned();
            KeyPast::History(&history)
        }
    };
    let mut kp = members::plan_key_playlists(k, values(), &met, past, &local, opts, memberships);
    if !item.others.is_empty() {
        align_rows(item, values(), &mut kp.pull);
    }
    plan.settled.insert(k, fields::digest(&kp.settled));
    let push = push_of(&log, &met, &kp, now);
    let combined = (log.combined && push.is_none()).then(|| {
        Push::new(
            &log.text,
            ("", ""),
            FieldSet::default(),
            false,
            log.in_journal,
        )
    });
    if kp.is_empty() {
        plan.unchanged += item.rows();
        if combined.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(TrackPlan::new(k, item, push, combined).with(kp)))
}

/// The push of a key without base or branch log: Mixxx's values, as one line; its play count
/// is this clone's part (`part`) and the total.
fn first_push<'k>(
    state: &KeyState<'k, '_>,
    part: &str,
    now: Timestamp,
    in_journal: bool,
    plan: &mut Plan<'k>,
) -> Option<TrackPlan<'k>> {
    let item = state.item;
    if item.m.is_empty() {
        plan.unchanged += item.rows();
        return None;
    }
    let plays = item.m.single(Field::Plays);
    let own = plays.map(|count| (part, true, count));
    let values = item.m.values().map(|(f, v)| (f.name(), true, v));
    let line = logmet::format_line_of(now, values.chain(own));
    let fields = item.m.values().map(|(f, _)| f).collect();
    // Every value is set: the line unsets none.
    let push = Push::new("", ("", &line), fields, false, in_journal);
    let mut track = TrackPlan::new(state.key, item, Some(push), None);
    track.plays = plays.and_then(|p| p.parse().ok()).unwrap_or(0);
    Some(track)
}

/// The log a key's plan writes, if it writes one: the log read, the resolution line, then the
/// line of edits dated after every line of the log.
fn push_of(log: &Log, met: &MetLog, kp: &KeyPlan, now: Timestamp) -> Option<Push> {
    if kp.push.is_empty() && kp.resolution.is_empty() {
        return None;
    }
    let resolution = match &kp.resolved_at {
        Some(at) if !kp.resolution.is_empty() => logmet::format_line(at, &kp.resolution),
        _ => String::new(),
    };
    let edits = match kp.push.is_empty() {
        true => String::new(),
        false => logmet::format_line(Order::after(now, met.max_order()), &kp.push),
    };
    let fields = kp
        .push
        .iter()
        .chain(&kp.resolution)
        .filter_map(|c| Field::from_name(&c.field))
        .collect();
    let unsets = kp.push.iter().any(|c| !c.set);
    Some(Push::new(
        &log.text,
        (&resolution, &edits),
        fields,
        unsets,
        log.in_journal,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::annex::logmet::Current;
    use crate::fields::grid;
    use Field::Rating;

    pub(crate) fn vals(pairs: &[(Field, &[&str])]) -> Values {
        pairs
            .iter()
            .map(|(f, vs)| (*f, vs.iter().map(|v| v.to_string()).collect()))
            .collect()
    }

    pub(crate) fn cur(pairs: &[(Field, &[(&str, i64)])]) -> Current {
        pairs
            .iter()
            .map(|(f, vs)| {
                (
                    f.name().to_owned(),
                    vs.iter()
                        .map(|(v, t)| {
                            (
                                v.to_string(),
                                Order::Exact(Timestamp {
                                    secs: i128::from(*t),
                                    picos: 0,
                                }),
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    }

    pub(crate) fn no_history() -> BTreeSet<(String, String)> {
        BTreeSet::new()
    }

    pub(crate) fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    pub(crate) fn pushed(plan: &KeyPlan) -> Vec<String> {
        described(&plan.push)
    }

    pub(crate) fn described(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}{}{}", c.field, if c.set { '+' } else { '-' }, c.value))
            .collect()
    }

    pub(crate) fn grid_value(bpm: f64, first: i32) -> String {
        grid::value("BeatGrid-2.0", &grid::beat_grid(bpm, first))
    }

    /// The plan's result applied to both sides: Mixxx's values and the branch's log with the
    /// pushed changes at `at`.
    pub(crate) fn applied(m: &Values, g: &Current, plan: &KeyPlan, at: i64) -> (Values, Current) {
        let mut m = m.clone();
        for (field, values) in &plan.pull {
            m.insert(*field, values.clone());
        }
        m.retain(|_, v| !v.is_empty());
        let mut g = g.clone();
        for c in &plan.push {
            let values = g.entry(c.field.clone()).or_default();
            match c.set {
                true => values.insert(
                    c.value.clone(),
                    Order::Exact(Timestamp {
                        secs: i128::from(at),
                        picos: 0,
                    }),
                ),
                false => values.remove(&c.value),
            };
        }
        (m, g)
    }

    /// After `plan`, a run finds both sides settled.
    pub(crate) fn settles(m: &Values, g: &Current, plan: &KeyPlan) {
        let (m, g) = applied(m, g, plan, 100);
        let next = plan_key(
            &m,
            &g,
            &MetLog::default(),
            KeyPast::Base(&plan.settled),
            &Local::default(),
            &Options::default(),
        );
        assert!(next.is_empty(), "{next:?}");
        assert_eq!(m, plan.settled);
    }

    /// A branch in memory.
    #[derive(Default)]
    struct MemoryLogs {
        now: HashMap<String, String>,
        base: HashMap<String, String>,
        changed: Option<Vec<String>>,
    }

    impl Logs for MemoryLogs {
        fn changed_since_base(&self, key: &str) -> bool {
            self.changed
                .as_ref()
                .is_none_or(|c| c.iter().any(|k| k == key))
        }
        fn now(&mut self, key: &str) -> annex::Result<Log> {
            Ok(Log {
                text: self.now.get(key).cloned().unwrap_or_default(),
                ..Log::default()
            })
        }
        fn at_base(&mut self, key: &str) -> annex::Result<String> {
            Ok(self.base.get(key).cloned().unwrap_or_default())
        }
    }

    fn keyed(tracks: &[(&str, fields::Row)]) -> Keyed {
        let mut keyed = Keyed::default();
        for (i, (k, row)) in tracks.iter().enumerate() {
            let item = Item::new(format!("{k}.flac"), i as i64 + 1, row.clone());
            keyed.items.insert((*k).into(), Box::new(item));
        }
        keyed
    }

    fn rated(rating: &str) -> fields::Row {
        let mut singles = vec![None; Rating as usize + 1];
        singles[Rating as usize] = Some(rating);
        fields::Row::new(singles)
    }

    #[test]
    fn a_run_plans_only_what_changed() {
        let keyed = keyed(&[("K1", rated("3")), ("K2", rated("4")), ("K3", rated("5"))]);
        let base: FxHashMap<String, Synced> = [("K1", "3"), ("K2", "1"), ("K3", "5")]
            .into_iter()
            .map(|(k, r)| {
                let synced = Synced {
                    digest: rated(r).digest(),
                    row: None,
                };
                (k.to_owned(), synced)
            })
            .collect();
        let line = |r: &str| format!("1700000000s rating +{r}\n");
        let mut logs = MemoryLogs {
            now: HashMap::from([("K3".into(), line("2")), ("K2".into(), line("1"))]),
            base: HashMap::from([("K2".into(), line("1")), ("K3".into(), line("5"))]),
            changed: Some(vec!["K3".into()]),
        };
        let now = Timestamp {
            secs: 1_800_000_000,
            picos: 0,
        };
        let held = HashMap::new();
        let acknowledged = FxHashMap::default();
        let past = Past {
            digests: &base,
            held: &held,
            acknowledged: &acknowledged,
            part: "plays.aaaa1111",
        };
        let plan = plan(
            &keyed,
            &past,
            &mut logs,
            &Memberships::default(),
            &Options::default(),
            now,
            |_, _| {},
        )
        .expect("in memory");
        assert_eq!(plan.unchanged, 1, "K1 is settled by its digest alone");
        assert_eq!(plan.in_base, 3);
        let keys: Vec<&str> = plan.tracks.iter().map(|t| &**t.key).collect();
        assert_eq!(keys, ["K2", "K3"]);
        let k2 = &plan.tracks[0];
        let push = k2.push.as_ref().expect("K2 changed in Mixxx");
        assert_eq!(
            push.content,
            format!("{}1800000000s rating -1 +4\n", line("1"))
        );
        assert_eq!(push.changes().len(), 2);
        assert!(k2.pull.is_empty());
        let k3 = &plan.tracks[1];
        assert!(k3.push.is_none());
        assert_eq!(k3.pull, vec![(Rating, set(&["2"]))]);
        assert_eq!(plan.settled[&Key::from("K3")], rated("2").digest());
    }

    #[test]
    fn first_sync_pushes_rows_straight() {
        let mut played = vec![None; Field::Plays as usize + 1];
        played[Rating as usize] = Some("3");
        played[Field::Plays as usize] = Some("12");
        let keyed = keyed(&[
            ("K1", fields::Row::new(played)),
            ("K2", fields::Row::default()),
        ]);
        let mut logs = MemoryLogs::default();
        let now = Timestamp {
            secs: 1_800_000_000,
            picos: 0,
        };
        let (digests, held, acknowledged) = Default::default();
        let past = Past {
            digests: &digests,
            held: &held,
            acknowledged: &acknowledged,
            part: "plays.aaaa1111",
        };
        let plan = plan(
            &keyed,
            &past,
            &mut logs,
            &Memberships::default(),
            &Options::default(),
            now,
            |_, _| {},
        )
        .expect("in memory");
        assert_eq!(plan.tracks.len(), 1);
        let push = plan.tracks[0].push.as_ref().expect("pushed");
        assert_eq!(
            push.content, "1800000000s rating +3 plays +12 plays.aaaa1111 +12\n",
            "Mixxx's count so far is this clone's part"
        );
        assert_eq!(
            push.fields.iter().collect::<Vec<_>>(),
            [Rating, Field::Plays]
        );
        assert_eq!(plan.tracks[0].plays, 12);
        assert!(!push.unsets);
        assert_eq!(plan.unchanged, 1);
    }
}

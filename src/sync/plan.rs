//! The plan: for every key of this Mixxx and every field, what the sync does, decided by the
//! design's three-way rules between Mixxx now (M), the branch now (G) and the base (B). The
//! plan is a value: nothing is written while it is made, `--dry-run` stops after it, and the
//! later stages only carry it out.

use super::branch::{Log, Logs};
use super::options::{Options, Prefer};
use super::order::Memberships;
use super::snapshot::{Item, Keyed};
use crate::annex::logmet::{self, Change, Current, MetLog, Order, Timestamp};
use crate::annex::{self, key};
use crate::fields::codec::Invalid;
use crate::fields::grid::Grid;
use crate::fields::{self, Codec, Digest, Field, FieldSet, Values, cue};
use crate::state::Synced;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// What a key's plan writes to the branch.
#[derive(Debug)]
pub struct Push {
    /// The log file's new content: the old lines, then a line resolving fields a merge left
    /// with several values (if any), then the line of edits (if any).
    pub content: String,
    /// Where the new lines start in `content`.
    line_start: usize,
    /// Where the line of edits starts in `content`.
    edits_start: usize,
    /// The fields it changes.
    pub fields: FieldSet,
    /// Whether its edits unset any value (only such pushes can clear values: see the clear
    /// guard; a resolution keeps one value of each field it resolves).
    pub unsets: bool,
    /// Whether git-annex's journal has an entry for the file.
    pub in_journal: bool,
}

impl Push {
    /// `old` followed by the `resolution` and `edits` lines (either may be empty); an old
    /// last line without its line end gets one, so that it keeps its values.
    fn new(old: &str, resolution: &str, edits: &str, fields: FieldSet, in_journal: bool) -> Push {
        let mut content = String::with_capacity(old.len() + resolution.len() + edits.len() + 3);
        content.push_str(old);
        if !old.is_empty() && !old.ends_with(['\n', '\r']) {
            content.push('\n');
        }
        let add = |content: &mut String, line: &str| {
            if !line.is_empty() {
                content.push_str(line);
                content.push('\n');
            }
        };
        add(&mut content, resolution);
        let edits_start = content.len();
        add(&mut content, edits);
        let mut push = Push {
            content,
            line_start: old.len(),
            edits_start,
            fields,
            unsets: false,
            in_journal,
        };
        push.unsets = push.edits().iter().any(|c| !c.set);
        push
    }

    /// The changes of the new lines.
    pub fn changes(&self) -> Vec<Change> {
        parse_changes(&self.content[self.line_start..])
    }

    /// The changes of the line of edits (not those of a resolution).
    pub fn edits(&self) -> Vec<Change> {
        parse_changes(&self.content[self.edits_start..])
    }
}

/// The changes of log lines.
fn parse_changes(lines: &str) -> Vec<Change> {
    lines
        .lines()
        .filter_map(logmet::parse_line)
        .flat_map(|l| l.changes)
        .collect()
}

/// A key with something to do.
#[derive(Debug)]
pub struct TrackPlan<'k> {
    pub key: &'k String,
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
}

/// Every decision of a run.
#[derive(Debug, Default)]
pub struct Plan<'k> {
    /// The keys with something to do, in library order.
    pub tracks: Vec<TrackPlan<'k>>,
    /// Tracks (rows) with nothing to do.
    pub unchanged: usize,
    /// The digest of each planned key's values once the plan is carried out.
    pub settled: HashMap<&'k String, Digest>,
    /// How many of this Mixxx's keys have a base.
    pub in_base: usize,
    /// What the run does with the playlists' orders and names ([`super::order`]).
    pub orders: super::order::Orders,
}

impl Plan<'_> {
    pub fn pulls(&self) -> bool {
        self.tracks.iter().any(|t| !t.pull.is_empty()) || self.orders.pulls()
    }

    /// Whether carrying out the plan writes logs to the branch (pushed or combined ones).
    pub fn writes_logs(&self) -> bool {
        self.tracks
            .iter()
            .any(|t| t.push.is_some() || t.combined.is_some())
            || self.orders.pushes()
    }
}

/// The single value a field resolves to when a merge left several: the newest line's.
fn newest(values: &BTreeMap<String, Order>) -> Option<&String> {
    values
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
        .map(|(v, _)| v)
}

/// A field's values on the branch that Mixxx can tell apart from none: an empty text is
/// "unset" (Mixxx stores no value as an empty column, and names no crate or playlist ""), so
/// a branch value "" is no value to sync. It stays on the branch until a value of a
/// single-valued field replaces it.
///
/// Elements of a set that Mixxx cannot hold (cues: [`rejected`]) are no values to sync either.
fn branch_values<'a>(field: Field, g: &'a Current) -> Cow<'a, BTreeMap<String, Order>> {
    let Some(raw) = g.get(field.name()) else {
        return Cow::Owned(BTreeMap::new());
    };
    let elements = field.is_set() && field.codec() != Codec::Text;
    let kept = |v: &String| !v.is_empty() && (!elements || field.codec().canonical(v).is_ok());
    if raw.keys().all(kept) {
        return Cow::Borrowed(raw);
    }
    let mut values = raw.clone();
    values.retain(|v, _| kept(v));
    Cow::Owned(values)
}

/// The elements of a set field's branch values that Mixxx cannot hold.
fn rejected(field: Field, raw: &BTreeMap<String, Order>) -> Vec<Invalid> {
    raw.keys()
        .filter(|v| !v.is_empty())
        .filter_map(|v| field.codec().canonical(v).err())
        .collect()
}

/// Cues edited on two clones: two values of one cue ([`cue::Cue::identity`]) converge on one,
/// as a single-valued field does. Where the branch holds one of them, the branch's newest wins
/// (Mixxx's, with `--prefer mixxx`); values only Mixxx has, of cues the branch does not hold,
/// stay as they are.
fn converge_cues(
    decision: Decision,
    mv: &BTreeSet<String>,
    raw: &BTreeMap<String, Order>,
    prefer: Prefer,
) -> Decision {
    let Decision::Value(r) = decision else {
        return decision;
    };
    let mut groups: BTreeMap<(i64, i64), Vec<&String>> = BTreeMap::new();
    for v in &r {
        if let Some(c) = cue::Cue::parse(v) {
            groups.entry(c.identity()).or_default().push(v);
        }
    }
    let mut out = r.clone();
    for values in groups.values().filter(|vs| vs.len() > 1) {
        let on_branch = values.iter().filter(|v| raw.contains_key(v.as_str()));
        let winner = match prefer {
            Prefer::Mixxx => values.iter().find(|v| mv.contains(v.as_str())).copied(),
            Prefer::Git => on_branch
                .max_by(|a, b| raw[a.as_str()].cmp(&raw[b.as_str()]).then(a.cmp(b)))
                .copied(),
        };
        if let Some(winner) = winner {
            out.retain(|v| !values.contains(&v) || v == winner);
        }
    }
    match out == r {
        true => Decision::Value(r),
        false => Decision::Conflict(out, prefer),
    }
}

/// A field's value on the branch, as a sync compares it with Mixxx's (canonical forms; a
/// value Mixxx cannot hold as written).
pub fn field_value(field: Field, g: &Current) -> BTreeSet<String> {
    let raw = branch_values(field, g);
    raw.keys()
        .map(|v| {
            field
                .codec()
                .canonical(v)
                .map_or_else(|_| v.clone(), |c| c.into_owned())
        })
        .collect()
}

/// The canonical forms of a field's values on the branch; the first invalid one, if any.
fn canonical(field: Field, raw: &BTreeMap<String, Order>) -> (BTreeSet<String>, Option<Invalid>) {
    let mut out = BTreeSet::new();
    let mut invalid = None;
    for v in raw.keys() {
        match field.codec().canonical(v) {
            Ok(c) => {
                out.insert(c.into_owned());
            }
            Err(e) => invalid = invalid.or(Some(e)),
        }
    }
    (out, invalid)
}

/// The base's values from its log: canonical, and for a field whose value Mixxx could not
/// hold, Mixxx's (that is what the run that met it recorded as settled).
pub fn base_values(current: &Current, m: &Values) -> Values {
    let mut out = Values::new();
    for field in Field::ALL {
        let raw = branch_values(field, current);
        let values = match canonical(field, &raw) {
            (_, Some(_)) => m.get(&field).cloned().unwrap_or_default(),
            (values, None) => values,
        };
        if !values.is_empty() {
            out.insert(field, values);
        }
    }
    out
}

/// One field's decision.
enum Decision {
    /// Both sides hold this value afterwards.
    Value(BTreeSet<String>),
    /// Both changed: a conflict, won by one side with this value.
    Conflict(BTreeSet<String>, Prefer),
    /// The branch's value cannot be held by Mixxx: the field is left alone.
    Hold(Invalid),
    /// Several values after a merge resolve to this one, the newest, set at this time as
    /// this text: a conflict the branch wins, whose resolution keeps the winner's text as it
    /// is and is dated just after it (so that an edit made meanwhile on another clone is
    /// newer, and wins).
    Resolve(BTreeSet<String>, Order, String),
}

/// What the merge knows of a key's past.
#[derive(Clone, Copy, Debug)]
pub enum Past<'a> {
    /// The values at this clone's last sync of the key ([`base_values`]).
    Base(&'a Values),
    /// No base (a first sync, a new row or database): the (field, value) pairs the branch's
    /// log ever set or unset ([`MetLog::mentioned`]). Where the branch has history, it is
    /// the truth.
    History(&'a BTreeSet<(String, String)>),
}

impl<'a> Past<'a> {
    fn base(self, field: Field) -> Option<&'a BTreeSet<String>> {
        static EMPTY: BTreeSet<String> = BTreeSet::new();
        match self {
            Past::Base(b) => Some(b.get(&field).unwrap_or(&EMPTY)),
            Past::History(_) => None,
        }
    }

    /// Whether the branch ever had `value` for `field` (any value, with `None`).
    fn mentions(self, field: Field, value: Option<&str>) -> bool {
        let Past::History(history) = self else {
            return false;
        };
        history
            .iter()
            .any(|(f, v)| f == field.name() && value.is_none_or(|value| v == value))
    }
}

/// The three-way merge of a set field: per element, a side that changed it decides. Without
/// a base, Mixxx's elements that the branch removed stay removed (unless Mixxx is preferred).
fn merge_set(
    field: Field,
    mv: &BTreeSet<String>,
    gv: &BTreeSet<String>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    let Some(bv) = past.base(field) else {
        let kept = mv
            .iter()
            .filter(|e| prefer == Prefer::Mixxx || !past.mentions(field, Some(e)));
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

/// The three-way merge of a single-valued field whose branch value is `gr`. Without a base, a
/// value the branch never had is pushed, and where the branch has history (set, or set and
/// cleared) a different Mixxx value is a conflict.
fn merge_single(
    field: Field,
    mv: &BTreeSet<String>,
    gr: BTreeSet<String>,
    past: Past<'_>,
    prefer: Prefer,
) -> Decision {
    if *mv == gr {
        return Decision::Value(gr);
    }
    let take_mixxx = match past.base(field) {
        Some(bv) if gr == *bv => Some(true),
        Some(bv) if mv == bv => Some(false),
        Some(_) => None,
        None if gr.is_empty() && !past.mentions(field, None) => Some(true),
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

/// The decision for a single-valued field from its branch log.
fn decide_single(
    field: Field,
    mv: &BTreeSet<String>,
    raw: &BTreeMap<String, Order>,
    past: Past<'_>,
    opts: &Options,
) -> Decision {
    let bv = past.base(field);
    let outcomes: BTreeSet<Result<_, _>> = raw.keys().map(|v| field.codec().canonical(v)).collect();
    let several = outcomes.len() > 1;
    let resolved = newest(raw).map(|v| field.codec().canonical(v).map(|c| c.into_owned()));
    let resolved = match resolved {
        None => BTreeSet::new(),
        Some(Ok(v)) => BTreeSet::from([v]),
        // Mixxx changed it since, or wins by request: its value replaces the invalid one.
        Some(Err(_)) if opts.prefer == Prefer::Mixxx || bv.is_some_and(|b| b != mv) => {
            return Decision::Value(mv.clone());
        }
        Some(Err(invalid)) => return Decision::Hold(invalid),
    };
    if several {
        // Several values after a merge: clones set it concurrently, a conflict by definition.
        // They resolve to the newest line's value on every clone alike, which then merges with
        // Mixxx as the branch's value: a Mixxx edit since the base still counts as one.
        let winner = newest(raw).and_then(|v| Some((v.clone(), raw.get(v)?.clone())));
        if opts.prefer == Prefer::Mixxx && !mv.is_empty() {
            return Decision::Conflict(mv.clone(), Prefer::Mixxx);
        }
        return match (
            merge_single(field, mv, resolved.clone(), past, opts.prefer),
            winner,
        ) {
            (Decision::Value(r) | Decision::Conflict(r, _), Some((text, at))) if r == resolved => {
                Decision::Resolve(resolved, at, text)
            }
            (Decision::Value(r), _) => Decision::Conflict(r, Prefer::Mixxx),
            (decision, _) => decision,
        };
    }
    merge_single(field, mv, resolved, past, opts.prefer)
}

/// One field's outcome in a key's merge, before it becomes pulls and pushes.
struct Outcome {
    field: Field,
    /// What both sides hold afterwards.
    result: BTreeSet<String>,
    /// The branch's canonical values.
    branch: BTreeSet<String>,
    /// Whether the branch holds a value Mixxx cannot (replaced by `result`).
    invalid: bool,
    /// Whether a resolution line writes `result` (several values after a merge).
    resolved: bool,
}

/// The three-way merge of one key, by the design's sync rules. `g` is the branch's log as
/// git-annex reads it.
pub fn plan_key(m: &Values, g: &Current, past: Past<'_>, opts: &Options) -> KeyPlan {
    let (empty_set, empty_log) = (BTreeSet::new(), BTreeMap::new());
    let mut plan = KeyPlan::default();
    let mut result = Values::new();
    let mut branch = Values::new();
    let mut outcomes = Vec::with_capacity(Field::ALL.len());
    let mut resolved_fields = Vec::new();
    for field in Field::ALL {
        let mv = m.get(&field).unwrap_or(&empty_set);
        let raw = &*branch_values(field, g);
        let bv = past.base(field);
        let (gv, invalid) = canonical(field, raw);
        let decision = if opts.all {
            Decision::Value(mv.clone())
        } else if field == Field::Cue {
            let merged = merge_set(field, mv, &gv, past, opts.prefer);
            converge_cues(merged, mv, raw, opts.prefer)
        } else if field.is_set() {
            merge_set(field, mv, &gv, past, opts.prefer)
        } else {
            decide_single(field, mv, raw, past, opts)
        };
        if field.is_set() && field.codec() != Codec::Text {
            let all = g.get(field.name()).unwrap_or(&empty_log);
            plan.rejected
                .extend(rejected(field, all).into_iter().map(|i| (field, i)));
        }
        let mut resolved = false;
        let r = match decision {
            Decision::Value(r) => r,
            Decision::Conflict(r, winner) => {
                plan.conflicts.push(FieldConflict {
                    field,
                    mixxx: mv.clone(),
                    branch: gv.clone(),
                    winner,
                    result: r.clone(),
                });
                r
            }
            Decision::Resolve(r, at, text) => {
                plan.conflicts.push(FieldConflict {
                    field,
                    mixxx: mv.clone(),
                    branch: gv.clone(),
                    winner: Prefer::Git,
                    result: r.clone(),
                });
                plan.resolved_at = plan.resolved_at.max(Some(at.just_after()));
                resolved_fields.push((field, BTreeSet::from([text])));
                resolved = true;
                r
            }
            Decision::Hold(invalid) => {
                // Mixxx keeps its value, and so does the base: the next run tries again.
                let kept = bv.unwrap_or(mv).clone();
                plan.held.push(Held {
                    field,
                    invalid,
                    kept: kept.clone(),
                });
                if !kept.is_empty() {
                    result.insert(field, kept.clone());
                    branch.insert(field, kept);
                }
                continue;
            }
        };
        outcomes.push(Outcome {
            field,
            result: r,
            branch: gv,
            invalid: invalid.is_some(),
            resolved,
        });
    }
    if !opts.all {
        for field in tie_bpm_and_grid(m, g, &mut outcomes) {
            // The tie changed what both sides hold: the branch gets it too.
            if let Some(o) = outcomes.iter_mut().find(|o| o.field == field) {
                o.resolved = false;
                for c in plan.conflicts.iter_mut().filter(|c| c.field == field) {
                    c.result = o.result.clone();
                }
            }
        }
    }
    let mut changed_fields = Vec::new();
    for o in outcomes {
        let mv = m.get(&o.field).unwrap_or(&empty_set);
        if *mv != o.result {
            plan.pull.push((o.field, o.result.clone()));
        }
        if o.resolved {
            // Resolved: the resolution line writes it.
        } else if o.branch != o.result || o.invalid {
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
        plan.resolution = changes(g, &resolved_fields);
    }
    plan.settled = if plan.push.is_empty() && plan.resolution.is_empty() {
        branch
    } else {
        result
    };
    plan
}

/// [`plan_key`] of `key` with its `playlist` memberships as the playlists' orders say
/// ([`Memberships`]): those of Mixxx, the branch (`log`) and the base (read so) under the
/// names after the run, and the result as the order merges decided. The push unsets the
/// branch's old names, setting the names after the run again in the same line (an old name
/// unset alone would read as a removal from the playlist).
fn plan_key_playlists(
    key: &str,
    m: &Values,
    log: &MetLog,
    past: Past<'_>,
    opts: &Options,
    memberships: &Memberships,
) -> KeyPlan {
    let g = log.current();
    let history;
    let past = match past {
        Past::History(h) => {
            history = memberships.history(h);
            Past::History(&history)
        }
        base => base,
    };
    let renamed = memberships.current(log);
    let m = memberships.values(m);
    let mut kp = plan_key(&m, renamed.as_ref().unwrap_or(&g), past, opts);
    if renamed.is_none() && !memberships.decides(key) {
        return kp;
    }
    let field = Field::Playlist;
    let mut result = kp.settled.remove(&field).unwrap_or_default();
    memberships.settle(key, &mut result);
    kp.pull.retain(|(f, _)| *f != field);
    if m.get(&field).map_or(!result.is_empty(), |m| *m != result) {
        kp.pull.push((field, result.clone()));
        kp.pull.sort_by_key(|(f, _)| *f);
    }
    if !opts.pull_only {
        kp.push.retain(|c| c.field != field.name());
        let mut edits = changes(&g, &[(field, result.clone())]);
        if edits.iter().any(|c| !c.set && memberships.is_old(&c.value)) {
            edits.retain(|c| !c.set);
            edits.extend(result.iter().map(|value| Change {
                field: field.name().to_owned(),
                set: true,
                value: value.clone(),
            }));
        }
        kp.push.extend(edits);
    }
    if !result.is_empty() {
        kp.settled.insert(field, result);
    }
    kp
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
fn tie_bpm_and_grid(m: &Values, g: &Current, outcomes: &mut [Outcome]) -> Vec<Field> {
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

/// The changes that make the branch's raw values of each field the new values: unset every
/// raw value that is not a new one, set every new one that is not there in that spelling.
fn changes(g: &Current, fields: &[(Field, BTreeSet<String>)]) -> Vec<Change> {
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for (field, new) in fields {
        // A single value replaces every other, "" included; a set changes by its members.
        let raw = match field.is_set() {
            true => branch_values(*field, g),
            false => Cow::Borrowed(g.get(field.name()).unwrap_or(&empty)),
        };
        let name = field.name().to_owned();
        for old in raw.keys().filter(|v| !new.contains(*v)) {
            out.push(Change {
                field: name.clone(),
                set: false,
                value: old.clone(),
            });
        }
        for v in new.iter().filter(|v| !raw.contains_key(*v)) {
            out.push(Change {
                field: name.clone(),
                set: true,
                value: v.clone(),
            });
        }
    }
    out
}

/// The digest of each key's Mixxx values, in `order`, computed on all cores (comparing them
/// with the base's is most of a no-change run's planning).
fn mixxx_digests(keyed: &Keyed) -> Vec<Digest> {
    let digest = |k: &String| keyed.items.get(k).map(|i| i.m.digest()).unwrap_or_default();
    crate::on_cores(&keyed.order, 4096, |part| {
        part.iter().map(digest).collect::<Vec<_>>()
    })
    .concat()
}

/// Plans a run: every key of `keyed` against the branch (`logs`) and the base digests,
/// telling `progress` how many of how many keys are through. Playlist memberships follow the
/// playlists' orders (`memberships`).
#[allow(clippy::too_many_arguments)]
pub fn plan<'k>(
    keyed: &'k Keyed,
    base: &FxHashMap<String, Synced>,
    held: &HashMap<String, Values>,
    logs: &mut impl Logs,
    memberships: &Memberships,
    opts: &Options,
    now: Timestamp,
    mut progress: impl FnMut(usize, usize),
) -> annex::Result<Plan<'k>> {
    let mut plan = Plan::default();
    let digests = mixxx_digests(keyed);
    let total = keyed.order.len();
    for (i, (k, &digest)) in keyed.order.iter().zip(&digests).enumerate() {
        if i % 1024 == 0 {
            progress(i, total);
        }
        let item = &keyed.items[k];
        let base_digest = base.get(k).map(|s| s.digest);
        plan.in_base += usize::from(base_digest.is_some());
        // A key with a held value is retried every run.
        let held_here = held.get(k.as_str());
        let branch_same = !logs.changed_since_base(k) && held_here.is_none();
        // Keys whose memberships the playlists' orders settle are planned, changed or not.
        let settled = memberships.any(item.m.set(Field::Playlist).iter()) || memberships.decides(k);
        if !opts.all && branch_same && base_digest == Some(digest) && item.rows_agree() && !settled
        {
            plan.unchanged += item.track_ids.len();
            continue;
        }
        if let Some(track) = plan_one(
            k,
            item,
            digest,
            base_digest,
            branch_same,
            held_here,
            logs,
            memberships,
            opts,
            now,
            &mut plan,
        )? {
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
    for row in std::iter::once(&item.m).chain(&item.others) {
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

/// Plans one key whose values or log may have changed; `None` when it has nothing to do.
#[allow(clippy::too_many_arguments)]
fn plan_one<'k>(
    k: &'k String,
    item: &'k Item,
    digest: Digest,
    base_digest: Option<Digest>,
    branch_same: bool,
    held: Option<&Values>,
    logs: &mut impl Logs,
    memberships: &Memberships,
    opts: &Options,
    now: Timestamp,
    plan: &mut Plan<'k>,
) -> annex::Result<Option<TrackPlan<'k>>> {
    let log_path = key::metadata_log_path(k);
    let track = |push, combined, kp: KeyPlan| TrackPlan {
        key: k,
        item,
        log_path: log_path.clone(),
        push,
        combined,
        pull: kp.pull,
        conflicts: kp.conflicts,
        held: kp.held,
        rejected: kp.rejected,
    };
    // Mixxx's values as a map, built only for the keys that need the three-way merge.
    let row = item.edited_row(base_digest);
    let m = std::cell::OnceCell::new();
    let values = || m.get_or_init(|| row.to_values());
    // For a field held at the base, the value Mixxx kept then, not now.
    let kept = || {
        let mut kept = values().clone();
        kept.extend(held.into_iter().flatten().map(|(f, v)| (*f, v.clone())));
        kept
    };
    let (now_log, b) = match base_digest {
        Some(_) if branch_same => {
            let text = logs.at_base(k)?;
            let b = base_values(&memberships.current_of(&MetLog::parse(&text)), &kept());
            let log = Log {
                text,
                ..Log::default()
            };
            (log, Some(b))
        }
        Some(_) => {
            let base = logs.at_base(k)?;
            let b = base_values(&memberships.current_of(&MetLog::parse(&base)), &kept());
            (logs.now(k)?, Some(b))
        }
        None => (logs.now(k)?, None),
    };
    let Log {
        text,
        in_journal,
        combined,
    } = now_log;
    // No base and nothing on the branch (a first sync): the plan is to push Mixxx's values,
    // written straight from the row.
    if b.is_none() && text.is_empty() && !opts.pull_only && item.rows_agree() {
        plan.settled.insert(k, digest);
        if item.m.is_empty() {
            plan.unchanged += item.track_ids.len();
            return Ok(None);
        }
        let line = logmet::format_line_of(now, item.m.values().map(|(f, v)| (f.name(), true, v)));
        let fields = item.m.values().map(|(f, _)| f).collect();
        return Ok(Some(track(
            Some(Push::new("", "", &line, fields, in_journal)),
            None,
            KeyPlan::default(),
        )));
    }
    let log = MetLog::parse(&text);
    let history;
    let past = match &b {
        Some(b) => Past::Base(b),
        None => {
            history = log.mentioned();
            Past::History(&history)
        }
    };
    let mut kp = plan_key_playlists(k, values(), &log, past, opts, memberships);
    if !item.others.is_empty() {
        align_rows(item, values(), &mut kp.pull);
    }
    plan.settled.insert(k, fields::digest(&kp.settled));
    let writes = !kp.push.is_empty() || !kp.resolution.is_empty();
    let combined =
        (combined && !writes).then(|| Push::new(&text, "", "", FieldSet::default(), in_journal));
    if kp.is_empty() {
        plan.unchanged += item.track_ids.len();
        if combined.is_none() {
            return Ok(None);
        }
    }
    let push = writes.then(|| {
        let resolution = match &kp.resolved_at {
            Some(at) if !kp.resolution.is_empty() => logmet::format_line(at, &kp.resolution),
            _ => String::new(),
        };
        let edits = if kp.push.is_empty() {
            String::new()
        } else {
            logmet::format_line(Order::after(now, log.max_order()), &kp.push)
        };
        let fields = kp
            .push
            .iter()
            .chain(&kp.resolution)
            .filter_map(|c| Field::from_name(&c.field))
            .collect();
        Push::new(&text, &resolution, &edits, fields, in_journal)
    });
    Ok(Some(track(push, combined, kp)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(Field, &[&str])]) -> Values {
        pairs
            .iter()
            .map(|(f, vs)| (*f, vs.iter().map(|v| v.to_string()).collect()))
            .collect()
    }

    fn cur(pairs: &[(Field, &[(&str, i64)])]) -> Current {
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

    fn no_history() -> BTreeSet<(String, String)> {
        BTreeSet::new()
    }

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn pushed(plan: &KeyPlan) -> Vec<String> {
        described(&plan.push)
    }

    fn described(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}{}{}", c.field, if c.set { '+' } else { '-' }, c.value))
            .collect()
    }

    use crate::fields::grid;
    use Field::{Bpm, Color, Crate, Cue, Grid as BeatGrid, Key, Rating};

    #[test]
    fn mixxx_change_is_pushed_and_branch_change_is_pulled() {
        let b = vals(&[(Rating, &["3"]), (Color, &["#FF0000"])]);
        let m = vals(&[(Rating, &["4"]), (Color, &["#FF0000"])]);
        let g = cur(&[(Rating, &[("3", 1)]), (Color, &[("#00FF00", 2)])]);
        let plan = plan_key(&m, &g, Past::Base(&b), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&b), &Options::default());
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].winner, Prefer::Git);
        assert!(plan.push.is_empty());
        assert_eq!(plan.pull[0].1, set(&["2"]));
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(&m, &g, Past::Base(&b), &opts);
        assert!(plan.pull.is_empty());
        assert_eq!(plan.conflicts[0].winner, Prefer::Mixxx);
        assert_eq!(pushed(&plan), ["rating-2", "rating+5"]);
    }

    #[test]
    fn sets_merge_per_element() {
        let b = vals(&[(Crate, &["A", "B"])]);
        let m = vals(&[(Crate, &["A", "B", "X"])]);
        let g = cur(&[(Crate, &[("B", 1), ("Y", 1)])]);
        let plan = plan_key(&m, &g, Past::Base(&b), &Options::default());
        assert!(plan.conflicts.is_empty());
        assert_eq!(plan.pull, vec![(Crate, set(&["B", "X", "Y"]))]);
        assert_eq!(pushed(&plan), ["crate+X"]);
    }

    #[test]
    fn several_values_resolve_to_the_newest_and_are_written_back() {
        let m = vals(&[(Rating, &["2"])]);
        let g = cur(&[(Rating, &[("2", 10), ("5", 20)])]);
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
        assert_eq!(plan.pull[0].1, set(&["5"]));
        assert!(plan.push.is_empty());
        assert_eq!(described(&plan.resolution), ["rating-2"]);
        // Dated just after the winner, not now: an edit made meanwhile elsewhere stays newer.
        let winner = Timestamp { secs: 20, picos: 0 };
        assert_eq!(plan.resolved_at, Some(Order::Exact(winner).just_after()));
        assert_eq!(plan.conflicts.len(), 1, "concurrent sets are a conflict");
        // Where this Mixxx holds the winning value, the conflict is recorded too.
        let m5 = vals(&[(Rating, &["5"])]);
        let plan = plan_key(&m5, &g, Past::Base(&m5), &Options::default());
        assert!(plan.pull.is_empty());
        assert_eq!(plan.conflicts.len(), 1);
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(&m, &g, Past::Base(&m), &opts);
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
        let plan = plan_key(&m, &g, Past::Base(&base), &Options::default());
        assert_eq!(plan.pull, vec![(Cue, set(&[moved, c2, c3]))]);
        assert_eq!(pushed(&plan), [format!("cue+{c3}")]);
        assert!(plan.conflicts.is_empty());
        // Both moved hot cue 1: the branch's newest wins, as for a single-valued field.
        let elsewhere = "hotcue 1 175 0 #FF0000 Intro";
        let m = vals(&[(Cue, &[elsewhere, c2])]);
        let plan = plan_key(&m, &g, Past::Base(&base), &Options::default());
        assert_eq!(plan.pull, vec![(Cue, set(&[moved, c2]))]);
        assert!(plan.push.is_empty());
        assert_eq!(plan.conflicts.len(), 1);
        // Two values of one cue on the branch (a union merge): the newer stays everywhere.
        let g = cur(&[(Cue, &[(moved, 20), (elsewhere, 30), (c2, 10)])]);
        let m = vals(&[(Cue, &[c1, c2])]);
        let plan = plan_key(&m, &g, Past::Base(&base), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&base), &Options::default());
        assert_eq!(pushed(&plan), [format!("cue+{added}")]);
    }

    fn grid_value(bpm: f64, first: i32) -> String {
        grid::value("BeatGrid-2.0", &grid::beat_grid(bpm, first))
    }

    /// The plan's result applied to both sides: Mixxx's values and the branch's log with the
    /// pushed changes at `at`.
    fn applied(m: &Values, g: &Current, plan: &KeyPlan, at: i64) -> (Values, Current) {
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
    fn settles(m: &Values, g: &Current, plan: &KeyPlan) {
        let (m, g) = applied(m, g, plan, 100);
        let next = plan_key(&m, &g, Past::Base(&plan.settled), &Options::default());
        assert!(next.is_empty(), "{next:?}");
        assert_eq!(m, plan.settled);
    }

    #[test]
    fn a_pulled_bpm_moves_the_grid_and_clears_a_beat_map() {
        let (old, new) = (grid_value(128.0, 1234), grid_value(130.0, 1234));
        let m = vals(&[(Bpm, &["128.00"]), (BeatGrid, &[&old])]);
        let g = cur(&[(Bpm, &[("130", 20)]), (BeatGrid, &[(&old, 10)])]);
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
        assert_eq!(
            plan.pull,
            vec![(Bpm, set(&["126.00"])), (BeatGrid, set(&[&grid]))]
        );
        assert_eq!(pushed(&plan), ["bpm-131.00", "bpm+126.00"]);
        settles(&m, &g, &plan);
        // The BPM is newer: the grid follows it.
        let g = cur(&[(Bpm, &[("131.00", 30)]), (BeatGrid, &[(&grid, 20)])]);
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
        assert_eq!(plan.pull, vec![(Rating, set(&["5"]))]);
        assert!(plan.push.is_empty());
        assert_eq!(plan.held.len(), 1);
        assert_eq!(plan.held[0].field, BeatGrid);
    }

    #[test]
    fn a_resolution_keeps_the_winners_text() {
        // "5" and "128.00" set concurrently: the newest, "5", stays as written, not as
        // Mixxx writes it ("5.00").
        let m = vals(&[(Bpm, &["128.00"])]);
        let g = cur(&[(Bpm, &[("128.00", 10), ("5", 20)])]);
        let plan = plan_key(&m, &g, Past::Base(&m), &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&b), &Options::default());
        assert!(plan.pull.is_empty());
        assert_eq!(pushed(&plan), ["rating-1", "rating-2", "rating+5"]);
        assert!(plan.resolution.is_empty());
        assert_eq!(plan.conflicts[0].winner, Prefer::Mixxx);
        // Where the other clone's value is the newest, both changed: the branch wins.
        let g = cur(&[(Rating, &[("1", 10), ("2", 20)])]);
        let plan = plan_key(&m, &g, Past::Base(&b), &Options::default());
        assert_eq!(plan.pull, vec![(Rating, set(&["2"]))]);
        assert_eq!(described(&plan.resolution), ["rating-1"]);
        assert_eq!(plan.conflicts[0].winner, Prefer::Git);
    }

    #[test]
    fn first_sync_fills_empty_sides() {
        let m = vals(&[(Rating, &["4"])]);
        let g = cur(&[(Color, &[("#123456", 1)])]);
        let plan = plan_key(&m, &g, Past::History(&no_history()), &Options::default());
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
        let plan = plan_key(&m, &g, Past::History(&history), &Options::default());
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
        let plan = plan_key(&m, &g, Past::History(&history), &opts);
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
        let plan = plan_key(&m, &g, Past::History(&no_history()), &opts);
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
        for past in [Past::History(&history), Past::Base(&m)] {
            let plan = plan_key(&m, &g, past, &Options::default());
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
        let plan = plan_key(&m2, &g, Past::Base(&m), &Options::default());
        assert_eq!(pushed(&plan), ["bpm-128", "bpm+130.00"]);
    }

    #[test]
    fn invalid_branch_values_are_held_not_pulled_nor_overwritten() {
        let m = vals(&[(Rating, &["3"])]);
        let g = cur(&[(Rating, &[("9", 5)])]);
        let history = BTreeSet::from([("rating".into(), "9".into())]);
        for past in [Past::History(&history), Past::Base(&m)] {
            let plan = plan_key(&m, &g, past, &Options::default());
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
        let plan = plan_key(&m, &g, Past::Base(&b), &Options::default());
        assert_eq!(pushed(&plan), ["rating-9", "rating+3"]);
        // Or by request.
        let opts = Options {
            prefer: Prefer::Mixxx,
            ..Options::default()
        };
        let plan = plan_key(&m, &g, Past::Base(&m), &opts);
        assert_eq!(pushed(&plan), ["rating-9", "rating+3"]);
    }

    #[test]
    fn base_values_take_mixxx_for_invalid_fields() {
        let m = vals(&[(Rating, &["3"]), (Bpm, &["120.00"])]);
        let g = cur(&[
            (Rating, &[("9", 1)]),
            (Bpm, &[("120", 1)]),
            (Crate, &[("A", 1)]),
        ]);
        assert_eq!(
            base_values(&g, &m),
            vals(&[(Rating, &["3"]), (Bpm, &["120.00"]), (Crate, &["A"])])
        );
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
            keyed.order.push(k.to_string());
            let item = Item {
                path: format!("{k}.flac"),
                track_ids: vec![i as i64 + 1],
                m: row.clone(),
                others: Vec::new(),
                other_paths: Vec::new(),
            };
            keyed.items.insert(k.to_string(), item);
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
        let plan = plan(
            &keyed,
            &base,
            &HashMap::new(),
            &mut logs,
            &Memberships::default(),
            &Options::default(),
            now,
            |_, _| {},
        )
        .expect("in memory");
        assert_eq!(plan.unchanged, 1, "K1 is settled by its digest alone");
        assert_eq!(plan.in_base, 3);
        let keys: Vec<&str> = plan.tracks.iter().map(|t| t.key.as_str()).collect();
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
        assert_eq!(plan.settled[&"K3".to_owned()], rated("2").digest());
    }

    #[test]
    fn first_sync_pushes_rows_straight() {
        let keyed = keyed(&[("K1", rated("3")), ("K2", fields::Row::default())]);
        let mut logs = MemoryLogs::default();
        let now = Timestamp {
            secs: 1_800_000_000,
            picos: 0,
        };
        let plan = plan(
            &keyed,
            &FxHashMap::default(),
            &HashMap::new(),
            &mut logs,
            &Memberships::default(),
            &Options::default(),
            now,
            |_, _| {},
        )
        .expect("in memory");
        assert_eq!(plan.tracks.len(), 1);
        let push = plan.tracks[0].push.as_ref().expect("pushed");
        assert_eq!(push.content, "1800000000s rating +3\n");
        assert_eq!(push.fields.iter().collect::<Vec<_>>(), [Rating]);
        assert!(!push.unsets);
        assert_eq!(plan.unchanged, 1);
    }

    // A playlist renamed Sat → Saturday on one clone: a track this Mixxx still has in Sat
    // merges as a member of Saturday (nothing pulled, the old name unset on the branch), and
    // one another clone took out of Sat after the rename was pushed stays out.
    #[test]
    fn memberships_merge_under_playlist_names_after_renames() {
        let renames = Memberships::new(
            [("Sat".to_owned(), "Saturday".to_owned())].into(),
            BTreeMap::new(),
        );
        let m = vals(&[(Field::Playlist, &["Sat"])]);
        let base = vals(&[(Field::Playlist, &["Saturday"])]);
        let log = MetLog::parse("1s playlist +Sat\n2s playlist -Sat +Saturday\n3s playlist +Sat\n");
        let plan = plan_key_playlists(
            "K",
            &m,
            &log,
            Past::Base(&base),
            &Options::default(),
            &renames,
        );
        assert!(plan.pull.is_empty(), "{plan:?}");
        let change = |set, value: &str| Change {
            field: "playlist".into(),
            set,
            value: value.into(),
        };
        assert_eq!(plan.push, [change(false, "Sat"), change(true, "Saturday")]);
        let log = MetLog::parse("1s playlist +Sat\n2s playlist -Sat +Saturday\n3s playlist -Sat\n");
        let plan = plan_key_playlists(
            "K",
            &m,
            &log,
            Past::Base(&base),
            &Options::default(),
            &renames,
        );
        assert_eq!(plan.pull, [(Field::Playlist, set(&[]))]);
    }
}

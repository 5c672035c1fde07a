//! Deciding each playlist: its order merged three ways (the base, this Mixxx, the branch) on the
//! keys this clone holds, arranged over its members, written back with the keys this clone
//! lacks where they were; its rename in Mixxx, and its conflicts.

use super::arrange::{arrange, keep_absent, only};
use super::read::{Chosen, Playlists, Sides};
use super::{
    Context, FIELD, Memberships, NAME_FIELD, Orders, PlaylistPlan, Unmatched, UnmatchedOrder,
    next_line,
};
use crate::fields::Field;
use crate::state::Conflict;
use crate::sync::options::Prefer;
use crate::sync::snapshot::Keyed;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// Plans every playlist this Mixxx or the branch has an order for. `pulled` holds the
/// `playlist` memberships the plan pulls, by key (under the names after the run).
pub fn plan(
    playlists: Playlists<'_>,
    keyed: &Keyed,
    pulled: &HashMap<&str, &BTreeSet<String>>,
    cx: &Context<'_>,
) -> Orders {
    let sides = playlists.sides();
    let mut out = Orders::default();
    let members = final_members(keyed, pulled, &playlists.memberships);
    let held = |k: &str| keyed.items.contains_key(k);
    let decided = sides.iter().zip(&playlists.names).zip(&playlists.chosen);
    for ((s, (name, name_conflict)), chosen) in decided {
        if s.mixxx.is_none() && s.now.is_none() {
            continue;
        }
        let unmatched = s.now.filter(|n| !n.tracks.iter().any(|k| held(k)));
        if let Some(now) = unmatched.filter(|n| !n.tracks.is_empty()) {
            out.unmatched.push(UnmatchedOrder {
                file: s.path.to_owned(),
                name: Some(now.name.clone()),
                entries: now.tracks.len(),
                reason: Unmatched::NoTrackHere,
            });
        }
        let one = One {
            s,
            name: name.clone(),
            name_conflict: *name_conflict,
            chosen,
            members: members.get(name.as_str()).map_or(&[][..], Vec::as_slice),
        };
        let p = plan_playlist(one, &held, keyed, cx);
        if p.push.is_some() || p.writes_mixxx() || !p.conflicts.is_empty() {
            out.playlists.push(p);
        }
    }
    let mut found = playlists.found;
    found.unmatched.append(&mut out.unmatched);
    out.unmatched = found.unmatched;
    out
}

/// The playlists' members (by name after the run) after the plan's pulls, among this Mixxx's
/// keys.
fn final_members<'k>(
    keyed: &'k Keyed,
    pulled: &HashMap<&str, &'k BTreeSet<String>>,
    memberships: &'k Memberships,
) -> HashMap<&'k str, Vec<&'k str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::default();
    let now = |n: &'k str| memberships.name(n);
    for (key, item) in &keyed.items {
        // A plain list (most tracks are in a playlist or two): renames may make two names one.
        let mut names: Vec<&str> = match pulled.get(&**key) {
            Some(values) => values.iter().map(|v| now(v)).collect(),
            None => item.m.set(Field::Playlist).iter().map(now).collect(),
        };
        names.sort_unstable();
        names.dedup();
        for name in names {
            out.entry(name).or_default().push(&**key);
        }
    }
    out
}

/// One playlist as the run decides it.
struct One<'a> {
    s: &'a Sides<'a>,
    /// Its name after the run, and whether Mixxx and the branch renamed it differently.
    name: String,
    name_conflict: bool,
    /// Its merged order.
    chosen: &'a Chosen,
    /// Its members after the run (which the planner settled as the orders decide).
    members: &'a [&'a str],
}

/// Plans one playlist: its merged order arranged over its members, written back with the keys
/// this clone lacks where they were.
fn plan_playlist(
    one: One<'_>,
    held: &dyn Fn(&str) -> bool,
    keyed: &Keyed,
    cx: &Context<'_>,
) -> PlaylistPlan {
    let One {
        s,
        name,
        name_conflict,
        chosen,
        members,
    } = one;
    let mixxx: &[&str] = s.mixxx.map_or(&[], |m| &m.keys);
    let branch: Vec<&str> = (s.now.iter())
        .flat_map(|n| n.tracks.iter().map(String::as_str))
        .collect();
    // Only a conflict shows the branch's order of the keys held here.
    let on_branch = match chosen.conflict {
        true => only(&branch, held),
        false => Vec::new(),
    };
    let order: Vec<&str> = chosen.order.iter().map(String::as_str).collect();
    let target = arrange(&order, members, mixxx);
    let order = keep_absent(&target, &branch, held);
    let changed = (s.now).is_none_or(|n| order != n.tracks || name != n.name || n.heads.len() > 1);
    let push =
        (changed && !cx.opts.pull_only && !(order.is_empty() && s.now.is_none())).then(|| {
            let tracks = order.iter().map(|k| (*k).to_owned()).collect();
            next_line(s.now, &name, cx.uuid, tracks, cx.now).text()
        });
    let settled = Settled {
        mixxx,
        branch: &on_branch,
        target: &target,
        conflict: chosen.conflict,
        name_conflict,
    };
    PlaylistPlan {
        conflicts: conflicts(s, &name, &settled, keyed, cx),
        pull: (target != mixxx).then(|| target.iter().map(|k| (*k).to_owned()).collect()),
        rename_from: (s.mixxx)
            .filter(|m| m.name != name)
            .map(|m| m.name.to_owned()),
        name,
        path: s.path.to_owned(),
        push,
    }
}

/// One playlist's orders (of the keys this clone holds) as a run settles them.
struct Settled<'a> {
    mixxx: &'a [&'a str],
    branch: &'a [&'a str],
    target: &'a [&'a str],
    /// Mixxx's and the branch's edits of the order conflicted.
    conflict: bool,
    /// Mixxx and the branch renamed it differently.
    name_conflict: bool,
}

/// The conflicts of one playlist, named `name` after the run: Mixxx's edits against the
/// branch's (order, name), and between orders written concurrently on the branch.
fn conflicts(
    s: &Sides<'_>,
    name: &str,
    settled: &Settled<'_>,
    keyed: &Keyed,
    cx: &Context<'_>,
) -> Vec<Conflict> {
    let paths = |keys: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        keys.map(|k| keyed.items.get(k).map_or(k, |i| i.path.as_str()).to_owned())
            .collect()
    };
    let record = |field: &str, mixxx, branch, winner: &str, result| Conflict {
        path: name.to_owned(),
        key: s.path.to_owned(),
        field: field.to_owned(),
        mixxx,
        branch,
        winner: winner.to_owned(),
        result,
    };
    let mut out = Vec::new();
    let winner = cx.opts.prefer.name();
    if settled.conflict {
        let [mixxx, branch, result] =
            [settled.mixxx, settled.branch, settled.target].map(|v| paths(&mut v.iter().copied()));
        out.push(record(FIELD, mixxx, branch, winner, result));
    }
    if let (true, Some(m), Some(n)) = (settled.name_conflict, s.mixxx, s.now) {
        let (mixxx, branch) = (vec![m.name.to_owned()], vec![n.name.clone()]);
        out.push(record(
            NAME_FIELD,
            mixxx,
            branch,
            winner,
            vec![name.to_owned()],
        ));
    }
    for c in s.now.iter().flat_map(|n| &n.conflicts) {
        // Two orders (or names) written concurrently on the branch: one won.
        let shown = |v: &[String]| match c.field {
            FIELD => paths(&mut v.iter().map(String::as_str)),
            _ => v.to_vec(),
        };
        let (lost, won, result) = (shown(&c.lost), shown(&c.won), shown(&c.result));
        out.push(record(c.field, lost, won, Prefer::Git.name(), result));
    }
    out
}

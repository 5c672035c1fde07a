//! History sessions travel as records, not values: each clone's sessions (Mixxx's history
//! playlists, [`crate::mixxx::history`]) go to line files of its own on the branch,
//! `mixxx/<uuid>/history/<YYYY-MM>` (by the month the session started), one line per session,
//! `<time written> {"id", "name", "start", "entries": [[key, time played], ...]}`; a session
//! that grows is written again (the newest line of an id is the session: a union merge may
//! bring back an older one). Only that clone writes its files.
//!
//! Other clones' sessions arrive as history playlists named as Mixxx names them with the
//! clone's description (`2026-12-05 (gig laptop)`), entries in play order with their times; a
//! session that grows there grows here. What was added is remembered per database
//! ([`super::ledger`]): a session deleted in Mixxx stays deleted there, and an added one is
//! never pushed as this clone's own. A database that is not remembered (new, restored)
//! recognises the sessions it already holds by their entries and times. Adding sessions never
//! changes play counts: those travel as counters.
//!
//! What is read from the branch is bounded ([`crate::bounds`]): a file over the file limit is
//! not read (its size is checked from the blob's header), a session over
//! [`bounds::SESSION_BYTES`] or [`bounds::SESSION_ENTRIES`] entries is skipped, and both are
//! noted for the run's warnings.

use super::branch::Branch;
use super::ledger::{self, Imported};
use super::options::Options;
use super::snapshot::Keyed;
use crate::annex::logmet::{Order, Timestamp};
use crate::bounds;
use crate::fields::codec::{mixxx_time, time};
use crate::mixxx::history::Session;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The folder of clone `uuid`'s sessions.
pub fn dir(uuid: &str) -> String {
    format!("mixxx/{uuid}/history")
}

/// One session as its line holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: String,
    /// Its history playlist's name in the clone's Mixxx.
    pub name: String,
    /// When it started (UTC, `2026-12-05T20:01:02Z`).
    pub start: Option<String>,
    /// Each track played, by key, with the time it was played (empty when unknown).
    pub entries: Vec<(String, String)>,
}

/// The sessions of the text of the history file `file`: the newest line of each id, with its
/// time. Lines that do not parse are skipped; those beyond the limits too, and noted.
pub fn parse(text: &str, file: &str) -> BTreeMap<String, (Order, Line)> {
    let mut out: BTreeMap<String, (Order, Line)> = BTreeMap::new();
    let mut beyond = 0;
    for l in bounds::lines(text, file, bounds::SESSION_BYTES) {
        let Some((at, json)) = l.split_once(' ') else {
            continue;
        };
        let (Some(at), Ok(line)) = (Order::parse(at), serde_json::from_str::<Line>(json)) else {
            continue;
        };
        if line.entries.len() > bounds::SESSION_ENTRIES {
            beyond += 1;
            continue;
        }
        let newer = out.get(&line.id).is_none_or(|(seen, _)| at > *seen);
        if newer {
            out.insert(line.id.clone(), (at, line));
        }
    }
    if beyond > 0 {
        bounds::note(bounds::Skipped {
            file: file.to_owned(),
            beyond: bounds::Beyond::Entries { count: beyond },
        });
    }
    out
}

/// What a run does with history sessions.
#[derive(Debug, Default)]
pub struct SessionPlan {
    /// This clone's history files the run writes: their paths and new contents.
    pub push: Vec<(String, String)>,
    /// How many of this clone's sessions those hold new or grown.
    pub pushed: usize,
    /// Sessions of other clones to add to this Mixxx.
    pub add: Vec<Addition>,
    /// Entries to append to sessions added before, as they grew.
    pub grow: Vec<Growth>,
    /// What the ledger remembers of this database once the plan is carried out (additions
    /// get their playlists as they are written).
    pub ledger: ledger::Database,
}

impl SessionPlan {
    /// Whether it writes to Mixxx.
    pub fn pulls(&self) -> bool {
        !self.add.is_empty() || !self.grow.is_empty()
    }
}

/// A session of another clone to add to this Mixxx as a history playlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addition {
    /// Where it comes from ([`ledger::source`]).
    pub source: String,
    pub name: String,
    /// When it started (now, when unknown), as Mixxx writes times.
    pub created: Option<String>,
    /// The entries this Mixxx holds: track and time played (as Mixxx writes times).
    pub entries: Vec<(i64, Option<String>)>,
    /// How many of the session's entries it takes.
    pub taken: usize,
}

/// Entries to append to a session added before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Growth {
    /// Where the session comes from ([`ledger::source`]).
    pub source: String,
    pub playlist: i64,
    pub entries: Vec<(i64, Option<String>)>,
    /// How many of the session's entries the playlist holds afterwards.
    pub taken: usize,
}

/// What planning sessions needs to know of the run.
pub struct Context<'a> {
    pub uuid: &'a str,
    pub now: Timestamp,
    pub opts: &'a Options,
    /// Each clone's description in git-annex (`uuid.log`), oldest first.
    pub descriptions: &'a [(String, String)],
    /// What the ledger remembers of this database.
    pub ledger: ledger::Database,
}

/// Other clones' sessions: each clone's uuid and its sessions by id.
type Others = Vec<(String, BTreeMap<String, (Order, Line)>)>;

/// Plans the history sessions of this Mixxx (`mixxx`) and of the other clones on the branch.
pub fn plan(
    mixxx: &[Session],
    keyed: &Keyed,
    branch: &mut Branch<'_>,
    cx: Context<'_>,
) -> crate::annex::Result<SessionPlan> {
    let mut out = SessionPlan {
        ledger: cx.ledger.clone(),
        ..SessionPlan::default()
    };
    if !cx.opts.paths.is_empty() {
        // A run over some files only does not see whole sessions.
        return Ok(out);
    }
    // The keys of the tracks in this Mixxx's sessions.
    let played: HashSet<i64> = mixxx
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.0))
        .collect();
    let key_of: HashMap<i64, &str> = match played.is_empty() {
        true => HashMap::new(),
        false => keyed
            .items
            .iter()
            .flat_map(|(k, item)| item.track_ids().map(move |id| (id, &**k)))
            .filter(|(id, _)| played.contains(id))
            .collect(),
    };
    let others = read_others(branch, cx.uuid)?;
    let own = sort_out(mixxx, &key_of, &others, &mut out.ledger);
    if !cx.opts.pull_only {
        push_own(&own, branch, &cx, &mut out)?;
    }
    let held: HashSet<(i64, Option<&str>)> =
        mixxx.iter().map(|s| (s.id, s.created.as_deref())).collect();
    for (uuid, sessions) in &others {
        for (id, (_, line)) in sessions {
            let source = ledger::source(uuid, id);
            bring(source, line, keyed, &held, &cx, &mut out);
        }
    }
    Ok(out)
}

/// Adds another clone's session to this Mixxx, or appends what it gained since it was added
/// (unless the DJ deleted it here: `held` are this Mixxx's history playlists). Entries of
/// tracks this Mixxx lacks are left out; the ledger counts entries taken once written.
fn bring(
    source: String,
    line: &Line,
    keyed: &Keyed,
    held: &HashSet<(i64, Option<&str>)>,
    cx: &Context<'_>,
    out: &mut SessionPlan,
) {
    let record = out.ledger.imported.get(&source);
    let from = record.map_or(0, |r| r.taken);
    let Some(new) = line.entries.get(from..).filter(|n| !n.is_empty()) else {
        return;
    };
    let entries: Vec<(i64, Option<String>)> = new
        .iter()
        .filter_map(|(key, at)| {
            let row = keyed.items.get(key.as_str())?.id;
            Some((
                row,
                Some(at).filter(|t| !t.is_empty()).map(|t| mixxx_time(t)),
            ))
        })
        .collect();
    let taken = line.entries.len();
    match record {
        Some(r) if entries.is_empty() || !held.contains(&(r.playlist, r.created.as_deref())) => {}
        Some(r) => out.grow.push(Growth {
            playlist: r.playlist,
            entries,
            taken,
            source,
        }),
        None if entries.is_empty() => {}
        None => {
            let uuid = source.split(' ').next().unwrap_or_default();
            out.add.push(Addition {
                name: format!("{} ({})", line.name, description(uuid, cx.descriptions)),
                created: Some(line.start.as_deref().map_or_else(
                    || chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
                    mixxx_time,
                )),
                entries,
                taken,
                source,
            });
        }
    }
}

/// A clone's description as a playlist name shows it (its first uuid digits when it has
/// none); control characters become spaces.
fn description(uuid: &str, descriptions: &[(String, String)]) -> String {
    let found = descriptions.iter().rev().find(|(u, _)| u == uuid);
    let text = match found {
        Some((_, d)) if !d.trim().is_empty() => d.as_str(),
        _ => uuid.get(..8).unwrap_or(uuid),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Every other clone's sessions on the branch (of the first [`bounds::CLONES`] clones).
fn read_others(branch: &mut Branch<'_>, me: &str) -> crate::annex::Result<Others> {
    let mut out = Others::new();
    let clones = branch.dirs_now("mixxx")?;
    if clones.len() > bounds::CLONES {
        bounds::note(bounds::Skipped {
            file: "mixxx/".to_owned(),
            beyond: bounds::Beyond::Clones {
                count: clones.len() - bounds::CLONES,
            },
        });
    }
    for uuid in clones.into_iter().take(bounds::CLONES) {
        if uuid == me || uuid == "playlists" {
            continue;
        }
        let mut sessions = BTreeMap::new();
        for path in branch.files_now(&dir(&uuid))? {
            if let Some(text) = branch.file_within_limits(&path)? {
                sessions.extend(parse(&text, &path));
            }
        }
        if !sessions.is_empty() {
            out.push((uuid, sessions));
        }
    }
    Ok(out)
}

/// The id of a history playlist of this clone: from its row id and creation time, which no
/// other playlist of any database of the clone shares (a restored backup's are its own).
fn session_id(session: &Session) -> String {
    let seed = format!(
        "{} {}",
        session.id,
        session.created.as_deref().unwrap_or("")
    );
    faster_hex::hex_string(&Md5::digest(seed.as_bytes())[..8])
}

/// This Mixxx's own sessions as lines, telling apart the copies of other clones' sessions:
/// those the ledger remembers, and those recognised by their entries (remembered from now on,
/// in `ledger`). Sessions without an entry of a synced track are neither.
fn sort_out(
    mixxx: &[Session],
    key_of: &HashMap<i64, &str>,
    others: &Others,
    ledger: &mut ledger::Database,
) -> Vec<Line> {
    let copies: HashSet<(i64, Option<String>)> = ledger
        .imported
        .values()
        .map(|i| (i.playlist, i.created.clone()))
        .collect();
    let index = entry_index(others);
    let mut own = Vec::new();
    for session in mixxx {
        let entries: Vec<(String, String)> = session
            .entries
            .iter()
            .filter_map(|(track, at)| {
                let at = at.as_deref().and_then(time).unwrap_or_default();
                Some(((*key_of.get(track)?).to_owned(), at))
            })
            .collect();
        if entries.is_empty() || copies.contains(&(session.id, session.created.clone())) {
            continue;
        }
        if let Some((source, taken)) = recognise(&entries, &index, others) {
            let record = Imported {
                playlist: session.id,
                created: session.created.clone(),
                taken,
            };
            ledger.imported.insert(source, record);
            continue;
        }
        own.push(Line {
            id: session_id(session),
            name: session.name.clone(),
            start: session.created.as_deref().and_then(time),
            entries,
        });
    }
    own
}

/// Where each (key, time) entry of other clones' sessions is: (clone, session id).
fn entry_index(others: &Others) -> HashMap<(&str, &str), Vec<(usize, &str)>> {
    let mut index: HashMap<(&str, &str), Vec<(usize, &str)>> = HashMap::new();
    for (i, (_, sessions)) in others.iter().enumerate() {
        for (id, (_, line)) in sessions {
            for (key, at) in &line.entries {
                index.entry((key, at)).or_default().push((i, id));
            }
        }
    }
    index
}

/// The session of another clone that `entries` are a copy of (in order, possibly without some
/// of its entries), and how many of its entries the copy took.
fn recognise(
    entries: &[(String, String)],
    index: &HashMap<(&str, &str), Vec<(usize, &str)>>,
    others: &Others,
) -> Option<(String, usize)> {
    let (key, at) = entries.first()?;
    if at.is_empty() {
        return None;
    }
    index
        .get(&(key.as_str(), at.as_str()))?
        .iter()
        .find_map(|(i, id)| {
            let (uuid, sessions) = &others[*i];
            let source = &sessions.get(*id)?.1.entries;
            let mut taken = 0;
            for entry in entries {
                taken += source[taken..].iter().position(|e| e == entry)? + 1;
            }
            Some((ledger::source(uuid, id), taken))
        })
}

/// Writes this clone's sessions that are new or changed to their month files (keeping the
/// other sessions there: records stay when Mixxx no longer has them).
fn push_own(
    own: &[Line],
    branch: &mut Branch<'_>,
    cx: &Context<'_>,
    out: &mut SessionPlan,
) -> crate::annex::Result<()> {
    let mut by_month: BTreeMap<String, Vec<&Line>> = BTreeMap::new();
    for line in own {
        let month = line
            .start
            .as_deref()
            .and_then(|s| s.get(..7))
            .unwrap_or("undated");
        by_month.entry(month.to_owned()).or_default().push(line);
    }
    for (month, lines) in by_month {
        let path = format!("{}/{month}", dir(cx.uuid));
        // Beyond the limits, it is left as it is.
        let Some(text) = branch.file_within_limits(&path)? else {
            continue;
        };
        let mut sessions = parse(&text, &path);
        let at = Order::after(cx.now, sessions.values().map(|(o, _)| o).max());
        let changed: Vec<&Line> = lines
            .into_iter()
            .filter(|l| sessions.get(&l.id).is_none_or(|(_, old)| old != *l))
            .collect();
        if changed.is_empty() {
            continue;
        }
        out.pushed += changed.len();
        for line in changed {
            sessions.insert(line.id.clone(), (at.clone(), line.clone()));
        }
        out.push.push((path, file_text(sessions)));
    }
    Ok(())
}

/// A history file's text: one line per session, by start time.
fn file_text(sessions: BTreeMap<String, (Order, Line)>) -> String {
    let mut lines: Vec<(Order, Line)> = sessions.into_values().collect();
    lines.sort_by(|a, b| (&a.1.start, &a.1.id).cmp(&(&b.1.start, &b.1.id)));
    let mut text = String::new();
    for (at, line) in lines {
        let json = serde_json::to_string(&line).expect("a session line always serializes");
        text.push_str(&format!("{at} {json}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, entries: &[(&str, &str)]) -> Line {
        Line {
            id: id.to_owned(),
            name: "2026-12-05".to_owned(),
            start: Some("2026-12-05T20:00:00Z".to_owned()),
            entries: entries
                .iter()
                .map(|(k, t)| (k.to_string(), t.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_newest_line_of_a_session_is_the_session_and_oversized_ones_are_skipped() {
        let short = line("s1", &[("K1", "2026-12-05T20:01:00Z")]);
        let grown = line(
            "s1",
            &[
                ("K1", "2026-12-05T20:01:00Z"),
                ("K2", "2026-12-05T20:05:00Z"),
            ],
        );
        let huge = line("s2", &vec![("K", "t"); bounds::SESSION_ENTRIES + 1]);
        let at = |secs: i128| Order::Exact(Timestamp { secs, picos: 0 });
        let text = file_text(BTreeMap::from([
            ("s1".to_owned(), (at(20), grown.clone())),
            ("s2".to_owned(), (at(10), huge)),
        ]));
        // A union merge brings an older line of s1 back, and a line that is no session.
        let merged = format!(
            "{}{}\n{text}garbage\n",
            at(10),
            serde_json::to_string(&short).unwrap()
        );
        let (sessions, notes) = bounds::collect(|| parse(&merged, "f"));
        assert_eq!(sessions.len(), 1, "{sessions:?}");
        assert_eq!(notes[0].beyond, bounds::Beyond::Entries { count: 1 });
        assert_eq!(sessions["s1"].1, grown);
    }

    #[test]
    fn a_copy_is_recognised_by_its_entries_in_order_even_without_some() {
        let source = line(
            "s1",
            &[
                ("K1", "2026-12-05T20:01:00Z"),
                ("K2", "2026-12-05T20:05:00Z"),
                ("K1", "2026-12-05T20:09:00Z"),
            ],
        );
        let others: Others = vec![(
            "u2".to_owned(),
            BTreeMap::from([(
                "s1".to_owned(),
                (Order::Exact(Timestamp { secs: 1, picos: 0 }), source),
            )]),
        )];
        let index = entry_index(&others);
        let entry = |k: &str, t: &str| (k.to_owned(), t.to_owned());
        // Without K2 (this Mixxx lacked it): still the copy, which took all three entries.
        let copy = [
            entry("K1", "2026-12-05T20:01:00Z"),
            entry("K1", "2026-12-05T20:09:00Z"),
        ];
        assert_eq!(
            recognise(&copy, &index, &others),
            Some((ledger::source("u2", "s1"), 3))
        );
        // Out of order, or another time: not a copy.
        let reordered = [
            entry("K1", "2026-12-05T20:09:00Z"),
            entry("K1", "2026-12-05T20:01:00Z"),
        ];
        assert_eq!(recognise(&reordered, &index, &others), None);
        let own = [entry("K1", "2026-12-05T20:02:00Z")];
        assert_eq!(recognise(&own, &index, &others), None);
    }

    #[test]
    fn a_clone_is_named_by_its_description() {
        let descriptions = [
            ("u1".to_owned(), "old name".to_owned()),
            ("u1".to_owned(), "gig\nlaptop".to_owned()),
        ];
        assert_eq!(description("u1", &descriptions), "gig laptop");
        assert_eq!(description("0123456789abcdef", &descriptions), "01234567");
    }
}

//! The base of the three-way merge: the branch as of this clone's last finished sync of this
//! Mixxx database, and the digest of each synced key's values then. Each database (recognised
//! by its marker) has its own, kept locally ([`crate::state::local`]); only a clone without
//! local state gets one back from the branch, rebuilt at the run its own history vouches for
//! ([`crate::state::vouch`]).

use super::plan;
use super::snapshot::Items;
use crate::annex::logmet::{MetLog, Order};
use crate::annex::{self, Annex, key};
use crate::bounds;
use crate::fields;
use crate::fields::{FieldSet, Values};
use crate::mixxx::marker::Marker;
use crate::state::local::{self, BaseInfo, Local, OwnRun, StoredBase};
use crate::state::{self, Cache, HeldValue, Synced, vouch};
use crate::worktree::Key;
use gix::ObjectId;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub struct Base {
    /// The commit of this database's last finished sync; `None` without one.
    pub commit: Option<ObjectId>,
    /// Each synced key's digest of values at `commit`, and the row they were synced with.
    pub digests: FxHashMap<String, Synced>,
    /// Fields held at the base (a value Mixxx could not hold), with what Mixxx kept.
    pub held: HashMap<String, Values>,
    /// Keys whose base was carried over from the key their row was synced with
    /// ([`Base::carry`]): they are recorded as synced anew.
    pub carried: HashSet<String>,
    /// What its local file says, and the tag it is kept under ([`local::tag`]).
    pub info: BaseInfo,
    pub tag: Option<String>,
}

/// How the base was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Kept locally for this database.
    Kept,
    /// Rebuilt from the branch at a run this clone's history vouches for: to be kept.
    Rebuilt,
    /// None: this clone never synced.
    FirstSync,
    /// None for this database, though this clone synced others (a new one, a restored backup,
    /// a copy).
    OtherDatabase,
}

impl Base {
    /// No base: a first sync, or a database the clone has no base for.
    pub fn none() -> Base {
        Base {
            commit: None,
            digests: FxHashMap::default(),
            held: HashMap::new(),
            carried: HashSet::new(),
            info: BaseInfo::default(),
            tag: None,
        }
    }

    /// The base a local file holds; `None` when its commit is not in the repository (the
    /// branch was rewritten and pruned since).
    fn from_stored(annex: &Annex, stored: StoredBase) -> annex::Result<Option<Base>> {
        let Ok(commit) = ObjectId::from_hex(stored.info.commit.as_bytes()) else {
            return Ok(None);
        };
        if annex.repo.try_find_header(commit)?.is_none() {
            return Ok(None);
        }
        Ok(Some(Base {
            commit: Some(commit),
            digests: stored.digests,
            held: held_values(&stored.info.held),
            carried: HashSet::new(),
            info: stored.info,
            tag: Some(stored.tag),
        }))
    }

    /// The base as kept, under `tag`.
    pub fn into_stored(self, tag: String) -> StoredBase {
        StoredBase {
            tag,
            info: self.info,
            digests: self.digests,
        }
    }

    /// Forgets the base of every key whose Mixxx row is not the one it was synced with (a new
    /// row for a moved file, a row replaced by a rescan): such a row has no base. Returns the
    /// keys of this Mixxx left without a base whose row was synced with another key that no row
    /// has now (a file re-tagged in place: new content, new key, same row), as (key, old key).
    /// One look-up a key: at a million keys, each pass over the base is a noticeable cost.
    pub fn match_rows(&mut self, items: &Items) -> Vec<(String, String)> {
        let mut unbased: HashMap<i64, &Key> = HashMap::new();
        for (k, item) in items {
            match self.digests.get(&**k) {
                Some(synced) if synced.belongs_to(item.id) => {}
                found => {
                    if found.is_some() {
                        self.digests.remove(&**k);
                    }
                    unbased.insert(item.id, k);
                }
            }
        }
        if unbased.is_empty() {
            return Vec::new();
        }
        self.digests
            .iter()
            .filter(|(old, _)| !items.contains_key(old.as_str()))
            .filter_map(|(old, s)| Some((unbased.get(&s.row?)?.to_string(), old.clone())))
            .collect()
    }

    /// Whether `key` is synced anew: it has no base, or one carried from another key.
    pub fn is_new(&self, key: &str) -> bool {
        !self.digests.contains_key(key) || self.carried.contains(key)
    }

    /// Gives `key` the base of `old`.
    pub fn carry(&mut self, key: String, old: &str) {
        if let Some(synced) = self.digests.get(old).cloned() {
            self.digests.insert(key.clone(), synced);
            self.carried.insert(key);
        }
    }

    /// The keys whose newest metadata line is dated in the future: those the base listed
    /// that still are (a log's newest line only ever gets newer), with those a run read now
    /// (`found`), each with its newest time.
    pub fn future(&self, found: &[(String, Order)]) -> Vec<(String, String)> {
        let now = bounds::now_secs();
        let mut out: HashMap<&str, Order> = HashMap::new();
        let known = self
            .info
            .future
            .iter()
            .filter_map(|(k, o)| Some((k.as_str(), Order::parse(o)?)));
        for (key, order) in known.chain(found.iter().map(|(k, o)| (k.as_str(), o.clone()))) {
            if order.in_future(now) && out.get(key).is_none_or(|o| *o < order) {
                out.insert(key, order);
            }
        }
        let mut out: Vec<(String, String)> = out
            .into_iter()
            .map(|(k, o)| (k.to_owned(), o.to_string()))
            .collect();
        out.sort();
        out
    }
}

/// The keys whose newest metadata line is dated in the future ([`Base::future`]): those the
/// base knew, those read now (`read`), and those written by this clone's own runs that are
/// dated in the future (its clock was ahead then: the lines they wrote are dated so).
pub fn future_dated(
    annex: &Annex,
    base: &Base,
    read: &[(String, Order)],
) -> annex::Result<Vec<(String, String)>> {
    let now = bounds::now_secs();
    let mut found = read.to_vec();
    let runs = Local::new(&annex.repo, &annex.uuid).runs();
    for run in runs {
        let Ok(time) = chrono::DateTime::parse_from_rfc3339(&run.record.time) else {
            continue;
        };
        let Some(order) = Order::parse(&format!("{}s", time.timestamp())) else {
            continue;
        };
        if !order.in_future(now) {
            continue;
        }
        let Ok(commit) = ObjectId::from_hex(run.commit.as_bytes()) else {
            continue;
        };
        let Some(parent) = annex.repo.find_commit(commit)?.parent_ids().next() else {
            continue;
        };
        let changed =
            annex.changed_paths(annex.tree_of(parent.detach())?, annex.tree_of(commit)?)?;
        found.extend(
            changed
                .iter()
                .filter_map(|p| key::key_of_metadata_log_path(p))
                .map(|k| (k, order.clone())),
        );
    }
    Ok(base.future(&found))
}

/// The candidate tags of the database that holds `marker` (at `db`), best first.
fn tags(marker: Option<&Marker>, db: &Path) -> Vec<String> {
    match marker {
        Some(m) => std::iter::once(&m.current)
            .chain(&m.previous)
            .map(|t| local::tag(Some(t), db))
            .collect(),
        None => vec![local::tag(None, db)],
    }
}

/// Finds the base of the database that holds `marker` at `db`: kept locally, else (for a
/// clone without local state) rebuilt at the run its own history vouches for.
pub fn load(
    annex: &Annex,
    cache: &mut Cache,
    items: &Items,
    missing: FieldSet,
    marker: Option<&Marker>,
    db: &Path,
) -> annex::Result<(Base, Found)> {
    let local = Local::new(&annex.repo, &annex.uuid);
    for tag in tags(marker, db) {
        let Some(stored) = cache.take_base(&tag).or_else(|| local.load_base(&tag)) else {
            continue;
        };
        if let Some(base) = Base::from_stored(annex, stored)? {
            return Ok((base, Found::Kept));
        }
    }
    if local.exists() {
        return Ok((Base::none(), Found::OtherDatabase));
    }
    let runs = vouch::own_runs(annex)?;
    let db_text = db.display().to_string();
    match vouch::base_run(&runs, marker, &db_text) {
        Some(run) => Ok((
            rebuild(annex, run, items, missing, &db_text)?,
            Found::Rebuilt,
        )),
        None if runs.is_empty() => Ok((Base::none(), Found::FirstSync)),
        None => Ok((Base::none(), Found::OtherDatabase)),
    }
}

/// The base at `run`'s commit: the keys this clone had synced then, with the digests of their
/// values there.
fn rebuild(
    annex: &Annex,
    run: &OwnRun,
    items: &Items,
    missing: FieldSet,
    db: &str,
) -> annex::Result<Base> {
    let commit = ObjectId::from_hex(run.commit.as_bytes())
        .map_err(|e| annex::Error::Git(gix::Error::from_error(e)))?;
    let record = &run.record;
    let held = held_values(&record.held);
    let mut reader = annex.tree_reader(commit)?;
    let synced = state::synced_ids(&mut reader, &annex.uuid)?;
    let mut digests = FxHashMap::default();
    for (k, item) in items {
        let Some(row) = synced.get(&state::synced_id(k)) else {
            continue;
        };
        let text = reader.read(&key::metadata_log_path(k))?.unwrap_or_default();
        let current = MetLog::parse(&text).current();
        let mut kept = item.m.to_values();
        kept.extend(
            held.get(&**k)
                .into_iter()
                .flatten()
                .map(|(f, v)| (*f, v.clone())),
        );
        let values = plan::base_values(&current, &kept, missing);
        let digest = fields::digest(&values);
        digests.insert(k.to_string(), Synced { digest, row: *row });
    }
    Ok(Base {
        commit: Some(commit),
        digests,
        held,
        carried: HashSet::new(),
        info: BaseInfo {
            commit: run.commit.clone(),
            run: record.run_id(),
            time: record.time.clone(),
            marker: record.marker.clone(),
            db: db.to_owned(),
            held: record.held.clone(),
            future: Vec::new(),
        },
        tag: Some(local::tag(record.marker.as_deref(), Path::new(db))),
    })
}

/// Keeps `base` locally as the base of the database that holds `marker` at `db` now,
/// replacing the file it was read from; returns it as kept.
pub fn save(
    annex: &Annex,
    mut base: Base,
    marker: Option<&Marker>,
    db: &Path,
) -> std::io::Result<StoredBase> {
    let local = Local::new(&annex.repo, &annex.uuid);
    let from = base.tag.take();
    base.info.db = db.display().to_string();
    let stored = base.into_stored(local::tag(marker.map(|m| m.current.as_str()), db));
    local.save_base(&stored, from.as_deref())?;
    Ok(stored)
}

/// A run record's held fields, by key.
fn held_values(held: &[HeldValue]) -> HashMap<String, Values> {
    let mut out: HashMap<String, Values> = HashMap::new();
    for h in held {
        if let Some(field) = fields::Field::from_name(&h.field) {
            let kept = h.kept.iter().cloned().collect();
            out.entry(h.key.clone()).or_default().insert(field, kept);
        }
    }
    out
}

/// The local cache, read on another thread while the first attempt reads Mixxx.
pub struct LoadingCache {
    loader: Option<std::thread::JoinHandle<Cache>>,
    cache: Cache,
}

impl LoadingCache {
    pub fn start(annex: &Annex) -> LoadingCache {
        let keys = state::keys_path(annex);
        let local = Local::new(&annex.repo, &annex.uuid);
        LoadingCache {
            loader: Some(std::thread::spawn(move || Cache::load(&keys, &local))),
            cache: Cache::default(),
        }
    }

    pub fn get_mut(&mut self) -> &mut Cache {
        if let Some(loader) = self.loader.take() {
            // A loader that panicked leaves an empty cache: keys are found again, the base
            // is read when needed.
            self.cache = loader.join().unwrap_or_default();
        }
        &mut self.cache
    }

    pub fn get(mut self) -> Cache {
        self.get_mut();
        self.cache
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_stays_in_the_future_until_its_time_comes() {
        let now = bounds::now_secs();
        let at = |secs: i64| Order::parse(&format!("{secs}s")).unwrap();
        let mut base = Base::none();
        base.info.future = vec![
            ("old".into(), format!("{}s", now - 10)),
            (
                "kept".into(),
                format!("{}s", now + 10 * bounds::FUTURE_SECS),
            ),
            ("junk".into(), "not a time".into()),
        ];
        let found = [
            ("new".to_owned(), at(now + 2 * bounds::FUTURE_SECS)),
            ("kept".to_owned(), at(now + 20 * bounds::FUTURE_SECS)),
            ("soon".to_owned(), at(now + 60)),
        ];
        let future = base.future(&found);
        let keys: Vec<&str> = future.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["kept", "new"]);
        assert_eq!(future[0].1, at(now + 20 * bounds::FUTURE_SECS).to_string());
        let far = Order::parse("99999999999999999999999999999999999999999s").unwrap();
        assert!(far.in_future(now));
    }

    #[test]
    fn rows_keep_their_base_only_where_they_were_synced() {
        let synced = |row| Synced {
            digest: 7,
            row: Some(row),
        };
        let mut base = Base::none();
        base.digests = FxHashMap::from_iter([
            ("same".to_owned(), synced(1)),
            ("rescanned".to_owned(), synced(2)),
            ("old".to_owned(), synced(3)),
            ("gone".to_owned(), synced(4)),
        ]);
        let item = |id| {
            Box::new(super::super::snapshot::Item::new(
                String::new(),
                id,
                fields::Row::new([None::<&str>]),
            ))
        };
        let items: Items = Items::from_iter([
            ("same".into(), item(1)),
            ("rescanned".into(), item(20)),
            ("retagged".into(), item(3)),
            ("new".into(), item(5)),
        ]);
        assert_eq!(
            base.match_rows(&items),
            [("retagged".to_owned(), "old".to_owned())]
        );
        let mut kept: Vec<&str> = base.digests.keys().map(String::as_str).collect();
        kept.sort_unstable();
        // A key no row has now keeps its base (a track removed from Mixxx for a while).
        assert_eq!(kept, ["gone", "old", "same"]);
    }
}

//! The base of the three-way merge: this clone's newest finished sync commit on the branch,
//! and the digest of each synced key's values there. Read from the local cache when it
//! describes that commit, else rebuilt from the branch (the cache is only for speed).

use super::plan;
use super::snapshot::Item;
use crate::annex::logmet::MetLog;
use crate::annex::{self, Annex, key};
use crate::fields;
use crate::fields::{FieldSet, Values};
use crate::mixxx::marker::Marker;
use crate::state::{self, Cache, HeldValue, Synced};
use gix::ObjectId;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet};

pub struct Base {
    /// This clone's newest finished sync commit; `None` before its first sync.
    pub commit: Option<ObjectId>,
    /// Each synced key's digest of values at `commit`, and the row they were synced with.
    pub digests: FxHashMap<String, Synced>,
    /// The marker the database held after that sync, if it recorded one.
    pub marker: Option<String>,
    /// Fields held at the base (a value Mixxx could not hold), with what Mixxx kept.
    pub held: HashMap<String, Values>,
    /// Keys whose base was carried over from the key their row was synced with
    /// ([`Base::carry`]): they are recorded as synced anew.
    pub carried: HashSet<String>,
}

impl Base {
    /// No base: a first sync, or a database the base does not belong to.
    pub fn none() -> Base {
        Base {
            commit: None,
            digests: FxHashMap::default(),
            marker: None,
            held: HashMap::new(),
            carried: HashSet::new(),
        }
    }

    /// Keys of this Mixxx without a base whose row was synced with another key that no row
    /// has now (a file re-tagged in place: new content, new key, same row), as (key, old key).
    pub fn retagged(&self, items: &FxHashMap<String, Item>) -> Vec<(String, String)> {
        let unbased: HashMap<i64, &String> = items
            .iter()
            .filter(|(k, _)| !self.digests.contains_key(*k))
            .filter_map(|(k, i)| Some((*i.track_ids.first()?, k)))
            .collect();
        if unbased.is_empty() {
            return Vec::new();
        }
        self.digests
            .iter()
            .filter(|(old, _)| !items.contains_key(*old))
            .filter_map(|(old, s)| Some(((*unbased.get(&s.row?)?).clone(), old.clone())))
            .collect()
    }

    /// Gives `key` the base of `old`.
    pub fn carry(&mut self, key: String, old: &str) {
        if let Some(synced) = self.digests.get(old).cloned() {
            self.digests.insert(key.clone(), synced);
            self.carried.insert(key);
        }
    }

    /// Forgets the base of every key whose Mixxx row is not the one it was synced with (a new
    /// row for a moved file, a row replaced by a rescan): such a row has no base.
    pub fn forget_other_rows(&mut self, items: &FxHashMap<String, Item>) {
        self.digests.retain(|k, synced| {
            items
                .get(k)
                .and_then(|i| i.track_ids.first())
                .is_none_or(|row| synced.belongs_to(*row))
        });
    }

    /// Whether the base was taken with another database than the one holding `marker` (a new
    /// one, a restored backup, a copy from another clone).
    pub fn belongs_elsewhere(&self, marker: Option<&Marker>) -> bool {
        self.marker
            .as_deref()
            .is_some_and(|recorded| !marker.is_some_and(|m| m.accepts(recorded)))
    }
}

/// Finds the base; the second value says it was rebuilt (and so should be saved).
pub fn load(
    annex: &Annex,
    tip: ObjectId,
    cache: &mut Cache,
    items: &FxHashMap<String, Item>,
    missing: FieldSet,
) -> annex::Result<(Base, bool)> {
    let Some((commit, record)) = state::find_base_commit(annex, tip)? else {
        return Ok((Base::none(), false));
    };
    if let Some(digests) = cache.take_base_for(commit) {
        let base = Base {
            commit: Some(commit),
            digests,
            held: held_values(&record.held),
            marker: record.marker,
            carried: HashSet::new(),
        };
        return Ok((base, false));
    }
    // Rebuild: the keys synced then, with the digests of their values at that commit.
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
            held.get(k)
                .into_iter()
                .flatten()
                .map(|(f, v)| (*f, v.clone())),
        );
        let values = plan::base_values(&current, &kept, missing);
        let digest = fields::digest(&values);
        digests.insert(k.clone(), Synced { digest, row: *row });
    }
    let base = Base {
        commit: Some(commit),
        digests,
        held,
        marker: record.marker,
        carried: HashSet::new(),
    };
    Ok((base, true))
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
        let path = state::cache_path(annex);
        LoadingCache {
            loader: Some(std::thread::spawn(move || Cache::load(&path))),
            cache: Cache::default(),
        }
    }

    pub fn get_mut(&mut self) -> &mut Cache {
        if let Some(loader) = self.loader.take() {
            // A loader that panicked leaves an empty cache, rebuilt from the branch.
            self.cache = loader.join().unwrap_or_default();
        }
        &mut self.cache
    }

    pub fn get(mut self) -> Cache {
        self.get_mut();
        self.cache
    }
}

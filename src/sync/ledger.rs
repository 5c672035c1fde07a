//! What this clone remembers of each Mixxx database it syncs besides its base, outside the
//! branch, in `$GIT_DIR/mixxx/<uuid>.ledger`: per database (recognised by the marker git-mixxx
//! keeps in it, [`crate::mixxx::marker`]),
//!
//! - the sessions of other clones added to it as history playlists ([`Imported`]), so that one
//!   the DJ deleted there is not added again, one that grows on its clone grows there too, and
//!   none is pushed as this clone's own;
//! - play counts a run wrote to it before the base that knows them was kept (committed on
//!   the branch and saved in this clone's local state, [`crate::state::local`])
//!   ([`Database::pending`]): a run stopped in between leaves Mixxx holding a total the base
//!   knows nothing of, which the next run must not take for plays made here.
//!
//! Both can be lost without harm beyond the next run: imported sessions are recognised again
//! by their entries and times, and pending counts matter only until a run finishes. Loading
//! and saving go through [`Ledger`] alone.

use crate::annex::Annex;
use crate::mixxx::marker::Marker;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many databases the ledger remembers (the newest saved).
const DATABASES: usize = 4;

/// A session of another clone added to this database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// The history playlist it became (gone when the DJ deleted it): its id and creation time
    /// (Mixxx may give a deleted playlist's id to a new one, never its creation time).
    pub playlist: i64,
    pub created: Option<String>,
    /// How many of the session's entries it took (later ones are appended as it grows).
    pub taken: usize,
}

/// What the ledger holds of one database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// The marker the database held when this was saved.
    pub marker: String,
    /// Sessions of other clones added to it, by source ([`source`]).
    pub imported: BTreeMap<String, Imported>,
    /// Play counts runs wrote to it and did not commit: for the marker each run left in the
    /// database, the count each key's base acknowledges instead of its own
    /// ([`crate::sync::plan::Past::acknowledged`]).
    pub pending: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The name under which a session of clone `uuid` is remembered.
pub fn source(uuid: &str, session: &str) -> String {
    format!("{uuid} {session}")
}

impl Database {
    /// The pending counts that stand for this database's state: those of the run that left
    /// its current marker, unless the base is that run's (then the base knows them).
    pub fn acknowledged(
        &self,
        db: Option<&Marker>,
        base: Option<&str>,
    ) -> rustc_hash::FxHashMap<String, u64> {
        let Some(current) = db.map(|m| m.current.as_str()) else {
            return Default::default();
        };
        if base == Some(current) {
            return Default::default();
        }
        self.pending
            .get(current)
            .map(|p| p.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// Records the counts a run is about to write with marker `next`: `written` on top of
    /// those still standing for the database's current marker (kept too, in case the write
    /// does not happen).
    pub fn note_pending(
        &mut self,
        current: Option<&str>,
        next: &str,
        written: impl IntoIterator<Item = (String, u64)>,
    ) {
        let mut standing = current
            .and_then(|c| self.pending.get(c))
            .cloned()
            .unwrap_or_default();
        standing.extend(written);
        self.pending.retain(|m, _| Some(m.as_str()) == current);
        self.pending.insert(next.to_owned(), standing);
    }
}

/// The ledger file of one clone.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    databases: Vec<Database>,
}

/// Where the ledger of `annex`'s clone lives.
pub fn path(annex: &Annex) -> PathBuf {
    crate::state::local_dir(&annex.repo).join(format!("{}.ledger", annex.uuid))
}

impl Ledger {
    /// The ledger at `path`; an unreadable or missing one is empty.
    pub fn load(path: &Path) -> Ledger {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// What it holds of the database holding `marker` (empty when it knows none).
    pub fn database(&self, marker: Option<&Marker>) -> Database {
        let known = |d: &&Database| marker.is_some_and(|m| m.accepts(&d.marker));
        self.databases
            .iter()
            .find(known)
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces what it holds of the database that held `before` with `db` (whose marker is
    /// the one the database holds now).
    pub fn set(&mut self, before: Option<&Marker>, db: Database) {
        self.databases
            .retain(|d| d.marker != db.marker && !before.is_some_and(|m| m.accepts(&d.marker)));
        self.databases.insert(0, db);
        self.databases.truncate(DATABASES);
    }

    /// Writes the ledger to `path` atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write as _;
        let dir = path.parent().unwrap_or(path);
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(current: &str, previous: Option<&str>) -> Marker {
        Marker {
            current: current.to_owned(),
            previous: previous.map(str::to_owned),
        }
    }

    #[test]
    fn a_database_is_known_by_its_marker_and_pending_counts_by_the_write_they_follow() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("uuid.ledger");
        let mut db = Database {
            marker: "m1".into(),
            ..Database::default()
        };
        db.imported.insert(
            source("u2", "s1"),
            Imported {
                playlist: 7,
                created: Some("2026-12-05 20:00:00".into()),
                taken: 3,
            },
        );
        // A run about to write m2 over m1 notes what it writes.
        db.note_pending(Some("m1"), "m2", [("K".to_owned(), 12)]);
        let mut ledger = Ledger::default();
        ledger.set(None, db);
        ledger.save(&file).unwrap();
        let ledger = Ledger::load(&file);
        let after = marker("m2", Some("m1"));
        let db = ledger.database(Some(&after));
        assert_eq!(db.imported[&source("u2", "s1")].playlist, 7);
        // The write happened and was not committed: the count stands.
        assert_eq!(db.acknowledged(Some(&after), Some("m1"))["K"], 12);
        // It was committed: the base knows it.
        assert!(db.acknowledged(Some(&after), Some("m2")).is_empty());
        // It did not happen: the database still holds m1.
        assert!(
            db.acknowledged(Some(&marker("m1", None)), Some("m1"))
                .is_empty()
        );
        // Another database.
        assert_eq!(
            ledger.database(Some(&marker("x", None))),
            Database::default()
        );
        assert!(Ledger::load(&dir.path().join("none")).databases.is_empty());
    }
}

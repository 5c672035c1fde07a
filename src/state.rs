//! Sync state. This clone's own (what it last synced, per Mixxx database, and its runs) is
//! kept locally and is authoritative ([`local`]); the branch carries a copy for everyone to
//! see, read back into this clone only as far as its own history vouches for it ([`vouch`]).
//!
//! On the git-annex branch, under `mixxx/<clone uuid>/` (line-oriented, so git-annex's union
//! merge combines clones cleanly):
//!
//! - `runs`: one line per sync that committed: `<UTC time> <JSON record>` (host, database,
//!   version, counts, the branch commit it reconciled with, whether it finished, conflicts).
//! - `synced/<xx>`: the keys this clone has synced, each as the first 64 bits of its MD5 in
//!   hex, sharded by their first two digits, with the Mixxx row each was synced with.
//!
//! Each run's commit names its clone and run in trailers ([`TRAILER_CLONE`], [`TRAILER_RUN`]).
//! Whatever is read from the branch is read within [`crate::bounds`]. A cache in
//! `$GIT_DIR/mixxx/` keeps the keys of work-tree blobs for speed ([`Cache`]).

pub mod local;
pub mod vouch;

use crate::annex::{self, Annex, TreeReader};
use crate::bounds;
use crate::fields::Digest;
use gix::ObjectId;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const TRAILER_CLONE: &str = "git-mixxx-clone:";
pub const TRAILER_FINISHED: &str = "git-mixxx-finished: yes";
/// The trailer that names a commit's run by its short id ([`RunRecord::run_id`]).
pub const TRAILER_RUN: &str = "git-mixxx-run:";
/// The trailer of an undo's commit: the id of the run it reverted.
pub const TRAILER_UNDO: &str = "git-mixxx-undo:";

/// A conflict: both sides changed a field differently since the base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub path: String,
    pub key: String,
    pub field: String,
    pub mixxx: Vec<String>,
    pub branch: Vec<String>,
    /// `git` or `mixxx`.
    pub winner: String,
    /// What both sides held afterwards (empty in records older than this field: then the
    /// winner's side).
    #[serde(default)]
    pub result: Vec<String>,
}

impl Conflict {
    /// What the conflict left on both sides.
    pub fn left(&self) -> &[String] {
        match (self.result.is_empty(), self.winner.as_str()) {
            (false, _) => &self.result,
            (true, "mixxx") => &self.mixxx,
            (true, _) => &self.branch,
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: Mixxx {:?}, branch {:?}, {} won",
            self.path,
            self.field,
            self.mixxx.join(","),
            self.branch.join(","),
            self.winner
        )
    }
}

/// What a sync run records on the branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub time: String,
    pub uuid: String,
    pub host: String,
    pub db: String,
    pub version: String,
    /// Tracks of this Mixxx that map to annexed files.
    pub tracks: usize,
    pub pushed: usize,
    pub pulled: usize,
    /// The branch commit this run read and reconciled with.
    pub reconciled: String,
    /// False when changes from the branch could not be applied to Mixxx yet.
    pub finished: bool,
    pub conflict_count: usize,
    /// The first conflicts (at most [`CONFLICTS_KEPT`]).
    pub conflicts: Vec<Conflict>,
    /// The marker the database held after this run ([`crate::mixxx::marker`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// The marker it held before `marker` (empty when it had none; absent in records older
    /// than this field): a copy of the database that holds it is older than this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Fields whose branch value Mixxx could not hold, with the value Mixxx kept: the base of
    /// those fields for the next run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldValue>,
    /// The run's short id ([`run_id`]); empty in records older than it, whose id is derived
    /// the same way ([`RunRecord::run_id`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The id of the run this one reverted (`git mixxx undo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undid: Option<String>,
}

/// A field held back by a run: the key, the field and what Mixxx kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldValue {
    pub key: String,
    pub field: String,
    pub kept: Vec<String>,
}

/// How many conflicts a run line lists in full.
pub const CONFLICTS_KEPT: usize = 200;

pub fn runs_path(uuid: &str) -> String {
    format!("mixxx/{uuid}/runs")
}

/// The id under which a synced key is recorded: the first 64 bits of its MD5, in hex (a
/// collision among 100,000 keys has a chance of about one in three billion, and costs only a
/// missing base for one track).
pub fn synced_id(key: &str) -> String {
    let digest = Md5::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("{:016x}", u64::from_be_bytes(first))
}

/// The shard file that records `id`.
pub fn synced_shard(uuid: &str, id: &str) -> String {
    format!("mixxx/{uuid}/synced/{}", &id[..2])
}

/// A run's short id: the first 8 hex digits of the MD5 of its clone and time, so that a record
/// older than the id gets the same one whenever it is read.
pub fn run_id(uuid: &str, time: &str) -> String {
    let digest = Md5::digest(format!("{uuid} {time}").as_bytes());
    faster_hex::hex_string(&digest[..4])
}

impl RunRecord {
    /// The run's short id, as recorded or (in older records) derived ([`run_id`]).
    pub fn run_id(&self) -> String {
        if self.id.is_empty() {
            run_id(&self.uuid, &self.time)
        } else {
            self.id.clone()
        }
    }

    pub fn to_line(&self) -> String {
        let json = serde_json::to_string(self).expect("a run record always serializes");
        format!("{} {json}", self.time)
    }

    pub fn parse_line(line: &str) -> Option<RunRecord> {
        let (_, json) = line.split_once(' ')?;
        serde_json::from_str(json).ok()
    }
}

/// The run records of the `runs` file at `file`, oldest first (records beyond
/// [`bounds::RECORD_BYTES`] skipped and noted, malformed ones skipped).
pub fn parse_runs(text: &str, file: &str) -> Vec<RunRecord> {
    let mut runs: Vec<RunRecord> = bounds::lines(text, file, bounds::RECORD_BYTES)
        .into_iter()
        .filter_map(RunRecord::parse_line)
        .collect();
    runs.sort_by(|a, b| a.time.cmp(&b.time));
    runs
}

/// Every clone's run records at a branch commit, oldest first, clone by clone (the first
/// [`bounds::CLONES`] clones).
pub fn all_runs(reader: &mut TreeReader<'_>) -> annex::Result<Vec<Vec<RunRecord>>> {
    let clones = reader.dirs_in("mixxx")?;
    if clones.len() > bounds::CLONES {
        bounds::note(bounds::Skipped {
            file: "mixxx/".to_owned(),
            beyond: bounds::Beyond::Clones {
                count: clones.len() - bounds::CLONES,
            },
        });
    }
    let mut out = Vec::new();
    for uuid in clones.into_iter().take(bounds::CLONES) {
        let path = runs_path(&uuid);
        if let Some(text) = reader.read(&path)? {
            out.push(parse_runs(&text, &path));
        }
    }
    Ok(out)
}

/// The ids ([`synced_id`]) of the keys this clone had synced as of a branch commit, with the
/// Mixxx row each was synced with (when recorded).
pub fn synced_ids(
    reader: &mut TreeReader<'_>,
    uuid: &str,
) -> annex::Result<HashMap<String, Option<i64>>> {
    let mut keys = HashMap::new();
    for path in reader.files_in(&format!("mixxx/{uuid}/synced"))? {
        if let Some(text) = reader.read(&path)? {
            keys.extend(
                bounds::lines(&text, &path, SYNCED_LINE_BYTES)
                    .into_iter()
                    .filter_map(parse_synced_line),
            );
        }
    }
    Ok(keys)
}

/// The longest line of a `synced/<xx>` file: an id and a row are 36 bytes at most.
pub const SYNCED_LINE_BYTES: usize = 64;

/// A line of a `synced/<xx>` file: `<id>` or `<id> <row>`.
pub fn parse_synced_line(line: &str) -> Option<(String, Option<i64>)> {
    let mut words = line.split(' ');
    let id = words.next().filter(|w| !w.is_empty())?;
    Some((id.to_owned(), words.next().and_then(|r| r.parse().ok())))
}

/// Appends a line of a `synced/<xx>` file ([`parse_synced_line`]).
pub fn push_synced_line(out: &mut String, id: &str, row: Option<i64>) {
    use std::fmt::Write as _;
    out.push_str(id);
    if let Some(row) = row {
        // Writing to a string cannot fail.
        let _ = write!(out, " {row}");
    }
    out.push('\n');
}

/// What the base holds of a synced key: the digest of its values, and the Mixxx row (library
/// id) they were synced with: another row (a new one for a moved file) has no base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Synced {
    pub digest: Digest,
    /// `None` when not recorded (by an older git-mixxx).
    pub row: Option<i64>,
}

impl Synced {
    /// Whether this base belongs to Mixxx row `row`.
    pub fn belongs_to(&self, row: i64) -> bool {
        self.row.is_none_or(|r| r == row)
    }
}

/// What a run reads from `$GIT_DIR/mixxx/` before it knows which database it syncs: the keys
/// of work-tree blobs (a cache, `<uuid>.keys`, rewritten only when it learned keys; a missing,
/// old or unreadable one only costs time) and, ahead of need, the base saved last
/// ([`local`]), which is most runs' base.
#[derive(Debug, Default)]
pub struct Cache {
    pub keys_by_blob: HashMap<ObjectId, crate::worktree::Key>,
    base: Option<local::StoredBase>,
}

pub(crate) const CACHE_HEADER: &str = concat!("git-mixxx cache 9 ", env!("CARGO_PKG_VERSION"));

/// `$GIT_DIR/mixxx/`: git-mixxx's local files (this clone's state, the cache, the no-change
/// fingerprint, the hook lock and log), shared by all work trees of the repository.
pub fn local_dir(repo: &gix::Repository) -> PathBuf {
    repo.common_dir().join("mixxx")
}

/// Where the keys cache of `annex` lives.
pub fn keys_path(annex: &Annex) -> PathBuf {
    local_dir(&annex.repo).join(format!("{}.keys", annex.uuid))
}

/// The lines of a cache file's text after its header; `None` when from another version.
fn cache_lines(text: &str) -> Option<&str> {
    let (header, rest) = text.split_once('\n')?;
    (header == CACHE_HEADER).then_some(rest)
}

/// Appends `<hex of bytes> <text>\n` (formatted by hand: 100,000 lines through `write!`
/// take a noticeable part of a sync after a small change).
fn push_line(out: &mut Vec<u8>, bytes: &[u8], text: &str) {
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    // The slice is exactly twice the input, which is all hex encoding needs.
    let _ = faster_hex::hex_encode(bytes, &mut out[start..]);
    out.push(b' ');
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
}

impl Cache {
    /// Loads the keys cache at `keys` ([`keys_path`]; what is missing or unreadable is empty)
    /// and the base `local` saved last.
    pub fn load(keys: &Path, local: &local::Local) -> Cache {
        let mut cache = Cache::default();
        let text = std::fs::read_to_string(keys).unwrap_or_default();
        if let Some(lines) = cache_lines(&text) {
            // Sized once: growing a table of a million keys moves each several times.
            cache.keys_by_blob.reserve(local::line_count(lines));
            for line in lines.lines() {
                let Some((blob, key)) = line.split_once(' ') else {
                    cache.keys_by_blob.clear();
                    break;
                };
                if let Ok(blob) = ObjectId::from_hex(blob.as_bytes()) {
                    cache.keys_by_blob.insert(blob, key.into());
                }
            }
        }
        cache.base = local
            .newest_base_tag()
            .and_then(|tag| local.load_base(&tag));
        cache
    }

    /// Takes the base read ahead out of the cache if it is the one kept as `tag`.
    pub fn take_base(&mut self, tag: &str) -> Option<local::StoredBase> {
        self.base.take_if(|b| b.tag == tag)
    }

    /// Keeps `base` for the next attempt of the run.
    pub fn put_base(&mut self, base: local::StoredBase) {
        self.base = Some(base);
    }

    /// Saves the blob keys atomically.
    pub fn save_keys(&self, path: &Path) -> std::io::Result<()> {
        let mut out = format!("{CACHE_HEADER}\n").into_bytes();
        out.reserve(self.keys_by_blob.len() * 160);
        for (blob, key) in &self.keys_by_blob {
            push_line(&mut out, blob.as_bytes(), key);
        }
        local::write_atomically(path, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_older_than_run_ids_get_a_stable_derived_one() {
        let old = r#"2026-01-01T10:00:00Z {"time":"2026-01-01T10:00:00Z","uuid":"u1","host":"h","db":"d","version":"0.1.0","tracks":1,"pushed":1,"pulled":0,"reconciled":"c","finished":true,"conflict_count":0,"conflicts":[]}"#;
        let record = RunRecord::parse_line(old).expect("an old record parses");
        assert!(record.id.is_empty() && record.undid.is_none());
        let id = record.run_id();
        assert_eq!(id.len(), 8);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, run_id("u1", "2026-01-01T10:00:00Z"));
        assert_ne!(id, run_id("u2", "2026-01-01T10:00:00Z"));
        // A record that has one keeps it, and writes it.
        let mut new = record.clone();
        new.id = "0123abcd".to_owned();
        new.undid = Some(id.clone());
        let back = RunRecord::parse_line(&new.to_line()).unwrap();
        assert_eq!(
            (back.run_id(), back.undid),
            ("0123abcd".to_owned(), Some(id))
        );
    }

    #[test]
    fn the_keys_cache_round_trips_and_an_old_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixxx").join("uuid.keys");
        let local = local::Local::at(dir.path().join("mixxx").join("uuid"));
        let blob = ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        let mut cache = Cache::default();
        cache
            .keys_by_blob
            .insert(blob, "SHA256E-s1--ab cd.flac".into());
        cache.save_keys(&path).unwrap();
        let loaded = Cache::load(&path, &local);
        assert_eq!(loaded.keys_by_blob, cache.keys_by_blob);
        assert!(loaded.base.is_none());
        std::fs::write(&path, "git-mixxx cache 1 old\nk x y\n").unwrap();
        assert!(Cache::load(&path, &local).keys_by_blob.is_empty());
    }
}

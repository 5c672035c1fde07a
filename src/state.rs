//! Sync state. On the git-annex branch, under `mixxx/<clone uuid>/` (line-oriented, so
//! git-annex's union merge combines clones cleanly):
//!
//! - `runs`: one line per sync that committed: `<UTC time> <JSON record>` (host, database,
//!   version, counts, the branch commit it reconciled with, whether it finished, conflicts).
//! - `synced/<xx>`: the keys this clone has synced, each as the first 64 bits of its MD5 in
//!   hex, sharded by their first two digits, so a later sync knows which tracks have a base.
//!
//! The base of the three-way merge is the branch tree of this clone's newest *finished* sync
//! commit, marked in its message by [`TRAILER_CLONE`] and [`TRAILER_FINISHED`]. A local
//! cache in `$GIT_DIR/mixxx/` keeps the base values for speed; it is rebuilt from the branch
//! whenever it is missing, stale or unreadable.

use crate::annex::{self, Annex, TreeReader};
use crate::fields::Digest;
use gix::ObjectId;
use md5::{Digest as _, Md5};
use rustc_hash::FxHashMap;
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

/// All run records of a `runs` file, oldest first.
pub fn parse_runs(text: &str) -> Vec<RunRecord> {
    let mut runs: Vec<RunRecord> = text.lines().filter_map(RunRecord::parse_line).collect();
    runs.sort_by(|a, b| a.time.cmp(&b.time));
    runs
}

/// Every clone's run records at a branch commit, oldest first, clone by clone.
pub fn all_runs(reader: &mut TreeReader<'_>) -> annex::Result<Vec<Vec<RunRecord>>> {
    let mut out = Vec::new();
    for uuid in reader.dirs_in("mixxx")? {
        if let Some(text) = reader.read(&runs_path(&uuid))? {
            out.push(parse_runs(&text));
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
            keys.extend(text.lines().filter_map(parse_synced_line));
        }
    }
    Ok(keys)
}

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

/// Finds this clone's newest finished sync commit reachable from `tip`, if it has one, with
/// that run's record.
pub fn find_base_commit(
    annex: &Annex,
    tip: ObjectId,
) -> annex::Result<Option<(ObjectId, RunRecord)>> {
    let runs = annex.tree_reader(tip)?.read(&runs_path(&annex.uuid))?;
    let Some(last_finished) = runs
        .as_deref()
        .map(parse_runs)
        .and_then(|r| r.into_iter().rev().find(|r| r.finished))
    else {
        return Ok(None);
    };
    // Commits older than a day before that run cannot be it (clocks may be a little off).
    let cutoff = chrono::DateTime::parse_from_rfc3339(&last_finished.time)
        .map(|t| t.timestamp() - 86_400)
        .unwrap_or(i64::MIN);
    let clone_line = format!("{TRAILER_CLONE} {}", annex.uuid);
    use gix::revision::walk::Sorting;
    use gix::traverse::commit::simple::CommitTimeOrder;
    let walk = annex
        .repo
        .rev_walk([tip])
        .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
        .all()?;
    for info in walk {
        let info = info?;
        let commit = info.object()?;
        if commit.time()?.seconds < cutoff {
            break;
        }
        let message = commit.message_raw()?;
        let message = String::from_utf8_lossy(message);
        if message.lines().any(|l| l == clone_line)
            && message.lines().any(|l| l == TRAILER_FINISHED)
        {
            return Ok(Some((info.id, last_finished)));
        }
    }
    Ok(None)
}

/// The local cache in `$GIT_DIR/mixxx/`: `<uuid>.base`, the digest of each synced key's
/// values at the base commit, and `<uuid>.keys`, the keys of work-tree blobs (rewritten only
/// when it learned keys, so a sync after a small change rewrites the first only). Everything in
/// it can be rebuilt from the branch and the object database; a missing, old or unreadable
/// cache only costs time.
#[derive(Debug, Default)]
pub struct Cache {
    base: Option<(ObjectId, FxHashMap<String, Synced>)>,
    pub keys_by_blob: HashMap<ObjectId, String>,
}

pub(crate) const CACHE_HEADER: &str = concat!("git-mixxx cache 9 ", env!("CARGO_PKG_VERSION"));

/// `$GIT_DIR/mixxx/`: git-mixxx's local files (the cache, the no-change fingerprint, the hook
/// lock and log), shared by all work trees of the repository.
pub fn local_dir(repo: &gix::Repository) -> PathBuf {
    repo.common_dir().join("mixxx")
}

/// Where the cache of `annex` lives: the files are this path with `.base` and `.keys` added.
pub fn cache_path(annex: &Annex) -> PathBuf {
    local_dir(&annex.repo).join(&annex.uuid)
}

fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(ext);
    PathBuf::from(name)
}

/// The lines of a cache file after its header; `None` when missing or from another version.
fn cache_lines(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let (header, rest) = text.split_once('\n')?;
    (header == CACHE_HEADER).then(|| rest.to_owned())
}

/// Writes a cache file atomically: the header, then `body`.
fn write_cache_file(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(path);
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(format!("{CACHE_HEADER}\n").as_bytes())?;
    tmp.write_all(body)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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

/// A line of the `.base` file: `<digest> <row or -> <key>`.
fn parse_base_line(line: &str) -> Option<(&str, Synced)> {
    let (digest, rest) = line.split_once(' ')?;
    let (row, key) = rest.split_once(' ')?;
    let synced = Synced {
        digest: Digest::from_str_radix(digest, 16).ok()?,
        row: match row {
            "-" => None,
            row => Some(row.parse().ok()?),
        },
    };
    Some((key, synced))
}

/// Appends a `.base` line, `<digest> <row or -> <key>` ([`parse_base_line`]).
fn push_base_line(out: &mut Vec<u8>, synced: &Synced, key: &str) {
    use std::io::Write as _;
    let start = out.len();
    out.resize(start + 32, 0);
    // The slice is exactly twice the digest's 16 bytes, which is all hex encoding needs.
    let _ = faster_hex::hex_encode(&synced.digest.to_be_bytes(), &mut out[start..]);
    // Writing to a vector cannot fail.
    let _ = match synced.row {
        Some(row) => write!(out, " {row} "),
        None => write!(out, " - "),
    };
    out.extend_from_slice(key.as_bytes());
    out.push(b'\n');
}

impl Cache {
    /// Loads the cache at `path` ([`cache_path`]); what is missing or unreadable is empty.
    pub fn load(path: &Path) -> Cache {
        let mut cache = Cache::default();
        if let Some(text) = cache_lines(&with_extension(path, ".keys")) {
            for line in text.lines() {
                let Some((blob, key)) = line.split_once(' ') else {
                    cache.keys_by_blob.clear();
                    break;
                };
                if let Ok(blob) = ObjectId::from_hex(blob.as_bytes()) {
                    cache.keys_by_blob.insert(blob, key.to_owned());
                }
            }
        }
        if let Some(text) = cache_lines(&with_extension(path, ".base")) {
            let mut lines = text.lines();
            let commit = lines
                .next()
                .and_then(|l| ObjectId::from_hex(l.as_bytes()).ok());
            let mut digests = FxHashMap::default();
            for line in lines {
                match parse_base_line(line) {
                    Some((key, synced)) => {
                        digests.insert(key.to_owned(), synced);
                    }
                    None => {
                        return Cache {
                            base: None,
                            ..cache
                        };
                    }
                }
            }
            cache.base = commit.map(|c| (c, digests));
        }
        cache
    }

    /// Takes the base digests out of the cache if they describe `commit` (put them back with
    /// [`Cache::set_base`]).
    pub fn take_base_for(&mut self, commit: ObjectId) -> Option<FxHashMap<String, Synced>> {
        match self.base.take() {
            Some((c, digests)) if c == commit => Some(digests),
            other => {
                self.base = other;
                None
            }
        }
    }

    pub fn set_base(&mut self, commit: ObjectId, digests: FxHashMap<String, Synced>) {
        self.base = Some((commit, digests));
    }

    /// Saves the base digests, and the blob keys when `keys_changed`, each file atomically.
    pub fn save(&self, path: &Path, keys_changed: bool) -> std::io::Result<()> {
        if keys_changed {
            let mut out = Vec::with_capacity(self.keys_by_blob.len() * 160);
            for (blob, key) in &self.keys_by_blob {
                push_line(&mut out, blob.as_bytes(), key);
            }
            write_cache_file(&with_extension(path, ".keys"), &out)?;
        }
        if let Some((commit, digests)) = &self.base {
            let mut out = Vec::with_capacity(digests.len() * 140);
            out.extend_from_slice(format!("{commit}\n").as_bytes());
            for (key, synced) in digests {
                push_base_line(&mut out, synced, key);
            }
            write_cache_file(&with_extension(path, ".base"), &out)?;
        }
        Ok(())
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
    fn cache_round_trips_and_a_damaged_file_only_loses_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixxx").join("uuid");
        let blob = ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        let commit = ObjectId::from_hex(b"89abcdef0123456789abcdef0123456789abcdef").unwrap();
        let mut cache = Cache::default();
        cache
            .keys_by_blob
            .insert(blob, "SHA256E-s1--ab cd.flac".to_owned());
        let synced = Synced {
            digest: 7u128 << 100 | 5,
            row: Some(42),
        };
        cache.set_base(commit, FxHashMap::from_iter([("K1".to_owned(), synced)]));
        cache.save(&path, true).unwrap();

        let mut loaded = Cache::load(&path);
        assert_eq!(loaded.keys_by_blob, cache.keys_by_blob);
        let digests = loaded.take_base_for(commit).expect("base of that commit");
        assert_eq!(digests["K1"], synced);
        assert!(Cache::load(&path).take_base_for(blob).is_none());

        let base_file = with_extension(&path, ".base");
        let text = std::fs::read_to_string(&base_file).unwrap();
        std::fs::write(&base_file, format!("{text}zz not-a-digest\n")).unwrap();
        let mut damaged = Cache::load(&path);
        assert!(damaged.take_base_for(commit).is_none());
        assert_eq!(damaged.keys_by_blob, cache.keys_by_blob);

        std::fs::write(
            with_extension(&path, ".keys"),
            "git-mixxx cache 1 old\nk x y\n",
        )
        .unwrap();
        assert!(Cache::load(&path).keys_by_blob.is_empty());
    }
}

//! This clone's own sync state, in `$GIT_DIR/mixxx/<uuid>/`: authoritative, since nothing on
//! the git-annex branch (which any clone writes) may decide what this clone last synced or
//! which run `undo` reverts. The branch's copy under `mixxx/<uuid>/` is read back only while
//! this folder is missing, and then only as far as this clone's history vouches for it
//! ([`super::vouch`]).
//!
//! - `runs`: this clone's runs, oldest first, one JSON line each: the run record (without its
//!   conflicts) and the commit the run made, appended as each run commits; the newest
//!   [`RUNS_KEPT`] are kept.
//! - `base-<tag>`: the base of one Mixxx database, recognised by the marker it holds
//!   ([`tag`]): the commit, the run that settled it, the marker, the database's path, the
//!   fields held, the keys whose newest metadata line is dated in the future, then each synced
//!   key's digest and row. At most [`BASES_KEPT`] databases are remembered.
//!
//! Every file is written whole to a temporary file and renamed over the old one: a kill at any
//! point leaves the old state or the new.

use super::{HeldValue, RunRecord, Synced};
use crate::fields::Digest;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How many of its own runs a clone keeps locally.
pub const RUNS_KEPT: usize = 1000;
/// How many databases' bases a clone keeps; the least recently synced go first.
pub const BASES_KEPT: usize = 16;

const RUNS_HEADER: &str = "git-mixxx runs 1";
const BASE_HEADER: &str = "git-mixxx base 1";

/// One of this clone's runs, as it recorded it itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnRun {
    /// The commit the run made on the git-annex branch.
    pub commit: String,
    #[serde(flatten)]
    pub record: RunRecord,
}

/// What a base file says besides its digests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseInfo {
    /// The branch commit of the run that settled it.
    pub commit: String,
    /// That run's id.
    pub run: String,
    /// When it settled, by this machine's clock (RFC 3339).
    pub time: String,
    /// The marker the database held after that run; `None` for a database without one.
    pub marker: Option<String>,
    /// The database's path at that run.
    pub db: String,
    /// Fields held at the base (a value Mixxx could not hold), with what Mixxx kept.
    #[serde(default)]
    pub held: Vec<HeldValue>,
    /// Keys whose newest metadata line was dated in the future, with that line's time.
    #[serde(default)]
    pub future: Vec<(String, String)>,
}

/// A database's base as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredBase {
    pub tag: String,
    pub info: BaseInfo,
    pub digests: FxHashMap<String, Synced>,
}

/// The name under which the base of a database is kept: from the marker it holds, or (a
/// database without one) from its path.
pub fn tag(marker: Option<&str>, db: &Path) -> String {
    use md5::{Digest as _, Md5};
    let seed = match marker {
        Some(m) => format!("marker {m}"),
        None => format!("path {}", db.display()),
    };
    faster_hex::hex_string(&Md5::digest(seed.as_bytes())[..8])
}

/// This clone's local state folder.
#[derive(Clone, Debug)]
pub struct Local {
    dir: PathBuf,
}

impl Local {
    pub fn new(repo: &gix::Repository, uuid: &str) -> Local {
        Local {
            dir: super::local_dir(repo).join(uuid),
        }
    }

    #[cfg(test)]
    pub(crate) fn at(dir: PathBuf) -> Local {
        Local { dir }
    }

    /// Whether the folder exists: this clone kept state here (else it may be re-made, or its
    /// state from an older git-mixxx, which kept it on the branch).
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    fn base_path(&self, tag: &str) -> PathBuf {
        self.dir.join(format!("base-{tag}"))
    }

    /// The base kept as `tag`, if it is there and whole.
    pub fn load_base(&self, tag: &str) -> Option<StoredBase> {
        let text = std::fs::read_to_string(self.base_path(tag)).ok()?;
        let mut lines = text.lines();
        (lines.next()? == BASE_HEADER).then_some(())?;
        let info: BaseInfo = serde_json::from_str(lines.next()?).ok()?;
        let mut digests = FxHashMap::default();
        digests.reserve(line_count(&text).saturating_sub(2));
        for line in lines {
            let (key, synced) = parse_base_line(line)?;
            digests.insert(key.to_owned(), synced);
        }
        Some(StoredBase {
            tag: tag.to_owned(),
            info,
            digests,
        })
    }

    /// The tag of the base saved last, if any: most runs sync the database of the run before.
    pub fn newest_base_tag(&self) -> Option<String> {
        self.base_files()
            .into_iter()
            .max_by_key(|(_, time)| *time)
            .map(|(tag, _)| tag)
    }

    /// The bases kept, newest first: tag and what each says besides its digests.
    pub fn bases(&self) -> Vec<(String, BaseInfo)> {
        let mut files = self.base_files();
        files.sort_by_key(|(_, time)| std::cmp::Reverse(*time));
        files
            .into_iter()
            .filter_map(|(tag, _)| {
                use std::io::BufRead as _;
                let file = std::fs::File::open(self.base_path(&tag)).ok()?;
                let mut lines = std::io::BufReader::new(file).lines();
                (lines.next()?.ok()? == BASE_HEADER).then_some(())?;
                let info = serde_json::from_str(&lines.next()?.ok()?).ok()?;
                Some((tag, info))
            })
            .collect()
    }

    /// Removes the temporary files a killed run left (call with git-annex's journal lock held:
    /// a run writes this folder only while it holds it, so no other run is writing one).
    pub fn remove_temporary_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The base files' tags with their modification times.
    fn base_files(&self) -> Vec<(String, std::time::SystemTime)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let tag = name.strip_prefix("base-")?.to_owned();
                let time = e.metadata().ok()?.modified().ok()?;
                (!tag.contains('.')).then_some((tag, time))
            })
            .collect()
    }

    /// Saves `base`, replacing the base kept as `replaces` (the one it grew from, when the
    /// database's marker changed), and forgets the least recently synced databases beyond
    /// [`BASES_KEPT`].
    pub fn save_base(&self, base: &StoredBase, replaces: Option<&str>) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(base.digests.len() * 140 + 1024);
        out.extend_from_slice(BASE_HEADER.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&serde_json::to_vec(&base.info).map_err(std::io::Error::other)?);
        out.push(b'\n');
        for (key, synced) in &base.digests {
            push_base_line(&mut out, synced, key);
        }
        write_atomically(&self.base_path(&base.tag), &out)?;
        if let Some(old) = replaces.filter(|old| *old != base.tag) {
            remove_if_there(&self.base_path(old))?;
        }
        // The cache of the base an older git-mixxx kept beside this folder.
        remove_if_there(&self.dir.with_extension("base"))?;
        let mut files = self.base_files();
        if files.len() > BASES_KEPT {
            files.sort_by_key(|(_, time)| std::cmp::Reverse(*time));
            for (tag, _) in &files[BASES_KEPT..] {
                remove_if_there(&self.base_path(tag))?;
            }
        }
        Ok(())
    }

    /// Forgets the base kept as `tag` (a database restored from a backup is no longer the one
    /// it describes).
    pub fn forget_base(&self, tag: &str) -> std::io::Result<()> {
        remove_if_there(&self.base_path(tag))
    }

    /// This clone's runs as kept here, oldest first (none when the file is missing; a line
    /// that is not whole is skipped).
    pub fn runs(&self) -> Vec<OwnRun> {
        let Ok(text) = std::fs::read_to_string(self.dir.join("runs")) else {
            return Vec::new();
        };
        let mut lines = text.lines();
        if lines.next() != Some(RUNS_HEADER) {
            return Vec::new();
        }
        lines.filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// Appends `runs` (oldest first) to this clone's runs, keeping the newest [`RUNS_KEPT`];
    /// their conflicts are left out (the branch's records list them).
    pub fn append_runs(&self, runs: impl IntoIterator<Item = OwnRun>) -> std::io::Result<()> {
        let mut all = self.runs();
        all.extend(runs.into_iter().map(|mut r| {
            r.record.conflicts.clear();
            r
        }));
        let from = all.len().saturating_sub(RUNS_KEPT);
        let mut out = format!("{RUNS_HEADER}\n").into_bytes();
        for run in &all[from..] {
            out.extend_from_slice(&serde_json::to_vec(run).map_err(std::io::Error::other)?);
            out.push(b'\n');
        }
        write_atomically(&self.dir.join("runs"), &out)
    }
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(path);
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    crate::error::kill_point("local-state-before-rename");
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A line of a base file: `<digest> <row or -> <key>`.
/// How many lines `text` holds (the last one may lack its end).
pub(crate) fn line_count(text: &str) -> usize {
    let ends = text.bytes().filter(|b| *b == b'\n').count();
    ends + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

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

/// Appends a base file's line, `<digest> <row or -> <key>` ([`parse_base_line`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_with_or_without_the_last_end() {
        for (text, lines) in [("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\n\nb\n", 3)] {
            assert_eq!(line_count(text), lines, "{text:?}");
            assert_eq!(text.lines().count(), lines, "{text:?}");
        }
    }

    fn record(id: &str) -> RunRecord {
        let line = format!(
            r#"2026-01-01T10:00:00Z {{"time":"2026-01-01T10:00:00Z","uuid":"u","host":"h","db":"d","version":"0.1.0","tracks":1,"pushed":1,"pulled":0,"reconciled":"c","finished":true,"conflict_count":0,"conflicts":[],"id":"{id}"}}"#
        );
        RunRecord::parse_line(&line).unwrap()
    }

    fn local() -> (tempfile::TempDir, Local) {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::at(dir.path().join("mixxx").join("u"));
        (dir, local)
    }

    #[test]
    fn bases_round_trip_by_database_and_replace_the_one_they_grew_from() {
        let (_dir, local) = local();
        assert!(!local.exists());
        assert_eq!(local.load_base("x"), None);
        let db = Path::new("/m/mixxxdb.sqlite");
        let first = StoredBase {
            tag: tag(Some("m1"), db),
            info: BaseInfo {
                commit: "c1".into(),
                marker: Some("m1".into()),
                db: db.display().to_string(),
                future: vec![("K2".into(), "99999999999s".into())],
                ..BaseInfo::default()
            },
            digests: FxHashMap::from_iter([(
                "K1".to_owned(),
                Synced {
                    digest: 7u128 << 100 | 5,
                    row: Some(42),
                },
            )]),
        };
        local.save_base(&first, None).unwrap();
        assert!(local.exists());
        assert_eq!(local.load_base(&first.tag).as_ref(), Some(&first));
        let other = StoredBase {
            tag: tag(None, Path::new("/other.sqlite")),
            ..first.clone()
        };
        local.save_base(&other, None).unwrap();
        let next = StoredBase {
            tag: tag(Some("m2"), db),
            ..first.clone()
        };
        local.save_base(&next, Some(&first.tag)).unwrap();
        assert_eq!(local.load_base(&first.tag), None, "replaced");
        let mut tags: Vec<String> = local.bases().into_iter().map(|(t, _)| t).collect();
        tags.sort();
        let mut want = vec![next.tag.clone(), other.tag.clone()];
        want.sort();
        assert_eq!(tags, want);
        assert_eq!(local.newest_base_tag(), Some(next.tag.clone()));
        assert_ne!(tag(Some("m1"), db), tag(None, db));

        // A damaged file is no base.
        let path = local.base_path(&next.tag);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}zz not-a-digest\n")).unwrap();
        assert_eq!(local.load_base(&next.tag), None);
    }

    #[test]
    fn runs_append_whole_and_keep_the_newest() {
        let (_dir, local) = local();
        assert!(local.runs().is_empty());
        let run = |i: usize| OwnRun {
            commit: format!("{i:040x}"),
            record: record(&format!("{i:08x}")),
        };
        local.append_runs([run(1), run(2)]).unwrap();
        assert_eq!(local.runs(), [run(1), run(2)]);
        local
            .append_runs((3..RUNS_KEPT + 5).map(run))
            .expect("appended");
        let runs = local.runs();
        assert_eq!(runs.len(), RUNS_KEPT);
        assert_eq!(runs.last(), Some(&run(RUNS_KEPT + 4)));
        // A torn last line (a power loss) loses that run only.
        let path = local.dir.join("runs");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}{{\"commit\":")).unwrap();
        assert_eq!(local.runs().len(), RUNS_KEPT);
    }
}

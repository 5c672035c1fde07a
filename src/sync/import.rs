//! Filling this Mixxx from the branch: annexed audio files of the work tree whose content is
//! here and that the branch has Mixxx metadata for, but that this Mixxx has no row for, are
//! added as Mixxx's scanner adds a file ([`crate::mixxx::import`]); the run then starts over
//! and pulls their values, crates, playlists, cues and grids like any row without a base.
//!
//! A file gets the path Mixxx sees it at: under the library folder of this Mixxx that holds it
//! once symlinks are resolved (a folder reached through a symlinked `~/Music`), so Mixxx's
//! own rescans find the same row; else under the work tree, which becomes a library folder.
//!
//! Files stay out when this Mixxx hid them, when this database synced them before (Mixxx
//! purged them), and while their content is missing (`git annex get` brings it; the
//! `reference-transaction` hook then runs on git-annex's branch commit and imports them).

use super::branch::{Branch, Logs};
use super::snapshot::Keyed;
use crate::annex::{self, Annex, logmet::MetLog};
use crate::fields::Field;
use crate::mixxx::import::{NewTrack, Tags};
use crate::state::{Cache, Synced};
use crate::worktree::{Mapper, Views, path_hash};
use lofty::file::{AudioFile as _, TaggedFileExt as _};
use lofty::tag::{ItemKey, Tag};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The extensions of the files Mixxx's scanner adds (its supported formats).
const AUDIO: [&str; 12] = [
    "mp3", "flac", "ogg", "opus", "wav", "aif", "aiff", "m4a", "mp4", "wv", "aac", "caf",
];

/// A file to add to Mixxx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// Its path in the work tree.
    pub path: String,
    pub key: String,
    /// The absolute location Mixxx gets: where Mixxx sees it (under one of its library folders
    /// that, symlinks resolved, holds it), else under the work tree (or the first
    /// `mixxx.prefix`).
    pub location: String,
    /// The library folder it is in (one of Mixxx's already, or the work tree's root).
    pub folder: String,
    /// The file on this machine.
    pub source: PathBuf,
    /// The fields the branch has values or history for: the file's tags do not fill them
    /// (the branch's values go on top, without conflicts).
    pub branch_fields: Vec<Field>,
}

/// Whether a work-tree file's content is here (a locked file's symlink resolves; an unlocked
/// file is not a pointer file).
fn content_present(file: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(file) else {
        return false;
    };
    if meta.len() > 1024 {
        return true;
    }
    std::fs::read(file).is_ok_and(|bytes| !bytes.starts_with(b"/annex/objects/"))
}

fn is_audio(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| AUDIO.iter().any(|a| a.eq_ignore_ascii_case(ext)))
}

/// The fields git-mixxx syncs that the branch's log for `key` ever set or unset, when it holds
/// a value for one of them now (else the file is none of git-mixxx's business).
fn mixxx_fields(branch: &mut Branch<'_>, key: &str) -> annex::Result<Option<Vec<Field>>> {
    let log = branch.now(key)?;
    if log.text.is_empty() {
        return Ok(None);
    }
    let log = MetLog::parse(&log.text);
    let current = log.current();
    let has_value = current
        .iter()
        .any(|(name, values)| Field::from_name(name).is_some() && !values.is_empty());
    let mut fields: Vec<Field> = log
        .mentioned()
        .iter()
        .filter_map(|(name, _)| Field::from_name(name))
        .collect();
    fields.dedup();
    Ok(has_value.then_some(fields))
}

/// What the imports need to know of this run.
pub struct Scope<'a> {
    pub prefixes: &'a [PathBuf],
    pub keyed: &'a Keyed,
    /// Keys this database synced before.
    pub synced: &'a FxHashMap<String, Synced>,
    /// The work-tree paths of the library's tracks, hashed ([`path_hash`]).
    pub library: &'a [u64],
    /// The Mixxx database, asked which files it knows in other rows (hidden, missing).
    pub db: &'a Path,
}

/// The files this Mixxx lacks and should get, in work-tree order.
pub fn find(
    annex: &Annex,
    scope: &Scope<'_>,
    branch: &mut Branch<'_>,
    cache: &mut Cache,
) -> super::Result<Vec<Import>> {
    let Some(workdir) = annex.repo.workdir() else {
        return Ok(Vec::new());
    };
    let root = match scope.prefixes.first() {
        Some(prefix) => prefix.clone(),
        None => std::path::absolute(workdir).unwrap_or_else(|_| workdir.to_owned()),
    };
    let root = root.to_string_lossy().replace('\\', "/");
    let root = root.trim_end_matches('/');
    let mut mapper = Mapper::new(&annex.repo, scope.prefixes).map_err(annex::Error::from)?;
    mapper.remember(std::mem::take(&mut cache.keys_by_blob));
    // The library's files, keys and those synced before are not wanted: most of the index.
    // Its paths first (their hashes are small and at hand: a key is long and its map large).
    let in_library: FxHashSet<u64> = scope.library.iter().copied().collect();
    let annexed = mapper.annexed_except(
        |path| in_library.contains(&path_hash(path)),
        |key| scope.keyed.items.contains_key(key) || scope.synced.contains_key(key),
    );
    cache.keys_by_blob = mapper.into_known().0;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (path, key) in annexed {
        let wanted = is_audio(&path)
            && !scope.keyed.items.contains_key(key.as_str())
            && !scope.synced.contains_key(&key)
            && !seen.contains(&key);
        if !wanted || !content_present(&workdir.join(&path)) {
            continue;
        }
        if let Some(branch_fields) = mixxx_fields(branch, &key)? {
            seen.insert(key.clone());
            out.push(Import {
                location: format!("{root}/{path}"),
                folder: root.to_owned(),
                source: workdir.join(&path),
                branch_fields,
                path,
                key,
            });
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    let db = crate::mixxx::Database::open_read_only(scope.db)?;
    let views = Views::new(workdir, &db.library_folders()?);
    for import in &mut out {
        if let Some((location, folder)) = views.location(&import.path) {
            (import.location, import.folder) = (location, folder.to_owned());
        }
    }
    let locations: Vec<&str> = out.iter().map(|i| i.location.as_str()).collect();
    let known: HashSet<String> = db
        .known_locations(&locations)?
        .into_iter()
        .map(str::to_owned)
        .collect();
    out.retain(|i| !known.contains(&i.location));
    Ok(out)
}

/// What Mixxx's scanner reads from an import's file, its tags left out of the fields the
/// branch has. A file whose tags or properties cannot be read is added all the same, with none.
pub fn read_track(import: &Import) -> NewTrack {
    let mut track = read_file(&import.source, &import.location);
    for field in &import.branch_fields {
        if let Some(tag) = track.tags.field_mut(*field) {
            tag.clear();
        }
    }
    track
}

/// What Mixxx's scanner would read from the file at `file`, to be stored at `location`.
fn read_file(file: &Path, location: &str) -> NewTrack {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let modified_ms = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    let filetype = location
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    let mut track = NewTrack {
        location: location.to_owned(),
        size,
        filetype,
        modified_ms,
        ..NewTrack::default()
    };
    let Ok(tagged) = lofty::read_from_path(file) else {
        return track;
    };
    let props = tagged.properties();
    track.duration = props.duration().as_secs_f64();
    track.samplerate = props.sample_rate().unwrap_or(0);
    track.channels = props.channels().unwrap_or(0);
    track.bitrate = props
        .audio_bitrate()
        .or(props.overall_bitrate())
        .unwrap_or(0);
    if let Some(tag) = tagged.primary_tag().or(tagged.first_tag()) {
        track.tags = tags(tag);
    }
    track
}

fn tags(tag: &Tag) -> Tags {
    let get = |key: ItemKey| tag.get_string(key).unwrap_or_default().to_owned();
    Tags {
        artist: get(ItemKey::TrackArtist),
        title: get(ItemKey::TrackTitle),
        album: get(ItemKey::AlbumTitle),
        album_artist: get(ItemKey::AlbumArtist),
        year: match get(ItemKey::RecordingDate) {
            date if date.is_empty() => get(ItemKey::Year),
            date => date,
        },
        genre: get(ItemKey::Genre),
        tracknumber: get(ItemKey::TrackNumber),
        tracktotal: get(ItemKey::TrackTotal),
        composer: get(ItemKey::Composer),
        grouping: get(ItemKey::ContentGroup),
        comment: get(ItemKey::Comment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_audio_files_are_imported() {
        assert!(is_audio("Set/a.FLAC"));
        assert!(is_audio("b.mp3"));
        assert!(!is_audio("notes.txt"));
        assert!(!is_audio("flac"));
    }
}

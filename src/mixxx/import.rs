//! Adding a file to the library as Mixxx's scanner does (`TrackDAO::addTracksAddTrack`): a
//! `track_locations` row and a `library` row filled from the file's audio properties and tags,
//! with `header_parsed = 1` so that Mixxx's first load does not import the tags again over the
//! values git-mixxx then writes; the folder becomes one of Mixxx's library folders
//! (`directories`) unless one already holds it, so that Mixxx's own rescans find the same row.

use rusqlite::{Connection, Transaction, params};

/// What Mixxx reads from a file when it adds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewTrack {
    /// Absolute location, `/`-separated.
    pub location: String,
    pub size: u64,
    /// `filetype`: the extension, lower-case (`flac`, `mp3`).
    pub filetype: String,
    pub duration: f64,
    pub samplerate: u32,
    pub channels: u8,
    /// kbit/s.
    pub bitrate: u32,
    /// The file's modification time, ms since the epoch (`source_synchronized_ms`).
    pub modified_ms: Option<i64>,
    pub tags: Tags,
}

/// The tags Mixxx imports into `library` text columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    pub artist: String,
    pub title: String,
    pub album: String,
    pub album_artist: String,
    pub year: String,
    pub genre: String,
    pub tracknumber: String,
    pub tracktotal: String,
    pub composer: String,
    pub grouping: String,
    pub comment: String,
}

impl Tags {
    /// The tag that fills `field`'s column, if one does.
    pub fn field_mut(&mut self, field: crate::fields::Field) -> Option<&mut String> {
        use crate::fields::Field;
        Some(match field {
            Field::Artist => &mut self.artist,
            Field::Title => &mut self.title,
            Field::Album => &mut self.album,
            Field::AlbumArtist => &mut self.album_artist,
            Field::Year => &mut self.year,
            Field::Genre => &mut self.genre,
            Field::TrackNumber => &mut self.tracknumber,
            Field::Composer => &mut self.composer,
            Field::Grouping => &mut self.grouping,
            Field::Comment => &mut self.comment,
            _ => return None,
        })
    }
}

/// Whether `table` has `column` (later schema revisions add some).
fn has_column(tx: &Transaction<'_>, table: &str, column: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )
}

/// Inserts `track` as Mixxx's scanner would; returns its library id.
pub fn insert(tx: &Transaction<'_>, track: &NewTrack) -> rusqlite::Result<i64> {
    let (directory, filename) = track
        .location
        .rsplit_once('/')
        .unwrap_or(("", track.location.as_str()));
    tx.execute(
        "INSERT INTO track_locations (location, directory, filename, filesize, fs_deleted, needs_verification) \
         VALUES (?1, ?2, ?3, ?4, 0, 0)",
        params![track.location, directory, filename, track.size as i64],
    )?;
    let location = tx.last_insert_rowid();
    let t = &track.tags;
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    tx.execute(
        "INSERT INTO library (artist, title, album, album_artist, year, genre, tracknumber, \
         tracktotal, composer, grouping, filetype, location, color, comment, url, rating, key, \
         key_id, cuepoint, bpm, replaygain, replaygain_peak, wavesummaryhex, timesplayed, played, \
         mixxx_deleted, header_parsed, channels, samplerate, bitrate, duration, beats_version, \
         beats_sub_version, beats, bpm_lock, keys_version, keys_sub_version, keys, \
         coverart_source, coverart_type, coverart_location, coverart_hash, datetime_added) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13, '', 0, '', 0, 0, 0, \
         0, -1, NULL, 0, 0, 0, 1, ?14, ?15, ?16, ?17, '', '', NULL, 0, '', '', NULL, 0, 0, '', 0, ?18)",
        params![
            t.artist,
            t.title,
            t.album,
            t.album_artist,
            t.year,
            t.genre,
            t.tracknumber,
            t.tracktotal,
            t.composer,
            t.grouping,
            track.filetype,
            location,
            t.comment,
            track.channels,
            track.samplerate,
            track.bitrate,
            track.duration,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    if has_column(tx, "library", "source_synchronized_ms")? {
        tx.execute(
            "UPDATE library SET source_synchronized_ms = ?1 WHERE id = ?2",
            params![track.modified_ms, id],
        )?;
    }
    Ok(id)
}

/// Makes `folder` (absolute, `/`-separated, no trailing `/`) one of Mixxx's library folders,
/// unless it or a folder above it already is.
pub fn ensure_library_folder(tx: &Transaction<'_>, folder: &str) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare("SELECT directory FROM directories")?;
    let folders: Vec<String> = stmt
        .query_map([], |r| r.get::<_, Option<String>>(0))?
        .filter_map(|r| r.transpose())
        .collect::<rusqlite::Result<_>>()?;
    let covered = folders.iter().any(|d| {
        let d = d.trim_end_matches('/');
        folder == d || folder.strip_prefix(d).is_some_and(|r| r.starts_with('/'))
    });
    if !covered {
        tx.execute("INSERT INTO directories (directory) VALUES (?1)", [folder])?;
    }
    Ok(())
}

impl super::Database {
    /// Mixxx's library folders (`directories`), as it names them.
    pub fn library_folders(&self) -> super::Result<Vec<String>> {
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare("SELECT directory FROM directories")?;
            let folders = stmt.query_map([], |r| r.get::<_, Option<String>>(0))?;
            folders.filter_map(Result::transpose).collect()
        };
        read().map_err(|e| super::sqlite_error(&self.path, e))
    }

    /// Those of `locations` that have a `track_locations` row: files this Mixxx knows (hidden
    /// or missing), which a sync never adds.
    pub fn known_locations<'a>(&self, locations: &[&'a str]) -> super::Result<Vec<&'a str>> {
        known(&self.conn, locations).map_err(|e| super::sqlite_error(&self.path, e))
    }
}

fn known<'a>(conn: &Connection, locations: &[&'a str]) -> rusqlite::Result<Vec<&'a str>> {
    let mut stmt = conn.prepare("SELECT count(*) FROM track_locations WHERE location = ?1")?;
    let mut out = Vec::new();
    for location in locations {
        if stmt.query_row([location], |r| r.get::<_, i64>(0))? > 0 {
            out.push(*location);
        }
    }
    Ok(out)
}

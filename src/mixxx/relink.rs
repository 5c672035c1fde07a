//! Relinking a row whose file moved, as Mixxx's own `TrackDAO::detectMovedTracks` does: the
//! row keeps its id (so its cues, crates, playlists and play history) and takes the new path.
//! A row Mixxx's rescan created for the new path is removed in the same transaction, after
//! what the DJ gave it (cues, crate and playlist entries, plays, rating, colour) moved onto the
//! old row.

use rusqlite::{OptionalExtension, Transaction, params};

/// A row to move to a new location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub row: i64,
    /// The new absolute location.
    pub location: String,
    /// Whether the file's content is there (Mixxx's `fs_deleted` is the opposite).
    pub present: bool,
    /// Other rows of the same file, also missing (an earlier rescan's row of a file moved
    /// twice): they merge into `row`, and their locations go.
    pub absorbed: Vec<i64>,
}

/// Moves `m.row` to `m.location` inside `tx`.
pub fn relink(tx: &Transaction<'_>, m: &Move) -> rusqlite::Result<()> {
    for other in &m.absorbed {
        let location: Option<i64> = tx
            .query_row("SELECT location FROM library WHERE id = ?1", [other], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        adopt(tx, m.row, *other)?;
        if let Some(location) = location {
            tx.execute(
                "DELETE FROM track_locations WHERE id = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM library WHERE location = ?1)",
                [location],
            )?;
        }
    }
    let old_location: Option<i64> = tx
        .query_row("SELECT location FROM library WHERE id = ?1", [m.row], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let taken: Option<i64> = tx
        .query_row(
            "SELECT id FROM track_locations WHERE location = ?1",
            [&m.location],
            |r| r.get(0),
        )
        .optional()?;
    let missing = i64::from(!m.present);
    match (taken, old_location) {
        (Some(new), old) if Some(new) != old => {
            let rescanned: Vec<i64> = tx
                .prepare("SELECT id FROM library WHERE location = ?1 AND id != ?2")?
                .query_map(params![new, m.row], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for other in rescanned {
                adopt(tx, m.row, other)?;
            }
            tx.execute(
                "UPDATE library SET location = ?1 WHERE id = ?2",
                params![new, m.row],
            )?;
            if let Some(old) = old {
                tx.execute("DELETE FROM track_locations WHERE id = ?1", [old])?;
            }
            tx.execute(
                "UPDATE track_locations SET fs_deleted = ?1, needs_verification = 0 WHERE id = ?2",
                params![missing, new],
            )?;
        }
        (_, Some(old)) => {
            let (directory, filename) = m.location.rsplit_once('/').unwrap_or(("", &m.location));
            tx.execute(
                "UPDATE track_locations SET location = ?1, filename = ?2, directory = ?3, \
                 fs_deleted = ?4, needs_verification = 0 WHERE id = ?5",
                params![m.location, filename, directory, missing, old],
            )?;
        }
        // The row has no location: nothing to move.
        (_, None) => {}
    }
    Ok(())
}

/// Moves what the DJ gave row `other` onto `row`, then deletes `other`. A cue moves unless
/// `row` has one of the same type and hot-cue slot; plays add up; a rating or colour set on
/// `other` (newer than `row`'s) replaces `row`'s.
fn adopt(tx: &Transaction<'_>, row: i64, other: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE cues SET track_id = ?1 WHERE track_id = ?2 AND NOT EXISTS \
         (SELECT 1 FROM cues c WHERE c.track_id = ?1 AND c.type IS cues.type AND c.hotcue IS cues.hotcue)",
        params![row, other],
    )?;
    tx.execute("DELETE FROM cues WHERE track_id = ?1", [other])?;
    tx.execute(
        "INSERT OR IGNORE INTO crate_tracks (crate_id, track_id) \
         SELECT crate_id, ?1 FROM crate_tracks WHERE track_id = ?2",
        params![row, other],
    )?;
    tx.execute("DELETE FROM crate_tracks WHERE track_id = ?1", [other])?;
    tx.execute(
        "UPDATE PlaylistTracks SET track_id = ?1 WHERE track_id = ?2",
        params![row, other],
    )?;
    tx.execute(
        "UPDATE library SET \
         timesplayed = COALESCE(library.timesplayed, 0) + COALESCE(o.timesplayed, 0), \
         played = MAX(COALESCE(library.played, 0), COALESCE(o.played, 0)), \
         rating = CASE WHEN COALESCE(o.rating, 0) > 0 THEN o.rating ELSE library.rating END, \
         color = COALESCE(o.color, library.color) \
         FROM (SELECT timesplayed, played, rating, color FROM library WHERE id = ?2) AS o \
         WHERE library.id = ?1",
        params![row, other],
    )?;
    tx.execute("DELETE FROM library WHERE id = ?1", [other])?;
    Ok(())
}

//! Relinking a row whose file moved, as Mixxx's own `TrackDAO::detectMovedTracks` does: the
//! row keeps its id (so its cues, crates, playlists and play history) and takes the new path.
//! A row Mixxx's rescan created for the new path is removed in the same transaction, after
//! what the DJ gave it (cues, crate and playlist entries, plays, rating, colour) moved onto the
//! old row. A hot cue, loop or jump of the rescanned row whose pad the old row already uses
//! goes to the first free pad; a cue Mixxx keeps once per track (main cue, intro, outro, the
//! last loop) stays the old row's; either way nothing is dropped without a word ([`Adopted`]).

use crate::fields::cue::{Cue, HOTCUE_SLOTS};
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

/// What became of the cues of rows merged into a relinked one, where they could not simply
/// move: each as its value on the rescanned row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adopted {
    /// Cues moved to another pad (slot taken on the old row), with the pad they went to.
    pub reslotted: Vec<(String, i64)>,
    /// Cues not kept: the old row holds its own of that kind, or every pad is taken.
    pub dropped: Vec<String>,
}

/// Moves `m.row` to `m.location` inside `tx`.
pub fn relink(tx: &Transaction<'_>, m: &Move) -> rusqlite::Result<Adopted> {
    let mut adopted = Adopted::default();
    for other in &m.absorbed {
        let location: Option<i64> = tx
            .query_row("SELECT location FROM library WHERE id = ?1", [other], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        adopt(tx, m.row, *other, &mut adopted)?;
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
                adopt(tx, m.row, other, &mut adopted)?;
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
    Ok(adopted)
}

/// Moves what the DJ gave row `other` onto `row`, then deletes `other`. Cues move as
/// [`adopt_cues`] says; plays add up; a rating or colour set on `other` (newer than `row`'s)
/// replaces `row`'s.
fn adopt(
    tx: &Transaction<'_>,
    row: i64,
    other: i64,
    adopted: &mut Adopted,
) -> rusqlite::Result<()> {
    adopt_cues(tx, row, other, adopted)?;
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

/// A `cues` row of a track: its id, type and hot cue slot, and its value when git-mixxx syncs
/// it.
type TrackCue = (i64, i64, i64, Option<Cue>);

/// Moves the cues of row `other` onto `row`: a cue whose kind and pad `row` does not use
/// moves as it is; a hot cue, loop or jump whose pad `row` uses goes to `row`'s first free
/// pad; the others (a second main cue, intro, outro or last loop, or no pad free) are removed
/// and listed in `adopted` (the ones Mixxx's analyser sets on a new row are among them).
fn adopt_cues(
    tx: &Transaction<'_>,
    row: i64,
    other: i64,
    adopted: &mut Adopted,
) -> rusqlite::Result<()> {
    let cues = |track: i64| -> rusqlite::Result<Vec<TrackCue>> {
        let mut stmt = tx.prepare(
            "SELECT id, type, hotcue, type, position, length, hotcue, label, color \
             FROM cues WHERE track_id = ?1 ORDER BY hotcue, id",
        )?;
        let rows = stmt.query_map([track], |r| {
            let [a, b, c, d, e, f] = [3, 4, 5, 6, 7, 8].map(|i| r.get_ref(i));
            let cue = Cue::from_row([a?, b?, c?, d?, e?, f?]);
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get::<_, Option<i64>>(2)?.unwrap_or(-1),
                cue,
            ))
        })?;
        rows.collect()
    };
    let held = cues(row)?;
    let mut taken: Vec<(i64, i64)> = held.iter().map(|c| (c.1, c.2)).collect();
    let same_as_held = |cue: &Cue| held.iter().any(|h| h.3.as_ref() == Some(cue));
    for (id, kind, slot, cue) in cues(other)? {
        if !taken.contains(&(kind, slot)) {
            taken.push((kind, slot));
            tx.execute(
                "UPDATE cues SET track_id = ?1 WHERE id = ?2",
                params![row, id],
            )?;
            continue;
        }
        let Some(cue) = cue.filter(|c| !same_as_held(c)) else {
            // Not a cue a DJ makes (the analyser's sound markers), or one the old row holds
            // as it is: nothing is lost.
            tx.execute("DELETE FROM cues WHERE id = ?1", [id])?;
            continue;
        };
        let used = |s: i64| taken.iter().any(|(_, t)| *t == s);
        let free = (0..HOTCUE_SLOTS).find(|s| !used(*s)).filter(|_| slot >= 0);
        let value = cue.to_string();
        match free {
            Some(free) => {
                taken.push((kind, free));
                tx.execute(
                    "UPDATE cues SET track_id = ?1, hotcue = ?2 WHERE id = ?3",
                    params![row, free, id],
                )?;
                adopted.reslotted.push((value, free));
            }
            None => {
                tx.execute("DELETE FROM cues WHERE id = ?1", [id])?;
                adopted.dropped.push(value);
            }
        }
    }
    Ok(())
}

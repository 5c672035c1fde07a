//! Mixxx's history: one playlist per session (`Playlists.hidden = 2`, named by the date it
//! started, `2026-12-05`, then `2026-12-05 (2)`...), its entries in play order, each with the
//! time it was played (`PlaylistTracks.pl_datetime_added`, UTC, as SQLite's
//! `CURRENT_TIMESTAMP` writes it). Reading the sessions, and adding other clones' sessions as
//! history playlists of their own, as Mixxx's `SetlogFeature` and `PlaylistDAO` write them.

use super::content::{Digests, scan};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// `Playlists.hidden` of a history playlist (Mixxx's `PLHT_SET_LOG`).
pub const HIDDEN: i64 = 2;

/// A history playlist: its id, name and creation time, and its entries in order: the track
/// and the time it was played, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub name: String,
    pub created: Option<String>,
    pub entries: Vec<(i64, Option<String>)>,
}

/// Every history playlist, in id order (Mixxx's), with its entries by position.
pub fn read(conn: &Connection, digests: &mut Digests) -> rusqlite::Result<Vec<Session>> {
    let sql = format!(
        "SELECT p.id, p.name, p.date_created, pt.track_id, pt.pl_datetime_added \
         FROM Playlists p LEFT JOIN PlaylistTracks pt ON pt.playlist_id = p.id \
         WHERE p.hidden = {HIDDEN} ORDER BY p.id, pt.position, pt.id"
    );
    let mut out: Vec<Session> = Vec::new();
    scan(conn, &sql, digests, |row| {
        let Some(id) = super::integer(row[0]) else {
            return Ok(());
        };
        if out.last().is_none_or(|s| s.id != id) {
            out.push(Session {
                id,
                name: super::text(row[1]).unwrap_or_default(),
                created: super::text(row[2]),
                entries: Vec::new(),
            });
        }
        if let (Some(track), Some(session)) = (super::integer(row[3]), out.last_mut()) {
            session.entries.push((track, super::text(row[4])));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Adds a history playlist named `name` (or, when a playlist has that name, `name (2)`,
/// `name (3)`...), created at `created` (Mixxx's time format), with `entries` (track, time
/// played) in order; returns its id.
pub fn add(
    tx: &Transaction<'_>,
    name: &str,
    created: Option<&str>,
    entries: &[(i64, Option<String>)],
) -> rusqlite::Result<i64> {
    let name = unique_name(tx, name)?;
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    tx.execute(
        "INSERT INTO Playlists (name, position, hidden, date_created, date_modified, locked) \
         VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM Playlists), ?2, ?3, ?4, 0)",
        params![name, HIDDEN, created.unwrap_or(&now), now],
    )?;
    let id = tx.last_insert_rowid();
    append(tx, id, entries)?;
    Ok(id)
}

/// Appends `entries` to the history playlist `id`; `false` when it is gone (deleted in Mixxx).
pub fn append(
    tx: &Transaction<'_>,
    id: i64,
    entries: &[(i64, Option<String>)],
) -> rusqlite::Result<bool> {
    let exists = tx
        .query_row(
            "SELECT 1 FROM Playlists WHERE id = ?1 AND hidden = ?2",
            params![id, HIDDEN],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !exists {
        return Ok(false);
    }
    let end: i64 = tx.query_row(
        "SELECT COALESCE(MAX(position), 0) FROM PlaylistTracks WHERE playlist_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO PlaylistTracks (playlist_id, track_id, position, pl_datetime_added) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (position, (track, time)) in (end + 1..).zip(entries) {
        insert.execute(params![id, track, position, time])?;
    }
    Ok(true)
}

/// `name`, or the first of `name (2)`, `name (3)`... that no playlist has (as Mixxx makes a
/// history playlist's name unique).
fn unique_name(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<String> {
    let mut stmt = tx.prepare_cached("SELECT count(*) FROM Playlists WHERE name = ?1")?;
    let mut candidate = name.to_owned();
    for n in 2.. {
        if stmt.query_row([&candidate], |r| r.get::<_, i64>(0))? == 0 {
            break;
        }
        candidate = format!("{name} ({n})");
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_added_and_read_back_in_play_order() {
        let mut conn = super::super::schema::create(std::path::Path::new(":memory:"), 32).unwrap();
        let tx = conn.transaction().unwrap();
        let played = |t: &str| Some(t.to_owned());
        let entries = [
            (7, played("2026-12-05 21:00:00")),
            (3, played("2026-12-05 21:04:00")),
            (7, played("2026-12-05 21:09:00")),
        ];
        let id = add(
            &tx,
            "2026-12-05 (gig laptop)",
            Some("2026-12-05 20:55:00"),
            &entries,
        )
        .unwrap();
        let twin = add(&tx, "2026-12-05 (gig laptop)", None, &[]).unwrap();
        assert!(append(&tx, id, &[(3, played("2026-12-05 21:13:00"))]).unwrap());
        assert!(!append(&tx, 999, &entries).unwrap());
        tx.commit().unwrap();
        let sessions = read(&conn, &mut Digests::default()).unwrap();
        let added = sessions.iter().find(|s| s.id == id).unwrap();
        assert_eq!(added.created.as_deref(), Some("2026-12-05 20:55:00"));
        let tracks: Vec<i64> = added.entries.iter().map(|e| e.0).collect();
        assert_eq!(tracks, [7, 3, 7, 3], "a track played twice stays twice");
        let names: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"2026-12-05 (gig laptop) (2)"), "{names:?}");
        assert!(
            sessions
                .iter()
                .any(|s| s.id == twin && s.entries.is_empty())
        );
    }
}

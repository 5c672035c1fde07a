//! The marker git-mixxx keeps in a Mixxx database (a row of its `settings` table) to know the
//! database again: a new id at every sync that commits, with the one before it. A sync whose
//! base recorded a marker that the database does not hold is looking at another database (a
//! new one, a restored backup, a copy from another clone), whose rows have no base. Row ids
//! and dates cannot tell: a restored backup has the same ones.

use super::content::{Digests, scan};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

/// The `settings` row that holds the marker.
pub const SETTING: &str = "git-mixxx.database";

/// The markers a database holds: the current one and the one before it (which stays valid for
/// a run interrupted between writing Mixxx and committing on the branch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub current: String,
    pub previous: Option<String>,
}

impl Marker {
    /// Parses the setting's value, `CURRENT [PREVIOUS]`.
    fn parse(value: &str) -> Option<Marker> {
        let mut words = value.split_whitespace();
        Some(Marker {
            current: words.next()?.to_owned(),
            previous: words.next().map(str::to_owned),
        })
    }

    /// Whether this database is the one a sync recorded as `recorded`.
    pub fn accepts(&self, recorded: &str) -> bool {
        self.current == recorded || self.previous.as_deref() == Some(recorded)
    }

    /// The marker that replaces `old` with the new id `id`: `id` after `old`'s current one, or,
    /// when that is one of `replaced` (written by a run whose commit did not happen), after the
    /// one before it, which the last commit recorded.
    pub fn next(old: Option<&Marker>, id: &str, replaced: &[String]) -> Marker {
        let previous = match old {
            Some(m) if replaced.contains(&m.current) => m.previous.clone(),
            _ => old.map(|m| m.current.clone()),
        };
        Marker {
            current: id.to_owned(),
            previous,
        }
    }

    /// A new id, unique to this clone and moment.
    pub fn new_id(clone: &str) -> String {
        use md5::{Digest as _, Md5};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{clone} {now} {}", std::process::id());
        faster_hex::hex_string(&Md5::digest(seed.as_bytes()))
    }
}

/// The marker a database holds, if any.
pub fn read(conn: &Connection) -> rusqlite::Result<Option<Marker>> {
    read_digested(conn, &mut Digests::default())
}

/// [`read`], digesting what it read into `digests`.
pub fn read_digested(conn: &Connection, digests: &mut Digests) -> rusqlite::Result<Option<Marker>> {
    let sql = format!("SELECT value FROM settings WHERE name = '{SETTING}'");
    let mut value: Option<Option<String>> = None;
    scan(conn, &sql, digests, |row| {
        if value.is_none() {
            value = Some(match row[0] {
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                _ => None,
            });
        }
        Ok(())
    })?;
    Ok(value.flatten().as_deref().and_then(Marker::parse))
}

/// Stores `marker` (inside the caller's transaction).
pub fn write(conn: &Connection, marker: &Marker) -> rusqlite::Result<()> {
    let value = match &marker.previous {
        Some(previous) => format!("{} {previous}", marker.current),
        None => marker.current.clone(),
    };
    conn.execute(
        "INSERT INTO settings (name, value) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![SETTING, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_know_their_database_and_one_run_back() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::DDL_REV32).unwrap();
        assert_eq!(read(&conn).unwrap(), None);
        let first = Marker::next(None, "a", &[]);
        write(&conn, &first).unwrap();
        let second = Marker::next(Some(&first), "b", &[]);
        write(&conn, &second).unwrap();
        let held = read(&conn).unwrap().unwrap();
        assert_eq!(held, second);
        assert!(held.accepts("b") && held.accepts("a"));
        assert!(!held.accepts("c"));
        // A write that replaces b (whose commit did not happen) keeps a, which was committed.
        let third = Marker::next(Some(&held), "c", &["b".to_owned()]);
        assert!(third.accepts("c") && third.accepts("a") && !third.accepts("b"));
        assert_ne!(Marker::new_id("u"), Marker::new_id("u"));
    }
}

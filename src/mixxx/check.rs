//! The check of a database's content against a digest: the queries of a read
//! ([`Database::read_library`]) run again, every row digested ([`super::content`]) and none
//! decoded but the few small ones, so that a run whose database files changed learns at the
//! cost of a scan whether what it reads did.

use super::content::{Content, Digests, scan, scan_while};
use super::{
    CUES_SQL, Container, Database, Result, digest_import_queries, history, library_sql, marker,
    members_sql, read_playlists, reading_connection, single_columns, sqlite_error, wal_mode,
};
use std::sync::atomic::{AtomicBool, Ordering};

impl Database {
    /// Whether this database's content, as [`Database::read_library`] reads it, is `saved`:
    /// the rows are scanned without being decoded (the cues on a connection of their own
    /// outside WAL mode, as the read does; the small rest read), the library's first, and the
    /// check stops at the first query whose rows differ.
    pub fn content_is(&self, saved: &Content) -> Result<bool> {
        let err = |e| sqlite_error(&self.path, e);
        self.conn.execute_batch("BEGIN").map_err(err)?;
        let result = self.content_is_in_transaction(saved);
        let _ = self.conn.execute_batch("COMMIT");
        result.map_err(err)
    }

    fn content_is_in_transaction(&self, saved: &Content) -> rusqlite::Result<bool> {
        // The first read takes the shared lock that keeps writers out until both are done.
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
        let path = self.path.as_path();
        let stop = AtomicBool::new(false);
        let cues = || -> rusqlite::Result<Option<Digests>> {
            let mut digests = Digests::default();
            let conn = reading_connection(path)?;
            let whole = scan_while(&conn, CUES_SQL, &mut digests, |_| {
                Ok(!stop.load(Ordering::Relaxed))
            })?;
            Ok(whole.then_some(digests))
        };
        std::thread::scope(|scope| {
            let on_side = (!wal_mode(path)).then(|| scope.spawn(cues));
            let rest = self.rest_agrees(saved);
            let Ok(Some(mut digests)) = rest else {
                stop.store(true, Ordering::Relaxed);
                return rest.map(|_| false);
            };
            match on_side.map(|c| c.join()) {
                Some(Ok(Ok(Some(cue_digests)))) => digests.extend(cue_digests),
                _ => scan(&self.conn, CUES_SQL, &mut digests, |_| Ok(()))?,
            }
            Ok(digests.finish() == *saved)
        })
    }

    /// Every query of the read but the cues', digested, the library's first; none as soon as
    /// one differs from `saved`.
    fn rest_agrees(&self, saved: &Content) -> rusqlite::Result<Option<Digests>> {
        let conn = &self.conn;
        let mut digests = Digests::default();
        digests.note("revision", self.revision);
        let (columns, _) = single_columns(conn)?;
        scan(conn, &library_sql(&columns), &mut digests, |_| Ok(()))?;
        if !digests.agree_with(saved) {
            return Ok(None);
        }
        for container in [Container::Crate, Container::Playlist] {
            scan(conn, members_sql(container), &mut digests, |_| Ok(()))?;
        }
        marker::read_digested(conn, &mut digests)?;
        read_playlists(conn, &mut digests)?;
        history::read(conn, &mut digests)?;
        digest_import_queries(conn, &mut digests)?;
        Ok(digests.agree_with(saved).then_some(digests))
    }
}

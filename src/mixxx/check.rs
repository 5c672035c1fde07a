//! The check of a database's content against a digest: the queries of a read
//! ([`Database::read_library`]) run again, every row digested ([`super::content`]) and none
//! decoded but the few small ones, so that a run whose database files changed learns at the
//! cost of a scan whether what it reads did.

use super::content::{ContentDigest, Digests, scan};
use super::{
    Container, Database, Result, cues_sql, digest_import_queries, history, library_sql, marker,
    members_sql, read_playlists, reading_connection, single_columns, sqlite_error, wal_mode,
};

impl Database {
    /// The digest of this database's content as [`Database::read_library`] reads it,
    /// without decoding the rows: the library and cue rows are scanned (the cues on a
    /// connection of their own outside WAL mode, as the read does), the small rest read.
    pub fn content_digest(&self) -> Result<ContentDigest> {
        let err = |e| sqlite_error(&self.path, e);
        self.conn.execute_batch("BEGIN").map_err(err)?;
        let result = self.content_in_transaction();
        let _ = self.conn.execute_batch("COMMIT");
        result.map_err(err)
    }

    fn content_in_transaction(&self) -> rusqlite::Result<ContentDigest> {
        // The first read takes the shared lock that keeps writers out until both are done.
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
        let path = self.path.as_path();
        let cues = move || -> rusqlite::Result<Digests> {
            let mut digests = Digests::default();
            let conn = reading_connection(path)?;
            scan(&conn, &cues_sql(), &mut digests, |_| Ok(()))?;
            Ok(digests)
        };
        std::thread::scope(|scope| {
            let wal = wal_mode(path);
            let on_side = (!wal).then(|| scope.spawn(cues));
            let mut digests = self.content_but_cues()?;
            match on_side.map(|c| c.join()) {
                Some(Ok(Ok(cue_digests))) => digests.extend(cue_digests),
                _ => scan(&self.conn, &cues_sql(), &mut digests, |_| Ok(()))?,
            }
            Ok(digests.finish())
        })
    }

    /// Every query of the read but the cues', digested.
    fn content_but_cues(&self) -> rusqlite::Result<Digests> {
        let conn = &self.conn;
        let mut digests = Digests::default();
        digests.note("revision", self.revision);
        let (columns, _) = single_columns(conn)?;
        scan(conn, &library_sql(&columns), &mut digests, |_| Ok(()))?;
        for container in [Container::Crate, Container::Playlist] {
            scan(conn, members_sql(container), &mut digests, |_| Ok(()))?;
        }
        marker::read_digested(conn, &mut digests)?;
        read_playlists(conn, &mut digests)?;
        history::read(conn, &mut digests)?;
        digest_import_queries(conn, &mut digests)?;
        Ok(digests)
    }
}

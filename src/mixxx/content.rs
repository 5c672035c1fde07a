//! The digests of a Mixxx database's content as a sync reads it: every row of every query of
//! the read, value by value, each query's rows digested apart and kept by its SQL text
//! ([`Content`]). A run that found nothing to do records them; a later run whose database
//! files changed (Mixxx wrote columns git-mixxx does not read, or wrote the same values again)
//! but whose content is the same finds nothing to do either, and knows it at the cost of
//! scanning the rows, not of syncing them ([`crate::sync::fingerprint`]); a changed query stops
//! the check at once.
//!
//! Both sides run their queries through [`scan`], which digests every row it returns, before
//! any decoding skips one: the check ([`super::check`]) runs the read's queries without
//! decoding. A query one side runs and the other does not makes the contents differ: a
//! divergence costs a full run, never a missed change.

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

/// The digest of each query of a read, by the digest (XXH3-64) of its SQL text, in the
/// order they were run.
#[derive(Debug, Default)]
pub struct Digests(Vec<(u64, u128)>);

/// The key of a query's digest: its SQL text's.
fn key(sql: &str) -> u64 {
    xxh3_64(sql.as_bytes())
}

impl Digests {
    /// Adds a value that is not a query's rows (the schema revision), under `name`.
    pub fn note(&mut self, name: &str, value: i64) {
        let mut hasher = Xxh3::new();
        hasher.update(&value.to_le_bytes());
        self.0.push((key(name), hasher.digest128()));
    }

    /// Adds what another connection's scans digested.
    pub fn extend(&mut self, other: Digests) {
        self.0.extend(other.0);
    }

    /// Whether every query digested so far has the digest it has in `saved`.
    pub fn agree_with(&self, saved: &Content) -> bool {
        self.0
            .iter()
            .all(|(sql, digest)| saved.get(*sql) == Some(*digest))
    }

    /// The read's content.
    pub fn finish(mut self) -> Content {
        self.0.sort_unstable();
        Content(self.0)
    }
}

/// What a read saw: [`Digests`] sorted by query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content(Vec<(u64, u128)>);

impl Content {
    /// The digest of the rows of the query whose [`key`] is `sql`.
    fn get(&self, sql: u64) -> Option<u128> {
        let at = self.0.binary_search_by_key(&sql, |(k, _)| *k).ok()?;
        Some(self.0[at].1)
    }

    /// The content on one line, as [`Content::parse`] reads it.
    pub fn to_line(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(sql, digest)| format!("{sql:016x}:{digest:032x}"))
            .collect();
        pairs.join(" ")
    }

    pub fn parse(line: &str) -> Option<Content> {
        let pairs = line.split(' ').map(|pair| {
            let (sql, digest) = pair.split_once(':')?;
            Some((
                u64::from_str_radix(sql, 16).ok()?,
                u128::from_str_radix(digest, 16).ok()?,
            ))
        });
        let mut content = pairs.collect::<Option<Vec<_>>>()?;
        content.sort_unstable();
        Some(Content(content))
    }
}

/// The most columns a query of the read has (the library's has 23).
const MAX_COLUMNS: usize = 32;

/// Runs `sql` (no parameters: the text is all of the query), digesting every row into
/// `digests` before `each` decodes its values (fetched once for both).
pub fn scan(
    conn: &Connection,
    sql: &str,
    digests: &mut Digests,
    mut each: impl FnMut(&[ValueRef<'_>]) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    scan_while(conn, sql, digests, |values| each(values).map(|()| true)).map(|_| ())
}

/// [`scan`], stopping at the first row `each` says not to go on after; whether every row was
/// scanned (a stopped scan adds no digest).
pub fn scan_while(
    conn: &Connection,
    sql: &str,
    digests: &mut Digests,
    mut each: impl FnMut(&[ValueRef<'_>]) -> rusqlite::Result<bool>,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(sql)?;
    let columns = stmt.column_count();
    if columns > MAX_COLUMNS {
        return Err(rusqlite::Error::InvalidColumnIndex(columns));
    }
    let mut rows = stmt.query([])?;
    // Values go to the hasher in blocks: it is slow to take a few bytes at a time.
    let mut hasher = Xxh3::new();
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
    while let Some(row) = rows.next()? {
        let mut values = [ValueRef::Null; MAX_COLUMNS];
        block.push(0xff);
        for (i, v) in values.iter_mut().enumerate().take(columns) {
            *v = row.get_ref(i)?;
            value(&mut block, *v);
        }
        if block.len() >= BLOCK {
            hasher.update(&block);
            block.clear();
        }
        if !each(&values[..columns])? {
            return Ok(false);
        }
    }
    hasher.update(&block);
    digests.0.push((key(sql), hasher.digest128()));
    Ok(true)
}

/// How many bytes of rows [`scan`] gathers before hashing them.
const BLOCK: usize = 64 * 1024;

/// Appends one value with its type, so that no two different rows digest alike.
fn value(block: &mut Vec<u8>, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => block.push(0),
        ValueRef::Integer(i) => {
            block.push(1);
            block.extend_from_slice(&i.to_le_bytes());
        }
        ValueRef::Real(f) => {
            block.push(2);
            block.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        ValueRef::Text(bytes) => tagged_bytes(block, 3, bytes),
        ValueRef::Blob(bytes) => tagged_bytes(block, 4, bytes),
    }
}

fn tagged_bytes(block: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    block.push(tag);
    block.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    block.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(conn: &Connection, sqls: &[&str]) -> Content {
        let mut digests = Digests::default();
        for sql in sqls {
            scan(conn, sql, &mut digests, |_| Ok(())).unwrap();
        }
        digests.finish()
    }

    #[test]
    fn rows_types_and_query_order_count() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 'x'), (NULL, X'78');
             CREATE TABLE u (c); INSERT INTO u VALUES (2.0);",
        )
        .unwrap();
        let (t, u) = ("SELECT a, b FROM t", "SELECT c FROM u");
        let both = digest_of(&conn, &[t, u]);
        assert_eq!(both, digest_of(&conn, &[u, t]), "order of the queries");
        assert_ne!(both, digest_of(&conn, &[t]), "a query left out");
        conn.execute("UPDATE t SET b = X'78' WHERE a = 1", [])
            .unwrap();
        assert_ne!(both, digest_of(&conn, &[t, u]), "text and blob differ");
        conn.execute("UPDATE t SET b = 'x' WHERE a = 1", [])
            .unwrap();
        assert_eq!(both, digest_of(&conn, &[t, u]), "the same content again");
        conn.execute("UPDATE u SET c = 2", []).unwrap();
        assert_ne!(both, digest_of(&conn, &[t, u]), "integer and real differ");
        assert_eq!(Content::parse(&both.to_line()), Some(both));
        assert_eq!(Content::parse("garbage"), None);
    }
}

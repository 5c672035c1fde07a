//! Writing a sync's new objects as one pack file with its version-2 index.
//!
//! A first sync of a large library creates hundreds of thousands of small objects; written
//! loose, each takes a filesystem block (gigabytes for 100,000 tracks). gix's pack indexer
//! re-inflates and re-hashes every entry to learn ids that we already know, so the pack and its
//! index are written here directly: one reused deflate stream, no deltas, ids as computed.

use gix::ObjectId;
use gix::objs::Kind;
use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

/// A writer appending to a buffer that is also readable from outside the compressor.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn type_id(kind: Kind) -> u8 {
    match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    }
}

/// The pack entry header: type and inflated size, 7 bits per byte after the first 4.
fn entry_header(kind: Kind, mut size: usize, out: &mut Vec<u8>) {
    let mut byte = (type_id(kind) << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

fn hash(kind: gix::hash::Kind, parts: &[&[u8]]) -> Result<ObjectId, gix::Error> {
    let mut hasher = gix::hash::hasher(kind);
    for p in parts {
        hasher.update(p);
    }
    hasher.try_finalize()
}

/// An index entry: object id, CRC-32 of the packed entry, offset in the pack.
type IndexEntry = (ObjectId, u32, u64);

/// Deflates `objects` into consecutive pack entries; returns the bytes and an index entry per
/// object, with offsets within those bytes.
fn entries(objects: &[(ObjectId, Kind, &[u8])]) -> std::io::Result<(Vec<u8>, Vec<IndexEntry>)> {
    let shared = Shared::default();
    let mut deflate =
        gix::zlib::stream::deflate::Write::new(shared.clone(), gix::zlib::Compression::BEST_SPEED);
    let mut index = Vec::with_capacity(objects.len());
    for (id, kind, data) in objects {
        let offset = shared.0.borrow().len();
        entry_header(*kind, data.len(), &mut shared.0.borrow_mut());
        deflate.reset();
        deflate.write_all(data)?;
        deflate.flush()?;
        let crc = crc32fast::hash(&shared.0.borrow()[offset..]);
        index.push((*id, crc, offset as u64));
    }
    drop(deflate);
    let bytes = Rc::try_unwrap(shared.0)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| rc.borrow().clone());
    Ok((bytes, index))
}

/// Writes `objects` (id, kind, data) as `pack-<checksum>.pack` and `.idx` in `pack_dir`,
/// deflating on all cores.
pub fn write(
    pack_dir: &Path,
    hash_kind: gix::hash::Kind,
    objects: &[(ObjectId, Kind, &[u8])],
) -> Result<(), super::Error> {
    let io = |source| super::Error::Io {
        what: "writing a pack in",
        path: pack_dir.to_owned(),
        source,
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = objects.len().div_ceil(threads).max(1);
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = objects
            .chunks(chunk)
            .map(|c| scope.spawn(move || entries(c)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a pack writer thread panicked")))
            })
            .collect::<std::io::Result<Vec<_>>>()
    })
    .map_err(io)?;
    // The pack goes straight to its file, hashed on the way: no second copy in memory.
    std::fs::create_dir_all(pack_dir).map_err(io)?;
    let mut pack_file = tempfile::NamedTempFile::new_in(pack_dir).map_err(io)?;
    let mut hasher = gix::hash::hasher(hash_kind);
    let mut put = |bytes: &[u8]| -> std::io::Result<()> {
        hasher.update(bytes);
        pack_file.write_all(bytes)
    };
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(b"PACK");
    header.extend_from_slice(&2u32.to_be_bytes());
    header.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    put(&header).map_err(io)?;
    let mut offset = header.len() as u64;
    let mut index: Vec<IndexEntry> = Vec::with_capacity(objects.len());
    for (bytes, entries) in parts {
        index.extend(
            entries
                .into_iter()
                .map(|(id, crc, at)| (id, crc, offset + at)),
        );
        put(&bytes).map_err(io)?;
        offset += bytes.len() as u64;
    }
    let checksum = hasher.try_finalize()?;
    pack_file.write_all(checksum.as_bytes()).map_err(io)?;

    index.sort_by_key(|e| e.0);
    let mut idx = Vec::with_capacity(index.len() * 32 + 1100);
    idx.extend_from_slice(b"\xfftOc");
    idx.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in &index {
        fanout[id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0;
    for n in fanout {
        total += n;
        idx.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in &index {
        idx.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in &index {
        idx.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for (_, _, offset) in &index {
        if *offset < 0x8000_0000 {
            idx.extend_from_slice(&(*offset as u32).to_be_bytes());
        } else {
            idx.extend_from_slice(&(0x8000_0000 | large.len() as u32).to_be_bytes());
            large.push(*offset);
        }
    }
    for offset in large {
        idx.extend_from_slice(&offset.to_be_bytes());
    }
    idx.extend_from_slice(checksum.as_bytes());
    let idx_checksum = hash(hash_kind, &[&idx])?;
    idx.extend_from_slice(idx_checksum.as_bytes());
    let mut idx_file = tempfile::NamedTempFile::new_in(pack_dir).map_err(io)?;
    idx_file.write_all(&idx).map_err(io)?;

    // The pack first, then its index: readers find packs through their index.
    let name = format!("pack-{checksum}");
    for (ext, file) in [("pack", pack_file), ("idx", idx_file)] {
        let path = pack_dir.join(format!("{name}.{ext}"));
        file.persist(&path).map_err(|e| io(e.error))?;
        // Read-only, as git leaves its packs.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_headers_encode_type_and_size() {
        let mut out = Vec::new();
        entry_header(Kind::Blob, 5, &mut out);
        assert_eq!(out, [0x35]);
        out.clear();
        entry_header(Kind::Tree, 300, &mut out);
        // 300 = 0b1_0010_1100: low 4 bits 1100, then 0b10010 = 18.
        assert_eq!(out, [0x80 | 0x20 | 0x0c, 18]);
    }
}

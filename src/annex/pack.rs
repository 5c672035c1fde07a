//! Writing a sync's new objects as one pack file with its version-2 index.
//!
//! A first sync of a large library creates hundreds of thousands of small objects; written
//! loose, each takes a filesystem block (gigabytes for 100,000 tracks). gix's pack indexer
//! re-inflates and re-hashes every entry to learn ids that we already know, and gix writes no
//! deltas, so the pack and its index are written here directly: ids as computed, log blobs as
//! deltas against a neighbour ([`super::delta`]), entries deflated on all cores in batches.

use super::delta;
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

/// The pack entry type of a delta against an earlier entry of the same pack.
const OFS_DELTA: u8 = 6;

fn type_id(kind: Kind) -> u8 {
    match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    }
}

/// The pack entry header: type and inflated size, 7 bits per byte after the first 4.
fn entry_header(kind: Kind, size: usize, out: &mut Vec<u8>) {
    entry_header_typed(type_id(kind), size, out)
}

fn entry_header_typed(type_id: u8, mut size: usize, out: &mut Vec<u8>) {
    let mut byte = (type_id << 4) | (size & 0x0f) as u8;
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

/// A new object: id, kind, content.
pub type Object = (ObjectId, Kind, Vec<u8>);

/// Objects per batch: each batch is deflated on all cores and appended to the file before the
/// next, so the compressed pack is never held in memory whole.
const BATCH: usize = 16_384;
/// Payloads up to this size are stored without compression (see [`push_stored`]).
const STORE_MAX: usize = 512;
/// Objects larger than this are stored whole.
const DELTA_MAX: usize = 64 * 1024;

/// The `OFS_DELTA` entry's distance back to its base, in git's encoding: 7 bits per byte, most
/// significant first, each continuation adding one.
fn push_base_distance(mut distance: u64, out: &mut Vec<u8>) {
    let mut bytes = vec![(distance & 0x7f) as u8];
    while {
        distance >>= 7;
        distance > 0
    } {
        distance -= 1;
        bytes.push(0x80 | (distance & 0x7f) as u8);
    }
    out.extend(bytes.iter().rev());
}

/// Appends `data` as a zlib stream of stored (uncompressed) blocks. Deflate gains little on a
/// few hundred bytes of base64 and hashes, and resetting a compressor for each of 200,000
/// entries costs more than everything else the pack writer does.
fn push_stored(data: &[u8], out: &mut Vec<u8>) {
    // CMF: deflate with a 32 KiB window; FLG: no dictionary, check bits for CMF·256+FLG ≡ 0 (mod 31).
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(0xffff).peekable();
    if data.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        // BFINAL on the last block; BTYPE 00 (stored); then LEN and its one's complement.
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler2::adler32_slice(data).to_be_bytes());
}

/// Deflates `objects` into consecutive pack entries; returns the bytes and an index entry per
/// object, with offsets within those bytes.
///
/// A blob is stored as a delta against the last whole blob of this run when that takes at
/// most half its size (a delta never has a delta as its base, so reading one costs one extra
/// object at most); otherwise it is stored whole and becomes the base. Trees are stored whole:
/// a key directory's tree is mostly the key and object ids, which no other tree shares.
fn entries(objects: &[Object]) -> std::io::Result<(Vec<u8>, Vec<IndexEntry>)> {
    let shared = Shared::default();
    let mut deflate =
        gix::zlib::stream::deflate::Write::new(shared.clone(), gix::zlib::Compression::BEST_SPEED);
    let mut index = Vec::with_capacity(objects.len());
    // The last whole blob, with its offset in these bytes.
    let mut base: Option<(usize, delta::Base<'_>)> = None;
    for (id, kind, data) in objects {
        let offset = shared.0.borrow().len();
        let candidate = *kind == Kind::Blob && data.len() <= DELTA_MAX;
        let delta = base
            .as_ref()
            .filter(|_| candidate)
            .and_then(|(at, base)| Some((*at, base.encode(data, data.len() / 2)?)));
        let payload: &[u8] = match &delta {
            Some((base_at, delta)) => {
                let mut out = shared.0.borrow_mut();
                entry_header_typed(OFS_DELTA, delta.len(), &mut out);
                push_base_distance((offset - base_at) as u64, &mut out);
                delta
            }
            None => {
                entry_header(*kind, data.len(), &mut shared.0.borrow_mut());
                if candidate {
                    base = Some((offset, delta::Base::new(data)));
                }
                data
            }
        };
        if payload.len() <= STORE_MAX {
            push_stored(payload, &mut shared.0.borrow_mut());
        } else {
            deflate.reset();
            deflate.write_all(payload)?;
            deflate.flush()?;
        }
        let crc = crc32fast::hash(&shared.0.borrow()[offset..]);
        index.push((*id, crc, offset as u64));
    }
    drop(base);
    drop(deflate);
    let bytes = Rc::try_unwrap(shared.0)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| rc.borrow().clone());
    Ok((bytes, index))
}

/// The prefix of git-mixxx's temporary files in the pack directory.
const TEMP_PREFIX: &str = ".tmp-git-mixxx-";

fn temp_file(pack_dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(pack_dir)
}

/// Removes temporary files a killed run left (runs that write packs hold git-annex's journal
/// lock, so no other one is writing now).
fn remove_leftovers(pack_dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(pack_dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Writes `objects` as `pack-<checksum>.pack` and `.idx` in `pack_dir`, deflating on all cores.
pub fn write(
    pack_dir: &Path,
    hash_kind: gix::hash::Kind,
    objects: &[Object],
) -> Result<(), super::Error> {
    let io = |source| super::Error::from(crate::error::at("writing a pack in", pack_dir)(source));
    std::fs::create_dir_all(pack_dir).map_err(io)?;
    remove_leftovers(pack_dir).map_err(io)?;
    let mut pack_file = temp_file(pack_dir).map_err(io)?;
    let mut hasher = gix::hash::hasher(hash_kind);
    let mut put = |bytes: &[u8]| -> std::io::Result<()> {
        hasher.update(bytes);
        pack_file.write_all(bytes)
    };
    crate::error::kill_point("pack-being-written");
    let mut header = Vec::with_capacity(12);
    header.extend_from_slice(b"PACK");
    header.extend_from_slice(&2u32.to_be_bytes());
    header.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    put(&header).map_err(io)?;
    let mut offset = header.len() as u64;
    let mut index: Vec<IndexEntry> = Vec::with_capacity(objects.len());
    for batch in objects.chunks(BATCH) {
        let parts = crate::on_cores(batch, 1, entries)
            .into_iter()
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(io)?;
        for (bytes, entries) in parts {
            index.extend(
                entries
                    .into_iter()
                    .map(|(id, crc, at)| (id, crc, offset + at)),
            );
            put(&bytes).map_err(io)?;
            offset += bytes.len() as u64;
        }
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
    let mut idx_file = temp_file(pack_dir).map_err(io)?;
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
    fn stored_streams_inflate_to_their_data() {
        for len in [0, 1, 300, 0xffff, 0x10000, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
            let mut stream = Vec::new();
            push_stored(&data, &mut stream);
            let mut out = vec![0u8; len + 1];
            let (status, read, written) = gix::zlib::Inflate::default()
                .once(&stream, &mut out)
                .expect("a valid zlib stream");
            assert_eq!(status, gix::zlib::Status::StreamEnd, "length {len}");
            assert_eq!((read, written), (stream.len(), len));
            assert_eq!(out[..len], data[..]);
        }
    }

    #[test]
    fn base_distances_use_gits_offset_encoding() {
        let encode = |n| {
            let mut out = Vec::new();
            push_base_distance(n, &mut out);
            out
        };
        assert_eq!(encode(5), [5]);
        assert_eq!(encode(127), [127]);
        // 128 = (0 + 1) · 128 + 0.
        assert_eq!(encode(128), [0x80, 0]);
        assert_eq!(encode(300), [0x81, 0x2c]);
        assert_eq!(encode(16_511), [0xff, 0x7f]);
        assert_eq!(encode(16_512), [0x80, 0x80, 0]);
    }

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

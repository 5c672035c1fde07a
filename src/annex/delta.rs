//! Git's binary delta format (the instructions of a pack's `OFS_DELTA` entries), encoding only:
//! a target is written as copies from an indexed base and literal inserts.
//!
//! The metadata logs of one sync share most of their bytes (one timestamp, the field names,
//! common values), so a log stored as a delta against its neighbour takes about half the space.
//! gix reads deltas but does not write them; the encoder is a greedy matcher over a hash of
//! every 4-byte window of the base, enough for objects of a few hundred bytes.

/// Bytes hashed to find a candidate match.
const WINDOW: usize = 4;
/// Shorter matches cost more as a copy instruction than as literal bytes.
const MIN_COPY: usize = 6;
/// The largest size one copy instruction can carry.
const MAX_COPY: usize = 0x10000;
/// The longest literal run of one insert instruction.
const MAX_INSERT: usize = 0x7f;

/// A base object, indexed for encoding targets against it.
pub struct Base<'a> {
    data: &'a [u8],
    /// Position + 1 of a window with this hash (0: none), per bucket.
    table: Vec<u32>,
    shift: u32,
}

fn bucket(window: &[u8], shift: u32) -> usize {
    let word = u32::from_le_bytes([window[0], window[1], window[2], window[3]]);
    (word.wrapping_mul(0x9E37_79B1) >> shift) as usize
}

/// Appends a size in the delta header's encoding: 7 bits per byte, least significant first.
fn push_size(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn push_insert(out: &mut Vec<u8>, mut literal: &[u8]) {
    while !literal.is_empty() {
        let n = literal.len().min(MAX_INSERT);
        out.push(n as u8);
        out.extend_from_slice(&literal[..n]);
        literal = &literal[n..];
    }
}

fn push_copy(out: &mut Vec<u8>, mut offset: usize, mut len: usize) {
    while len > 0 {
        let n = len.min(MAX_COPY);
        let at = out.len();
        out.push(0x80);
        for i in 0..4 {
            let byte = (offset >> (8 * i)) as u8;
            if byte != 0 {
                out[at] |= 1 << i;
                out.push(byte);
            }
        }
        // A size of 0x10000 is written as no size bytes at all.
        let size = if n == MAX_COPY { 0 } else { n };
        for i in 0..3 {
            let byte = (size >> (8 * i)) as u8;
            if byte != 0 {
                out[at] |= 0x10 << i;
                out.push(byte);
            }
        }
        offset += n;
        len -= n;
    }
}

impl<'a> Base<'a> {
    /// Indexes `data` (at most 4 GiB, as git's offsets are 32 bits).
    pub fn new(data: &'a [u8]) -> Base<'a> {
        let buckets = (data.len() * 2).next_power_of_two().max(64);
        let shift = 32 - buckets.trailing_zeros();
        let mut table = vec![0u32; buckets];
        // Backwards, so the earliest window of each hash is the one kept.
        for i in (0..data.len().saturating_sub(WINDOW - 1)).rev() {
            table[bucket(&data[i..i + WINDOW], shift)] = i as u32 + 1;
        }
        Base { data, table, shift }
    }

    /// The delta that turns this base into `target`, if it is at most `limit` bytes long.
    pub fn encode(&self, target: &[u8], limit: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(limit.min(target.len()) + 16);
        push_size(&mut out, self.data.len());
        push_size(&mut out, target.len());
        let mut literal_from = 0;
        let mut i = 0;
        while i + WINDOW <= target.len() {
            let candidate = self.table[bucket(&target[i..i + WINDOW], self.shift)];
            if candidate != 0 {
                let mut p = candidate as usize - 1;
                let mut len = self.data[p..]
                    .iter()
                    .zip(&target[i..])
                    .take_while(|(a, b)| a == b)
                    .count();
                if len >= MIN_COPY {
                    // Grow the match backwards over literal bytes that match too.
                    while p > 0 && i > literal_from && self.data[p - 1] == target[i - 1] {
                        p -= 1;
                        i -= 1;
                        len += 1;
                    }
                    push_insert(&mut out, &target[literal_from..i]);
                    push_copy(&mut out, p, len);
                    i += len;
                    literal_from = i;
                    if out.len() > limit {
                        return None;
                    }
                    continue;
                }
            }
            i += 1;
        }
        push_insert(&mut out, &target[literal_from..]);
        (out.len() <= limit).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies a delta as git does (the reference for the encoder's output).
    fn apply(base: &[u8], delta: &[u8]) -> Vec<u8> {
        let mut pos = 0;
        let mut size = || {
            let (mut n, mut shift) = (0usize, 0);
            loop {
                let b = delta[pos];
                pos += 1;
                n |= usize::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    return n;
                }
            }
        };
        assert_eq!(size(), base.len());
        let target_len = size();
        let mut out = Vec::new();
        while pos < delta.len() {
            let op = delta[pos];
            pos += 1;
            if op & 0x80 != 0 {
                let (mut offset, mut len) = (0usize, 0usize);
                for i in 0..4 {
                    if op & (1 << i) != 0 {
                        offset |= usize::from(delta[pos]) << (8 * i);
                        pos += 1;
                    }
                }
                for i in 0..3 {
                    if op & (0x10 << i) != 0 {
                        len |= usize::from(delta[pos]) << (8 * i);
                        pos += 1;
                    }
                }
                if len == 0 {
                    len = MAX_COPY;
                }
                out.extend_from_slice(&base[offset..offset + len]);
            } else {
                out.extend_from_slice(&delta[pos..pos + usize::from(op)]);
                pos += usize::from(op);
            }
        }
        assert_eq!(out.len(), target_len);
        out
    }

    #[test]
    fn similar_logs_encode_small_and_round_trip() {
        let base = b"1795321680.866708952s artist +!QXJ0aXN0IDgx title +!VHJhY2sgNDM= bpm +127.00 key +Am\n";
        let target = b"1795321680.866708952s artist +!QXJ0aXN0IDgy title +!VHJhY2sgOTk= bpm +128.00 key +Am\n";
        let delta = Base::new(base).encode(target, usize::MAX).unwrap();
        assert!(delta.len() < target.len() / 2, "{} bytes", delta.len());
        assert_eq!(apply(base, &delta), target);
        assert!(Base::new(base).encode(target, 10).is_none());
    }

    #[test]
    fn long_copies_offsets_and_literals_round_trip() {
        let base: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut target = b"new prefix".to_vec();
        target.extend_from_slice(&base[70_000..190_000]);
        target.extend((0..300u32).map(|i| (i % 3) as u8));
        target.extend_from_slice(&base[5..20]);
        let delta = Base::new(&base).encode(&target, usize::MAX).unwrap();
        assert_eq!(apply(&base, &delta), target);
        assert!(delta.len() < 1000);
        for (b, t) in [
            (&b""[..], &b"abc"[..]),
            (b"abc", b""),
            (b"abcdefgh", b"abcdefgh"),
        ] {
            assert_eq!(apply(b, &Base::new(b).encode(t, usize::MAX).unwrap()), t);
        }
    }
}

//! The store file's binary layout, read lazily: loading it checks its integrity and indexes its
//! entries (an offset each), and an entry's value is decoded only when a run looks it up.
//!
//! ```text
//! magic "BPCACHE" + format byte
//! tool:    u32 length + UTF-8 (the build that wrote it)
//! per kind, in `Kind::ALL` order: u32 count, then that many entries in increasing key order:
//!   key: u32 length + UTF-8 | size u64 | mtime_ns u64 | trusted u8 | digest [32] | context [32]
//!   | used u64 | value: u32 length + bytes (postcard)
//! SHA-256 of everything before it [32]
//! ```
//!
//! Integers are little-endian. A file whose checksum, lengths or key order do not hold is not
//! a store: it reads as none, and the run starts from an empty cache.
use sha2::{Digest, Sha256};

use super::{FileDigest, Fingerprint, Kind, KINDS};

/// The layout's version, in the magic's last byte: a store of another layout is ignored.
pub const FORMAT: u8 = 3;
const MAGIC: &[u8; 7] = b"BPCACHE";
const CHECKSUM: usize = 32;
/// The fixed fields between an entry's key and its value.
const FIXED: usize = 8 + 8 + 1 + 32 + 32 + 8;

/// One entry's fields besides its key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub size: u64,
    pub mtime_ns: u64,
    /// Whether the stamp may stand for the bytes (the file was not modified just before).
    pub trusted: bool,
    /// The digest of the bytes the value was computed from.
    pub digest: FileDigest,
    /// The fingerprint of everything else the value depends on.
    pub context: Fingerprint,
    /// Seconds since the epoch when a run last used it.
    pub used: u64,
}

/// A store as read: its bytes and, per kind, where each entry starts (in key order).
pub struct Loaded {
    bytes: Vec<u8>,
    tool: std::ops::Range<usize>,
    entries: [Vec<u32>; KINDS],
}

/// One entry read in place.
pub struct View<'a> {
    pub key: &'a str,
    pub header: Header,
    pub value: &'a [u8],
}

impl Loaded {
    /// The store in `bytes`, when they are one (checksum, lengths, key order).
    pub fn parse(bytes: Vec<u8>) -> Option<Loaded> {
        let body_len = bytes.len().checked_sub(CHECKSUM)?;
        let (body, sum) = bytes.split_at(body_len);
        if Sha256::digest(body).as_slice() != sum {
            return None;
        }
        if body.get(..MAGIC.len())? != MAGIC || *body.get(MAGIC.len())? != FORMAT {
            return None;
        }
        let mut at = MAGIC.len() + 1;
        let tool = field(body, &mut at)?;
        std::str::from_utf8(&body[tool.clone()]).ok()?;
        let mut entries: [Vec<u32>; KINDS] = Default::default();
        for list in &mut entries {
            let count = u32_at(body, &mut at)? as usize;
            // Each entry takes at least its fixed fields: a count beyond that is damage.
            if count > body.len() / FIXED {
                return None;
            }
            list.reserve_exact(count);
            let mut previous: Option<std::ops::Range<usize>> = None;
            for _ in 0..count {
                let start = u32::try_from(at).ok()?;
                let key = field(body, &mut at)?;
                let key_text = std::str::from_utf8(&body[key.clone()]).ok()?;
                if previous.is_some_and(|p| body[p].cmp(key_text.as_bytes()).is_ge()) {
                    return None;
                }
                at = at.checked_add(FIXED).filter(|&end| end <= body.len())?;
                field(body, &mut at)?;
                previous = Some(key);
                list.push(start);
            }
        }
        (at == body.len()).then_some(Loaded {
            bytes,
            tool,
            entries,
        })
    }

    pub fn tool(&self) -> &str {
        std::str::from_utf8(&self.bytes[self.tool.clone()]).unwrap_or("")
    }

    #[cfg(test)]
    pub fn len(&self, kind: Kind) -> usize {
        self.entries[kind.index()].len()
    }

    /// The entry of `kind` under `key` (a binary search: the keys are in order).
    pub fn get(&self, kind: Kind, key: &str) -> Option<View<'_>> {
        let list = &self.entries[kind.index()];
        let found = list
            .binary_search_by(|&start| self.key_at(start).as_bytes().cmp(key.as_bytes()))
            .ok()?;
        Some(self.view(list[found]))
    }

    /// Every entry of `kind`, in key order.
    pub fn iter(&self, kind: Kind) -> impl Iterator<Item = View<'_>> {
        self.entries[kind.index()]
            .iter()
            .map(|&start| self.view(start))
    }

    fn key_at(&self, start: u32) -> &str {
        let mut at = start as usize;
        // Checked when parsed.
        field(&self.bytes, &mut at)
            .and_then(|r| std::str::from_utf8(&self.bytes[r]).ok())
            .unwrap_or("")
    }

    fn view(&self, start: u32) -> View<'_> {
        let b = &self.bytes;
        let mut at = start as usize;
        let key = self.key_at(start);
        at += 4 + key.len();
        let u64_here = |at: &mut usize| {
            let v = u64::from_le_bytes(b[*at..*at + 8].try_into().unwrap_or_default());
            *at += 8;
            v
        };
        let array_here = |at: &mut usize| {
            let mut out = [0u8; 32];
            out.copy_from_slice(&b[*at..*at + 32]);
            *at += 32;
            out
        };
        let size = u64_here(&mut at);
        let mtime_ns = u64_here(&mut at);
        let trusted = b[at] != 0;
        at += 1;
        let digest = array_here(&mut at);
        let context = Fingerprint(array_here(&mut at));
        let used = u64_here(&mut at);
        let value = field(b, &mut at).map_or(&[][..], |r| &b[r]);
        View {
            key,
            header: Header {
                size,
                mtime_ns,
                trusted,
                digest,
                context,
                used,
            },
            value,
        }
    }
}

/// Writes a store: `sections` holds, per kind in `Kind::ALL` order, its entries in increasing
/// key order.
pub fn write<'a>(tool: &str, sections: &[Vec<(&'a str, Header, &'a [u8])>; KINDS]) -> Vec<u8> {
    let total: usize = sections
        .iter()
        .flatten()
        .map(|(k, _, v)| 8 + k.len() + FIXED + v.len())
        .sum();
    let mut out = Vec::with_capacity(total + 64 + tool.len());
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    put_field(&mut out, tool.as_bytes());
    for section in sections {
        put_u32(&mut out, section.len());
        for (key, h, value) in section {
            put_field(&mut out, key.as_bytes());
            out.extend_from_slice(&h.size.to_le_bytes());
            out.extend_from_slice(&h.mtime_ns.to_le_bytes());
            out.push(u8::from(h.trusted));
            out.extend_from_slice(&h.digest);
            out.extend_from_slice(&h.context.0);
            out.extend_from_slice(&h.used.to_le_bytes());
            put_field(&mut out, value);
        }
    }
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Lengths and counts above 4 GiB cannot occur: the store is bounded far below.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn u32_at(b: &[u8], at: &mut usize) -> Option<u32> {
    let v = u32::from_le_bytes(b.get(*at..*at + 4)?.try_into().ok()?);
    *at += 4;
    Some(v)
}

/// A length-prefixed field at `at`: its byte range, and `at` moved past it.
fn field(b: &[u8], at: &mut usize) -> Option<std::ops::Range<usize>> {
    let len = u32_at(b, at)? as usize;
    let range = *at..at.checked_add(len).filter(|&end| end <= b.len())?;
    *at = range.end;
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(used: u64) -> Header {
        Header {
            size: 7,
            mtime_ns: 9,
            trusted: true,
            digest: [1; 32],
            context: Fingerprint([2; 32]),
            used,
        }
    }

    fn sample() -> Vec<u8> {
        let mut sections: [Vec<(&str, Header, &[u8])>; KINDS] = Default::default();
        sections[Kind::Result.index()] = vec![("a.rs", header(1), b"xy"), ("b.rs", header(2), b"")];
        sections[Kind::Scan.index()] = vec![("a.rs", header(3), b"z")];
        write("tool-1", &sections)
    }

    #[test]
    fn entries_read_back_in_place() {
        let store = Loaded::parse(sample()).expect("a store");
        assert_eq!(store.tool(), "tool-1");
        assert_eq!(store.len(Kind::Result), 2);
        let b = store.get(Kind::Result, "b.rs").unwrap();
        assert_eq!((b.header, b.value), (header(2), &b""[..]));
        assert_eq!(store.get(Kind::Scan, "a.rs").unwrap().value, b"z");
        assert!(store.get(Kind::Scan, "b.rs").is_none());
        assert!(store.get(Kind::Later, "a.rs").is_none());
        let keys: Vec<&str> = store.iter(Kind::Result).map(|v| v.key).collect();
        assert_eq!(keys, ["a.rs", "b.rs"]);
    }

    #[test]
    fn any_damage_is_no_store() {
        let good = sample();
        assert!(Loaded::parse(good[..good.len() - 1].to_vec()).is_none());
        for at in [0, 8, 20, good.len() / 2, good.len() - 40] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            assert!(Loaded::parse(bad).is_none(), "a flipped bit at {at}");
        }
        assert!(Loaded::parse(Vec::new()).is_none());
    }

    #[test]
    fn keys_out_of_order_are_no_store() {
        let mut sections: [Vec<(&str, Header, &[u8])>; KINDS] = Default::default();
        sections[0] = vec![("b.rs", header(1), b""), ("a.rs", header(1), b"")];
        assert!(Loaded::parse(write("t", &sections)).is_none());
    }
}

//! The hash selector (RFC 5547 §5, §6): `sha-1` (RFC 3174), the one algorithm RFC 5547
//! names, and `sha-256` from the same IANA "Hash Function Textual Names" registry. SHA-1 is
//! written out here because the crate's dependencies only bring SHA-2; it serves to identify
//! a file, not to secure it.

use core::fmt;
use sha2::Digest;

use super::{is_token, MAX_DIGEST_LEN};

/// A hash algorithm by its IANA textual name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// `sha-1`: 20-octet digests.
    Sha1,
    /// `sha-256`: 32-octet digests.
    Sha256,
    /// Another registered name, in lower case; this crate cannot compute it.
    Other(String),
}

impl HashAlgorithm {
    /// The textual name.
    pub fn name(&self) -> &str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Other(s) => s,
        }
    }

    fn digest_len(&self) -> Option<usize> {
        match self {
            HashAlgorithm::Sha1 => Some(20),
            HashAlgorithm::Sha256 => Some(32),
            HashAlgorithm::Other(_) => None,
        }
    }
}

/// A file's digest as the hash selector carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileHash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// The digest octets.
    pub digest: Vec<u8>,
}

impl FileHash {
    /// Parses `sha-1:72:24:5F:...` (after `hash:`). Hex digits may be of either case; the
    /// digest length must be the algorithm's.
    pub fn parse(s: &str) -> Option<FileHash> {
        let (alg, hex) = s.split_once(':')?;
        if !is_token(alg) {
            return None;
        }
        let algorithm = match alg.to_ascii_lowercase().as_str() {
            "sha-1" => HashAlgorithm::Sha1,
            "sha-256" => HashAlgorithm::Sha256,
            other => HashAlgorithm::Other(other.to_string()),
        };
        let mut digest = Vec::new();
        for pair in hex.split(':') {
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            if digest.len() == MAX_DIGEST_LEN {
                return None;
            }
            digest.push(u8::from_str_radix(pair, 16).ok()?);
        }
        if algorithm.digest_len().is_some_and(|n| n != digest.len()) {
            return None;
        }
        Some(FileHash { algorithm, digest })
    }

    /// The digest of `data` in one go; `None` for an algorithm this crate cannot compute.
    pub fn of(algorithm: &HashAlgorithm, data: &[u8]) -> Option<FileHash> {
        let mut h = FileHasher::new(algorithm)?;
        h.update(data);
        Some(h.finish())
    }

    /// The whole selector: `hash:sha-1:72:24:5F:...`.
    pub fn selector(&self) -> String {
        format!("hash:{self}")
    }
}

impl fmt::Display for FileHash {
    /// `sha-1:72:24:5F:...`, the digest in upper-case hex as RFC 5547 §6 asks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_token(f, self.algorithm.name())?;
        for b in &self.digest {
            write!(f, ":{b:02X}")?;
        }
        Ok(())
    }
}

/// Computes a [`FileHash`] from chunks, so a large file never has to be in memory whole.
#[derive(Debug, Clone)]
pub struct FileHasher(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Sha1(Sha1),
    Sha256(sha2::Sha256),
}

impl FileHasher {
    /// A SHA-1 hasher.
    pub fn sha1() -> FileHasher {
        FileHasher(Inner::Sha1(Sha1::new()))
    }

    /// A SHA-256 hasher.
    pub fn sha256() -> FileHasher {
        FileHasher(Inner::Sha256(sha2::Sha256::new()))
    }

    /// A hasher for `algorithm`; `None` for one this crate cannot compute.
    pub fn new(algorithm: &HashAlgorithm) -> Option<FileHasher> {
        match algorithm {
            HashAlgorithm::Sha1 => Some(FileHasher::sha1()),
            HashAlgorithm::Sha256 => Some(FileHasher::sha256()),
            HashAlgorithm::Other(_) => None,
        }
    }

    /// Feeds the next chunk of the file.
    pub fn update(&mut self, chunk: &[u8]) {
        match &mut self.0 {
            Inner::Sha1(h) => h.update(chunk),
            Inner::Sha256(h) => h.update(chunk),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> FileHash {
        match self.0 {
            Inner::Sha1(h) => FileHash {
                algorithm: HashAlgorithm::Sha1,
                digest: h.finish().to_vec(),
            },
            Inner::Sha256(h) => FileHash {
                algorithm: HashAlgorithm::Sha256,
                digest: h.finalize().to_vec(),
            },
        }
    }
}

/// SHA-1 (RFC 3174 §6.1).
#[derive(Debug, Clone)]
struct Sha1 {
    state: [u32; 5],
    block: [u8; 64],
    filled: usize,
    total_len: u64,
}

impl Sha1 {
    fn new() -> Sha1 {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            block: [0; 64],
            filled: 0,
            total_len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (64 - self.filled).min(data.len());
            let (head, tail) = data.split_at(take);
            self.block[self.filled..self.filled + take].copy_from_slice(head);
            self.filled += take;
            data = tail;
            if self.filled == 64 {
                let block = self.block;
                self.compress(&block);
                self.filled = 0;
            }
        }
    }

    fn finish(mut self) -> [u8; 20] {
        let bits = self.total_len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.filled != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8; 64]) {
        let mut w = [0u32; 80];
        for (wi, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *wi = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = self.state;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e]) {
            *s = s.wrapping_add(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_vectors_of_rfc_3174() {
        let one = |data: &[u8]| {
            let mut h = Sha1::new();
            h.update(data);
            hex(&h.finish())
        };
        assert_eq!(one(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(one(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            one(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn sha1_of_a_million_a_in_odd_chunks() {
        let mut h = Sha1::new();
        let chunk = [b'a'; 997];
        let mut left = 1_000_000usize;
        while left > 0 {
            let n = left.min(chunk.len());
            h.update(&chunk[..n]);
            left -= n;
        }
        assert_eq!(hex(&h.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }
}

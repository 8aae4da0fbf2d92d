//! [`TrailerDigest`]: the SHA-256 of a byte stream but its last 32 bytes,
//! computed as the bytes arrive, and the check against those 32 bytes.

use super::{DIGEST_LEN, Error, hex};
use sha2::{Digest, Sha256};

/// Hashes everything but the last [`DIGEST_LEN`] bytes of what it is fed
/// (they are held back until more arrives), so the digest etcd appends to a
/// snapshot can be checked without keeping the snapshot in memory.
#[derive(Clone, Debug, Default)]
pub struct TrailerDigest {
    hasher: Sha256,
    /// The last bytes seen (at most [`DIGEST_LEN`]), not yet hashed.
    tail: Vec<u8>,
    len: u64,
}

impl TrailerDigest {
    /// Nothing fed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.tail.len() + bytes.len() <= DIGEST_LEN {
            self.tail.extend_from_slice(bytes);
            return;
        }
        // Hash what falls out of the window of the last DIGEST_LEN bytes.
        let keep_from_bytes = bytes.len().min(DIGEST_LEN);
        let from_tail = DIGEST_LEN - keep_from_bytes;
        let tail_out = self.tail.len() - from_tail;
        self.hasher.update(&self.tail[..tail_out]);
        self.tail.drain(..tail_out);
        let (hashed, kept) = bytes.split_at(bytes.len() - keep_from_bytes);
        self.hasher.update(hashed);
        self.tail.extend_from_slice(kept);
    }

    /// The bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks the stream: its size is a multiple of 512 plus 32 (Go's
    /// `hasChecksum`) and its last 32 bytes are the SHA-256 of the rest,
    /// which is returned.
    pub fn check(&self) -> Result<[u8; DIGEST_LEN], Error> {
        if self.len % 512 != DIGEST_LEN as u64 {
            return Err(Error::NoChecksum { size: self.len });
        }
        let actual: [u8; DIGEST_LEN] = self.hasher.clone().finalize().into();
        if self.tail[..] != actual[..] {
            return Err(Error::ChecksumMismatch {
                expected: hex(&self.tail),
                actual: hex(&actual),
            });
        }
        Ok(actual)
    }
}

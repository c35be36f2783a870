//! SHA-256, CRC32 and the first bytes of each tus upload, carried from PATCH to PATCH, so the
//! last PATCH can store the file without reading it again.
//!
//! Process-local: after a restart, or when another node took some PATCHes, the digest is
//! missing or behind the offset, and completion re-reads the file instead (correct, slower).

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::ingest::SNIFF_WINDOW;

/// At most this many uploads keep a digest; more fall back to re-reading at completion.
const MAX_TRACKED: usize = 10_000;

/// The digest of an upload's first `offset` bytes.
#[derive(Clone)]
pub(crate) struct Running {
    pub offset: u64,
    sha: Sha256,
    crc: crc32fast::Hasher,
    /// The first bytes (up to the sniff window), to recognise the type.
    pub head: Vec<u8>,
}

impl Default for Running {
    fn default() -> Self {
        Running {
            offset: 0,
            sha: Sha256::new(),
            crc: crc32fast::Hasher::new(),
            head: Vec::new(),
        }
    }
}

impl Running {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.crc.update(bytes);
        if self.head.len() < SNIFF_WINDOW {
            let take = (SNIFF_WINDOW - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        self.offset += bytes.len() as u64;
    }

    /// Lowercase hex SHA-256 and CRC32 of the bytes so far.
    pub fn finish(self) -> (String, u32) {
        (
            crate::storage::local::hex(&self.sha.finalize()),
            self.crc.finalize(),
        )
    }
}

/// The digests of the uploads this process is receiving, by key.
#[derive(Default)]
pub(crate) struct Digests(Mutex<HashMap<String, Running>>);

impl Digests {
    /// Takes the digest of `key` if it covers exactly the first `offset` bytes; a fresh one at
    /// offset 0. `None` when the bytes so far went through another process.
    pub fn take(&self, key: &str, offset: u64) -> Option<Running> {
        let found = self.lock().remove(key);
        match found {
            Some(d) if d.offset == offset => Some(d),
            _ if offset == 0 => Some(Running::default()),
            _ => None,
        }
    }

    /// Keeps the digest for the next PATCH.
    pub fn put(&self, key: &str, digest: Running) {
        let mut map = self.lock();
        if map.len() < MAX_TRACKED || map.contains_key(key) {
            map.insert(key.to_string(), digest);
        }
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        // The map holds plain values: a panic elsewhere leaves it consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_continues_only_from_its_own_offset() {
        let d = Digests::default();
        let mut r = d.take("k", 0).unwrap();
        r.update(b"hello ");
        d.put("k", r);
        assert!(d.take("k", 3).is_none(), "behind or ahead: re-read instead");
        let mut r = d.take("k", 0).expect("offset 0 starts afresh");
        r.update(b"hello ");
        d.put("k", r);
        let mut r = d.take("k", 6).unwrap();
        r.update(b"world");
        assert_eq!(r.offset, 11);
        assert_eq!(r.head, b"hello world");
        let (sha, crc) = r.finish();
        assert_eq!(
            sha,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(crc, crc32fast::hash(b"hello world"));
    }
}

//! HMAC-SHA256 with the keyed state prepared once.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Length of an HMAC-SHA256 tag and of a SHA-256 digest.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 key whose inner and outer padded states are computed once, at construction;
/// every MAC clones that state instead of re-hashing the key.
#[derive(Clone)]
pub(crate) struct PreparedKey(Hmac<Sha256>);

impl PreparedKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(mac) => PreparedKey(mac),
            // HMAC accepts keys of every length: longer ones are hashed, shorter ones padded.
            Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
        }
    }

    /// The MAC of the concatenation of `parts`, without building the concatenation.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreparedKey(<redacted>)")
    }
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; TAG_LEN] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_hashed_as_their_concatenation() {
        let key = PreparedKey::new(b"key");
        assert_eq!(key.mac(&[b"ab", b".", b"cd"]), key.mac(&[b"ab.cd"]));
    }
}

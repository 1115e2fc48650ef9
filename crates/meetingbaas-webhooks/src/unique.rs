//! Identifiers that must not repeat: message ids for signing, owner tokens for claims.

use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::mac::sha256;
use crate::secret::to_hex;

/// `prefix` followed by 26 hex digits, unique per process and call (Svix message ids for signing,
/// owner tokens for deduplication claims): a digest of the time, a
/// process-wide counter, the process id and `salt`.
pub fn unique_id(prefix: &str, salt: &[u8]) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut seed = alloc::vec::Vec::with_capacity(salt.len().min(64) + 32);
    seed.extend_from_slice(&nanos.to_le_bytes());
    seed.extend_from_slice(&count.to_le_bytes());
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    seed.extend_from_slice(&salt[..salt.len().min(64)]);
    let mut id = String::from(prefix);
    id.push_str(&to_hex(&sha256(&seed)[..13]));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_do_not_repeat() {
        let a = unique_id("msg_", b"same");
        let b = unique_id("msg_", b"same");
        assert_ne!(a, b);
        assert!(a.starts_with("msg_") && a.len() == 4 + 26);
    }
}

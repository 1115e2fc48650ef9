//! Recognising a delivery again: the idempotency key.

use alloc::string::String;
use core::fmt;

use crate::mac::sha256;
use crate::secret::to_hex;

/// The key under which a delivery's duplicates are recognised.
///
/// - When the scheme carries a message id (Svix), the key is that id: Svix keeps it on every
///   retry of a message, while the body of a retry is byte-for-byte the same anyway.
/// - Otherwise (signature, callback secret, API key), the key is the SHA-256 of the verified body:
///   these senders retry with an identical body and carry no id, so the body is the only thing
///   that identifies the message. Two distinct events never share a body in practice, because
///   each carries its bot id, event id or timestamps.
///
/// A manual re-delivery (`resend-webhook`, `retry-callback`) is a fresh message with a new id and
/// new presigned URLs, so it gets a new key and is processed again, which is what re-delivery is
/// for.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub(crate) fn for_delivery(message_id: Option<&str>, body: &[u8]) -> Self {
        match message_id {
            Some(id) => IdempotencyKey(alloc::format!("id:{id}")),
            None => IdempotencyKey(alloc::format!("sha256:{}", to_hex(&sha256(body)))),
        }
    }

    /// The key as text: `id:<message id>` or `sha256:<64 hex digits>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_wins_over_the_body() {
        assert_eq!(
            IdempotencyKey::for_delivery(Some("msg_1"), b"a").as_str(),
            "id:msg_1"
        );
        assert_eq!(
            IdempotencyKey::for_delivery(Some("msg_1"), b"a"),
            IdempotencyKey::for_delivery(Some("msg_1"), b"b")
        );
    }

    #[test]
    fn without_an_id_the_body_hash_is_the_key() {
        let key = IdempotencyKey::for_delivery(None, b"");
        assert_eq!(
            key.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(key, IdempotencyKey::for_delivery(None, b" "));
    }
}

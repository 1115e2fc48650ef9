//! Recognising a delivery again: the idempotency key.

use alloc::string::String;
use core::fmt;

use crate::mac::sha256;
use crate::scheme::Scheme;
use crate::secret::to_hex;

/// The key under which a delivery's duplicates are recognised: `<scheme>:id:<message id>` or
/// `<scheme>:sha256:<64 hex digits>`.
///
/// - When the scheme carries a message id (Svix), the key is that id: Svix keeps it on every
///   retry of a message, while the body of a retry is byte-for-byte the same anyway.
/// - Otherwise (signature, callback secret, API key, alert secret), the key is the SHA-256 of the
///   verified body: these senders retry with an identical body and carry no id, so the body is
///   the only thing that identifies the message. Two distinct events never share a body in
///   practice, because each carries its bot id, event id or timestamps.
/// - The scheme is part of the key, so that two schemes never share one: the same body sent as
///   a callback and as a v1 webhook are two deliveries, and a sender can only produce keys of
///   its own scheme.
///
/// # Re-delivery
///
/// A deliberate re-delivery is not always a fresh message (docs/protocol.md §5):
/// - a **Resend** of one message from the Meeting BaaS dashboard is a Svix resend, which keeps the
///   same `svix-id` (Standard Webhooks: the id stays the same when a message is resent), so it
///   has the same key as the original and is answered as a duplicate;
/// - `retry-callback` and v1 `retry_webhook` may repeat the body byte for byte (the docs
///   disagree): then the key is the same too;
/// - `resend-webhook` sends a new message (new id, new presigned URLs): a new key.
///
/// To let a deliberate resend through, forget its key in the store first (with the store you
/// deduplicate with: remove the key, or wait for its time-to-live), or reprocess the original
/// from your own storage instead of asking for a resend.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of a delivery verified by `scheme` with `message_id` (Svix) and `body`: what
    /// [`VerifiedDelivery::idempotency_key`](crate::VerifiedDelivery::idempotency_key) holds,
    /// computed without verifying (to find a stored delivery by its body, or in a benchmark).
    pub fn for_delivery(scheme: Scheme, message_id: Option<&str>, body: &[u8]) -> Self {
        let scheme = scheme.as_str();
        match message_id {
            Some(id) => IdempotencyKey(alloc::format!("{scheme}:id:{id}")),
            None => IdempotencyKey(alloc::format!("{scheme}:sha256:{}", to_hex(&sha256(body)))),
        }
    }

    /// The key as text: `<scheme>:id:<message id>` or `<scheme>:sha256:<64 hex digits>`, the
    /// scheme as [`Scheme::as_str`] writes it.
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
            IdempotencyKey::for_delivery(Scheme::Svix, Some("msg_1"), b"a").as_str(),
            "svix:id:msg_1"
        );
        assert_eq!(
            IdempotencyKey::for_delivery(Scheme::Svix, Some("msg_1"), b"a"),
            IdempotencyKey::for_delivery(Scheme::Svix, Some("msg_1"), b"b")
        );
    }

    #[test]
    fn without_an_id_the_body_hash_is_the_key() {
        let key = IdempotencyKey::for_delivery(Scheme::Callback, None, b"");
        assert_eq!(
            key.as_str(),
            "callback:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(
            key,
            IdempotencyKey::for_delivery(Scheme::Callback, None, b" ")
        );
    }

    #[test]
    fn two_schemes_never_share_a_key() {
        for scheme in Scheme::ALL {
            for other in Scheme::ALL.into_iter().filter(|other| *other != scheme) {
                assert_ne!(
                    IdempotencyKey::for_delivery(scheme, None, b"same body"),
                    IdempotencyKey::for_delivery(other, None, b"same body")
                );
                assert_ne!(
                    IdempotencyKey::for_delivery(scheme, Some("msg_1"), b""),
                    IdempotencyKey::for_delivery(other, Some("msg_1"), b"")
                );
            }
        }
    }
}

//! A delivery that passed verification.

use alloc::string::String;
use core::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::IdempotencyKey;
use crate::error::ParseError;
use crate::event::Event;
use crate::scheme::Scheme;

/// The HTTP methods Meeting BaaS delivers with: `POST` for every webhook and callback, and `PUT`
/// for a bot's callback whose `callback_config.method` is `PUT`. A receiver must accept both
/// wherever it accepts one: a callback is never retried after a 4xx, so one answered 405 is lost.
pub const DELIVERY_METHODS: [&str; 2] = ["POST", "PUT"];

/// Whether `method` is one of the [`DELIVERY_METHODS`] (method names are case-sensitive).
///
/// ```
/// use meetingbaas_webhooks::is_delivery_method;
///
/// assert!(is_delivery_method("POST") && is_delivery_method("PUT"));
/// assert!(!is_delivery_method("PATCH") && !is_delivery_method("put"));
/// ```
pub fn is_delivery_method(method: &str) -> bool {
    DELIVERY_METHODS.contains(&method)
}

/// A verified delivery: the raw body exactly as received, which scheme vouched for it, and the
/// message id and timestamp where the scheme has them.
///
/// Parsing is a separate, explicit step ([`parse_event`](Self::parse_event) or
/// [`parse`](Self::parse) into your own type); a body that does not parse is still a verified
/// delivery, and its raw JSON stays reachable through [`body`](Self::body).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedDelivery {
    body: Bytes,
    scheme: Scheme,
    message_id: Option<String>,
    timestamp: Option<i64>,
}

impl VerifiedDelivery {
    pub(crate) fn new(
        body: Bytes,
        scheme: Scheme,
        message_id: Option<String>,
        timestamp: Option<i64>,
    ) -> Self {
        VerifiedDelivery {
            body,
            scheme,
            message_id,
            timestamp,
        }
    }

    /// The raw body, byte for byte as signed (shares the request's buffer; no copy).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Takes the raw body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The scheme that verified the delivery.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The Svix message id (`svix-id`), the same on every retry of one message; `None` for schemes
    /// without one.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The signed Svix timestamp (Unix seconds); `None` for schemes without one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The key under which duplicates of this delivery are recognised (see [`IdempotencyKey`]).
    pub fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::for_delivery(self.scheme, self.message_id(), &self.body)
    }

    /// Parses the body into an [`Event`].
    ///
    /// Total for every envelope (any JSON object with a string `event`) and every alert: what
    /// does not fit its typed field is recorded in [`Event::issues`] and, with the `tracing`
    /// feature, logged once at warn level (paths and expected types only, never values; a
    /// verified sender only, so this cannot be flooded). Large fields (the inline transcript)
    /// are [`Lazy`](crate::event::Lazy): kept as a range of the body, read when first read,
    /// their issues recorded and logged then. Under [`Scheme::Alert`] an object
    /// without `event` is an alert whatever its fields. Fails only when the body is not JSON or
    /// not an envelope (400).
    pub fn parse_event(&self) -> Result<Event, ParseError> {
        let event =
            crate::event::parse_event(&self.body, Some(&self.body), self.scheme == Scheme::Alert)?;
        if !event.issues().is_empty() {
            crate::log::did_not_fit(&event);
        }
        Ok(event)
    }

    /// What the delivery is (its event name, kind and bot id), read without its payload: what
    /// intake needs to filter and label a delivery. It agrees with
    /// [`parse_event`](Self::parse_event) on every body, and fails where it does.
    pub fn envelope(&self) -> Result<crate::event::Envelope, ParseError> {
        crate::event::Envelope::peek(&self.body, self.scheme == Scheme::Alert)
    }

    /// Parses the body into your own type (or [`Event`], which implements `Deserialize`).
    ///
    /// The answer to a failure follows the contract whatever the type: not JSON,
    /// [`ParseError::InvalidJson`] (400); JSON but not an envelope (an object with a string
    /// `event`), [`ParseError::InvalidEnvelope`] (400); an envelope that does not fit `T`,
    /// [`ParseError::InvalidData`] (422).
    ///
    /// Only your own strict type can get a 422 (`Event` never does). Mind what a 4xx does to
    /// the sender: v2 webhooks retry for about 3 hours and then give up (after days of failures
    /// the endpoint is disabled); v2 callbacks and alerts are never retried on a 4xx. A
    /// delivery refused for its shape is lost; prefer [`parse_event`](Self::parse_event) or keep
    /// [`body`](Self::body) when your type does not fit.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
        serde_json::from_slice(&self.body)
            .map_err(|err| crate::event::classify_any(&self.body, &err))
    }
}

impl fmt::Debug for VerifiedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedDelivery")
            .field("scheme", &self.scheme)
            .field("message_id", &self.message_id)
            .field("timestamp", &self.timestamp)
            .field("body_len", &self.body.len())
            .finish()
    }
}

//! The inbox step: store a verified delivery durably and answer at once.
//!
//! With an inbox set ([`Pipeline::inbox`](super::Pipeline::inbox)), the pipeline does not hand a
//! [`Ticket`](super::Ticket) to the handler: it stores every verified delivery of a wanted kind
//! (whatever its shape: a verified body that is not an event is stored too, and a worker
//! dead-letters it as unreadable) and answers
//!
//! | the inbox says | answer |
//! |---|---|
//! | [`Enqueued::Stored`] | 202 `{"status":"queued","id":"<id>"}` |
//! | [`Enqueued::Duplicate`] (same [`IdempotencyKey`](meetingbaas_webhooks::IdempotencyKey)) | 200 `{"status":"duplicate"}` |
//! | an [`InboxError`] | 503 `inbox_unavailable` with `Retry-After` (the sender retries) |
//!
//! Implementations live outside the core (the `meetingbaas-webhooks-inbox` crate: SQLite, Redis
//! Streams); the worker that runs the handler on stored deliveries lives there too.

use std::boxed::Box;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::string::String;

use bytes::Bytes;

use meetingbaas_webhooks::EventKind;
use meetingbaas_webhooks::VerifiedDelivery;
use meetingbaas_webhooks::event::{Envelope, EventTime};

/// What the pipeline knows of a delivery's event when it stores it: its envelope only (the
/// payload is parsed by the worker), so that a body that is not an event is still stored (every
/// field `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventLabel {
    /// The event's kind, when the body is an event envelope.
    pub kind: Option<EventKind>,
    /// The event's wire name as sent (`bot.completed`, `complete`, ...), when there is one.
    pub name: Option<String>,
    /// The bot concerned, when the event names one.
    pub bot_id: Option<String>,
    /// When the event happened by its payload ([`Envelope::time`]): what orders a bot's
    /// deliveries in the inbox.
    pub time: EventTime,
}

impl EventLabel {
    /// A label with `kind` and `name`, and no bot id.
    pub fn new(kind: Option<EventKind>, name: Option<String>) -> Self {
        EventLabel {
            kind,
            name,
            bot_id: None,
            time: EventTime::default(),
        }
    }

    /// The same label with `bot_id`.
    pub fn with_bot_id(mut self, bot_id: Option<String>) -> Self {
        self.bot_id = bot_id;
        self
    }
}

impl From<Envelope> for EventLabel {
    fn from(envelope: Envelope) -> Self {
        let time = envelope.time();
        let (name, kind, bot_id) = envelope.into_parts();
        EventLabel {
            kind: Some(kind),
            name: Some(name),
            bot_id,
            time,
        }
    }
}

/// What [`Inbox::enqueue`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored durably under this id (on disk, or acknowledged by the store, before this value
    /// exists).
    Stored {
        /// The inbox's id for the delivery (for `show`, `redrive`, logs).
        id: String,
    },
    /// A delivery with the same idempotency key is stored already: nothing was stored.
    Duplicate,
}

/// The inbox could not store a delivery (unreachable, full, read-only...). Its message names no
/// credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the inbox is unavailable: {message}")]
pub struct InboxError {
    message: String,
}

impl InboxError {
    /// An error with a description (never put a URL with credentials in it).
    pub fn new(message: impl Into<String>) -> Self {
        InboxError {
            message: message.into(),
        }
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The future of [`Inbox::enqueue`]: owns what it needs, so adapters can keep it in their own
/// futures.
pub type EnqueueFuture = Pin<Box<dyn Future<Output = Result<Enqueued, InboxError>> + Send>>;

/// Where verified deliveries are stored until a worker has handled them.
///
/// Object-safe, so that a backend chosen at run time is an `Arc<dyn Inbox>`. An implementation
/// must resolve to [`Enqueued::Stored`] only once the delivery is durable: the sender is answered
/// 2xx on it and will never send it again.
pub trait Inbox: Send + Sync + fmt::Debug + 'static {
    /// Stores `delivery` (its body, scheme, message id and idempotency key) with `label`, unless
    /// a delivery with the same idempotency key is stored already.
    fn enqueue(&self, delivery: &VerifiedDelivery, label: EventLabel) -> EnqueueFuture;
}

/// The body of the 202 answer to a delivery stored in the inbox.
pub fn queued_body(id: &str) -> Bytes {
    let id = serde_json::to_string(id).unwrap_or_else(|_| String::from("null"));
    Bytes::from(std::format!(r#"{{"status":"queued","id":{id}}}"#))
}

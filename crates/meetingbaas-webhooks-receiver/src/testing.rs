//! Signed deliveries and sample events for your own tests (feature `testing`).
//!
//! Testing a webhook handler needs what Meeting BaaS sends: a body and the headers of a scheme,
//! signed with your secret. [`TestDelivery`] is that pair, for any scheme ([`Signer`]) and any
//! body, or for the sample of any event name ([`sample`]) with the bot id of your choice. The
//! adapter crates turn it into their framework's test request (`http::Request`, actix-web's
//! `TestRequest`, warp's `RequestBuilder`) in their own `testing` modules.
//!
//! ```
//! use meetingbaas_webhooks_receiver::testing::{SAMPLE_BOT_ID, TestDelivery, sample};
//! use meetingbaas_webhooks::{Event, EventName, Signer, Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().svix_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").build()?;
//! let signer = Signer::svix("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
//!
//! // The sample `bot.completed`, about your bot, signed now.
//! let delivery = TestDelivery::sample(&signer, EventName::BotCompleted, "my-bot");
//! let verified = verifier.verify(delivery.headers(), delivery.body().clone())?;
//! assert_eq!(verified.parse_event()?.bot_id(), Some("my-bot"));
//!
//! // Any body, any scheme.
//! let delivery = TestDelivery::signed(&Signer::callback("s3cret")?, r#"{"event":"x","data":{}}"#);
//! assert_eq!(delivery.headers().get("x-mb-secret"), Some("s3cret"));
//!
//! // The samples, as Meeting BaaS sends them (the fixtures' bot id).
//! assert!(sample(EventName::BotFailed).contains(SAMPLE_BOT_ID));
//! # let _ = Event::from_slice(sample(EventName::Complete).as_bytes())?;
//! # Ok(())
//! # }
//! ```

use std::string::{String, ToString};

use bytes::Bytes;

use meetingbaas_webhooks::EventName;
use meetingbaas_webhooks::{SignedHeaders, Signer};

/// The bot id every bot sample refers to (the one in Meeting BaaS's documented examples).
pub const SAMPLE_BOT_ID: &str = "123e4567-e89b-12d3-a456-426614174000";

/// The wire name of the alert sample ([`ALERT_SAMPLE`]).
pub const ALERT_NAME: &str = "alert";

/// The alert callback sample: not an envelope (no `event`), sent under the alert scheme
/// (`x-mb-alert-secret`, [`Signer::alert`]).
pub const ALERT_SAMPLE: &str = ALERT_FILE.trim_ascii_end();

const ALERT_FILE: &str = include_str!("../samples/alert.json");

/// `(wire name, sample file)`, in the order of [`EventName::ALL`].
const SAMPLES: &[(&str, &str)] = &[
    // Fixtures, copied from the shared `fixtures/` directory.
    (
        "bot.status_change",
        include_str!("../samples/v2_bot_status_change.json"),
    ),
    ("complete", include_str!("../samples/v1_complete.json")),
    (
        "bot.completed",
        include_str!("../samples/v2_bot_completed.json"),
    ),
    ("failed", include_str!("../samples/v1_failed.json")),
    ("bot.failed", include_str!("../samples/v2_bot_failed.json")),
    (
        "transcription_complete",
        include_str!("../samples/v1_transcription_complete.json"),
    ),
    (
        "calendar.event_created",
        include_str!("../samples/v2_calendar_event_created.json"),
    ),
    // Product-description names: `bot_id` only.
    (
        "meeting.started",
        include_str!("../samples/meeting.started.json"),
    ),
    (
        "meeting.completed",
        include_str!("../samples/meeting.completed.json"),
    ),
    (
        "meeting.failed",
        include_str!("../samples/meeting.failed.json"),
    ),
    (
        "transcription.available",
        include_str!("../samples/transcription.available.json"),
    ),
    (
        "transcription.updated",
        include_str!("../samples/transcription.updated.json"),
    ),
    (
        "calendar.synced",
        include_str!("../samples/calendar.synced.json"),
    ),
    ("event.added", include_str!("../samples/event.added.json")),
    (
        "event.updated",
        include_str!("../samples/event.updated.json"),
    ),
    (
        "event.deleted",
        include_str!("../samples/event.deleted.json"),
    ),
    // v1 and v2 names without a fixture: every field docs/protocol.md §4 lists.
    (
        "bot.chat_message",
        include_str!("../samples/bot.chat_message.json"),
    ),
    (
        "calendar.sync_events",
        include_str!("../samples/calendar.sync_events.json"),
    ),
    (
        "calendar.events_synced",
        include_str!("../samples/calendar.events_synced.json"),
    ),
    (
        "calendar.event_updated",
        include_str!("../samples/calendar.event_updated.json"),
    ),
    (
        "calendar.event_cancelled",
        include_str!("../samples/calendar.event_cancelled.json"),
    ),
    (
        "calendar.connection_created",
        include_str!("../samples/calendar.connection_created.json"),
    ),
    (
        "calendar.connection_updated",
        include_str!("../samples/calendar.connection_updated.json"),
    ),
    (
        "calendar.connection_deleted",
        include_str!("../samples/calendar.connection_deleted.json"),
    ),
    (
        "calendar.connection_error",
        include_str!("../samples/calendar.connection_error.json"),
    ),
];

/// The sample body of `name`, exactly as it is sent (one line of JSON).
///
/// Seven are real examples from Meeting BaaS's documentation; the others carry the fields the
/// protocol documents for them. Bot samples name [`SAMPLE_BOT_ID`]; every wire name of
/// [`EventName::ALL`] has one.
pub fn sample(name: EventName) -> &'static str {
    SAMPLES
        .iter()
        .find(|(wire, _)| *wire == name.as_str())
        .map(|(_, body)| body.trim_ascii_end())
        // Every name has a sample (a unit test checks it); an empty envelope is the fallback
        // for a name added without one.
        .unwrap_or(r#"{"event":"unknown","data":{}}"#)
}

/// The sample body of `name` with `bot_id` in place of [`SAMPLE_BOT_ID`] (escaped as a JSON
/// string, so any text is safe).
pub fn sample_with_bot_id(name: EventName, bot_id: &str) -> String {
    with_bot_id(sample(name), bot_id)
}

/// `body` with `bot_id` in place of [`SAMPLE_BOT_ID`], escaped as the inside of a JSON string.
pub fn with_bot_id(body: &str, bot_id: &str) -> String {
    let quoted = serde_json::Value::from(bot_id).to_string();
    body.replace(SAMPLE_BOT_ID, &quoted[1..quoted.len() - 1])
}

/// A body and the headers Meeting BaaS would send with it, signed under one scheme: what a
/// test sends to a handler. The adapters turn it into their framework's test request.
#[derive(Clone, Debug)]
pub struct TestDelivery {
    body: Bytes,
    headers: SignedHeaders,
}

impl TestDelivery {
    /// `body` signed now by `signer` (Svix: with a fresh message id).
    pub fn signed(signer: &Signer, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let headers = signer.sign_now(&body);
        TestDelivery { body, headers }
    }

    /// `body` signed by `signer` with a chosen Svix message id and timestamp (the other schemes
    /// ignore both): for a verifier with a `FixedClock`, or to send the same delivery twice.
    pub fn signed_at(signer: &Signer, body: impl Into<Bytes>, id: &str, timestamp: i64) -> Self {
        let body = body.into();
        let headers = signer.sign(&body, id, timestamp);
        TestDelivery { body, headers }
    }

    /// The sample of `name` about `bot_id`, signed now by `signer`.
    pub fn sample(signer: &Signer, name: EventName, bot_id: &str) -> Self {
        TestDelivery::signed(signer, sample_with_bot_id(name, bot_id))
    }

    /// The alert sample, signed now by `signer` (an alert signer, [`Signer::alert`], is what
    /// Meeting BaaS uses for alerts).
    pub fn alert(signer: &Signer) -> Self {
        TestDelivery::signed(signer, ALERT_SAMPLE)
    }

    /// The same delivery with another body and the same headers: what a tampered delivery
    /// looks like.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The headers the scheme adds.
    pub fn headers(&self) -> &SignedHeaders {
        &self.headers
    }

    /// The body and the headers.
    pub fn into_parts(self) -> (Bytes, SignedHeaders) {
        (self.body, self.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meetingbaas_webhooks::{Event, EventKind};

    #[test]
    fn every_wire_name_has_exactly_one_sample() {
        for name in EventName::ALL {
            let count = SAMPLES.iter().filter(|(w, _)| *w == name.as_str()).count();
            assert_eq!(count, 1, "{name}");
        }
        assert_eq!(SAMPLES.len(), EventName::ALL.len());
    }

    #[test]
    fn every_sample_parses_to_its_wire_names_kind() {
        for name in EventName::ALL {
            let event = Event::from_slice(sample(*name).as_bytes()).unwrap();
            assert_eq!(event.event_name(), Some(*name), "{name}");
            assert_eq!(event.kind(), name.kind(), "{name}");
            assert_ne!(event.kind(), EventKind::Unknown);
        }
    }

    #[test]
    fn bot_samples_take_the_chosen_bot_id() {
        for name in EventName::ALL {
            let body = sample_with_bot_id(*name, "my \"bot\"");
            let event = Event::from_slice(body.as_bytes()).unwrap();
            if !name.as_str().starts_with("calendar.") {
                assert_eq!(event.bot_id(), Some("my \"bot\""), "{name}");
            }
        }
    }

    #[test]
    fn the_alert_sample_is_an_alert() {
        let event = Event::from_slice(ALERT_SAMPLE.as_bytes()).unwrap();
        assert_eq!(event.kind(), EventKind::Alert);
        assert!(event.all_issues().is_empty());
    }
}

/// An [`Inbox`](crate::Inbox) that keeps in memory what it is given, for tests of what intake
/// answers: the first delivery of a body is [`Stored`](crate::Enqueued::Stored) (ids `1`, `2`,
/// ...), a later one with the same body a [`Duplicate`](crate::Enqueued::Duplicate); one made
/// with [`down`](Self::down) fails every time (an inbox that cannot store: 503). Not durable:
/// the real inboxes are in `meetingbaas-webhooks-inbox`.
#[derive(Debug, Default)]
pub struct RecordingInbox {
    stored: std::sync::Mutex<Vec<(Bytes, crate::EventLabel)>>,
    down: bool,
}

impl RecordingInbox {
    /// An empty inbox that stores.
    pub fn new() -> Self {
        RecordingInbox::default()
    }

    /// An inbox that cannot store (every enqueue fails).
    pub fn down() -> Self {
        RecordingInbox {
            down: true,
            ..RecordingInbox::default()
        }
    }

    /// What was given to it, in order: each body and what the pipeline read of its event
    /// (duplicates included).
    pub fn stored(&self) -> Vec<(Bytes, crate::EventLabel)> {
        self.stored
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl crate::Inbox for RecordingInbox {
    fn enqueue(
        &self,
        delivery: &meetingbaas_webhooks::VerifiedDelivery,
        label: crate::EventLabel,
    ) -> crate::EnqueueFuture {
        let result = if self.down {
            Err(crate::InboxError::new("disk full (RecordingInbox::down)"))
        } else {
            let mut stored = self
                .stored
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let duplicate = stored.iter().any(|(body, _)| body == delivery.body());
            stored.push((delivery.body().clone(), label));
            if duplicate {
                Ok(crate::Enqueued::Duplicate)
            } else {
                Ok(crate::Enqueued::Stored {
                    id: stored.len().to_string(),
                })
            }
        };
        Box::pin(async move { result })
    }
}

//! The event model: one [`Event`] enum with a variant per meaning, whatever API generation sent it.
//!
//! Meeting BaaS has named the same event differently across generations (`complete` in v1,
//! `bot.completed` in v2, `meeting.completed` in the product description). Each meaning has one
//! variant; the exact wire name stays available as [`EventName`] in the variant, with its
//! [`Generation`]. Names this version does not know parse to [`Event::Unknown`] with their raw
//! `data`, so an authentic delivery always reaches the handler.
//!
//! Parsing is total for verified deliveries: any JSON object with a string `event` parses. Each
//! field accepts the JSON types it documents and every documented spelling (`event_uuid` reads
//! into `event_id`, `mp4` into `video`, `start_time` into `start`, ...); a value of another type
//! reads as absent and is recorded as a [`ParseIssue`] ([`Event::issues`]), value kept. Fields a
//! struct does not know are kept in its `unknown` ([`UnknownFields`]). Status and error codes
//! keep values they do not know. A flat v1 body (`{"event":"complete","bot_id":...}`, no `data`)
//! reads its top-level fields as the data.
//!
//! Alert callbacks (a flat object, no `event`) parse into [`Event::Alert`].
//!
//! Large fields a handler may never read are [`Lazy`]: the inline transcript of a v1
//! `complete` ([`BotCompleted::transcript`], up to megabytes) is kept as the JSON it was sent as
//! (a range of the body, not a copy) and read into its typed form on first access, once. Its
//! issues are found then ([`Lazy::issues`]; [`Event::all_issues`] gives every issue of the body).
//!
//! [`Event`] implements `Serialize`: a normalized form `{"event", "kind", "generation", "data",
//! "extra", "issues"}` with canonical field names (what `meetingbaas-webhooks parse` prints).
//! Normalizing what it parses back to gives the same bytes (but for `issues`: a value that did
//! not fit its type is kept only in its issue). Numbers included: a number is read as the `f64` nearest to its text (correctly
//! rounded, like `str::parse`) and written as the shortest text that reads back as that `f64`,
//! so it comes back bit for bit (a number's text is not kept: `1.50` comes back as `1.5`).
//!
//! ```
//! use meetingbaas_webhooks::{Event, EventKind, EventName, Generation};
//!
//! let event = Event::from_slice(br#"{"event":"complete","data":{"bot_id":"b-1","mp4":"https://x"}}"#)?;
//! assert_eq!(event.kind(), EventKind::BotCompleted);
//! assert_eq!(event.event_name(), Some(EventName::Complete));
//! assert_eq!(event.generation(), Some(Generation::V1));
//! if let Event::BotCompleted { data, .. } = &event {
//!     assert_eq!(data.video_url(), Some("https://x"));
//! }
//! # Ok::<(), meetingbaas_webhooks::ParseError>(())
//! ```

mod alert;
mod bot;
mod calendar;
mod codes;
mod data;
mod envelope;
mod lazy;
pub(crate) mod lenient;
mod names;
mod parse;
pub mod time;

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use serde_json::Value;

pub use alert::Alert;
pub use bot::{
    BotCompleted, BotFailed, BotStatus, BotStatusChange, ChatMessage, Participant,
    TranscriptSegment, Transcription, Word,
};
pub use calendar::{
    CalendarConnection, CalendarEventChange, CalendarEventSeries, CalendarInstance, CalendarSynced,
};
pub use codes::{
    CalendarEventType, CalendarPlatform, ConnectionStatus, FailureCode, InstanceStatus,
    MeetingPlatform, StatusCode,
};
pub use data::EventData;
pub use envelope::Envelope;
pub use lazy::Lazy;
pub use lenient::{ParseIssue, UnknownFields};
pub use names::{EventName, Generation};
pub use time::{EventTime, TimeField, is_stale, links_expire_at_ms, parse_timestamp_ms};

use lenient::{Ctx, Payload, Seg};
pub(crate) use parse::{classify_any, parse_event};

/// Declares `Event`, `EventKind` and the dispatch between them from one list.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($payload:ty) => $kind_name:literal, )*) => {
        /// A Meeting BaaS webhook event: one variant per meaning.
        ///
        /// Every envelope variant carries the exact wire `name` it arrived under and its `data`
        /// (boxed, so that the enum stays two words wide).
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            $(
                $(#[$doc])*
                $variant {
                    /// The wire name it arrived under.
                    name: EventName,
                    /// The payload.
                    data: Box<$payload>,
                },
            )*
            /// A v2 alert callback (no envelope; wire name `alert`, no bot).
            Alert(Box<Alert>),
            /// An event name this version does not know; its data is kept as raw JSON.
            Unknown(Box<UnknownEvent>),
        }

        /// What an event means, whatever its wire name: [`Event::kind`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
            /// A v2 alert callback.
            Alert,
            /// An event name this version does not know.
            Unknown,
        }

        impl EventKind {
            /// Every kind, `Unknown` last.
            pub const ALL: &'static [EventKind] =
                &[$( EventKind::$variant, )* EventKind::Alert, EventKind::Unknown];

            /// A stable snake_case name for the kind, such as `bot_completed`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( EventKind::$variant => $kind_name, )*
                    EventKind::Alert => "alert",
                    EventKind::Unknown => "unknown",
                }
            }
        }

        impl Event {
            /// What the event means.
            pub fn kind(&self) -> EventKind {
                match self {
                    $( Event::$variant { .. } => EventKind::$variant, )*
                    Event::Alert(_) => EventKind::Alert,
                    Event::Unknown(_) => EventKind::Unknown,
                }
            }

            /// The known envelope wire name; `None` for an alert and for an unknown event.
            pub fn event_name(&self) -> Option<EventName> {
                match self {
                    $( Event::$variant { name, .. } => Some(*name), )*
                    Event::Alert(_) | Event::Unknown(_) => None,
                }
            }

            fn payload(&self) -> Option<&dyn Payload> {
                match self {
                    $( Event::$variant { data, .. } => Some(&**data), )*
                    Event::Alert(alert) => Some(&**alert),
                    Event::Unknown(_) => None,
                }
            }

            fn payload_mut(&mut self) -> Option<&mut dyn Payload> {
                match self {
                    $( Event::$variant { data, .. } => Some(&mut **data), )*
                    Event::Alert(alert) => Some(&mut **alert),
                    Event::Unknown(_) => None,
                }
            }

            /// The typed payload as JSON (canonical names, unknown fields, no `extra`).
            fn serialize_data<S: serde::ser::SerializeMap>(&self, map: &mut S) -> Result<(), S::Error> {
                match self {
                    $( Event::$variant { data, .. } => map.serialize_entry("data", &**data), )*
                    Event::Alert(alert) => map.serialize_entry("data", &**alert),
                    Event::Unknown(unknown) => map.serialize_entry("data", &unknown.data),
                }
            }

            /// Reads the `data` of a known target, leniently (never fails but on a syntax error).
            fn read_data<'de, D>(target: Target, data: D, ctx: &mut Ctx, at: Seg) -> Result<Event, D::Error>
            where
                D: serde::Deserializer<'de>,
            {
                let name = match target {
                    Target::Alert => {
                        let alert: Option<Alert> = lenient::read(data, ctx, at)?;
                        return Ok(Event::Alert(Box::new(alert.unwrap_or_default())));
                    }
                    Target::Envelope(name) => name,
                };
                match name.kind() {
                    $( EventKind::$variant => {
                        let payload: Option<$payload> = lenient::read(data, ctx, at)?;
                        Ok(Event::$variant { name, data: Box::new(payload.unwrap_or_default()) })
                    } )*
                    // Every name has a kind with a variant (tested in `names`).
                    EventKind::Alert | EventKind::Unknown => Ok(Event::Unknown(Box::new(UnknownEvent {
                        name: name.as_str().into(),
                        data: Value::Null,
                        extra: None,
                    }))),
                }
            }

            /// Takes every payload field `other` has and `self` lacks (same variant only).
            fn fill_missing(&mut self, other: Event) {
                match (self, other) {
                    $( (Event::$variant { data, .. }, Event::$variant { data: other, .. }) => {
                        data.fill_missing(*other)
                    } )*
                    (Event::Alert(alert), Event::Alert(other)) => alert.fill_missing(*other),
                    _ => {}
                }
            }
        }
    };
}

events! {
    /// The bot's status changed (`bot.status_change`, `meeting.started`).
    BotStatusChange(BotStatusChange) => "bot_status_change",
    /// The meeting is over and the recording is ready (`complete`, `bot.completed`, `meeting.completed`).
    BotCompleted(BotCompleted) => "bot_completed",
    /// The bot failed (`failed`, `bot.failed`, `meeting.failed`).
    BotFailed(BotFailed) => "bot_failed",
    /// The transcription is ready (`transcription_complete`, `transcription.available`).
    TranscriptionAvailable(Transcription) => "transcription_available",
    /// The transcription was refined (`transcription.updated`).
    TranscriptionUpdated(Transcription) => "transcription_updated",
    /// A chat message was written in the meeting (`bot.chat_message`).
    ChatMessage(ChatMessage) => "chat_message",
    /// A calendar was synchronised (`calendar.sync_events`, `calendar.events_synced`, `calendar.synced`).
    CalendarSynced(CalendarSynced) => "calendar_synced",
    /// A calendar event was added (`calendar.event_created`, `event.added`).
    CalendarEventCreated(CalendarEventChange) => "calendar_event_created",
    /// A calendar event was updated (`calendar.event_updated`, `event.updated`).
    CalendarEventUpdated(CalendarEventChange) => "calendar_event_updated",
    /// A calendar event was removed (`calendar.event_cancelled`, `event.deleted`).
    CalendarEventCancelled(CalendarEventChange) => "calendar_event_cancelled",
    /// A calendar was connected (`calendar.connection_created`).
    CalendarConnectionCreated(CalendarConnection) => "calendar_connection_created",
    /// A calendar connection changed (`calendar.connection_updated`).
    CalendarConnectionUpdated(CalendarConnection) => "calendar_connection_updated",
    /// A calendar was disconnected (`calendar.connection_deleted`).
    CalendarConnectionDeleted(CalendarConnection) => "calendar_connection_deleted",
    /// A calendar connection failed (`calendar.connection_error`).
    CalendarConnectionError(CalendarConnection) => "calendar_connection_error",
}

impl EventKind {
    /// The kind a person or a tool names: a kind name (`bot_completed`, as
    /// [`as_str`](Self::as_str) writes it) or any wire name of it (`bot.completed`, `complete`,
    /// `meeting.completed`, `alert`), compared exactly. `None` for anything else.
    ///
    /// ```
    /// use meetingbaas_webhooks::EventKind;
    ///
    /// assert_eq!(EventKind::from_name("bot.completed"), Some(EventKind::BotCompleted));
    /// assert_eq!(EventKind::from_name("bot_completed"), Some(EventKind::BotCompleted));
    /// assert_eq!(EventKind::from_name("complete"), Some(EventKind::BotCompleted));
    /// assert_eq!(EventKind::from_name("alert"), Some(EventKind::Alert));
    /// assert_eq!(EventKind::from_name("bot.complete"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .or_else(|| EventName::from_wire(name).map(EventName::kind))
    }

    /// Every name [`from_name`](Self::from_name) takes for this kind: its kind name, then its
    /// wire names.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        let wire = EventName::ALL
            .iter()
            .filter(move |name| name.kind() == self)
            .map(|name| name.as_str());
        core::iter::once(self.as_str()).chain(wire)
    }
}

/// An event whose name this version does not know: still verified, still delivered.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The wire name.
    pub name: String,
    /// The raw `data` (`Null` when absent).
    pub data: Value,
    /// The top-level `extra`, if any.
    pub extra: Option<Value>,
}

impl Event {
    /// Parses a whole webhook body: an envelope (`{"event": ..., "data": ..., "extra": ...}`) or
    /// an alert (an object without `event` but with `alert_rule_id`).
    ///
    /// Total for verified senders: any JSON object with a string `event` parses, whatever its
    /// `data` (see the [module docs](self) and [`Event::issues`]). Only a body that is not JSON
    /// ([`ParseError::InvalidJson`]) or not an envelope (not an object, no string `event`, `event`
    /// twice: [`ParseError::InvalidEnvelope`]) fails, both answered 400.
    /// [`VerifiedDelivery::parse_event`](crate::VerifiedDelivery::parse_event) also reads any
    /// object without `event` verified by [`Scheme::Alert`](crate::Scheme::Alert) as an alert.
    ///
    /// [`ParseError::InvalidJson`]: crate::ParseError::InvalidJson
    /// [`ParseError::InvalidEnvelope`]: crate::ParseError::InvalidEnvelope
    pub fn from_slice(body: &[u8]) -> Result<Event, crate::ParseError> {
        parse::parse_event(body, None, false)
    }

    /// [`from_slice`](Self::from_slice), keeping [`Lazy`] fields (the inline transcript) as
    /// ranges of `body` rather than copies.
    pub fn from_bytes(body: &bytes::Bytes) -> Result<Event, crate::ParseError> {
        parse::parse_event(body, Some(body), false)
    }

    /// The wire name exactly as sent (`bot.completed`, `complete`, `alert`, or an unknown name).
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown(unknown) => &unknown.name,
            Event::Alert(_) => "alert",
            known => known.event_name().map_or("", EventName::as_str),
        }
    }

    /// Which API generation uses this wire name (an alert: v2); `None` for an unknown event.
    pub fn generation(&self) -> Option<Generation> {
        match self {
            Event::Alert(_) => Some(Generation::V2),
            known => known.event_name().map(EventName::generation),
        }
    }

    /// The calendar event concerned, whichever field carried it (`event_id` in v2, `event_uuid`
    /// in v1).
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Event::Unknown(unknown) => ["event_id", "event_uuid"]
                .into_iter()
                .find_map(|name| unknown.data.get(name).and_then(Value::as_str)),
            known => known.payload().and_then(Payload::event_id),
        }
    }

    /// What did not fit its typed field (path, expectation and the value, kept), in every field
    /// read so far: not inside a [`Lazy`] field not yet read (the inline transcript), whose
    /// issues are found when it is read ([`Lazy::issues`]; all at once: [`all_issues`]).
    /// Empty when everything fit, and always for an unknown event (its data is kept raw).
    ///
    /// [`all_issues`]: Self::all_issues
    pub fn issues(&self) -> &[ParseIssue] {
        self.payload().map_or(&[], Payload::issues)
    }

    /// [`issues`](Self::issues), then the issues inside [`Lazy`] fields, reading those now if
    /// they have not been read: everything that did not fit, anywhere in the body.
    pub fn all_issues(&self) -> alloc::vec::Vec<ParseIssue> {
        self.payload()
            .map_or_else(Default::default, Payload::all_issues)
    }

    /// The payload's fields this version has no typed field for; `None` for an unknown event
    /// (whose whole data is raw).
    pub fn unknown_fields(&self) -> Option<&UnknownFields> {
        self.payload().map(Payload::unknown)
    }

    /// The bot concerned, where the event names one (never for an alert).
    pub fn bot_id(&self) -> Option<&str> {
        match self {
            Event::Unknown(unknown) => unknown.data.get("bot_id").and_then(Value::as_str),
            known => known.payload().and_then(Payload::bot_id),
        }
    }

    /// Your metadata from bot creation: the top-level `extra` (v2) or `data.extra` (v1), whichever
    /// was sent; `None` when absent or `null`.
    pub fn extra(&self) -> Option<&Value> {
        match self {
            Event::Unknown(unknown) => unknown
                .extra
                .as_ref()
                .or_else(|| unknown.data.get("extra"))
                .filter(|v| !v.is_null()),
            known => known.payload().and_then(Payload::extra),
        }
    }

    /// When the event happened by its payload: the status's `created_at` (status changes,
    /// and `bot.completed` where it sends its final status) and `sent_at` (`bot.completed`,
    /// `bot.failed`, chat messages; an unknown event's `data`). What orders a bot's deliveries
    /// and tells a stale status ([`time`](mod@self::time)); [`Envelope::time`] reads the same from
    /// the raw body.
    pub fn time(&self) -> EventTime {
        fn status(status: &Option<BotStatus>) -> Option<&str> {
            status
                .as_ref()
                .and_then(|status| status.created_at.as_deref())
        }
        match self {
            Event::BotStatusChange { data, .. } => {
                EventTime::from_fields(status(&data.status), None)
            }
            Event::BotCompleted { data, .. } => {
                EventTime::from_fields(status(&data.status), data.sent_at.as_deref())
            }
            Event::BotFailed { data, .. } => EventTime::from_fields(None, data.sent_at.as_deref()),
            Event::ChatMessage { data, .. } => {
                EventTime::from_fields(None, data.sent_at.as_deref())
            }
            Event::Unknown(unknown) => EventTime::from_fields(
                unknown
                    .data
                    .get("status")
                    .and_then(|status| status.get("created_at"))
                    .and_then(Value::as_str),
                unknown.data.get("sent_at").and_then(Value::as_str),
            ),
            _ => EventTime::default(),
        }
    }

    /// When the payload's presigned links (video, audio, transcription...) expire, Unix
    /// milliseconds: 4 hours after its `sent_at`; `None` where it has no readable `sent_at`
    /// (the inbox's [`Job`] counts from receipt then).
    ///
    /// [`Job`]: https://docs.rs/meetingbaas-webhooks-inbox/latest/meetingbaas_webhooks_inbox/struct.Job.html
    pub fn links_expire_at_ms(&self) -> Option<i64> {
        let sent_at = self.time().sent_at;
        sent_at
            .ms()
            .map(|sent| time::links_expire_at_ms(sent_at, sent))
    }

    /// The alert, for [`Event::Alert`].
    pub fn as_alert(&self) -> Option<&Alert> {
        match self {
            Event::Alert(alert) => Some(alert),
            _ => None,
        }
    }

    /// Whether the name was not one this version knows.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Event::Unknown(_))
    }

    /// Fills the payload's `extra` from the envelope's top-level `extra` when `data` had none
    /// (an alert has no `extra`: it is kept among its unknown fields).
    fn adopt_extra(&mut self, extra: Option<Value>) {
        let Some(extra) = extra.filter(|v| !v.is_null()) else {
            return;
        };
        match self {
            Event::Unknown(unknown) => unknown.extra = Some(extra),
            known => {
                if let Some(payload) = known.payload_mut() {
                    match payload.extra_slot() {
                        Some(slot) => {
                            if slot.is_none() {
                                *slot = Some(extra);
                            }
                        }
                        None => payload.unknown_mut().keep("extra".into(), extra),
                    }
                }
            }
        }
    }

    /// Stores what did not fit, on the payload.
    fn set_issues(&mut self, issues: alloc::vec::Vec<ParseIssue>) {
        if let Some(payload) = self.payload_mut() {
            *payload.issues_mut() = issues;
        }
    }
}

/// What a body's `data` is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Envelope(EventName),
    Alert,
}

impl Target {
    /// A known name (`alert`: the normalized form of an alert), or `None`.
    fn from_name(name: &str) -> Option<Target> {
        match name {
            "alert" => Some(Target::Alert),
            name => EventName::from_wire(name).map(Target::Envelope),
        }
    }
}

impl serde::Serialize for Event {
    /// The normalized form: `{"event": <wire name>, "kind": <kind>, "generation": ..., "data":
    /// <typed fields under their canonical names, then the unknown fields>, "extra": ...,
    /// "issues": [...]}`. It is itself an envelope: parsing it again gives the same kind, name,
    /// bot id and fields.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("event", self.name())?;
        map.serialize_entry("kind", self.kind().as_str())?;
        map.serialize_entry("generation", &self.generation().map(Generation::as_str))?;
        self.serialize_data(&mut map)?;
        map.serialize_entry("extra", &self.extra())?;
        map.serialize_entry("issues", &self.all_issues())?;
        map.end()
    }
}

impl serde::Serialize for EventKind {
    /// As [`EventKind::as_str`].
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enum_stays_small() {
        assert!(
            core::mem::size_of::<Event>() <= 16,
            "{}",
            core::mem::size_of::<Event>()
        );
    }
}

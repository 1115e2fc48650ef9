//! The event model: one [`Event`] enum with a variant per meaning, whatever API generation sent it.
//!
//! Meeting BaaS has named the same event differently across generations (`complete` in v1,
//! `bot.completed` in v2, `meeting.completed` in the product description). Each meaning has one
//! variant; the exact wire name stays available as [`EventName`] in the variant, with its
//! [`Generation`]. Names this version does not know parse to [`Event::Unknown`] with their raw
//! `data`, so an authentic delivery always reaches the handler.
//!
//! Payload structs are lenient: every field is optional (or an empty list when absent or
//! `null`), unknown fields are ignored, and status and error codes keep values they do not know.
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

mod bot;
mod calendar;
mod codes;
mod lenient;
mod names;
mod parse;

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use serde_json::Value;

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
pub use names::{EventName, Generation};

use lenient::Payload;
pub(crate) use parse::classify_any;

/// Declares `Event`, `EventKind` and the dispatch between them from one list.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($payload:ty) => $kind_name:literal, )*) => {
        /// A Meeting BaaS webhook event: one variant per meaning.
        ///
        /// Every known variant carries the exact wire `name` it arrived under and its `data`
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
            /// An event name this version does not know; its data is kept as raw JSON.
            Unknown(Box<UnknownEvent>),
        }

        /// What an event means, whatever its wire name: [`Event::kind`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
            /// An event name this version does not know.
            Unknown,
        }

        impl EventKind {
            /// Every kind, `Unknown` last.
            pub const ALL: &'static [EventKind] = &[$( EventKind::$variant, )* EventKind::Unknown];

            /// A stable snake_case name for the kind, such as `bot_completed`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( EventKind::$variant => $kind_name, )*
                    EventKind::Unknown => "unknown",
                }
            }
        }

        impl Event {
            /// What the event means.
            pub fn kind(&self) -> EventKind {
                match self {
                    $( Event::$variant { .. } => EventKind::$variant, )*
                    Event::Unknown(_) => EventKind::Unknown,
                }
            }

            /// The known wire name, `None` for an unknown event.
            pub fn event_name(&self) -> Option<EventName> {
                match self {
                    $( Event::$variant { name, .. } => Some(*name), )*
                    Event::Unknown(_) => None,
                }
            }

            fn payload(&self) -> Option<&dyn Payload> {
                match self {
                    $( Event::$variant { data, .. } => Some(&**data), )*
                    Event::Unknown(_) => None,
                }
            }

            fn payload_mut(&mut self) -> Option<&mut dyn Payload> {
                match self {
                    $( Event::$variant { data, .. } => Some(&mut **data), )*
                    Event::Unknown(_) => None,
                }
            }

            /// Reads the `data` of a known event name.
            fn deserialize_data<'de, D>(name: EventName, data: D) -> Result<Event, D::Error>
            where
                D: serde::Deserializer<'de>,
            {
                match name.kind() {
                    $( EventKind::$variant => Ok(Event::$variant {
                        name,
                        data: Box::new(lenient::null_as_default(data)?),
                    }), )*
                    EventKind::Unknown => Err(<D::Error as serde::de::Error>::custom("unknown event")),
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
    /// Parses a whole webhook body (`{"event": ..., "data": ..., "extra": ...}`).
    ///
    /// Not JSON, or not an object with a string `event`: [`ParseError::InvalidJson`] or
    /// [`ParseError::InvalidEnvelope`] (400). A known event whose `data` does not fit its type:
    /// [`ParseError::InvalidData`] (422). Unknown names never fail.
    ///
    /// [`ParseError::InvalidJson`]: crate::ParseError::InvalidJson
    /// [`ParseError::InvalidEnvelope`]: crate::ParseError::InvalidEnvelope
    /// [`ParseError::InvalidData`]: crate::ParseError::InvalidData
    pub fn from_slice(body: &[u8]) -> Result<Event, crate::ParseError> {
        parse::parse_event(body)
    }

    /// The wire name exactly as sent (`bot.completed`, `complete`, or an unknown name).
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown(unknown) => &unknown.name,
            known => known.event_name().map_or("", EventName::as_str),
        }
    }

    /// Which API generation uses this wire name; `None` for an unknown event.
    pub fn generation(&self) -> Option<Generation> {
        self.event_name().map(EventName::generation)
    }

    /// The bot concerned, where the event names one.
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

    /// Whether the name was not one this version knows.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Event::Unknown(_))
    }

    /// Fills the payload's `extra` from the envelope's top-level `extra` when `data` had none.
    fn adopt_extra(&mut self, extra: Option<Value>) {
        let extra = extra.filter(|v| !v.is_null());
        match self {
            Event::Unknown(unknown) => unknown.extra = extra,
            known => {
                if let Some(payload) = known.payload_mut() {
                    let slot = payload.extra_mut();
                    if slot.as_ref().is_none_or(Value::is_null) {
                        *slot = extra;
                    }
                }
            }
        }
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

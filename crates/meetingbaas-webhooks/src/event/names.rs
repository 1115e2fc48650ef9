//! Every known wire name, its API generation and its meaning.

use core::fmt;

use super::EventKind;

/// Which generation of the Meeting BaaS API uses a wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Generation {
    /// The v1 API (`complete`, `failed`, ...).
    V1,
    /// The v2 API (`bot.completed`, `calendar.event_created`, ...).
    V2,
    /// Both v1 and v2 use this name (`bot.status_change`).
    V1AndV2,
    /// The names documented to integrators in the product description (`meeting.completed`, ...).
    ProductDescription,
}

impl Generation {
    /// A stable snake_case name: `v1`, `v2`, `v1_and_v2` or `product_description`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Generation::V1 => "v1",
            Generation::V2 => "v2",
            Generation::V1AndV2 => "v1_and_v2",
            Generation::ProductDescription => "product_description",
        }
    }
}

macro_rules! names {
    ($( $(#[$doc:meta])* $variant:ident => $wire:literal, $generation:ident, $kind:ident; )*) => {
        /// A known wire name (the `event` field of a delivery).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventName {
            $( $(#[$doc])* $variant, )*
        }

        impl EventName {
            /// Every known wire name.
            pub const ALL: &'static [EventName] = &[$( EventName::$variant, )*];

            /// The name as written on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $( EventName::$variant => $wire, )* }
            }

            /// Which API generation uses it.
            pub const fn generation(self) -> Generation {
                match self { $( EventName::$variant => Generation::$generation, )* }
            }

            /// What it means.
            pub const fn kind(self) -> EventKind {
                match self { $( EventName::$variant => EventKind::$kind, )* }
            }

            /// Looks a wire name up (exact, case-sensitive); `None` when unknown.
            pub fn from_wire(name: &str) -> Option<EventName> {
                match name {
                    $( $wire => Some(EventName::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

names! {
    /// `bot.status_change` (v1 and v2).
    BotStatusChange => "bot.status_change", V1AndV2, BotStatusChange;
    /// `meeting.started` (product description: the bot joined).
    MeetingStarted => "meeting.started", ProductDescription, BotStatusChange;
    /// `complete` (v1).
    Complete => "complete", V1, BotCompleted;
    /// `bot.completed` (v2).
    BotCompleted => "bot.completed", V2, BotCompleted;
    /// `meeting.completed` (product description).
    MeetingCompleted => "meeting.completed", ProductDescription, BotCompleted;
    /// `failed` (v1).
    Failed => "failed", V1, BotFailed;
    /// `bot.failed` (v2).
    BotFailed => "bot.failed", V2, BotFailed;
    /// `meeting.failed` (product description).
    MeetingFailed => "meeting.failed", ProductDescription, BotFailed;
    /// `transcription_complete` (v1).
    TranscriptionComplete => "transcription_complete", V1, TranscriptionAvailable;
    /// `transcription.available` (product description).
    TranscriptionAvailable => "transcription.available", ProductDescription, TranscriptionAvailable;
    /// `transcription.updated` (product description).
    TranscriptionUpdated => "transcription.updated", ProductDescription, TranscriptionUpdated;
    /// `bot.chat_message` (v2).
    BotChatMessage => "bot.chat_message", V2, ChatMessage;
    /// `calendar.sync_events` (v1).
    CalendarSyncEvents => "calendar.sync_events", V1, CalendarSynced;
    /// `calendar.events_synced` (v2).
    CalendarEventsSynced => "calendar.events_synced", V2, CalendarSynced;
    /// `calendar.synced` (product description).
    CalendarSynced => "calendar.synced", ProductDescription, CalendarSynced;
    /// `calendar.event_created` (v2).
    CalendarEventCreated => "calendar.event_created", V2, CalendarEventCreated;
    /// `event.added` (product description).
    EventAdded => "event.added", ProductDescription, CalendarEventCreated;
    /// `calendar.event_updated` (v2).
    CalendarEventUpdated => "calendar.event_updated", V2, CalendarEventUpdated;
    /// `event.updated` (product description).
    EventUpdated => "event.updated", ProductDescription, CalendarEventUpdated;
    /// `calendar.event_cancelled` (v2).
    CalendarEventCancelled => "calendar.event_cancelled", V2, CalendarEventCancelled;
    /// `event.deleted` (product description).
    EventDeleted => "event.deleted", ProductDescription, CalendarEventCancelled;
    /// `calendar.connection_created` (v2).
    CalendarConnectionCreated => "calendar.connection_created", V2, CalendarConnectionCreated;
    /// `calendar.connection_updated` (v2).
    CalendarConnectionUpdated => "calendar.connection_updated", V2, CalendarConnectionUpdated;
    /// `calendar.connection_deleted` (v2).
    CalendarConnectionDeleted => "calendar.connection_deleted", V2, CalendarConnectionDeleted;
    /// `calendar.connection_error` (v2).
    CalendarConnectionError => "calendar.connection_error", V2, CalendarConnectionError;
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        assert_eq!(EventName::ALL.len(), 25);
        for name in EventName::ALL {
            assert_eq!(EventName::from_wire(name.as_str()), Some(*name));
        }
        assert_eq!(EventName::from_wire("Bot.Completed"), None);
    }

    #[test]
    fn every_kind_but_unknown_has_a_name() {
        for kind in EventKind::ALL {
            let named = EventName::ALL.iter().any(|name| name.kind() == *kind);
            let envelope = !matches!(kind, EventKind::Unknown | EventKind::Alert);
            assert_eq!(named, envelope, "{kind:?}");
        }
    }
}

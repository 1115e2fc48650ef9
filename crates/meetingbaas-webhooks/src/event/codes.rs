//! Status and error vocabularies: enums that keep unknown values instead of failing.

use alloc::string::String;
use core::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Declares a string enum with an `Other(String)` fallback, `as_str`, `Display` and serde impls.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal $(| $alias:literal)* ,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(value) => value,
                }
            }

            /// Reads a wire value; unknown values become `Other`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $( $wire $(| $alias)* => $name::$variant, )*
                    other => $name::Other(other.into()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(WireStr($name::from_wire))
            }
        }

        impl super::lenient::Shape for $name {
            const EXPECTED: &'static str = "a string";
            fn from_str(value: &str) -> Option<Self> {
                Some($name::from_wire(value))
            }
        }
    };
}

/// A visitor that reads a string (borrowed or not) and maps it with a function.
struct WireStr<T>(fn(&str) -> T);

impl<T> Visitor<'_> for WireStr<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        Ok((self.0)(value))
    }
}

open_enum! {
    /// A bot's status code in `bot.status_change`. New codes keep appearing: they parse as `Other`.
    pub enum StatusCode {
        /// Waiting for a machine.
        Queued => "queued",
        /// Picking up a machine takes longer than usual.
        PickupDelayed => "pickup_delayed",
        /// Joining the call.
        JoiningCall => "joining_call",
        /// In the waiting room.
        InWaitingRoom => "in_waiting_room",
        /// Waiting for the host.
        InWaitingForHost => "in_waiting_for_host",
        /// In the call, not recording.
        InCallNotRecording => "in_call_not_recording",
        /// In the call, recording.
        InCallRecording => "in_call_recording",
        /// Recording paused.
        RecordingPaused => "recording_paused",
        /// Recording resumed.
        RecordingResumed => "recording_resumed",
        /// The call ended.
        CallEnded => "call_ended",
        /// The recording succeeded.
        RecordingSucceeded => "recording_succeeded",
        /// The recording failed.
        RecordingFailed => "recording_failed",
        /// Transcribing.
        Transcribing => "transcribing",
        /// Done.
        Completed => "completed",
        /// Failed.
        Failed => "failed",
        /// Retrying (see `attempt` and `max`).
        Retrying => "retrying",
        /// Stopped by an API request.
        ApiRequestStop => "api_request_stop",
        /// Refused entry.
        BotRejected => "bot_rejected",
        /// Removed from the meeting.
        BotRemoved => "bot_removed",
        /// Removed before the meeting ended.
        BotRemovedTooEarly => "bot_removed_too_early",
        /// Waited too long in the waiting room.
        WaitingRoomTimeout => "waiting_room_timeout",
        /// The meeting URL is not valid.
        InvalidMeetingUrl => "invalid_meeting_url",
        /// The meeting platform reported an error.
        MeetingError => "meeting_error",
        /// Waiting for reconciliation.
        AwaitingReconciliation => "awaiting_reconciliation",
        /// Transcription failed.
        TranscriptionFailed => "transcription_failed",
    }
}

open_enum! {
    /// A calendar provider.
    pub enum CalendarPlatform {
        /// Google Calendar.
        Google => "google",
        /// Microsoft Outlook / 365.
        Microsoft => "microsoft",
    }
}

open_enum! {
    /// The state of a calendar connection.
    pub enum ConnectionStatus {
        /// Syncing.
        Active => "active",
        /// Failing.
        Error => "error",
        /// Access was revoked.
        Revoked => "revoked",
        /// Access was refused.
        PermissionDenied => "permission_denied",
    }
}

open_enum! {
    /// Whether a calendar event happens once or repeats.
    pub enum CalendarEventType {
        /// A single event.
        OneOff => "one_off",
        /// A recurring series.
        Recurring => "recurring",
    }
}

open_enum! {
    /// The state of one occurrence of a calendar event.
    pub enum InstanceStatus {
        /// Confirmed.
        Confirmed => "confirmed",
        /// Cancelled.
        Cancelled => "cancelled",
        /// Tentative.
        Tentative => "tentative",
    }
}

open_enum! {
    /// The video-conferencing platform of a meeting.
    pub enum MeetingPlatform {
        /// Zoom.
        Zoom => "zoom",
        /// Google Meet.
        Meet => "meet",
        /// Microsoft Teams.
        Teams => "teams",
    }
}

/// Why a bot failed. v1 and v2 spell codes differently (`CannotJoinMeeting`,
/// `meeting_not_found`, `CANNOT_JOIN_MEETING`): all spellings of one code read as one variant.
/// Unknown codes are kept as `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCode {
    /// The bot could not join.
    CannotJoinMeeting,
    /// The meeting did not start in time.
    TimeoutWaitingToStart,
    /// Nobody let the bot in.
    BotNotAccepted,
    /// The bot was removed.
    BotRemoved,
    /// The bot was removed before the meeting ended.
    BotRemovedTooEarly,
    /// An error inside Meeting BaaS.
    InternalError,
    /// The meeting URL is not valid.
    InvalidMeetingUrl,
    /// Stopped by an API request.
    ApiRequest,
    /// Streaming could not be set up.
    StreamingSetupFailed,
    /// The meeting does not exist or has expired.
    MeetingNotFound,
    /// Access to the meeting was denied.
    AccessDenied,
    /// Authentication with the meeting platform failed.
    AuthenticationError,
    /// A network error.
    NetworkError,
    /// The account has no tokens left.
    InsufficientTokens,
    /// An unclassified error.
    UnknownError,
    /// A code this version does not know, kept as sent.
    Other(String),
}

const FAILURE_CODES: [(&str, FailureCode); 15] = [
    ("CANNOT_JOIN_MEETING", FailureCode::CannotJoinMeeting),
    (
        "TIMEOUT_WAITING_TO_START",
        FailureCode::TimeoutWaitingToStart,
    ),
    ("BOT_NOT_ACCEPTED", FailureCode::BotNotAccepted),
    ("BOT_REMOVED", FailureCode::BotRemoved),
    ("BOT_REMOVED_TOO_EARLY", FailureCode::BotRemovedTooEarly),
    ("INTERNAL_ERROR", FailureCode::InternalError),
    ("INVALID_MEETING_URL", FailureCode::InvalidMeetingUrl),
    ("API_REQUEST", FailureCode::ApiRequest),
    ("STREAMING_SETUP_FAILED", FailureCode::StreamingSetupFailed),
    ("MEETING_NOT_FOUND", FailureCode::MeetingNotFound),
    ("ACCESS_DENIED", FailureCode::AccessDenied),
    ("AUTHENTICATION_ERROR", FailureCode::AuthenticationError),
    ("NETWORK_ERROR", FailureCode::NetworkError),
    ("INSUFFICIENT_TOKENS", FailureCode::InsufficientTokens),
    ("UNKNOWN_ERROR", FailureCode::UnknownError),
];

impl FailureCode {
    /// The code in v2's upper snake case (`CANNOT_JOIN_MEETING`), or as sent for `Other`.
    pub fn as_str(&self) -> &str {
        if let FailureCode::Other(code) = self {
            return code;
        }
        FAILURE_CODES
            .iter()
            .find(|(_, code)| code == self)
            .map_or("UNKNOWN_ERROR", |(wire, _)| wire)
    }

    /// Reads any spelling: `CannotJoinMeeting`, `cannot_join_meeting`, `CANNOT_JOIN_MEETING`.
    pub fn from_wire(value: &str) -> Self {
        FAILURE_CODES
            .iter()
            .find(|(wire, _)| same_words(wire, value))
            .map_or_else(
                || FailureCode::Other(value.into()),
                |(_, code)| code.clone(),
            )
    }
}

/// Compares ignoring ASCII case and underscores: `CANNOT_JOIN_MEETING` ~ `CannotJoinMeeting`.
fn same_words(a: &str, b: &str) -> bool {
    let mut left = a
        .bytes()
        .filter(|c| *c != b'_')
        .map(|c| c.to_ascii_lowercase());
    let mut right = b
        .bytes()
        .filter(|c| *c != b'_')
        .map(|c| c.to_ascii_lowercase());
    loop {
        match (left.next(), right.next()) {
            (None, None) => return true,
            (Some(l), Some(r)) if l == r => {}
            _ => return false,
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FailureCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FailureCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(WireStr(FailureCode::from_wire))
    }
}

impl super::lenient::Shape for FailureCode {
    const EXPECTED: &'static str = "a string";
    fn from_str(value: &str) -> Option<Self> {
        Some(FailureCode::from_wire(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_codes_are_kept() {
        let code: StatusCode = serde_json::from_str("\"MEET_LOGIN_REQUIRED\"").unwrap();
        assert_eq!(code, StatusCode::Other("MEET_LOGIN_REQUIRED".into()));
        assert_eq!(code.as_str(), "MEET_LOGIN_REQUIRED");
        let known: StatusCode = serde_json::from_str("\"in_call_recording\"").unwrap();
        assert_eq!(known, StatusCode::InCallRecording);
    }

    #[test]
    fn failure_codes_read_every_spelling() {
        for spelling in [
            "CannotJoinMeeting",
            "CANNOT_JOIN_MEETING",
            "cannot_join_meeting",
        ] {
            assert_eq!(
                FailureCode::from_wire(spelling),
                FailureCode::CannotJoinMeeting
            );
        }
        assert_eq!(
            FailureCode::from_wire("meeting_not_found"),
            FailureCode::MeetingNotFound
        );
        assert_eq!(
            FailureCode::from_wire("internal_error"),
            FailureCode::from_wire("InternalError")
        );
        assert_eq!(FailureCode::from_wire("NEW_THING").as_str(), "NEW_THING");
        assert_eq!(FailureCode::BotNotAccepted.as_str(), "BOT_NOT_ACCEPTED");
    }
}

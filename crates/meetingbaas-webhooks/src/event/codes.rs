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

/// Declares [`FailureCode`] from its variants and canonical spellings: the enum, `NAMED`,
/// `as_str` and the exact-spelling fast path of `from_wire`.
macro_rules! failure_codes {
    ( $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )* ) => {
        /// Why a bot failed: `error_code` of v2 `bot.failed`, `error` of v1 `failed`.
        ///
        /// Every code Meeting BaaS documents has a variant. v1 and v2 spell codes differently
        /// (`CannotJoinMeeting`, `meeting_not_found`, `CANNOT_JOIN_MEETING`): all spellings of one
        /// code read as one variant, and [`as_str`](Self::as_str) gives v2's upper snake case.
        /// The spelling a delivery used stays reachable through
        /// [`BotFailed::error_code_as_sent`](super::BotFailed::error_code_as_sent). Unknown codes
        /// are kept as `Other`.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum FailureCode {
            $( $(#[$vmeta])* $variant, )*
            /// A code this version does not know, kept as sent.
            Other(String),
        }

        impl FailureCode {
            /// Every named code (not `Other`): the documented ones, then v1's lower-case
            /// vocabulary.
            pub const NAMED: &'static [FailureCode] = &[$( FailureCode::$variant, )*];

            /// The code in v2's upper snake case (`CANNOT_JOIN_MEETING`), or as sent for `Other`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( FailureCode::$variant => $wire, )*
                    FailureCode::Other(code) => code,
                }
            }

            /// The named code spelled exactly as `as_str` spells it.
            fn from_canonical(value: &str) -> Option<Self> {
                match value {
                    $( $wire => Some(FailureCode::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

failure_codes! {
    /// Stopped by an API request.
    ApiRequest => "API_REQUEST",
    /// A bot already exists.
    BotAlreadyExists => "BOT_ALREADY_EXISTS",
    /// The bot crashed.
    BotCrashed => "BOT_CRASHED",
    /// Nobody let the bot in.
    BotNotAccepted => "BOT_NOT_ACCEPTED",
    /// The bot was removed.
    BotRemoved => "BOT_REMOVED",
    /// The bot was removed before the meeting ended.
    BotRemovedTooEarly => "BOT_REMOVED_TOO_EARLY",
    /// The bot could not get a JWT token.
    CannotGetJwtToken => "CANNOT_GET_JWT_TOKEN",
    /// The bot could not join.
    CannotJoinMeeting => "CANNOT_JOIN_MEETING",
    /// The bot could not ask for the right to record.
    CannotRequestRecordingRight => "CANNOT_REQUEST_RECORDING_RIGHT",
    /// The daily cap on bots was reached.
    DailyBotCapReached => "DAILY_BOT_CAP_REACHED",
    /// The bot left the meeting before recording.
    ExitingMeetingBeforeRecord => "EXITING_MEETING_BEFORE_RECORD",
    /// The bot was killed by force.
    ForceKilled => "FORCE_KILLED",
    /// A general error.
    GeneralError => "GENERAL_ERROR",
    /// The host's client cannot grant the bot permission.
    HostClientCannotGrantPermission => "HOST_CLIENT_CANNOT_GRANT_PERMISSION",
    /// The account has no tokens left.
    InsufficientTokens => "INSUFFICIENT_TOKENS",
    /// An error inside Meeting BaaS.
    InternalError => "INTERNAL_ERROR",
    /// The meeting platform is not valid.
    InvalidMeetingPlatform => "INVALID_MEETING_PLATFORM",
    /// The meeting URL is not valid.
    InvalidMeetingUrl => "INVALID_MEETING_URL",
    /// A login is required.
    LoginRequired => "LOGIN_REQUIRED",
    /// The meeting ended.
    MeetingEnded => "MEETING_ENDED",
    /// The meeting ended prematurely.
    MeetingEndedPrematurely => "MEETING_ENDED_PREMATURELY",
    /// There were no attendees.
    NoAttendees => "NO_ATTENDEES",
    /// There was no speaker.
    NoSpeaker => "NO_SPEAKER",
    /// The bot was killed for running out of memory.
    OomKilled => "OOM_KILLED",
    /// The right to record was not granted.
    RecordingRightsNotGranted => "RECORDING_RIGHTS_NOT_GRANTED",
    /// Recording did not start in time.
    RecordingStartTimeout => "RECORDING_START_TIMEOUT",
    /// Recording timed out.
    RecordingTimeout => "RECORDING_TIMEOUT",
    /// Authentication with the platform's SDK failed.
    SdkAuthFailed => "SDK_AUTH_FAILED",
    /// A Zoom meeting id and password must be set together.
    SetZoomIdAndPwdTogether => "SET_ZOOM_ID_AND_PWD_TOGETHER",
    /// The bot was stopped by a `SIGTERM` signal.
    Sigterm => "SIGTERM",
    /// Streaming could not be set up.
    StreamingSetupFailed => "STREAMING_SETUP_FAILED",
    /// The meeting did not start in time.
    TimeoutWaitingToStart => "TIMEOUT_WAITING_TO_START",
    /// An error during transcription.
    TranscriptionError => "TRANSCRIPTION_ERROR",
    /// Transcription failed.
    TranscriptionFailed => "TRANSCRIPTION_FAILED",
    /// The bot was unable to join an external meeting.
    UnableJoinExternalMeeting => "UNABLE_JOIN_EXTERNAL_MEETING",
    /// An unclassified error.
    UnknownError => "UNKNOWN_ERROR",
    /// Waiting for an authorized user timed out.
    WaitingForAuthorizedUserTimeout => "WAITING_FOR_AUTHORIZED_USER_TIMEOUT",
    /// Waiting for the host timed out.
    WaitingForHostTimeout => "WAITING_FOR_HOST_TIMEOUT",
    /// An error with the Zoom access token.
    ZoomAccessTokenError => "ZOOM_ACCESS_TOKEN_ERROR",
    /// An error with the Zoom OBF token.
    ZoomObfTokenError => "ZOOM_OBF_TOKEN_ERROR",
    /// The meeting does not exist or has expired (v1 `meeting_not_found`).
    MeetingNotFound => "MEETING_NOT_FOUND",
    /// Access to the meeting was denied (v1 `access_denied`).
    AccessDenied => "ACCESS_DENIED",
    /// Authentication with the meeting platform failed (v1 `authentication_error`).
    AuthenticationError => "AUTHENTICATION_ERROR",
    /// A network error (v1 `network_error`).
    NetworkError => "NETWORK_ERROR",
}

impl FailureCode {
    /// Reads any spelling: `CannotJoinMeeting`, `cannot_join_meeting`, `CANNOT_JOIN_MEETING`.
    /// Unknown codes become `Other`, kept as sent.
    pub fn from_wire(value: &str) -> Self {
        if let Some(code) = FailureCode::from_canonical(value) {
            return code;
        }
        FailureCode::NAMED
            .iter()
            .find(|code| same_words(code.as_str(), value))
            .map_or_else(|| FailureCode::Other(value.into()), Clone::clone)
    }

    /// Whether `spelling` reads as this code (`CannotJoinMeeting` for `CannotJoinMeeting`; the
    /// exact text for `Other`).
    pub(crate) fn is_spelled(&self, spelling: &str) -> bool {
        match self {
            FailureCode::Other(code) => code == spelling,
            named => same_words(named.as_str(), spelling),
        }
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

    #[test]
    fn named_failure_codes_have_distinct_spellings() {
        for (index, code) in FailureCode::NAMED.iter().enumerate() {
            assert_eq!(
                FailureCode::from_canonical(code.as_str()).as_ref(),
                Some(code)
            );
            assert!(code.is_spelled(code.as_str()));
            for other in &FailureCode::NAMED[index + 1..] {
                assert!(
                    !same_words(code.as_str(), other.as_str()),
                    "{code} and {other} read alike"
                );
            }
        }
        assert!(FailureCode::CannotJoinMeeting.is_spelled("CannotJoinMeeting"));
        assert!(!FailureCode::CannotJoinMeeting.is_spelled("BotRemoved"));
        assert!(FailureCode::Other("x".into()).is_spelled("x"));
        assert!(!FailureCode::Other("x".into()).is_spelled("X"));
    }
}

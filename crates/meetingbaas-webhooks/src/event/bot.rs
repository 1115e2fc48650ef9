//! Payloads of bot events: status changes, completion, failure, transcription, chat.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::codes::{FailureCode, StatusCode};
use super::lenient::{null_as_default, payload};

/// `bot.status_change` (v1 and v2) and `meeting.started`: the bot's status moved on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BotStatusChange {
    /// The bot.
    pub bot_id: Option<String>,
    /// The calendar event the bot was scheduled for (v2), if any.
    pub event_id: Option<String>,
    /// The new status.
    pub status: Option<BotStatus>,
    /// Your metadata from bot creation.
    pub extra: Option<Value>,
}

/// A bot status: a code and when it was reached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BotStatus {
    /// The status code.
    pub code: Option<StatusCode>,
    /// When (RFC 3339, with or without fractional seconds).
    pub created_at: Option<String>,
    /// When recording started: seconds in v2, milliseconds in v1.
    pub start_time: Option<i64>,
    /// A description of the error, for error codes.
    pub error_message: Option<String>,
    /// The kind of error, for error codes.
    pub error_type: Option<String>,
    /// With `retrying`: this attempt's number.
    pub attempt: Option<u32>,
    /// With `retrying`: how many attempts will be made.
    pub max: Option<u32>,
}

/// v1 `complete`, v2 `bot.completed` and `meeting.completed`: the meeting is over and the
/// recording is ready.
///
/// v1 and v2 fields are both here; each is `None` (or empty) where a source omits it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BotCompleted {
    /// The bot.
    pub bot_id: Option<String>,
    /// The calendar event (v2).
    pub event_id: Option<String>,
    /// The calendar event (v1).
    pub event_uuid: Option<String>,
    /// Everyone who attended (v2).
    #[serde(deserialize_with = "null_as_default")]
    pub participants: Vec<Participant>,
    /// Everyone who spoke: names in v1, participant objects in v2 (both read as [`Participant`]).
    #[serde(deserialize_with = "null_as_default")]
    pub speakers: Vec<Participant>,
    /// The transcript inline (v1, when speech-to-text was on; can be megabytes).
    #[serde(deserialize_with = "null_as_default")]
    pub transcript: Vec<TranscriptSegment>,
    /// Meeting length in seconds (v2).
    pub duration_seconds: Option<f64>,
    /// When the bot joined (v2).
    pub joined_at: Option<String>,
    /// When the bot left (v2).
    pub exited_at: Option<String>,
    /// Whether the recording data has already been deleted (v2).
    pub data_deleted: Option<bool>,
    /// Presigned URL of the video (v2; valid for about 4 hours).
    pub video: Option<String>,
    /// Presigned URL of the video (v1, and some v2 documents).
    pub mp4: Option<String>,
    /// Presigned URL of the audio.
    pub audio: Option<String>,
    /// Presigned URL of the diarization (v2).
    pub diarization: Option<String>,
    /// Presigned URL of the provider's raw transcription (v2).
    pub raw_transcription: Option<String>,
    /// Presigned URL of the transcription (v2).
    pub transcription: Option<String>,
    /// Which speech-to-text provider was used (v2).
    pub transcription_provider: Option<String>,
    /// The provider's job ids (v2).
    pub transcription_ids: Option<Vec<String>>,
    /// Chat messages, where sent (shape not documented: kept as JSON).
    pub chat_messages: Option<Value>,
    /// When the webhook was sent (v2).
    pub sent_at: Option<String>,
    /// Your metadata from bot creation.
    pub extra: Option<Value>,
}

impl BotCompleted {
    /// The video URL, whichever field carried it (`video` in v2, `mp4` in v1).
    pub fn video_url(&self) -> Option<&str> {
        self.video.as_deref().or(self.mp4.as_deref())
    }
}

/// A meeting participant. v1 lists speakers as bare names; those read as a participant with only
/// a `name`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Participant {
    /// Name as shown in the meeting.
    pub name: Option<String>,
    /// Numeric id in the meeting, where the platform gives one.
    pub id: Option<i64>,
    /// Display name.
    pub display_name: Option<String>,
    /// Profile picture URL.
    pub profile_picture: Option<String>,
}

impl<'de> Deserialize<'de> for Participant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(default)]
        #[derive(Default)]
        struct Object {
            name: Option<String>,
            id: Option<i64>,
            display_name: Option<String>,
            profile_picture: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Name(String),
            Object(Object),
        }
        // `untagged` buffers the value; speakers lists are short, so this is cheap.
        Ok(match Either::deserialize(deserializer)? {
            Either::Name(name) => Participant {
                name: Some(name),
                ..Participant::default()
            },
            Either::Object(o) => Participant {
                name: o.name,
                id: o.id,
                display_name: o.display_name,
                profile_picture: o.profile_picture,
            },
        })
    }
}

/// One speaker turn of a v1 inline transcript.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TranscriptSegment {
    /// Who spoke.
    pub speaker: Option<String>,
    /// Offset of the turn in seconds.
    pub offset: Option<f64>,
    /// Start in seconds.
    pub start_time: Option<f64>,
    /// End in seconds.
    pub end_time: Option<f64>,
    /// The words, with timings.
    #[serde(deserialize_with = "null_as_default")]
    pub words: Vec<Word>,
}

/// One word of a transcript.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Word {
    /// Start in seconds.
    pub start: Option<f64>,
    /// End in seconds.
    pub end: Option<f64>,
    /// The word.
    pub word: Option<String>,
}

/// v1 `failed`, v2 `bot.failed` and `meeting.failed`: the bot could not record the meeting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BotFailed {
    /// The bot.
    pub bot_id: Option<String>,
    /// The calendar event (v2).
    pub event_id: Option<String>,
    /// The calendar event (v1).
    pub event_uuid: Option<String>,
    /// The error code (v2). See [`BotFailed::code`].
    pub error_code: Option<FailureCode>,
    /// The error code (v1). See [`BotFailed::code`].
    pub error: Option<FailureCode>,
    /// A description (v2). See [`BotFailed::message`].
    pub error_message: Option<String>,
    /// A description (v1). See [`BotFailed::message`].
    pub message: Option<String>,
    /// When the webhook was sent (v2).
    pub sent_at: Option<String>,
    /// Your metadata from bot creation.
    pub extra: Option<Value>,
}

impl BotFailed {
    /// The failure code, whichever field carried it.
    pub fn code(&self) -> Option<&FailureCode> {
        self.error_code.as_ref().or(self.error.as_ref())
    }

    /// The description, whichever field carried it.
    pub fn message(&self) -> Option<&str> {
        self.error_message.as_deref().or(self.message.as_deref())
    }
}

/// v1 `transcription_complete`, `transcription.available` and `transcription.updated`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Transcription {
    /// The bot.
    pub bot_id: Option<String>,
    /// Your metadata from bot creation.
    pub extra: Option<Value>,
}

/// v2 `bot.chat_message`: someone wrote in the meeting chat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatMessage {
    /// The bot.
    pub bot_id: Option<String>,
    /// The calendar event, if any.
    pub event_id: Option<String>,
    /// The message's id.
    pub message_id: Option<String>,
    /// Who wrote it.
    pub sender_name: Option<String>,
    /// The writer's numeric id, where the platform gives one.
    pub sender_id: Option<i64>,
    /// What was written.
    pub text: Option<String>,
    /// When.
    pub sent_at: Option<String>,
    /// Your metadata from bot creation.
    pub extra: Option<Value>,
}

payload!(
    BotStatusChange,
    BotCompleted,
    BotFailed,
    Transcription,
    ChatMessage
);

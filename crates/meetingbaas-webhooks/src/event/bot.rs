//! Payloads of bot events: status changes, completion, failure, transcription, chat.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use super::codes::{FailureCode, StatusCode};
use super::lazy::Lazy;
use super::lenient::{lenient_struct, payload};

lenient_struct! {
    /// `bot.status_change` (v1 and v2) and `meeting.started`: the bot's status moved on.
    pub struct BotStatusChange [issues] {
        /// The bot.
        bot_id: Option<String> = "bot_id",
        /// The calendar event the bot was scheduled for, if any (`event_id` in v2, `event_uuid`
        /// in v1).
        event_id: Option<String> = "event_id" | "event_uuid",
        /// The new status: an object, or a bare code string (read as the code).
        status: Option<BotStatus> = "status",
        /// Your metadata from bot creation.
        extra: Option<Value> = "extra",
    }
}

lenient_struct! {
    /// A bot status: a code and when it was reached. A bare string (`"status":"joining_call"`)
    /// reads as a status with only its code.
    pub struct BotStatus {
        /// The status code.
        code: Option<StatusCode> = "code",
        /// When (RFC 3339, with or without fractional seconds).
        created_at: Option<String> = "created_at",
        /// When recording started: seconds in v2, milliseconds in v1.
        start_time: Option<i64> = "start_time",
        /// A description of the error, for error codes.
        error_message: Option<String> = "error_message",
        /// The kind of error, for error codes.
        error_type: Option<String> = "error_type",
        /// With `retrying`: this attempt's number.
        attempt: Option<u32> = "attempt",
        /// With `retrying`: how many attempts will be made.
        max: Option<u32> = "max",
    }
    from_str = BotStatus::from_code;
}

impl BotStatus {
    /// A status with only its code, as a bare string sends it.
    pub fn from_code(code: &str) -> BotStatus {
        BotStatus {
            code: Some(StatusCode::from_wire(code)),
            ..BotStatus::default()
        }
    }
}

lenient_struct! {
    /// v1 `complete`, v2 `bot.completed` and `meeting.completed`: the meeting is over and the
    /// recording is ready.
    ///
    /// v1 and v2 fields are both here, each spelling read into one field; each is `None` (or
    /// empty) where a source omits it.
    pub struct BotCompleted [issues] {
        /// The bot.
        bot_id: Option<String> = "bot_id",
        /// The calendar event (`event_id` in v2, `event_uuid` in v1).
        event_id: Option<String> = "event_id" | "event_uuid",
        /// Everyone who attended (v2).
        participants: Vec<Participant> = "participants",
        /// Everyone who spoke: names in v1, participant objects in v2 (both read as [`Participant`]).
        speakers: Vec<Participant> = "speakers",
        /// The transcript inline (v1, when speech-to-text was on; can be megabytes): read when
        /// the handler first reads it ([`Lazy::get`]), kept as sent until then.
        transcript: Lazy<Vec<TranscriptSegment>> = "transcript",
        /// Meeting length in seconds (v2).
        duration_seconds: Option<f64> = "duration_seconds",
        /// When the bot joined (v2).
        joined_at: Option<String> = "joined_at",
        /// When the bot left (v2).
        exited_at: Option<String> = "exited_at",
        /// Whether the recording data has already been deleted (v2).
        data_deleted: Option<bool> = "data_deleted",
        /// Presigned URL of the video (`video` in v2, `mp4` in v1 and some v2 documents; valid
        /// for about 4 hours).
        video: Option<String> = "video" | "mp4",
        /// Presigned URL of the audio.
        audio: Option<String> = "audio",
        /// Presigned URL of the diarization (v2).
        diarization: Option<String> = "diarization",
        /// Presigned URL of the provider's raw transcription (v2).
        raw_transcription: Option<String> = "raw_transcription",
        /// Presigned URL of the transcription (v2).
        transcription: Option<String> = "transcription",
        /// Which speech-to-text provider was used (v2).
        transcription_provider: Option<String> = "transcription_provider",
        /// The provider's job ids (v2).
        transcription_ids: Option<Vec<String>> = "transcription_ids",
        /// Presigned URL of the chat messages, where sent.
        chat_messages: Option<String> = "chat_messages",
        /// The bot's final status, where the prose docs' `data.status` is sent.
        status: Option<BotStatus> = "status",
        /// When the webhook was sent (v2; inside `data` or at the top level).
        sent_at: Option<String> = "sent_at",
        /// Your metadata from bot creation.
        extra: Option<Value> = "extra",
    }
}

impl BotCompleted {
    /// The video URL, whichever field carried it (`video` in v2, `mp4` in v1).
    pub fn video_url(&self) -> Option<&str> {
        self.video.as_deref()
    }
}

lenient_struct! {
    /// A meeting participant. v1 lists speakers as bare names; those read as a participant with
    /// only a `name`.
    pub struct Participant {
        /// Name as shown in the meeting.
        name: Option<String> = "name",
        /// Numeric id in the meeting, where the platform gives one.
        id: Option<i64> = "id",
        /// Display name.
        display_name: Option<String> = "display_name",
        /// Profile picture URL.
        profile_picture: Option<String> = "profile_picture",
    }
    from_str = Participant::named;
}

impl Participant {
    /// A participant known only by name, as v1 speaker lists send it.
    pub fn named(name: &str) -> Participant {
        Participant {
            name: Some(name.into()),
            ..Participant::default()
        }
    }
}

lenient_struct! {
    /// One speaker turn of a v1 inline transcript.
    pub struct TranscriptSegment {
        /// Who spoke.
        speaker: Option<String> = "speaker",
        /// Offset of the turn in seconds.
        offset: Option<f64> = "offset",
        /// Start in seconds.
        start_time: Option<f64> = "start_time",
        /// End in seconds.
        end_time: Option<f64> = "end_time",
        /// The turn's text, where sent.
        text: Option<String> = "text",
        /// The words, with timings.
        words: Vec<Word> = "words",
    }
}

lenient_struct! {
    /// One word of a transcript.
    pub struct Word {
        /// Start in seconds.
        start: Option<f64> = "start",
        /// End in seconds.
        end: Option<f64> = "end",
        /// The word.
        word: Option<String> = "word",
    }
}

lenient_struct! {
    /// v1 `failed`, v2 `bot.failed` and `meeting.failed`: the bot could not record the meeting.
    pub struct BotFailed [issues] {
        /// The bot.
        bot_id: Option<String> = "bot_id",
        /// The calendar event (`event_id` in v2, `event_uuid` in v1).
        event_id: Option<String> = "event_id" | "event_uuid",
        /// The failure code (`error_code` in v2, `error` in v1).
        error_code: Option<FailureCode> = "error_code" | "error" => error_code_sent,
        /// A description (`error_message` in v2, `message` in v1).
        error_message: Option<String> = "error_message" | "message",
        /// When the webhook was sent (v2).
        sent_at: Option<String> = "sent_at",
        /// Your metadata from bot creation.
        extra: Option<Value> = "extra",
    }
}

impl BotFailed {
    /// The failure code, whichever field carried it.
    pub fn code(&self) -> Option<&FailureCode> {
        self.error_code.as_ref()
    }

    /// The failure code as the delivery spelled it: `CannotJoinMeeting` from v1,
    /// `CANNOT_JOIN_MEETING` from v2, where [`code`](Self::code) reads both as
    /// [`FailureCode::CannotJoinMeeting`]. A code not read from a delivery (set by hand, or
    /// changed since) is given as [`FailureCode::as_str`] spells it.
    ///
    /// The normalized form (`Serialize`) carries `as_str`, not this spelling.
    pub fn error_code_as_sent(&self) -> Option<&str> {
        let code = self.error_code.as_ref()?;
        Some(match &self.error_code_sent {
            Some(sent) if code.is_spelled(sent) => sent,
            _ => code.as_str(),
        })
    }

    /// The description, whichever field carried it.
    pub fn message(&self) -> Option<&str> {
        self.error_message.as_deref()
    }
}

lenient_struct! {
    /// v1 `transcription_complete`, `transcription.available` and `transcription.updated`.
    pub struct Transcription [issues] {
        /// The bot.
        bot_id: Option<String> = "bot_id",
        /// Your metadata from bot creation.
        extra: Option<Value> = "extra",
    }
}

lenient_struct! {
    /// v2 `bot.chat_message`: someone wrote in the meeting chat.
    pub struct ChatMessage [issues] {
        /// The bot.
        bot_id: Option<String> = "bot_id",
        /// The calendar event, if any.
        event_id: Option<String> = "event_id" | "event_uuid",
        /// The message's id.
        message_id: Option<String> = "message_id",
        /// Who wrote it.
        sender_name: Option<String> = "sender_name",
        /// The writer's numeric id, where the platform gives one.
        sender_id: Option<i64> = "sender_id",
        /// What was written.
        text: Option<String> = "text",
        /// When.
        sent_at: Option<String> = "sent_at",
        /// Your metadata from bot creation.
        extra: Option<Value> = "extra",
    }
}

payload! {
    BotStatusChange { bot_id, event_id, extra }
    BotCompleted { bot_id, event_id, extra }
    BotFailed { bot_id, event_id, extra }
    Transcription { bot_id, extra }
    ChatMessage { bot_id, event_id, extra }
}

//! Failure codes: every documented code has its own variant, every spelling of a code reads as
//! that variant, the spelling received stays reachable, and unknown codes are kept.

use std::collections::HashSet;

use meetingbaas_webhooks::Event;
use meetingbaas_webhooks::event::{BotFailed, FailureCode};
use serde_json::Value;

/// The documented codes (Meeting BaaS's `error-codes.mdx`, the webhook page and the spec), each
/// with the variant it must read as.
const DOCUMENTED: &[(&str, FailureCode)] = &[
    ("API_REQUEST", FailureCode::ApiRequest),
    ("BOT_ALREADY_EXISTS", FailureCode::BotAlreadyExists),
    ("BOT_CRASHED", FailureCode::BotCrashed),
    ("BOT_NOT_ACCEPTED", FailureCode::BotNotAccepted),
    ("BOT_REMOVED", FailureCode::BotRemoved),
    ("BOT_REMOVED_TOO_EARLY", FailureCode::BotRemovedTooEarly),
    ("CANNOT_GET_JWT_TOKEN", FailureCode::CannotGetJwtToken),
    ("CANNOT_JOIN_MEETING", FailureCode::CannotJoinMeeting),
    (
        "CANNOT_REQUEST_RECORDING_RIGHT",
        FailureCode::CannotRequestRecordingRight,
    ),
    ("DAILY_BOT_CAP_REACHED", FailureCode::DailyBotCapReached),
    (
        "EXITING_MEETING_BEFORE_RECORD",
        FailureCode::ExitingMeetingBeforeRecord,
    ),
    ("FORCE_KILLED", FailureCode::ForceKilled),
    ("GENERAL_ERROR", FailureCode::GeneralError),
    (
        "HOST_CLIENT_CANNOT_GRANT_PERMISSION",
        FailureCode::HostClientCannotGrantPermission,
    ),
    ("INSUFFICIENT_TOKENS", FailureCode::InsufficientTokens),
    ("INTERNAL_ERROR", FailureCode::InternalError),
    (
        "INVALID_MEETING_PLATFORM",
        FailureCode::InvalidMeetingPlatform,
    ),
    ("INVALID_MEETING_URL", FailureCode::InvalidMeetingUrl),
    ("LOGIN_REQUIRED", FailureCode::LoginRequired),
    ("MEETING_ENDED", FailureCode::MeetingEnded),
    (
        "MEETING_ENDED_PREMATURELY",
        FailureCode::MeetingEndedPrematurely,
    ),
    ("NO_ATTENDEES", FailureCode::NoAttendees),
    ("NO_SPEAKER", FailureCode::NoSpeaker),
    ("OOM_KILLED", FailureCode::OomKilled),
    (
        "RECORDING_RIGHTS_NOT_GRANTED",
        FailureCode::RecordingRightsNotGranted,
    ),
    (
        "RECORDING_START_TIMEOUT",
        FailureCode::RecordingStartTimeout,
    ),
    ("RECORDING_TIMEOUT", FailureCode::RecordingTimeout),
    ("SDK_AUTH_FAILED", FailureCode::SdkAuthFailed),
    (
        "SET_ZOOM_ID_AND_PWD_TOGETHER",
        FailureCode::SetZoomIdAndPwdTogether,
    ),
    ("SIGTERM", FailureCode::Sigterm),
    ("STREAMING_SETUP_FAILED", FailureCode::StreamingSetupFailed),
    (
        "TIMEOUT_WAITING_TO_START",
        FailureCode::TimeoutWaitingToStart,
    ),
    ("TRANSCRIPTION_ERROR", FailureCode::TranscriptionError),
    ("TRANSCRIPTION_FAILED", FailureCode::TranscriptionFailed),
    (
        "UNABLE_JOIN_EXTERNAL_MEETING",
        FailureCode::UnableJoinExternalMeeting,
    ),
    ("UNKNOWN_ERROR", FailureCode::UnknownError),
    (
        "WAITING_FOR_AUTHORIZED_USER_TIMEOUT",
        FailureCode::WaitingForAuthorizedUserTimeout,
    ),
    (
        "WAITING_FOR_HOST_TIMEOUT",
        FailureCode::WaitingForHostTimeout,
    ),
    ("ZOOM_ACCESS_TOKEN_ERROR", FailureCode::ZoomAccessTokenError),
    ("ZOOM_OBF_TOKEN_ERROR", FailureCode::ZoomObfTokenError),
];

/// v1's lower-case vocabulary, each with the variant it must read as.
const V1_LOWER_CASE: &[(&str, FailureCode)] = &[
    ("meeting_not_found", FailureCode::MeetingNotFound),
    ("access_denied", FailureCode::AccessDenied),
    ("authentication_error", FailureCode::AuthenticationError),
    ("network_error", FailureCode::NetworkError),
    ("internal_error", FailureCode::InternalError),
];

/// v1's CamelCase spellings, each with the variant it must read as.
const V1_CAMEL_CASE: &[(&str, FailureCode)] = &[
    ("CannotJoinMeeting", FailureCode::CannotJoinMeeting),
    ("TimeoutWaitingToStart", FailureCode::TimeoutWaitingToStart),
    ("BotNotAccepted", FailureCode::BotNotAccepted),
    ("BotRemoved", FailureCode::BotRemoved),
    ("InternalError", FailureCode::InternalError),
    ("InvalidMeetingUrl", FailureCode::InvalidMeetingUrl),
    ("ApiRequest", FailureCode::ApiRequest),
    ("StreamingSetupFailed", FailureCode::StreamingSetupFailed),
];

/// `CANNOT_JOIN_MEETING` -> `CannotJoinMeeting`.
fn camel_case(upper_snake: &str) -> String {
    upper_snake
        .split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn failed(body: &str) -> BotFailed {
    match Event::from_slice(body.as_bytes()).unwrap() {
        Event::BotFailed { data, .. } => *data,
        other => panic!("{other:?}"),
    }
}

fn normalized_data(body: &str) -> Value {
    let event = Event::from_slice(body.as_bytes()).unwrap();
    serde_json::to_value(&event).unwrap()["data"].clone()
}

#[test]
fn every_documented_code_reads_as_its_own_variant() {
    assert_eq!(DOCUMENTED.len(), 40);
    let mut seen = HashSet::new();
    for (wire, variant) in DOCUMENTED {
        let code = FailureCode::from_wire(wire);
        assert!(
            !matches!(code, FailureCode::Other(_)),
            "{wire} read as Other"
        );
        assert_eq!(&code, variant, "{wire}");
        assert!(seen.insert(code.clone()), "{wire} shares its variant");
        // `as_str`, `Display` and serde round-trip the canonical spelling.
        assert_eq!(code.as_str(), *wire);
        assert_eq!(code.to_string(), *wire);
        assert_eq!(FailureCode::from_wire(code.as_str()), code);
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{wire}\""));
        assert_eq!(serde_json::from_str::<FailureCode>(&json).unwrap(), code);
        assert!(FailureCode::NAMED.contains(&code), "{wire} not in NAMED");
    }
}

#[test]
fn every_named_code_round_trips() {
    let mut spellings = HashSet::new();
    for code in FailureCode::NAMED {
        assert!(!matches!(code, FailureCode::Other(_)));
        assert_eq!(&FailureCode::from_wire(code.as_str()), code);
        assert!(spellings.insert(code.as_str()), "{code} twice");
    }
    // The documented codes and v1's four codes of its own.
    assert_eq!(FailureCode::NAMED.len(), DOCUMENTED.len() + 4);
}

#[test]
fn v1_spellings_read_as_the_same_variants() {
    for (spelling, variant) in V1_LOWER_CASE.iter().chain(V1_CAMEL_CASE) {
        assert_eq!(&FailureCode::from_wire(spelling), variant, "{spelling}");
    }
    for (wire, variant) in DOCUMENTED {
        for spelling in [camel_case(wire), wire.to_ascii_lowercase()] {
            assert_eq!(&FailureCode::from_wire(&spelling), variant, "{spelling}");
        }
    }
    assert_eq!(
        FailureCode::from_wire("MeetingNotFound"),
        FailureCode::MeetingNotFound
    );
    assert_eq!(FailureCode::MeetingNotFound.as_str(), "MEETING_NOT_FOUND");
}

#[test]
fn the_spelling_received_is_reachable() {
    let cases = [
        // v1 `failed`, `error` inside `data`.
        (
            r#"{"event":"failed","data":{"bot_id":"b","error":"CannotJoinMeeting"}}"#,
            FailureCode::CannotJoinMeeting,
            "CannotJoinMeeting",
        ),
        // v1, flat: `error` beside `data`'s fields.
        (
            r#"{"event":"failed","bot_id":"b","error":"BotCrashed"}"#,
            FailureCode::BotCrashed,
            "BotCrashed",
        ),
        (
            r#"{"event":"failed","data":{"bot_id":"b","error":"meeting_not_found"}}"#,
            FailureCode::MeetingNotFound,
            "meeting_not_found",
        ),
        // v2 `bot.failed`, `error_code`.
        (
            r#"{"event":"bot.failed","data":{"bot_id":"b","error_code":"CANNOT_JOIN_MEETING"}}"#,
            FailureCode::CannotJoinMeeting,
            "CANNOT_JOIN_MEETING",
        ),
        // The first code sent wins, and its spelling with it.
        (
            r#"{"event":"bot.failed","data":{"error_code":"BOT_REMOVED","error":"CannotJoinMeeting"}}"#,
            FailureCode::BotRemoved,
            "BOT_REMOVED",
        ),
        (
            r#"{"event":"bot.failed","data":{"error_code":null,"error":"CannotJoinMeeting"}}"#,
            FailureCode::CannotJoinMeeting,
            "CannotJoinMeeting",
        ),
    ];
    for (body, code, sent) in cases {
        let data = failed(body);
        assert_eq!(data.code(), Some(&code), "{body}");
        assert_eq!(data.error_code_as_sent(), Some(sent), "{body}");
        // The normalized form carries the canonical spelling, and only that.
        let normalized = normalized_data(body);
        assert_eq!(normalized["error_code"], code.as_str(), "{body}");
        assert_eq!(
            normalized.as_object().unwrap().len(),
            usize::from(body.contains(r#""bot_id""#)) + 1,
            "{body}: {normalized}"
        );
    }

    // A code set by hand, or changed after parsing, is spelled as `as_str` spells it.
    let mut data = BotFailed::default();
    assert_eq!(data.error_code_as_sent(), None);
    data.error_code = Some(FailureCode::NoSpeaker);
    assert_eq!(data.error_code_as_sent(), Some("NO_SPEAKER"));
    let mut data = failed(r#"{"event":"failed","data":{"error":"CannotJoinMeeting"}}"#);
    data.error_code = Some(FailureCode::BotRemoved);
    assert_eq!(data.error_code_as_sent(), Some("BOT_REMOVED"));
    data.error_code = None;
    assert_eq!(data.error_code_as_sent(), None);
}

#[test]
fn the_v1_fixture_keeps_its_spelling() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v1_failed_minimal.json"
    ))
    .unwrap();
    let Event::BotFailed { data, .. } = Event::from_slice(&body).unwrap() else {
        panic!()
    };
    assert_eq!(data.code(), Some(&FailureCode::CannotJoinMeeting));
    assert_eq!(data.error_code_as_sent(), Some("CannotJoinMeeting"));
}

#[test]
fn unknown_codes_are_kept() {
    for spelling in ["SOMETHING_NEW", "SomethingNew", "meet_login_wall", ""] {
        let code = FailureCode::from_wire(spelling);
        assert_eq!(code, FailureCode::Other(spelling.into()));
        assert_eq!(code.as_str(), spelling);
        assert_eq!(
            serde_json::from_str::<FailureCode>(&format!("\"{spelling}\"")).unwrap(),
            code
        );
    }
    let body = r#"{"event":"bot.failed","data":{"bot_id":"b","error_code":"SomethingNew"}}"#;
    let data = failed(body);
    assert_eq!(
        data.code(),
        Some(&FailureCode::Other("SomethingNew".into()))
    );
    assert_eq!(data.error_code_as_sent(), Some("SomethingNew"));
    assert!(data.issues.is_empty());
    assert_eq!(normalized_data(body)["error_code"], "SomethingNew");

    // A code that is not a string is no code: an issue, as before.
    let data = failed(r#"{"event":"bot.failed","data":{"error_code":5}}"#);
    assert_eq!(data.code(), None);
    assert_eq!(data.error_code_as_sent(), None);
    assert_eq!(data.issues.len(), 1);
    assert_eq!(data.issues[0].path, "data.error_code");
    assert_eq!(data.issues[0].expected, "a string");
}

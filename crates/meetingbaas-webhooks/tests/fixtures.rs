//! Every sample payload of the protocol (copied from shared/fixtures) parses to its meaning.

use meetingbaas_webhooks::event::{FailureCode, StatusCode};
use meetingbaas_webhooks::{Event, EventKind, EventName, Generation};

const BOT: &str = "123e4567-e89b-12d3-a456-426614174000";

fn fixture(name: &str) -> Event {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    Event::from_slice(&body).unwrap_or_else(|err| panic!("{name}: {err}"))
}

#[test]
fn every_fixture_reaches_its_variant_with_its_bot_id() {
    let cases = [
        (
            "seed_complete",
            EventKind::BotCompleted,
            EventName::Complete,
        ),
        ("seed_failed", EventKind::BotFailed, EventName::Failed),
        (
            "seed_transcription_complete",
            EventKind::TranscriptionAvailable,
            EventName::TranscriptionComplete,
        ),
        (
            "v1_bot_status_change",
            EventKind::BotStatusChange,
            EventName::BotStatusChange,
        ),
        ("v1_complete", EventKind::BotCompleted, EventName::Complete),
        ("v1_failed", EventKind::BotFailed, EventName::Failed),
        ("v1_failed_minimal", EventKind::BotFailed, EventName::Failed),
        (
            "v1_transcription_complete",
            EventKind::TranscriptionAvailable,
            EventName::TranscriptionComplete,
        ),
        (
            "v2_bot_completed",
            EventKind::BotCompleted,
            EventName::BotCompleted,
        ),
        ("v2_bot_failed", EventKind::BotFailed, EventName::BotFailed),
        (
            "v2_bot_status_change",
            EventKind::BotStatusChange,
            EventName::BotStatusChange,
        ),
    ];
    for (file, kind, name) in cases {
        let event = fixture(file);
        assert_eq!(event.kind(), kind, "{file}");
        assert_eq!(event.event_name(), Some(name), "{file}");
        assert_eq!(event.bot_id(), Some(BOT), "{file}");
    }
    let calendar = fixture("v2_calendar_event_created");
    assert_eq!(calendar.kind(), EventKind::CalendarEventCreated);
    assert_eq!(calendar.bot_id(), None);
}

#[test]
fn fixture_directory_is_fully_covered() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let count = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        count, 12,
        "a new fixture needs a case in every_fixture_reaches_its_variant_with_its_bot_id"
    );
}

#[test]
fn v1_complete_reads_transcript_speakers_and_extra() {
    let Event::BotCompleted { data, .. } = fixture("v1_complete") else {
        panic!()
    };
    assert_eq!(
        data.event_uuid.as_deref(),
        Some("123e4567-e89b-12d3-a456-426614174001")
    );
    assert_eq!(data.transcript.len(), 1);
    assert_eq!(
        data.transcript[0].words[1].word.as_deref(),
        Some("everyone")
    );
    assert_eq!(
        data.speakers
            .iter()
            .map(|s| s.name.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["Jane Smith", "John Doe"]
    );
    assert_eq!(
        data.video_url(),
        Some("https://storage.example.com/recordings/video123.mp4?token=abc")
    );
    assert_eq!(
        fixture("v1_complete").extra(),
        Some(&serde_json::json!({"foo": "bar"}))
    );
}

#[test]
fn v2_bot_completed_reads_participants_urls_and_top_level_extra() {
    let event = fixture("v2_bot_completed");
    assert_eq!(event.generation(), Some(Generation::V2));
    assert_eq!(
        event.extra(),
        Some(&serde_json::json!({"customer_id": "12345"}))
    );
    let Event::BotCompleted { data, .. } = event else {
        panic!()
    };
    assert_eq!(data.participants.len(), 2);
    assert_eq!(data.participants[0].id, Some(1));
    assert_eq!(data.speakers[0].name.as_deref(), Some("John Doe"));
    assert_eq!(data.duration_seconds, Some(3600.0));
    assert_eq!(data.data_deleted, Some(false));
    assert!(
        data.video_url()
            .unwrap()
            .starts_with("https://s3.amazonaws.com/bucket/video.mp4")
    );
    assert_eq!(
        data.transcription_ids.as_deref(),
        Some(&["gladia-job-12345".to_string()][..])
    );
}

#[test]
fn failure_codes_of_both_vocabularies_are_read() {
    let Event::BotFailed { data, .. } = fixture("v1_failed") else {
        panic!()
    };
    assert_eq!(data.code(), Some(&FailureCode::MeetingNotFound));
    assert!(
        data.message()
            .unwrap()
            .starts_with("Could not join meeting")
    );
    let Event::BotFailed { data, .. } = fixture("v1_failed_minimal") else {
        panic!()
    };
    assert_eq!(data.code(), Some(&FailureCode::CannotJoinMeeting));
    let event = fixture("v2_bot_failed");
    assert_eq!(event.extra(), None);
    let Event::BotFailed { data, .. } = event else {
        panic!()
    };
    assert_eq!(data.code(), Some(&FailureCode::BotNotAccepted));
    assert_eq!(
        data.message(),
        Some("Bot was not accepted into the meeting")
    );
}

#[test]
fn status_changes_read_code_and_start_time() {
    let Event::BotStatusChange { data, .. } = fixture("v2_bot_status_change") else {
        panic!()
    };
    let status = data.status.unwrap();
    assert_eq!(status.code, Some(StatusCode::InCallRecording));
    assert_eq!(status.start_time, Some(1_736_941_800));
    let Event::BotStatusChange { data, .. } = fixture("v1_bot_status_change") else {
        panic!()
    };
    assert_eq!(
        data.status.unwrap().created_at.as_deref(),
        Some("2024-01-01T12:00:00.000Z")
    );
}

#[test]
fn calendar_event_created_reads_instances() {
    let Event::CalendarEventCreated { data, .. } = fixture("v2_calendar_event_created") else {
        panic!()
    };
    assert_eq!(data.instances.len(), 1);
    let instance = &data.instances[0];
    assert_eq!(instance.title.as_deref(), Some("Team Meeting"));
    assert_eq!(
        instance.meeting_platform,
        Some(meetingbaas_webhooks::event::MeetingPlatform::Meet)
    );
}

#[test]
fn every_wire_name_parses_with_only_a_bot_id() {
    for name in EventName::ALL {
        let body = format!(
            r#"{{"event":"{name}","data":{{"bot_id":"b-1","field_from_the_future":[1,2]}}}}"#
        );
        let event = Event::from_slice(body.as_bytes()).unwrap();
        assert_eq!(event.kind(), name.kind(), "{name}");
        assert_eq!(event.name(), name.as_str());
        assert_eq!(event.bot_id(), Some("b-1"), "{name}");
    }
}

#[test]
fn every_wire_name_parses_with_empty_data_and_unknown_status_codes() {
    for name in EventName::ALL {
        let body = format!(r#"{{"event":"{name}","data":{{}}}}"#);
        assert_eq!(
            Event::from_slice(body.as_bytes()).unwrap().kind(),
            name.kind()
        );
    }
    let body = br#"{"event":"bot.status_change","data":{"bot_id":"b","status":{"code":"MEET_LOGIN_REQUIRED","created_at":"2025-01-01T00:00:00Z"}}}"#;
    let Event::BotStatusChange { data, .. } = Event::from_slice(body).unwrap() else {
        panic!()
    };
    assert_eq!(
        data.status.unwrap().code,
        Some(StatusCode::Other("MEET_LOGIN_REQUIRED".into()))
    );
}

#[test]
fn a_user_type_can_be_parsed_instead() {
    #[derive(serde::Deserialize)]
    struct Mine {
        event: String,
    }
    let verifier = meetingbaas_webhooks::Verifier::builder()
        .callback_secret("s")
        .build()
        .unwrap();
    let body = meetingbaas_webhooks::Bytes::from_static(br#"{"event":"bot.failed","data":{}}"#);
    let delivery = verifier.verify(&[("x-mb-secret", "s")], body).unwrap();
    assert_eq!(delivery.parse::<Mine>().unwrap().event, "bot.failed");
    assert_eq!(delivery.parse::<Vec<u8>>().unwrap_err().status(), 422);
}

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
    for file in [
        "v2_calendar_event_created",
        "v2_calendar_event_created_prose",
    ] {
        let calendar = fixture(file);
        assert_eq!(calendar.kind(), EventKind::CalendarEventCreated, "{file}");
        assert_eq!(calendar.event_name(), Some(EventName::CalendarEventCreated));
        assert_eq!(calendar.bot_id(), None, "{file}");
    }
    let alert = fixture("v2_alert_callback");
    assert_eq!(alert.kind(), EventKind::Alert);
    assert_eq!(alert.name(), "alert");
    assert_eq!(alert.event_name(), None);
    assert_eq!(alert.bot_id(), None);
}

#[test]
fn every_fixture_fits_its_types_without_an_issue() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let event = fixture(&name);
        assert!(
            event.all_issues().is_empty(),
            "{name}: {:?}",
            event.all_issues()
        );
        assert!(!event.is_unknown(), "{name}");
    }
}

#[test]
fn the_alert_callback_reads_every_field() {
    let event = fixture("v2_alert_callback");
    let Event::Alert(alert) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(
        alert.alert_rule_id.as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440000")
    );
    assert_eq!(alert.alert_rule_name.as_deref(), Some("Bot Crash Monitor"));
    assert_eq!(alert.alert_type.as_deref(), Some("bot_crash"));
    assert_eq!(alert.category.as_deref(), Some("operational"));
    assert_eq!(
        alert.triggered_at.as_deref(),
        Some("2025-01-15T10:30:00.000Z")
    );
    assert_eq!(alert.current_value, Some(3.0));
    assert_eq!(alert.threshold_value, Some(3.0));
    assert_eq!(alert.suppressed_count, Some(0));
    assert_eq!(
        alert.message.as_deref(),
        Some("Bot Crash: 3 occurrence(s) reached threshold of 3")
    );
    assert!(alert.unknown.is_empty());
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["event"], "alert");
    assert_eq!(json["kind"], "alert");
    assert_eq!(json["data"]["alert_type"], "bot_crash");
}

#[test]
fn prose_instance_times_read_into_start_and_end() {
    let Event::CalendarEventCreated { data, .. } = fixture("v2_calendar_event_created_prose")
    else {
        panic!()
    };
    let instance = &data.instances[0];
    assert_eq!(instance.start.as_deref(), Some("2026-03-02T09:00:00Z"));
    assert_eq!(instance.end.as_deref(), Some("2026-03-02T09:30:00Z"));
    assert_eq!(instance.title.as_deref(), Some("Weekly sync"));
    assert_eq!(instance.bot_scheduled, Some(true));
    assert_eq!(data.series_id.as_deref(), Some("s-42"));
    assert_eq!(data.series_bot_scheduled, Some(true));
}

#[test]
fn every_documented_spelling_reads_into_its_typed_field() {
    let parse = |body: &str| Event::from_slice(body.as_bytes()).unwrap();

    let event = parse(
        r#"{"event":"bot.status_change","data":{"bot_id":"b","status":"in_call_recording"}}"#,
    );
    let Event::BotStatusChange { data, .. } = &event else {
        panic!()
    };
    assert_eq!(
        data.status.as_ref().unwrap().code,
        Some(StatusCode::InCallRecording)
    );
    assert!(event.issues().is_empty());

    let event = parse(
        r#"{"event":"calendar.connection_error","data":{"calendar_id":"c","platform":"google","calendar_name":"Work","error":"token revoked","status":"error"}}"#,
    );
    let Event::CalendarConnectionError { data, .. } = &event else {
        panic!()
    };
    assert_eq!(
        data.platform(),
        Some(&meetingbaas_webhooks::event::CalendarPlatform::Google)
    );
    assert_eq!(data.calendar_name.as_deref(), Some("Work"));
    assert_eq!(data.error, Some(serde_json::json!("token revoked")));

    let event = parse(
        r#"{"event":"calendar.events_synced","data":{"calendar_id":"c","events_synced":12,"sync_type":"incremental","events":[]}}"#,
    );
    let Event::CalendarSynced { data, .. } = &event else {
        panic!()
    };
    assert_eq!(data.events_synced, Some(12));
    assert_eq!(data.sync_type.as_deref(), Some("incremental"));

    let event = parse(
        r#"{"event":"calendar.event_cancelled","data":{"calendar_id":"c","cancelled_instances":[{"event_id":"e","bot_id":"b-9","start_time":"s"}]}}"#,
    );
    let Event::CalendarEventCancelled { data, .. } = &event else {
        panic!()
    };
    assert_eq!(data.cancelled_instances[0].bot_id.as_deref(), Some("b-9"));
    assert_eq!(data.cancelled_instances[0].start.as_deref(), Some("s"));

    let event = parse(
        r#"{"event":"bot.completed","data":{"bot_id":"b","mp4":"https://v","event_uuid":"e-1","status":{"code":"completed"},"chat_messages":"https://chat"},"sent_at":"2025-01-01T00:00:00Z"}"#,
    );
    assert_eq!(event.event_id(), Some("e-1"));
    let Event::BotCompleted { data, .. } = &event else {
        panic!()
    };
    assert_eq!(data.video.as_deref(), Some("https://v"));
    assert_eq!(data.chat_messages.as_deref(), Some("https://chat"));
    assert_eq!(
        data.status.as_ref().unwrap().code,
        Some(StatusCode::Completed)
    );
    assert_eq!(data.sent_at.as_deref(), Some("2025-01-01T00:00:00Z"));

    let event = parse(
        r#"{"event":"failed","data":{"bot_id":"b","error":"CannotJoinMeeting","message":"m"}}"#,
    );
    let Event::BotFailed { data, .. } = &event else {
        panic!()
    };
    assert_eq!(data.error_code, Some(FailureCode::CannotJoinMeeting));
    assert_eq!(data.error_message.as_deref(), Some("m"));

    let event = parse(
        r#"{"event":"complete","bot_id":"b-flat","transcript":[{"speaker":"A","text":"hello","words":[]}]}"#,
    );
    assert_eq!(event.bot_id(), Some("b-flat"));
    let Event::BotCompleted { data, .. } = &event else {
        panic!()
    };
    assert_eq!(data.transcript[0].text.as_deref(), Some("hello"));
}

#[test]
fn unknown_fields_are_kept_on_every_level() {
    let event = Event::from_slice(
        br#"{"event":"calendar.event_created","data":{"calendar_id":"c","tomorrow":1,"instances":[{"event_id":"e","room":"4B"}]}}"#,
    )
    .unwrap();
    assert_eq!(
        event.unknown_fields().unwrap().get("tomorrow"),
        Some(&serde_json::json!(1))
    );
    let Event::CalendarEventCreated { data, .. } = &event else {
        panic!()
    };
    let names: Vec<_> = data.instances[0].unknown.iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["room"]);
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["data"]["tomorrow"], 1);
    assert_eq!(json["data"]["instances"][0]["room"], "4B");
}

#[test]
fn fixture_directory_is_fully_covered() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let count = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        count, 14,
        "a new fixture needs a case in every_fixture_reaches_its_variant_with_its_bot_id"
    );
}

#[test]
fn v1_complete_reads_transcript_speakers_and_extra() {
    let Event::BotCompleted { data, .. } = fixture("v1_complete") else {
        panic!()
    };
    assert_eq!(
        data.event_id.as_deref(),
        Some("123e4567-e89b-12d3-a456-426614174001")
    );
    assert_eq!(
        fixture("v1_complete").event_id(),
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

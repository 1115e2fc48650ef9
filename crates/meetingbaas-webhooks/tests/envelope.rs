//! `Envelope::peek` (what intake reads) agrees with the full parse (what a handler reads) on
//! every body: the same name, kind and bot id when both succeed, and both fail together.

use meetingbaas_webhooks::event::{Envelope, EventTime};
use meetingbaas_webhooks::{Event, Scheme, Signer, Verifier};
use proptest::prelude::*;

/// Name, kind, bot id and times.
type Read = (String, String, Option<String>, EventTime);

/// `(name, kind, bot id, times)` of the full parse of `body` (as a delivery under `alert` or not).
fn full(body: &[u8], alert: bool) -> Option<Read> {
    let event = if alert {
        // The alert scheme's own reading: through a verified delivery.
        let verifier = Verifier::builder().alert_secret("s").build().unwrap();
        let headers = Signer::new(Scheme::Alert, "s").unwrap().sign(body, "", 0);
        let delivery = verifier
            .verify(&headers.to_pairs(), body.to_vec().into())
            .unwrap();
        delivery.parse_event().ok()?
    } else {
        Event::from_slice(body).ok()?
    };
    Some((
        event.name().to_owned(),
        event.kind().as_str().to_owned(),
        event.bot_id().map(str::to_owned),
        event.time(),
    ))
}

fn peeked(body: &[u8], alert: bool) -> Option<Read> {
    let envelope = Envelope::peek(body, alert).ok()?;
    Some((
        envelope.name().to_owned(),
        envelope.kind().as_str().to_owned(),
        envelope.bot_id().map(str::to_owned),
        envelope.time(),
    ))
}

#[track_caller]
fn agree(body: &[u8]) {
    for alert in [false, true] {
        assert_eq!(
            peeked(body, alert),
            full(body, alert),
            "alert scheme {alert}: {}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn every_fixture_and_sample_reads_the_same() {
    let dirs = [
        format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR")),
        format!(
            "{}/../meetingbaas-webhooks-receiver/samples",
            env!("CARGO_MANIFEST_DIR")
        ),
    ];
    let mut seen = 0;
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{dir}: {err}")) {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            agree(&body);
            seen += 1;
        }
    }
    assert!(seen > 30, "only {seen} bodies");
}

#[test]
fn edge_cases_read_the_same() {
    for body in [
        r#"{"event":"complete","bot_id":"flat","transcript":[]}"#,
        r#"{"event":"complete","data":null,"bot_id":"top"}"#,
        r#"{"event":"complete","data":{"bot_id":"inner"},"bot_id":"top"}"#,
        r#"{"event":"complete","data":{"bot_id":7},"bot_id":"top"}"#,
        r#"{"event":"complete","data":{"bot_id":7,"bot_id":"second"}}"#,
        r#"{"data":{"bot_id":"first"},"event":"complete","data":{"event":"x"}}"#,
        r#"{"event":"complete","data":[1],"bot_id":"top"}"#,
        r#"{"event":"complete","data":"x","bot_id":"top"}"#,
        r#"{"data":{"bot_id":"sorted"},"event":"bot.failed"}"#,
        r#"{"event":"nope","data":{"bot_id":7},"bot_id":"top"}"#,
        r#"{"event":"nope","data":{"bot_id":"a","bot_id":"b"}}"#,
        r#"{"event":"nope","data":[1],"bot_id":"top"}"#,
        r#"{"event":"nope","bot_id":"flat"}"#,
        r#"{"event":"nope","data":null}"#,
        r#"{"event":"alert","data":{"bot_id":"x"}}"#,
        r#"{"alert_rule_id":"r","bot_id":"x"}"#,
        r#"{"bot_id":"x"}"#,
        r#"{"event":"a","event":"b"}"#,
        r#"{"event":1}"#,
        r#"{"event":"bot.failed","data":{},"data":{"bot_id":"second"}}"#,
        r#"{"event":"bot.failed","bot_id":"a","bot_id":"b"}"#,
        r#"{"event":"bot.status_change","data":{"bot_id":"b","status":{"code":"joining_call","created_at":"2025-01-15T10:30:00Z"}}}"#,
        r#"{"event":"bot.status_change","data":{"status":"joining_call"},"status":{"created_at":"2025-01-15T10:30:00Z"}}"#,
        r#"{"event":"bot.status_change","data":{"status":{"created_at":7}}}"#,
        r#"{"event":"bot.status_change","data":{"status":{"created_at":"soon"}}}"#,
        r#"{"event":"bot.status_change","data":{"bot_id":"b"},"status":{"created_at":"2025-01-15T10:30:00Z"}}"#,
        r#"{"event":"bot.completed","data":{"bot_id":"b","sent_at":"2025-01-15T11:05:00Z"},"sent_at":"2025-01-15T12:05:00Z"}"#,
        r#"{"event":"bot.completed","data":{"bot_id":"b"},"sent_at":"2025-01-15T12:05:00Z"}"#,
        r#"{"event":"bot.completed","data":{"sent_at":3},"sent_at":"2025-01-15T12:05:00Z"}"#,
        r#"{"event":"bot.failed","data":{"sent_at":"2025-01-15T11:05:00+01:00"}}"#,
        r#"{"event":"calendar.event_created","data":{"sent_at":"2025-01-15T11:05:00Z"}}"#,
        r#"{"event":"nope","data":{"sent_at":"2025-01-15T11:05:00Z","status":{"created_at":"2025-01-15T11:00:00Z"}}}"#,
        r#"{"event":"nope","sent_at":"2025-01-15T11:05:00Z"}"#,
        r#"{"alert_rule_id":"r","sent_at":"2025-01-15T11:05:00Z"}"#,
        r#"[1,2]"#,
        r#"{"event":"x"} trailing"#,
        "not json",
        "",
    ] {
        agree(body.as_bytes());
    }
}

/// A JSON value of some shape, for `bot_id` and `data`.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("7".to_owned()),
        Just("[1]".to_owned()),
        Just(r#""text""#.to_owned()),
        "[a-z0-9-]{0,6}".prop_map(|s| format!(r#""{s}""#)),
        Just(r#"{"nested":{"bot_id":"deep"}}"#.to_owned()),
        Just(r#""2025-01-15T10:30:00Z""#.to_owned()),
        Just(r#"{"code":"joining_call","created_at":"2025-01-15T10:30:00Z"}"#.to_owned()),
        Just(r#"{"created_at":5}"#.to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#""bot.completed""#.to_owned()),
        Just(r#""complete""#.to_owned()),
        Just(r#""calendar.events_synced""#.to_owned()),
        Just(r#""meeting.started""#.to_owned()),
        Just(r#""bot.status_change""#.to_owned()),
        Just(r#""bot.failed""#.to_owned()),
        Just(r#""alert""#.to_owned()),
        Just(r#""unknown.thing""#.to_owned()),
        Just("3".to_owned()),
    ]
}

/// One top-level field of a generated envelope.
fn field() -> impl Strategy<Value = String> {
    // Keys inside `data` are distinct: JSON leaves repeated names to the reader, and the full
    // parse itself keeps the first or the last of them depending on where `data` comes.
    let data = proptest::collection::btree_map(
        prop_oneof![
            Just("bot_id"),
            Just("other"),
            Just("event"),
            Just("sent_at"),
            Just("status")
        ],
        value(),
        0..3,
    )
    .prop_map(|fields| {
        let inner: Vec<String> = fields
            .into_iter()
            .map(|(k, v)| format!(r#""{k}":{v}"#))
            .collect();
        format!("{{{}}}", inner.join(","))
    });
    prop_oneof![
        name().prop_map(|n| format!(r#""event":{n}"#)),
        prop_oneof![data, value()].prop_map(|d| format!(r#""data":{d}"#)),
        value().prop_map(|v| format!(r#""bot_id":{v}"#)),
        value().prop_map(|v| format!(r#""extra":{v}"#)),
        Just(r#""alert_rule_id":"r-1""#.to_owned()),
        value().prop_map(|v| format!(r#""sent_at":{v}"#)),
        value().prop_map(|v| format!(r#""status":{v}"#)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_envelopes_read_the_same(fields in proptest::collection::vec(field(), 0..6)) {
        let body = format!("{{{}}}", fields.join(","));
        agree(body.as_bytes());
    }
}

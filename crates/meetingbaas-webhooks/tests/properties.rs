//! Properties: any change to what is signed fails, arbitrary input never panics,
//! sign-then-verify round-trips for every scheme, and parsing is total for envelopes and alerts.

use meetingbaas_webhooks::{
    Bytes, Event, EventKind, EventName, FixedClock, Scheme, Signer, Verifier,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

const NOW: i64 = 1_700_000_000;
const SVIX: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn verifier() -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX)
        .signature_secret("signature")
        .callback_secret("callback")
        .api_key("api-key")
        .alert_secret("alert")
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

fn signer(scheme: Scheme) -> Signer {
    let secret = match scheme {
        Scheme::Svix => SVIX,
        Scheme::Signature => "signature",
        Scheme::Callback => "callback",
        Scheme::Alert => "alert",
        _ => "api-key",
    };
    Signer::new(scheme, secret).unwrap()
}

fn any_scheme() -> impl Strategy<Value = Scheme> {
    prop::sample::select(Scheme::ALL.to_vec())
}

fn svix_id() -> impl Strategy<Value = String> {
    "[!-~]{1,64}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(scheme in any_scheme(), body in prop::collection::vec(any::<u8>(), 0..2048), id in svix_id(), skew in -300i64..=300) {
        let headers = signer(scheme).sign(&body, &id, NOW + skew);
        let delivery = verifier().verify(&headers, Bytes::from(body.clone())).unwrap();
        prop_assert_eq!(delivery.scheme(), scheme);
        prop_assert_eq!(&delivery.body()[..], &body[..]);
    }

    #[test]
    fn any_change_to_the_body_fails(scheme in prop::sample::select(vec![Scheme::Svix, Scheme::Signature]), body in prop::collection::vec(any::<u8>(), 1..512), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let headers = signer(scheme).sign(&body, "msg_1", NOW);
        let mut tampered = body.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(verifier().verify(&headers, Bytes::from(tampered)).is_err());
    }

    #[test]
    fn appending_or_truncating_the_body_fails(body in prop::collection::vec(any::<u8>(), 1..512), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        for scheme in [Scheme::Svix, Scheme::Signature] {
            let headers = signer(scheme).sign(&body, "msg_1", NOW);
            let mut longer = body.clone();
            longer.extend_from_slice(&extra);
            prop_assert!(verifier().verify(&headers, Bytes::from(longer)).is_err());
            prop_assert!(verifier().verify(&headers, Bytes::copy_from_slice(&body[..body.len() - 1])).is_err());
        }
    }

    #[test]
    fn any_change_to_id_or_timestamp_fails(body in prop::collection::vec(any::<u8>(), 0..256), id in svix_id(), other_id in svix_id(), delta in 1i64..=300) {
        prop_assume!(id != other_id);
        let signed = signer(Scheme::Svix).sign(&body, &id, NOW);
        let mut headers = signed.to_pairs();
        headers[0].1 = other_id;
        prop_assert!(verifier().verify(&headers, Bytes::from(body.clone())).is_err());
        let mut headers = signed.to_pairs();
        headers[1].1 = (NOW - delta).to_string();
        prop_assert!(verifier().verify(&headers, Bytes::from(body)).is_err());
    }

    #[test]
    fn any_change_to_the_signature_fails(scheme in prop::sample::select(vec![Scheme::Svix, Scheme::Signature]), body in prop::collection::vec(any::<u8>(), 0..256), index in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let signed = signer(scheme).sign(&body, "msg_1", NOW);
        let mut headers = signed.to_pairs();
        let last = headers.len() - 1;
        let mut signature = headers[last].1.clone().into_bytes();
        let start = if scheme == Scheme::Svix { 3 } else { 0 };
        let i = start + index.index(signature.len() - start);
        prop_assume!(signature[i] != replacement);
        // Hex is read in either case (the same tag), so a case change is no change there.
        prop_assume!(scheme != Scheme::Signature || !signature[i].eq_ignore_ascii_case(&replacement));
        signature[i] = replacement;
        headers[last].1 = String::from_utf8_lossy(&signature).into_owned();
        // Base64 has encodings that decode alike only in the final padding bits; the canonical
        // decoder rejects those, so any byte change is a refusal.
        prop_assert!(verifier().verify(&headers, Bytes::from(body)).is_err());
    }

    #[test]
    fn arbitrary_headers_never_panic_nor_verify(
        headers in prop::collection::vec(
            (prop::sample::select(vec!["svix-id", "svix-timestamp", "svix-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "x-meetingbaas-signature", "x-mb-secret", "x-meeting-baas-api-key", "x-mb-alert-secret", "other"]),
             prop::collection::vec(any::<u8>(), 0..128)),
            0..8),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assert!(verifier().verify(&headers, Bytes::from(body)).is_err());
    }

    #[test]
    fn arbitrary_bodies_never_panic_the_parser(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(err) = Event::from_slice(&body) {
            prop_assert!(matches!(err.status(), 400 | 422));
        }
    }

    #[test]
    fn any_object_with_a_string_event_parses_and_round_trips(name in any_name(), data in any_json(), rest in any_object(), extra in any_json()) {
        let mut body = rest;
        body.insert("event".into(), Value::String(name.clone()));
        body.insert("data".into(), data);
        body.insert("extra".into(), extra);
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap();
        let event = Event::from_slice(&bytes).unwrap();
        prop_assert_eq!(event.name(), name.as_str());
        let expected = match name.as_str() {
            "alert" => EventKind::Alert,
            known => EventName::from_wire(known).map_or(EventKind::Unknown, EventName::kind),
        };
        prop_assert_eq!(event.kind(), expected);
        // The normalized form is itself an envelope that reads back to the same event.
        let normalized = serde_json::to_vec(&event).unwrap();
        let again = Event::from_slice(&normalized).unwrap();
        prop_assert_eq!(again.kind(), event.kind());
        prop_assert_eq!(again.name(), event.name());
        prop_assert_eq!(again.bot_id(), event.bot_id());
        prop_assert_eq!(again.event_id(), event.event_id());
        prop_assert_eq!(again.extra(), event.extra());
        // And its own normalized form is the same (but for issues: a value that did not fit is
        // kept only in its issue, so it is not read again).
        prop_assert_eq!(without_issues(&serde_json::to_vec(&again).unwrap()), without_issues(&normalized));
    }

    #[test]
    fn arbitrary_data_under_every_known_name_never_fails(index in any::<prop::sample::Index>(), data in any_json()) {
        let name = EventName::ALL[index.index(EventName::ALL.len())];
        let body = serde_json::to_vec(&serde_json::json!({"event": name.as_str(), "data": data})).unwrap();
        let event = Event::from_slice(&body).unwrap();
        prop_assert_eq!(event.kind(), name.kind());
        prop_assert_eq!(event.event_name(), Some(name));
    }

    #[test]
    fn arbitrary_objects_are_alerts_under_the_alert_scheme(fields in any_object(), rule in any_json()) {
        let mut fields = fields;
        fields.remove("event");
        fields.insert("alert_rule_id".into(), rule);
        let body = serde_json::to_vec(&Value::Object(fields.clone())).unwrap();
        let event = Event::from_slice(&body).unwrap();
        prop_assert_eq!(event.kind(), EventKind::Alert);
        prop_assert_eq!(event.bot_id(), None);
        fields.remove("alert_rule_id");
        let body = serde_json::to_vec(&Value::Object(fields)).unwrap();
        let headers = signer(Scheme::Alert).sign(&body, "", NOW);
        let delivery = verifier().verify(&headers, Bytes::from(body)).unwrap();
        prop_assert_eq!(delivery.parse_event().unwrap().kind(), EventKind::Alert);
    }

    #[test]
    fn arbitrary_json_envelopes_never_panic(name in "[a-z._]{0,24}", data in "[\\[\\]{}\":,0-9a-z ]{0,64}") {
        let body = format!(r#"{{"event":"{name}","data":{data}}}"#);
        if let Err(err) = Event::from_slice(body.as_bytes()) {
            prop_assert!(matches!(err.status(), 400 | 422));
        }
    }
}

/// Names: every known one, `alert`, and arbitrary ones.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(EventName::ALL.to_vec()).prop_map(|n| n.as_str().to_string()),
        Just("alert".to_string()),
        "[a-z._]{0,16}",
    ]
}

/// Keys a payload knows (so that they meet values of every type) and arbitrary ones.
fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "bot_id",
            "event_id",
            "event_uuid",
            "status",
            "code",
            "transcript",
            "words",
            "speakers",
            "participants",
            "mp4",
            "video",
            "error",
            "error_code",
            "message",
            "instances",
            "start_time",
            "platform",
            "events",
            "extra",
            "sent_at",
            "data",
            "alert_rule_id",
            "current_value",
            "suppressed_count",
            "id",
            "name",
            "start",
            "word",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Floats that print and read back exactly (serde_json's default float parsing is not
        // round-trip exact for every f64).
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
        "[a-z0-9_ ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any_key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn any_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((any_key(), any_json()), 0..6)
        .prop_map(|pairs| pairs.into_iter().collect())
}

fn without_issues(normalized: &[u8]) -> Value {
    let mut value: Value = serde_json::from_slice(normalized).unwrap();
    value.as_object_mut().unwrap().remove("issues");
    value
}

/// Found by the `event_roundtrip` fuzz target: the normalized form's own `kind`, `generation`
/// and `issues` were read back as fields beside `data` (into an unknown event's data, or a
/// known payload's unknown fields), so normalizing twice grew the data.
#[test]
fn the_normalized_form_is_a_fixed_point() {
    for body in [
        r#"{"event":"trans_coe"}"#,
        r#"{"event":"x","data":{"a":1}}"#,
        r#"{"event":"bot.completed","data":{"bot_id":"b"},"foo":1}"#,
        r#"{"event":"complete","bot_id":"b","kind":"x"}"#,
        r#"{"event":"bot.completed","data":{"bot_id":5}}"#,
        r#"{"event":"alert","data":{"alert_rule_id":"r","x":1}}"#,
    ] {
        let event = Event::from_slice(body.as_bytes()).unwrap();
        let normalized = serde_json::to_vec(&event).unwrap();
        let again = Event::from_slice(&normalized).unwrap();
        let twice = serde_json::to_vec(&again).unwrap();
        assert_eq!(
            without_issues(&twice),
            without_issues(&normalized),
            "{body}"
        );
        assert_eq!(again.unknown_fields(), event.unknown_fields(), "{body}");
        if let (Event::Unknown(first), Event::Unknown(second)) = (&event, &again) {
            assert_eq!(first.data, second.data, "{body}");
        }
    }
    // A sender's own top-level `kind` (not the normalized form's) is still read as a field.
    let event = Event::from_slice(br#"{"event":"x","bot_id":"b","kind":"k"}"#).unwrap();
    let Event::Unknown(unknown) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(unknown.data["kind"], "k");
}

//! Alert callbacks: arbitrary JSON objects without `event` but with `alert_rule_id` always parse
//! to `Event::Alert` (and round-trip); any object without `event` verified under the alert scheme
//! parses to an alert too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetingbaas_webhooks::{Bytes, Event, EventKind, Scheme, Signer, Value, Verifier};

const ALERT_SECRET: &str = "al-S3cr3t-x";

fuzz_target!(|data: &[u8]| {
    // Any input becomes an object: a JSON object as is, any other JSON value or non-JSON bytes
    // as the value of `alert_rule_id`.
    let mut object = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(object)) => object,
        Ok(other) => [("alert_rule_id".to_owned(), other)].into_iter().collect(),
        Err(_) => [(
            "alert_rule_id".to_owned(),
            Value::String(String::from_utf8_lossy(data).into_owned()),
        )]
        .into_iter()
        .collect(),
    };
    object.remove("event");
    let verified_only = object.clone();
    object
        .entry("alert_rule_id")
        .or_insert_with(|| Value::String("r-1".into()));
    let body = serde_json::to_vec(&Value::Object(object)).unwrap();

    let event = Event::from_slice(&body).unwrap_or_else(|err| {
        panic!(
            "an alert body does not parse: {err}: {}",
            String::from_utf8_lossy(&body)
        )
    });
    assert_eq!(event.kind(), EventKind::Alert);
    assert_eq!(event.name(), "alert");
    assert!(event.bot_id().is_none());
    assert!(event.as_alert().is_some());
    let normalized = serde_json::to_vec(&event).unwrap();
    let again = Event::from_slice(&normalized).unwrap_or_else(|err| {
        panic!(
            "normalized alert does not parse: {err}: {}",
            String::from_utf8_lossy(&normalized)
        )
    });
    assert_eq!(
        again.kind(),
        EventKind::Alert,
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        again.as_alert().map(|a| &a.alert_rule_id),
        event.as_alert().map(|a| &a.alert_rule_id),
        "{}",
        String::from_utf8_lossy(&normalized)
    );

    // Under the alert scheme, an object without `event` is an alert, `alert_rule_id` or not.
    let body = serde_json::to_vec(&Value::Object(verified_only)).unwrap();
    let verifier = Verifier::builder()
        .alert_secret(ALERT_SECRET)
        .build()
        .unwrap();
    let headers = Signer::alert(ALERT_SECRET).unwrap().sign(&body, "", 0);
    let delivery = verifier
        .verify(&headers, Bytes::from(body))
        .expect("signed");
    assert_eq!(delivery.scheme(), Scheme::Alert);
    let event = delivery
        .parse_event()
        .expect("an object verified as an alert parses");
    assert_eq!(event.kind(), EventKind::Alert);
});

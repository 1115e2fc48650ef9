//! `Event::from_slice` on arbitrary bytes; whatever parses serializes to its normalized form,
//! which parses again to the same name, kind, bot id, event id and extra, and serializes again
//! to the same normalized form but for `issues` (a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetingbaas_webhooks::{Event, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_slice(data) else {
        return;
    };
    // Every accessor is total.
    let _ = (
        event.generation(),
        event.event_id(),
        event.issues(),
        event.extra(),
    );
    let _ = (
        event.unknown_fields(),
        event.as_alert(),
        event.is_unknown(),
        format!("{event:?}"),
    );

    let normalized = serde_json::to_vec(&event).expect("an event always serializes");
    let again = Event::from_slice(&normalized).unwrap_or_else(|err| {
        panic!(
            "normalized form does not parse: {err}: {}",
            String::from_utf8_lossy(&normalized)
        )
    });
    assert_eq!(
        event.name(),
        again.name(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        event.kind(),
        again.kind(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        event.bot_id(),
        again.bot_id(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        event.event_id(),
        again.event_id(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        event.extra(),
        again.extra(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    // The normalized form is a fixed point (but for `issues`: a value that did not fit its
    // type is kept only in its issue, so it is not read again).
    let twice = serde_json::to_vec(&again).expect("an event always serializes");
    assert_eq!(
        without_issues(&normalized),
        without_issues(&twice),
        "normalized form is not a fixed point"
    );
    assert_eq!(event.unknown_fields(), again.unknown_fields());
});

fn without_issues(normalized: &[u8]) -> Value {
    let mut value: Value = serde_json::from_slice(normalized).expect("valid JSON");
    value.as_object_mut().expect("an object").remove("issues");
    value
}

//! The sample payloads: one per wire name of PROTOCOL.md §3, and the only place they live.
//!
//! Seven are the shared fixtures, copied unchanged into `samples/` (real examples from Meeting
//! BaaS's documentation). The others are written for this command from the fields PROTOCOL.md §4
//! lists, with the fixtures' bot id, calendar id and series id, so that every sample of one
//! meeting or calendar refers to the same thing:
//!
//! - the product-description names (`meeting.started`, `transcription.updated`, `event.added`,
//!   ...) carry only `bot_id`, the one field documented for them;
//! - the v1 and v2 names without a fixture (`bot.chat_message`, the calendar events and
//!   connections) carry every documented field.

use meetingbaas_webhooks::EventName;

/// The bot every bot sample refers to (the fixtures' bot id).
pub(crate) const BOT_ID: &str = "123e4567-e89b-12d3-a456-426614174000";

/// `(wire name, sample file)`, in the order of [`EventName::ALL`].
const SAMPLES: &[(&str, &str)] = &[
    // Fixtures, copied from the shared `fixtures/` directory.
    (
        "bot.status_change",
        include_str!("../samples/v2_bot_status_change.json"),
    ),
    ("complete", include_str!("../samples/v1_complete.json")),
    (
        "bot.completed",
        include_str!("../samples/v2_bot_completed.json"),
    ),
    ("failed", include_str!("../samples/v1_failed.json")),
    ("bot.failed", include_str!("../samples/v2_bot_failed.json")),
    (
        "transcription_complete",
        include_str!("../samples/v1_transcription_complete.json"),
    ),
    (
        "calendar.event_created",
        include_str!("../samples/v2_calendar_event_created.json"),
    ),
    // Product-description names: `bot_id` only.
    (
        "meeting.started",
        include_str!("../samples/meeting.started.json"),
    ),
    (
        "meeting.completed",
        include_str!("../samples/meeting.completed.json"),
    ),
    (
        "meeting.failed",
        include_str!("../samples/meeting.failed.json"),
    ),
    (
        "transcription.available",
        include_str!("../samples/transcription.available.json"),
    ),
    (
        "transcription.updated",
        include_str!("../samples/transcription.updated.json"),
    ),
    (
        "calendar.synced",
        include_str!("../samples/calendar.synced.json"),
    ),
    ("event.added", include_str!("../samples/event.added.json")),
    (
        "event.updated",
        include_str!("../samples/event.updated.json"),
    ),
    (
        "event.deleted",
        include_str!("../samples/event.deleted.json"),
    ),
    // v1 and v2 names without a fixture: every field PROTOCOL.md §4 lists.
    (
        "bot.chat_message",
        include_str!("../samples/bot.chat_message.json"),
    ),
    (
        "calendar.sync_events",
        include_str!("../samples/calendar.sync_events.json"),
    ),
    (
        "calendar.events_synced",
        include_str!("../samples/calendar.events_synced.json"),
    ),
    (
        "calendar.event_updated",
        include_str!("../samples/calendar.event_updated.json"),
    ),
    (
        "calendar.event_cancelled",
        include_str!("../samples/calendar.event_cancelled.json"),
    ),
    (
        "calendar.connection_created",
        include_str!("../samples/calendar.connection_created.json"),
    ),
    (
        "calendar.connection_updated",
        include_str!("../samples/calendar.connection_updated.json"),
    ),
    (
        "calendar.connection_deleted",
        include_str!("../samples/calendar.connection_deleted.json"),
    ),
    (
        "calendar.connection_error",
        include_str!("../samples/calendar.connection_error.json"),
    ),
];

/// The sample body for `name`, exactly as it is sent (no trailing newline).
///
/// Every known wire name has one (a unit test checks it); `None` would only mean a name added to
/// the core without a sample here.
pub(crate) fn body(name: EventName) -> Option<&'static str> {
    SAMPLES
        .iter()
        .find(|(wire, _)| *wire == name.as_str())
        .map(|(_, body)| body.trim_end())
}

/// The alert callback sample (the shared fixture `v2_alert_callback.json`): not an envelope, sent
/// under the alert scheme (`x-mb-alert-secret`).
pub(crate) const ALERT: &str = include_str!("../samples/alert.json");

/// The wire name of the alert sample.
pub(crate) const ALERT_NAME: &str = "alert";

/// A sample by wire name, for `trigger`: every name of [`EventName::ALL`] and `alert`;
/// `(wire name, body)`, with an error listing every name.
pub(crate) fn sample_for(wire: &str) -> Result<(&'static str, &'static str), String> {
    if wire == ALERT_NAME {
        return Ok((ALERT_NAME, ALERT.trim_end()));
    }
    let name = name_from_wire(wire)?;
    body(name)
        .map(|body| (name.as_str(), body))
        .ok_or_else(|| format!("no sample for `{wire}`"))
}

/// Every sample, `(wire name, body)`: the envelopes in the core's order, then the alert.
pub(crate) fn all() -> Vec<(&'static str, &'static str)> {
    EventName::ALL
        .iter()
        .filter_map(|name| body(*name).map(|body| (name.as_str(), body)))
        .chain([(ALERT_NAME, ALERT.trim_end())])
        .collect()
}

/// Looks a wire name up for `trigger`, with an error listing every name.
pub(crate) fn name_from_wire(wire: &str) -> Result<EventName, String> {
    EventName::from_wire(wire).ok_or_else(|| {
        format!(
            "unknown event `{wire}`: expected one of {}",
            wire_names().join(", ")
        )
    })
}

/// Every known wire name, in the core's order, then `alert`.
pub(crate) fn wire_names() -> Vec<&'static str> {
    EventName::ALL
        .iter()
        .map(|name| name.as_str())
        .chain([ALERT_NAME])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use meetingbaas_webhooks::{Event, EventKind};

    #[test]
    fn every_wire_name_has_exactly_one_sample() {
        for name in EventName::ALL {
            let count = SAMPLES.iter().filter(|(w, _)| *w == name.as_str()).count();
            assert_eq!(count, 1, "{name}");
        }
        assert_eq!(SAMPLES.len(), EventName::ALL.len());
    }

    #[test]
    fn every_sample_parses_to_its_wire_names_kind() {
        for name in EventName::ALL {
            let body = body(*name).unwrap();
            let event =
                Event::from_slice(body.as_bytes()).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(event.event_name(), Some(*name), "{name}");
            assert_eq!(event.name(), name.as_str());
            assert_eq!(event.kind(), name.kind(), "{name}");
            assert_ne!(event.kind(), EventKind::Unknown);
        }
    }

    #[test]
    fn bot_samples_name_the_fixtures_bot() {
        for name in EventName::ALL {
            let event = Event::from_slice(body(*name).unwrap().as_bytes()).unwrap();
            let about_a_bot = !name.as_str().starts_with("calendar.");
            if about_a_bot {
                assert_eq!(event.bot_id(), Some(BOT_ID), "{name}");
            }
        }
    }

    #[test]
    fn samples_are_one_line_of_json() {
        for name in EventName::ALL {
            let body = body(*name).unwrap();
            assert!(!body.contains('\n'), "{name}");
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(value["event"], name.as_str());
        }
    }

    #[test]
    fn the_alert_sample_is_an_alert() {
        let (name, body) = sample_for("alert").unwrap();
        let event = Event::from_slice(body.as_bytes()).unwrap();
        assert_eq!((name, event.kind()), ("alert", EventKind::Alert));
        assert!(event.issues().is_empty());
        assert_eq!(all().len(), EventName::ALL.len() + 1);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = name_from_wire("bot.exploded").unwrap_err();
        assert!(err.contains("bot.completed") && err.contains("event.deleted"));
        assert_eq!(name_from_wire("complete"), Ok(EventName::Complete));
    }
}

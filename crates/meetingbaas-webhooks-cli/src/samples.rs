//! The sample payloads, one per wire name of docs/protocol.md §3, and the alert: they live in the
//! receiver's `testing` module (`crates/meetingbaas-webhooks-receiver/samples/`), shared with the adapters'
//! test helpers; this module names them for the commands.

use meetingbaas_webhooks::EventName;
use meetingbaas_webhooks_receiver::testing;

/// The bot every bot sample refers to (the fixtures' bot id).
pub(crate) const BOT_ID: &str = testing::SAMPLE_BOT_ID;

/// The sample body for `name`, exactly as it is sent (no trailing newline).
///
/// Every known wire name has one (the core's unit tests check it).
pub(crate) fn body(name: EventName) -> Option<&'static str> {
    Some(testing::sample(name))
}

/// The alert callback sample (the shared fixture `v2_alert_callback.json`): not an envelope, sent
/// under the alert scheme (`x-mb-alert-secret`).
pub(crate) const ALERT: &str = testing::ALERT_SAMPLE;

/// The wire name of the alert sample.
pub(crate) const ALERT_NAME: &str = testing::ALERT_NAME;

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
        assert!(event.all_issues().is_empty());
        assert_eq!(all().len(), EventName::ALL.len() + 1);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = name_from_wire("bot.exploded").unwrap_err();
        assert!(err.contains("bot.completed") && err.contains("event.deleted"));
        assert_eq!(name_from_wire("complete"), Ok(EventName::Complete));
    }
}

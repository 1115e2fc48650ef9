//! Reading a whole body into an [`Event`] in one pass.
//!
//! The envelope is read key by key. When `event` comes before `data` (as every sender writes it),
//! `data` is read straight into its payload type; when `data` comes first it is kept as a JSON
//! value and read into its type once the name is known. A failure while reading a known event's
//! `data` is a 422 ([`ParseError::InvalidData`]); anything else wrong with the envelope is a 400.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::cell::Cell;
use core::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::error::Category;

use super::{Event, EventName, UnknownEvent};
use crate::error::ParseError;

pub(crate) fn parse_event(body: &[u8]) -> Result<Event, ParseError> {
    // Set while a known event's `data` is being read, so that a type error there is told apart
    // from one in the envelope.
    let reading_data = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = de
        .deserialize_map(EnvelopeVisitor {
            reading_data: &reading_data,
        })
        .and_then(|event| de.end().map(|()| event));
    result.map_err(|err| classify(&err, reading_data.get()))
}

impl<'de> serde::Deserialize<'de> for Event {
    /// Reads a whole envelope, as [`Event::from_slice`] does; for use inside other types and with
    /// [`VerifiedDelivery::parse`](crate::VerifiedDelivery::parse).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
        let reading_data = Cell::new(None);
        deserializer.deserialize_map(EnvelopeVisitor {
            reading_data: &reading_data,
        })
    }
}

/// Classifies a failure to read `body` into some type: syntax errors are 400, a body that is
/// not an envelope (an object with a string `event`) is 400, anything else is a 422 naming the
/// event.
pub(crate) fn classify_any(body: &[u8], err: &serde_json::Error) -> ParseError {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        event: alloc::borrow::Cow<'a, str>,
    }
    let message = err.to_string();
    match err.classify() {
        Category::Data => match serde_json::from_slice::<Envelope<'_>>(body) {
            Ok(envelope) => ParseError::InvalidData {
                event: envelope.event.into_owned(),
                message,
            },
            Err(_) => ParseError::InvalidEnvelope { message },
        },
        _ => ParseError::InvalidJson { message },
    }
}

fn classify(err: &serde_json::Error, reading_data: Option<EventName>) -> ParseError {
    let message = err.to_string();
    match (err.classify(), reading_data) {
        (Category::Data, Some(name)) => ParseError::InvalidData {
            event: name.as_str().to_string(),
            message,
        },
        (Category::Data, None) => ParseError::InvalidEnvelope { message },
        _ => ParseError::InvalidJson { message },
    }
}

struct EnvelopeVisitor<'a> {
    reading_data: &'a Cell<Option<EventName>>,
}

/// `data` as read so far.
enum Data {
    Parsed(Event),
    /// Read before the name was known (or under an unknown name).
    Raw(Value),
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'_> {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a webhook envelope: a JSON object with a string "event""#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut name: Option<String> = None;
        let mut data: Option<Data> = None;
        let mut extra: Option<Value> = None;
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match key {
                EnvelopeKey::Event => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("event"));
                    }
                    name = Some(map.next_value()?);
                }
                EnvelopeKey::Data => {
                    if data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    let known = name.as_deref().and_then(EventName::from_wire);
                    data = Some(match known {
                        Some(known) => {
                            self.reading_data.set(Some(known));
                            let event = map.next_value_seed(DataSeed(known))?;
                            self.reading_data.set(None);
                            Data::Parsed(event)
                        }
                        None => Data::Raw(map.next_value()?),
                    });
                }
                EnvelopeKey::Extra => {
                    if extra.is_some() {
                        return Err(de::Error::duplicate_field("extra"));
                    }
                    extra = Some(map.next_value()?);
                }
                EnvelopeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("event"))?;
        let mut event = match (data, EventName::from_wire(&name)) {
            (Some(Data::Parsed(event)), _) => event,
            (raw, Some(known)) => {
                let raw = match raw {
                    Some(Data::Raw(value)) => value,
                    _ => Value::Null,
                };
                self.reading_data.set(Some(known));
                let event = Event::deserialize_data(known, raw).map_err(de::Error::custom)?;
                self.reading_data.set(None);
                event
            }
            (raw, None) => {
                let data = match raw {
                    Some(Data::Raw(value)) => value,
                    _ => Value::Null,
                };
                Event::Unknown(Box::new(UnknownEvent {
                    name,
                    data,
                    extra: None,
                }))
            }
        };
        event.adopt_extra(extra);
        Ok(event)
    }
}

struct DataSeed(EventName);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Event;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Event, D::Error> {
        Event::deserialize_data(self.0, deserializer)
    }
}

enum EnvelopeKey {
    Event,
    Data,
    Extra,
    Other,
}

impl<'de> serde::Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = EnvelopeKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<EnvelopeKey, E> {
                Ok(match key {
                    "event" => EnvelopeKey::Event,
                    "data" => EnvelopeKey::Data,
                    "extra" => EnvelopeKey::Extra,
                    _ => EnvelopeKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn parse(body: &str) -> Result<Event, ParseError> {
        parse_event(body.as_bytes())
    }

    #[test]
    fn data_before_event_reads_the_same() {
        let a = parse(
            r#"{"event":"bot.failed","data":{"bot_id":"b","error_code":"X"},"extra":{"k":1}}"#,
        )
        .unwrap();
        let b = parse(
            r#"{"extra":{"k":1},"data":{"bot_id":"b","error_code":"X"},"event":"bot.failed"}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.extra(), Some(&serde_json::json!({"k": 1})));
    }

    #[test]
    fn missing_or_null_data_is_a_sparse_event() {
        for body in [
            r#"{"event":"meeting.started"}"#,
            r#"{"event":"meeting.started","data":null}"#,
        ] {
            let event = parse(body).unwrap();
            assert_eq!(event.kind(), EventKind::BotStatusChange);
            assert_eq!(event.bot_id(), None);
        }
    }

    #[test]
    fn envelope_problems_are_400_and_data_problems_422() {
        let cases = [
            ("", 400, "invalid_json"),
            ("{", 400, "invalid_json"),
            (r#"{"event":"bot.failed"} trailing"#, 400, "invalid_json"),
            ("[]", 400, "invalid_envelope"),
            ("\"bot.failed\"", 400, "invalid_envelope"),
            (r#"{"data":{}}"#, 400, "invalid_envelope"),
            (r#"{"event":42}"#, 400, "invalid_envelope"),
            (r#"{"event":"a","event":"b"}"#, 400, "invalid_envelope"),
            (
                r#"{"event":"bot.failed","data":{"bot_id":42}}"#,
                422,
                "invalid_event_data",
            ),
            (
                r#"{"data":{"bot_id":42},"event":"bot.failed"}"#,
                422,
                "invalid_event_data",
            ),
            (
                r#"{"event":"bot.failed","data":"oops"}"#,
                422,
                "invalid_event_data",
            ),
            (
                r#"{"event":"bot.failed","data":{"bot_id":"b""#,
                400,
                "invalid_json",
            ),
        ];
        for (body, status, code) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!((err.status(), err.code()), (status, code), "{body}: {err}");
        }
    }

    #[test]
    fn unknown_events_keep_name_data_and_extra() {
        let event =
            parse(r#"{"event":"bot.teleported","data":{"bot_id":"b","to":"mars"},"extra":null}"#)
                .unwrap();
        let Event::Unknown(unknown) = &event else {
            panic!("{event:?}")
        };
        assert_eq!(unknown.name, "bot.teleported");
        assert_eq!(unknown.data["to"], "mars");
        assert_eq!(event.bot_id(), Some("b"));
        assert_eq!(event.extra(), None);
        assert_eq!(event.name(), "bot.teleported");
    }

    #[test]
    fn the_deserialize_impl_reads_the_same_event() {
        let body = br#"{"event":"bot.failed","data":{"bot_id":"b"},"extra":{"k":1}}"#;
        assert_eq!(
            serde_json::from_slice::<Event>(body).unwrap(),
            parse_event(body).unwrap()
        );
    }

    #[test]
    fn any_type_is_classified_by_the_envelope() {
        let classify = |body: &[u8]| {
            let err = serde_json::from_slice::<Event>(body).unwrap_err();
            let parsed = classify_any(body, &err);
            (parsed.status(), parsed.code())
        };
        assert_eq!(classify(b"{"), (400, "invalid_json"));
        assert_eq!(classify(b"[1]"), (400, "invalid_envelope"));
        assert_eq!(classify(br#"{"data":{}}"#), (400, "invalid_envelope"));
        assert_eq!(
            classify(br#"{"event":"bot.failed","data":{"bot_id":1}}"#),
            (422, "invalid_event_data")
        );
    }

    #[test]
    fn v1_extra_inside_data_wins_over_a_null_top_level() {
        let event =
            parse(r#"{"event":"failed","data":{"bot_id":"b","extra":{"foo":"bar"}},"extra":null}"#)
                .unwrap();
        assert_eq!(event.extra(), Some(&serde_json::json!({"foo": "bar"})));
    }
}

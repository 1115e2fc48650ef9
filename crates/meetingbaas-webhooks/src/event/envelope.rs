//! [`Envelope`]: what a delivery is (its event name, kind and bot), read without its payload.
//!
//! Intake needs only these to filter by kind and to label what it stores; the full [`Event`]
//! (every field of a transcript, every calendar instance) is parsed once, where a handler reads
//! it. [`Envelope::peek`] skips the payload but for `bot_id`, and agrees with
//! [`Event::from_slice`](super::Event::from_slice) on every body: the same name, kind and bot id
//! when both succeed, an error when the full parse fails (tested on every fixture and on
//! generated envelopes). One corner is left to the JSON reader: an object inside `data` that
//! repeats a name may be labelled with another of its values than the full parse keeps.

use alloc::string::String;
use core::fmt;

use serde::Deserializer as _;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use super::lenient::Key;
use super::time::EventTime;
use super::{EventKind, EventName, Target};
use crate::error::ParseError;

/// What a delivery is: its wire name, kind and bot, read from the body without its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    name: String,
    kind: EventKind,
    bot_id: Option<String>,
    time: EventTime,
}

impl Envelope {
    /// Reads the envelope of `body`: fails exactly when [`Event::from_slice`] would (not JSON,
    /// not an object, no string `event` and not an alert, `event` twice). `alert_scheme`: the
    /// body was verified by the alert scheme, so an object without `event` is an alert whatever
    /// its fields.
    ///
    /// [`Event::from_slice`]: super::Event::from_slice
    ///
    /// ```
    /// use meetingbaas_webhooks::{EventKind, event::Envelope};
    ///
    /// let body = br#"{"event":"complete","data":{"bot_id":"b-1","transcript":[]}}"#;
    /// let envelope = Envelope::peek(body, false)?;
    /// assert_eq!((envelope.name(), envelope.kind()), ("complete", EventKind::BotCompleted));
    /// assert_eq!(envelope.bot_id(), Some("b-1"));
    /// # Ok::<(), meetingbaas_webhooks::ParseError>(())
    /// ```
    pub fn peek(body: &[u8], alert_scheme: bool) -> Result<Envelope, ParseError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        de.deserialize_map(TopVisitor { alert_scheme })
            .and_then(|envelope| de.end().map(|()| envelope))
            .map_err(|err| super::parse::classify(&err))
    }

    /// The wire name as sent (`bot.completed`, `complete`, `alert`, or an unknown name), as
    /// [`Event::name`](super::Event::name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind, as [`Event::kind`](super::Event::kind).
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The known wire name; `None` for an alert and an unknown event.
    pub fn event_name(&self) -> Option<EventName> {
        EventName::from_wire(&self.name)
    }

    /// The bot concerned, as [`Event::bot_id`](super::Event::bot_id).
    pub fn bot_id(&self) -> Option<&str> {
        self.bot_id.as_deref()
    }

    /// When the event happened by its payload (`data.status.created_at`, `sent_at`), as
    /// [`Event::time`](super::Event::time) reads it.
    pub fn time(&self) -> EventTime {
        self.time
    }

    /// The name, kind and bot id, taken.
    pub fn into_parts(self) -> (String, EventKind, Option<String>) {
        (self.name, self.kind, self.bot_id)
    }
}

/// A `bot_id` value as far as the envelope cares.
#[derive(Clone)]
enum BotId {
    String(String),
    Other,
}

impl BotId {
    fn as_str(&self) -> Option<&str> {
        match self {
            BotId::String(id) => Some(id),
            BotId::Other => None,
        }
    }
}

impl<'de> de::Deserialize<'de> for BotId {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<BotId, D::Error> {
        struct BotIdVisitor;
        impl<'de> Visitor<'de> for BotIdVisitor {
            type Value = BotId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<BotId, E> {
                Ok(BotId::String(value.into()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<BotId, E> {
                Ok(BotId::String(value))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<BotId, E> {
                Ok(BotId::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<BotId, E> {
                Ok(BotId::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<BotId, E> {
                Ok(BotId::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<BotId, E> {
                Ok(BotId::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<BotId, E> {
                Ok(BotId::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<BotId, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(BotId::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BotId, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(BotId::Other)
            }
        }
        deserializer.deserialize_any(BotIdVisitor)
    }
}

/// A `status` value as far as the envelope cares: an object's first string `created_at`, and
/// whether the value reads as a status at all (an object or a code string: then the top level
/// does not fill it).
struct StatusTime(Option<String>, bool);

impl<'de> de::Deserialize<'de> for StatusTime {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<StatusTime, D::Error> {
        struct StatusVisitor;
        impl<'de> Visitor<'de> for StatusVisitor {
            type Value = StatusTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StatusTime, A::Error> {
                let mut created_at: Option<BotId> = None;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    if key.as_str() == "created_at" && created_at.is_none() {
                        created_at = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(StatusTime(
                    created_at.and_then(|value| value.as_str().map(String::from)),
                    true,
                ))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusTime, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StatusTime(None, false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<StatusTime, E> {
                Ok(StatusTime(None, true))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StatusTime, E> {
                Ok(StatusTime(None, false))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StatusTime, E> {
                Ok(StatusTime(None, false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StatusTime, E> {
                Ok(StatusTime(None, false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StatusTime, E> {
                Ok(StatusTime(None, false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StatusTime, E> {
                Ok(StatusTime(None, false))
            }
        }
        deserializer.deserialize_any(StatusVisitor)
    }
}

/// What `data` held, as far as the envelope cares.
enum Data {
    Null,
    Object {
        /// The first string `bot_id` (what a typed payload keeps).
        first_string: Option<String>,
        /// The last `bot_id` of any type (what a JSON map keeps, for an unknown event).
        last: Option<BotId>,
        /// The first `status`, when sent.
        status: Option<StatusTime>,
        /// The first `sent_at`, when sent.
        sent_at: Option<BotId>,
    },
    Other,
}

impl<'de> de::Deserialize<'de> for Data {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Data, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Data;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let (mut first_string, mut last) = (None, None);
                let (mut status, mut sent_at) = (None, None);
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "bot_id" => {
                            let value: BotId = map.next_value()?;
                            if first_string.is_none()
                                && let BotId::String(id) = &value
                            {
                                first_string = Some(id.clone());
                            }
                            last = Some(value);
                        }
                        "status" if status.is_none() => {
                            status = Some(map.next_value::<StatusTime>()?);
                        }
                        "sent_at" if sent_at.is_none() => {
                            sent_at = Some(map.next_value::<BotId>()?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Data::Object {
                    first_string,
                    last,
                    status,
                    sent_at,
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<Data, E> {
                Ok(Data::Null)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Data::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Data, E> {
                Ok(Data::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Data, E> {
                Ok(Data::Other)
            }
        }
        deserializer.deserialize_any(DataVisitor)
    }
}

struct TopVisitor {
    alert_scheme: bool,
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a webhook envelope: a JSON object with a string "event""#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut name: Option<String> = None;
        let mut data: Option<Data> = None;
        // The first top-level `bot_id` (a flat body's, or one beside `data`).
        let mut top_bot_id: Option<BotId> = None;
        // The first top-level `sent_at` and `status` (a flat body's, or beside `data`).
        let mut top_sent_at: Option<BotId> = None;
        let mut top_status: Option<StatusTime> = None;
        let mut alert_rule_id = false;
        let mut extra_seen = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "event" => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("event"));
                    }
                    name = Some(map.next_value()?);
                }
                "data" if data.is_none() => data = Some(map.next_value()?),
                "extra" if !extra_seen => {
                    extra_seen = true;
                    map.next_value::<IgnoredAny>()?;
                }
                "data" | "extra" => {
                    map.next_value::<IgnoredAny>()?;
                }
                "bot_id" => {
                    let value: BotId = map.next_value()?;
                    top_bot_id.get_or_insert(value);
                }
                "sent_at" if top_sent_at.is_none() => top_sent_at = Some(map.next_value()?),
                "status" if top_status.is_none() => top_status = Some(map.next_value()?),
                other => {
                    alert_rule_id |= other == "alert_rule_id";
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let top = || {
            top_bot_id
                .as_ref()
                .and_then(BotId::as_str)
                .map(String::from)
        };
        let Some(name) = name else {
            if self.alert_scheme || alert_rule_id {
                return Ok(Envelope {
                    name: "alert".into(),
                    kind: EventKind::Alert,
                    bot_id: None,
                    time: EventTime::default(),
                });
            }
            return Err(de::Error::missing_field("event"));
        };
        let (kind, bot_id) = match Target::from_name(&name) {
            Some(Target::Alert) => (EventKind::Alert, None),
            Some(Target::Envelope(known)) => {
                // A typed payload keeps the first string `bot_id` of `data`; the top level
                // (a flat body, or fields beside `data`) fills it when missing.
                let in_data = match &data {
                    Some(Data::Object { first_string, .. }) => first_string.clone(),
                    _ => None,
                };
                (known.kind(), in_data.or_else(top))
            }
            None => {
                // An unknown event keeps `data` as JSON, with the top-level fields merged in
                // where it has none of that name (or as the data when it has none at all).
                let bot_id = match &data {
                    None | Some(Data::Null) => top(),
                    Some(Data::Object {
                        last: Some(value), ..
                    }) => value.as_str().map(String::from),
                    Some(Data::Object { last: None, .. }) => top(),
                    Some(Data::Other) => None,
                };
                (EventKind::Unknown, bot_id)
            }
        };
        // Inside `data` first, the top level where `data` has none (as the payload reads them).
        let (data_status, data_sent) = match &data {
            Some(Data::Object {
                status, sent_at, ..
            }) => (status.as_ref(), sent_at.as_ref()),
            _ => (None, None),
        };
        let (status_at, sent_at) = if kind == EventKind::Unknown {
            // Unknown: `data` as JSON, the top level merged in where it has no such name.
            match &data {
                None | Some(Data::Null) => (top_status.as_ref(), top_sent_at.as_ref()),
                Some(Data::Object { .. }) => (
                    data_status.or(top_status.as_ref()),
                    data_sent.or(top_sent_at.as_ref()),
                ),
                Some(Data::Other) => (None, None),
            }
        } else {
            // A typed payload: a field that did not read is filled from the top level.
            let status = data_status.filter(|s| s.1).or(top_status.as_ref());
            let sent = data_sent
                .filter(|s| s.as_str().is_some())
                .or(top_sent_at.as_ref());
            (status, sent)
        };
        let status_at = status_at.and_then(|s| s.0.as_deref());
        let sent_at = sent_at.and_then(BotId::as_str);
        // The fields each payload has (`Event::time`).
        let time = match kind {
            EventKind::BotStatusChange => EventTime::from_fields(status_at, None),
            EventKind::BotCompleted | EventKind::Unknown => {
                EventTime::from_fields(status_at, sent_at)
            }
            EventKind::BotFailed | EventKind::ChatMessage => EventTime::from_fields(None, sent_at),
            _ => EventTime::default(),
        };
        Ok(Envelope {
            name,
            kind,
            bot_id,
            time,
        })
    }
}

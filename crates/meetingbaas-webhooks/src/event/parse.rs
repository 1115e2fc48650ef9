//! Reading a whole body into an [`Event`] in one pass.
//!
//! The envelope is read key by key. When `event` comes before `data`, `data` is read straight
//! into its payload type. When `data` comes first (as a sender that sorts keys writes it), the
//! name is looked for in the raw bytes first (the last `"event": "<name>"` of the body, found
//! from its end: where a sorted body has it), `data` is read straight into that name's type, and
//! the name the envelope really carries is checked against the guess once read; a wrong guess
//! (rare: a body whose last `"event"` key is not the envelope's) reads the body again the slow
//! way, where `data` is kept as a JSON value and read into its type once the name is known. Payloads are read leniently (see
//! [`lenient`](super::lenient)), so only the envelope can fail: not JSON, not an object, no string
//! `event`, or `event` twice (all 400). Other top-level fields (a flat v1 body embedded in v2,
//! a top-level `sent_at`) fill the payload's missing fields. An object without `event` is an
//! alert when it has `alert_rule_id`, or when the caller knows it came under the alert scheme.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Map, Value};

use super::lenient::{Ctx, Key, Seg, Source};
use super::{Event, EventKind, Generation, Target, UnknownEvent};
use crate::error::ParseError;

/// Parses `body` (`shared`: the same bytes, shared, for lazy fields to keep a range of rather
/// than a copy); `alert_scheme`: it was verified by the alert scheme, so an object without
/// `event` is an alert whatever its fields.
pub(crate) fn parse_event(
    body: &[u8],
    shared: Option<&bytes::Bytes>,
    alert_scheme: bool,
) -> Result<Event, ParseError> {
    let wrong_guess = core::cell::Cell::new(false);
    let source = match shared {
        Some(shared) if core::ptr::eq(shared.as_ref(), body) => Source::Body(shared.clone()),
        _ => Source::Slice,
    };
    let parse = |guess: bool| {
        let mut de = serde_json::Deserializer::from_slice(body);
        de.deserialize_map(EnvelopeVisitor {
            alert_scheme,
            body: guess.then_some(body),
            source: source.clone(),
            wrong_guess: &wrong_guess,
        })
        .and_then(|event| de.end().map(|()| event))
    };
    match parse(true) {
        // `data` came first and was read as the wrong type: again, keeping it as a value.
        Err(_) if wrong_guess.get() => parse(false),
        result => result,
    }
    .map_err(|err| classify(&err))
}

/// The event name of a body whose `data` comes first: the string value of the last `"event"`
/// key in `body` (a sorted envelope's last key), or `None`. Only a guess, checked once the
/// envelope's own `event` is read: the bytes are not parsed, an escaped name is not read.
fn guess_name(body: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"event\"";
    let mut end = body.len();
    while let Some(at) = body[..end].windows(KEY.len()).rposition(|w| w == KEY) {
        end = at;
        // A key: after `{` or `,`, followed by `:` and a string.
        let before = body[..at].trim_ascii_end();
        if !matches!(before.last(), Some(b'{' | b',')) {
            continue;
        }
        let Some(value) = body[at + KEY.len()..].trim_ascii_start().strip_prefix(b":") else {
            continue;
        };
        let Some(value) = value.trim_ascii_start().strip_prefix(b"\"") else {
            continue;
        };
        let close = value.iter().position(|b| matches!(b, b'"' | b'\\'))?;
        if value[close] != b'"' {
            return None;
        }
        return core::str::from_utf8(&value[..close]).ok();
    }
    None
}

impl<'de> serde::Deserialize<'de> for Event {
    /// Reads a whole body, as [`Event::from_slice`] does; for use inside other types and with
    /// [`VerifiedDelivery::parse`](crate::VerifiedDelivery::parse).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor {
            alert_scheme: false,
            body: None,
            source: Source::Other,
            wrong_guess: &core::cell::Cell::new(false),
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

pub(super) fn classify(err: &serde_json::Error) -> ParseError {
    let message = err.to_string();
    match err.classify() {
        Category::Data => ParseError::InvalidEnvelope { message },
        _ => ParseError::InvalidJson { message },
    }
}

struct EnvelopeVisitor<'b, 'g> {
    alert_scheme: bool,
    /// The whole body, to guess the name from when `data` comes first (`None`: keep `data` as a
    /// value until the name is read).
    body: Option<&'b [u8]>,
    /// What the deserializer reads, for lazy fields.
    source: Source,
    /// Set when the guess was wrong: the caller reads the body again without guessing.
    wrong_guess: &'g core::cell::Cell<bool>,
}

/// `data` as read so far.
enum Data {
    Parsed(Event),
    /// Read before the name was known, as the type of the name guessed from the raw bytes.
    Guessed(Target, Event),
    /// Read before the name was known (or under an unknown name).
    Raw(Value),
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'_, '_> {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a webhook envelope: a JSON object with a string "event""#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut ctx = Ctx::reading(self.source);
        let mut name: Option<String> = None;
        let mut data: Option<Data> = None;
        let mut extra: Option<Value> = None;
        // Any other top-level field: a flat body's data, or fields beside `data`.
        let mut rest: Map<String, Value> = Map::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "event" => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("event"));
                    }
                    name = Some(map.next_value()?);
                }
                "data" if data.is_none() => {
                    let known = name.as_deref().and_then(Target::from_name);
                    let guessed = match (&name, self.body) {
                        (None, Some(body)) => guess_name(body).and_then(Target::from_name),
                        _ => None,
                    };
                    data = Some(match (known, guessed) {
                        (Some(target), _) => Data::Parsed(map.next_value_seed(DataSeed {
                            target,
                            ctx: &mut ctx,
                        })?),
                        (None, Some(target)) => Data::Guessed(
                            target,
                            map.next_value_seed(DataSeed {
                                target,
                                ctx: &mut ctx,
                            })?,
                        ),
                        (None, None) => Data::Raw(map.next_value()?),
                    });
                }
                "extra" if extra.is_none() => extra = Some(map.next_value()?),
                "data" | "extra" => {
                    // Repeated: the first wins; the copy is kept as an issue.
                    let value: Value = map.next_value()?;
                    let at = if key.as_str() == "data" {
                        "data"
                    } else {
                        "extra"
                    };
                    ctx.issue(Seg::Key(at), "a single field of this name", value);
                }
                _ => {
                    let value: Value = map.next_value()?;
                    rest.entry(key.into_string()).or_insert(value);
                }
            }
        }
        // What is read from here on is read from `Value`s.
        ctx.reading_other();
        if let Some(Data::Guessed(guessed, _)) = &data {
            if name.as_deref().and_then(Target::from_name) != Some(*guessed) {
                self.wrong_guess.set(true);
                return Err(de::Error::custom("the event name was guessed wrong"));
            }
            if let Some(Data::Guessed(_, event)) = data.take() {
                data = Some(Data::Parsed(event));
            }
        }
        if let Some(name) = &name {
            drop_normalized_keys(name, &mut rest);
        }
        let target = match &name {
            Some(name) => Target::from_name(name),
            None if self.alert_scheme || rest.contains_key("alert_rule_id") => {
                // An alert: everything at the top level is its data.
                if let Some(data) = data.take() {
                    let data = match data {
                        Data::Raw(value) => value,
                        Data::Parsed(_) | Data::Guessed(..) => Value::Null,
                    };
                    rest.entry("data".to_string()).or_insert(data);
                }
                if let Some(extra) = extra.take() {
                    rest.entry("extra".to_string()).or_insert(extra);
                }
                Some(Target::Alert)
            }
            None => return Err(de::Error::missing_field("event")),
        };
        let mut event = match (target, data) {
            (Some(_), Some(Data::Parsed(event))) => event,
            (Some(target), raw) => {
                let raw = match raw {
                    Some(Data::Raw(value)) => value,
                    _ => Value::Null,
                };
                let at = match (&raw, target) {
                    // No `data`: the top-level fields are the data.
                    (Value::Null, _) => Seg::Root,
                    _ => Seg::Key("data"),
                };
                if matches!(at, Seg::Root) {
                    let flat = core::mem::take(&mut rest);
                    Event::read_data(target, Value::Object(flat), &mut ctx, at)
                        .map_err(de::Error::custom)?
                } else {
                    Event::read_data(target, raw, &mut ctx, at).map_err(de::Error::custom)?
                }
            }
            (None, raw) => {
                let mut data = match raw {
                    Some(Data::Raw(value)) => value,
                    _ => Value::Null,
                };
                match &mut data {
                    Value::Null if !rest.is_empty() => {
                        data = Value::Object(core::mem::take(&mut rest))
                    }
                    Value::Object(fields) => {
                        for (name, value) in core::mem::take(&mut rest) {
                            fields.entry(name).or_insert(value);
                        }
                    }
                    _ => {}
                }
                Event::Unknown(Box::new(UnknownEvent {
                    name: name.unwrap_or_default(),
                    data,
                    extra: None,
                }))
            }
        };
        if !rest.is_empty()
            && let Some(target) = target
        {
            // Fields beside `data` fill what `data` lacks.
            let beside = Event::read_data(target, Value::Object(rest), &mut ctx, Seg::Root)
                .map_err(de::Error::custom)?;
            event.fill_missing(beside);
        }
        event.adopt_extra(extra);
        event.set_issues(ctx.take_issues());
        Ok(event)
    }
}

/// Removes the top-level `kind`, `generation` and `issues` of `Event`'s normalized form (its
/// `Serialize`), so that parsing the normalized form again does not read them as fields beside
/// `data`. Only when all three are exactly what the normalized form of `name` carries (`kind`
/// and `generation` derived from the name, `issues` an array): a sender's own fields of those
/// names are kept as before.
fn drop_normalized_keys(name: &str, rest: &mut Map<String, Value>) {
    if rest.is_empty() {
        // The usual body: nothing beside `event`, `data` and `extra`.
        return;
    }
    let (kind, generation) = match Target::from_name(name) {
        Some(Target::Envelope(name)) => (name.kind(), Some(name.generation())),
        Some(Target::Alert) => (EventKind::Alert, Some(Generation::V2)),
        None => (EventKind::Unknown, None),
    };
    let generation = generation.map_or(Value::Null, |g| Value::from(g.as_str()));
    let normalized = rest.get("kind").and_then(Value::as_str) == Some(kind.as_str())
        && rest.get("generation") == Some(&generation)
        && rest.get("issues").is_some_and(Value::is_array);
    if normalized {
        for key in ["kind", "generation", "issues"] {
            rest.remove(key);
        }
    }
}

struct DataSeed<'c> {
    target: Target,
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Event;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Event, D::Error> {
        Event::read_data(self.target, deserializer, self.ctx, Seg::Key("data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use alloc::vec::Vec;

    fn parse(body: &str) -> Result<Event, ParseError> {
        parse_event(body.as_bytes(), None, false)
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
    fn data_before_event_is_read_in_one_pass_when_the_guess_is_right() {
        let first = r#"{"event":"complete","data":{"bot_id":"b","transcript":[{"speaker":"A","words":[{"start":0,"word":"hi"},{"start":"x","word":1}]}],"novel":1},"sent_at":"t"}"#;
        let sorted = r#"{"data":{"bot_id":"b","transcript":[{"speaker":"A","words":[{"start":0,"word":"hi"},{"start":"x","word":1}]}],"novel":1},"event" : "complete","sent_at":"t"}"#;
        assert_eq!(guess_name(sorted.as_bytes()), Some("complete"));
        let (a, b) = (parse(first).unwrap(), parse(sorted).unwrap());
        assert_eq!(a, b);
        assert_eq!(b.all_issues().len(), 2);
        assert_eq!(b.all_issues()[0].path, "data.transcript[0].words[1].start");
    }

    #[test]
    fn a_wrong_guess_reads_the_body_again() {
        // The last `"event"` key is inside `extra`, and names another known event.
        let first = r#"{"event":"bot.failed","data":{"bot_id":"b","error_code":"X"},"extra":{"event":"complete"}}"#;
        let misleading = r#"{"data":{"bot_id":"b","error_code":"X"},"event":"bot.failed","extra":{"event":"complete"}}"#;
        assert_eq!(guess_name(misleading.as_bytes()), Some("complete"));
        assert_eq!(parse(first).unwrap(), parse(misleading).unwrap());
        // Names that cannot be guessed: escaped, not a string, absent, not a key.
        for body in [
            r#"{"data":{"bot_id":"b"},"event":"bot.fail\u0065d"}"#,
            r#"{"data":{"bot_id":"b"},"event":7}"#,
            r#"{"data":{"bot_id":"b","note":"\"event\":\"complete\""}}"#,
        ] {
            assert_eq!(guess_name(body.as_bytes()), None, "{body}");
        }
        let event = parse(r#"{"data":{"bot_id":"b"},"event":"bot.fail\u0065d"}"#).unwrap();
        assert_eq!(event.kind(), EventKind::BotFailed);
        // A guess with no envelope name at all: an alert under the alert scheme.
        let body = br#"{"data":{"x":{"event":"complete"}},"message":"m"}"#;
        let event = parse_event(body, None, true).unwrap();
        assert_eq!(event.kind(), EventKind::Alert);
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
    fn only_envelope_problems_fail_and_they_are_400() {
        let cases = [
            ("", "invalid_json"),
            ("{", "invalid_json"),
            (r#"{"event":"bot.failed"} trailing"#, "invalid_json"),
            ("[]", "invalid_envelope"),
            ("\"bot.failed\"", "invalid_envelope"),
            (r#"{"data":{}}"#, "invalid_envelope"),
            (r#"{"event":42}"#, "invalid_envelope"),
            (r#"{"event":null,"alert_rule_id":"r"}"#, "invalid_envelope"),
            (r#"{"event":"a","event":"b"}"#, "invalid_envelope"),
            (
                r#"{"event":"bot.failed","data":{"bot_id":"b""#,
                "invalid_json",
            ),
        ];
        for (body, code) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!((err.status(), err.code()), (400, code), "{body}: {err}");
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_reads_as_absent_and_is_an_issue() {
        let event = parse(
            r#"{"event":"bot.failed","data":{"bot_id":42,"error_code":"BOT_REMOVED","event_id":"e"}}"#,
        )
        .unwrap();
        assert_eq!(event.kind(), EventKind::BotFailed);
        assert_eq!(event.bot_id(), None);
        assert_eq!(event.event_id(), Some("e"));
        let issues = event.issues();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "data.bot_id");
        assert_eq!(issues[0].expected, "a string");
        assert_eq!(issues[0].found, serde_json::json!(42));
        assert_eq!(
            issues[0].to_string(),
            "data.bot_id: expected a string, found a number"
        );
    }

    #[test]
    fn unusable_data_keeps_the_kind_and_the_raw_value() {
        for (body, found) in [
            (r#"{"event":"bot.failed","data":5}"#, serde_json::json!(5)),
            (
                r#"{"data":"oops","event":"bot.status_change"}"#,
                serde_json::json!("oops"),
            ),
            (
                r#"{"event":"complete","data":[1,{"a":2}]}"#,
                serde_json::json!([1, {"a": 2}]),
            ),
        ] {
            let event = parse(body).unwrap();
            assert_ne!(event.kind(), EventKind::Unknown, "{body}");
            assert_eq!(event.issues().len(), 1, "{body}");
            assert_eq!(event.issues()[0].path, "data");
            assert_eq!(event.issues()[0].found, found);
        }
    }

    #[test]
    fn nested_issues_name_their_path() {
        let event = parse(
            r#"{"event":"complete","data":{"bot_id":"b","transcript":[{"speaker":"A","words":[{"start":0,"word":"hi"},{"start":"x","word":1}]},7]}}"#,
        )
        .unwrap();
        // The transcript is lazy: its issues are found when it is read.
        assert!(event.issues().is_empty());
        let all = event.all_issues();
        let paths: Vec<_> = all.iter().map(|i| i.path.as_str()).collect();
        let expected = [
            "data.transcript[0].words[1].start",
            "data.transcript[0].words[1].word",
            "data.transcript[1]",
        ];
        assert_eq!(paths, expected);
        let Event::BotCompleted { data, .. } = &event else {
            panic!("{event:?}")
        };
        assert_eq!(data.transcript.issues(), &all[..]);
        assert_eq!(data.transcript.len(), 1);
        assert_eq!(data.transcript[0].words.len(), 2);
        assert_eq!(data.bot_id.as_deref(), Some("b"));
    }

    #[test]
    fn a_flat_v1_body_reads_its_top_level_fields_as_data() {
        let event = parse(
            r#"{"event":"complete","bot_id":"b-1","mp4":"https://v","transcript":[{"speaker":"A","text":"hi","words":[]}],"novel":1}"#,
        )
        .unwrap();
        assert_eq!(event.bot_id(), Some("b-1"));
        let Event::BotCompleted { data, .. } = &event else {
            panic!("{event:?}")
        };
        assert_eq!(data.video_url(), Some("https://v"));
        assert_eq!(data.transcript[0].text.as_deref(), Some("hi"));
        assert_eq!(data.unknown.get("novel"), Some(&serde_json::json!(1)));
        assert!(event.issues().is_empty());
    }

    #[test]
    fn top_level_fields_fill_what_data_lacks() {
        let event = parse(
            r#"{"event":"bot.completed","data":{"bot_id":"b","sent_at":"inside"},"sent_at":"outside","bot_id":"other"}"#,
        )
        .unwrap();
        let Event::BotCompleted { data, .. } = &event else {
            panic!("{event:?}")
        };
        assert_eq!(data.sent_at.as_deref(), Some("inside"));
        assert_eq!(event.bot_id(), Some("b"));
        let event = parse(r#"{"event":"bot.completed","data":{"bot_id":"b"},"sent_at":"outside"}"#)
            .unwrap();
        let Event::BotCompleted { data, .. } = &event else {
            panic!("{event:?}")
        };
        assert_eq!(data.sent_at.as_deref(), Some("outside"));
    }

    #[test]
    fn an_alert_is_recognised_by_its_rule_id_or_by_the_alert_scheme() {
        let body = r#"{"alert_rule_id":"r-1","alert_type":"bot_crash","current_value":3,"suppressed_count":"x","new":true}"#;
        let event = parse(body).unwrap();
        assert_eq!(event.kind(), EventKind::Alert);
        assert_eq!(event.name(), "alert");
        assert_eq!(event.bot_id(), None);
        let alert = event.as_alert().unwrap();
        assert_eq!(alert.alert_rule_id.as_deref(), Some("r-1"));
        assert_eq!(alert.current_value, Some(3.0));
        assert_eq!(alert.suppressed_count, None);
        assert_eq!(alert.unknown.get("new"), Some(&serde_json::json!(true)));
        assert_eq!(event.issues()[0].path, "suppressed_count");

        let bare = br#"{"message":"m"}"#;
        assert!(parse_event(bare, None, false).is_err());
        let event = parse_event(bare, None, true).unwrap();
        assert_eq!(event.as_alert().unwrap().message.as_deref(), Some("m"));
        // An envelope stays an envelope under the alert scheme.
        let event = parse_event(
            br#"{"event":"bot.failed","data":{"bot_id":"b"}}"#,
            None,
            true,
        )
        .unwrap();
        assert_eq!(event.kind(), EventKind::BotFailed);
    }

    #[test]
    fn a_repeated_data_keeps_the_first_and_records_the_copy() {
        let event =
            parse(r#"{"event":"bot.failed","data":{"bot_id":"a"},"data":{"bot_id":"b"}}"#).unwrap();
        assert_eq!(event.bot_id(), Some("a"));
        assert_eq!(event.issues()[0].path, "data");
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
            parse_event(body, None, false).unwrap()
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
        // `Event` itself is total: only a user's strict type gets a 422.
        assert!(
            serde_json::from_slice::<Event>(br#"{"event":"bot.failed","data":{"bot_id":1}}"#)
                .is_ok()
        );
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Strict {
            event: String,
            data: StrictData,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct StrictData {
            bot_id: String,
        }
        let body = br#"{"event":"bot.failed","data":{"bot_id":1}}"#;
        let err = serde_json::from_slice::<Strict>(body).unwrap_err();
        let parsed = classify_any(body, &err);
        assert_eq!(
            (parsed.status(), parsed.code()),
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

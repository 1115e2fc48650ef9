//! Large fields read when the handler reads them.
//!
//! An inline transcript can be megabytes of words with timings; most handlers never read it.
//! Such a field is a [`Lazy`]: parsing the event only finds where the field's JSON ends (a
//! syntax check, no allocation per word) and keeps it as sent, as a range of the delivery's
//! body (no copy when the event was parsed from a [`VerifiedDelivery`](crate::VerifiedDelivery)
//! or [`Event::from_bytes`](super::Event::from_bytes)). The typed form is read on first access,
//! once (with the `std` feature; without it, [`Lazy::parse`] reads it on every call), leniently
//! like every other field: what does not fit is recorded in [`Lazy::issues`], never a panic.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;
use serde::de::MapAccess;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::lenient::{Ctx, Field, ParseIssue, Seg, Shape, Slot, Source};

/// A field kept as the JSON it was sent as until it is read, then read once into `T`.
///
/// Read it with [`get`](Self::get) (and [`issues`](Self::issues) for what did not fit), change
/// it with [`get_mut`](Self::get_mut), or take the JSON as sent with
/// [`raw_json`](Self::raw_json) to store or forward without parsing. `Serialize` writes the typed
/// form (as the field was before it was lazy), `PartialEq` compares typed forms.
///
/// Kept unread by [`VerifiedDelivery::parse_event`](crate::VerifiedDelivery::parse_event) and
/// [`Event::from_bytes`](super::Event::from_bytes) (a range of the body: the body's buffer
/// stays alive while the event does) and by [`Event::from_slice`](super::Event::from_slice) (a
/// copy of the field's JSON). Read at once, as before, by `Event`'s `Deserialize` (so by
/// `serde_json::from_slice::<Event>` and `delivery.parse::<Event>()`), which cannot tell which
/// deserializer it is given.
///
/// ```
/// use meetingbaas_webhooks::Event;
///
/// let body = br#"{"event":"complete","data":{"bot_id":"b","transcript":[{"speaker":"A","words":[{"start":0.5,"word":"hi"}]}]}}"#;
/// let Event::BotCompleted { data, .. } = Event::from_slice(body)? else { unreachable!() };
/// assert!(data.transcript.raw_json().is_some()); // not read yet
/// assert_eq!(data.transcript.get()[0].words[0].word.as_deref(), Some("hi"));
/// assert!(data.transcript.issues().is_empty());
/// # Ok::<(), meetingbaas_webhooks::ParseError>(())
/// ```
pub struct Lazy<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    /// As sent: the field's JSON (valid JSON, UTF-8), where it was in the body, and the typed
    /// form once read.
    Raw {
        json: Bytes,
        at: Box<[Seg]>,
        #[cfg(feature = "std")]
        read: std::sync::OnceLock<Read<T>>,
    },
    /// Given or changed by the program (or read by [`Lazy::get_mut`]).
    Typed(Read<T>),
}

/// A typed form and what did not fit in it.
#[derive(Clone, Debug, PartialEq)]
struct Read<T> {
    value: T,
    issues: Vec<ParseIssue>,
}

impl<T> Lazy<T> {
    /// A field holding `value` (nothing to read).
    pub fn new(value: T) -> Lazy<T> {
        Lazy {
            inner: Inner::Typed(Read {
                value,
                issues: Vec::new(),
            }),
        }
    }

    /// The field's JSON exactly as sent, while it has not been replaced through
    /// [`get_mut`](Self::get_mut) (`None` then, and for a field built by the program). Valid
    /// JSON in UTF-8: store it or forward it without parsing it.
    pub fn raw_json(&self) -> Option<&[u8]> {
        match &self.inner {
            Inner::Raw { json, .. } => Some(json),
            Inner::Typed(_) => None,
        }
    }

    /// Whether the typed form has been read (always, for a field built by the program).
    pub fn is_read(&self) -> bool {
        match &self.inner {
            #[cfg(feature = "std")]
            Inner::Raw { read, .. } => read.get().is_some(),
            #[cfg(not(feature = "std"))]
            Inner::Raw { .. } => false,
            Inner::Typed(_) => true,
        }
    }
}

impl<T: Shape + Default> Lazy<T> {
    /// Keeps `json` (one whole JSON value) found at `at` for reading later.
    fn raw(json: Bytes, at: Box<[Seg]>) -> Lazy<T> {
        Lazy {
            inner: Inner::Raw {
                json,
                at,
                #[cfg(feature = "std")]
                read: std::sync::OnceLock::new(),
            },
        }
    }

    /// The typed form, read on first access and kept (a value of another type, anywhere inside,
    /// reads as absent and is recorded in [`issues`](Self::issues)).
    #[cfg(feature = "std")]
    pub fn get(&self) -> &T {
        &self.read().value
    }

    /// What did not fit its typed field inside this one (paths from the body's root, such as
    /// `data.transcript[3].words[0].start`), reading it first if needed.
    #[cfg(feature = "std")]
    pub fn issues(&self) -> &[ParseIssue] {
        &self.read().issues
    }

    #[cfg(feature = "std")]
    fn read(&self) -> &Read<T> {
        match &self.inner {
            Inner::Raw { json, at, read } => read.get_or_init(|| read_json(json, at)),
            Inner::Typed(read) => read,
        }
    }

    /// A copy of the typed form and what did not fit (with `std`, read once and kept, as by
    /// [`get`](Self::get); without it there is no cache: every call reads the JSON again).
    pub fn parse(&self) -> (T, Vec<ParseIssue>)
    where
        T: Clone,
    {
        #[cfg(feature = "std")]
        let read = self.read().clone();
        #[cfg(not(feature = "std"))]
        let read = match &self.inner {
            Inner::Raw { json, at } => read_json(json, at),
            Inner::Typed(read) => read.clone(),
        };
        (read.value, read.issues)
    }

    /// The typed form, to change (read first if needed; the JSON as sent is let go).
    pub fn get_mut(&mut self) -> &mut T {
        if let Inner::Raw { .. } = self.inner {
            let read = self.take_read();
            self.inner = Inner::Typed(read);
        }
        match &mut self.inner {
            Inner::Typed(read) => &mut read.value,
            // Just replaced.
            Inner::Raw { .. } => unreachable_raw(),
        }
    }

    /// The typed form (read if needed).
    pub fn into_inner(mut self) -> T {
        self.take_read().value
    }

    fn take_read(&mut self) -> Read<T> {
        let empty = Inner::Typed(Read {
            value: T::default(),
            issues: Vec::new(),
        });
        match core::mem::replace(&mut self.inner, empty) {
            #[cfg(feature = "std")]
            Inner::Raw { json, at, read } => {
                read.into_inner().unwrap_or_else(|| read_json(&json, &at))
            }
            #[cfg(not(feature = "std"))]
            Inner::Raw { json, at } => read_json(&json, &at),
            Inner::Typed(read) => read,
        }
    }

    /// The issues inside, appended to `out` (reading first if needed).
    pub(crate) fn collect_issues(&self, out: &mut Vec<ParseIssue>)
    where
        T: Clone,
    {
        #[cfg(feature = "std")]
        out.extend_from_slice(self.issues());
        #[cfg(not(feature = "std"))]
        out.extend(self.parse().1);
    }
}

/// `get_mut` replaces `Raw` before matching; this arm cannot be reached.
#[cold]
fn unreachable_raw() -> ! {
    unreachable!("a lazy field is typed once read for change")
}

/// What an issue says of JSON that passed the syntax check but cannot be read.
const UNREADABLE: &str =
    "JSON that can be read (a number in range, valid escapes; the text is in Lazy::raw_json)";

/// Reads `json`, found at `at`, into `T`, leniently.
fn read_json<T: Shape + Default>(json: &[u8], at: &[Seg]) -> Read<T> {
    let (last, parents) = match at.split_last() {
        Some((last, parents)) => (*last, parents),
        None => (Seg::Root, &[][..]),
    };
    let mut ctx = Ctx::at(parents);
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = match super::lenient::read::<T, _>(&mut de, &mut ctx, last) {
        Ok(value) => value.unwrap_or_default(),
        // Syntax was checked when the JSON was kept, but not everything: a number out of `f64`
        // range (`1e400`) or an escape of a lone surrogate fails only now. Reported, never a
        // panic; the text stays in `raw_json` (not copied into the issue: it can be megabytes).
        Err(_) => {
            ctx.issue(last, UNREADABLE, Value::Null);
            T::default()
        }
    };
    let issues = ctx.take_issues();
    if !issues.is_empty() {
        crate::log::lazy_did_not_fit(&issues);
    }
    Read { value, issues }
}

#[cfg(feature = "std")]
impl<T: Shape + Default> core::ops::Deref for Lazy<T> {
    type Target = T;

    /// [`get`](Lazy::get): reads the field on first access, like `std::sync::LazyLock`.
    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: Shape + Default> Default for Lazy<T> {
    fn default() -> Self {
        Lazy::new(T::default())
    }
}

impl<T: Shape + Default> From<T> for Lazy<T> {
    fn from(value: T) -> Self {
        Lazy::new(value)
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            #[cfg(feature = "std")]
            Inner::Raw { json, at, read } => Inner::Raw {
                json: json.clone(),
                at: at.clone(),
                read: read.clone(),
            },
            #[cfg(not(feature = "std"))]
            Inner::Raw { json, at } => Inner::Raw {
                json: json.clone(),
                at: at.clone(),
            },
            Inner::Typed(read) => Inner::Typed(read.clone()),
        };
        Lazy { inner }
    }
}

impl<T: Shape + Default + Clone + PartialEq> PartialEq for Lazy<T> {
    /// Compares the typed forms (reading both if needed); the payload holding the field
    /// compares issues.
    fn eq(&self, other: &Self) -> bool {
        #[cfg(feature = "std")]
        return self.get() == other.get();
        #[cfg(not(feature = "std"))]
        return self.parse().0 == other.parse().0;
    }
}

impl<T: fmt::Debug> fmt::Debug for Lazy<T> {
    /// The typed form once read; before that, only the JSON's length (never read for `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            #[cfg(feature = "std")]
            Inner::Raw { read, .. } if read.get().is_some() => match read.get() {
                Some(read) => read.value.fmt(f),
                None => Ok(()),
            },
            Inner::Raw { json, .. } => {
                write!(f, "Lazy(<{} bytes of JSON, not read yet>)", json.len())
            }
            Inner::Typed(read) => read.value.fmt(f),
        }
    }
}

impl<T: Shape + Default + Clone + Serialize> Serialize for Lazy<T> {
    /// The typed form (reading it if needed), as the field was written before it was lazy.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[cfg(feature = "std")]
        return self.get().serialize(serializer);
        #[cfg(not(feature = "std"))]
        return self.parse().0.serialize(serializer);
    }
}

/// A lazy list. Only a non-empty array is kept unread: `null`, `[]` and a value of another
/// type (an issue) are read at once, as is a repeated key (the first value is kept and the
/// copy's issues recorded, as for every field). Absent when it reads as empty.
impl<T: Shape + Clone> Slot for Lazy<Vec<T>> {
    type Item = Vec<T>;

    fn put(&mut self, value: Option<Vec<T>>) {
        if let Some(value) = value
            && self.is_absent()
        {
            *self = Lazy::new(value);
        }
    }

    /// Whether it reads as empty: reads an unread array (only a repeated key, a flat body's
    /// top-level field or `Serialize` asks).
    fn is_absent(&self) -> bool {
        #[cfg(feature = "std")]
        return self.get().is_empty();
        #[cfg(not(feature = "std"))]
        return self.parse().0.is_empty();
    }

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        ctx: &mut Ctx,
        at: Seg,
    ) -> Result<(), A::Error> {
        let first_from_json = matches!(ctx.source(), Source::Body(_) | Source::Slice)
            && matches!(&self.inner, Inner::Typed(read) if read.value.is_empty());
        if !first_from_json {
            // Another deserializer (a `Value`, another format), or a repeated key: read now.
            let value = map.next_value_seed(Field::<Vec<T>>::new(ctx, at))?;
            self.put(value);
            return Ok(());
        }
        let raw: &'de serde_json::value::RawValue = map.next_value()?;
        let json = raw.get().as_bytes();
        if !non_empty_array(json) {
            let mut de = serde_json::Deserializer::from_slice(json);
            let value = super::lenient::read::<Vec<T>, _>(&mut de, ctx, at)
                .map_err(serde::de::Error::custom)?;
            self.put(value);
            return Ok(());
        }
        let json = match ctx.source() {
            Source::Body(body) => within(body, json),
            _ => Bytes::copy_from_slice(json),
        };
        *self = Lazy::raw(json, ctx.path_to(at));
        Ok(())
    }

    /// Takes `other` when it has elements and this reads as empty, keeping this one's issues
    /// (an array of elements that all did not fit, replaced by a flat body's top-level field).
    fn fill(&mut self, other: Self) {
        if other.is_absent() || !self.is_absent() {
            return;
        }
        let issues = self.take_read().issues;
        *self = other;
        let mut read = self.take_read();
        read.issues.splice(0..0, issues);
        self.inner = Inner::Typed(read);
    }

    fn collect_issues(&self, out: &mut Vec<ParseIssue>) {
        Lazy::collect_issues(self, out);
    }
}

/// Whether `json` (one valid JSON value) is an array with at least one element.
fn non_empty_array(json: &[u8]) -> bool {
    match json.trim_ascii_start().split_first() {
        Some((b'[', rest)) => rest.trim_ascii_start().first() != Some(&b']'),
        _ => false,
    }
}

/// `part` as a range of `body`, without a copy, when it lies inside it (it does: `part` was
/// read from `body`); otherwise a copy.
fn within(body: &Bytes, part: &[u8]) -> Bytes {
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize);
    match start {
        Some(start)
            if start
                .checked_add(part.len())
                .is_some_and(|end| end <= body.len()) =>
        {
            body.slice(start..start + part.len())
        }
        _ => Bytes::copy_from_slice(part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{BotCompleted, Event, TranscriptSegment};
    use alloc::{format, vec};

    const BODY: &str = r#"{"event":"complete","data":{"bot_id":"b","transcript": [ {"speaker":"A","words":[{"start":0,"word":"hi"},{"start":"x","word":1}]}, 7 ],"mp4":"m"}}"#;
    const TRANSCRIPT: &str =
        r#"[ {"speaker":"A","words":[{"start":0,"word":"hi"},{"start":"x","word":1}]}, 7 ]"#;

    fn completed(event: Event) -> BotCompleted {
        match event {
            Event::BotCompleted { data, .. } => *data,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_json_is_kept_as_sent_and_shared_with_the_body() {
        let body = Bytes::from_static(BODY.as_bytes());
        let data = completed(Event::from_bytes(&body).unwrap());
        let raw = data.transcript.raw_json().unwrap();
        assert_eq!(raw, TRANSCRIPT.as_bytes());
        let start = raw.as_ptr() as usize - body.as_ptr() as usize;
        assert_eq!(&body[start..start + raw.len()], raw, "a range of the body");
        assert!(!data.transcript.is_read());
        // From a slice: the same JSON, a copy.
        let copy = completed(Event::from_slice(BODY.as_bytes()).unwrap());
        assert_eq!(copy.transcript.raw_json(), Some(TRANSCRIPT.as_bytes()));
        assert_eq!(data, copy);
    }

    #[test]
    fn it_is_read_once_with_its_issues_and_their_full_paths() {
        let data = completed(Event::from_slice(BODY.as_bytes()).unwrap());
        assert!(data.issues.is_empty());
        assert_eq!(data.transcript.get().len(), 1);
        assert!(data.transcript.is_read());
        let paths: Vec<_> = data.transcript.issues().iter().map(|i| &*i.path).collect();
        assert_eq!(
            paths,
            [
                "data.transcript[0].words[1].start",
                "data.transcript[0].words[1].word",
                "data.transcript[1]"
            ]
        );
        let (value, issues) = data.transcript.parse();
        assert_eq!(&value, data.transcript.get());
        assert_eq!(issues, data.transcript.issues());
        // Debug never reads; once read, it shows the typed form.
        let fresh = completed(Event::from_slice(BODY.as_bytes()).unwrap());
        assert!(format!("{:?}", fresh.transcript).contains("bytes of JSON, not read yet"));
        assert!(!fresh.transcript.is_read());
        assert!(format!("{:?}", data.transcript).contains("speaker"));
    }

    #[test]
    fn the_normalized_form_is_the_typed_form_with_every_issue() {
        let event = Event::from_slice(BODY.as_bytes()).unwrap();
        let normalized = serde_json::to_value(&event).unwrap();
        assert_eq!(
            normalized["data"]["transcript"],
            serde_json::json!([{"speaker":"A","words":[{"start":0.0,"word":"hi"},{}]}])
        );
        assert_eq!(normalized["issues"].as_array().unwrap().len(), 3);
        // Read again, the normalized form gives the same event (issues aside: their values are
        // kept only in the issue).
        let again =
            completed(Event::from_slice(&serde_json::to_vec(&normalized).unwrap()).unwrap());
        assert_eq!(again.transcript.get(), completed(event).transcript.get());
    }

    #[test]
    fn it_can_be_changed_built_and_taken() {
        let mut data = completed(Event::from_slice(BODY.as_bytes()).unwrap());
        data.transcript.get_mut().push(TranscriptSegment::default());
        assert_eq!(data.transcript.raw_json(), None);
        assert_eq!(data.transcript.len(), 2);
        let built: Lazy<Vec<TranscriptSegment>> = vec![TranscriptSegment::default()].into();
        assert!(built.is_read() && built.issues().is_empty());
        assert_eq!(built.into_inner().len(), 1);
        let taken = completed(Event::from_slice(BODY.as_bytes()).unwrap());
        assert_eq!(taken.transcript.into_inner().len(), 1);
    }

    #[test]
    fn absent_empty_and_other_shapes_read_as_the_eager_reading_does() {
        for (transcript, issues) in [
            ("null", &[][..]),
            ("[]", &[]),
            (" [ ] ", &[]),
            ("[null]", &[]),
            ("[7]", &["data.transcript[0]"]),
            ("5", &["data.transcript"]),
            ("\"x\"", &["data.transcript"]),
            ("{}", &["data.transcript"]),
        ] {
            let body = format!(
                r#"{{"event":"complete","data":{{"transcript":{transcript}}},"transcript":[{{"text":"top"}}]}}"#
            );
            let event = Event::from_slice(body.as_bytes()).unwrap();
            let all = event.all_issues();
            let paths: Vec<_> = all.iter().map(|i| &*i.path).collect();
            assert_eq!(paths, issues, "{transcript}");
            let eager: Event =
                serde_json::from_value(serde_json::from_str(&body).unwrap()).unwrap();
            assert_eq!(event, eager, "{transcript}");
            // Reads as empty in `data`: the top-level field (a flat v1 body's) fills it.
            let data = completed(event);
            assert_eq!(
                data.transcript[0].text.as_deref(),
                Some("top"),
                "{transcript}"
            );
        }
        // A repeated key: the first is kept, the copy's issues recorded, as for every field.
        let body = r#"{"event":"complete","data":{"transcript":[{"text":"a"}],"transcript":[{"text":1}]}}"#;
        let event = Event::from_slice(body.as_bytes()).unwrap();
        assert_eq!(event.issues()[0].path, "data.transcript[0].text");
        assert_eq!(completed(event).transcript[0].text.as_deref(), Some("a"));
    }

    #[test]
    fn normalizing_twice_gives_the_same_bytes() {
        for body in [
            BODY,
            r#"{"event":"complete","data":{"bot_id":"b","transcript":[null,7]}}"#,
        ] {
            let once = serde_json::to_vec(&Event::from_slice(body.as_bytes()).unwrap()).unwrap();
            let twice = serde_json::to_vec(&Event::from_slice(&once).unwrap()).unwrap();
            // `issues` aside (their values are kept only in the first).
            let strip = |bytes: &[u8]| {
                let mut value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                value.as_object_mut().unwrap().remove("issues");
                value
            };
            assert_eq!(strip(&once), strip(&twice), "{body}");
        }
    }

    #[test]
    fn another_deserializer_reads_it_at_once() {
        let event: Event = serde_json::from_value(serde_json::from_str(BODY).unwrap()).unwrap();
        let data = completed(event.clone());
        assert!(data.transcript.raw_json().is_none());
        assert_eq!(event.issues().len(), 3, "found while reading");
        assert_eq!(event.all_issues().len(), 3, "and not twice");
        assert_eq!(event, Event::from_slice(BODY.as_bytes()).unwrap());
    }

    #[test]
    fn a_number_out_of_range_inside_is_an_issue_not_a_refusal() {
        // Valid JSON syntax, but no `f64` holds it: the scan keeps it, the reading reports it.
        let body = r#"{"event":"complete","data":{"bot_id":"b","transcript":[{"offset":1e400}]}}"#;
        let data = completed(Event::from_slice(body.as_bytes()).unwrap());
        assert_eq!(data.bot_id.as_deref(), Some("b"));
        assert!(data.transcript.is_empty());
        let issues = data.transcript.issues();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "data.transcript");
        assert_eq!(issues[0].expected, UNREADABLE);
        assert_eq!(issues[0].found, serde_json::Value::Null);
        assert_eq!(
            data.transcript.raw_json(),
            Some(&br#"[{"offset":1e400}]"#[..])
        );
    }

    #[test]
    fn events_stay_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Event>();
        check::<Lazy<Vec<TranscriptSegment>>>();
    }
}

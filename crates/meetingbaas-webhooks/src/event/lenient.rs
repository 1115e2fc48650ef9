//! Total, field-by-field reading of payloads.
//!
//! A verified delivery must never be refused for its shape (a 4xx makes the sender retry for hours
//! and then give up; a v2 callback is never retried on 4xx at all). So every payload struct is
//! read by hand, without buffering: each field accepts exactly the JSON types it documents, and a
//! value of any other type reads as absent and is recorded as a [`ParseIssue`] (its JSON path,
//! what was expected, and the value itself, kept). Fields the struct does not know are kept in
//! its [`UnknownFields`]. Only a syntax error stops the reading.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// Something in a verified payload that did not fit its typed field: the field reads as absent,
/// and the value is kept here.
///
/// Issues are visible on the event ([`Event::issues`](super::Event::issues)) and logged once at
/// warn level by [`VerifiedDelivery::parse_event`](crate::VerifiedDelivery::parse_event) (with
/// the `tracing` feature; the path and the expected type only, never the value). Those inside a
/// [`Lazy`](super::Lazy) field (the inline transcript) are found, kept and logged when it is
/// first read ([`Event::all_issues`](super::Event::all_issues) gives every one).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParseIssue {
    /// Where, as a JSON path from the body's root using the typed field names, such as
    /// `data.status.code` or `data.transcript[3].words[0].start` (empty: the body itself).
    pub path: String,
    /// What the typed field accepts, such as `a string`.
    pub expected: &'static str,
    /// The value that was there, as sent.
    pub found: Value,
}

impl ParseIssue {
    /// The JSON type of the value found: `null`, `a boolean`, `a number`, `a string`, `an array`
    /// or `an object`.
    pub fn found_type(&self) -> &'static str {
        match self.found {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl fmt::Display for ParseIssue {
    /// `data.bot_id: expected a string, found a number` (never the value itself).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(body)"
        } else {
            &self.path
        };
        write!(
            f,
            "{path}: expected {}, found {}",
            self.expected,
            self.found_type()
        )
    }
}

impl Serialize for ParseIssue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("path", &self.path)?;
        map.serialize_entry("expected", self.expected)?;
        map.serialize_entry("found", &self.found)?;
        map.end()
    }
}

/// Fields a payload carried that this version has no typed field for, kept as sent: reachable by
/// name ([`get`](Self::get)) and iterable ([`iter`](Self::iter)), in key order.
///
/// One pointer wide while empty (the usual case), so that long transcripts stay compact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnknownFields(Option<Box<Map<String, Value>>>);

impl UnknownFields {
    /// The value of the field `name`, if it was sent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.as_ref().and_then(|map| map.get(name))
    }

    /// Whether the field `name` was sent.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every unknown field, `(name, value)`, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0
            .iter()
            .flat_map(|map| map.iter())
            .map(|(name, value)| (name.as_str(), value))
    }

    /// How many unknown fields were sent.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |map| map.len())
    }

    /// Whether every field sent had a typed field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the fields as a JSON map.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map(|map| *map).unwrap_or_default()
    }

    /// Keeps a field; the first value of a repeated name wins.
    pub(crate) fn keep(&mut self, name: String, value: Value) {
        self.0
            .get_or_insert_with(Default::default)
            .entry(name)
            .or_insert(value);
    }
}

impl Serialize for UnknownFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// One step of a JSON path.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seg {
    /// The body itself (renders as nothing).
    Root,
    /// An object key.
    Key(&'static str),
    /// An array index.
    Index(usize),
}

/// What the fields being read come from, for [`Lazy`](super::Lazy) fields to keep their JSON.
#[derive(Clone, Debug, Default)]
pub(crate) enum Source {
    /// Another deserializer (a `Value`, another format): lazy fields are read at once.
    #[default]
    Other,
    /// serde_json reading a borrowed slice: a lazy field's JSON is borrowed, then copied.
    Slice,
    /// serde_json reading this body: a lazy field's JSON is a range of it (no copy).
    Body(bytes::Bytes),
}

/// What a reading collects besides the value: where it is, and what did not fit.
#[derive(Debug, Default)]
pub struct Ctx {
    path: Vec<Seg>,
    issues: Vec<ParseIssue>,
    source: Source,
}

impl Ctx {
    /// A reading of what serde_json reads from `source`.
    pub(crate) fn reading(source: Source) -> Ctx {
        Ctx {
            source,
            ..Ctx::default()
        }
    }

    /// A reading of a slice found under `parents` (a lazy field's JSON).
    pub(crate) fn at(parents: &[Seg]) -> Ctx {
        Ctx {
            path: parents.to_vec(),
            issues: Vec::new(),
            source: Source::Slice,
        }
    }

    /// What the fields are read from.
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    /// From now on, reads come from another deserializer (values read from the body before).
    pub(crate) fn reading_other(&mut self) {
        self.source = Source::Other;
    }

    /// The path to `at`, from the root.
    pub(crate) fn path_to(&self, at: Seg) -> Box<[Seg]> {
        self.path
            .iter()
            .copied()
            .chain(core::iter::once(at))
            .collect()
    }

    pub(crate) fn issue(&mut self, at: Seg, expected: &'static str, found: Value) {
        use core::fmt::Write as _;
        let mut path = String::new();
        for seg in self.path.iter().chain(core::iter::once(&at)) {
            match seg {
                Seg::Root => {}
                Seg::Key(key) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Seg::Index(index) => {
                    let _ = write!(path, "[{index}]");
                }
            }
        }
        self.issues.push(ParseIssue {
            path,
            expected,
            found,
        });
    }

    pub(crate) fn take_issues(&mut self) -> Vec<ParseIssue> {
        core::mem::take(&mut self.issues)
    }

    fn enter(&mut self, at: Seg) {
        self.path.push(at);
    }

    fn leave(&mut self) {
        self.path.pop();
    }
}

/// A type read leniently: the JSON shapes it accepts; anything else is an issue.
///
/// Every hook defaults to "not accepted". `from_map` / `from_seq` return `Ok(Err(value))` for a
/// shape they do not accept, having consumed it into `value`.
pub trait Shape: Sized {
    /// What it accepts, for [`ParseIssue::expected`].
    const EXPECTED: &'static str;

    fn from_str(_value: &str) -> Option<Self> {
        None
    }
    fn from_bool(_value: bool) -> Option<Self> {
        None
    }
    fn from_i64(_value: i64) -> Option<Self> {
        None
    }
    fn from_u64(_value: u64) -> Option<Self> {
        None
    }
    fn from_f64(_value: f64) -> Option<Self> {
        None
    }
    fn from_map<'de, A: MapAccess<'de>>(
        map: A,
        _ctx: &mut Ctx,
    ) -> Result<Result<Self, Value>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Err)
    }
    fn from_seq<'de, A: SeqAccess<'de>>(
        seq: A,
        _ctx: &mut Ctx,
    ) -> Result<Result<Self, Value>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Err)
    }
}

/// Reads a `T` at `at`: `None` for `null` and for a value of another shape (recorded as an issue).
/// Fails only on a syntax error.
pub(crate) fn read<'de, T: Shape, D: Deserializer<'de>>(
    deserializer: D,
    ctx: &mut Ctx,
    at: Seg,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_any(ShapeVisitor::<T> {
        ctx,
        at,
        _shape: PhantomData,
    })
}

/// [`read`] as a seed, for map values and sequence elements.
pub(crate) struct Field<'c, T> {
    pub(crate) ctx: &'c mut Ctx,
    pub(crate) at: Seg,
    _shape: PhantomData<T>,
}

impl<'c, T> Field<'c, T> {
    pub(crate) fn new(ctx: &'c mut Ctx, at: Seg) -> Self {
        Field {
            ctx,
            at,
            _shape: PhantomData,
        }
    }
}

impl<'de, T: Shape> DeserializeSeed<'de> for Field<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        read(deserializer, self.ctx, self.at)
    }
}

struct ShapeVisitor<'c, T> {
    ctx: &'c mut Ctx,
    at: Seg,
    _shape: PhantomData<T>,
}

impl<T: Shape> ShapeVisitor<'_, T> {
    fn accept<E>(self, value: Option<T>, found: impl FnOnce() -> Value) -> Result<Option<T>, E> {
        if value.is_none() {
            self.ctx.issue(self.at, T::EXPECTED, found());
        }
        Ok(value)
    }

    fn accept_nested<E>(self, value: Result<T, Value>) -> Result<Option<T>, E> {
        match value {
            Ok(value) => Ok(Some(value)),
            Err(found) => {
                self.ctx.issue(self.at, T::EXPECTED, found);
                Ok(None)
            }
        }
    }
}

impl<'de, T: Shape> Visitor<'de> for ShapeVisitor<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<T>, E> {
        self.accept(T::from_bool(v), || Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<T>, E> {
        self.accept(T::from_i64(v), || Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
        self.accept(T::from_u64(v), || Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<T>, E> {
        self.accept(T::from_f64(v), || Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        self.accept(T::from_str(v), || Value::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Option<T>, E> {
        match T::from_str(&v) {
            Some(value) => Ok(Some(value)),
            None => self.accept(None, || Value::String(v)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        read(deserializer, self.ctx, self.at)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        read(deserializer, self.ctx, self.at)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
        self.ctx.enter(self.at);
        let value = T::from_map(map, self.ctx);
        self.ctx.leave();
        self.accept_nested(value?)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<T>, A::Error> {
        self.ctx.enter(self.at);
        let value = T::from_seq(seq, self.ctx);
        self.ctx.leave();
        self.accept_nested(value?)
    }
}

impl Shape for String {
    const EXPECTED: &'static str = "a string";
    fn from_str(value: &str) -> Option<Self> {
        Some(value.into())
    }
}

impl Shape for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_bool(value: bool) -> Option<Self> {
        Some(value)
    }
}

/// An integral float within range (`3.0`) is the integer it spells.
fn integral(value: f64) -> Option<i128> {
    // (`f64::fract` needs std: a round trip through the integer says the same, in `no_std`.)
    if !(value.is_finite() && value > -9.0e18 && value < 9.0e18) {
        return None;
    }
    let integer = value as i128;
    #[allow(clippy::float_cmp)] // exact by design: the float must spell an integer
    let exact = integer as f64 == value;
    exact.then_some(integer)
}

macro_rules! integer_shape {
    ($($ty:ty => $expected:literal),*) => {$(
        impl Shape for $ty {
            const EXPECTED: &'static str = $expected;
            fn from_i64(value: i64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
            fn from_u64(value: u64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
            fn from_f64(value: f64) -> Option<Self> {
                integral(value).and_then(|value| <$ty>::try_from(value).ok())
            }
        }
    )*};
}

integer_shape!(
    i64 => "an integer",
    u64 => "a non-negative integer",
    u32 => "a non-negative 32-bit integer"
);

impl Shape for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_i64(value: i64) -> Option<Self> {
        Some(value as f64)
    }
    fn from_u64(value: u64) -> Option<Self> {
        Some(value as f64)
    }
    fn from_f64(value: f64) -> Option<Self> {
        Some(value)
    }
}

/// Any JSON value but `null`.
impl Shape for Value {
    const EXPECTED: &'static str = "any JSON value";
    fn from_str(value: &str) -> Option<Self> {
        Some(Value::from(value))
    }
    fn from_bool(value: bool) -> Option<Self> {
        Some(Value::Bool(value))
    }
    fn from_i64(value: i64) -> Option<Self> {
        Some(Value::from(value))
    }
    fn from_u64(value: u64) -> Option<Self> {
        Some(Value::from(value))
    }
    fn from_f64(value: f64) -> Option<Self> {
        Some(Value::from(value))
    }
    fn from_map<'de, A: MapAccess<'de>>(
        map: A,
        _ctx: &mut Ctx,
    ) -> Result<Result<Self, Value>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Ok)
    }
    fn from_seq<'de, A: SeqAccess<'de>>(
        seq: A,
        _ctx: &mut Ctx,
    ) -> Result<Result<Self, Value>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Ok)
    }
}

/// A list: elements of another shape (or `null`) are left out, each a recorded issue.
impl<T: Shape> Shape for Vec<T> {
    const EXPECTED: &'static str = "an array";
    fn from_seq<'de, A: SeqAccess<'de>>(
        mut seq: A,
        ctx: &mut Ctx,
    ) -> Result<Result<Self, Value>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        let mut index = 0;
        while let Some(item) = seq.next_element_seed(Field::<T>::new(ctx, Seg::Index(index)))? {
            if let Some(item) = item {
                out.push(item);
            }
            index += 1;
        }
        Ok(Ok(out))
    }
}

/// A typed field of a payload struct: `Option<T>` or `Vec<T>`.
pub(crate) trait Slot {
    /// What is read from the wire for it.
    type Item: Shape;
    /// Stores a read value, unless the field already has one (the first value sent wins, so
    /// `event_id` and its alias `event_uuid` never overwrite each other).
    fn put(&mut self, value: Option<Self::Item>);
    /// Whether the field is absent (or an empty list).
    fn is_absent(&self) -> bool;
    /// Reads the next map value into the field.
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        ctx: &mut Ctx,
        at: Seg,
    ) -> Result<(), A::Error> {
        let value = map.next_value_seed(Field::<Self::Item>::new(ctx, at))?;
        self.put(value);
        Ok(())
    }
    /// Appends the issues of a [`Lazy`](super::Lazy) field (read now if needed) to `out`;
    /// those of other fields were recorded when they were read.
    fn collect_issues(&self, _out: &mut Vec<ParseIssue>) {}
    /// Takes `other` when absent.
    fn fill(&mut self, other: Self)
    where
        Self: Sized,
    {
        if self.is_absent() {
            *self = other;
        }
    }
}

impl<T: Shape> Slot for Option<T> {
    type Item = T;
    fn put(&mut self, value: Option<T>) {
        if self.is_none() {
            *self = value;
        }
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T: Shape> Slot for Vec<T> {
    type Item = Vec<T>;
    fn put(&mut self, value: Option<Vec<T>>) {
        if let Some(value) = value
            && self.is_empty()
        {
            *self = value;
        }
    }
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

/// A value read from a string, with that string as sent: for a field whose spelling varies
/// between senders (a failure code: `CannotJoinMeeting`, `CANNOT_JOIN_MEETING`). Accepts what
/// `T` accepts from a string, and nothing else.
pub(crate) struct Sent<T>(pub(crate) T, pub(crate) String);

impl<T: Shape> Shape for Sent<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_str(value: &str) -> Option<Self> {
        T::from_str(value).map(|typed| Sent(typed, value.into()))
    }
}

/// Reads one field of a [`lenient_struct`] into its slot; with `=> sent`, also keeps the string
/// as sent in the private field `sent` (both are set together, the first value sent wins).
macro_rules! read_field {
    ($out:ident, $ctx:ident, $map:ident, $field:ident : $ty:ty = $wire:literal) => {{
        use $crate::event::lenient::{Seg, Slot};
        Slot::read_value(&mut $out.$field, &mut $map, &mut *$ctx, Seg::Key($wire))?;
    }};
    ($out:ident, $ctx:ident, $map:ident, $field:ident : $ty:ty = $wire:literal => $sent:ident) => {{
        use $crate::event::lenient::{Field, Seg, Sent, Slot};
        let at = Seg::Key($wire);
        let value =
            $map.next_value_seed(Field::<Sent<<$ty as Slot>::Item>>::new(&mut *$ctx, at))?;
        if let Some(Sent(value, sent)) = value
            && Slot::is_absent(&$out.$field)
        {
            Slot::put(&mut $out.$field, Some(value));
            $out.$sent = Some(sent);
        }
    }};
}
pub(crate) use read_field;

/// An object key, borrowed from the body where it has no escapes.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    pub(crate) fn into_string(self) -> String {
        match self {
            Key::Borrowed(key) => key.into(),
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.into()))
            }
            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Declares a lenient payload struct from its fields and their wire names (the first is the
/// canonical one, the others aliases read into the same field): the struct (with `unknown`, and
/// `issues` when marked `[issues]`), its [`Shape`], `Serialize` (canonical names, then the
/// unknown fields; `extra` is left to the event), `Deserialize` and `fill_missing`.
///
/// A field written `field: Option<T> = "wire" => field_sent` (with `T` read from a string) also
/// keeps the string as sent in a private `field_sent: Option<String>`, for an accessor to offer;
/// it is not serialized (the normalized form carries the typed value).
macro_rules! lenient_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $([$issues:ident])? {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $wire:literal $(| $alias:literal)* $(=> $sent:ident)? ,
            )*
        }
        $( from_str = $from_str:path; )?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])* pub $field: $ty,
                $(
                    #[doc = concat!("`", stringify!($field), "` as spelled in the delivery.")]
                    $sent: Option<alloc::string::String>,
                )?
            )*
            /// Fields this version has no typed field for, kept as sent.
            pub unknown: $crate::event::UnknownFields,
            $(
                /// What did not fit its typed field, anywhere in this payload but inside
                /// [`Lazy`](crate::event::Lazy) fields, which keep their own (see
                /// [`ParseIssue`](crate::event::ParseIssue)); empty when everything fit.
                pub $issues: alloc::vec::Vec<$crate::event::ParseIssue>,
            )?
        }

        impl PartialEq for $name {
            /// Field by field; issues compared whether found while parsing or inside a
            /// [`Lazy`](crate::event::Lazy) field read later (in path order).
            fn eq(&self, other: &Self) -> bool {
                true $(
                    && self.$field == other.$field
                    $( && self.$sent == other.$sent )?
                )*
                && self.unknown == other.unknown
                $( && $crate::event::lenient::same_issues(
                    &self.$issues,
                    || { let mut out = alloc::vec::Vec::new(); self.collect_lazy_issues(&mut out); out },
                    &other.$issues,
                    || { let mut out = alloc::vec::Vec::new(); other.collect_lazy_issues(&mut out); out },
                ) )?
            }
        }

        impl $crate::event::lenient::Shape for $name {
            const EXPECTED: &'static str = "an object";

            $(
                fn from_str(value: &str) -> Option<Self> {
                    Some($from_str(value))
                }
            )?

            fn from_map<'de, A: serde::de::MapAccess<'de>>(
                mut map: A,
                ctx: &mut $crate::event::lenient::Ctx,
            ) -> Result<Result<Self, serde_json::Value>, A::Error> {
                use $crate::event::lenient::Key;
                let mut out = $name::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        $(
                            $wire $(| $alias)* => $crate::event::lenient::read_field!(
                                out, ctx, map, $field : $ty = $wire $(=> $sent)?
                            ),
                        )*
                        _ => {
                            let value: serde_json::Value = map.next_value()?;
                            out.unknown.keep(key.into_string(), value);
                        }
                    }
                }
                Ok(Ok(out))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                use $crate::event::lenient::Slot;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if $wire != "extra" && !Slot::is_absent(&self.$field) {
                        map.serialize_entry($wire, &self.$field)?;
                    }
                )*
                for (name, value) in self.unknown.iter() {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// Reads leniently (see the module docs of [`event`](crate::event)): never fails
            /// but on a syntax error.
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut ctx = $crate::event::lenient::Ctx::default();
                #[allow(unused_mut)]
                let mut out = $crate::event::lenient::read::<$name, D>(
                    deserializer,
                    &mut ctx,
                    $crate::event::lenient::Seg::Root,
                )?
                .unwrap_or_default();
                $( out.$issues = ctx.take_issues(); )?
                Ok(out)
            }
        }

        impl $name {
            /// Takes every field `other` has and `self` lacks (flat v1 bodies: top-level fields
            /// fill the missing `data` fields).
            #[allow(dead_code)]
            pub(crate) fn fill_missing(&mut self, other: Self) {
                use $crate::event::lenient::Slot;
                $(
                    $(
                        if Slot::is_absent(&self.$field) {
                            self.$sent = other.$sent;
                        }
                    )?
                    Slot::fill(&mut self.$field, other.$field);
                )*
                for (name, value) in other.unknown.into_map() {
                    self.unknown.keep(name, value);
                }
            }

            /// Appends the issues inside its [`Lazy`](crate::event::Lazy) fields (reading them
            /// now if needed) to `out`.
            #[allow(dead_code)]
            pub(crate) fn collect_lazy_issues(
                &self,
                out: &mut alloc::vec::Vec<$crate::event::ParseIssue>,
            ) {
                use $crate::event::lenient::Slot;
                $( Slot::collect_issues(&self.$field, out); )*
            }
        }
    };
}
pub(crate) use lenient_struct;

/// Whether two payloads' issues are the same: those found while parsing, then those inside lazy
/// fields, in path order (a lazy field's issues come last once read, where parsing it at once
/// gives them in place).
pub(crate) fn same_issues(
    a: &[ParseIssue],
    a_lazy: impl FnOnce() -> Vec<ParseIssue>,
    b: &[ParseIssue],
    b_lazy: impl FnOnce() -> Vec<ParseIssue>,
) -> bool {
    let (a_lazy, b_lazy) = (a_lazy(), b_lazy());
    // Always in path order, so that the comparison stays transitive.
    let sorted = |eager: &[ParseIssue], lazy: Vec<ParseIssue>| {
        let mut all: Vec<ParseIssue> = eager.iter().cloned().chain(lazy).collect();
        all.sort_by(|x, y| x.path.cmp(&y.path));
        all
    };
    sorted(a, a_lazy) == sorted(b, b_lazy)
}

/// What every top-level payload offers the [`Event`](super::Event) helpers.
pub(crate) trait Payload {
    fn bot_id(&self) -> Option<&str> {
        None
    }
    fn event_id(&self) -> Option<&str> {
        None
    }
    fn extra(&self) -> Option<&Value> {
        None
    }
    fn extra_slot(&mut self) -> Option<&mut Option<Value>> {
        None
    }
    fn issues(&self) -> &[ParseIssue];
    /// `issues`, then those inside lazy fields (read now if needed).
    fn all_issues(&self) -> Vec<ParseIssue>;
    fn issues_mut(&mut self) -> &mut Vec<ParseIssue>;
    fn unknown(&self) -> &UnknownFields;
    fn unknown_mut(&mut self) -> &mut UnknownFields;
}

/// Implements [`Payload`] for top-level payload structs, with the accessors each has.
macro_rules! payload {
    ($( $ty:ty { $($has:ident),* } )*) => {$(
        impl crate::event::lenient::Payload for $ty {
            fn issues(&self) -> &[crate::event::ParseIssue] {
                &self.issues
            }
            fn all_issues(&self) -> alloc::vec::Vec<crate::event::ParseIssue> {
                let mut out = self.issues.clone();
                self.collect_lazy_issues(&mut out);
                out
            }
            fn issues_mut(&mut self) -> &mut alloc::vec::Vec<crate::event::ParseIssue> {
                &mut self.issues
            }
            fn unknown(&self) -> &crate::event::UnknownFields {
                &self.unknown
            }
            fn unknown_mut(&mut self) -> &mut crate::event::UnknownFields {
                &mut self.unknown
            }
            $( crate::event::lenient::payload!(@ $has); )*
        }
    )*};
    (@ bot_id) => {
        fn bot_id(&self) -> Option<&str> {
            self.bot_id.as_deref()
        }
    };
    (@ event_id) => {
        fn event_id(&self) -> Option<&str> {
            self.event_id.as_deref()
        }
    };
    (@ extra) => {
        fn extra(&self) -> Option<&serde_json::Value> {
            self.extra.as_ref()
        }
        fn extra_slot(&mut self) -> Option<&mut Option<serde_json::Value>> {
            Some(&mut self.extra)
        }
    };
}
pub(crate) use payload;

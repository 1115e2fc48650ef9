//! Small deserialisation helpers that keep payload structs lenient.

use serde::{Deserialize, Deserializer};

/// A missing field and an explicit `null` both read as the type's default (an empty list).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What every payload struct offers the [`Event`](super::Event) helpers.
pub(crate) trait Payload {
    fn bot_id(&self) -> Option<&str>;
    fn extra(&self) -> Option<&serde_json::Value>;
    fn extra_mut(&mut self) -> &mut Option<serde_json::Value>;
}

/// Implements [`Payload`] for structs with `bot_id: Option<String>` and `extra: Option<Value>`.
macro_rules! payload {
    ($($ty:ty),* $(,)?) => {$(
        impl crate::event::lenient::Payload for $ty {
            fn bot_id(&self) -> Option<&str> {
                self.bot_id.as_deref()
            }
            fn extra(&self) -> Option<&serde_json::Value> {
                self.extra.as_ref()
            }
            fn extra_mut(&mut self) -> &mut Option<serde_json::Value> {
                &mut self.extra
            }
        }
    )*};
}
pub(crate) use payload;

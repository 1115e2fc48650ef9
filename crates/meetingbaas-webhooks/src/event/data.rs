//! [`EventData`]: the payload types, each with the kinds of event that carry it.

use alloc::boxed::Box;

use super::{
    Alert, BotCompleted, BotFailed, BotStatusChange, CalendarConnection, CalendarEventChange,
    CalendarSynced, ChatMessage, Event, EventKind, Transcription, UnknownEvent,
};

/// A payload type and the kinds of event that carry it: what a typed handler is registered for.
///
/// Several kinds share a payload (`TranscriptionAvailable` and `TranscriptionUpdated` both carry
/// a [`Transcription`]; the three calendar event changes a [`CalendarEventChange`]; the four
/// connection changes a [`CalendarConnection`]): a handler for the type handles them all, and
/// [`Event::kind`] (or the worker's `Job::kind`) tells them apart.
///
/// ```
/// use meetingbaas_webhooks::event::{BotCompleted, EventData, Transcription};
/// use meetingbaas_webhooks::{Event, EventKind};
///
/// let event = Event::from_slice(br#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#)?;
/// assert_eq!(BotCompleted::KINDS, &[EventKind::BotCompleted]);
/// let data = BotCompleted::from_event(event).expect("a bot.completed carries a BotCompleted");
/// assert_eq!(data.bot_id.as_deref(), Some("b-1"));
///
/// let event = Event::from_slice(br#"{"event":"bot.failed","data":{}}"#)?;
/// assert!(Transcription::from_event(event).is_err(), "the event is given back");
/// # Ok::<(), meetingbaas_webhooks::ParseError>(())
/// ```
pub trait EventData: Sized + Send + Sync + 'static {
    /// The kinds whose events carry this payload.
    const KINDS: &'static [EventKind];

    /// The payload of `event`, or the event back when it carries another type.
    fn from_event(event: Event) -> Result<Box<Self>, Event>;

    /// The payload of `event`, when it carries this type.
    fn from_event_ref(event: &Event) -> Option<&Self>;
}

/// Implements [`EventData`] for a payload carried by the listed variants.
macro_rules! event_data {
    ($( $payload:ty => [$($variant:ident),+], )*) => {
        $(
            impl EventData for $payload {
                const KINDS: &'static [EventKind] = &[$(EventKind::$variant),+];

                fn from_event(event: Event) -> Result<Box<Self>, Event> {
                    match event {
                        $( Event::$variant { data, .. } => Ok(data), )+
                        other => Err(other),
                    }
                }

                fn from_event_ref(event: &Event) -> Option<&Self> {
                    match event {
                        $( Event::$variant { data, .. } => Some(data), )+
                        _ => None,
                    }
                }
            }
        )*
    };
}

event_data! {
    BotStatusChange => [BotStatusChange],
    BotCompleted => [BotCompleted],
    BotFailed => [BotFailed],
    Transcription => [TranscriptionAvailable, TranscriptionUpdated],
    ChatMessage => [ChatMessage],
    CalendarSynced => [CalendarSynced],
    CalendarEventChange => [CalendarEventCreated, CalendarEventUpdated, CalendarEventCancelled],
    CalendarConnection => [
        CalendarConnectionCreated,
        CalendarConnectionUpdated,
        CalendarConnectionDeleted,
        CalendarConnectionError
    ],
}

impl EventData for Alert {
    const KINDS: &'static [EventKind] = &[EventKind::Alert];

    fn from_event(event: Event) -> Result<Box<Self>, Event> {
        match event {
            Event::Alert(alert) => Ok(alert),
            other => Err(other),
        }
    }

    fn from_event_ref(event: &Event) -> Option<&Self> {
        match event {
            Event::Alert(alert) => Some(alert),
            _ => None,
        }
    }
}

impl EventData for UnknownEvent {
    const KINDS: &'static [EventKind] = &[EventKind::Unknown];

    fn from_event(event: Event) -> Result<Box<Self>, Event> {
        match event {
            Event::Unknown(unknown) => Ok(unknown),
            other => Err(other),
        }
    }

    fn from_event_ref(event: &Event) -> Option<&Self> {
        match event {
            Event::Unknown(unknown) => Some(unknown),
            _ => None,
        }
    }
}

impl EventData for Event {
    /// Every kind: the whole event, whatever it carries.
    const KINDS: &'static [EventKind] = EventKind::ALL;

    fn from_event(event: Event) -> Result<Box<Self>, Event> {
        Ok(Box::new(event))
    }

    fn from_event_ref(event: &Event) -> Option<&Self> {
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind but `Unknown`'s is carried by exactly one payload type, and the listed kinds
    /// are the ones whose events convert.
    #[test]
    fn each_kind_has_one_payload_type_and_converts_to_it() {
        fn kinds<D: EventData>() -> &'static [EventKind] {
            D::KINDS
        }
        let lists = [
            kinds::<BotStatusChange>(),
            kinds::<BotCompleted>(),
            kinds::<BotFailed>(),
            kinds::<Transcription>(),
            kinds::<ChatMessage>(),
            kinds::<CalendarSynced>(),
            kinds::<CalendarEventChange>(),
            kinds::<CalendarConnection>(),
            kinds::<Alert>(),
            kinds::<UnknownEvent>(),
        ];
        let mut all: alloc::vec::Vec<EventKind> =
            lists.iter().flat_map(|l| l.iter()).copied().collect();
        all.sort();
        let mut expected = EventKind::ALL.to_vec();
        expected.sort();
        assert_eq!(all, expected);

        for name in super::super::EventName::ALL {
            let body = alloc::format!(r#"{{"event":"{}","data":{{"bot_id":"b"}}}}"#, name.as_str());
            let event = Event::from_slice(body.as_bytes()).unwrap();
            let kind = event.kind();
            let carried = BotCompleted::from_event_ref(&event).is_some();
            assert_eq!(carried, BotCompleted::KINDS.contains(&kind), "{name:?}");
            let carried = Transcription::from_event(event.clone()).is_ok();
            assert_eq!(carried, Transcription::KINDS.contains(&kind), "{name:?}");
            let carried = CalendarConnection::from_event(event).is_ok();
            assert_eq!(
                carried,
                CalendarConnection::KINDS.contains(&kind),
                "{name:?}"
            );
        }
    }
}

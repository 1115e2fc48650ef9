//! Admitting a received body: verify, parse, filter by kind, claim. The order lives here only.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use serde::de::{DeserializeOwned, IgnoredAny};

use super::Pipeline;
use super::answer::{Answer, Outcome};
use super::budget::Reservation;
use super::inbox::{EnqueueFuture, Enqueued, EventLabel, Inbox, queued_body};
use crate::delivery::VerifiedDelivery;
use crate::error::{Error, ParseError, Unavailable};
use crate::event::{Event, EventName};
use crate::idempotency::{Begin, BeginFuture, ClaimGuard, FinishFuture};

/// A delivery admitted to the handler: verified, parsed as asked, of a wanted kind, and claimed
/// when deduplication is on.
///
/// Run the handler, then [`Completion::finish`] with its status (from
/// [`into_parts`](Self::into_parts)): a 2xx completes the claim, anything else releases it.
/// Dropped unfinished (an error, a panic, a dropped request), the claim is released, so the
/// sender's retry is processed.
pub struct Ticket<T> {
    delivery: VerifiedDelivery,
    event: Option<Event>,
    value: T,
    completion: Completion,
}

impl<T> Ticket<T> {
    /// The verified delivery: raw body, scheme, message id, idempotency key.
    pub fn delivery(&self) -> &VerifiedDelivery {
        &self.delivery
    }

    /// The parsed [`Event`], when the pipeline parsed one (`parse_events`, `only`) and `T` is not
    /// `Event` itself (then it is the [`value`](Self::value)).
    pub fn event(&self) -> Option<&Event> {
        self.event.as_ref()
    }

    /// The body read as `T`.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The delivery, the event (see [`event`](Self::event)), the value, and the completion to
    /// finish once the handler has answered.
    pub fn into_parts(self) -> (VerifiedDelivery, Option<Event>, T, Completion) {
        (self.delivery, self.event, self.value, self.completion)
    }
}

impl<T> fmt::Debug for Ticket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("delivery", &self.delivery)
            .field("event", &self.event.as_ref().map(Event::name))
            .field("claimed", &self.completion.claim.is_some())
            .finish_non_exhaustive()
    }
}

/// What remains to do once the handler has answered: finish the claim (deduplication), give the
/// body's memory back to the budget, record the outcome.
pub struct Completion {
    claim: Option<ClaimGuard>,
    _reservation: Reservation,
}

impl Completion {
    /// Finishes with the handler's HTTP `status`: a 2xx completes the claim (a copy sent later is
    /// a duplicate), anything else releases it (the sender's retry is processed). Await it before
    /// answering, so that a copy sent after the answer is seen.
    pub fn finish(self, status: u16) -> Finish {
        let Completion {
            claim,
            _reservation,
        } = self;
        let success = (200..300).contains(&status);
        Finish {
            claim: claim.map(|claim| claim.finish(success)),
            status,
        }
    }

    /// Whether a deduplication claim is held.
    pub fn is_claimed(&self) -> bool {
        self.claim.is_some()
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("claimed", &self.claim.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`Completion::finish`]: resolves to [`Outcome::Handled`] once the claim is
/// finished (at once without deduplication).
#[must_use = "futures do nothing unless polled"]
pub struct Finish {
    claim: Option<FinishFuture>,
    status: u16,
}

impl Future for Finish {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        if let Some(claim) = self.claim.as_mut() {
            ready!(claim.as_mut().poll(cx));
            self.claim = None;
        }
        Poll::Ready(Outcome::Handled {
            status: self.status,
        })
    }
}

impl fmt::Debug for Finish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finish")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The future of [`Pipeline::admit`](super::Pipeline::admit): ready at once unless a claim must
/// be taken from the idempotency store.
#[must_use = "futures do nothing unless polled"]
pub struct Admit<T> {
    state: AdmitState<T>,
}

enum AdmitState<T> {
    Ready(Result<Ticket<T>, Answer>),
    Claiming {
        claim: BeginFuture,
        ticket: Ticket<T>,
        pipeline: Pipeline,
    },
    // Inbox: the answer is the store's; the body's memory is given back once it is stored.
    Enqueuing {
        enqueue: EnqueueFuture,
        _reservation: Reservation,
        pipeline: Pipeline,
    },
    Done,
}

// `T` is only moved, never pinned.
impl<T> Unpin for Admit<T> {}

impl<T> Future for Admit<T> {
    type Output = Result<Ticket<T>, Answer>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let AdmitState::Enqueuing { enqueue, .. } = &mut self.state {
            let enqueued = ready!(enqueue.as_mut().poll(cx));
            let AdmitState::Enqueuing { pipeline, .. } =
                std::mem::replace(&mut self.state, AdmitState::Done)
            else {
                unreachable!("the state was `Enqueuing` a moment ago")
            };
            return Poll::Ready(Err(match enqueued {
                Ok(Enqueued::Stored { id }) => pipeline.answer(Answer::queued(queued_body(&id))),
                Ok(Enqueued::Duplicate) => pipeline.answer(Answer::duplicate()),
                Err(err) => {
                    #[cfg(feature = "tracing")]
                    tracing::warn!(target: "meetingbaas_webhooks", error = %err, "inbox unavailable; answering 503 so the sender retries");
                    let _ = err;
                    pipeline.refuse(Unavailable::Inbox.into())
                }
            }));
        }
        if let AdmitState::Claiming { claim, .. } = &mut self.state {
            let begun = ready!(claim.as_mut().poll(cx));
            let AdmitState::Claiming {
                mut ticket,
                pipeline,
                ..
            } = std::mem::replace(&mut self.state, AdmitState::Done)
            else {
                unreachable!("the state was `Claiming` a moment ago")
            };
            return Poll::Ready(match begun {
                Ok(Begin::Proceed(guard)) => {
                    ticket.completion.claim = Some(guard);
                    Ok(ticket)
                }
                Ok(Begin::Duplicate) => Err(pipeline.answer(Answer::duplicate())),
                Err(err) => Err(pipeline.refuse(err.into())),
            });
        }
        match std::mem::replace(&mut self.state, AdmitState::Done) {
            AdmitState::Ready(admitted) => Poll::Ready(admitted),
            _ => panic!("`Admit` polled after completion"),
        }
    }
}

impl<T> fmt::Debug for Admit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            AdmitState::Ready(_) => "ready",
            AdmitState::Claiming { .. } => "claiming",
            AdmitState::Enqueuing { .. } => "enqueuing",
            AdmitState::Done => "done",
        };
        f.debug_struct("Admit").field("state", &state).finish()
    }
}

impl Pipeline {
    /// The steps between a verified body and the handler, in their one order.
    pub(crate) fn admit_now<T>(
        &self,
        delivery: Result<VerifiedDelivery, Error>,
        reservation: Reservation,
    ) -> Admit<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if let Some(inbox) = &self.inner.inbox {
            return Admit {
                state: self.intake(inbox, delivery, reservation),
            };
        }
        let state = match self.ticket::<T>(delivery, reservation) {
            Err(answer) => AdmitState::Ready(Err(answer)),
            Ok(ticket) => match &self.inner.dedupe {
                // Claimed only once it is certain the handler will see it: a refused or
                // ignored delivery is never remembered.
                Some(dedupe) => AdmitState::Claiming {
                    claim: dedupe.begin(&ticket.delivery),
                    ticket,
                    pipeline: self.clone(),
                },
                None => AdmitState::Ready(Ok(ticket)),
            },
        };
        Admit { state }
    }

    /// With an inbox: verify, read the kind leniently (filter), store. A verified body is stored
    /// whatever its shape; only a kind filtered out is not.
    fn intake<T>(
        &self,
        inbox: &std::sync::Arc<dyn Inbox>,
        delivery: Result<VerifiedDelivery, Error>,
        reservation: Reservation,
    ) -> AdmitState<T> {
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(err) => return AdmitState::Ready(Err(self.refuse(err))),
        };
        let label = match delivery.parse_event() {
            Ok(event) => EventLabel::new(Some(event.kind()), Some(event.name().into())),
            Err(ParseError::InvalidData { event, .. }) => EventLabel::new(
                EventName::from_wire(&event).map(EventName::kind),
                Some(event),
            ),
            // Not an event: stored all the same; the worker dead-letters it as unreadable.
            Err(_) => EventLabel::default(),
        };
        if label.kind.is_some_and(|kind| !self.inner.allows(kind)) {
            return AdmitState::Ready(Err(self.answer(Answer::ignored())));
        }
        #[cfg(feature = "tracing")]
        tracing::info!(
            target: "meetingbaas_webhooks",
            scheme = %delivery.scheme(),
            event = label.name.as_deref(),
            bytes = delivery.body().len(),
            "webhook delivery verified; storing it in the inbox"
        );
        AdmitState::Enqueuing {
            enqueue: inbox.enqueue(&delivery, label),
            _reservation: reservation,
            pipeline: self.clone(),
        }
    }

    fn ticket<T>(
        &self,
        delivery: Result<VerifiedDelivery, Error>,
        reservation: Reservation,
    ) -> Result<Ticket<T>, Answer>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let config = &self.inner;
        let delivery = delivery.map_err(|err| self.refuse(err))?;
        let wants_event = TypeId::of::<T>() == TypeId::of::<Event>();
        let mut event = None;
        if config.parse_events || config.only.is_some() || wants_event {
            match delivery.parse_event() {
                Ok(parsed) if !config.allows(parsed.kind()) => {
                    return Err(self.answer(Answer::ignored()));
                }
                Ok(parsed) => event = Some(parsed),
                Err(err) => {
                    // A known event whose data does not fit its type still tells its kind.
                    let kind = match &err {
                        ParseError::InvalidData { event, .. } => {
                            EventName::from_wire(event).map(EventName::kind)
                        }
                        _ => None,
                    };
                    match kind {
                        Some(kind) if !config.allows(kind) => {
                            return Err(self.answer(Answer::ignored()));
                        }
                        // Read for the kind only, into the user's own type: it goes on.
                        Some(_) if !config.parse_events && !wants_event => {}
                        _ => return Err(self.refuse(err.into())),
                    }
                }
            }
        }
        let value = parse_into::<T>(&delivery, &mut event).map_err(|err| self.refuse(err))?;
        #[cfg(feature = "tracing")]
        tracing::info!(
            target: "meetingbaas_webhooks",
            scheme = %delivery.scheme(),
            event = event.as_ref().map(Event::name),
            bytes = delivery.body().len(),
            "webhook delivery verified"
        );
        Ok(Ticket {
            delivery,
            event,
            value,
            completion: Completion {
                claim: None,
                _reservation: reservation,
            },
        })
    }
}

/// Reads a verified delivery as `T`, the one rule every adapter follows:
///
/// - [`Event`]: the event the pipeline parsed (taken from `event`), or parsed now with
///   [`VerifiedDelivery::parse_event`];
/// - [`IgnoredAny`]: nothing is parsed (verify only; the body need not even be JSON);
/// - any other type: [`VerifiedDelivery::parse`] (400 for a body that is not JSON or not an
///   envelope, 422 for an envelope that does not fit `T`: a 4xx makes the sender retry for a
///   while and then give up, so a strict type of your own can lose deliveries; [`Event`] never
///   refuses an envelope for its data).
pub fn parse_into<T>(delivery: &VerifiedDelivery, event: &mut Option<Event>) -> Result<T, Error>
where
    T: DeserializeOwned + 'static,
{
    if TypeId::of::<T>() == TypeId::of::<IgnoredAny>() {
        return Ok(cast(IgnoredAny));
    }
    if TypeId::of::<T>() == TypeId::of::<Event>() {
        let parsed = match event.take() {
            Some(parsed) => parsed,
            None => delivery.parse_event()?,
        };
        return Ok(cast(parsed));
    }
    Ok(delivery.parse::<T>()?)
}

/// `value` as `B`, which the caller has checked is the same type as `A`.
fn cast<A: 'static, B: 'static>(value: A) -> B {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<B>>()
        .and_then(Option::take)
        .expect("`cast` is called only when the two types are the same")
}

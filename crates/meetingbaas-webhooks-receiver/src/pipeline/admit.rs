//! Admitting a received body: verify, parse, filter by kind, claim. The order lives here only.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use serde::de::{DeserializeOwned, IgnoredAny};

use std::time::Instant;

use super::Pipeline;
use super::answer::{Answer, Outcome};
use super::budget::Reservation;
use super::inbox::{EnqueueFuture, Enqueued, EventLabel, Inbox, queued_body};
use super::observe::Trace;
use super::read::Received;
use crate::error::{Error, Unavailable};
use crate::idempotency::{Begin, BeginFuture, ClaimGuard, FinishFuture};
use meetingbaas_webhooks::Event;
use meetingbaas_webhooks::HeaderLookup;
use meetingbaas_webhooks::VerifiedDelivery;

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

/// What admission decided: run the handler now, or the pipeline answered already.
///
/// The pipeline answers itself when a delivery is queued in the inbox (202), a duplicate (200),
/// of a kind not wanted (200 `ignored`), or refused (4xx/5xx): the [`Answer`]'s
/// [`Outcome`] says which. Only [`Handle`](Admission::Handle) goes to the handler.
#[derive(Debug)]
#[must_use = "a delivery to handle must be handled and its completion finished"]
// The ticket is the common case and is moved once: boxing it would cost an allocation per
// delivery to save a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
pub enum Admission<T> {
    /// Verified, wanted and (with deduplication) claimed: run the handler, then
    /// [`Completion::finish`] with its status.
    Handle(Ticket<T>),
    /// Already answered by the pipeline: send this answer.
    Answered(Answer),
}

impl<T> Admission<T> {
    /// The ticket, or the pipeline's answer: for adapters that branch with `?` or `match`.
    pub fn into_result(self) -> Result<Ticket<T>, Answer> {
        match self {
            Admission::Handle(ticket) => Ok(ticket),
            Admission::Answered(answer) => Err(answer),
        }
    }

    /// The pipeline's answer, when it gave one.
    pub fn answer(&self) -> Option<&Answer> {
        match self {
            Admission::Handle(_) => None,
            Admission::Answered(answer) => Some(answer),
        }
    }
}

/// What remains to do once the handler has answered: finish the claim (deduplication), give the
/// body's memory back to the budget, record the outcome.
pub struct Completion {
    claim: Option<ClaimGuard>,
    _reservation: Reservation,
    trace: Trace,
}

impl Completion {
    /// Finishes with the handler's HTTP `status`: a 2xx completes the claim (a copy sent later is
    /// a duplicate), anything else releases it (the sender's retry is processed). Await it before
    /// answering, so that a copy sent after the answer is seen.
    pub fn finish(self, status: u16) -> Finish {
        let Completion {
            claim,
            _reservation,
            trace,
        } = self;
        let success = (200..300).contains(&status);
        Finish {
            claim: claim.map(|claim| claim.finish(success)),
            status,
            trace,
        }
    }

    /// The delivery's `tracing` span (scheme, event, kind, bot id, message id, size; outcome,
    /// status, error code and duration once finished): run the handler in it.
    pub fn span(&self) -> &tracing::Span {
        self.trace.span()
    }

    /// Hands the delivery to a handler whose answer this adapter never sees (an extractor used
    /// without its middleware or layer): recorded as `accepted` instead of `handled`. A claim,
    /// if any, is released: only a finished completion completes it.
    pub fn detach(mut self) {
        self.trace.accepted();
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
    trace: Trace,
}

impl Future for Finish {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        if let Some(claim) = self.claim.as_mut() {
            ready!(claim.as_mut().poll(cx));
            self.claim = None;
        }
        let outcome = Outcome::Handled {
            status: self.status,
        };
        self.trace.finish(&outcome);
        Poll::Ready(outcome)
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
    Ready(Admission<T>),
    Claiming {
        claim: BeginFuture,
        ticket: Ticket<T>,
    },
    // Inbox: the answer is the store's; the body's memory is given back once it is stored.
    Enqueuing {
        enqueue: EnqueueFuture,
        _reservation: Reservation,
        trace: Trace,
    },
    Done,
}

// `T` is only moved, never pinned.
impl<T> Unpin for Admit<T> {}

impl<T> Future for Admit<T> {
    type Output = Admission<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let AdmitState::Enqueuing { enqueue, .. } = &mut self.state {
            let enqueued = ready!(enqueue.as_mut().poll(cx));
            let AdmitState::Enqueuing { mut trace, .. } =
                std::mem::replace(&mut self.state, AdmitState::Done)
            else {
                unreachable!("the state was `Enqueuing` a moment ago")
            };
            let answer = match enqueued {
                Ok(Enqueued::Stored { id }) => Answer::queued(queued_body(&id)),
                Ok(Enqueued::Duplicate) => Answer::duplicate(),
                Err(err) => {
                    trace.enter().in_scope(|| {
                        tracing::warn!(target: "meetingbaas_webhooks", error = %err, "inbox unavailable; answering 503 so the sender retries");
                    });
                    let _ = err;
                    Answer::rejected(Unavailable::Inbox.into())
                }
            };
            return Poll::Ready(Admission::Answered(answered(&mut trace, answer)));
        }
        if let AdmitState::Claiming { claim, .. } = &mut self.state {
            let begun = ready!(claim.as_mut().poll(cx));
            let AdmitState::Claiming { mut ticket, .. } =
                std::mem::replace(&mut self.state, AdmitState::Done)
            else {
                unreachable!("the state was `Claiming` a moment ago")
            };
            let answer = match begun {
                Ok(Begin::Proceed(guard)) => {
                    ticket.completion.claim = Some(guard);
                    ticket.completion.trace.admitted();
                    return Poll::Ready(Admission::Handle(ticket));
                }
                Ok(Begin::Duplicate) => Answer::duplicate(),
                Err(err) => Answer::rejected(err.into()),
            };
            let answer = answered(&mut ticket.completion.trace, answer);
            return Poll::Ready(Admission::Answered(answer));
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
    /// The steps between a received body and the handler, in their one order.
    pub(crate) fn admit_received<T, H>(&self, headers: &H, received: Received) -> Admit<T>
    where
        T: DeserializeOwned + Send + 'static,
        H: HeaderLookup + ?Sized,
    {
        let Received {
            body,
            reservation,
            mut trace,
            verifier,
            known_callback,
        } = received;
        let entered = trace.enter();
        let state = (|| {
            let verifying = trace.timed().then(Instant::now);
            let verified = verifier.verify_with(headers, body, known_callback.as_ref());
            let took = verifying.map(|verifying| verifying.elapsed());
            trace.verified(verified.as_ref().ok(), took);
            let delivery = match verified {
                Ok(delivery) => delivery,
                Err(err) => {
                    let answer = answered(&mut trace, Answer::rejected(err.into()));
                    return AdmitState::Ready(Admission::Answered(answer));
                }
            };
            if let Some(inbox) = &self.inner.inbox {
                return intake(self, inbox, &delivery, reservation, trace);
            }
            let (event, value) = match self.read_as::<T>(&delivery, &mut trace) {
                Ok(read) => read,
                Err(answer) => {
                    return AdmitState::Ready(Admission::Answered(answered(&mut trace, answer)));
                }
            };
            let mut ticket = Ticket {
                delivery,
                event,
                value,
                completion: Completion {
                    claim: None,
                    _reservation: reservation,
                    trace,
                },
            };
            match &self.inner.dedupe {
                // Claimed only once it is certain the handler will see it: a refused or
                // ignored delivery is never remembered.
                Some(dedupe) => AdmitState::Claiming {
                    claim: dedupe.begin(&ticket.delivery),
                    ticket,
                },
                None => {
                    ticket.completion.trace.admitted();
                    AdmitState::Ready(Admission::Handle(ticket))
                }
            }
        })();
        drop(entered);
        Admit { state }
    }

    /// Parses the verified delivery as configured and as `T`, and applies the kind filter.
    fn read_as<T>(
        &self,
        delivery: &VerifiedDelivery,
        trace: &mut Trace,
    ) -> Result<(Option<Event>, T), Answer>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let config = &self.inner;
        let wants_event = TypeId::of::<T>() == TypeId::of::<Event>();
        let mut event = None;
        if config.parse_events || config.only.is_some() || wants_event {
            // Never refused for its data: only a body that is no envelope at all is (400).
            let parsed = delivery
                .parse_event()
                .map_err(|err| Answer::rejected(err.into()))?;
            trace.labelled(parsed.name(), parsed.kind(), parsed.bot_id());
            if !config.allows(parsed.kind()) {
                return Err(Answer::ignored());
            }
            event = Some(parsed);
        }
        let value = parse_into::<T>(delivery, &mut event).map_err(Answer::rejected)?;
        Ok((event, value))
    }
}

/// With an inbox: read the envelope only (name, kind, bot id: for the filter and the label; the
/// worker parses the whole event), then store. A verified body is stored whatever its shape (the
/// worker dead-letters what it cannot read); only a kind filtered out is not.
fn intake<T>(
    pipeline: &Pipeline,
    inbox: &std::sync::Arc<dyn Inbox>,
    delivery: &VerifiedDelivery,
    reservation: Reservation,
    mut trace: Trace,
) -> AdmitState<T> {
    let label = match delivery.envelope() {
        Ok(envelope) => {
            trace.labelled(envelope.name(), envelope.kind(), envelope.bot_id());
            EventLabel::from(envelope)
        }
        Err(_) => EventLabel::default(),
    };
    if label.kind.is_some_and(|kind| !pipeline.inner.allows(kind)) {
        return AdmitState::Ready(Admission::Answered(answered(&mut trace, Answer::ignored())));
    }
    AdmitState::Enqueuing {
        enqueue: inbox.enqueue(delivery, label),
        _reservation: reservation,
        trace,
    }
}

/// `answer`, recorded on the delivery's trace.
fn answered(trace: &mut Trace, answer: Answer) -> Answer {
    trace.finish(answer.outcome());
    answer
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

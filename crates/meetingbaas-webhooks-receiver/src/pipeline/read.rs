//! Reading a request body: under the limit, within the deadline, inside the memory budget.

use std::boxed::Box;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use super::Pipeline;
use super::answer::Answer;
use super::budget::Reservation;
use super::observe::Trace;
use crate::body::BodyCollector;
use crate::error::{Error, Unavailable};
use crate::secrets::LookupFuture;
use meetingbaas_webhooks::{SecretDigest, Verifier, VerifyError};

/// A whole request body, read under the pipeline's rules; hand it to
/// [`Pipeline::admit`](super::Pipeline::admit).
#[derive(Debug)]
pub struct Received {
    pub(crate) body: Bytes,
    pub(crate) reservation: Reservation,
    pub(crate) trace: Trace,
    /// The key ring in force when the request came: a ring replaced meanwhile does not change
    /// how a delivery already being read is verified.
    pub(crate) verifier: Verifier,
    /// A callback secret looked up for this request and found.
    pub(crate) known_callback: Option<SecretDigest>,
}

/// What the headers decided before the body is read: the ring to verify with, a refusal (or
/// one that holds unless a pending lookup finds the callback secret), a lookup to finish first.
pub(crate) struct Gate {
    pub(crate) verifier: Verifier,
    pub(crate) refused: Option<VerifyError>,
    /// The headers could be authentic, but only the body can tell (a signature scheme).
    pub(crate) needs_body: bool,
    pub(crate) known_callback: Option<SecretDigest>,
    pub(crate) lookup: Option<(SecretDigest, LookupFuture)>,
}

impl Received {
    /// The bytes, exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

pin_project! {
    /// The future of [`Pipeline::read`](super::Pipeline::read): the whole body, or the answer
    /// that refuses it (413 over the limit, 408 past the deadline, 503 over the memory budget,
    /// 400 for a broken stream). It stops reading at the first refusal.
    #[must_use = "futures do nothing unless polled"]
    pub struct Read<S> {
        #[pin]
        stream: S,
        // Boxed: armed only when the body makes us wait, and a `Sleep` inline would make every
        // `Read` (moved through the adapters' futures on every request) larger.
        timer: Option<Pin<Box<Sleep>>>,
        deadline: Option<Instant>,
        pipeline: Pipeline,
        // `None` once finished: the buffer goes as soon as the outcome is known.
        collector: Option<BodyCollector>,
        reservation: Reservation,
        // The declared length, charged whole from the start (0 when none).
        declared: usize,
        // A refusal decided before the first poll (the declared length).
        refused: Option<Error>,
        // `None` once handed on with the body.
        trace: Option<Trace>,
        verifier: Verifier,
        // The headers' refusal, held until a pending lookup has answered.
        unless_known: Option<VerifyError>,
        known_callback: Option<SecretDigest>,
        lookup: Option<(SecretDigest, LookupFuture)>,
    }
}

impl<S> Read<S> {
    pub(crate) fn new(
        pipeline: Pipeline,
        declared: Option<u64>,
        stream: S,
        gate: Gate,
        client: Option<std::net::IpAddr>,
    ) -> Self {
        let trace = Trace::start(pipeline.inner.log_accepted, pipeline.inner.metrics);
        let mut reservation = pipeline.inner.budget.reservation(client);
        let disabled = !pipeline.inner.enabled;
        let overloaded = !disabled
            && pipeline
                .inner
                .in_flight
                .as_ref()
                .is_some_and(|limit| !limit.take_slot(&mut reservation));
        let Gate {
            verifier,
            refused: headers_refused,
            needs_body: _,
            known_callback,
            lookup,
        } = gate;
        let max_body = pipeline.limit_under(verifier.max_body_bytes());
        // Decided by the headers now, unless a callback secret is still being looked up.
        let (decided, unless_known) = match lookup {
            Some(_) => (None, headers_refused),
            None => (headers_refused, None),
        };
        let (collector, refused) = match BodyCollector::new(max_body, declared) {
            // Switched off: refused before anything else, whatever the request.
            _ if disabled => (None, Some(Error::from(Unavailable::Disabled))),
            // Shed before anything is read or buffered.
            _ if overloaded => (None, Some(Error::from(Unavailable::Overloaded))),
            Err(err) => (None, Some(Error::from(err))),
            // No credentials that could be authentic: refused before the budget is touched.
            Ok(_) if decided.is_some() => (None, decided.map(Error::from)),
            // What the sender declares is held from the start, so that many requests declaring
            // large bodies and then stalling cannot together pass the budget.
            Ok(collector) => match declared.and_then(|len| usize::try_from(len).ok()) {
                Some(len) if !reservation.ensure(len) => {
                    (None, Some(Error::from(Unavailable::MemoryBudget)))
                }
                _ => (Some(collector), None),
            },
        };
        let declared = match (
            &collector,
            declared.and_then(|len| usize::try_from(len).ok()),
        ) {
            (Some(_), Some(len)) => len,
            _ => 0,
        };
        Read {
            stream,
            timer: None,
            deadline: None,
            pipeline,
            collector,
            reservation,
            declared,
            refused,
            trace: Some(trace),
            verifier,
            unless_known,
            known_callback,
            lookup,
        }
    }
}

impl<S, D, E> Future for Read<S>
where
    S: Stream<Item = Result<D, E>>,
    D: Buf,
{
    type Output = Result<Received, Answer>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(err) = this.refused.take() {
            return Poll::Ready(Err(refuse(this.trace, err)));
        }
        if let Some((digest, lookup)) = this.lookup.as_mut() {
            let answered = ready!(lookup.as_mut().poll(cx));
            let digest = *digest;
            *this.lookup = None;
            let refused = match answered {
                Ok(true) => {
                    *this.known_callback = Some(digest);
                    None
                }
                Ok(false) => this.unless_known.take().map(Error::from),
                Err(err) => {
                    tracing::warn!(target: "meetingbaas_webhooks", error = %err, "callback secret lookup failed; answering 503 so the sender retries");
                    Some(Error::from(Unavailable::SecretLookup))
                }
            };
            if let Some(err) = refused {
                *this.collector = None;
                return Poll::Ready(Err(refuse(this.trace, err)));
            }
        }
        let Some(collector) = this.collector.as_mut() else {
            // Polled again after it finished: nothing more can be read.
            return Poll::Ready(Err(refuse(this.trace, VerifyError::BodyUnreadable.into())));
        };
        if this.deadline.is_none() {
            *this.deadline = this
                .pipeline
                .inner
                .body_deadline
                .map(|deadline| Instant::now() + deadline);
        }
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(mut data))) => {
                    // Zero-copy when the frame is already `Bytes` (hyper, axum, actix, warp).
                    let chunk = data.copy_to_bytes(data.remaining());
                    let total = collector.len().saturating_add(chunk.len());
                    // Charged before the bytes are kept: the most held at once while taking
                    // the frame (a growing buffer and its copy), or, for a declared length, that
                    // length (charged whole up front; growing to it holds at most the first
                    // frames' small buffer more, for a moment). Then only what the buffer
                    // occupies stays charged (at most the limit).
                    let floor = *this.declared;
                    let charge = match floor {
                        0 => collector.peak_allocation(chunk.len()),
                        declared => declared.max(total),
                    };
                    let pushed = if total <= collector.limit() && !this.reservation.ensure(charge) {
                        Err(Error::from(Unavailable::MemoryBudget))
                    } else {
                        collector.push(chunk).map_err(Error::from).map(|()| {
                            this.reservation.shrink_to(floor.max(collector.allocated()));
                        })
                    };
                    if let Err(err) = pushed {
                        *this.collector = None;
                        return Poll::Ready(Err(refuse(this.trace, err)));
                    }
                }
                Poll::Ready(Some(Err(_))) => {
                    let err = collector.unreadable();
                    *this.collector = None;
                    return Poll::Ready(Err(refuse(this.trace, err.into())));
                }
                Poll::Ready(None) => {
                    // A segmented body is joined into one buffer for verification and parsing:
                    // charged first (segments and copy, at most twice the body for a moment),
                    // then only the joined body stays charged.
                    let joining = collector.finish_allocation();
                    if joining > 0
                        && !this
                            .reservation
                            .ensure(collector.allocated().saturating_add(joining))
                    {
                        *this.collector = None;
                        let err = Error::from(Unavailable::MemoryBudget);
                        return Poll::Ready(Err(refuse(this.trace, err)));
                    }
                    let body = this
                        .collector
                        .take()
                        .map_or_else(Bytes::new, BodyCollector::finish);
                    if joining > 0 {
                        this.reservation.shrink_to(body.len());
                    }
                    let reservation = core::mem::take(this.reservation);
                    let trace = this.trace.take().unwrap_or_else(|| {
                        Trace::start(
                            this.pipeline.inner.log_accepted,
                            this.pipeline.inner.metrics,
                        )
                    });
                    return Poll::Ready(Ok(Received {
                        body,
                        reservation,
                        trace,
                        verifier: this.verifier.clone(),
                        known_callback: *this.known_callback,
                    }));
                }
                Poll::Pending => {
                    // The timer is armed only once the body makes us wait: a body already in
                    // memory never touches the timer wheel.
                    let Some(deadline) = *this.deadline else {
                        return Poll::Pending;
                    };
                    let timer = this
                        .timer
                        .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
                    ready!(timer.as_mut().poll(cx));
                    *this.collector = None;
                    let seconds = this
                        .pipeline
                        .inner
                        .body_deadline
                        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
                    let err = VerifyError::BodyTimeout { seconds };
                    tracing::debug!(target: "meetingbaas_webhooks", error = %err, "webhook delivery rejected");
                    return Poll::Ready(Err(refuse(this.trace, err.into())));
                }
            }
        }
    }
}

/// The answer refusing a body, recorded once on the delivery's trace.
fn refuse(trace: &mut Option<Trace>, err: Error) -> Answer {
    let answer = Answer::rejected(err);
    if let Some(mut trace) = trace.take() {
        trace.finish(answer.outcome());
    }
    answer
}

impl<S> std::fmt::Debug for Read<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Read")
            .field("received", &self.collector.as_ref().map(BodyCollector::len))
            .finish_non_exhaustive()
    }
}

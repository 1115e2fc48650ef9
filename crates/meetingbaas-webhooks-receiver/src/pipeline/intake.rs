//! Intake without a handler: [`Pipeline::intake`] reads, verifies and stores a delivery in the
//! inbox and gives the answer; [`Pipeline::refuse_method`] answers what is not a delivery.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Buf;
use futures_core::Stream;
use meetingbaas_webhooks::{HeaderLookup, is_delivery_method};
use serde::de::IgnoredAny;

use super::{Admission, Answer, Pipeline, Read};
use crate::error::{Error, Misconfigured};

/// Intake asked of a pipeline that has no inbox to store into.
const NO_INBOX: Misconfigured = Misconfigured::new(
    "intake_without_inbox",
    "this route only stores deliveries, but its pipeline has no inbox: give it one with \
     `Pipeline::inbox(inbox.intake())`",
);

impl Pipeline {
    /// The whole intake of one request, for a route that only stores deliveries (the inbox's
    /// worker runs the handlers): reads the body under the limits, verifies it, labels it and
    /// stores it, then gives the answer (202 `queued`, 200 `duplicate` or `ignored`, or the
    /// refusal: 401, 413, 408, 400, 503). Adapters' intake services only call this and copy the
    /// answer.
    ///
    /// A pipeline without an inbox is a deployment mistake: every request is answered 500
    /// (`intake_without_inbox`, logged once at error level) before its body is read, so the
    /// sender keeps the delivery and retries.
    pub async fn intake<H, S, D, E>(&self, headers: &H, chunks: S) -> Answer
    where
        H: HeaderLookup + ?Sized,
        S: Stream<Item = Result<D, E>>,
        D: Buf,
    {
        self.intake_from(headers, self.read(headers, chunks)).await
    }

    /// [`intake`](Self::intake) of a body already being read with [`read`](Self::read) or
    /// [`read_declared`](Self::read_declared) (not yet polled).
    pub async fn intake_from<H, S, D, E>(&self, headers: &H, read: Read<S>) -> Answer
    where
        H: HeaderLookup + ?Sized,
        S: Stream<Item = Result<D, E>>,
        D: Buf,
    {
        if self.inbox_store().is_none() {
            static LOGGED: AtomicBool = AtomicBool::new(false);
            if !LOGGED.swap(true, Ordering::Relaxed) {
                tracing::error!(target: "meetingbaas_webhooks", "{}", NO_INBOX.message());
            }
            return Answer::rejected(NO_INBOX.into());
        }
        let received = match read.await {
            Ok(received) => received,
            Err(answer) => return answer,
        };
        match self.admit::<IgnoredAny, _>(headers, received).await {
            Admission::Answered(answer) => answer,
            // With an inbox every admitted delivery is answered by the pipeline (stored,
            // duplicate, ignored or refused): a ticket here is a bug; the sender retries.
            Admission::Handle(ticket) => {
                drop(ticket);
                Answer::rejected(NO_INBOX.into())
            }
        }
    }

    /// The answer to a request whose `method` Meeting BaaS never delivers with: 405, with
    /// `Allow: POST, PUT` ([`DELIVERY_METHODS`](meetingbaas_webhooks::DELIVERY_METHODS)).
    /// `None` for `POST` and `PUT`.
    pub fn refuse_method(method: &str) -> Option<Answer> {
        (!is_delivery_method(method)).then(|| Answer::rejected(Error::MethodNotAllowed))
    }
}

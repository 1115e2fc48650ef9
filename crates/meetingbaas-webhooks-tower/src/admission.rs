//! What the layer does with a body it has read: verify it, optionally parse it, and decide
//! whether the inner service sees it.

use std::sync::Arc;

use bytes::Bytes;
use http::{Extensions, HeaderMap};
use meetingbaas_webhooks::idempotency::{BeginFuture, Deduplicator};
use meetingbaas_webhooks::{EventKind, EventName, ParseError, VerifiedDelivery, Verifier};

use crate::answer::Answer;

/// The layer's configuration: what it verifies with and what it lets through.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    pub(crate) parse_events: bool,
    pub(crate) only: Option<Arc<[EventKind]>>,
    pub(crate) dedupe: Option<Deduplicator>,
}

impl Config {
    pub(crate) fn new(verifier: Verifier) -> Self {
        Config {
            verifier,
            parse_events: false,
            only: None,
            dedupe: None,
        }
    }

    fn allows(&self, kind: EventKind) -> bool {
        self.only.as_ref().is_none_or(|kinds| kinds.contains(&kind))
    }

    /// Verifies `body` and decides whether the inner service sees it. When it does, the
    /// [`VerifiedDelivery`] (and the parsed [`Event`](meetingbaas_webhooks::Event), if one was
    /// parsed) are in `extensions`.
    pub(crate) fn admit(
        &self,
        headers: &HeaderMap,
        extensions: &mut Extensions,
        body: Bytes,
    ) -> Result<Option<BeginFuture>, Answer> {
        let delivery = self
            .verifier
            .verify(headers, body)
            .map_err(|err| Answer::Reject(err.into()))?;
        if self.parse_events || self.only.is_some() {
            match delivery.parse_event() {
                Ok(event) => {
                    if !self.allows(event.kind()) {
                        return Err(Answer::Ignore);
                    }
                    extensions.insert(event);
                }
                Err(err) => self.admit_unparsed(err)?,
            }
        }
        // Claimed only once it is certain the inner service will see it: a refused or ignored
        // delivery is never remembered.
        let claim = self.dedupe.as_ref().map(|dedupe| dedupe.begin(&delivery));
        extensions.insert::<VerifiedDelivery>(delivery);
        Ok(claim)
    }

    /// A verified body that did not parse as an [`Event`](meetingbaas_webhooks::Event).
    fn admit_unparsed(&self, err: ParseError) -> Result<(), Answer> {
        // A known event whose data does not fit its type still tells its kind.
        let kind = match &err {
            ParseError::InvalidData { event, .. } => {
                EventName::from_wire(event).map(EventName::kind)
            }
            _ => None,
        };
        match kind {
            Some(kind) if !self.allows(kind) => Err(Answer::Ignore),
            _ if self.parse_events => Err(Answer::Reject(err.into())),
            // Verify-only with `only`: a kind that could be told and is wanted goes through
            // unparsed (the handler may read it into its own type)...
            Some(_) => Ok(()),
            // ...but a body whose kind cannot be told is not one of the chosen kinds.
            None => Err(Answer::Reject(err.into())),
        }
    }
}

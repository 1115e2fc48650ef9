use meetingbaas_webhooks_receiver::idempotency::Deduplicator;
use std::sync::Arc;

use meetingbaas_webhooks::{EventKind, Verifier};
use meetingbaas_webhooks_receiver::{Inbox, Pipeline};
use tower_layer::Layer;

use crate::service::VerifyWebhook;

/// Applies [`VerifyWebhook`] to a service: verifies every request as a Meeting BaaS delivery
/// before the service sees it.
///
/// Cheap to clone (the [`Verifier`] is shared). See the [crate docs](crate) for an example.
#[derive(Clone, Debug)]
pub struct VerifyWebhookLayer {
    pipeline: Pipeline,
}

impl VerifyWebhookLayer {
    /// A layer verifying with `verifier`, under its body limit
    /// ([`Verifier::max_body_bytes`]). Verify-only: nothing is parsed unless
    /// [`parse_events`](Self::parse_events) or [`only`](Self::only) is set.
    pub fn new(verifier: Verifier) -> Self {
        VerifyWebhookLayer::from_pipeline(Pipeline::new(verifier))
    }

    /// A layer running every request through `pipeline`: set the body deadline, the memory
    /// budget or a lower limit there.
    pub fn from_pipeline(pipeline: Pipeline) -> Self {
        VerifyWebhookLayer { pipeline }
    }

    /// Whether to parse each verified delivery into an
    /// [`Event`](meetingbaas_webhooks::Event) in the layer (default `false`).
    ///
    /// When set, the `Event` is put in the request extensions beside the
    /// [`VerifiedDelivery`](meetingbaas_webhooks::VerifiedDelivery), and a body that does not
    /// parse is answered by the layer: 400 when it is not a webhook envelope. A known event whose
    /// data does not fit its type is never refused (what did not fit is in `Event::issues`).
    ///
    /// axum's `Extension<Event>` needs this (without it there is no `Event` in the extensions
    /// and axum answers 500); the `Webhook` extractor (feature `axum`) parses when the layer did
    /// not.
    pub fn parse_events(mut self, parse: bool) -> Self {
        self.pipeline = self.pipeline.parse_events(parse);
        self
    }

    /// Lets only deliveries of these kinds reach the inner service; every other verified
    /// delivery is answered `200 {"status":"ignored"}` (so that the sender does not retry it)
    /// without calling the service.
    ///
    /// The layer reads the event to know its kind, so the parsed `Event` is put in the request
    /// extensions too. A verified body whose kind cannot be told (not a webhook envelope) is
    /// answered 400. Include [`EventKind::Unknown`] to let events this version does not know
    /// through.
    pub fn only(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.pipeline = self.pipeline.only(kinds);
        self
    }

    /// Deduplicates deliveries in front of the inner service (see
    /// [`idempotency`](meetingbaas_webhooks_receiver::idempotency)): a copy of a delivery already handled
    /// with a 2xx answer is answered 200 `{"status":"duplicate"}` without calling the inner
    /// service; a copy arriving while the first still runs is answered 409; a store that cannot
    /// be reached, 503. A non-2xx answer, an error, a panic or a dropped request releases the
    /// claim, so that the sender's retry is processed.
    pub fn dedupe(mut self, deduplicator: Deduplicator) -> Self {
        self.pipeline = self.pipeline.dedupe(deduplicator);
        self
    }

    /// Stores every verified delivery in `inbox` and answers at once (202
    /// `{"status":"queued","id":...}`, 200 `{"status":"duplicate"}` for a copy of a stored one,
    /// 503 when the inbox cannot store), instead of running the handler in the request: a worker
    /// (crate `meetingbaas-webhooks-inbox`) runs it later, never cancelled by the sender's
    /// timeout. See [`Pipeline::inbox`](meetingbaas_webhooks_receiver::Pipeline::inbox).
    pub fn inbox(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.pipeline = self.pipeline.inbox(inbox);
        self
    }

    /// The verifier in use.
    pub fn verifier(&self) -> &Verifier {
        self.pipeline.verifier()
    }

    /// The pipeline every request goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl<S> Layer<S> for VerifyWebhookLayer {
    type Service = VerifyWebhook<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyWebhook::from_pipeline(inner, self.pipeline.clone())
    }
}

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use meetingbaas_webhooks::{EventKind, Verifier};
use meetingbaas_webhooks_receiver::Pipeline;
use meetingbaas_webhooks_receiver::idempotency::Deduplicator;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::layer::VerifyWebhookLayer;
use crate::{ResponseBody, VerifiedBody};

/// Middleware that verifies each request as a Meeting BaaS delivery before calling the inner
/// service.
///
/// It reads the body under the verifier's limit, verifies it and then either calls the inner
/// service with the same bytes as a [`VerifiedBody`] and the
/// [`VerifiedDelivery`](meetingbaas_webhooks::VerifiedDelivery) in the request extensions, or
/// answers itself without calling it. See the [crate docs](crate) for the answers and an example.
#[derive(Clone, Debug)]
pub struct VerifyWebhook<S> {
    inner: S,
    pipeline: Pipeline,
}

impl<S> VerifyWebhook<S> {
    /// Wraps `inner`, verifying with `verifier` (verify-only, like [`VerifyWebhookLayer::new`]).
    pub fn new(inner: S, verifier: Verifier) -> Self {
        Self::from_pipeline(inner, Pipeline::new(verifier))
    }

    /// Wraps `inner` with a configured [`Pipeline`] (body deadline, memory budget, limit...).
    pub fn from_pipeline(inner: S, pipeline: Pipeline) -> Self {
        VerifyWebhook { inner, pipeline }
    }

    /// A [`VerifyWebhookLayer`] verifying with `verifier`.
    pub fn layer(verifier: Verifier) -> VerifyWebhookLayer {
        VerifyWebhookLayer::new(verifier)
    }

    /// See [`VerifyWebhookLayer::parse_events`].
    pub fn parse_events(mut self, parse: bool) -> Self {
        self.pipeline = self.pipeline.parse_events(parse);
        self
    }

    /// See [`VerifyWebhookLayer::only`].
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

    /// The verifier in use.
    pub fn verifier(&self) -> &Verifier {
        self.pipeline.verifier()
    }

    /// The pipeline every request goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// A reference to the inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// A mutable reference to the inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyWebhook<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        // A declared length over the limit is answered before a single byte is read.
        let read = crate::collect::read(&self.pipeline, &parts.headers, body);
        // The body must be awaited before the inner service is called: keep the service that
        // was driven to readiness for this request, leave a clone behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(read, parts, inner, self.pipeline.clone())
    }
}

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use meetingbaas_webhooks_receiver::Pipeline;
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
    /// Wraps `inner`, running every request through `pipeline` (a [`Pipeline`], or a
    /// [`Verifier`](meetingbaas_webhooks::Verifier) for the defaults around it).
    pub fn new(inner: S, pipeline: impl Into<Pipeline>) -> Self {
        VerifyWebhook {
            inner,
            pipeline: pipeline.into(),
        }
    }

    /// A [`VerifyWebhookLayer`] running every request through `pipeline`.
    pub fn layer(pipeline: impl Into<Pipeline>) -> VerifyWebhookLayer {
        VerifyWebhookLayer::new(pipeline)
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
        let read = crate::collect::read(&self.pipeline, &parts, body);
        // The body must be awaited before the inner service is called: keep the service that
        // was driven to readiness for this request, leave a clone behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(read, parts, inner, self.pipeline.clone())
    }
}

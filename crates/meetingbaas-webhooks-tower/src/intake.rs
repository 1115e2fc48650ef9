//! [`Intake`]: a service that stores deliveries in the inbox, with no handler.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use meetingbaas_webhooks_receiver::Pipeline;
use tower_service::Service;

use crate::answer::response;

/// A service that only stores deliveries: each request is read, verified and stored in the
/// pipeline's inbox, and answered (202 `queued`, 200 `duplicate`, or the refusal: 401, 413,
/// 408, 400, 405 for a method Meeting BaaS does not deliver with, 503 so the sender retries);
/// the inbox's worker runs the handlers. No handler to write, and none that could run
/// unverified.
///
/// The pipeline must have an inbox ([`Pipeline::inbox`]); without one every request is
/// answered 500 (`intake_without_inbox`, logged once) and the sender keeps the delivery.
///
/// With axum, route it with [`delivery_methods`](crate::delivery_methods) so that other
/// methods get axum's 405:
///
/// ```
/// use axum::Router;
/// use axum::routing::on_service;
/// use meetingbaas_webhooks_tower::{Intake, Pipeline, Verifier, delivery_methods};
/// # use meetingbaas_webhooks_tower::receiver::testing::RecordingInbox;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let inbox = std::sync::Arc::new(RecordingInbox::new());
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// // `inbox.intake()` of a `meetingbaas_webhooks_inbox::Inbox`.
/// let pipeline = Pipeline::new(verifier).inbox(inbox);
/// let app: Router = Router::new().route(
///     "/webhooks/meetingbaas",
///     on_service(delivery_methods(), Intake::new(pipeline)),
/// );
/// # drop(app);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Intake {
    pipeline: Pipeline,
}

impl Intake {
    /// The service storing every delivery through `pipeline` (which must have an inbox).
    pub fn new(pipeline: impl Into<Pipeline>) -> Self {
        Intake {
            pipeline: pipeline.into(),
        }
    }

    /// The pipeline every request goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl<B> Service<Request<B>> for Intake
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let pipeline = self.pipeline.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let answer = match Pipeline::refuse_method(parts.method.as_str()) {
                Some(answer) => answer,
                None => {
                    let read = crate::collect::read(&pipeline, &parts, body);
                    pipeline.intake_from(&parts.headers, read).await
                }
            };
            Ok(response(answer))
        })
    }
}

//! [`VerifyWebhook`]: the middleware that protects a scope or a resource, whatever its
//! handlers take.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage, ResponseError};
use meetingbaas_webhooks::{Event, VerifiedDelivery};
use meetingbaas_webhooks_receiver::{Admission, Answer, Pipeline};
use serde::de::IgnoredAny;
use tracing::Instrument;

use crate::headers::ActixHeaders;
use crate::rejection::WebhookRejection;

/// Middleware verifying every request before any handler of the scope or resource it wraps
/// runs, whatever the handlers' arguments: like the tower layer, for actix-web.
///
/// For each request it refuses a method Meeting BaaS does not deliver with (405, `Allow: POST,
/// PUT`), reads the body under the pipeline's limits, verifies it, parses it, filters its kind,
/// and, as the [`Pipeline`] is configured, deduplicates it or stores it in the inbox. Anything
/// refused or answered by the pipeline (401, 413, 408, 400, 503; with an inbox 202 `queued`,
/// 200 `duplicate`) is answered here and **no handler runs**: an unsigned or forged request
/// never reaches a handler of a protected scope. A verified delivery goes on with:
///
/// - its body, byte for byte, as the request's payload (read it with `web::Bytes`...);
/// - the [`VerifiedDelivery`] and the parsed [`Event`] in the request's extensions, which the
///   [`Webhook`](crate::Webhook) extractor takes (without reading or verifying again).
///
/// With deduplication it completes the delivery's claim after a 2xx answer and releases it
/// otherwise, as the [`Idempotency`](crate::Idempotency) middleware does for the extractor
/// (which is then not needed).
///
/// Every route of the wrapped scope is a webhook route: a `GET` (a health check, say) under it
/// is answered 405 and unsigned requests 401. Wrap only the webhook's resource or a scope that
/// holds nothing else, and serve `/health` and `/ready` outside it.
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use meetingbaas_webhooks_actix::{Signer, Verifier, VerifyWebhook, Webhook};
///
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let app = test::init_service(
///     App::new().service(
///         web::scope("/webhooks")
///             .wrap(VerifyWebhook::new(verifier))
///             // Any handler: it runs for verified deliveries only.
///             .route("/meetingbaas", web::post().to(|| async { HttpResponse::Ok().finish() }))
///             .route("/typed", web::post().to(|webhook: Webhook| async move {
///                 HttpResponse::Ok().body(webhook.name().to_owned())
///             })),
///     ),
/// )
/// .await;
///
/// let body = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;
/// let unsigned = test::TestRequest::post().uri("/webhooks/meetingbaas").set_payload(body);
/// let response = test::call_service(&app, unsigned.to_request()).await;
/// assert_eq!(response.status(), 401);
///
/// let mut signed = test::TestRequest::post().uri("/webhooks/typed").set_payload(body);
/// for header in Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0) {
///     signed = signed.insert_header(header);
/// }
/// let response = test::call_service(&app, signed.to_request()).await;
/// assert_eq!(test::read_body(response).await, "bot.completed");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct VerifyWebhook {
    pipeline: Pipeline,
}

impl VerifyWebhook {
    /// The middleware running every request through `pipeline`: a [`Pipeline`], or a
    /// [`Verifier`](meetingbaas_webhooks::Verifier) for the defaults around it.
    pub fn new(pipeline: impl Into<Pipeline>) -> Self {
        VerifyWebhook {
            pipeline: pipeline.into(),
        }
    }

    /// The pipeline every request goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl<S, B> Transform<S, ServiceRequest> for VerifyWebhook
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = VerifyWebhookMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<VerifyWebhookMiddleware<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(VerifyWebhookMiddleware {
            service: Rc::new(service),
            pipeline: self.pipeline.clone(),
        }))
    }
}

/// The service [`VerifyWebhook`] wraps around the inner one.
pub struct VerifyWebhookMiddleware<S> {
    service: Rc<S>,
    pipeline: Pipeline,
}

impl<S> std::fmt::Debug for VerifyWebhookMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyWebhookMiddleware")
            .field("pipeline", &self.pipeline)
            .finish_non_exhaustive()
    }
}

/// A delivery the middleware verified, waiting in the request's extensions for the
/// [`Webhook`](crate::Webhook) extractor.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) delivery: VerifiedDelivery,
    pub(crate) event: Option<Event>,
}

impl<S, B> Service<ServiceRequest> for VerifyWebhookMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, actix_web::Error>>>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let pipeline = self.pipeline.clone();
        Box::pin(async move {
            if let Some(answer) = Pipeline::refuse_method(req.method().as_str()) {
                return Ok(answered(req, answer));
            }
            let payload = req.take_payload();
            let peer = req.peer_addr().map(|addr| addr.ip());
            let admitted = {
                let headers = ActixHeaders(req.headers());
                match pipeline.read_from(peer, &headers, payload).await {
                    Ok(received) => pipeline.admit::<IgnoredAny, _>(&headers, received).await,
                    Err(answer) => Admission::Answered(answer),
                }
            };
            let ticket = match admitted {
                Admission::Handle(ticket) => ticket,
                Admission::Answered(answer) => return Ok(answered(req, answer)),
            };
            let (delivery, event, IgnoredAny, completion) = ticket.into_parts();
            // The handlers get the very buffer the delivery holds: never copied.
            req.set_payload(Payload::from(delivery.body().clone()));
            req.extensions_mut().insert(Verified { delivery, event });
            let span = completion.span().clone();
            // An error or a panic drops the completion unfinished: the claim is released, so
            // that the sender's retry is processed.
            let mut response = service.call(req).instrument(span).await?;
            // Awaited before answering, so that a copy sent after this answer is seen as a
            // duplicate. A store error here is logged by the pipeline; the answer stands.
            let outcome = completion.finish(response.status().as_u16()).await;
            response.response_mut().extensions_mut().insert(outcome);
            Ok(response.map_into_left_body())
        })
    }
}

/// The pipeline's answer, instead of the inner service's.
fn answered<B>(req: ServiceRequest, answer: Answer) -> ServiceResponse<EitherBody<B>> {
    let response = WebhookRejection::from(answer).error_response();
    req.into_response(response).map_into_right_body()
}

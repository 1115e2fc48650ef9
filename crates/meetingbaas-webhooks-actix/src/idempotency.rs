//! [`Idempotency`]: the middleware that finishes the claims the extractor takes.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage, HttpRequest};
use meetingbaas_webhooks_receiver::Completion;

/// Middleware finishing the deduplication claims of [`Webhook`](crate::Webhook) extractors:
/// after the handler, a claim is completed when the response status is 2xx and released
/// otherwise, so that the sender's retry is processed.
///
/// Needed by every route whose [`WebhookConfig`](crate::WebhookConfig) has
/// deduplication ([`Pipeline::dedupe`](crate::Pipeline::dedupe)): register it with `.wrap(Idempotency)` on the `App`,
/// a `Scope` or a `Resource`. It does nothing for requests without a claim, so wrapping a whole
/// `App` is fine. A handler that errors answers a non-2xx status, so its claim is released; one
/// that panics, or a request dropped before it is answered, drops the claim, which releases it
/// too.
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use meetingbaas_webhooks_actix::{Deduplicator, MemoryStore, Pipeline};
/// use meetingbaas_webhooks_actix::{Signer, Verifier};
/// use meetingbaas_webhooks_actix::{Idempotency, Webhook, WebhookConfig};
///
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let pipeline = Pipeline::new(verifier).dedupe(Deduplicator::new(MemoryStore::default()));
/// let config = WebhookConfig::new(pipeline);
/// let app = test::init_service(
///     App::new()
///         .app_data(config)
///         .wrap(Idempotency)
///         .route("/webhooks/meetingbaas", meetingbaas_webhooks_actix::delivery_route().to(|webhook: Webhook| async move {
///             HttpResponse::Ok().body(webhook.name().to_owned())
///         })),
/// )
/// .await;
///
/// let body = r#"{"event":"meeting.completed","data":{"bot_id":"b-1"}}"#;
/// let headers = Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0);
/// let send = || {
///     let mut request = test::TestRequest::post().uri("/webhooks/meetingbaas");
///     for header in headers.iter() {
///         request = request.insert_header(header);
///     }
///     request.set_payload(body).to_request()
/// };
///
/// // The first delivery runs the handler...
/// let response = test::call_service(&app, send()).await;
/// assert_eq!(test::read_body(response).await, "meeting.completed");
/// // ...a copy of it does not.
/// let response = test::call_service(&app, send()).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(test::read_body(response).await, r#"{"status":"duplicate"}"#);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Idempotency;

impl<S, B> Transform<S, ServiceRequest> for Idempotency
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = IdempotencyMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<IdempotencyMiddleware<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(IdempotencyMiddleware { service }))
    }
}

/// The service [`Idempotency`] wraps around the inner one.
pub struct IdempotencyMiddleware<S> {
    service: S,
}

impl<S> std::fmt::Debug for IdempotencyMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyMiddleware")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for IdempotencyMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Tells the extractor that someone will finish its claim.
        req.extensions_mut().insert(Installed);
        let response = self.service.call(req);
        Box::pin(async move {
            // An error here leaves the claim in the request's extensions: dropped with the
            // request, it is released.
            let mut response = response.await?;
            let pending = response.request().extensions_mut().remove::<Pending>();
            if let Some(Pending(completion)) = pending {
                // Awaited before answering, so that a copy sent after this answer is seen as a
                // duplicate. A store error here is logged by the core; the answer stands.
                let outcome = completion.finish(response.status().as_u16()).await;
                response.response_mut().extensions_mut().insert(outcome);
            }
            Ok(response)
        })
    }
}

/// Marks a request that passed through [`Idempotency`].
#[derive(Clone, Copy, Debug)]
struct Installed;

/// A delivery handed to the handler, waiting in the request's extensions for the middleware to
/// finish it with the handler's status.
#[derive(Debug)]
struct Pending(Completion);

/// Whether `req` passed through the [`Idempotency`] middleware.
pub(crate) fn is_installed(req: &HttpRequest) -> bool {
    req.extensions().contains::<Installed>()
}

/// Leaves `completion` for the middleware to finish (when it is installed; otherwise there is
/// no claim, and dropping it only gives the body's memory back to the budget).
pub(crate) fn hand_over(req: &HttpRequest, completion: Completion) {
    if is_installed(req) {
        req.extensions_mut().insert(Pending(completion));
    } else {
        completion.detach();
    }
}

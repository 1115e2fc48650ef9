//! Rate limiting what fails verification, per client, without ever throttling verified
//! deliveries (feature `rate-limit`).
//!
//! A plain per-IP limit in front of a webhook route counts every request, and Meeting BaaS sends
//! every delivery from a few addresses: a burst of real deliveries (a busy hour, the retries
//! after an outage) would be answered 429, and each 429 costs the sender one of its attempts.
//! What an attacker can send without the secret, though, always fails: 401 (bad credentials),
//! 408 (too slow) or 413 (too large), decided before the sender has proven anything.
//!
//! [`FailureLimit`] therefore counts only those failures, per client (the peer IP by default;
//! [`FailureLimit::with_key`] for another key, e.g. the address a trusted reverse proxy
//! reports), with your [`Quota`]. Once a client has spent its quota it is blocked until the
//! quota allows one more failure: its requests are answered 429 with `Retry-After` and
//! `Connection: close` before the extractor reads a byte of their bodies. A client whose
//! deliveries verify never spends anything, however many it sends. The extractor tells what
//! happened through the [`Outcome`] in each response's extensions, which the middleware reads
//! on the way out; the counting, the quota and the bounded memory are the core's
//! ([`meetingbaas_webhooks_receiver::limit`]), shared with the tower adapter's `FailureLimitLayer`.
//!
//! ```
//! use std::num::NonZeroU32;
//! use actix_web::{App, HttpResponse, test, web};
//! use meetingbaas_webhooks_actix::{FailureLimit, Quota, Webhook, WebhookConfig};
//! use meetingbaas_webhooks_actix::Verifier;
//!
//! async fn receive(webhook: Webhook) -> HttpResponse {
//!     HttpResponse::Ok().finish()
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! // 10 failed deliveries per client, then one more every 6 seconds.
//! let limit = FailureLimit::new(Quota::per_minute(NonZeroU32::new(10).unwrap()));
//! let app = test::init_service(
//!     App::new()
//!         .app_data(WebhookConfig::new(verifier))
//!         .wrap(limit.clone())
//!         .service(web::resource("/webhooks/meetingbaas").route(meetingbaas_webhooks_actix::delivery_route().to(receive))),
//! )
//! .await;
//! // A forged delivery fails (401) and is counted against its client.
//! let forged = test::TestRequest::post()
//!     .uri("/webhooks/meetingbaas")
//!     .peer_addr("192.0.2.1:4000".parse()?)
//!     .set_payload("{}")
//!     .to_request();
//! assert_eq!(test::call_service(&app, forged).await.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! What it does not do: a client that is blocked is blocked for verified deliveries too (the
//! point is not to read its bodies); Meeting BaaS's own addresses are only blocked if their
//! deliveries fail verification (a wrong secret), which they would anyway, and only until the
//! quota refills. Behind a reverse proxy every client has the proxy's address: key on the
//! address it reports (`ConnectionInfo::realip_remote_addr`) there, and only there (the headers
//! it reads are the client's to forge otherwise). Requests arriving together are all let through
//! before their failures are counted; the pipeline's in-flight cap and memory budget bound
//! those. A request without a key (no peer address) is never limited.

use std::future::{Future, Ready, ready};
use std::hash::Hash;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderValue};
use meetingbaas_webhooks_receiver::Outcome;
use meetingbaas_webhooks_receiver::limit::{
    FailureLimiter, TOO_MANY_FAILURES_ANSWER, is_counted_failure, retry_after_seconds,
};

pub use meetingbaas_webhooks_receiver::limit::Quota;

use crate::WebhookRejection;

/// How a request's client is told apart.
type KeyFn<K> = dyn Fn(&ServiceRequest) -> Option<K> + Send + Sync;

/// Middleware limiting, per client, the requests that fail verification (see the
/// [module docs](self)). `Clone`: clones share their counts, so build it once, outside the
/// `HttpServer::new` closure, and `.wrap(limit.clone())` in each worker's `App`.
pub struct FailureLimit<K = IpAddr> {
    shared: Arc<Shared<K>>,
}

struct Shared<K> {
    limiter: FailureLimiter<K>,
    key: Box<KeyFn<K>>,
}

impl FailureLimit<IpAddr> {
    /// Allows each client, by peer IP, the failures of `quota`.
    pub fn new(quota: Quota) -> Self {
        FailureLimit::with_key(quota, |req: &ServiceRequest| {
            req.peer_addr().map(|addr| addr.ip())
        })
    }
}

impl<K: Hash + Eq> FailureLimit<K> {
    /// Allows each client, as `key` tells them apart (`None`: never limited), the failures of
    /// `quota`.
    pub fn with_key(
        quota: Quota,
        key: impl Fn(&ServiceRequest) -> Option<K> + Send + Sync + 'static,
    ) -> Self {
        FailureLimit::with_limiter(FailureLimiter::new(quota), key)
    }

    /// The same, with a limiter of your own (e.g.
    /// [`FailureLimiter::with_max_clients`]).
    pub fn with_limiter(
        limiter: FailureLimiter<K>,
        key: impl Fn(&ServiceRequest) -> Option<K> + Send + Sync + 'static,
    ) -> Self {
        FailureLimit {
            shared: Arc::new(Shared {
                limiter,
                key: Box::new(key),
            }),
        }
    }

    /// How long `key` is still blocked, if it is.
    pub fn blocked_for(&self, key: &K) -> Option<Duration> {
        self.shared.limiter.blocked_for(key)
    }
}

impl<K> Clone for FailureLimit<K> {
    fn clone(&self) -> Self {
        FailureLimit {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K> std::fmt::Debug for FailureLimit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimit")
            .field("limiter", &self.shared.limiter)
            .finish_non_exhaustive()
    }
}

impl<S, B, K> Transform<S, ServiceRequest> for FailureLimit<K>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
    K: Hash + Eq + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = FailureLimitMiddleware<S, K>;
    type InitError = ();
    type Future = Ready<Result<FailureLimitMiddleware<S, K>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FailureLimitMiddleware {
            service,
            shared: Arc::clone(&self.shared),
        }))
    }
}

/// The service [`FailureLimit`] wraps around the inner one.
pub struct FailureLimitMiddleware<S, K = IpAddr> {
    service: S,
    shared: Arc<Shared<K>>,
}

impl<S, K> std::fmt::Debug for FailureLimitMiddleware<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimitMiddleware")
            .finish_non_exhaustive()
    }
}

/// The 429 answer to a blocked client: `Retry-After` in whole seconds, and the connection
/// closed (its body is never read).
fn too_many_failures(wait: Duration) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .insert_header((header::RETRY_AFTER, retry_after_seconds(wait)))
        .insert_header((header::CONNECTION, HeaderValue::from_static("close")))
        .body(TOO_MANY_FAILURES_ANSWER)
}

impl<S, B, K> Service<ServiceRequest> for FailureLimitMiddleware<S, K>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
    K: Hash + Eq + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, actix_web::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let key = (self.shared.key)(&req);
        if let Some(wait) = key
            .as_ref()
            .and_then(|key| self.shared.limiter.blocked_for(key))
        {
            let response = req.into_response(too_many_failures(wait));
            return Box::pin(ready(Ok(response.map_into_right_body())));
        }
        let response = self.service.call(req);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let result = response.await;
            if let Some(key) = key {
                let failed = match &result {
                    Ok(response) => response
                        .response()
                        .extensions()
                        .get::<Outcome>()
                        .is_some_and(is_counted_failure),
                    // An error the route did not turn into a response yet.
                    Err(err) => err
                        .as_error::<WebhookRejection>()
                        .is_some_and(|rejection| is_counted_failure(rejection.outcome())),
                };
                if failed {
                    shared.limiter.count_failure(key);
                }
            }
            result.map(ServiceResponse::map_into_left_body)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::num::NonZeroU32;

    use actix_web::{App, HttpResponse, test, web};

    use super::*;
    use crate::{Signer, Verifier, Webhook, WebhookConfig};

    const SECRET: &str = "failure-limit-secret";
    const BODY: &str = r#"{"event":"bot.completed","data":{"bot_id":"b"}}"#;

    async fn receive(_webhook: Webhook) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    fn post(from: &str, secret: &str) -> actix_web::test::TestRequest {
        let mut request = test::TestRequest::post()
            .uri("/webhooks")
            .peer_addr(from.parse::<SocketAddr>().unwrap())
            .set_payload(BODY);
        for (name, value) in Signer::signature(secret)
            .unwrap()
            .sign_now(BODY.as_bytes())
            .iter()
        {
            request = request.insert_header((name, value));
        }
        request
    }

    #[actix_web::test]
    async fn forged_deliveries_are_limited_per_client_and_verified_ones_never() {
        let verifier = Verifier::builder()
            .signature_secret(SECRET)
            .build()
            .unwrap();
        // 3 failures per client, then one more per hour.
        let quota =
            Quota::per_hour(NonZeroU32::new(1).unwrap()).allow_burst(NonZeroU32::new(3).unwrap());
        let limit = FailureLimit::new(quota);
        let app = test::init_service(
            App::new()
                .app_data(WebhookConfig::new(verifier))
                .wrap(limit.clone())
                .route("/webhooks", web::post().to(receive)),
        )
        .await;
        let mut forged = Vec::new();
        let mut verified = Vec::new();
        for _ in 0..10 {
            let response =
                test::call_service(&app, post("192.0.2.1:1000", "wrong").to_request()).await;
            if response.status() == 429 {
                let retry_after = response.headers().get("retry-after").unwrap();
                assert!(retry_after.to_str().unwrap().parse::<u64>().unwrap() > 0);
            }
            forged.push(response.status().as_u16());
            let response =
                test::call_service(&app, post("198.51.100.7:1000", SECRET).to_request()).await;
            verified.push(response.status().as_u16());
        }
        assert_eq!(forged, [401, 401, 401, 401, 429, 429, 429, 429, 429, 429]);
        assert_eq!(verified, [200; 10]);
        assert!(limit.blocked_for(&"192.0.2.1".parse().unwrap()).is_some());
        assert!(
            limit
                .blocked_for(&"198.51.100.7".parse().unwrap())
                .is_none()
        );
    }

    #[actix_web::test]
    async fn a_request_without_a_key_is_never_limited() {
        let verifier = Verifier::builder()
            .signature_secret(SECRET)
            .build()
            .unwrap();
        let quota = Quota::per_hour(NonZeroU32::new(1).unwrap());
        let app = test::init_service(
            App::new()
                .app_data(WebhookConfig::new(verifier))
                .wrap(FailureLimit::with_key(
                    quota,
                    |_: &ServiceRequest| None::<u8>,
                ))
                .route("/webhooks", web::post().to(receive)),
        )
        .await;
        for _ in 0..5 {
            let response =
                test::call_service(&app, post("192.0.2.1:1000", "wrong").to_request()).await;
            assert_eq!(response.status(), 401);
        }
    }
}

//! Rate limiting what fails verification, per client, without ever throttling verified
//! deliveries (feature `rate-limit`).
//!
//! A plain per-IP limit in front of a webhook route ([`tower_governor::GovernorLayer`]) counts
//! every request, and Meeting BaaS sends every delivery from a few addresses: a burst of real
//! deliveries (a busy hour, the retries after an outage) would be answered 429, and each 429
//! costs the sender one of its attempts. What an attacker can send without the secret, though,
//! always fails: 401 (bad credentials), 408 (too slow) or 413 (too large), decided before the
//! sender has proven anything.
//!
//! [`FailureLimitLayer`] therefore counts only those failures, per client key (tower_governor's
//! [`KeyExtractor`]: the peer IP by default ([`PeerAddr`]), [`SmartIpKeyExtractor`] behind a
//! trusted proxy), against your [`Quota`], in the core's [`FailureLimiter`] (the same counting,
//! quota and bounded memory as the actix adapter's `FailureLimit`). Once a client has spent its
//! quota it is blocked until the quota allows one more failure: its requests are answered 429
//! with `Retry-After` before the pipeline reads a byte of their bodies. A client whose deliveries
//! verify never spends anything, however many it sends. The pipeline tells what happened through
//! the [`Outcome`] in each response's extensions, so the layer goes *outside*
//! [`VerifyWebhookLayer`](crate::VerifyWebhookLayer):
//!
//! ```
//! use std::num::NonZeroU32;
//! use axum::{Router, routing::on};
//! use meetingbaas_webhooks::Verifier;
//! use meetingbaas_webhooks_tower::{FailureLimitLayer, VerifyWebhookLayer};
//! use meetingbaas_webhooks_tower::limit::Quota;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! // 10 failed deliveries per client, then one more every 6 seconds.
//! let quota = Quota::per_minute(NonZeroU32::new(10).unwrap());
//! let app: Router = Router::new()
//!     .route("/webhooks/meetingbaas", on(meetingbaas_webhooks_tower::delivery_methods(), || async { "ok" }))
//!     .route_layer(VerifyWebhookLayer::new(verifier))
//!     .route_layer(FailureLimitLayer::new(quota));
//! // Serve with `app.into_make_service_with_connect_info::<std::net::SocketAddr>()`, so that
//! // the peer address is known (a request without a key is never limited).
//! # Ok(())
//! # }
//! ```
//!
//! What it does not do: a client that is blocked is blocked for verified deliveries too (the
//! point is not to read its bodies); Meeting BaaS's own addresses are only blocked if their
//! deliveries fail verification (a wrong secret), which they would anyway, and only until the
//! quota refills. Behind a reverse proxy every client has the proxy's address: use
//! [`SmartIpKeyExtractor`] there, and only there (the headers it reads are the client's to
//! forge otherwise). Requests arriving together are all let through before their failures are
//! counted; the pipeline's in-flight cap and memory budget bound those. At most
//! [`DEFAULT_MAX_CLIENTS`] clients are remembered, whatever the number of addresses a flood comes
//! from (see [`meetingbaas_webhooks_receiver::limit`]).

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{Either, Full};
use meetingbaas_webhooks_receiver::Outcome;
use meetingbaas_webhooks_receiver::limit::{TOO_MANY_FAILURES_ANSWER, retry_after_seconds};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub use meetingbaas_webhooks_receiver::limit::{
    DEFAULT_MAX_CLIENTS, FailureLimiter, Quota, is_counted_failure,
};
pub use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};

/// The default key: the peer IP, from axum's `ConnectInfo<SocketAddr>` (feature `axum`) or a
/// plain [`SocketAddr`](std::net::SocketAddr) request extension (what a hyper or warp accept
/// loop inserts). A request with neither has no key and is never limited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerAddr;

impl KeyExtractor for PeerAddr {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, tower_governor::GovernorError> {
        #[cfg(feature = "axum")]
        if let Some(info) = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        {
            return Ok(info.0.ip());
        }
        request
            .extensions()
            .get::<std::net::SocketAddr>()
            .map(|addr| addr.ip())
            .ok_or(tower_governor::GovernorError::UnableToExtractKey)
    }
}

/// Limits, per client, the requests that fail verification (see the [module docs](self)).
pub struct FailureLimitLayer<K: KeyExtractor = PeerAddr> {
    shared: Arc<Shared<K>>,
}

struct Shared<K: KeyExtractor> {
    extractor: K,
    limiter: FailureLimiter<K::Key>,
}

impl FailureLimitLayer<PeerAddr> {
    /// Allows each client (by peer IP, [`PeerAddr`]) the failures of `quota`.
    pub fn new(quota: Quota) -> Self {
        FailureLimitLayer::with_key_extractor(quota, PeerAddr)
    }
}

impl<K: KeyExtractor> FailureLimitLayer<K> {
    /// Allows each client, as `extractor` tells them apart, the failures of `quota`.
    pub fn with_key_extractor(quota: Quota, extractor: K) -> Self {
        FailureLimitLayer::with_limiter(FailureLimiter::new(quota), extractor)
    }

    /// The same, with a limiter of your own (e.g. [`FailureLimiter::with_max_clients`]).
    pub fn with_limiter(limiter: FailureLimiter<K::Key>, extractor: K) -> Self {
        FailureLimitLayer {
            shared: Arc::new(Shared { extractor, limiter }),
        }
    }

    /// How long `key` is still blocked, if it is.
    pub fn blocked_for(&self, key: &K::Key) -> Option<Duration> {
        self.shared.limiter.blocked_for(key)
    }
}

impl<K: KeyExtractor> Clone for FailureLimitLayer<K> {
    fn clone(&self) -> Self {
        FailureLimitLayer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K: KeyExtractor> std::fmt::Debug for FailureLimitLayer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimitLayer").finish_non_exhaustive()
    }
}

impl<S, K: KeyExtractor> Layer<S> for FailureLimitLayer<K> {
    type Service = FailureLimit<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        FailureLimit {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service of [`FailureLimitLayer`].
pub struct FailureLimit<S, K: KeyExtractor = PeerAddr> {
    inner: S,
    shared: Arc<Shared<K>>,
}

impl<S: Clone, K: KeyExtractor> Clone for FailureLimit<S, K> {
    fn clone(&self) -> Self {
        FailureLimit {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S, K: KeyExtractor> std::fmt::Debug for FailureLimit<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimit").finish_non_exhaustive()
    }
}

/// The 429 answer to a blocked client: `Retry-After` in whole seconds, and the connection
/// closed (its body is never read).
fn too_many_failures<B>(wait: Duration) -> Response<Either<B, Full<Bytes>>> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from_static(
        TOO_MANY_FAILURES_ANSWER.as_bytes(),
    ))));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::RETRY_AFTER,
        http::HeaderValue::from(retry_after_seconds(wait)),
    );
    headers.insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}

impl<S, K, ReqBody, ResBody> Service<Request<ReqBody>> for FailureLimit<S, K>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    K: KeyExtractor,
{
    type Response = Response<Either<ResBody, Full<Bytes>>>;
    type Error = S::Error;
    type Future = FailureLimitFuture<S::Future, K>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // A request without a key (no peer address known) is never limited.
        let key = self.shared.extractor.extract(&request).ok();
        if let Some(wait) = key
            .as_ref()
            .and_then(|key| self.shared.limiter.blocked_for(key))
        {
            return FailureLimitFuture {
                state: State::Blocked {
                    response: Some(too_many_failures(wait)),
                },
            };
        }
        FailureLimitFuture {
            state: State::Inner {
                future: self.inner.call(request),
                key,
                shared: Arc::clone(&self.shared),
            },
        }
    }
}

pin_project! {
    /// The future of [`FailureLimit`].
    pub struct FailureLimitFuture<F, K: KeyExtractor> {
        #[pin]
        state: State<F, K>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, K: KeyExtractor> {
        Blocked { response: Option<Response<Either<(), Full<Bytes>>>> },
        Inner { #[pin] future: F, key: Option<K::Key>, shared: Arc<Shared<K>> },
    }
}

impl<F, K: KeyExtractor> std::fmt::Debug for FailureLimitFuture<F, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimitFuture").finish_non_exhaustive()
    }
}

impl<F, K, ResBody, E> Future for FailureLimitFuture<F, K>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    K: KeyExtractor,
    K::Key: Hash + Eq + Clone,
{
    type Output = Result<Response<Either<ResBody, Full<Bytes>>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Blocked { response } => {
                let response = response.take().expect("polled after completion");
                let (parts, body) = response.into_parts();
                let body = match body {
                    Either::Right(full) => full,
                    Either::Left(()) => Full::new(Bytes::new()),
                };
                Poll::Ready(Ok(Response::from_parts(parts, Either::Right(body))))
            }
            StateProj::Inner {
                future,
                key,
                shared,
            } => {
                let response = ready!(future.poll(cx))?;
                if let Some(key) = key.take()
                    && response
                        .extensions()
                        .get::<Outcome>()
                        .is_some_and(is_counted_failure)
                {
                    shared.limiter.count_failure(key);
                }
                Poll::Ready(Ok(response.map(Either::Left)))
            }
        }
    }
}

//! [`WebhookConfig`]: a whole webhook endpoint around your handler, deduplicated if you want.

use std::convert::Infallible;
use std::future::Future;

use meetingbaas_webhooks::VerifiedDelivery;
use meetingbaas_webhooks_receiver::{Admission, Outcome, Pipeline};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::filters::admitted;
use crate::rejection::answered;

/// Builds the filter that receives webhooks and runs your handler: it verifies, parses,
/// optionally deduplicates, calls the handler and answers with its reply.
///
/// Filters only see requests, not the replies built after them, so deduplication, which must
/// know whether the handler succeeded, takes the handler: [`WebhookConfig::handle`] gives the
/// complete filter. Without [`Pipeline::dedupe`](crate::Pipeline::dedupe) it is the same as
/// [`json`](crate::json)`::<T>(verifier).then(handler)`.
///
/// With [`Pipeline::dedupe`](crate::Pipeline::dedupe) the core's rule applies in front of the handler:
///
/// | situation | answer |
/// |---|---|
/// | first delivery | claimed, the handler runs; a 2xx reply completes the claim, any other reply releases it (as does a panic in the handler or a dropped request), so the sender's retry is processed |
/// | copy of a delivery handled successfully | 200 `{"status":"duplicate"}`, handler not called |
/// | copy of a delivery still being handled | 409 (a [`WebhookRejection`](crate::WebhookRejection)) |
/// | idempotency store unreachable | 503 (a [`WebhookRejection`](crate::WebhookRejection); logged at warn by the core) |
///
/// Refusals (401, 413, 400, 422, 409, 503) are [`WebhookRejection`](crate::WebhookRejection)s: end the route with
/// `.recover(`[`recover`](crate::recover)`)`. A delivery refused before the handler is never
/// remembered.
///
/// ```
/// use meetingbaas_webhooks_warp::{Deduplicator, MemoryStore, Pipeline};
/// use meetingbaas_webhooks_warp::{Event, Signer, Verifier, VerifiedDelivery};
/// use meetingbaas_webhooks_warp::WebhookConfig;
/// use warp::Filter;
///
/// async fn receive(_delivery: VerifiedDelivery, event: Event) -> impl warp::Reply {
///     // Runs once per delivery, however often it is retried.
///     event.name().to_owned()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let route = meetingbaas_webhooks_warp::delivery_method()
///     .and(warp::path!("webhooks" / "meetingbaas"))
///     .and(
///         WebhookConfig::new(
///             Pipeline::new(verifier).dedupe(Deduplicator::new(MemoryStore::default())),
///         )
///         .handle(receive),
///     )
///     .recover(meetingbaas_webhooks_warp::recover);
///
/// let body = r#"{"event":"meeting.completed","data":{"bot_id":"b-1"}}"#;
/// let headers = Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0);
/// let send = || {
///     let mut request = warp::test::request().method("POST").path("/webhooks/meetingbaas");
///     for (name, value) in headers.iter() {
///         request = request.header(name, value);
///     }
///     request.body(body)
/// };
///
/// // The first delivery runs the handler...
/// let response = send().reply(&route).await;
/// assert_eq!(response.body(), "meeting.completed");
/// // ...a copy of it does not.
/// let response = send().reply(&route).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body(), r#"{"status":"duplicate"}"#);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pipeline: Pipeline,
}

impl WebhookConfig {
    /// The endpoint running every request through `pipeline` (a [`Pipeline`], or a
    /// [`Verifier`](meetingbaas_webhooks::Verifier) for the defaults around it): every receiving
    /// option (kind filter, deduplication, inbox, limits) is set there, never here.
    pub fn new(pipeline: impl Into<Pipeline>) -> Self {
        WebhookConfig {
            pipeline: pipeline.into(),
        }
    }

    /// The pipeline every request goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The filter: reads the body under the limit, verifies it, parses it into `T`, claims it
    /// (with [`Pipeline::dedupe`](crate::Pipeline::dedupe)), runs `handler` and finishes the delivery with the status
    /// of its reply. The reply carries the [`Outcome`] in its extensions (so do the pipeline's
    /// own answers, and [`recover`](crate::recover)'s).
    ///
    /// `T` is any `serde` type: [`Event`](meetingbaas_webhooks::Event), your own,
    /// [`Value`](meetingbaas_webhooks::Value), or [`serde::de::IgnoredAny`] to verify only; name
    /// it in the handler's signature. The handler is an `async fn` (or a closure returning a
    /// future) whose output is any [`Reply`]. The filter consumes the body and matches neither
    /// method nor path: combine it with `warp::post()` and `warp::path!`.
    pub fn handle<T, H, Fut>(
        self,
        handler: H,
    ) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone
    where
        T: DeserializeOwned + Send + 'static,
        H: Fn(VerifiedDelivery, T) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Reply,
    {
        let state = warp::any().map(|| ());
        self.handle_with(state, move |(), delivery, payload| {
            handler(delivery, payload)
        })
    }

    /// [`handle`](Self::handle) for a handler that takes your app state first, the warp way:
    /// `state` is a filter extracting it (usually `warp::any().map(move || state.clone())`),
    /// run for each request before the body is read.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// use meetingbaas_webhooks_warp::testing::{TestDelivery, signed_post};
    /// use meetingbaas_webhooks_warp::{Event, EventName, Signer, VerifiedDelivery, Verifier, WebhookConfig, recover};
    /// use warp::Filter;
    ///
    /// #[derive(Clone, Default)]
    /// struct AppState {
    ///     received: Arc<AtomicUsize>,
    /// }
    ///
    /// async fn receive(state: AppState, _delivery: VerifiedDelivery, event: Event) -> String {
    ///     let count = state.received.fetch_add(1, Ordering::Relaxed) + 1;
    ///     format!("{} #{count}", event.name())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let state = AppState::default();
    /// let with_state = warp::any().map(move || state.clone());
    /// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
    /// let route = warp::path!("webhooks" / "meetingbaas")
    ///     .and(WebhookConfig::new(verifier).handle_with(with_state, receive))
    ///     .recover(recover);
    ///
    /// let delivery = TestDelivery::sample(&Signer::signature("s3cret")?, EventName::BotFailed, "b-1");
    /// let response = signed_post("/webhooks/meetingbaas", &delivery).reply(&route).await;
    /// assert_eq!(response.body(), "bot.failed #1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn handle_with<F, S, T, H, Fut>(
        self,
        state: F,
        handler: H,
    ) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone
    where
        F: Filter<Extract = (S,), Error = Infallible> + Clone + Send + Sync + 'static,
        S: Send + 'static,
        T: DeserializeOwned + Send + 'static,
        H: Fn(S, VerifiedDelivery, T) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Reply,
    {
        state
            .and(admitted::<T>(self.pipeline))
            .and_then(move |state: S, admitted: Admission<T>| {
                let handler = handler.clone();
                async move {
                    let (delivery, _, payload, completion) = match admitted {
                        Admission::Handle(ticket) => ticket.into_parts(),
                        Admission::Answered(answer) => return answered(answer),
                    };
                    // A panic in the handler, or this future dropped with the request, drops
                    // the completion unfinished: that releases the claim.
                    let span = completion.span().clone();
                    let mut response = handler(state, delivery, payload)
                        .instrument(span)
                        .await
                        .into_response();
                    // Awaited before answering, so that a copy sent after this answer is seen
                    // as a duplicate. A store error here is logged by the core; the reply
                    // stands.
                    let outcome = completion.finish(response.status().as_u16()).await;
                    response.extensions_mut().insert::<Outcome>(outcome);
                    Ok(response)
                }
            })
    }
}

/// The former name of [`WebhookConfig`] (the same type).
#[deprecated(note = "renamed `WebhookConfig`, as in the actix adapter")]
pub type Webhooks = WebhookConfig;

//! The layer's behaviour, one test per branch.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Full};
use meetingbaas_webhooks::{Event, EventKind, Scheme, Signer, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_receiver::Error;
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::Pipeline;
use crate::{VerifiedBody, VerifyWebhook, VerifyWebhookLayer};

const SECRET: &str = "It's a Secret to Everybody";
const LIMIT: usize = 64;
const FAILED: &str = r#"{"event":"bot.failed","data":{"bot_id":"b-1"}}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .signature_secret(SECRET)
        .max_body_bytes(LIMIT)
        .build()
        .unwrap()
}

fn signed<B>(body: &str, request_body: B) -> Request<B> {
    let mut request = Request::post("/webhooks").body(request_body).unwrap();
    let headers = Signer::signature(SECRET).unwrap().sign_now(body.as_bytes());
    request.headers_mut().extend(headers.to_header_map());
    request
}

fn full(body: &'static str) -> Full<Bytes> {
    Full::new(Bytes::from_static(body.as_bytes()))
}

fn signed_full(body: &'static str) -> Request<Full<Bytes>> {
    let signer = Signer::signature(SECRET).unwrap();
    crate::testing::signed_post(
        "/webhooks",
        &crate::testing::TestDelivery::signed(&signer, body),
    )
}

/// What the inner service was called with.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request<Bytes>>>>);

impl Seen {
    fn calls(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn last(&self) -> Request<Bytes> {
        self.0
            .lock()
            .unwrap()
            .pop()
            .expect("the inner service was called")
    }

    /// An inner service that records each request and answers 200 "handled".
    fn service(
        &self,
    ) -> impl Service<
        Request<VerifiedBody>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        let seen = self.clone();
        tower::service_fn(move |req: Request<VerifiedBody>| {
            let seen = seen.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = body.collect().await?.to_bytes();
                seen.0
                    .lock()
                    .unwrap()
                    .push(Request::from_parts(parts, bytes));
                Ok::<_, Infallible>(Response::new(Full::from("handled")))
            }
        })
    }
}

async fn body_text<B>(response: Response<B>) -> String
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A body that counts how many frames were asked of it and yields `frames` frames of `size`
/// bytes.
struct CountingBody {
    polled: Arc<AtomicUsize>,
    frames: usize,
    size: usize,
    hint: SizeHint,
}

impl CountingBody {
    fn new(frames: usize, size: usize) -> (Self, Arc<AtomicUsize>) {
        let polled = Arc::new(AtomicUsize::new(0));
        let body = CountingBody {
            polled: polled.clone(),
            frames,
            size,
            hint: SizeHint::default(),
        };
        (body, polled)
    }
}

impl Body for CountingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let n = this.polled.fetch_add(1, Ordering::SeqCst);
        if n < this.frames {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; this.size])))))
        } else {
            Poll::Ready(None)
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

#[tokio::test]
async fn missing_credentials_401() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    let request = Request::post("/").body(full(FAILED)).unwrap();

    let response = service.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = response.extensions().get::<Error>().cloned().unwrap();
    assert_eq!(error.code(), "missing_credentials");
    assert_eq!(body_text(response).await, error.to_json());
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn wrong_signature_401() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    let mut request = Request::post("/").body(full(FAILED)).unwrap();
    let headers = Signer::signature("another secret")
        .unwrap()
        .sign_now(FAILED.as_bytes());
    request.headers_mut().extend(headers.to_header_map());

    let response = service.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.extensions().get::<Error>().unwrap().code(),
        "invalid_signature"
    );
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn rejection_is_contract_json() {
    let service = VerifyWebhook::new(Seen::default().service(), verifier());
    let request = Request::post("/").body(full(FAILED)).unwrap();

    let response = service.oneshot(request).await.unwrap();

    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(
        body_text(response).await,
        r#"{"error":"missing_credentials","message":"no credentials for any enabled scheme"}"#
    );
}

#[tokio::test]
async fn content_length_over_limit_413_without_reading_the_body() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    let (body, polled) = CountingBody::new(1, LIMIT + 1);
    let mut request = signed(FAILED, body);
    request
        .headers_mut()
        .insert(CONTENT_LENGTH, (LIMIT + 1).into());

    let response = service.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.extensions().get::<Error>().unwrap().code(),
        "payload_too_large"
    );
    assert_eq!(polled.load(Ordering::SeqCst), 0, "the body was read");
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn size_hint_over_limit_413_without_reading_the_body() {
    let service = VerifyWebhook::new(Seen::default().service(), verifier());
    let (mut body, polled) = CountingBody::new(1, LIMIT + 1);
    body.hint = SizeHint::with_exact(LIMIT as u64 + 1);

    let response = service.oneshot(signed(FAILED, body)).await.unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(polled.load(Ordering::SeqCst), 0, "the body was read");
}

#[tokio::test]
async fn chunked_body_over_limit_413_stops_at_the_first_frame_past_it() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    // 16-byte frames under a 64-byte limit: the fifth frame passes it.
    let (body, polled) = CountingBody::new(100, 16);

    let response = service.oneshot(signed(FAILED, body)).await.unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(polled.load(Ordering::SeqCst), 5);
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn chunked_body_under_limit_reaches_the_service_joined() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    let (mut sender, body) = Channel::<Bytes, Infallible>::new(4);
    let send = tokio::spawn(async move {
        for part in FAILED.as_bytes().chunks(10) {
            sender
                .send_data(Bytes::copy_from_slice(part))
                .await
                .unwrap();
        }
    });

    let response = service.oneshot(signed(FAILED, body)).await.unwrap();
    send.await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.last().body(), FAILED.as_bytes());
}

#[tokio::test]
async fn body_stream_error_is_answered_body_unreadable() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    let (mut sender, body) = Channel::<Bytes, std::io::Error>::new(4);
    sender
        .send_data(Bytes::from_static(b"{\"event\""))
        .await
        .unwrap();
    sender.abort(std::io::Error::other("client went away"));

    let response = service.oneshot(signed(FAILED, body)).await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.extensions().get::<Error>().unwrap().code(),
        "body_unreadable"
    );
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn success_passes_the_same_bytes_and_the_delivery() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());
    let sent = Bytes::from_static(FAILED.as_bytes());

    let response = service
        .oneshot(signed(FAILED, Full::new(sent.clone())))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "handled");
    let request = seen.last();
    let delivery = request.extensions().get::<VerifiedDelivery>().unwrap();
    assert_eq!(delivery.scheme(), Scheme::Signature);
    assert_eq!(request.body(), &sent);
    // One buffer throughout: what was sent, what was verified, what the service read.
    assert_eq!(request.body().as_ptr(), sent.as_ptr());
    assert_eq!(delivery.body().as_ptr(), sent.as_ptr());
}

#[tokio::test]
async fn verify_only_by_default_passes_unparsable_bodies_without_an_event() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), verifier());

    let response = service.oneshot(signed_full("not json")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let request = seen.last();
    assert!(request.extensions().get::<VerifiedDelivery>().is_some());
    assert!(request.extensions().get::<Event>().is_none());
}

#[tokio::test]
async fn parse_events_puts_the_event_in_the_extensions() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), Pipeline::new(verifier()).parse_events(true));

    let response = service.oneshot(signed_full(FAILED)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let event = seen.last().extensions().get::<Event>().cloned().unwrap();
    assert_eq!(event.kind(), EventKind::BotFailed);
    assert_eq!(event.bot_id(), Some("b-1"));
}

#[tokio::test]
async fn parse_events_answers_invalid_json_400() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), Pipeline::new(verifier()).parse_events(true));

    let response = service.oneshot(signed_full("{not json")).await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.extensions().get::<Error>().unwrap().code(),
        "invalid_json"
    );
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn parse_events_passes_bad_event_data_with_its_issues() {
    // An authentic delivery is never refused for its shape: what did not fit is on the event.
    let seen = Seen::default();
    let service = VerifyWebhook::new(seen.service(), Pipeline::new(verifier()).parse_events(true));
    let body = r#"{"event":"bot.failed","data":{"bot_id":42}}"#;

    let response = service.oneshot(signed_full(body)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let request = seen.last();
    let event = request.extensions().get::<Event>().unwrap();
    assert_eq!(event.kind(), EventKind::BotFailed);
    assert!(!event.issues().is_empty());
}

#[tokio::test]
async fn only_answers_other_kinds_200_ignored() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(
        seen.service(),
        Pipeline::new(verifier()).only([EventKind::BotCompleted]),
    );

    let response = service.oneshot(signed_full(FAILED)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(body_text(response).await, r#"{"status":"ignored"}"#);
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn only_lets_chosen_kinds_through_with_the_event() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(
        seen.service(),
        Pipeline::new(verifier()).only([EventKind::BotFailed]),
    );

    let response = service.oneshot(signed_full(FAILED)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        seen.last().extensions().get::<Event>().unwrap().kind(),
        EventKind::BotFailed
    );
}

#[tokio::test]
async fn only_ignores_other_kinds_even_with_bad_data() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(
        seen.service(),
        Pipeline::new(verifier())
            .parse_events(true)
            .only([EventKind::BotCompleted]),
    );
    let body = r#"{"event":"bot.failed","data":{"bot_id":42}}"#;

    let response = service.oneshot(signed_full(body)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, r#"{"status":"ignored"}"#);
}

#[tokio::test]
async fn only_passes_a_chosen_kind_with_bad_data() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(
        seen.service(),
        Pipeline::new(verifier()).only([EventKind::BotFailed]),
    );
    let body = r#"{"event":"bot.failed","data":{"bot_id":42}}"#;

    let response = service.oneshot(signed_full(body)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let request = seen.last();
    assert!(request.extensions().get::<VerifiedDelivery>().is_some());
    assert!(
        !request
            .extensions()
            .get::<Event>()
            .unwrap()
            .issues()
            .is_empty()
    );
}

#[tokio::test]
async fn only_answers_a_body_of_no_kind_400() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(
        seen.service(),
        Pipeline::new(verifier()).only([EventKind::Unknown]),
    );

    let response = service
        .oneshot(signed_full(r#"{"data":{}}"#))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(seen.calls(), 0);
}

#[tokio::test]
async fn only_can_let_unknown_events_through() {
    let seen = Seen::default();
    let service = VerifyWebhook::new(
        seen.service(),
        Pipeline::new(verifier()).only([EventKind::Unknown]),
    );

    let response = service
        .oneshot(signed_full(r#"{"event":"bot.teleported","data":{}}"#))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        seen.last().extensions().get::<Event>().unwrap().name(),
        "bot.teleported"
    );
}

/// An inner service that refuses to be called unless it was driven to readiness itself; its
/// clones start unready.
#[derive(Default)]
struct MustBeReady {
    ready: bool,
}

impl Clone for MustBeReady {
    fn clone(&self) -> Self {
        MustBeReady { ready: false }
    }
}

impl Service<Request<VerifiedBody>> for MustBeReady {
    type Response = Response<Full<Bytes>>;
    type Error = &'static str;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<VerifiedBody>) -> Self::Future {
        let ready = std::mem::replace(&mut self.ready, false);
        std::future::ready(if ready {
            Ok(Response::new(Full::default()))
        } else {
            Err("called without being driven to readiness")
        })
    }
}

#[tokio::test]
async fn calls_the_inner_service_that_was_driven_to_readiness() {
    let mut service = VerifyWebhook::new(MustBeReady::default(), verifier());

    for _ in 0..2 {
        let ready = ServiceExt::<Request<Full<Bytes>>>::ready(&mut service)
            .await
            .unwrap();
        let response = ready.call(signed_full(FAILED)).await;
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn inner_errors_are_passed_through() {
    let mut service = VerifyWebhook::new(MustBeReady::default(), verifier());

    // Not driven to readiness: the inner service fails, and the layer hands its error on.
    let result = service.call(signed_full(FAILED)).await;

    assert_eq!(
        result.unwrap_err(),
        "called without being driven to readiness"
    );
}

#[tokio::test]
async fn layer_composes_with_service_builder() {
    let seen = Seen::default();
    let service = ServiceBuilder::new()
        .layer(VerifyWebhookLayer::new(
            Pipeline::new(verifier()).parse_events(true),
        ))
        .service(seen.service());

    let response = service.oneshot(signed_full(FAILED)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls(), 1);
}

#[test]
fn serves_hyper_connections_through_hyper_util() {
    fn assert_hyper_service<S>(_: &S)
    where
        S: hyper::service::Service<Request<hyper::body::Incoming>> + Clone + Send + 'static,
        S::Future: Send,
    {
    }
    let service = VerifyWebhook::new(Seen::default().service(), verifier());
    assert_hyper_service(&hyper_util::service::TowerToHyperService::new(service));
}

#[test]
fn layer_and_service_are_clone_send_sync_and_debug() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug>(_: &T) {}
    let layer = VerifyWebhookLayer::new(Pipeline::new(verifier()).only([EventKind::BotCompleted]));
    assert_traits(&layer);
    assert_traits(&VerifyWebhook::new((), verifier()));
    assert!(format!("{layer:?}").contains("VerifyWebhookLayer"));
}

mod dedupe {
    //! Idempotency in front of the inner service.

    use std::time::Duration;

    use meetingbaas_webhooks_receiver::idempotency::{
        DUPLICATE_ANSWER, Deduplicator, MemoryStore, UnavailableStore,
    };

    use super::*;

    /// An inner service answering with the statuses of `script`, in turn (200 once it runs out),
    /// counting its calls.
    fn scripted(
        script: &'static [u16],
        calls: Arc<AtomicUsize>,
    ) -> impl Service<
        Request<VerifiedBody>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static {
        tower::service_fn(move |_req: Request<VerifiedBody>| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            let status = script.get(call).copied().unwrap_or(200);
            async move {
                let mut response = Response::new(Full::new(Bytes::from_static(b"handled")));
                *response.status_mut() = StatusCode::from_u16(status).unwrap();
                Ok::<_, Infallible>(response)
            }
        })
    }

    fn deduplicated<S>(inner: S) -> VerifyWebhook<S> {
        VerifyWebhook::new(
            inner,
            Pipeline::new(verifier()).dedupe(Deduplicator::new(MemoryStore::default())),
        )
    }

    #[tokio::test]
    async fn a_handled_delivery_is_answered_duplicate_without_the_inner_service() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = deduplicated(scripted(&[], calls.clone()));
        let request = || signed_full(FAILED);

        let first = service.clone().oneshot(request()).await.unwrap();
        let second = service.clone().oneshot(request()).await.unwrap();

        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(body_text(first).await, "handled");
        assert_eq!(second.status(), StatusCode::OK);
        assert_eq!(second.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(body_text(second).await, DUPLICATE_ANSWER);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_non_2xx_answer_releases_so_the_retry_runs() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = deduplicated(scripted(&[500], calls.clone()));

        let statuses = [
            service
                .clone()
                .oneshot(signed_full(FAILED))
                .await
                .unwrap()
                .status(),
            service
                .clone()
                .oneshot(signed_full(FAILED))
                .await
                .unwrap()
                .status(),
        ];
        let third = service.clone().oneshot(signed_full(FAILED)).await.unwrap();

        assert_eq!(
            statuses,
            [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK]
        );
        assert_eq!(body_text(third).await, DUPLICATE_ANSWER);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_inner_error_releases_so_the_retry_runs() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let inner = tower::service_fn(move |_req: Request<VerifiedBody>| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    Err("the handler failed")
                } else {
                    Ok(Response::new(Full::new(Bytes::from_static(b"handled"))))
                }
            }
        });
        let service = deduplicated(inner);

        let first = service.clone().oneshot(signed_full(FAILED)).await;
        let retry = service.clone().oneshot(signed_full(FAILED)).await;

        assert!(first.is_err());
        assert_eq!(retry.unwrap().status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_panicking_handler_releases_so_the_retry_runs() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let inner = tower::service_fn(move |_req: Request<VerifiedBody>| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                assert!(!first, "the handler panics on the first delivery");
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
            }
        });
        let service = deduplicated(inner);

        let panicked = tokio::spawn(service.clone().oneshot(signed_full(FAILED))).await;
        let retry = service.oneshot(signed_full(FAILED)).await.unwrap();

        assert!(panicked.unwrap_err().is_panic());
        assert_eq!(retry.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_running_delivery_is_409_and_a_dropped_one_is_released() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let inner = tower::service_fn(move |_req: Request<VerifiedBody>| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    std::future::pending::<()>().await;
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
            }
        });
        let service = deduplicated(inner);

        let running = tokio::spawn(service.clone().oneshot(signed_full(FAILED)));
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let conflict = service.clone().oneshot(signed_full(FAILED)).await.unwrap();
        running.abort();
        let _ = running.await;
        let retry = service.oneshot(signed_full(FAILED)).await.unwrap();

        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(
            conflict.extensions().get::<Error>().unwrap().code(),
            "delivery_in_progress"
        );
        assert_eq!(retry.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unreachable_store_is_503_and_the_inner_service_is_not_called() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = VerifyWebhook::new(
            scripted(&[], calls.clone()),
            Pipeline::new(verifier()).dedupe(Deduplicator::new(UnavailableStore)),
        );

        let response = service.oneshot(signed_full(FAILED)).await.unwrap();

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.extensions().get::<Error>().unwrap().code(),
            "store_unavailable"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn refused_deliveries_are_not_remembered() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = deduplicated(scripted(&[], calls.clone()));
        let mut forged = Request::post("/").body(full(FAILED)).unwrap();
        forged
            .headers_mut()
            .insert("x-meetingbaas-signature", "00".repeat(32).parse().unwrap());

        let refused = service.clone().oneshot(forged).await.unwrap();
        let real = service.oneshot(signed_full(FAILED)).await.unwrap();

        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(real.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

/// Every option is the pipeline's: set there (here the kind filter and the inbox), it takes
/// effect in the layer with nothing forwarded.
#[tokio::test]
async fn options_set_only_on_the_pipeline_take_effect_in_the_layer() {
    let seen = Seen::default();
    let pipeline = Pipeline::new(verifier()).only([EventKind::BotCompleted]);
    let service = ServiceBuilder::new()
        .layer(VerifyWebhookLayer::new(pipeline))
        .service(seen.service());
    let response = service.oneshot(signed_full(FAILED)).await.unwrap();
    assert_eq!(body_text(response).await, r#"{"status":"ignored"}"#);

    let inbox = Arc::new(meetingbaas_webhooks_receiver::testing::RecordingInbox::new());
    let pipeline = Pipeline::new(verifier()).inbox(inbox.clone());
    let service = ServiceBuilder::new()
        .layer(VerifyWebhookLayer::new(pipeline))
        .service(seen.service());
    let response = service.oneshot(signed_full(FAILED)).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(body_text(response).await, r#"{"status":"queued","id":"1"}"#);
    assert_eq!(inbox.stored().len(), 1);
    assert_eq!(seen.calls(), 0, "stored, not handled in the request");
}

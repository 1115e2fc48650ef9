//! `WebhookConfig::handle`: the core's deduplication in front of a warp handler, counted by the
//! handler itself, driven with `warp::test`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::FutureExt;
use meetingbaas_webhooks::{Bytes, Event, Signer, Value, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_receiver::idempotency::{
    Begin, Deduplicator, MemoryStore, UnavailableStore,
};
use meetingbaas_webhooks_warp::Pipeline;
use meetingbaas_webhooks_warp::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_warp::{WebhookConfig, recover};
use serde::de::IgnoredAny;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::test::RequestBuilder;

const SECRET: &str = "signature secret";
const BODY: &str = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;
const DUPLICATE: &str = r#"{"status":"duplicate"}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .unwrap()
}

fn memory() -> Deduplicator {
    Deduplicator::new(MemoryStore::default())
}

/// A fresh copy of the delivery of `body` (signed anew each time, as a retry is).
fn signed(body: &str) -> RequestBuilder {
    let signer = Signer::signature(SECRET).unwrap();
    signed_post(
        "/webhooks/meetingbaas",
        &TestDelivery::signed(&signer, body.to_owned()),
    )
}

fn delivery() -> RequestBuilder {
    signed(BODY)
}

/// The webhook route around `webhooks`, answering what `handler` answers.
fn route<T, H, Fut>(
    webhooks: WebhookConfig,
    handler: H,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone
where
    T: serde::de::DeserializeOwned + Send + 'static,
    H: Fn(VerifiedDelivery, T) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: warp::Reply,
{
    warp::post()
        .and(warp::path!("webhooks" / "meetingbaas"))
        .and(webhooks.handle(handler))
        .recover(recover)
}

/// A handler counting its calls and answering 200 `handled <event>`.
fn counting(
    calls: &Arc<AtomicUsize>,
) -> impl Fn(VerifiedDelivery, Event) -> std::future::Ready<String> + Clone + use<> {
    let calls = Arc::clone(calls);
    move |_delivery: VerifiedDelivery, event: Event| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(format!("handled {}", event.name()))
    }
}

fn error_code(body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap();
    json["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_first_delivery_runs_the_handler_and_a_copy_is_a_duplicate() {
    let calls = Arc::new(AtomicUsize::new(0));
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(memory())),
        counting(&calls),
    );

    let response = delivery().reply(&route).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "handled bot.completed");
    for _ in 0..3 {
        let response = delivery().reply(&route).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.body(), DUPLICATE);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_reply_releases_the_claim_so_the_retry_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    // A 500, then success.
    let handler = move |_: VerifiedDelivery, _: Event| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let status = if call == 0 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            warp::reply::with_status("handled", status)
        }
    };
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(memory())),
        handler,
    );

    let statuses = [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK];
    for expected in statuses {
        assert_eq!(delivery().reply(&route).await.status(), expected);
    }
    assert_eq!(delivery().reply(&route).await.body(), DUPLICATE);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_panicking_handler_releases_its_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = move |_: VerifiedDelivery, _: Event| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            assert!(call > 0, "the handler panics the first time");
            "handled"
        }
    };
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(memory())),
        handler,
    );

    // The panic unwinds out of the filter; its future, and the claim in it, are dropped.
    let panicked = AssertUnwindSafe(delivery().reply(&route))
        .catch_unwind()
        .await;
    assert!(panicked.is_err());

    let response = delivery().reply(&route).await;
    assert_eq!(
        (response.status(), response.body().as_ref()),
        (StatusCode::OK, &b"handled"[..])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_request_dropped_while_the_handler_runs_releases_its_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    // The first call never finishes: its request is dropped (the client went away).
    let handler = move |_: VerifiedDelivery, _: Event| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if call == 0 {
                std::future::pending::<()>().await;
            }
            "handled"
        }
    };
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(memory())),
        handler,
    );

    // Polled until the handler waits, then dropped.
    assert!(delivery().reply(&route).now_or_never().is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler was reached");

    let response = delivery().reply(&route).await;
    assert_eq!(response.body(), "handled");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_copy_of_a_delivery_still_running_is_409() {
    let calls = Arc::new(AtomicUsize::new(0));
    let dedupe = memory();
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(dedupe.clone())),
        counting(&calls),
    );

    // Another replica (here: the same store) is handling the same delivery: without a message
    // id, deliveries of one scheme are recognised by their body.
    let headers = Signer::signature(SECRET).unwrap().sign_now(BODY.as_bytes());
    let running = verifier()
        .verify(&headers, Bytes::from_static(BODY.as_bytes()))
        .unwrap();
    let Begin::Proceed(claim) = dedupe.begin(&running).await.unwrap() else {
        panic!("the first claim proceeds")
    };

    let response = delivery().reply(&route).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(error_code(response.body()), "delivery_in_progress");
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // It failed: the sender's next retry is handled here.
    claim.finish(false).await;
    let response = delivery().reply(&route).await;
    assert_eq!(response.body(), "handled bot.completed");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_store_is_503_and_the_handler_does_not_run() {
    let calls = Arc::new(AtomicUsize::new(0));
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(Deduplicator::new(UnavailableStore))),
        counting(&calls),
    );
    let response = delivery().reply(&route).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(error_code(response.body()), "store_unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refused_delivery_is_not_claimed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let route = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(Deduplicator::new(UnavailableStore))),
        counting(&calls),
    );
    // Refused before the store is asked: 401 and 400, not 503.
    let unsigned = warp::test::request()
        .method("POST")
        .path("/webhooks/meetingbaas")
        .body(BODY);
    assert_eq!(
        unsigned.reply(&route).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let not_an_envelope = signed(r#"{"data":{"bot_id":"b-1"}}"#);
    let response = not_an_envelope.reply(&route).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response.body()), "invalid_envelope");
}

#[tokio::test]
async fn without_dedupe_every_copy_runs_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let route = route(WebhookConfig::new(verifier()), counting(&calls));
    for _ in 0..2 {
        assert_eq!(
            delivery().reply(&route).await.body(),
            "handled bot.completed"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_handler_chooses_the_type_it_parses() {
    // Verify only: any body, kept raw, not even read as JSON.
    let raw = route(
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(memory())),
        |delivery: VerifiedDelivery, _: IgnoredAny| async move {
            format!("{} bytes", delivery.body().len())
        },
    );
    let response = signed("[1, 2, 3]").reply(&raw).await;
    assert_eq!(response.body(), "9 bytes");
    let response = signed("not json").reply(&raw).await;
    assert_eq!(response.body(), "8 bytes");

    // A user's own type.
    #[derive(serde::Deserialize)]
    struct BotOnly {
        data: BotData,
    }
    #[derive(serde::Deserialize)]
    struct BotData {
        bot_id: String,
    }
    let typed = route(
        WebhookConfig::new(verifier()),
        |_: VerifiedDelivery, bot: BotOnly| async move { bot.data.bot_id },
    );
    assert_eq!(delivery().reply(&typed).await.body(), "b-1");
    // An envelope that does not fit your own strict type: 422 (an `Event` would take it).
    let response = signed(r#"{"event":"x"}"#).reply(&typed).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn duplicates_are_answered_without_recover() {
    let calls = Arc::new(AtomicUsize::new(0));
    let bare =
        WebhookConfig::new(Pipeline::new(verifier()).dedupe(memory())).handle(counting(&calls));
    let first: Response = delivery().filter(&bare).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let again: Response = delivery().filter(&bare).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Every option is the pipeline's: set there (here the kind filter and the inbox), it takes
/// effect in `WebhookConfig::handle` and in the extracting filters with nothing forwarded.
#[tokio::test]
async fn options_set_only_on_the_pipeline_take_effect_in_every_filter() {
    use meetingbaas_webhooks::EventKind;
    use meetingbaas_webhooks_warp::receiver::testing::RecordingInbox;

    let calls = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::new(verifier()).only([EventKind::BotFailed]);
    let response = delivery()
        .reply(&route(
            WebhookConfig::new(pipeline.clone()),
            counting(&calls),
        ))
        .await;
    assert_eq!(response.body(), r#"{"status":"ignored"}"#);
    let filter = meetingbaas_webhooks_warp::event(pipeline)
        .map(|_: VerifiedDelivery, event: Event| event.name().to_owned())
        .recover(recover);
    let response = delivery().reply(&filter).await;
    assert_eq!(response.body(), r#"{"status":"ignored"}"#);

    let inbox = Arc::new(RecordingInbox::new());
    let pipeline = Pipeline::new(verifier()).inbox(inbox.clone());
    let response = delivery()
        .reply(&route(
            WebhookConfig::new(pipeline.clone()),
            counting(&calls),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.body(), r#"{"status":"queued","id":"1"}"#);
    let filter = meetingbaas_webhooks_warp::event(pipeline)
        .map(|_: VerifiedDelivery, event: Event| event.name().to_owned())
        .recover(recover);
    let response = delivery().reply(&filter).await;
    assert_eq!(response.status(), StatusCode::OK, "a copy: duplicate");
    assert_eq!(response.body(), DUPLICATE);
    assert_eq!(inbox.stored().len(), 2);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "stored, never handled in the request"
    );
}

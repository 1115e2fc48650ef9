//! Deduplication through `Pipeline::dedupe` and the `Idempotency` middleware: the core's
//! behaviour in front of an actix-web handler, counted by the handler itself.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use futures_util::FutureExt;
use meetingbaas_webhooks::{Bytes, Signer, Value, Verifier};
use meetingbaas_webhooks_actix::Pipeline;
use meetingbaas_webhooks_actix::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_actix::{Idempotency, Webhook, WebhookConfig};
use meetingbaas_webhooks_receiver::idempotency::{
    Begin, Deduplicator, MemoryStore, UnavailableStore,
};

const SECRET: &str = "signature secret";
const PATH: &str = "/webhooks/meetingbaas";
const BODY: &str = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .unwrap()
}

fn memory() -> Deduplicator {
    Deduplicator::new(MemoryStore::default())
}

/// A fresh copy of the delivery of `BODY` (signed anew each time, as a retry is).
fn delivery() -> TestRequest {
    signed_post(
        PATH,
        &TestDelivery::signed(&Signer::signature(SECRET).unwrap(), BODY),
    )
}

/// Counts its calls and answers 200 `handled`.
fn counting(
    calls: &Arc<AtomicUsize>,
) -> impl Fn(Webhook) -> std::future::Ready<HttpResponse> + Clone + use<> {
    let calls = Arc::clone(calls);
    move |_webhook: Webhook| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(HttpResponse::Ok().body("handled"))
    }
}

async fn answer_of(response: ServiceResponse) -> (StatusCode, String, String) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = read_body(response).await;
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn error_code(body: &str) -> String {
    let json: Value = serde_json::from_str(body).unwrap();
    json["error"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn the_first_delivery_runs_the_handler_and_a_copy_is_a_duplicate() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(memory()),
            ))
            .wrap(Idempotency)
            .route(PATH, web::post().to(counting(&calls))),
    )
    .await;

    let (status, _, body) = answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "handled"));
    for _ in 0..3 {
        let (status, content_type, body) =
            answer_of(call_service(&app, delivery().to_request()).await).await;
        assert_eq!(
            (status, content_type.as_str(), body.as_str()),
            (
                StatusCode::OK,
                "application/json",
                r#"{"status":"duplicate"}"#
            )
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn a_failed_answer_releases_the_claim_so_the_retry_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    // An error, then a non-2xx response, then success.
    let handler = move |_webhook: Webhook| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match call {
                0 => Err(actix_web::error::ErrorInternalServerError("database down")),
                1 => Ok(HttpResponse::ServiceUnavailable().finish()),
                _ => Ok(HttpResponse::Ok().body("handled")),
            }
        }
    };
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(memory()),
            ))
            .wrap(Idempotency)
            .route(PATH, web::post().to(handler)),
    )
    .await;

    let statuses = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::OK,
    ];
    for expected in statuses {
        assert_eq!(
            call_service(&app, delivery().to_request()).await.status(),
            expected
        );
    }
    let (status, _, body) = answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"duplicate"}"#)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[actix_web::test]
async fn a_panicking_handler_releases_its_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = move |_webhook: Webhook| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            assert!(call > 0, "the handler panics the first time");
            HttpResponse::Ok().body("handled")
        }
    };
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(memory()),
            ))
            .wrap(Idempotency)
            .route(PATH, web::post().to(handler)),
    )
    .await;

    // The panic unwinds out of the service; the request, and the claim in it, are dropped.
    let panicked = AssertUnwindSafe(call_service(&app, delivery().to_request()))
        .catch_unwind()
        .await;
    assert!(panicked.is_err());

    let (status, _, body) = answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "handled"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[actix_web::test]
async fn a_copy_of_a_delivery_still_running_is_409() {
    let calls = Arc::new(AtomicUsize::new(0));
    let dedupe = memory();
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(dedupe.clone()),
            ))
            .wrap(Idempotency)
            .route(PATH, web::post().to(counting(&calls))),
    )
    .await;

    // Another replica (here: the same store) is handling the same delivery: without a message
    // id, deliveries of one scheme are recognised by their body.
    let headers = Signer::signature(SECRET).unwrap().sign_now(BODY.as_bytes());
    let running = verifier()
        .verify(&headers, Bytes::from_static(BODY.as_bytes()))
        .unwrap();
    let Begin::Proceed(claim) = dedupe.begin(&running).await.unwrap() else {
        panic!("the first claim proceeds")
    };

    let (status, content_type, body) =
        answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(content_type, "application/json");
    assert_eq!(error_code(&body), "delivery_in_progress");
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // It failed: the sender's next retry is handled here.
    claim.finish(false).await;
    let (status, _, body) = answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "handled"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn an_unreachable_store_is_503_and_the_handler_does_not_run() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(Deduplicator::new(UnavailableStore)),
            ))
            .wrap(Idempotency)
            .route(PATH, web::post().to(counting(&calls))),
    )
    .await;
    let (status, content_type, body) =
        answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(content_type, "application/json");
    assert_eq!(error_code(&body), "store_unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn a_refused_delivery_is_not_claimed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(Deduplicator::new(UnavailableStore)),
            ))
            .wrap(Idempotency)
            .route(PATH, web::post().to(counting(&calls))),
    )
    .await;
    // Refused before the store is asked: 401 and 422, not 503.
    let unsigned = TestRequest::post().uri(PATH).set_payload(BODY).to_request();
    assert_eq!(
        call_service(&app, unsigned).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Not an envelope: refused, so never claimed.
    let bad_data = r#"{"data":{"bot_id":"b-1"}}"#;
    let mut request = TestRequest::post().uri(PATH);
    for header in Signer::signature(SECRET)
        .unwrap()
        .sign_now(bad_data.as_bytes())
    {
        request = request.insert_header(header);
    }
    let response = call_service(&app, request.set_payload(bad_data).to_request()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn dedupe_without_the_middleware_is_a_json_500() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(memory()),
            ))
            .route(PATH, web::post().to(counting(&calls))),
    )
    .await;
    let (status, content_type, body) =
        answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type, "application/json");
    assert_eq!(error_code(&body), "idempotency_middleware_missing");
    assert!(body.contains("Idempotency"), "{body}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn the_middleware_without_dedupe_changes_nothing() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(verifier()))
            .wrap(Idempotency)
            .route(PATH, web::post().to(counting(&calls))),
    )
    .await;
    for _ in 0..2 {
        let (status, _, body) = answer_of(call_service(&app, delivery().to_request()).await).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "handled"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[actix_web::test]
async fn the_middleware_may_wrap_only_the_resource() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = init_service(
        App::new()
            .app_data(WebhookConfig::new(
                Pipeline::new(verifier()).dedupe(memory()),
            ))
            .service(
                web::resource(PATH)
                    .wrap(Idempotency)
                    .route(web::post().to(counting(&calls))),
            ),
    )
    .await;
    assert_eq!(
        call_service(&app, delivery().to_request()).await.status(),
        StatusCode::OK
    );
    let (_, _, body) = answer_of(call_service(&app, delivery().to_request()).await).await;
    assert_eq!(body, r#"{"status":"duplicate"}"#);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

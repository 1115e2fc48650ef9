//! The `VerifyWebhook` middleware on a scope and the `intake` resource: nothing unverified
//! reaches a handler or the inbox, whatever the handlers take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::ServiceResponse;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use meetingbaas_webhooks::{Signer, Verifier};
use meetingbaas_webhooks_actix::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_actix::{Deduplicator, MemoryStore, Pipeline};
use meetingbaas_webhooks_actix::{VerifyWebhook, Webhook, intake};
use meetingbaas_webhooks_receiver::testing::RecordingInbox;

const SECRET: &str = "signature secret";
const BODY: &str = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .unwrap()
}

fn signed(uri: &str) -> TestRequest {
    signed_body(uri, BODY)
}

fn signed_body(uri: &str, body: &str) -> TestRequest {
    signed_post(
        uri,
        &TestDelivery::signed(&Signer::signature(SECRET).unwrap(), body.to_owned()),
    )
}

fn other_body(bot: &str) -> String {
    BODY.replace("b-1", bot)
}

fn unsigned(uri: &str) -> TestRequest {
    TestRequest::post().uri(uri).set_payload(BODY)
}

fn forged(uri: &str) -> TestRequest {
    let delivery = TestDelivery::signed(&Signer::signature("another secret").unwrap(), BODY);
    signed_post(uri, &delivery)
}

async fn status_and_body(response: ServiceResponse) -> (u16, String) {
    let status = response.status().as_u16();
    let body = read_body(response).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A handler that takes no extractor at all: it counts its calls.
fn plain(
    calls: &Arc<AtomicUsize>,
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone + use<> {
    let calls = Arc::clone(calls);
    move || {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(HttpResponse::Ok().body("handled"))
    }
}

#[actix_web::test]
async fn a_scope_set_up_for_the_inbox_refuses_unsigned_and_forged_posts_and_stores_nothing() {
    let inbox = Arc::new(RecordingInbox::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::new(verifier()).inbox(inbox.clone());
    let app = init_service(
        App::new().service(
            web::scope("/webhooks")
                .wrap(VerifyWebhook::new(pipeline))
                // Written like a dummy axum route: the middleware answers before it.
                .route("/meetingbaas", web::post().to(plain(&calls))),
        ),
    )
    .await;
    for request in [
        unsigned("/webhooks/meetingbaas"),
        forged("/webhooks/meetingbaas"),
    ] {
        let (status, body) = status_and_body(call_service(&app, request.to_request()).await).await;
        assert_eq!(status, 401, "{body}");
    }
    // Another path of the scope is protected too.
    let (status, _) =
        status_and_body(call_service(&app, unsigned("/webhooks/other").to_request()).await).await;
    assert_eq!(status, 401);
    assert!(inbox.stored().is_empty());

    let (status, body) =
        status_and_body(call_service(&app, signed("/webhooks/meetingbaas").to_request()).await)
            .await;
    assert_eq!(status, 202, "{body}");
    assert!(body.contains("queued"), "{body}");
    assert_eq!(inbox.stored().len(), 1);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the inbox's worker handles it, not the route"
    );
}

#[actix_web::test]
async fn a_protected_scope_runs_handlers_of_any_shape_for_verified_deliveries_only() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::new(verifier()).dedupe(Deduplicator::new(MemoryStore::default()));
    let app = init_service(
        App::new().service(
            web::scope("/webhooks")
                .wrap(VerifyWebhook::new(pipeline))
                .route("/plain", web::post().to(plain(&calls)))
                .route(
                    "/bytes",
                    web::post().to(|body: web::Bytes| async move { body }),
                )
                .route(
                    "/typed",
                    web::post().to(|webhook: Webhook| async move {
                        HttpResponse::Ok().body(format!(
                            "{} {:?}",
                            webhook.name(),
                            webhook.bot_id()
                        ))
                    }),
                ),
        ),
    )
    .await;
    // Unsigned: 401, no handler.
    let (status, _) =
        status_and_body(call_service(&app, unsigned("/webhooks/plain").to_request()).await).await;
    assert_eq!(status, 401);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Another method: 405 with the methods that are delivered with.
    let request = TestRequest::get().uri("/webhooks/plain").to_request();
    let response = call_service(&app, request).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").unwrap(), "POST, PUT");
    // Signed: the plain handler runs once; its copy is a duplicate (the middleware completed
    // the claim).
    let delivery = TestDelivery::signed(&Signer::signature(SECRET).unwrap(), BODY);
    let (status, body) = status_and_body(
        call_service(&app, signed_post("/webhooks/plain", &delivery).to_request()).await,
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "handled"));
    let (status, body) = status_and_body(
        call_service(&app, signed_post("/webhooks/plain", &delivery).to_request()).await,
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The body, byte for byte, for a handler that reads it.
    let sent = other_body("b-2");
    let request = signed_body("/webhooks/bytes", &sent).to_request();
    let (status, body) = status_and_body(call_service(&app, request).await).await;
    assert_eq!((status, body), (200, sent));
    // The extractor takes the middleware's delivery.
    let request = signed_body("/webhooks/typed", &other_body("b-3")).to_request();
    let (status, body) = status_and_body(call_service(&app, request).await).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "bot.completed Some(\"b-3\")")
    );
}

#[actix_web::test]
async fn intake_stores_verified_deliveries_and_refuses_the_rest() {
    let inbox = Arc::new(RecordingInbox::new());
    let pipeline = Pipeline::new(verifier()).inbox(inbox.clone());
    let app = init_service(App::new().service(intake("/webhooks/meetingbaas", pipeline))).await;
    for request in [
        unsigned("/webhooks/meetingbaas"),
        forged("/webhooks/meetingbaas"),
    ] {
        let (status, body) = status_and_body(call_service(&app, request.to_request()).await).await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("\"error\""), "{body}");
    }
    let response = call_service(
        &app,
        TestRequest::get().uri("/webhooks/meetingbaas").to_request(),
    )
    .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").unwrap(), "POST, PUT");
    assert!(inbox.stored().is_empty());

    let put = signed_body("/webhooks/meetingbaas", &other_body("b-put"))
        .method(actix_web::http::Method::PUT);
    for request in [signed("/webhooks/meetingbaas"), put] {
        let (status, body) = status_and_body(call_service(&app, request.to_request()).await).await;
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(inbox.stored().len(), 2);
}

#[actix_web::test]
async fn intake_without_an_inbox_is_a_500_that_keeps_the_delivery_with_the_sender() {
    let app = init_service(App::new().service(intake("/hook", verifier()))).await;
    let (status, body) =
        status_and_body(call_service(&app, signed("/hook").to_request()).await).await;
    assert_eq!(status, 500);
    assert!(body.contains("intake_without_inbox"), "{body}");
}

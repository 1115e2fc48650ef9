//! The extractors driven through a real actix-web service with `TestRequest`: bodies with a
//! `Content-Length` and chunked bodies (a `Payload` stream of several frames).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::{Payload, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, HttpResponse, web};
use futures_util::{Stream, StreamExt, stream};
use meetingbaas_webhooks::{Bytes, Scheme, Signer, Value, Verifier};
use meetingbaas_webhooks_actix::Pipeline;
use meetingbaas_webhooks_actix::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_actix::{Webhook, WebhookConfig};
use serde::de::IgnoredAny;

const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SIGNATURE_SECRET: &str = "signature secret";
const CALLBACK_SECRET: &str = "callback secret";
const API_KEY: &str = "api key";
const LIMIT: usize = 1024;
const PATH: &str = "/webhooks/meetingbaas";
const BOT_FAILED: &str =
    r#"{"event":"bot.failed","data":{"bot_id":"b-1","error_code":"BOT_NOT_ACCEPTED"}}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX_SECRET)
        .signature_secret(SIGNATURE_SECRET)
        .callback_secret(CALLBACK_SECRET)
        .api_key(API_KEY)
        .alert_secret(API_KEY)
        .max_body_bytes(LIMIT)
        .build()
        .unwrap()
}

fn signer(scheme: Scheme) -> Signer {
    let secret = match scheme {
        Scheme::Svix => SVIX_SECRET,
        Scheme::Signature => SIGNATURE_SECRET,
        Scheme::Callback => CALLBACK_SECRET,
        _ => API_KEY,
    };
    Signer::new(scheme, secret).unwrap()
}

/// A POST to the webhook route carrying `body` signed under `scheme`.
fn signed(scheme: Scheme, body: &[u8]) -> TestRequest {
    signed_post(
        PATH,
        &TestDelivery::signed(&signer(scheme), Bytes::copy_from_slice(body)),
    )
}

/// The headers of `body` signed under `scheme`, without a body (nor a `Content-Length`): for a
/// chunked payload put in afterwards.
fn signed_chunked(scheme: Scheme, body: &[u8]) -> TestRequest {
    let delivery = TestDelivery::signed(&signer(scheme), Bytes::copy_from_slice(body));
    let mut request = TestRequest::post().uri(PATH);
    for (name, value) in delivery.headers().iter() {
        request = request.insert_header((name, value));
    }
    request
}

/// Answers `<wire name> <scheme> <bot id>`.
async fn event_handler(webhook: Webhook) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "{} {} {}",
        webhook.name(),
        webhook.scheme(),
        webhook.bot_id().unwrap_or("-")
    ))
}

/// The webhook route answered by `event_handler`, under `config` (default: `verifier()`).
macro_rules! app {
    () => {
        app!(WebhookConfig::new(verifier()))
    };
    ($config:expr) => {
        init_service(
            App::new()
                .app_data($config)
                .route(PATH, web::post().to(event_handler)),
        )
        .await
    };
}

/// A streamed body: the frames in order, counting how many were pulled from the stream.
fn chunked(frames: Vec<Result<Bytes, PayloadError>>) -> (Payload, Arc<AtomicUsize>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let stream = stream::iter(frames).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(stream);
    (Payload::from(stream), pulled)
}

fn frames_of(body: &[u8], frame_len: usize) -> Vec<Result<Bytes, PayloadError>> {
    body.chunks(frame_len)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect()
}

/// The status, content type and parsed JSON body of an error answer.
async fn error_of(response: ServiceResponse) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = read_body(response).await;
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, content_type, json)
}

async fn text_of(response: ServiceResponse) -> (StatusCode, String) {
    let status = response.status();
    let body = read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn every_scheme_is_accepted_with_content_length() {
    let app = app!();
    for scheme in Scheme::ALL {
        let request = signed(scheme, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
        let (status, body) = text_of(call_service(&app, request.to_request()).await).await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {body}");
        assert_eq!(body, format!("bot.failed {scheme} b-1"));
    }
}

#[actix_web::test]
async fn a_chunked_body_under_the_limit_is_accepted() {
    let app = app!();
    let request = signed_chunked(Scheme::Svix, BOT_FAILED.as_bytes()).to_request();
    let (payload, pulled) = chunked(frames_of(BOT_FAILED.as_bytes(), 7));
    let (request, _) = request.replace_payload(payload);
    let (status, body) = text_of(call_service(&app, request).await).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "bot.failed svix b-1")
    );
    assert_eq!(pulled.load(Ordering::SeqCst), BOT_FAILED.len().div_ceil(7));
}

#[actix_web::test]
async fn a_body_of_exactly_the_limit_is_read() {
    // Padding inside `data` keeps the JSON valid and the event known.
    let padding =
        "x".repeat(LIMIT - r#"{"event":"bot.failed","data":{"bot_id":"b-1","p":""}}"#.len());
    let body = format!(r#"{{"event":"bot.failed","data":{{"bot_id":"b-1","p":"{padding}"}}}}"#);
    assert_eq!(body.len(), LIMIT);
    let app = app!();
    let request = signed(Scheme::Signature, body.as_bytes()).set_payload(body.clone());
    let (status, _) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_declared_length_over_the_limit_is_413_without_reading() {
    let app = app!();
    let body = vec![b' '; LIMIT + 1];
    let request = signed(Scheme::Signature, &body)
        .insert_header(("content-length", (LIMIT + 1).to_string()))
        .to_request();
    let (payload, pulled) = chunked(frames_of(&body, 100));
    let (request, _) = request.replace_payload(payload);
    let (status, content_type, json) = error_of(call_service(&app, request).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["error"], "payload_too_large");
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "nothing is read");
}

#[actix_web::test]
async fn a_content_length_body_over_the_limit_is_413() {
    let app = app!();
    let body = vec![b' '; LIMIT + 1];
    let request = signed(Scheme::Signature, &body).set_payload(body);
    let (status, _, json) = error_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "payload_too_large");
}

#[actix_web::test]
async fn a_chunked_body_over_the_limit_is_413_and_reading_stops_at_once() {
    let app = app!();
    // Ten frames of 200 bytes: the sixth passes the 1024-byte limit.
    let body = vec![b' '; 2000];
    let request = signed_chunked(Scheme::Signature, &body).to_request();
    let (payload, pulled) = chunked(frames_of(&body, 200));
    let (request, _) = request.replace_payload(payload);
    let (status, content_type, json) = error_of(call_service(&app, request).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["error"], "payload_too_large");
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        6,
        "no frame is read past the limit"
    );
}

#[actix_web::test]
async fn a_body_stream_error_is_400_body_unreadable() {
    let app = app!();
    let request = signed_chunked(Scheme::Signature, BOT_FAILED.as_bytes()).to_request();
    let (payload, _) = chunked(vec![
        Ok(Bytes::from_static(b"{\"event\"")),
        Err(PayloadError::Incomplete(None)),
    ]);
    let (request, _) = request.replace_payload(payload);
    let (status, _, json) = error_of(call_service(&app, request).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "body_unreadable");
}

#[actix_web::test]
async fn missing_credentials_are_401() {
    let app = app!();
    let request = TestRequest::post().uri(PATH).set_payload(BOT_FAILED);
    let (status, content_type, json) =
        error_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["error"], "missing_credentials");
    assert!(json["message"].is_string());
}

#[actix_web::test]
async fn a_signature_for_another_body_is_401() {
    let app = app!();
    for scheme in [Scheme::Svix, Scheme::Signature] {
        let request = signed(scheme, b"{}").set_payload(BOT_FAILED);
        let (status, _, json) = error_of(call_service(&app, request.to_request()).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{scheme}");
        assert_eq!(json["error"], "invalid_signature");
    }
}

#[actix_web::test]
async fn a_wrong_token_is_401() {
    let app = app!();
    let request = TestRequest::post()
        .uri(PATH)
        .insert_header(("x-mb-secret", "not the secret"))
        .set_payload(BOT_FAILED);
    let (status, _, json) = error_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["error"], "invalid_token");
}

#[actix_web::test]
async fn verified_bodies_that_do_not_parse_are_400_or_422() {
    let app = app!();
    let cases = [
        ("{", StatusCode::BAD_REQUEST, "invalid_json"),
        ("[]", StatusCode::BAD_REQUEST, "invalid_envelope"),
        (
            r#"{"data":{}}"#,
            StatusCode::BAD_REQUEST,
            "invalid_envelope",
        ),
    ];
    for (body, expected, code) in cases {
        let request = signed(Scheme::Signature, body.as_bytes()).set_payload(body);
        let (status, content_type, json) =
            error_of(call_service(&app, request.to_request()).await).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
        assert_eq!(content_type, "application/json");
    }
}

#[actix_web::test]
async fn unknown_events_reach_the_handler() {
    let app = app!();
    let body = r#"{"event":"something.new","data":{"bot_id":"b-9"}}"#;
    let request = signed(Scheme::Callback, body.as_bytes()).set_payload(body);
    let (status, text) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "something.new callback b-9")
    );
}

/// A user's own payload type.
#[derive(serde::Deserialize)]
struct BotOnly {
    event: String,
    data: BotData,
}

#[derive(serde::Deserialize)]
struct BotData {
    bot_id: String,
}

#[actix_web::test]
async fn a_user_type_is_parsed_and_its_errors_are_400_or_422() {
    let app = init_service(App::new().app_data(WebhookConfig::new(verifier())).route(
        PATH,
        web::post().to(|webhook: Webhook<BotOnly>| async move {
            let (delivery, payload) = webhook.into_parts();
            format!(
                "{} {} {}",
                payload.event,
                payload.data.bot_id,
                delivery.scheme()
            )
        }),
    ))
    .await;
    let request = signed(Scheme::ApiKey, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let (status, text) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "bot.failed b-1 api-key")
    );

    let cases = [
        ("not json", StatusCode::BAD_REQUEST, "invalid_json"),
        (
            r#"{"event":"x"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event_data",
        ),
    ];
    for (body, expected, code) in cases {
        let request = signed(Scheme::ApiKey, body.as_bytes()).set_payload(body);
        let (status, _, json) = error_of(call_service(&app, request.to_request()).await).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn raw_json_is_available_as_a_value() {
    let app = init_service(App::new().app_data(WebhookConfig::new(verifier())).route(
        PATH,
        web::post().to(|webhook: Webhook<Value>| async move {
            webhook["data"]["error_code"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        }),
    ))
    .await;
    let request = signed(Scheme::Svix, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let (status, text) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "BOT_NOT_ACCEPTED")
    );
}

#[actix_web::test]
async fn webhook_of_ignored_any_verifies_and_keeps_the_raw_body() {
    let app = init_service(App::new().app_data(WebhookConfig::new(verifier())).route(
        PATH,
        web::post().to(|webhook: Webhook<IgnoredAny>| async move {
            let message_id = webhook.message_id().map(str::to_owned);
            let body = webhook.delivery.into_body();
            format!("{} {:?}", body.len(), message_id.is_some())
        }),
    ))
    .await;
    // Verify only: any body, even one that is no webhook envelope, or not JSON at all.
    let body = "[1, 2, 3]";
    let request = signed(Scheme::Svix, body.as_bytes()).set_payload(body);
    let (status, text) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "9 true"));

    let body = "not json at all";
    let request = signed(Scheme::Svix, body.as_bytes()).set_payload(body);
    let (status, text) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "15 true"));

    let request = TestRequest::post().uri(PATH).set_payload(body);
    let (status, _, json) = error_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_credentials"))
    );
}

#[actix_web::test]
async fn the_pipeline_limit_lowers_the_verifiers() {
    let app = app!(WebhookConfig::new(Pipeline::new(verifier()).limit(16)));
    let request = signed(Scheme::Signature, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let (status, _, json) = error_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(json["message"].as_str().unwrap().contains("16 bytes"));

    let config = WebhookConfig::new(Pipeline::new(verifier()).limit(usize::MAX));
    assert_eq!(
        config.pipeline().max_body_bytes(),
        LIMIT,
        "the verifier's limit still applies"
    );
}

#[actix_web::test]
async fn the_config_is_found_in_web_data_too() {
    let app = init_service(
        App::new()
            .app_data(web::Data::new(WebhookConfig::new(verifier())))
            .route(PATH, web::post().to(event_handler)),
    )
    .await;
    let request = signed(Scheme::Signature, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let (status, _) = text_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn without_a_config_every_request_is_a_json_500() {
    let app = init_service(App::new().route(PATH, web::post().to(event_handler))).await;
    let request = signed(Scheme::Signature, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let (status, content_type, json) =
        error_of(call_service(&app, request.to_request()).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["error"], "webhook_not_configured");
    assert!(json["message"].as_str().unwrap().contains("WebhookConfig"));
}

/// Every option is the pipeline's: set there (here the kind filter and the inbox), it takes
/// effect in the extractor with nothing forwarded.
#[actix_web::test]
async fn options_set_only_on_the_pipeline_take_effect_in_the_extractor() {
    use meetingbaas_webhooks::EventKind;
    use meetingbaas_webhooks_actix::receiver::testing::RecordingInbox;

    let app = app!(WebhookConfig::new(
        Pipeline::new(verifier()).only([EventKind::BotCompleted])
    ));
    let request = signed(Scheme::Signature, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let response = call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(read_body(response).await, r#"{"status":"ignored"}"#);

    let inbox = Arc::new(RecordingInbox::new());
    let app = app!(WebhookConfig::new(
        Pipeline::new(verifier()).inbox(inbox.clone())
    ));
    let request = signed(Scheme::Signature, BOT_FAILED.as_bytes()).set_payload(BOT_FAILED);
    let response = call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(read_body(response).await, r#"{"status":"queued","id":"1"}"#);
    assert_eq!(inbox.stored().len(), 1);
}

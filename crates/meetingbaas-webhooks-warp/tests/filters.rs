//! The filters driven with `warp::test`: one behaviour per test.

use meetingbaas_webhooks::{Event, Scheme, Signer, Value, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_warp::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_warp::{WebhookRejection, event, json, recover, verified};
use warp::Filter;
use warp::http::{Response, StatusCode};
use warp::hyper::body::Bytes;
use warp::test::RequestBuilder;

const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SIGNATURE_SECRET: &str = "signature secret";
const CALLBACK_SECRET: &str = "callback secret";
const API_KEY: &str = "api key";
const LIMIT: usize = 1024;
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

/// A POST to the webhook path carrying `body` signed under `scheme`.
fn signed(scheme: Scheme, body: &[u8]) -> RequestBuilder {
    let delivery = TestDelivery::signed(&signer(scheme), Bytes::copy_from_slice(body));
    signed_post("/webhooks/meetingbaas", &delivery)
}

/// The route answering `<wire name> <scheme> <bot id>` for a verified event.
fn event_route() -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::post()
        .and(warp::path!("webhooks" / "meetingbaas"))
        .and(event(verifier()))
        .map(|delivery: VerifiedDelivery, event: Event| {
            format!(
                "{} {} {}",
                event.name(),
                delivery.scheme(),
                event.bot_id().unwrap_or("-")
            )
        })
        .recover(recover)
}

/// The status, content type and JSON body of an error answer.
fn error_of(response: &Response<Bytes>) -> (StatusCode, &str, Value) {
    let content_type = response
        .headers()
        .get("content-type")
        .map_or("", |value| value.to_str().unwrap());
    let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (response.status(), content_type, json)
}

#[tokio::test]
async fn every_scheme_is_accepted() {
    let route = event_route();
    for scheme in Scheme::ALL {
        let response = signed(scheme, BOT_FAILED.as_bytes()).reply(&route).await;
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
        assert_eq!(response.body(), format!("bot.failed {scheme} b-1").as_str());
    }
}

#[tokio::test]
async fn missing_credentials_are_401_json() {
    let response = warp::test::request()
        .method("POST")
        .path("/webhooks/meetingbaas")
        .body(BOT_FAILED)
        .reply(&event_route())
        .await;
    let (status, content_type, json) = error_of(&response);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["error"], "missing_credentials");
    assert!(json["message"].is_string());
}

#[tokio::test]
async fn a_signature_for_another_body_is_401() {
    for scheme in [Scheme::Svix, Scheme::Signature] {
        let mut request = warp::test::request()
            .method("POST")
            .path("/webhooks/meetingbaas");
        for (name, value) in signer(scheme).sign_now(b"{}") {
            request = request.header(name, value);
        }
        let response = request.body(BOT_FAILED).reply(&event_route()).await;
        let (status, _, json) = error_of(&response);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{scheme}");
        assert_eq!(json["error"], "invalid_signature");
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413() {
    // The declared length alone decides: the (short) body is never looked at.
    let response = signed(Scheme::Signature, BOT_FAILED.as_bytes())
        .header("content-length", (LIMIT + 1).to_string())
        .reply(&event_route())
        .await;
    let (status, content_type, json) = error_of(&response);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type, "application/json");
    assert_eq!(json["error"], "payload_too_large");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_even_when_the_declared_length_lies() {
    let body = vec![b' '; LIMIT + 1];
    let response = signed(Scheme::Signature, &body)
        .header("content-length", "10")
        .reply(&event_route())
        .await;
    let (status, _, json) = error_of(&response);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "payload_too_large");
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read() {
    let padding =
        "x".repeat(LIMIT - r#"{"event":"bot.failed","data":{"bot_id":"b-1","p":""}}"#.len());
    let body = format!(r#"{{"event":"bot.failed","data":{{"bot_id":"b-1","p":"{padding}"}}}}"#);
    assert_eq!(body.len(), LIMIT);
    let response = signed(Scheme::Svix, body.as_bytes())
        .reply(&event_route())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn verified_bodies_that_do_not_parse_are_400_or_422() {
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
        let response = signed(Scheme::Signature, body.as_bytes())
            .reply(&event_route())
            .await;
        let (status, content_type, json) = error_of(&response);
        assert_eq!(
            (status, json["error"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
        assert_eq!(content_type, "application/json");
    }
}

#[tokio::test]
async fn unknown_events_reach_the_handler() {
    let body = r#"{"event":"something.new","data":{"bot_id":"b-9"}}"#;
    let response = signed(Scheme::Callback, body.as_bytes())
        .reply(&event_route())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "something.new callback b-9");
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

#[tokio::test]
async fn a_user_type_is_parsed_and_its_errors_are_400_or_422() {
    let route = json::<BotOnly>(verifier())
        .map(|delivery: VerifiedDelivery, payload: BotOnly| {
            format!(
                "{} {} {}",
                payload.event,
                payload.data.bot_id,
                delivery.scheme()
            )
        })
        .recover(recover);
    let response = signed(Scheme::ApiKey, BOT_FAILED.as_bytes())
        .reply(&route)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "bot.failed b-1 api-key");

    let cases = [
        ("not json", StatusCode::BAD_REQUEST, "invalid_json"),
        (
            r#"{"event":"x"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event_data",
        ),
    ];
    for (body, expected, code) in cases {
        let response = signed(Scheme::ApiKey, body.as_bytes()).reply(&route).await;
        let (status, _, json) = error_of(&response);
        assert_eq!(
            (status, json["error"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn verified_does_not_parse_and_keeps_the_raw_body() {
    let route = verified(verifier())
        .map(|delivery: VerifiedDelivery| {
            format!(
                "{} {}",
                delivery.body().len(),
                delivery.message_id().is_some()
            )
        })
        .recover(recover);
    let body = "not json at all";
    let response = signed(Scheme::Svix, body.as_bytes()).reply(&route).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "15 true");
}

#[tokio::test]
async fn the_rejection_carries_the_core_error() {
    let rejection = warp::test::request()
        .method("POST")
        .body(BOT_FAILED)
        .filter(&verified(verifier()))
        .await
        .unwrap_err();
    let ours = rejection.find::<WebhookRejection>().unwrap();
    assert_eq!(ours.error().map(|e| e.code()), Some("missing_credentials"));
    assert_eq!(ours.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn other_rejections_are_left_to_warp() {
    let route = warp::post()
        .and(warp::path!("webhooks" / "meetingbaas"))
        .and(event(verifier()))
        .map(|_: VerifiedDelivery, _: Event| "ok")
        .recover(recover);
    let response = warp::test::request()
        .method("POST")
        .path("/elsewhere")
        .body(BOT_FAILED)
        .reply(&route)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = warp::test::request()
        .method("GET")
        .path("/webhooks/meetingbaas")
        .reply(&route)
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

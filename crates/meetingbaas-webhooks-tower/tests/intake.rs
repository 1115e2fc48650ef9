//! The `Intake` service under axum: no handler; nothing unverified reaches the inbox.
#![cfg(feature = "axum")]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::on_service;
use http::Request;
use http_body_util::BodyExt;
use meetingbaas_webhooks_receiver::testing::RecordingInbox;
use meetingbaas_webhooks_tower::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_tower::{Intake, Pipeline, Signer, Verifier, delivery_methods};
use tower::ServiceExt;

const SECRET: &str = "s3cret";
const PATH: &str = "/webhooks/meetingbaas";

fn verifier() -> Verifier {
    Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .unwrap()
}

fn body(bot: &str) -> String {
    format!(r#"{{"event":"bot.completed","data":{{"bot_id":"{bot}"}}}}"#)
}

fn signed_by(secret: &str, bot: &str) -> Request<Body> {
    let signer = Signer::signature(secret).unwrap();
    signed_post(PATH, &TestDelivery::signed(&signer, body(bot)))
}

async fn answer(app: &Router, request: Request<Body>) -> (u16, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_route_set_up_for_the_inbox_refuses_unsigned_and_forged_posts_and_stores_nothing() {
    let inbox = Arc::new(RecordingInbox::new());
    let pipeline = Pipeline::new(verifier()).inbox(inbox.clone());
    let app = Router::new().route(PATH, on_service(delivery_methods(), Intake::new(pipeline)));

    let unsigned = Request::post(PATH).body(Body::from(body("b-1"))).unwrap();
    for request in [unsigned, signed_by("another secret", "b-1")] {
        let (status, body) = answer(&app, request).await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, _) = answer(&app, Request::get(PATH).body(Body::empty()).unwrap()).await;
    assert_eq!(status, 405);
    assert!(inbox.stored().is_empty());

    let (status, body) = answer(&app, signed_by(SECRET, "b-1")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(inbox.stored().len(), 1);
}

#[tokio::test]
async fn intake_answers_other_methods_405_itself_when_routed_without_a_filter() {
    let inbox = Arc::new(RecordingInbox::new());
    let app = Router::new().route_service(
        PATH,
        Intake::new(Pipeline::new(verifier()).inbox(inbox.clone())),
    );
    let response = app
        .clone()
        .oneshot(Request::delete(PATH).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST, PUT");
    let (status, body) = answer(&app, signed_by(SECRET, "b-9")).await;
    assert_eq!(status, 202, "{body}");
}

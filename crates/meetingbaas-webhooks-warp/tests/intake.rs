//! The `intake` filter: one filter, no handler; nothing unverified reaches the inbox.

use std::sync::Arc;

use meetingbaas_webhooks::{Signer, Verifier};
use meetingbaas_webhooks_receiver::testing::RecordingInbox;
use meetingbaas_webhooks_warp::testing::{TestDelivery, signed_post};
use meetingbaas_webhooks_warp::{Pipeline, intake};
use warp::Filter;
use warp::test::RequestBuilder;

const SECRET: &str = "signature secret";
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

fn signed_by(secret: &str, bot: &str) -> RequestBuilder {
    let signer = Signer::signature(secret).unwrap();
    signed_post(PATH, &TestDelivery::signed(&signer, body(bot)))
}

#[tokio::test]
async fn a_route_set_up_for_the_inbox_refuses_unsigned_and_forged_posts_and_stores_nothing() {
    let inbox = Arc::new(RecordingInbox::new());
    let pipeline = Pipeline::new(verifier()).inbox(inbox.clone());
    let route = warp::path!("webhooks" / "meetingbaas").and(intake(pipeline));

    let unsigned = warp::test::request()
        .method("POST")
        .path(PATH)
        .body(body("b-1"));
    for request in [unsigned, signed_by("another secret", "b-1")] {
        let response = request.reply(&route).await;
        assert_eq!(response.status(), 401, "{:?}", response.body());
        assert!(String::from_utf8_lossy(response.body()).contains("\"error\""));
    }
    let response = warp::test::request()
        .method("GET")
        .path(PATH)
        .reply(&route)
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST, PUT");
    assert!(inbox.stored().is_empty());

    let response = signed_by(SECRET, "b-1").reply(&route).await;
    assert_eq!(response.status(), 202, "{:?}", response.body());
    let response = signed_by(SECRET, "b-2").method("PUT").reply(&route).await;
    assert_eq!(response.status(), 202, "{:?}", response.body());
    assert_eq!(inbox.stored().len(), 2);
}

#[tokio::test]
async fn intake_without_an_inbox_is_a_500_that_keeps_the_delivery_with_the_sender() {
    let route = intake(verifier());
    let response = signed_by(SECRET, "b-1").reply(&route).await;
    assert_eq!(response.status(), 500);
    assert!(String::from_utf8_lossy(response.body()).contains("intake_without_inbox"));
}

//! Signed test requests for your own handlers (feature `testing`; put it in
//! `[dev-dependencies]`).
//!
//! Everything of the core's `testing` module ([`TestDelivery`], [`sample`],
//! [`SAMPLE_BOT_ID`]...) plus [`signed_post`], which makes a [`TestDelivery`] an actix-web
//! [`TestRequest`].
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use meetingbaas_webhooks_actix::testing::{TestDelivery, signed_post};
//! use meetingbaas_webhooks_actix::{EventName, Signer, Verifier, Webhook, WebhookConfig};
//!
//! async fn receive(webhook: Webhook) -> HttpResponse {
//!     HttpResponse::Ok().body(webhook.bot_id().unwrap_or("-").to_owned())
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let app = test::init_service(
//!     App::new()
//!         .app_data(WebhookConfig::new(verifier))
//!         .service(web::resource("/webhooks/meetingbaas").route(meetingbaas_webhooks_actix::delivery_route().to(receive))),
//! )
//! .await;
//!
//! let signer = Signer::signature("s3cret")?;
//! let delivery = TestDelivery::sample(&signer, EventName::BotCompleted, "my-bot");
//! let request = signed_post("/webhooks/meetingbaas", &delivery).to_request();
//!
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(test::read_body(response).await, "my-bot");
//! # Ok(())
//! # }
//! ```

use actix_web::http::header::CONTENT_TYPE;
use actix_web::test::TestRequest;

pub use meetingbaas_webhooks_receiver::testing::*;

/// `delivery` as Meeting BaaS sends it: a `POST` to `uri` with `content-type:
/// application/json`, the scheme's headers and the body. Add to it, then `.to_request()`.
pub fn signed_post(uri: &str, delivery: &TestDelivery) -> TestRequest {
    let mut request = TestRequest::post()
        .uri(uri)
        .insert_header((CONTENT_TYPE, "application/json"));
    for (name, value) in delivery.headers().iter() {
        request = request.append_header((name, value));
    }
    request.set_payload(delivery.body().clone())
}

//! Signed test requests for your own handlers (feature `testing`; put it in
//! `[dev-dependencies]`).
//!
//! Everything of the core's `testing` module ([`TestDelivery`], [`sample`],
//! [`SAMPLE_BOT_ID`]...) plus [`signed_post`], which makes a [`TestDelivery`] a warp
//! [`RequestBuilder`].
//!
//! ```
//! use meetingbaas_webhooks_warp::testing::{TestDelivery, signed_post};
//! use meetingbaas_webhooks_warp::{Event, EventName, Signer, VerifiedDelivery, Verifier, WebhookConfig, recover};
//! use warp::Filter;
//!
//! async fn receive(_delivery: VerifiedDelivery, event: Event) -> String {
//!     event.bot_id().unwrap_or("-").to_owned()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let route = warp::path!("webhooks" / "meetingbaas")
//!     .and(WebhookConfig::new(verifier).handle(receive))
//!     .recover(recover);
//!
//! let signer = Signer::signature("s3cret")?;
//! let delivery = TestDelivery::sample(&signer, EventName::BotCompleted, "my-bot");
//!
//! let response = signed_post("/webhooks/meetingbaas", &delivery).reply(&route).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.body(), "my-bot");
//! # Ok(())
//! # }
//! ```

use warp::test::RequestBuilder;

pub use meetingbaas_webhooks_receiver::testing::*;

/// `delivery` as Meeting BaaS sends it: a `POST` to `uri` (a path) with `content-type:
/// application/json`, the scheme's headers and the body. Add to it, then `.reply(&filter)`.
pub fn signed_post(uri: &str, delivery: &TestDelivery) -> RequestBuilder {
    let mut request = warp::test::request()
        .method("POST")
        .path(uri)
        .header("content-type", "application/json");
    for (name, value) in delivery.headers().iter() {
        request = request.header(name, value);
    }
    request.body(delivery.body().clone())
}

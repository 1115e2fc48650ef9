//! Signed test requests for your own handlers (feature `testing`; put it in
//! `[dev-dependencies]`).
//!
//! Everything of the core's `testing` module ([`TestDelivery`], [`sample`],
//! [`SAMPLE_BOT_ID`]...) plus [`signed_post`], which makes a [`TestDelivery`] an `http::Request` for
//! any body type built from [`Bytes`] (axum's `Body`, `http_body_util::Full<Bytes>`...).
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use meetingbaas_webhooks_tower::testing::{TestDelivery, signed_post};
//! use meetingbaas_webhooks_tower::{Event, EventName, Signer, VerifiedBody, Verifier, VerifyWebhookLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! async fn handle(req: Request<VerifiedBody>) -> Result<Response<String>, std::convert::Infallible> {
//!     let event = req.extensions().get::<Event>().expect("parse_events(true)");
//!     Ok(Response::new(event.bot_id().unwrap_or("-").to_owned()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder().signature_secret("s3cret").build()?;
//! let service = ServiceBuilder::new()
//!     .layer(VerifyWebhookLayer::new(
//!         meetingbaas_webhooks_tower::Pipeline::new(verifier).parse_events(true),
//!     ))
//!     .service_fn(handle);
//!
//! let signer = Signer::signature("s3cret")?;
//! let delivery = TestDelivery::sample(&signer, EventName::BotCompleted, "my-bot");
//! let request: Request<Full<Bytes>> = signed_post("/webhooks/meetingbaas", &delivery);
//!
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! let body = response.into_body().collect().await?.to_bytes();
//! assert_eq!(body, "my-bot");
//! # Ok(())
//! # }
//! ```

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request};

pub use meetingbaas_webhooks_receiver::testing::*;

/// `delivery` as Meeting BaaS sends it: a `POST` to `uri` with `content-type:
/// application/json`, the scheme's headers and the body.
///
/// # Panics
///
/// If `uri` is not a valid URI (a test's own mistake).
pub fn signed_post<B: From<Bytes>>(uri: &str, delivery: &TestDelivery) -> Request<B> {
    let mut request = Request::new(B::from(delivery.body().clone()));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri.parse().expect("a valid URI");
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.extend(delivery.headers().to_header_map());
    request
}

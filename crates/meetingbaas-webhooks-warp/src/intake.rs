//! [`intake`]: one filter that stores deliveries in the inbox, with no handler.

use meetingbaas_webhooks_receiver::Pipeline;
use warp::http::{HeaderMap, Method};
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::rejection::reply;

/// A filter that only stores deliveries: each request is read, verified and stored in the
/// pipeline's inbox, and answered here (202 `queued`, 200 `duplicate`, or the refusal: 401,
/// 413, 408, 400, 405 for a method Meeting BaaS does not deliver with, 503 so the sender
/// retries); the inbox's worker runs the handlers. It never rejects, so no `recover` is needed;
/// put it after the path it answers.
///
/// The pipeline must have an inbox ([`Pipeline::inbox`]); without one every request is
/// answered 500 (`intake_without_inbox`, logged once) and the sender keeps the delivery.
///
/// ```
/// use meetingbaas_webhooks_warp::{Pipeline, Signer, Verifier, intake};
/// use warp::Filter;
/// # use meetingbaas_webhooks_warp::receiver::testing::RecordingInbox;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let inbox = std::sync::Arc::new(RecordingInbox::new());
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// // `inbox.intake()` of a `meetingbaas_webhooks_inbox::Inbox`.
/// let pipeline = Pipeline::new(verifier).inbox(inbox.clone());
/// let route = warp::path!("webhooks" / "meetingbaas").and(intake(pipeline));
///
/// let body = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;
/// let mut request = warp::test::request().method("POST").path("/webhooks/meetingbaas").body(body);
/// for (name, value) in Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0).iter() {
///     request = request.header(name, value);
/// }
/// assert_eq!(request.reply(&route).await.status(), 202);
/// # assert_eq!(inbox.stored().len(), 1);
/// # Ok(())
/// # }
/// ```
pub fn intake(
    pipeline: impl Into<Pipeline>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let pipeline = pipeline.into();
    warp::method()
        .and(crate::filters::peer())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(move |method: Method, peer, headers: HeaderMap, body| {
            let pipeline = pipeline.clone();
            async move {
                let answer = match Pipeline::refuse_method(method.as_str()) {
                    Some(answer) => answer,
                    None => {
                        let read = pipeline.read_from(peer, &headers, body);
                        pipeline.intake_from(&headers, read).await
                    }
                };
                reply(answer)
            }
        })
}

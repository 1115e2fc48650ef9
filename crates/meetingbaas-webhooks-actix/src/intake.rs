//! [`intake`]: a resource that stores deliveries in the inbox, with no handler.

use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError, web};
use meetingbaas_webhooks_receiver::Pipeline;

use crate::headers::ActixHeaders;
use crate::rejection::WebhookRejection;

/// A resource at `path` that only stores deliveries: each request is read, verified and stored
/// in the pipeline's inbox, and answered (202 `queued`, 200 `duplicate`, or the refusal: 401,
/// 413, 408, 400, 405 for a method Meeting BaaS does not deliver with, 503 so the sender
/// retries); the inbox's worker runs the handlers. No handler to write, and none that could
/// run unverified.
///
/// The pipeline must have an inbox ([`Pipeline::inbox`]); without one every request is
/// answered 500 (`intake_without_inbox`, logged once) and the sender keeps the delivery.
/// Register it with `App::service`, in a scope or beside any other route.
///
/// ```
/// use actix_web::{App, test};
/// use meetingbaas_webhooks_actix::{Pipeline, Signer, Verifier, intake};
/// # use meetingbaas_webhooks_actix::receiver::testing::RecordingInbox;
///
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let inbox = std::sync::Arc::new(RecordingInbox::new());
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// // `inbox.intake()` of a `meetingbaas_webhooks_inbox::Inbox`.
/// let pipeline = Pipeline::new(verifier).inbox(inbox.clone());
/// let app = test::init_service(App::new().service(intake("/webhooks/meetingbaas", pipeline))).await;
///
/// let body = r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;
/// let mut request = test::TestRequest::post().uri("/webhooks/meetingbaas").set_payload(body);
/// for header in Signer::signature("s3cret")?.sign(body.as_bytes(), "", 0) {
///     request = request.insert_header(header);
/// }
/// let response = test::call_service(&app, request.to_request()).await;
/// assert_eq!(response.status(), 202);
/// # assert_eq!(inbox.stored().len(), 1);
/// # Ok(())
/// # }
/// ```
pub fn intake(path: &str, pipeline: impl Into<Pipeline>) -> Resource {
    let pipeline = pipeline.into();
    web::resource(path).default_service(web::to(move |req: HttpRequest, payload: web::Payload| {
        let pipeline = pipeline.clone();
        async move {
            let answer = match Pipeline::refuse_method(req.method().as_str()) {
                Some(answer) => answer,
                None => {
                    let headers = ActixHeaders(req.headers());
                    let peer = req.peer_addr().map(|addr| addr.ip());
                    let read = pipeline.read_from(peer, &headers, payload);
                    pipeline.intake_from(&headers, read).await
                }
            };
            response(answer.into())
        }
    }))
}

fn response(rejection: WebhookRejection) -> HttpResponse {
    rejection.error_response()
}

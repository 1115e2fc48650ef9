//! Receive verified Meeting BaaS webhooks with plain hyper 1 and the tower layer.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-hyper
//! ```
//!
//! Everything but the framework is one call, `Setup::from_env` (crate
//! `meetingbaas-webhooks-server`; the variables are listed in the axum example and the crate's
//! docs), and so is serving: `Webhooks::serve`, the hardened hyper loop with its graceful stop.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use meetingbaas_example_handlers::{Handled, worker};
use meetingbaas_webhooks_server::{ADMIN_PATH, Setup};
use meetingbaas_webhooks_tower::{Event, Pipeline, VerifiedBody, VerifyWebhookLayer};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() {
    let webhooks = Setup::new()
        .worker(worker)
        .from_env()
        .await
        .unwrap_or_else(|err| err.exit());
    // The layer reads the body under the limit and the deadline, verifies it and parses the
    // event into the request extensions; `receive` only ever sees verified deliveries.
    let layer = VerifyWebhookLayer::new(webhooks.pipeline().parse_events(true));
    let verified = ServiceBuilder::new().layer(layer).service_fn(receive);
    let (route, ready): (Arc<str>, _) = (webhooks.route().into(), webhooks.readiness());
    // MEETINGBAAS_ADMIN_TOKEN (with an inbox): the inbox's admin page, behind that token.
    let admin = webhooks.admin();
    let app = tower::service_fn(move |req: Request<Incoming>| {
        // Decided before the request's future is made, so that a delivery's future carries
        // nothing of the other routes.
        let path = req.uri().path();
        let ready = (path == "/ready").then(|| ready.clone());
        let (health, ours) = (path == "/health", path == &*route);
        let admin = admin
            .as_ref()
            .filter(|_| path == ADMIN_PATH || path.starts_with(&format!("{ADMIN_PATH}/")))
            .cloned();
        let verified = verified.clone();
        async move {
            if let Some(admin) = admin {
                return Ok(admin.answer(req).await.map(Either::Right));
            }
            if health {
                return Ok(Response::new(Either::Right(Full::new(Bytes::from_static(
                    b"ok",
                )))));
            }
            if let Some(ready) = ready {
                let (status, body) = Box::pin(ready.answer()).await;
                return Ok(json(status, body.into()).map(Either::Right));
            }
            if !ours {
                return Ok(
                    json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into())
                        .map(Either::Right),
                );
            }
            // POST and PUT (a bot's callback may come with either); any other method 405.
            if let Some(answer) = Pipeline::refuse_method(req.method().as_str()) {
                return Ok(answer
                    .into_response()
                    .map(|body| Either::Right(Full::new(body))));
            }
            Ok::<_, Infallible>(verified.oneshot(req).await?.map(Either::Left))
        }
    });
    webhooks.serve(app).await;
}

/// Only verified, parsed deliveries get here: the layer answers everything else itself.
async fn receive(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(event) = req.extensions().get::<Event>() else {
        return Ok(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"no_event"}"#.into(),
        ));
    };
    // Handle the event here, or set MEETINGBAAS_INBOX and let the worker run the handlers.
    let body = serde_json::to_string(&Handled::new(event)).unwrap_or_default();
    Ok(json(StatusCode::OK, body))
}

/// A JSON response.
fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

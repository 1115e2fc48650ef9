//! Receive verified Meeting BaaS webhooks with plain hyper 1 and the tower layer.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-hyper
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1), `MEETINGBAAS_ALERT_SECRET` (alert callbacks). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `MEETINGBAAS_DEDUPE` (`memory` or `redis://HOST:PORT`) turns on deduplication of
//! retried deliveries, `MEETINGBAAS_METRICS=HOST:PORT` serves Prometheus metrics there, `PORT`
//! sets the port (default 3000), `RUST_LOG` the log level and `RUST_LOG_FORMAT=json` JSON logs.
//! `MEETINGBAAS_INBOX` (`sqlite://inbox.db` or `redis://HOST:PORT`) stores deliveries and runs
//! the handlers in a worker.
//!
//! `MEETINGBAAS_CONFIG=endpoint.json` reads the endpoint JSON of the product description
//! (`webhook_url`'s path is the route, `events` the events handled, `secret`, `enabled`); the
//! variables above override it. `MEETINGBAAS_TLS_CERT=cert.pem MEETINGBAAS_TLS_KEY=key.pem`
//! serves HTTPS instead of HTTP, with the same deadlines and limits.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use meetingbaas_example_server as server;
use meetingbaas_webhooks_inbox::Inbox;
use meetingbaas_webhooks_tower::EndpointConfig;
use meetingbaas_webhooks_tower::core::{DELIVERY_METHODS, is_delivery_method};
use meetingbaas_webhooks_tower::{Deduplicator, Event};
use meetingbaas_webhooks_tower::{VerifiedBody, VerifyWebhookLayer};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() {
    // Logs to stderr (RUST_LOG, RUST_LOG_FORMAT=json); Prometheus metrics on a listener of
    // their own when MEETINGBAAS_METRICS=HOST:PORT. Rejections are logged at debug level.
    server::init(&[]);

    // The secrets, the body limit, the events handled, the route and whether the endpoint is
    // enabled: from the file named by MEETINGBAAS_CONFIG, if any, and the MEETINGBAAS_* variables.
    let config = EndpointConfig::from_env().unwrap_or_else(|err| server::fail(err));

    // The webhook route: the layer reads the body under the limit and the deadline, verifies it
    // and parses the event; `receive` only ever sees verified deliveries (of the configured
    // events: others are answered `{"status":"ignored"}`).
    let mut pipeline = config
        .pipeline()
        .parse_events(true)
        .max_in_flight(server::MAX_IN_FLIGHT)
        .record_metrics(server::metrics_enabled());
    // Retried deliveries handled once: MEETINGBAAS_DEDUPE=memory, or redis://HOST:PORT when
    // several replicas run behind a load balancer.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| server::fail(err))
    {
        pipeline = pipeline.dedupe(dedupe);
    }

    // MEETINGBAAS_INBOX=sqlite://inbox.db or redis://HOST:PORT: each verified delivery is
    // stored and answered 202 at once; a worker in this process runs the handlers below.
    let inbox = Inbox::from_env()
        .await
        .unwrap_or_else(|err| server::fail(err));
    if let Some(inbox) = &inbox {
        let worker = server::inbox_handlers(inbox.worker()).build();
        tokio::spawn(async move {
            // SIGTERM / Ctrl-C: stop claiming, let running handlers finish, then exit.
            worker
                .run(meetingbaas_webhooks_inbox::shutdown_signal())
                .await;
            std::process::exit(0);
        });
        // The layer stores and answers 202; `receive` then never runs.
        pipeline = pipeline.inbox(inbox.intake());
    }
    let webhooks = ServiceBuilder::new()
        .layer(VerifyWebhookLayer::new(pipeline))
        .service_fn(receive);

    // The whole server: one route, 404 for any other path and 405 for any other method (nothing
    // is read or verified then).
    let route: Arc<str> = config.route().into();
    let app = tower::service_fn(move |req: Request<Incoming>| {
        let webhooks = webhooks.clone();
        let route = Arc::clone(&route);
        async move {
            if req.uri().path() != &*route {
                let answer = json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into());
                return Ok(answer.map(Either::Right));
            }
            // POST and PUT (a bot's callback may be sent with either); any other method 405.
            if !is_delivery_method(req.method().as_str()) {
                let body = r#"{"error":"method_not_allowed"}"#.into();
                let mut answer = json(StatusCode::METHOD_NOT_ALLOWED, body);
                let allow = DELIVERY_METHODS.join(", ");
                if let Ok(allow) = HeaderValue::from_str(&allow) {
                    answer.headers_mut().insert(ALLOW, allow);
                }
                return Ok(answer.map(Either::Right));
            }
            Ok::<_, Infallible>(webhooks.oneshot(req).await?.map(Either::Left))
        }
    });

    // 127.0.0.1:PORT with the deadlines and the connection cap; HTTPS when
    // MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY are set.
    server::serve(app).await
}

/// Only verified, parsed deliveries get here: the layer answers everything else itself
/// (401 bad credentials, 413 too large, 408 too slow, 400 not a webhook, 503 overloaded).
async fn receive(req: Request<VerifiedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    // With `parse_events(true)` the layer puts the `Event` in the request extensions (and the
    // `VerifiedDelivery`, with the raw body and the scheme, beside it).
    let Some(event) = req.extensions().get::<Event>() else {
        return Ok(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"no_event"}"#.into(),
        ));
    };
    // Handle the event here, or queue it and answer at once: the sender waits at most 30 s.
    let body = serde_json::to_string(&server::Handled::new(event)).unwrap_or_default();
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

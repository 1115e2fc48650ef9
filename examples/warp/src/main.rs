//! Receive verified Meeting BaaS webhooks with warp.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-warp
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1), `MEETINGBAAS_ALERT_SECRET` (alert callbacks). `MEETINGBAAS_MAX_BODY_BYTES` changes the
//! body limit, `PORT` the port (default 3000), `RUST_LOG` the log level.
//! `MEETINGBAAS_INBOX=sqlite://inbox.db` (or `redis://HOST:PORT`) stores each delivery and
//! answers at once; a worker in the process runs the handlers.
//! `MEETINGBAAS_DEDUPE=memory` (one process) or `MEETINGBAAS_DEDUPE=redis://HOST:PORT` (replicas
//! sharing one Redis) runs the handler once per delivery, however often it is retried.
//!
//! `MEETINGBAAS_CONFIG=endpoint.json` reads the endpoint JSON of the product description
//! (`webhook_url`'s path is the route, `events` the events handled, `secret`, `enabled`); the
//! variables above override it. `MEETINGBAAS_TLS_CERT=cert.pem MEETINGBAAS_TLS_KEY=key.pem`
//! serves HTTPS instead of HTTP, with the same deadlines and limits.

use std::sync::Arc;

use meetingbaas_example_server as server;
use meetingbaas_webhooks_inbox::Inbox;
use meetingbaas_webhooks_warp::EndpointConfig;
use meetingbaas_webhooks_warp::{Deduplicator, Event, VerifiedDelivery};
use meetingbaas_webhooks_warp::{WebhookConfig, delivery_method};
use warp::Filter;

#[tokio::main]
async fn main() {
    // Logs to stderr (RUST_LOG, RUST_LOG_FORMAT=json); Prometheus metrics on a listener of
    // their own when MEETINGBAAS_METRICS=HOST:PORT. Rejections are logged at debug level.
    server::init(&["warp::server"]);

    // The secrets, the body limit, the events handled, the route and whether the endpoint is
    // enabled: from the file named by MEETINGBAAS_CONFIG, if any, and the MEETINGBAAS_* variables.
    let config = EndpointConfig::from_env().unwrap_or_else(|err| server::fail(err));

    // The webhook endpoint, built around the handler below; events not configured are answered
    // `{"status":"ignored"}`.
    let mut pipeline = config
        .pipeline()
        .max_in_flight(server::MAX_IN_FLIGHT)
        .record_metrics(server::metrics_enabled());

    // Deduplication, from MEETINGBAAS_DEDUPE (unset: none). A Redis URL is connected now, so an
    // unreachable Redis stops the server here rather than at the first delivery.
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
    }
    if let Some(inbox) = &inbox {
        // Stored and answered 202 by the filter; `receive` then never runs.
        pipeline = pipeline.inbox(inbox.intake());
    }

    // `handle` reads the body under the limit, verifies and parses it, (with deduplication)
    // claims it, runs `receive` and finishes the claim with its answer. `recover` answers the
    // rejections (401, 413, 400, 422, 409, 503) and leaves the others (404, 405) to warp.
    // POST and PUT (a bot's callback may be sent with either; others are answered 405).
    let route = delivery_method()
        .and(exact_path(config.route()))
        .and(WebhookConfig::new(pipeline).handle(receive))
        .recover(meetingbaas_webhooks_warp::recover);

    // Served through hyper-util (like the hyper example) for the deadlines and the connection
    // cap; HTTPS when MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY are set.
    server::serve(warp::service(route)).await
}

/// Matches requests whose path is exactly `route` (the configured one); others are rejected
/// as not found.
fn exact_path(route: &str) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone + use<> {
    let route: Arc<str> = route.into();
    warp::path::full()
        .and_then(move |path: warp::path::FullPath| {
            let found = path.as_str() == &*route;
            async move {
                if found {
                    Ok(())
                } else {
                    Err(warp::reject::not_found())
                }
            }
        })
        .untuple_one()
}

/// Only verified, parsed deliveries get here; with deduplication, once per delivery.
async fn receive(_delivery: VerifiedDelivery, event: Event) -> impl warp::Reply {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    warp::reply::json(&server::Handled::new(&event))
}

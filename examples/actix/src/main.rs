//! Receive verified Meeting BaaS webhooks with actix-web.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-actix
//! ```
//!
//! Set the secret of each scheme you use: `MEETINGBAAS_SVIX_SECRET` (v2 webhooks),
//! `MEETINGBAAS_WEBHOOK_SECRET` (`X-MeetingBaas-Signature`), `MEETINGBAAS_CALLBACK_SECRET`
//! (v2 bot callbacks), `MEETINGBAAS_API_KEY` (v1), `MEETINGBAAS_ALERT_SECRET` (alert callbacks).
//! `MEETINGBAAS_MAX_BODY_BYTES` changes the body limit, `PORT` the port (default 3000),
//! `RUST_LOG` the log level, `RUST_LOG_FORMAT=json` JSON logs, `MEETINGBAAS_METRICS=HOST:PORT`
//! Prometheus metrics on a listener of their own.
//! `MEETINGBAAS_INBOX=sqlite://inbox.db` (or `redis://HOST:PORT`) stores each delivery and
//! answers at once; a worker in the process runs the handlers.
//! `MEETINGBAAS_DEDUPE=memory` (one process) or `MEETINGBAAS_DEDUPE=redis://HOST:PORT` (replicas
//! sharing one Redis) runs the handler once per delivery, however often it is retried.
//!
//! `MEETINGBAAS_CONFIG=endpoint.json` reads the endpoint JSON of the product description
//! (`webhook_url`'s path is the route, `events` the events handled, `secret`, `enabled`); the
//! variables above override it. `MEETINGBAAS_FAILURE_LIMIT=N/min` (or `N/s`, `N/h`) limits, per
//! client address, the deliveries that fail verification (401, 408, 413: `N` at once, then one
//! more every minute / `N`), answering 429 past it; verified deliveries are never limited. `MEETINGBAAS_TLS_CERT=cert.pem MEETINGBAAS_TLS_KEY=key.pem`
//! serves HTTPS instead of HTTP (actix-web's rustls support), with the same deadlines and limits.

use std::time::Duration;

use actix_web::middleware::Condition;
use actix_web::{App, HttpResponse, HttpServer, web};
use meetingbaas_example_server as server;
use meetingbaas_webhooks_actix::Deduplicator;
use meetingbaas_webhooks_actix::EndpointConfig;
use meetingbaas_webhooks_actix::delivery_route;
use meetingbaas_webhooks_actix::{FailureLimit, Idempotency, Quota, Webhook, WebhookConfig};
use meetingbaas_webhooks_inbox::Inbox;

/// Time a client has to send its request head: a connection that stalls is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle keep-alive connection stays open.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// Connections served at once per worker; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 512;

/// Time a client has to complete the TLS handshake: a connection that stalls in it is closed.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[actix_web::main]
async fn main() {
    // Logs to stderr (RUST_LOG, RUST_LOG_FORMAT=json); Prometheus metrics on a listener of
    // their own when MEETINGBAAS_METRICS=HOST:PORT. actix-http logs every malformed request at
    // error level: silenced, so that anyone on the network cannot flood the error log.
    server::init(&["actix_http::h1::dispatcher"]);

    // The secrets, the body limit, the events handled, the route and whether the endpoint is
    // enabled: from the file named by MEETINGBAAS_CONFIG, if any, and the MEETINGBAAS_* variables.
    let endpoint = EndpointConfig::from_env().unwrap_or_else(|err| server::fail(err));
    let route = endpoint.route().to_string();
    // HTTPS when MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY are set.
    let tls = server::tls_config_from_env();
    let https = tls.is_some();

    // The `Webhook` extractor finds its configuration in the app data, like `web::JsonConfig`.
    // Events not configured are answered `{"status":"ignored"}`.
    let mut pipeline = endpoint
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
    let worker = inbox.as_ref().map(|inbox| {
        pipeline = pipeline.clone().inbox(inbox.intake());
        server::inbox_handlers(inbox.worker()).build().spawn()
    });
    let config = WebhookConfig::new(pipeline);

    // MEETINGBAAS_FAILURE_LIMIT=N/min: per client address, N deliveries failing verification
    // (401, 408, 413), then one more every minute / N; past that, 429 before the body is read.
    // Verified deliveries never count (Meeting BaaS sends from a few addresses, and each 429
    // costs it an attempt). Built once here, so that every worker shares the counts.
    let failure_limit = server::failure_limit_from_env().map(|(burst, interval)| {
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| server::fail("MEETINGBAAS_FAILURE_LIMIT is too large"))
            .allow_burst(burst);
        FailureLimit::new(quota)
    });
    let limited = failure_limit.is_some();
    let failure_limit = failure_limit.unwrap_or_else(|| {
        // Not wrapped (`Condition`), only there for the type.
        FailureLimit::new(Quota::per_hour(std::num::NonZeroU32::MIN))
    });

    let port = server::port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(config.clone())
            // Completes a delivery's claim after a 2xx answer, releases it otherwise (so the
            // sender's retry runs); does nothing without deduplication.
            .wrap(Idempotency)
            // Outside `Idempotency` (actix runs the last `wrap` first): a blocked client is
            // answered before anything else runs.
            .wrap(Condition::new(limited, failure_limit.clone()))
            // POST and PUT (a bot's callback may be sent with either; others are answered 405).
            .service(web::resource(&route).route(delivery_route().to(receive)))
    })
    .workers(2) // actix-web's default is one worker thread per core
    // Deadlines for the request head and idle keep-alive connections (the body deadline is the
    // pipeline's), and a cap on connections per worker.
    .client_request_timeout(HEADER_TIMEOUT)
    .keep_alive(KEEP_ALIVE)
    .max_connections(MAX_CONNECTIONS)
    // The time a TLS handshake may take (unused over plain HTTP).
    .tls_handshake_timeout(TLS_HANDSHAKE_TIMEOUT);
    let server = match tls {
        Some(tls) => server.bind_rustls_0_23(("127.0.0.1", port), tls),
        None => server.bind(("127.0.0.1", port)),
    }
    .unwrap_or_else(|err| server::fail(err));

    // The socket is bound and listening from here on: announce it.
    let addr = server
        .addrs()
        .into_iter()
        .next()
        .unwrap_or_else(|| server::fail("bound to no address"));
    server::announce(addr, https);

    if let Err(err) = server.run().await {
        server::fail(err);
    }
    // The server stopped (SIGTERM, Ctrl-C): let running handlers finish.
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
}

/// Only verified, parsed deliveries get here: `Webhook` answers everything else itself
/// (401 bad credentials, 413 too large, 400 not a webhook, 422 bad event data; with
/// deduplication, 200 `{"status":"duplicate"}` for a copy of a handled delivery, 409 for a copy
/// of one still running, 503 when the store is unreachable).
async fn receive(Webhook { event, .. }: Webhook) -> HttpResponse {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    HttpResponse::Ok().json(server::Handled::new(&event))
}

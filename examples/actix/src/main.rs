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
//! `MEETINGBAAS_DEDUPE=memory` (one process) or `MEETINGBAAS_DEDUPE=redis://HOST:PORT` (replicas
//! sharing one Redis) runs the handler once per delivery, however often it is retried.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use meetingbaas_webhooks_actix::{
    Deduplicator, Idempotency, Pipeline, Verifier, Webhook, WebhookConfig,
};
use serde_json::json;
use tracing_subscriber::EnvFilter;

/// Time a client has to send its request head: a connection that stalls is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle keep-alive connection stays open.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// Connections served at once per worker; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 512;
/// Deliveries processed at once; more are answered 503 with `Retry-After` before their body is
/// read. (The body deadline and the memory budget are the pipeline's defaults: 10 s, 256 MiB.)
const MAX_IN_FLIGHT: usize = 256;

#[actix_web::main]
async fn main() {
    // Logs go to stderr. Rejected deliveries are logged at debug level (RUST_LOG=debug).
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // actix-http logs every malformed request at error level: silence it, so that anyone on the
    // network cannot flood the error log.
    if let Ok(quiet) = "actix_http::h1::dispatcher=off".parse() {
        filter = filter.add_directive(quiet);
    }
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if std::env::var("RUST_LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }

    // Prometheus metrics on a listener of their own, never on the webhook port.
    if let Ok(addr) = std::env::var("MEETINGBAAS_METRICS") {
        let addr: std::net::SocketAddr = addr
            .parse()
            .unwrap_or_else(|_| fail("MEETINGBAAS_METRICS is not HOST:PORT"));
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .unwrap_or_else(|err| fail(err));
    }

    // The secrets and the body limit, from the MEETINGBAAS_* environment variables.
    let verifier = Verifier::from_env().unwrap_or_else(|err| fail(err));

    // The `Webhook` extractor finds its configuration in the app data, like `web::JsonConfig`.
    let mut config =
        WebhookConfig::from_pipeline(Pipeline::new(verifier).max_in_flight(MAX_IN_FLIGHT));

    // Deduplication, from MEETINGBAAS_DEDUPE (unset: none). A Redis URL is connected now, so an
    // unreachable Redis stops the server here rather than at the first delivery.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        config = config.dedupe(dedupe);
    }

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .unwrap_or_else(|_| fail("PORT is not a port number")),
        Err(_) => 3000,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(config.clone())
            // Completes a delivery's claim after a 2xx answer, releases it otherwise (so the
            // sender's retry runs); does nothing without deduplication.
            .wrap(Idempotency)
            .route("/webhooks/meetingbaas", web::post().to(receive))
    })
    .workers(2) // actix-web's default is one worker thread per core
    // Deadlines for the request head and idle keep-alive connections (the body deadline is the
    // pipeline's), and a cap on connections per worker.
    .client_request_timeout(HEADER_TIMEOUT)
    .keep_alive(KEEP_ALIVE)
    .max_connections(MAX_CONNECTIONS)
    .bind(("127.0.0.1", port))
    .unwrap_or_else(|err| fail(err));

    // The socket is bound and listening from here on: announce it.
    let addr = server
        .addrs()
        .into_iter()
        .next()
        .unwrap_or_else(|| fail("bound to no address"));
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();

    if let Err(err) = server.run().await {
        fail(err);
    }
}

/// Only verified, parsed deliveries get here: `Webhook` answers everything else itself
/// (401 bad credentials, 413 too large, 400 not a webhook, 422 bad event data; with
/// deduplication, 200 `{"status":"duplicate"}` for a copy of a handled delivery, 409 for a copy
/// of one still running, 503 when the store is unreachable).
async fn receive(Webhook { event, .. }: Webhook) -> HttpResponse {
    // Handle the event here (`match event { Event::BotCompleted { data, .. } => ..., }`),
    // or queue it and answer at once: the sender waits at most 30 seconds.
    HttpResponse::Ok().json(json!({
        "status": "success",
        "event": event.name(),
        "kind": event.kind(),
        "bot_id": event.bot_id(),
    }))
}

/// Prints one `error: ...` line and exits with status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

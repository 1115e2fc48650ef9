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
//! variables above override it. `MEETINGBAAS_TLS_CERT=cert.pem MEETINGBAAS_TLS_KEY=key.pem`
//! serves HTTPS instead of HTTP (actix-web's rustls support), with the same deadlines and limits.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use meetingbaas_webhooks_actix::core::EndpointConfig;
use meetingbaas_webhooks_actix::{Deduplicator, EventKind};
use meetingbaas_webhooks_actix::{Idempotency, Webhook, WebhookConfig};
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, WorkerBuilder};
use serde_json::json;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
/// Time a client has to complete the TLS handshake: a connection that stalls in it is closed.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

    // The secrets, the body limit, the events handled, the route and whether the endpoint is
    // enabled: from the file named by MEETINGBAAS_CONFIG, if any, and the MEETINGBAAS_* variables.
    let endpoint = EndpointConfig::from_env().unwrap_or_else(|err| fail(err));
    let route = endpoint.route().to_string();
    // HTTPS when MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY are set.
    let tls = tls_from_env();
    let https = tls.is_some();

    // The `Webhook` extractor finds its configuration in the app data, like `web::JsonConfig`.
    // Events not configured are answered `{"status":"ignored"}`.
    let mut config = WebhookConfig::from_pipeline(endpoint.pipeline().max_in_flight(MAX_IN_FLIGHT));

    // Deduplication, from MEETINGBAAS_DEDUPE (unset: none). A Redis URL is connected now, so an
    // unreachable Redis stops the server here rather than at the first delivery.
    if let Some(dedupe) = Deduplicator::from_env()
        .await
        .unwrap_or_else(|err| fail(err))
    {
        config = config.dedupe(dedupe);
    }

    // MEETINGBAAS_INBOX=sqlite://inbox.db or redis://HOST:PORT: each verified delivery is
    // stored and answered 202 at once; a worker in this process runs the handlers below.
    let inbox = Inbox::from_env().await.unwrap_or_else(|err| fail(err));
    let worker = inbox.as_ref().map(|inbox| {
        config = config.clone().inbox(inbox.intake());
        inbox_handlers(inbox.worker()).build().spawn()
    });

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
            .route(&route, web::post().to(receive))
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
    .unwrap_or_else(|err| fail(err));

    // The socket is bound and listening from here on: announce it.
    let addr = server
        .addrs()
        .into_iter()
        .next()
        .unwrap_or_else(|| fail("bound to no address"));
    let scheme = if https { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();

    if let Err(err) = server.run().await {
        fail(err);
    }
    // The server stopped (SIGTERM, Ctrl-C): let running handlers finish.
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
}

/// HTTPS when `MEETINGBAAS_TLS_CERT` (the certificate chain, PEM) and `MEETINGBAAS_TLS_KEY` (its
/// private key, PEM) are set: rustls with the `ring` provider, TLS 1.2 and 1.3, HTTP/1.1. Any
/// problem (one variable without the other, a file missing or without PEM items, a key that does
/// not match the certificate) stops the server here with one line.
fn tls_from_env() -> Option<ServerConfig> {
    let (cert, key) = match (
        std::env::var_os("MEETINGBAAS_TLS_CERT"),
        std::env::var_os("MEETINGBAAS_TLS_KEY"),
    ) {
        (None, None) => return None,
        (Some(cert), Some(key)) => (PathBuf::from(cert), PathBuf::from(key)),
        _ => fail("MEETINGBAAS_TLS_CERT and MEETINGBAAS_TLS_KEY go together: set both, or neither"),
    };
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|err| fail(format!("MEETINGBAAS_TLS_CERT {}: {err}", cert.display())));
    if chain.is_empty() {
        fail(format!(
            "MEETINGBAAS_TLS_CERT {}: no certificate in the file",
            cert.display()
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(&key)
        .unwrap_or_else(|err| fail(format!("MEETINGBAAS_TLS_KEY {}: {err}", key.display())));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|err| fail(err))
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .unwrap_or_else(|err| {
            fail(format!(
                "MEETINGBAAS_TLS_KEY {} cannot be used with MEETINGBAAS_TLS_CERT {}: {err}",
                key.display(),
                cert.display()
            ))
        });
    Some(config)
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

// --- inbox (MEETINGBAAS_INBOX): the worker's handlers, one per kind, a fallback for the rest ---

/// The handlers the inbox's worker runs on stored deliveries, after the sender was answered:
/// they may take their time (30 s per attempt by default), an `Err` is retried with backoff and
/// then kept as a dead letter (`meetingbaas-webhooks inbox --store ... list --dead`).
fn inbox_handlers(worker: WorkerBuilder) -> WorkerBuilder {
    worker
        .on(EventKind::BotCompleted, bot_completed)
        .on(EventKind::BotFailed, bot_failed)
        .fallback(any_other_event)
}

async fn bot_completed(job: Job) -> Result<(), HandlerError> {
    // Stands in for slow work (fetching the recording, calling a CRM): nobody is waiting.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tracing::info!(
        id = job.id(),
        bot_id = job.event().bot_id(),
        "bot completed"
    );
    Ok(())
}

async fn bot_failed(job: Job) -> Result<(), HandlerError> {
    tracing::info!(id = job.id(), bot_id = job.event().bot_id(), "bot failed");
    Ok(())
}

async fn any_other_event(job: Job) -> Result<(), HandlerError> {
    tracing::info!(
        id = job.id(),
        event = job.event().name(),
        "delivery handled"
    );
    Ok(())
}

/// Prints one `error: ...` line and exits with status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

//! Receive verified Meeting BaaS webhooks with actix-web.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-actix
//! ```
//!
//! Everything but the framework is one call, `Setup::from_env` (crate
//! `meetingbaas-webhooks-server`; the variables are listed in the axum example and the crate's
//! docs). actix-web serves with its own server, given the same deadlines, connection cap and TLS,
//! and the same stop: its own signal handling is off, and it stops once the drain period is over.
//! `MEETINGBAAS_FAILURE_LIMIT=N/min` (or `N/s`, `N/h`) limits, per client address, the
//! deliveries that fail verification, answering 429 past it; verified ones are never limited.

use actix_web::middleware::Condition;
use actix_web::{App, HttpResponse, HttpServer, web};
use meetingbaas_example_handlers::{Handled, worker};
use meetingbaas_webhooks_actix::{FailureLimit, Quota, VerifyWebhook, Webhook, delivery_route};
use meetingbaas_webhooks_server::{ADMIN_PATH, Setup};

#[actix_web::main]
async fn main() {
    // actix-http logs every malformed request at error level: silenced, so that anyone on the
    // network cannot flood the error log.
    let setup = Setup::new()
        .quiet(["actix_http::h1::dispatcher"])
        .worker(worker);
    let webhooks = setup.from_env().await.unwrap_or_else(|err| err.exit());
    let (verify, route, ready) = (
        VerifyWebhook::new(webhooks.pipeline()),
        webhooks.route().to_owned(),
        webhooks.readiness(),
    );
    // Built once here, so that every worker thread shares the counts; not wrapped when unset.
    let limit = webhooks.failure_limit();
    let quota =
        limit.and_then(|(burst, every)| Quota::with_period(every).map(|q| q.allow_burst(burst)));
    let failure_limit =
        FailureLimit::new(quota.unwrap_or_else(|| Quota::per_hour(std::num::NonZeroU32::MIN)));
    let limits = webhooks.limits().clone();
    // MEETINGBAAS_ADMIN_TOKEN (with an inbox): the inbox's admin page, behind that token.
    let admin = webhooks.admin();
    let server = HttpServer::new(move || {
        let ready = ready.clone();
        let admin = admin
            .clone()
            .map(|admin| meetingbaas_webhooks_admin::actix::scope(ADMIN_PATH, admin));
        App::new()
            .configure(|config| {
                if let Some(admin) = admin {
                    config.service(admin);
                }
            })
            // A blocked client is answered before anything else runs.
            .wrap(Condition::new(limit.is_some(), failure_limit.clone()))
            // `VerifyWebhook` reads, verifies and (with an inbox) stores before any handler
            // runs; POST and PUT only (a bot's callback may come with either; others: 405).
            .service(
                web::resource(&route)
                    .wrap(verify.clone())
                    .route(delivery_route().to(receive)),
            )
            .route("/health", web::get().to(|| async { "ok" }))
            .route(
                "/ready",
                web::get().to(move || {
                    let ready = ready.clone();
                    async move {
                        let (status, body) = ready.answer().await;
                        let status = actix_web::http::StatusCode::from_u16(status.as_u16());
                        HttpResponse::build(status.unwrap_or(actix_web::http::StatusCode::OK))
                            .body(body)
                    }
                }),
            )
    })
    .workers(2) // actix-web's default is one worker thread per core
    .disable_signals() // the stop is the setup's: readiness first, then the drain
    .shutdown_timeout(webhooks.shutdown().grace().as_secs())
    .client_request_timeout(limits.header_timeout)
    .keep_alive(limits.header_timeout)
    .max_connections(limits.max_connections / 2)
    .tls_handshake_timeout(limits.tls_handshake_timeout);
    let server = match webhooks.tls_config() {
        Some(tls) => server.bind_rustls_0_23((webhooks.host(), webhooks.port()), tls),
        None => server.bind((webhooks.host(), webhooks.port())),
    }
    .unwrap_or_else(|err| fail(err));
    let addr = server
        .addrs()
        .into_iter()
        .next()
        .unwrap_or_else(|| fail("bound to no address"));
    meetingbaas_webhooks_server::announce(addr, webhooks.tls_config().is_some());
    let server = server.run();
    let (handle, shutdown) = (server.handle(), webhooks.shutdown().clone());
    actix_web::rt::spawn(async move {
        shutdown.drained().await;
        handle.stop(true).await;
    });
    server.await.unwrap_or_else(|err| fail(err));
    webhooks.stop().await;
}

/// Only verified, parsed deliveries get here: `VerifyWebhook` answers everything else.
async fn receive(Webhook { event, .. }: Webhook) -> HttpResponse {
    // Handle the event here, or set MEETINGBAAS_INBOX and let the worker run the handlers.
    HttpResponse::Ok().json(Handled::new(&event))
}

/// One `error: ...` line and exit status 2.
fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

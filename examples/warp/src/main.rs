//! Receive verified Meeting BaaS webhooks with warp.
//!
//! ```text
//! MEETINGBAAS_SVIX_SECRET=whsec_... cargo run -p meetingbaas-example-warp
//! ```
//!
//! Everything but the framework is one call, `Setup::from_env` (crate
//! `meetingbaas-webhooks-server`; the variables are listed in the axum example and the crate's
//! docs); warp's service is served by the same hardened loop, with its graceful stop.

use std::sync::Arc;

use meetingbaas_example_handlers::{Handled, worker};
use meetingbaas_webhooks_server::Setup;
use meetingbaas_webhooks_warp::{Event, VerifiedDelivery, WebhookConfig, delivery_method, recover};
use warp::Filter;

#[tokio::main]
async fn main() {
    let setup = Setup::new().quiet(["warp::server"]).worker(worker);
    let webhooks = setup.from_env().await.unwrap_or_else(|err| err.exit());
    let ready = webhooks.readiness();
    let ready = warp::path!("ready").and(warp::get()).and_then(move || {
        let ready = ready.clone();
        async move {
            let (status, body) = ready.answer().await;
            Ok::<_, warp::Rejection>(warp::reply::with_status(body, status))
        }
    });
    // POST and PUT (a bot's callback may come with either; other methods are answered 405).
    // `handle` reads the body under the limit, verifies, (with an inbox) stores, or runs
    // `receive`; `recover` answers the rejections and leaves the others (404, 405) to warp.
    let route = delivery_method()
        .and(exact_path(webhooks.route()))
        .and(WebhookConfig::new(webhooks.pipeline()).handle(receive))
        .recover(recover);
    let health = warp::path!("health").and(warp::get()).map(|| "ok");
    let routes = health.or(ready).or(route);
    // MEETINGBAAS_ADMIN_TOKEN (with an inbox): the inbox's admin page, behind that token.
    match webhooks.admin() {
        Some(admin) => {
            let admin = warp::path("admin").and(meetingbaas_webhooks_admin::warp::filter(admin));
            webhooks.serve(warp::service(admin.or(routes))).await;
        }
        None => webhooks.serve(warp::service(routes)).await,
    }
}

/// Matches requests whose path is exactly `route` (the configured one).
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
    // Handle the event here, or set MEETINGBAAS_INBOX and let the worker run the handlers.
    warp::reply::json(&Handled::new(&event))
}

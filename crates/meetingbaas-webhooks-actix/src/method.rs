//! [`delivery_route`]: the methods Meeting BaaS delivers with, as an actix-web route.

use actix_web::{Route, guard, web};
use meetingbaas_webhooks::is_delivery_method;

/// A route matching the methods Meeting BaaS delivers with
/// ([`DELIVERY_METHODS`](meetingbaas_webhooks::DELIVERY_METHODS): `POST`, and `PUT` for a bot's
/// callback configured with it). Use it where `web::post()` would go, on a resource: the
/// resource answers any other method 405 (`App::route` would lift the route's guard onto the
/// resource and answer them 404). A PUT callback answered 405 is never retried, so it would be
/// lost.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use meetingbaas_webhooks_actix::delivery_route;
///
/// let app = App::new().service(
///     web::resource("/webhooks/meetingbaas")
///         .route(delivery_route().to(|| async { HttpResponse::Ok().finish() })),
/// );
/// # drop(app);
/// ```
pub fn delivery_route() -> Route {
    web::route().guard(guard::fn_guard(|ctx| {
        is_delivery_method(ctx.head().method.as_str())
    }))
}

#[cfg(test)]
mod tests {
    use actix_web::http::Method;
    use actix_web::{App, HttpResponse, test, web};
    use meetingbaas_webhooks::is_delivery_method;

    use super::delivery_route;

    #[actix_web::test]
    async fn exactly_the_delivery_methods_reach_the_handler() {
        let app = test::init_service(
            App::new().service(
                web::resource("/hook")
                    .route(delivery_route().to(|| async { HttpResponse::Ok().finish() })),
            ),
        )
        .await;
        for method in ["POST", "PUT", "PATCH", "DELETE", "GET", "OPTIONS"] {
            let request = test::TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri("/hook")
                .to_request();
            let status = test::call_service(&app, request).await.status();
            if is_delivery_method(method) {
                assert_eq!(status, 200, "{method}");
            } else {
                assert_eq!(status, 405, "{method}");
            }
        }
    }
}

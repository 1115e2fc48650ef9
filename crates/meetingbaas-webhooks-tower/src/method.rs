//! [`delivery_methods`]: the methods Meeting BaaS delivers with, as an axum method filter.

use axum::routing::MethodFilter;
use http::Method;
use meetingbaas_webhooks::DELIVERY_METHODS;

/// The methods Meeting BaaS delivers with
/// ([`DELIVERY_METHODS`](meetingbaas_webhooks::DELIVERY_METHODS): `POST`, and `PUT` for a bot's
/// callback configured with it), for `axum::routing::on`: route a webhook handler with
/// `on(delivery_methods(), receive)` where `post(receive)` would go. axum answers any other
/// method 405. A PUT callback answered 405 is never retried, so it would be lost.
///
/// ```
/// use axum::{Router, routing::on};
/// use meetingbaas_webhooks_tower::delivery_methods;
///
/// let app: Router = Router::new().route("/webhooks/meetingbaas", on(delivery_methods(), || async { "ok" }));
/// # let _ = app;
/// ```
pub fn delivery_methods() -> MethodFilter {
    DELIVERY_METHODS
        .iter()
        .filter_map(|name| Method::from_bytes(name.as_bytes()).ok())
        .filter_map(|method| MethodFilter::try_from(method).ok())
        .fold(MethodFilter::POST, MethodFilter::or)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::on;
    use http::{Method, Request};
    use meetingbaas_webhooks::is_delivery_method;
    use tower::ServiceExt;

    use super::delivery_methods;

    #[tokio::test]
    async fn exactly_the_delivery_methods_reach_the_handler() {
        let app: Router = Router::new().route("/hook", on(delivery_methods(), || async { "ok" }));
        for method in ["POST", "PUT", "PATCH", "DELETE", "GET", "OPTIONS"] {
            let request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri("/hook")
                .body(Body::empty())
                .unwrap();
            let status = app.clone().oneshot(request).await.unwrap().status();
            if is_delivery_method(method) {
                assert_eq!(status, 200, "{method}");
            } else {
                assert_eq!(status, 405, "{method}");
            }
        }
    }
}

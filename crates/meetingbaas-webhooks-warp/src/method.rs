//! [`delivery_method`]: the methods Meeting BaaS delivers with, as a warp filter.

use warp::{Filter, Rejection};

/// Lets through the methods Meeting BaaS delivers with
/// ([`DELIVERY_METHODS`](meetingbaas_webhooks::DELIVERY_METHODS): `POST`, and `PUT` for a bot's
/// callback configured with it); any other method is rejected as warp rejects a method it does
/// not route (405). Use it where `warp::post()` would go: a PUT callback answered 405 is never
/// retried, so it would be lost.
///
/// ```
/// use meetingbaas_webhooks_warp::delivery_method;
/// use warp::Filter;
///
/// let route = delivery_method().and(warp::path!("webhooks" / "meetingbaas")).map(warp::reply);
/// # let _ = route;
/// ```
pub fn delivery_method() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::post().or(warp::put()).unify()
}

#[cfg(test)]
mod tests {
    use meetingbaas_webhooks::is_delivery_method;
    use warp::Filter;

    use super::delivery_method;

    #[tokio::test]
    async fn exactly_the_delivery_methods_pass() {
        let route = delivery_method().map(warp::reply);
        for method in ["POST", "PUT", "PATCH", "DELETE", "GET", "HEAD", "OPTIONS"] {
            let passed = warp::test::request()
                .method(method)
                .filter(&route)
                .await
                .is_ok();
            assert_eq!(passed, is_delivery_method(method), "{method}");
        }
    }
}

//! The admin in warp (feature `warp`): [`filter`] answers every request it is given.

use bytes::Bytes;
use http_body_util::BodyExt as _;
use warp::Filter;

use crate::Admin;

/// The admin as a filter answering every request that reaches it: put it behind the path it is
/// [`mounted_at`](Admin::mounted_at) (`warp::path("admin").and(filter(admin))`). Bodies over
/// 16 KiB are refused (forms are small).
///
/// ```no_run
/// use meetingbaas_webhooks_admin::{Admin, Guard};
/// use meetingbaas_webhooks_inbox::Inbox;
/// use warp::Filter;
///
/// # fn routes(inbox: Inbox) {
/// let admin = Admin::new(inbox, Guard::token("a long random token")).mounted_at("/admin");
/// let routes = warp::path("admin").and(meetingbaas_webhooks_admin::warp::filter(admin));
/// # drop(routes);
/// # }
/// ```
pub fn filter(
    admin: Admin,
) -> impl Filter<Extract = (http::Response<Bytes>,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    // A GET or HEAD carries no body (and browsers send no `Content-Length` with it, which
    // `content_length_limit` would refuse); a POST's form is read up to 16 KiB.
    let body = warp::get()
        .or(warp::head())
        .unify()
        .map(Bytes::new)
        .or(warp::body::content_length_limit(16 * 1024).and(warp::body::bytes()))
        .unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(body)
        .then(
            move |method: http::Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: http::HeaderMap,
                  body: Bytes| {
                let admin = admin.clone();
                async move {
                    let uri = if query.is_empty() {
                        path.as_str().to_string()
                    } else {
                        format!("{}?{query}", path.as_str())
                    };
                    let mut request = http::Request::new(http_body_util::Full::new(body));
                    *request.method_mut() = method;
                    if let Ok(uri) = uri.parse() {
                        *request.uri_mut() = uri;
                    }
                    *request.headers_mut() = headers;
                    let (parts, body) = admin.answer(request).await.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|collected| collected.to_bytes())
                        .unwrap_or_default();
                    http::Response::from_parts(parts, body)
                }
            },
        )
}

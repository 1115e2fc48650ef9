//! The JSON API beside the pages, for scripts: `GET api/stats`, `GET api/deliveries` (the
//! list's filters: `state`, `kind`, `bot`, `key`, `before` (an id: the next page), `limit`), `GET api/deliveries/ID` (with the body and every
//! attempt), and the actions as `POST api/...` answering `{"done": "..."}`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use meetingbaas_webhooks_inbox::Error;

use crate::pages::Filters;
use crate::{Inner, html, plain};

/// A JSON answer.
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    html::security_headers(&mut response);
    response
}

/// An inbox error as `{"error": "..."}` (404 for a missing delivery, 409 for one that cannot
/// be redriven now, 500 else).
pub(crate) fn error(err: &Error) -> Response<Full<Bytes>> {
    let status = match err {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Running(_) | Error::BodyDropped(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json(status, &serde_json::json!({ "error": err.to_string() }))
}

/// `GET api/<rest>`.
pub(crate) async fn get(inner: &Inner, rest: &str, query: &str) -> Response<Full<Bytes>> {
    let inbox = &inner.inbox;
    match rest {
        "stats" => match inbox.stats().await {
            Ok(stats) => json(StatusCode::OK, &stats),
            Err(err) => error(&err),
        },
        "deliveries" => match inbox.list(Filters::parse(query).query()).await {
            Ok(listed) => json(StatusCode::OK, &listed),
            Err(err) => error(&err),
        },
        _ => match rest.strip_prefix("deliveries/") {
            Some(id) => match inbox.show(id).await {
                Ok(shown) => json(StatusCode::OK, &shown),
                Err(err) => error(&err),
            },
            None => plain(StatusCode::NOT_FOUND, "not found"),
        },
    }
}

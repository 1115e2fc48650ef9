//! What the crate answers itself: the contract's JSON rejections and the "ignored" answer.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use meetingbaas_webhooks::Error;
use meetingbaas_webhooks::idempotency::DUPLICATE_ANSWER;

/// The body of the answer to a delivery of a kind not let through by `only`.
pub(crate) const IGNORED_BODY: &str = r#"{"status":"ignored"}"#;

/// An answer given without calling the inner service.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Refused: the core's status and JSON body.
    Reject(Error),
    /// Verified, but of a kind the service does not want: 200, so that the sender does not retry.
    Ignore,
    /// A copy of a delivery already handled successfully: 200 `{"status":"duplicate"}`.
    Duplicate,
}

impl Answer {
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        match self {
            Answer::Reject(error) => rejection(error),
            Answer::Ignore => {
                json_response(StatusCode::OK, Bytes::from_static(IGNORED_BODY.as_bytes()))
            }
            Answer::Duplicate => json_response(
                StatusCode::OK,
                Bytes::from_static(DUPLICATE_ANSWER.as_bytes()),
            ),
        }
    }
}

/// The contract's answer to `error`: its status, `content-type: application/json`,
/// [`Error::to_json`] as the body, and the error itself in the response extensions.
pub(crate) fn rejection(error: Error) -> Response<Full<Bytes>> {
    // Every status the core chooses is a valid one; the fallback only guards against a bug there.
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, Bytes::from(error.to_json()));
    response.extensions_mut().insert(error);
    response
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

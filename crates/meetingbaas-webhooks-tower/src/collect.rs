//! Reading a request body with the pipeline: the one place the layer and the axum extractor
//! turn an `http_body::Body` into the pipeline's chunk stream.

use http::HeaderMap;
use http_body::Body;
use http_body_util::BodyDataStream;
use meetingbaas_webhooks_receiver::content_length;
use meetingbaas_webhooks_receiver::{Pipeline, Read};

/// Starts reading `body` with `pipeline`: refused before a single frame is read when the
/// declared length (the `Content-Length` header, or the body's own size hint) is already over
/// the limit.
pub(crate) fn read<B: Body>(
    pipeline: &Pipeline,
    headers: &HeaderMap,
    body: B,
) -> Read<BodyDataStream<B>> {
    let declared = declared_length(headers, &body);
    // Trailers carry nothing that is signed: the data stream skips them.
    pipeline.read_declared(headers, declared, BodyDataStream::new(body))
}

/// The length the request announces: its `Content-Length`, or at least the lower bound of the
/// body's size hint (a body that says it holds more than the limit is refused unread too).
fn declared_length<B: Body>(headers: &HeaderMap, body: &B) -> Option<u64> {
    let hinted = body.size_hint().lower();
    match content_length(headers) {
        Some(declared) => Some(declared.max(hinted)),
        None => (hinted > 0).then_some(hinted),
    }
}

//! Reading a request body with the pipeline: the one place the layer and the axum extractor
//! turn an `http_body::Body` into the pipeline's chunk stream.

use std::net::IpAddr;

use http::request::Parts;
use http_body::Body;
use http_body_util::BodyDataStream;
use meetingbaas_webhooks_receiver::{ClientAddr, Pipeline, Read, content_length};

/// Starts reading `body` with `pipeline`: refused before a single frame is read when the
/// declared length (the `Content-Length` header, or the body's own size hint) is already over
/// the limit. The client's address comes from the request's extensions.
pub(crate) fn read<B: Body>(
    pipeline: &Pipeline,
    parts: &Parts,
    body: B,
) -> Read<BodyDataStream<B>> {
    let declared = declared_length(&parts.headers, &body);
    // Trailers carry nothing that is signed: the data stream skips them.
    pipeline.read_declared(
        &parts.headers,
        declared,
        peer(parts),
        BodyDataStream::new(body),
    )
}

/// The address of the connection: [`ClientAddr`] (inserted by `meetingbaas-webhooks-server`),
/// or axum's `ConnectInfo<SocketAddr>` (`into_make_service_with_connect_info`).
fn peer(parts: &Parts) -> Option<IpAddr> {
    if let Some(ClientAddr(addr)) = parts.extensions.get::<ClientAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(addr.ip());
    }
    None
}

/// The length the request announces: its `Content-Length`, or at least the lower bound of the
/// body's size hint (a body that says it holds more than the limit is refused unread too).
fn declared_length<B: Body>(headers: &http::HeaderMap, body: &B) -> Option<u64> {
    let hinted = body.size_hint().lower();
    match content_length(headers) {
        Some(declared) => Some(declared.max(hinted)),
        None => (hinted > 0).then_some(hinted),
    }
}

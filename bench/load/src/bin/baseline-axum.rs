//! Hand-written axum receiver, the baseline of `examples/axum` (see the crate docs).

#![forbid(unsafe_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use meetingbaas_bench_load::{
    MAX_BODY_BYTES, ROUTE, announce, fail, naive_receive, port_from_env, secret_from_env,
};

#[tokio::main]
async fn main() {
    let secret: Arc<str> = secret_from_env().into();
    let app = Router::new()
        .route(ROUTE, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(secret);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_from_env()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(listener.local_addr().unwrap_or_else(|err| fail(err)));
    if let Err(err) = axum::serve(listener, app).await {
        fail(err);
    }
}

async fn receive(
    State(secret): State<Arc<str>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let signature = headers
        .get("x-meetingbaas-signature")
        .and_then(|value| value.to_str().ok());
    let (status, reply) = naive_receive(&secret, signature, &body);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        reply,
    )
}

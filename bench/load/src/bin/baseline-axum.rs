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
    Careful, MAX_BODY_BYTES, ROUTE, announce, fail, hardened_from_env, naive_from_env,
    naive_receive, port_from_env, secret_from_env,
};

/// The secret, and the careful receiver unless `BASELINE=naive`.
struct Receiver {
    secret: String,
    careful: Option<Careful>,
}

#[tokio::main]
async fn main() {
    let secret = secret_from_env();
    let careful = (!naive_from_env()).then(|| Careful::new(&secret));
    let secret = Arc::new(Receiver { secret, careful });
    let app = Router::new()
        .route(ROUTE, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(secret);
    if hardened_from_env() {
        meetingbaas_bench_load::serve_hardened(app).await
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_from_env()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(listener.local_addr().unwrap_or_else(|err| fail(err)));
    if let Err(err) = axum::serve(listener, app).await {
        fail(err);
    }
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let signature = headers.get("x-meetingbaas-signature");
    let (status, reply) = match &receiver.careful {
        Some(careful) => careful.receive(signature.map(|value| value.as_bytes()), &body),
        None => naive_receive(
            &receiver.secret,
            signature.and_then(|value| value.to_str().ok()),
            &body,
        ),
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        reply,
    )
}

//! Hand-written warp receiver, the baseline of `examples/warp` (see the crate docs).

#![forbid(unsafe_code)]

use std::sync::Arc;

use meetingbaas_bench_load::{
    Careful, MAX_BODY_BYTES, announce, fail, hardened_from_env, naive_from_env, naive_receive,
    port_from_env, secret_from_env,
};
use warp::Filter;
use warp::http::StatusCode;

#[tokio::main]
async fn main() {
    let secret: Arc<str> = secret_from_env().into();
    let careful = (!naive_from_env()).then(|| Careful::new(&secret));
    let route = warp::post()
        .and(warp::path!("webhooks" / "meetingbaas"))
        .and(warp::header::optional::<String>("x-meetingbaas-signature"))
        .and(warp::body::content_length_limit(MAX_BODY_BYTES as u64))
        .and(warp::body::bytes())
        .map(move |signature: Option<String>, body: hyper::body::Bytes| {
            let (status, reply) = match &careful {
                Some(careful) => careful.receive(signature.as_deref().map(str::as_bytes), &body),
                None => naive_receive(&secret, signature.as_deref(), &body),
            };
            warp::reply::with_status(
                warp::reply::with_header(reply, "content-type", "application/json"),
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            )
        });
    if hardened_from_env() {
        meetingbaas_bench_load::serve_hardened(warp::service(route)).await
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_from_env()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(listener.local_addr().unwrap_or_else(|err| fail(err)));
    warp::serve(route).incoming(listener).run().await;
}

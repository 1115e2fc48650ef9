//! Hand-written hyper 1 receiver, the baseline of `examples/hyper` (see the crate docs).

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use meetingbaas_bench_load::{
    Careful, MAX_BODY_BYTES, ROUTE, announce, fail, naive_from_env, naive_receive, port_from_env,
    secret_from_env,
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
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_from_env()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(listener.local_addr().unwrap_or_else(|err| fail(err)));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let secret = secret.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| receive(secret.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn receive(
    receiver: Arc<Receiver>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST || req.uri().path() != ROUTE {
        return Ok(reply(404, r#"{"error":"not_found"}"#.to_string()));
    }
    let signature = req.headers().get("x-meetingbaas-signature").cloned();
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply(413, r#"{"error":"payload_too_large"}"#.to_string())),
    };
    let (status, body) = match &receiver.careful {
        Some(careful) => careful.receive(signature.as_ref().map(|value| value.as_bytes()), &body),
        None => naive_receive(
            &receiver.secret,
            signature.as_ref().and_then(|value| value.to_str().ok()),
            &body,
        ),
    };
    Ok(reply(status, body))
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

//! Hand-written hyper 1 receiver, the baseline of `examples/hyper` (see the crate docs).

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
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
    if hardened_from_env() {
        meetingbaas_bench_load::serve_hardened(Hardened(secret)).await
    }
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

/// The receiver as the tower service the examples' loop takes. Its future is boxed (one
/// allocation per request that the plain variant does not make).
#[derive(Clone)]
struct Hardened(Arc<Receiver>);

impl tower_service::Service<Request<Incoming>> for Hardened {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        Box::pin(receive(Arc::clone(&self.0), req))
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

//! `FailureLimitLayer` over real TCP: a forged flood from one client is limited (429) while
//! verified deliveries, from another client in the middle of the flood, all get 200.
#![cfg(all(feature = "rate-limit", feature = "axum"))]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::post;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use meetingbaas_webhooks::{Signer, Verifier};
use meetingbaas_webhooks_tower::limit::Quota;
use meetingbaas_webhooks_tower::{FailureLimitLayer, VerifyWebhookLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tower::ServiceExt;

const SECRET: &str = "rate-limit-secret";

/// Serves `app` on 127.0.0.1, with each connection's peer address as `ConnectInfo`.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            let app = app.clone();
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    addr
}

/// POSTs `body` signed with `secret` from the loopback address `from`: the status.
async fn post_from(from: Ipv4Addr, server: SocketAddr, secret: &str, body: &str) -> u16 {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let mut head = format!(
        "POST /webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in Signer::signature(secret)
        .unwrap()
        .sign_now(body.as_bytes())
        .iter()
    {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // The server may answer (429) and close before reading the body: ignore write errors.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_flood_is_limited_while_verified_deliveries_get_200() {
    let verifier = Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .unwrap();
    // 5 failures per client, then one more per minute.
    let quota =
        Quota::per_minute(NonZeroU32::new(1).unwrap()).allow_burst(NonZeroU32::new(5).unwrap());
    let limit = FailureLimitLayer::new(quota);
    let app = Router::new()
        .route("/webhooks", post(|| async { "ok" }))
        .route_layer(VerifyWebhookLayer::new(verifier))
        .route_layer(limit.clone());
    let server = serve(app).await;

    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let sender = Ipv4Addr::new(127, 0, 0, 3);
    let body = r#"{"event":"bot.completed","data":{"bot_id":"b"}}"#;
    let mut forged = Vec::new();
    let mut verified = Vec::new();
    for i in 0..60 {
        forged.push(post_from(attacker, server, "not-the-secret", body).await);
        if i % 6 == 3 {
            // A real delivery in the middle of the flood, as often as the quota allows
            // failures, and more: it never spends any.
            verified.push(post_from(sender, server, SECRET, body).await);
        }
    }
    // The 5 failures of the quota, and the one past it that blocks the client, are answered 401.
    assert_eq!(&forged[..6], &[401; 6], "{forged:?}");
    assert!(
        forged[6..].iter().all(|status| *status == 429),
        "past the quota, 429: {forged:?}"
    );
    assert!(verified.iter().all(|status| *status == 200), "{verified:?}");
    assert!(limit.blocked_for(&IpAddr::V4(attacker)).is_some());
    assert!(limit.blocked_for(&IpAddr::V4(sender)).is_none());
    // The sender's deliveries keep getting 200 after the flood.
    for _ in 0..10 {
        assert_eq!(post_from(sender, server, SECRET, body).await, 200);
    }
}

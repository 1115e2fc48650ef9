//! Chunked bodies over a real TCP connection (`warp::test` always sends one full frame with a
//! `Content-Length`): hand-written HTTP/1.1 requests against `warp::serve` on 127.0.0.1:0.

use std::net::SocketAddr;
use std::time::Duration;

use meetingbaas_webhooks::{Event, Signer, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_warp::{event, recover};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use warp::Filter;

const SECRET: &str = "signature secret";
const LIMIT: usize = 1024;

/// Serves the event route in the background; returns its address.
async fn serve() -> SocketAddr {
    let verifier = Verifier::builder()
        .signature_secret(SECRET)
        .max_body_bytes(LIMIT)
        .build()
        .unwrap();
    let route = warp::post()
        .and(warp::path!("webhooks" / "meetingbaas"))
        .and(event(verifier))
        .map(|_: VerifiedDelivery, event: Event| event.name().to_owned())
        .recover(recover);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    addr
}

/// The request head for `body`, signed, with `Transfer-Encoding: chunked`.
fn chunked_head(body: &[u8]) -> String {
    let mut head = String::from(
        "POST /webhooks/meetingbaas HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n",
    );
    for (name, value) in Signer::signature(SECRET).unwrap().sign_now(body) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// One chunk in the chunked encoding.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads one response: its status and body. Bounded so that a server that never answers fails
/// the test instead of hanging it (no timing is asserted).
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before a response");
            received.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8(received[..head_end].to_vec()).unwrap();
        let status = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .expect("a content-length");
        while received.len() < head_end + length {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed inside the body");
            received.extend_from_slice(&buf[..n]);
        }
        let body = String::from_utf8(received[head_end..head_end + length].to_vec()).unwrap();
        (status, body)
    })
    .await
    .expect("the server answered")
}

#[tokio::test]
async fn a_chunked_body_under_the_limit_is_accepted() {
    let addr = serve().await;
    let body = br#"{"event":"bot.failed","data":{"bot_id":"b-1","error_code":"BOT_NOT_ACCEPTED"}}"#;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(chunked_head(body).as_bytes())
        .await
        .unwrap();
    for part in body.chunks(10) {
        stream.write_all(&chunk(part)).await.unwrap();
        stream.flush().await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let (status, text) = read_response(&mut stream).await;
    assert_eq!((status, text.as_str()), (200, "bot.failed"));
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_before_it_ends() {
    let addr = serve().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(chunked_head(b"whatever").as_bytes())
        .await
        .unwrap();
    // Pass the limit and then stall, without the final chunk: only a receiver that stops
    // reading at the limit can answer now.
    for _ in 0..3 {
        stream.write_all(&chunk(&[b' '; 512])).await.unwrap();
    }
    stream.flush().await.unwrap();
    let (status, text) = read_response(&mut stream).await;
    assert_eq!(status, 413);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["error"], "payload_too_large");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_with_no_body_sent() {
    let addr = serve().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /webhooks/meetingbaas HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n",
        LIMIT + 1
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (status, text) = read_response(&mut stream).await;
    assert_eq!(status, 413);
    assert!(text.contains("payload_too_large"));
}

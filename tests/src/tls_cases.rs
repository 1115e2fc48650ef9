//! HTTPS cases: what only TLS has (a plain-HTTP client on the TLS port, a stalled handshake, bad
//! certificate or key files). The contract cases themselves run over TLS through
//! [`over_tls`](crate::server::over_tls) (see `tls_suite!`).

use std::time::{Duration, Instant};

use meetingbaas_webhooks::Scheme;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cases::{assert_accepted, post, run};
use crate::client::Body;
use crate::config_cases::assert_one_line_failure;
use crate::deliveries::{minimal, signed};
use crate::server::{Server, default_env};
use crate::tls::TestCertificate;

/// Environment variables for one start.
type Env = Vec<(&'static str, String)>;

/// The longest an example may keep a connection whose TLS handshake stalls: its handshake
/// timeout (10 s) and some slack.
const STALLED_HANDSHAKE_LIMIT: Duration = Duration::from_secs(16);

async fn start_tls(binary: &str) -> Server {
    let mut env = default_env();
    env.extend(TestCertificate::get().env());
    Server::start(binary, &env).await
}

/// Reads until the server closes, for at most `limit`: what was read and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (out, closed)
}

async fn assert_tls_still_answers(server: &mut Server) {
    assert!(server.is_running(), "the server exited");
    let body = minimal("bot.completed", "still-alive");
    let response = post(server, &signed(Scheme::Callback, &body), Body::Length(body)).await;
    assert_accepted(&response, "bot.completed", Some("still-alive"));
}

/// A plain-HTTP request on the TLS port gets no HTTP answer and a closed connection, quickly.
pub fn plain_http_on_the_tls_port_is_closed(binary: &str) {
    run(async {
        let mut server = start_tls(binary).await;
        let body = minimal("bot.completed", "b-plain");
        let mut request = format!(
            "POST /webhooks/meetingbaas HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in signed(Scheme::Callback, &body) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let _ = stream.write_all(&body).await;
        let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(closed, "the connection stayed open");
        assert!(
            !answer.starts_with(b"HTTP/"),
            "answered plain HTTP: {:?}",
            String::from_utf8_lossy(&answer)
        );
        assert_tls_still_answers(&mut server).await;
    });
}

/// A client that stops in the middle of its handshake is disconnected after the handshake
/// timeout; others are served meanwhile.
pub fn stalled_tls_handshake_is_closed(binary: &str) {
    run(async {
        let mut server = start_tls(binary).await;
        let started = Instant::now();
        // Nothing at all, and the first bytes of a ClientHello record promising more.
        let mut silent = TcpStream::connect(&server.addr).await.expect("connect");
        let mut partial = TcpStream::connect(&server.addr).await.expect("connect");
        partial
            .write_all(&[0x16, 0x03, 0x01, 0x01, 0x00, 0x01])
            .await
            .expect("write");
        assert_tls_still_answers(&mut server).await;
        for stream in [&mut silent, &mut partial] {
            let (_, closed) = read_until_closed(stream, STALLED_HANDSHAKE_LIMIT).await;
            assert!(
                closed,
                "a stalled handshake was still open after {:?}",
                started.elapsed()
            );
        }
        assert_tls_still_answers(&mut server).await;
    });
}

/// Missing, unreadable, empty or mismatched certificate and key files stop the example with one
/// line; so does one variable without the other.
pub fn bad_tls_files_exit_non_zero_with_one_line(binary: &str) {
    run(async {
        let certificate = TestCertificate::get();
        let cert = certificate.cert.display().to_string();
        let key = certificate.key.display().to_string();
        let not_pem = certificate.dir.join("not-pem.txt");
        std::fs::write(&not_pem, "this is not a PEM file\n").expect("write");
        let not_pem = not_pem.display().to_string();
        let missing = "/nonexistent/meetingbaas/cert.pem".to_string();
        let cases: [(&str, Env, &str); 7] = [
            (
                "missing certificate",
                vec![
                    ("MEETINGBAAS_TLS_CERT", missing.clone()),
                    ("MEETINGBAAS_TLS_KEY", key.clone()),
                ],
                "MEETINGBAAS_TLS_CERT",
            ),
            (
                "missing key",
                vec![
                    ("MEETINGBAAS_TLS_CERT", cert.clone()),
                    ("MEETINGBAAS_TLS_KEY", missing.clone()),
                ],
                "MEETINGBAAS_TLS_KEY",
            ),
            (
                "certificate not PEM",
                vec![
                    ("MEETINGBAAS_TLS_CERT", not_pem.clone()),
                    ("MEETINGBAAS_TLS_KEY", key.clone()),
                ],
                "MEETINGBAAS_TLS_CERT",
            ),
            (
                "key not PEM",
                vec![
                    ("MEETINGBAAS_TLS_CERT", cert.clone()),
                    ("MEETINGBAAS_TLS_KEY", not_pem.clone()),
                ],
                "MEETINGBAAS_TLS_KEY",
            ),
            (
                "key of another certificate",
                vec![
                    ("MEETINGBAAS_TLS_CERT", cert.clone()),
                    (
                        "MEETINGBAAS_TLS_KEY",
                        certificate.other_key.display().to_string(),
                    ),
                ],
                "MEETINGBAAS_TLS_KEY",
            ),
            (
                "certificate without key",
                vec![("MEETINGBAAS_TLS_CERT", cert.clone())],
                "MEETINGBAAS_TLS_KEY",
            ),
            (
                "key without certificate",
                vec![("MEETINGBAAS_TLS_KEY", key.clone())],
                "MEETINGBAAS_TLS_CERT",
            ),
        ];
        for (what, tls_env, needle) in cases {
            let mut env = default_env();
            env.extend(tls_env);
            assert_one_line_failure(binary, &env, what, needle).await;
        }
    });
}

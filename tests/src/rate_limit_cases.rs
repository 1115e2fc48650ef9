//! Rate limiting what fails verification, over real TCP against an example that wires it
//! (`MEETINGBAAS_FAILURE_LIMIT`): a forged flood from one client address is answered 429 once
//! the client has spent its quota, while verified deliveries from another address, sent in the
//! middle of the flood, all get 200.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use meetingbaas_webhooks::Scheme;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::cases::run;
use crate::client;
use crate::deliveries::{minimal, sign_with, signed};
use crate::server::{Server, default_env};

/// The quota the example is started with: 5 failures per client, then one more every 12
/// minutes (so that no refill happens during the case, however slow the machine).
pub const FAILURE_LIMIT: &str = "5/h";

/// POSTs `body` with `headers` from the loopback address `from`: the status (0 when there was
/// no answer).
async fn post_from(
    from: Ipv4Addr,
    server: SocketAddr,
    headers: &[(String, String)],
    body: &[u8],
) -> u16 {
    answer_from(from, server, headers, body)
        .await
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}

/// POSTs `body` with `headers` from the loopback address `from`: the whole answer, as text.
async fn answer_from(
    from: Ipv4Addr,
    server: SocketAddr,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(from), 0))
        .expect("bind to a loopback address");
    let Ok(mut stream) = socket.connect(server).await else {
        return String::new();
    };
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: \
         application/json\r\nContent-Length: {}\r\n",
        client::ROUTE,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // The server may answer (429) and close before reading the body: ignore write errors.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A forged flood from one address gets 401 for the quota's 5 failures and the one that blocks
/// it, then 429 with `Retry-After`; verified deliveries from another address in the middle of it
/// (and after it) all get 200.
pub fn a_forged_flood_is_limited_while_verified_deliveries_get_200(binary: &str) {
    run(async {
        let mut env = default_env();
        env.push(("MEETINGBAAS_FAILURE_LIMIT", FAILURE_LIMIT.to_string()));
        let mut server = Server::start(binary, &env).await;
        let addr: SocketAddr = server.addr.parse().expect("the server's address");
        let attacker = Ipv4Addr::new(127, 0, 0, 2);
        let sender = Ipv4Addr::new(127, 0, 0, 3);
        let body = minimal("bot.completed", "rate-limited");
        let forged_headers = sign_with(Scheme::Callback, "not-the-secret", &body, 0);
        let mut forged = Vec::new();
        let mut verified = Vec::new();
        for i in 0..60 {
            forged.push(post_from(attacker, addr, &forged_headers, &body).await);
            if i % 6 == 3 {
                // A real delivery in the middle of the flood: it never spends any quota.
                verified
                    .push(post_from(sender, addr, &signed(Scheme::Callback, &body), &body).await);
            }
        }
        assert_eq!(&forged[..6], &[401; 6], "{forged:?}");
        assert!(
            forged[6..].iter().all(|status| *status == 429),
            "past the quota, 429: {forged:?}"
        );
        assert!(verified.iter().all(|status| *status == 200), "{verified:?}");
        // The 429 says when to come back (in whole seconds, about 12 minutes).
        let answer = answer_from(attacker, addr, &forged_headers, &body).await;
        let head = answer.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 429"), "{answer}");
        let retry_after: u64 = head
            .lines()
            .find_map(|line| line.strip_prefix("retry-after:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("429 without Retry-After: {answer}"));
        assert!((1..=720).contains(&retry_after), "{answer}");
        for _ in 0..10 {
            let status = post_from(sender, addr, &signed(Scheme::Callback, &body), &body).await;
            assert_eq!(status, 200, "verified delivery after the flood");
        }
        assert!(server.is_running(), "the server exited");
    });
}

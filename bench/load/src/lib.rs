//! Load benchmark support (`bench/run.sh`): what the hand-written baseline receivers share, and
//! the generated bodies.
//!
//! Each `baseline-<framework>` binary is the receiver a user would write without this crate
//! family, in two variants chosen by `BASELINE` (`careful`, the default, or `naive`):
//!
//! - **careful** ([`Careful::receive`]): read the whole body, HMAC-SHA256 it with a key prepared
//!   once at start-up, decode `X-MeetingBaas-Signature` from hex and compare the tags in constant
//!   time, parse the body into a small typed struct of the fields the handler uses
//!   ([`Envelope`]: the event name, the bot id and the transcript, which is what a `complete`
//!   handler is for), answer 200;
//! - **naive** ([`naive_receive`]): what the product description's sample handler does: HMAC
//!   with the secret on every request, lowercase hex, plain `==` (not constant time), parse into a
//!   `serde_json::Value`.
//!
//! With `BASELINE_SERVE=hardened` ([`hardened_from_env`]) the axum, hyper and warp baselines are
//! served by the examples' own loop instead of their framework's plain one.
//!
//! They follow the examples' conventions (route, `PORT`, the `listening on ...` line,
//! `MEETINGBAAS_WEBHOOK_SECRET`, an 8 MiB body limit like the core's default) so that
//! `bench/run.sh` drives both the same way.
//!
//! ```
//! use meetingbaas_bench_load::{Careful, body::complete_body, naive_receive};
//!
//! let body = complete_body(1024);
//! let signed = meetingbaas_webhooks::Signer::signature("s3cret")?.sign(&body, "", 0);
//! let signature = signed.get("x-meetingbaas-signature");
//! let (status, reply) = naive_receive("s3cret", signature, &body);
//! assert_eq!(status, 200);
//! assert!(reply.contains(r#""event":"complete""#));
//! let (status, reply) = Careful::new("s3cret").receive(signature.map(str::as_bytes), &body);
//! assert_eq!(status, 200);
//! assert!(reply.contains(r#""event":"complete""#));
//! # Ok::<(), meetingbaas_webhooks::ConfigError>(())
//! ```

#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

#[path = "../../../crates/meetingbaas-webhooks/benches/support/body.rs"]
pub mod body;

/// The route every receiver serves.
pub const ROUTE: &str = "/webhooks/meetingbaas";

/// The body limit of the baselines: the core's default, so both sides accept the same bodies.
pub const MAX_BODY_BYTES: usize = meetingbaas_webhooks::DEFAULT_MAX_BODY_BYTES;

/// Whether a baseline is served by the examples' hardened loop
/// (`meetingbaas_webhooks_server::serve`: header and keep-alive deadline, connection cap) with
/// `BASELINE_SERVE=hardened`, instead of its framework's plain server (the default). Comparing
/// the two variants of one baseline gives the cost of the loop itself; comparing an example
/// with the hardened variant gives the cost of the crates alone. (actix serves both with its
/// own `HttpServer`, where the example only sets a request timeout and a connection cap.)
pub fn hardened_from_env() -> bool {
    std::env::var("BASELINE_SERVE").is_ok_and(|serve| serve == "hardened")
}

/// Serves `app` with the examples' hardened loop (`meetingbaas_webhooks_server::serve`, its
/// default limits) on `127.0.0.1:PORT` until SIGTERM, then exits: `BASELINE_SERVE=hardened`.
pub async fn serve_hardened<S, B>(app: S) -> !
where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use meetingbaas_webhooks_server::{Limits, Shutdown, serve};
    let shutdown = Shutdown::on_signals(std::time::Duration::ZERO).unwrap_or_else(|err| fail(err));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_from_env()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(listener.local_addr().unwrap_or_else(|err| fail(err)));
    serve(listener, app, &Limits::default(), None, &shutdown).await;
    std::process::exit(0)
}

/// Which receiver a baseline binary runs: `BASELINE=naive`, or the careful one (the default).
pub fn naive_from_env() -> bool {
    std::env::var("BASELINE").is_ok_and(|variant| variant == "naive")
}

/// The careful hand-written receiver: the HMAC key prepared once, the presented tag decoded and
/// compared in constant time, the body parsed into [`Envelope`].
#[derive(Clone)]
pub struct Careful {
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for Careful {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Careful(<key>)")
    }
}

/// The fields a `complete` handler uses, typed: everything else in the body is skipped.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// The event name.
    pub event: String,
    /// The payload.
    #[serde(default)]
    pub data: Data,
}

/// The payload fields the handler uses.
#[derive(Debug, Default, Deserialize)]
pub struct Data {
    /// The bot.
    pub bot_id: Option<String>,
    /// The transcript, when the event carries one.
    #[serde(default)]
    pub transcript: Vec<Segment>,
}

/// One transcript segment.
#[derive(Debug, Deserialize)]
pub struct Segment {
    /// Who spoke.
    pub speaker: Option<String>,
    /// The words, with their timings.
    #[serde(default)]
    pub words: Vec<Word>,
}

/// One transcribed word.
#[derive(Debug, Deserialize)]
pub struct Word {
    /// Start, in seconds.
    pub start: f64,
    /// End, in seconds.
    pub end: Option<f64>,
    /// The word.
    pub word: String,
}

#[derive(Serialize)]
struct Reply<'a> {
    status: &'a str,
    event: &'a str,
    bot_id: Option<&'a str>,
}

impl Careful {
    /// Prepares the keyed HMAC state once.
    pub fn new(secret: &str) -> Self {
        match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
            Ok(key) => Careful { key },
            Err(_) => fail("HMAC-SHA256 accepts keys of any length"),
        }
    }

    /// Verifies and parses one delivery; the status and the JSON reply (the examples' reply on
    /// success).
    pub fn receive(&self, signature: Option<&[u8]>, body: &[u8]) -> (u16, String) {
        let Some(presented) = signature.and_then(decode_hex_32) else {
            return (401, r#"{"error":"invalid_signature"}"#.to_string());
        };
        let mut mac = self.key.clone();
        mac.update(body);
        // `verify_slice` compares in constant time.
        if mac.verify_slice(&presented).is_err() {
            return (401, r#"{"error":"invalid_signature"}"#.to_string());
        }
        let envelope: Envelope = match serde_json::from_slice(body) {
            Ok(envelope) => envelope,
            Err(_) => return (400, r#"{"error":"invalid_json"}"#.to_string()),
        };
        let reply = Reply {
            status: "success",
            event: &envelope.event,
            bot_id: envelope.data.bot_id.as_deref(),
        };
        match serde_json::to_string(&reply) {
            Ok(reply) => (200, reply),
            Err(_) => (500, r#"{"error":"internal"}"#.to_string()),
        }
    }
}

/// 64 hex digits (either case) into 32 bytes.
fn decode_hex_32(hex: &[u8]) -> Option<[u8; 32]> {
    let hex = hex.trim_ascii();
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// The naive handler: HMAC hex, plain `==`, parse into `Value`. Returns the status and the JSON
/// body to answer (the same reply as the examples on success).
pub fn naive_receive(secret: &str, signature: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return (500, r#"{"error":"bad_secret"}"#.to_string()),
    };
    mac.update(body);
    let expected = hex(&mac.finalize().into_bytes());
    if signature != Some(expected.as_str()) {
        return (401, r#"{"error":"invalid_signature"}"#.to_string());
    }
    let event: Value = match serde_json::from_slice(body) {
        Ok(event) => event,
        Err(_) => return (400, r#"{"error":"invalid_json"}"#.to_string()),
    };
    let reply = json!({
        "status": "success",
        "event": event["event"],
        "bot_id": event["data"]["bot_id"],
    });
    (200, reply.to_string())
}

/// Lowercase hex, as `hex::encode` would give it.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The secret from `MEETINGBAAS_WEBHOOK_SECRET`; exits with status 2 when it is missing.
pub fn secret_from_env() -> String {
    match std::env::var("MEETINGBAAS_WEBHOOK_SECRET") {
        Ok(secret) if !secret.is_empty() => secret,
        _ => fail("MEETINGBAAS_WEBHOOK_SECRET is not set"),
    }
}

/// `PORT` (default 3000; 0 for an ephemeral port); exits with status 2 when it is not a port.
pub fn port_from_env() -> u16 {
    match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .unwrap_or_else(|_| fail("PORT is not a port number")),
        Err(_) => 3000,
    }
}

/// Prints the `listening on http://127.0.0.1:<port>` line and flushes stdout.
pub fn announce(addr: SocketAddr) {
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
}

/// Prints one `error: ...` line and exits with status 2.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_exact_length_and_are_json() {
        for len in [64, 1024, 16 * 1024, 200 * 1024, 1024 * 1024] {
            let body = body::complete_body(len);
            assert_eq!(body.len(), len);
            let value: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(value["event"], "complete");
        }
    }

    #[test]
    fn the_careful_handler_accepts_only_the_right_signature() {
        let body = body::complete_body(200 * 1024);
        let signed = meetingbaas_webhooks::Signer::signature("s3cret")
            .unwrap()
            .sign(&body, "", 0);
        let good = signed.get("x-meetingbaas-signature").map(str::as_bytes);
        let careful = Careful::new("s3cret");
        let (status, reply) = careful.receive(good, &body);
        assert_eq!(status, 200, "{reply}");
        assert!(reply.contains(r#""bot_id":"123e4567"#), "{reply}");
        assert_eq!(Careful::new("other").receive(good, &body).0, 401);
        assert_eq!(careful.receive(None, &body).0, 401);
        assert_eq!(careful.receive(Some(b"00"), &body).0, 401);
        assert_eq!(careful.receive(good, b"{").0, 401);
        let envelope: Envelope = serde_json::from_slice(&body).unwrap();
        assert!(envelope.data.transcript.len() > 100);
        assert_eq!(envelope.data.transcript[0].words.len(), 16);
    }

    #[test]
    fn the_naive_handler_accepts_only_the_right_signature() {
        let body = body::complete_body(1024);
        let signed = meetingbaas_webhooks::Signer::signature("s3cret")
            .unwrap()
            .sign(&body, "", 0);
        let good = signed.get("x-meetingbaas-signature");
        assert_eq!(naive_receive("s3cret", good, &body).0, 200);
        assert_eq!(naive_receive("other", good, &body).0, 401);
        assert_eq!(naive_receive("s3cret", None, &body).0, 401);
        assert_eq!(naive_receive("s3cret", good, b"{").0, 401);
    }
}

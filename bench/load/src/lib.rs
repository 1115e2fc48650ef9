//! Load benchmark support (`bench/run.sh`): what the hand-written baseline receivers share, and
//! the generated bodies.
//!
//! Each `baseline-<framework>` binary does what the product description's sample handler does,
//! the way a user would write it without this crate family: read the whole body, compute the
//! lowercase hex HMAC-SHA256 of it with the secret, compare it to `X-MeetingBaas-Signature` with
//! plain `==`, parse the JSON into a `serde_json::Value`, answer 200. They follow the examples'
//! conventions (route, `PORT`, the `listening on ...` line, `MEETINGBAAS_WEBHOOK_SECRET`, an
//! 8 MiB body limit like the core's default) so that `bench/run.sh` drives both the same way.
//!
//! ```
//! use meetingbaas_bench_load::{body::complete_body, naive_receive};
//!
//! let body = complete_body(1024);
//! let signature = meetingbaas_webhooks::Signer::signature("s3cret")?.sign(&body, "", 0);
//! let (status, reply) = naive_receive("s3cret", signature.get("x-meetingbaas-signature"), &body);
//! assert_eq!(status, 200);
//! assert!(reply.contains(r#""event":"complete""#));
//! # Ok::<(), meetingbaas_webhooks::ConfigError>(())
//! ```

#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[path = "../../../crates/meetingbaas-webhooks/benches/support/body.rs"]
pub mod body;

/// The route every receiver serves.
pub const ROUTE: &str = "/webhooks/meetingbaas";

/// The body limit of the baselines: the core's default, so both sides accept the same bodies.
pub const MAX_BODY_BYTES: usize = meetingbaas_webhooks::DEFAULT_MAX_BODY_BYTES;

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

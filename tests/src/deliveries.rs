//! What the cases send: the suite's secrets, the fixtures, and signed headers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use meetingbaas_webhooks::{Scheme, Signer};

/// The suite's Svix secret.
pub const SVIX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A valid Svix secret the servers do not know.
pub const OTHER_SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// The suite's `X-MeetingBaas-Signature` secret.
pub const SIGNATURE_SECRET: &str = "conformance-signature-secret";
/// The suite's callback secret.
pub const CALLBACK_SECRET: &str = "conformance-callback-secret";
/// The suite's v1 API key.
pub const API_KEY: &str = "conformance-api-key";
/// The suite's alert callback secret.
pub const ALERT_SECRET: &str = "conformance-alert-secret";
/// The body limit the default server runs with.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The secret of `scheme` in the default server.
pub fn secret_of(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Svix => SVIX_SECRET,
        Scheme::Signature => SIGNATURE_SECRET,
        Scheme::Callback => CALLBACK_SECRET,
        Scheme::Alert => ALERT_SECRET,
        _ => API_KEY,
    }
}

/// A secret of `scheme` that the default server does not know.
pub fn other_secret_of(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Svix => OTHER_SVIX_SECRET,
        _ => "not-the-configured-secret",
    }
}

/// Every secret of the default server, which must never appear in an answer.
pub const ALL_SECRETS: [&str; 5] = [
    SVIX_SECRET,
    SIGNATURE_SECRET,
    CALLBACK_SECRET,
    API_KEY,
    ALERT_SECRET,
];

/// Now, in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A fresh Svix message id.
pub fn fresh_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "msg_conformance_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The headers a sender adds for `body` under `scheme` with `secret`, at `timestamp`.
pub fn sign_with(
    scheme: Scheme,
    secret: &str,
    body: &[u8],
    timestamp: i64,
) -> Vec<(String, String)> {
    Signer::new(scheme, secret)
        .expect("valid secret")
        .sign(body, &fresh_id(), timestamp)
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Correctly signed headers for `body` under `scheme`, now.
pub fn signed(scheme: Scheme, body: &[u8]) -> Vec<(String, String)> {
    sign_with(scheme, secret_of(scheme), body, now())
}

/// The sample payloads of `shared/fixtures`, as copied into the core crate: `(file stem, body)`.
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/meetingbaas-webhooks/tests/fixtures"
    );
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{dir}: {err}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (stem, std::fs::read(&path).expect("fixture"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 12, "fixtures missing from {dir}");
    out
}

/// `{"event": name, "data": {"bot_id": bot_id}}`.
pub fn minimal(name: &str, bot_id: &str) -> Vec<u8> {
    serde_json::json!({ "event": name, "data": { "bot_id": bot_id } })
        .to_string()
        .into_bytes()
}

/// Svix headers for `body` keeping the message id of `headers` but signed anew, now: what a
/// Svix retry looks like.
pub fn resign_svix(headers: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
    let id = headers
        .iter()
        .find(|(k, _)| k == "svix-id")
        .map(|(_, v)| v.clone())
        .expect("svix-id");
    Signer::new(Scheme::Svix, SVIX_SECRET)
        .expect("valid secret")
        .sign(body, &id, now() + 1)
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

//! What the benchmarks share: bodies, header maps and the criterion settings.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use criterion::Criterion;
use meetingbaas_webhooks::SignedHeaders;

mod body;
pub use body::complete_body;

/// Short criterion runs: the whole `bench/run.sh` must stay under 15 minutes on 2 cores.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .without_plots()
        .configure_from_args()
}

/// A label for a size in bytes: `64B`, `1KiB`, `16KiB`, `1MiB`.
pub fn size_label(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}KiB", bytes / 1024)
    } else {
        format!("{bytes}B")
    }
}

/// Signed headers into an `http::HeaderMap`, optionally renaming `svix-*` to the
/// Standard Webhooks `webhook-*` names.
pub fn header_map(signed: &SignedHeaders, standard_names: bool) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in signed.iter() {
        let name = match (standard_names, name.strip_prefix("svix-")) {
            (true, Some(rest)) => format!("webhook-{rest}"),
            _ => name.to_string(),
        };
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        let value = http::HeaderValue::from_str(value).expect("header value");
        map.append(name, value);
    }
    // What a real request carries besides the scheme's headers.
    for (name, value) in [
        ("host", "127.0.0.1:3000"),
        ("content-type", "application/json"),
        ("user-agent", "Svix-Webhooks/1.0"),
        ("accept", "*/*"),
    ] {
        map.insert(name, http::HeaderValue::from_static(value));
    }
    map
}

/// The current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

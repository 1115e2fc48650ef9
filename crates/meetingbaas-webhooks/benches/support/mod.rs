//! What the benchmarks share: bodies, header maps and the criterion settings.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::time::Duration;

use criterion::Criterion;
use meetingbaas_webhooks::HeaderLookup;

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

/// A v1 `complete` delivery of exactly `len` bytes: as many transcript segments as fit, then
/// spaces (valid JSON whitespace). Below the size of the bare envelope, a minimal `complete`.
pub fn complete_body(len: usize) -> Vec<u8> {
    let head = concat!(
        r#"{"event":"complete","data":{"bot_id":"123e4567-e89b-12d3-a456-426614174000","#,
        r#""event_uuid":"123e4567-e89b-12d3-a456-426614174001","speakers":["Jane Smith","John Doe"],"#,
        r#""mp4":"https://storage.example.com/recordings/video123.mp4?token=abc","#,
        r#""audio":"https://storage.example.com/recordings/audio123.wav?token=abc","#,
        r#""extra":{"foo":"bar"},"transcript":["#
    );
    let tail = "]}}";
    let mut body = String::new();
    if head.len() + tail.len() > len {
        body.push_str(r#"{"event":"complete","data":{"bot_id":"b-1"}}"#);
    } else {
        body.push_str(head);
        let mut segment = String::new();
        for index in 0.. {
            segment.clear();
            if index > 0 {
                segment.push(',');
            }
            push_segment(&mut segment, index);
            if body.len() + segment.len() + tail.len() > len {
                break;
            }
            body.push_str(&segment);
        }
        body.push_str(tail);
    }
    while body.len() < len {
        body.push(' ');
    }
    body.into_bytes()
}

const WORDS: [&str; 12] = [
    "so",
    "the",
    "quarterly",
    "numbers",
    "look",
    "good",
    "but",
    "we",
    "should",
    "review",
    "churn",
    "again",
];

/// One transcript segment of 16 words with timings.
fn push_segment(out: &mut String, index: usize) {
    let start = index as f64 * 4.25;
    let speaker = if index % 2 == 0 {
        "Jane Smith"
    } else {
        "John Doe"
    };
    let _ = write!(
        out,
        r#"{{"speaker":"{speaker}","offset":{start:.2},"start_time":{start:.2},"end_time":{:.2},"words":["#,
        start + 4.0
    );
    for w in 0..16 {
        let word_start = start + w as f64 * 0.25;
        if w > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"start":{word_start:.2},"end":{:.2},"word":"{}"}}"#,
            word_start + 0.2,
            WORDS[(index * 7 + w) % WORDS.len()]
        );
    }
    out.push_str("]}");
}

/// `http::HeaderMap` seen through [`HeaderLookup`], exactly as the core's own impl (feature
/// `http`) does it; a newtype so that the benches need no extra core feature.
pub struct Map<'a>(pub &'a http::HeaderMap);

impl HeaderLookup for Map<'_> {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.0.get_all(name).iter().map(http::HeaderValue::as_bytes)
    }
}

/// Signed headers (pairs) into an `http::HeaderMap`, optionally renaming `svix-*` to the
/// Standard Webhooks `webhook-*` names.
pub fn header_map<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    standard_names: bool,
) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
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

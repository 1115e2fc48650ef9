//! Generated webhook bodies of exact sizes: a v1 `complete` with an inline transcript.
//!
//! Shared by the criterion benchmarks and the load benchmark (`bench/load` includes this file
//! by path), so that both measure the same kind of document.

use std::fmt::Write as _;

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
    let speaker = if index.is_multiple_of(2) {
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

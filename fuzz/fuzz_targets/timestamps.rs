//! Svix timestamps and `content_length` on arbitrary header values, against an independent model.
//!
//! Input: 8 bytes of "now" (any i64), 8 bytes of tolerance (any u64 seconds), one flag byte, then
//! `timestamp \n content-length \n body`. The Svix headers are signed correctly over the raw
//! timestamp bytes (HMAC computed here, not by the crate), so the verdict depends on the
//! timestamp alone: accepted exactly when it is 1 to 19 ASCII digits fitting an i64 within the
//! tolerance of now.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use meetingbaas_webhooks::{Bytes, FixedClock, Scheme, Verifier, VerifyError};
use meetingbaas_webhooks_receiver::{content_length};
use sha2::Sha256;

const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn model_timestamp(raw: &[u8]) -> Option<i64> {
    if raw.is_empty() || raw.len() > 19 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse::<i64>().ok()
}

fn model_content_length(raw: &[u8]) -> Option<u64> {
    let digits = raw.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse::<u64>().ok()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 17 {
        return;
    }
    let now = i64::from_le_bytes(data[..8].try_into().unwrap());
    let tolerance = u64::from_le_bytes(data[8..16].try_into().unwrap());
    let flags = data[16];
    let mut parts = data[17..].splitn(3, |b| *b == b'\n');
    let ts_raw = parts.next().unwrap_or_default();
    let cl_raw = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    // content_length: one header, any case, any bytes.
    let name = if flags & 2 == 0 {
        "content-length"
    } else {
        "Content-Length"
    };
    let got = content_length(&[(name, cl_raw)][..]);
    assert_eq!(
        got,
        model_content_length(cl_raw),
        "{:?}",
        String::from_utf8_lossy(cl_raw)
    );
    // Repeated: never trusted.
    assert_eq!(
        content_length(&[(name, cl_raw), ("content-length", cl_raw)][..]),
        None
    );

    // Svix timestamp, signed over the raw bytes.
    let key = STANDARD.decode(&SVIX_SECRET[6..]).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(b"msg_1.");
    mac.update(ts_raw);
    mac.update(b".");
    mac.update(body);
    let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let (id_name, ts_name, sig_name) = if flags & 1 == 0 {
        ("svix-id", "svix-timestamp", "svix-signature")
    } else {
        ("webhook-id", "webhook-timestamp", "webhook-signature")
    };
    let headers: [(&str, &[u8]); 3] = [
        (id_name, b"msg_1"),
        (ts_name, ts_raw),
        (sig_name, signature.as_bytes()),
    ];
    let verifier = Verifier::builder()
        .svix_secret(SVIX_SECRET)
        .clock(FixedClock::new(now))
        .tolerance(std::time::Duration::from_secs(tolerance))
        .build()
        .unwrap();
    let result = verifier.verify(&headers, Bytes::copy_from_slice(body));
    match model_timestamp(ts_raw) {
        None => assert!(
            matches!(
                result,
                Err(VerifyError::MalformedHeader {
                    scheme: Scheme::Svix,
                    ..
                })
            ),
            "{:?} -> {result:?}",
            String::from_utf8_lossy(ts_raw)
        ),
        Some(ts) => {
            let within = (i128::from(now) - i128::from(ts)).unsigned_abs() <= u128::from(tolerance);
            if within {
                let delivery = result.expect("a correctly signed, timely delivery");
                assert_eq!(delivery.timestamp(), Some(ts));
                assert_eq!(delivery.message_id(), Some("msg_1"));
            } else {
                assert_eq!(
                    result.unwrap_err(),
                    VerifyError::TimestampOutOfTolerance { timestamp: ts, now }
                );
            }
        }
    }
});

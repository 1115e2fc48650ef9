//! Header lookup and signature-list parsing: arbitrary headers (and body) against a verifier with
//! every scheme enabled. Input: `name: value` lines, then an empty line, then the body. A first
//! byte with its low bit set also adds correctly signed Svix headers for the body, so that the
//! fuzzer reaches the MAC comparison with the other headers still arbitrary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetingbaas_webhooks::{Bytes, FixedClock, Scheme, Signer, Verifier, VerifyError};

const NOW: i64 = 1_700_000_000;
const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn verifier() -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX_SECRET)
        .signature_secret("sig-S3cr3t-x")
        .callback_secret("cb-S3cr3t-x")
        .api_key("ak-S3cr3t-x")
        .alert_secret("al-S3cr3t-x")
        .clock(FixedClock::new(NOW))
        .max_body_bytes(64 * 1024)
        .build()
        .expect("a valid configuration")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b""[..]),
    };
    let mut headers: Vec<(String, Vec<u8>)> = head
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|b| *b == b':')?;
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
            let value = line[colon + 1..].trim_ascii_start().to_vec();
            Some((name, value))
        })
        .collect();
    if flags & 1 == 1 {
        let signed = Signer::svix(SVIX_SECRET).unwrap().sign(body, "msg_1", NOW);
        for (name, value) in signed.iter() {
            headers.push((name.to_owned(), value.as_bytes().to_vec()));
        }
    }

    let verifier = verifier();
    match verifier.verify(&headers, Bytes::copy_from_slice(body)) {
        Ok(delivery) => {
            assert!(verifier.is_enabled(delivery.scheme()));
            assert_eq!(&delivery.body()[..], body);
            if delivery.scheme() == Scheme::Svix {
                let id = delivery.message_id().expect("a Svix delivery has an id");
                assert!(!id.is_empty() && id.len() <= 256);
                assert!(id.bytes().all(|b| b.is_ascii_graphic()));
                let ts = delivery
                    .timestamp()
                    .expect("a Svix delivery has a timestamp");
                assert!((i128::from(ts) - i128::from(NOW)).unsigned_abs() <= 300);
            } else {
                assert!(delivery.message_id().is_none() && delivery.timestamp().is_none());
            }
            let _ = delivery.idempotency_key();
            let _ = delivery.parse_event();
        }
        Err(err) => {
            // Every rejection displays and never contains a secret.
            let text = format!("{err} {err:?}");
            for secret in ["C2FVsBQIhrscChlQIMV", "S3cr3t"] {
                assert!(!text.contains(secret), "{text}");
            }
            if let VerifyError::TimestampOutOfTolerance { timestamp, now } = err {
                assert_eq!(now, NOW);
                assert!((i128::from(timestamp) - i128::from(NOW)).unsigned_abs() > 300);
            }
        }
    }
});

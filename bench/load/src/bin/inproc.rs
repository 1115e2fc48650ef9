//! In-process request work, for profilers (`valgrind --tool=callgrind`, `perf`): no sockets,
//! so instruction counts are deterministic and comparable between the two sides.
//!
//! `inproc SIDE SIZE COUNT [CHUNK]` handles COUNT signed v1 `complete` bodies of SIZE bytes:
//!
//! - `careful`: the careful hand-written receiver ([`Careful::receive`]);
//! - `ours`: the core's [`Pipeline`] (`parse_events(true)`, like the examples): `read` from a
//!   stream of CHUNK-byte frames (default 16 KiB: what hyper hands over on loopback), then
//!   `admit`, then `finish(200)`;
//! - `sorted`: `ours` on the same body with its keys sorted (`data` before `event`);
//! - `svix`: `Verifier::verify` of a Svix-signed body (an `http::HeaderMap` with the Svix headers
//!   and four others); `svix-floor`: the bare HMAC of the same bytes and a constant-time compare.
//! - `callback`: `Verifier::verify` of a callback delivery (`x-mb-secret` among four other
//!   headers); `callback-floor`: SHA-256 of the presented token and a constant-time compare.

#![forbid(unsafe_code)]

use std::convert::Infallible;

use meetingbaas_bench_load::{Careful, body::complete_body, fail};
use meetingbaas_webhooks::{Bytes, Event, Signer, Verifier};
use meetingbaas_webhooks_receiver::Pipeline;

const SECRET: &str = "bench-secret-7c1e9a52d4b04f18";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| {
        args.get(i)
            .map_or(Ok(default), |arg| arg.parse())
            .unwrap_or_else(|_| fail("usage: inproc careful|ours|sorted SIZE COUNT [CHUNK]"))
    };
    let (size, count, chunk) = (number(1, 1024), number(2, 100), number(3, 16 * 1024));
    let mut body = complete_body(size);
    let side = args.first().map_or("ours", String::as_str);
    if side == "sorted" {
        let value: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or_else(|err| fail(err));
        body = serde_json::to_vec(&value).unwrap_or_else(|err| fail(err));
    }
    let headers = Signer::signature(SECRET)
        .unwrap_or_else(|err| fail(err))
        .sign(&body, "", 0);
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    headers.push(("content-length".to_string(), body.len().to_string()));
    let body = Bytes::from(body);
    match side {
        "svix" | "svix-floor" => svix(side == "svix", &body, count),
        "callback" | "callback-floor" => callback(side == "callback", &body, count),
        "careful" => {
            let careful = Careful::new(SECRET);
            let signature = headers
                .iter()
                .find(|(name, _)| name == "x-meetingbaas-signature")
                .map(|(_, value)| value.as_bytes());
            for _ in 0..count {
                // The body as a framework hands it over: received in frames, then joined.
                let joined = join(&body, chunk);
                let (status, _) = careful.receive(signature, &joined);
                assert_eq!(status, 200);
            }
        }
        "ours" | "sorted" => {
            let verifier = Verifier::builder()
                .signature_secret(SECRET)
                .build()
                .unwrap_or_else(|err| fail(err));
            let pipeline = Pipeline::new(verifier).parse_events(true);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|err| fail(err));
            runtime.block_on(async {
                for _ in 0..count {
                    let frames = frames(&body, chunk);
                    let stream = futures_util::stream::iter(frames);
                    let received = pipeline
                        .read(&headers, stream)
                        .await
                        .unwrap_or_else(|_| fail("refused"));
                    let ticket = pipeline
                        .admit::<serde::de::IgnoredAny, _>(&headers, received)
                        .await
                        .into_result()
                        .unwrap_or_else(|_| fail("refused"));
                    let (_, event, _, completion) = ticket.into_parts();
                    assert!(matches!(event, Some(Event::BotCompleted { .. })));
                    drop(event);
                    completion.finish(200).await;
                }
            });
        }
        _ => fail("usage: inproc careful|ours|sorted SIZE COUNT [CHUNK]"),
    }
}

fn svix(ours: bool, body: &Bytes, count: usize) {
    use hmac::{Hmac, Mac};
    const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signed = Signer::svix(SVIX_SECRET)
        .unwrap_or_else(|err| fail(err))
        .sign(body, ID, now);
    let headers = request_headers(&signed, "Svix-Webhooks/1.0");
    if ours {
        verify_repeatedly(
            Verifier::builder().svix_secret(SVIX_SECRET),
            &headers,
            body,
            count,
        );
    } else {
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD
            .decode(&SVIX_SECRET["whsec_".len()..])
            .unwrap_or_else(|err| fail(err));
        let prepared = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap_or_else(|err| fail(err));
        let ts = now.to_string();
        let mut mac = prepared.clone();
        for part in [ID.as_bytes(), b".", ts.as_bytes(), b".", body] {
            mac.update(part);
        }
        let expected = mac.finalize().into_bytes();
        for _ in 0..count {
            let mut mac = prepared.clone();
            for part in std::hint::black_box([ID.as_bytes(), b".", ts.as_bytes(), b".", body]) {
                mac.update(part);
            }
            assert!(mac.verify_slice(&expected).is_ok());
        }
    }
}

fn callback(ours: bool, body: &Bytes, count: usize) {
    use sha2::{Digest, Sha256};
    const TOKEN: &str = "callback-token-5b0c2e7d9a134f68";
    let signed = Signer::callback(TOKEN)
        .unwrap_or_else(|err| fail(err))
        .sign(body, "", 0);
    let headers = request_headers(&signed, "python-requests/2.31");
    if ours {
        verify_repeatedly(
            Verifier::builder().callback_secret(TOKEN),
            &headers,
            body,
            count,
        );
    } else {
        let stored: [u8; 32] = Sha256::digest(TOKEN.as_bytes()).into();
        for _ in 0..count {
            let presented = std::hint::black_box(TOKEN).as_bytes();
            let digest: [u8; 32] = Sha256::digest(presented).into();
            let differ = digest
                .iter()
                .zip(&stored)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            assert_eq!(std::hint::black_box(differ), 0);
        }
    }
}

/// `signed`'s headers and four others a sender's request carries, as a framework hands them over.
fn request_headers(
    signed: &meetingbaas_webhooks::SignedHeaders,
    user_agent: &'static str,
) -> axum::http::HeaderMap {
    use axum::http::{HeaderName, HeaderValue};
    let mut headers = axum::http::HeaderMap::new();
    for (name, value) in signed.iter() {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|err| fail(err));
        let value = HeaderValue::from_str(value).unwrap_or_else(|err| fail(err));
        headers.append(name, value);
    }
    for (name, value) in [
        ("host", "127.0.0.1:3000"),
        ("content-type", "application/json"),
        ("user-agent", user_agent),
        ("accept", "*/*"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

/// `Verifier::verify` of `body` under `headers`, COUNT times, with `builder`'s verifier.
fn verify_repeatedly(
    builder: meetingbaas_webhooks::VerifierBuilder,
    headers: &axum::http::HeaderMap,
    body: &Bytes,
    count: usize,
) {
    let verifier = builder.build().unwrap_or_else(|err| fail(err));
    for _ in 0..count {
        let verified = verifier.verify(std::hint::black_box(headers), body.clone());
        assert!(verified.is_ok());
    }
}

/// `body` as CHUNK-byte frames (each its own slice of the one buffer, as hyper splits its read
/// buffer).
fn frames(body: &Bytes, chunk: usize) -> Vec<Result<Bytes, Infallible>> {
    (0..body.len())
        .step_by(chunk.max(1))
        .map(|at| Ok(body.slice(at..(at + chunk).min(body.len()))))
        .collect()
}

/// What `collect().to_bytes()` does with those frames: one buffer of the exact length.
fn join(body: &Bytes, chunk: usize) -> Bytes {
    let frames = frames(body, chunk);
    if frames.len() == 1 {
        return body.clone();
    }
    let mut joined = Vec::with_capacity(body.len());
    for frame in frames.into_iter().flatten() {
        joined.extend_from_slice(&frame);
    }
    Bytes::from(joined)
}

//! Verification per scheme at 64 B, 1 KiB, 16 KiB and 1 MiB, each beside its floor measured in
//! the same run, and the Svix scheme through the `standardwebhooks` crate on the same bytes.
//!
//! Floors: for the HMAC schemes, bare `hmac` + `sha2` over the same bytes with the keyed state
//! prepared once, and a constant-time compare with the expected tag (plus the same with `ring`
//! when the `ring` feature is on); for the token schemes, SHA-256 of the presented token and a
//! constant-time compare with the stored digest.
//!
//! Run with `bench/run.sh` (or `cargo bench -p meetingbaas-webhooks --features http --bench verify`).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use meetingbaas_webhooks::{Signer, Verifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

mod support;
use support::{complete_body, header_map, now, size_label};

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];
const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SIGNATURE_SECRET: &str = "a webhook secret of the kind an integrator sets";
const TOKEN: &str = "mb-api-key-4f9c2a7e1b3d5f6a8c0e2b4d6f8a0c2e";
const MESSAGE_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

fn svix_key_bytes() -> Vec<u8> {
    let encoded = SVIX_SECRET.strip_prefix("whsec_").unwrap_or(SVIX_SECRET);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("svix secret")
}

/// Bare RustCrypto HMAC-SHA256 over `parts`, from a prepared keyed state, compared to `expected`.
fn floor_hmac(prepared: &Hmac<Sha256>, parts: &[&[u8]], expected: &[u8; 32]) -> bool {
    let mut mac = prepared.clone();
    for part in parts {
        mac.update(part);
    }
    let tag = mac.finalize().into_bytes();
    tag.as_slice().ct_eq(expected).into()
}

/// The same floor computed by `ring`.
#[cfg(feature = "ring")]
fn floor_ring(key: &ring::hmac::Key, parts: &[&[u8]], expected: &[u8; 32]) -> bool {
    let mut context = ring::hmac::Context::with_key(key);
    for part in parts {
        context.update(part);
    }
    context.sign().as_ref().ct_eq(expected).into()
}

fn tag_of(prepared: &Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = prepared.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn svix(c: &mut Criterion) {
    let key = svix_key_bytes();
    let prepared = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("key");
    #[cfg(feature = "ring")]
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let verifier = Verifier::builder()
        .svix_secret(SVIX_SECRET)
        .build()
        .expect("verifier");
    let signer = Signer::svix(SVIX_SECRET).expect("signer");

    let mut group = c.benchmark_group("svix");
    for size in SIZES {
        let body = Bytes::from(complete_body(size));
        let label = size_label(size);
        group.throughput(Throughput::Bytes(size as u64));
        // Signed now: every benchmark of this size runs well within the 5-minute tolerance.
        let timestamp = now();
        let ts = timestamp.to_string();
        let signed = signer.sign(&body, MESSAGE_ID, timestamp);
        let headers = header_map(&signed, false);
        let parts: [&[u8]; 5] = [MESSAGE_ID.as_bytes(), b".", ts.as_bytes(), b".", &body];
        let expected = tag_of(&prepared, &parts);
        assert!(verifier.verify(&headers, body.clone()).is_ok());

        group.bench_function(BenchmarkId::new("floor", &label), |b| {
            b.iter(|| floor_hmac(&prepared, black_box(&parts), &expected))
        });
        #[cfg(feature = "ring")]
        group.bench_function(BenchmarkId::new("floor-ring", &label), |b| {
            b.iter(|| floor_ring(&ring_key, black_box(&parts), &expected))
        });
        group.bench_function(BenchmarkId::new("ours", &label), |b| {
            b.iter(|| verifier.verify(black_box(&headers), black_box(body.clone())))
        });
    }
    group.finish();
}

fn signature(c: &mut Criterion) {
    let prepared = <Hmac<Sha256> as Mac>::new_from_slice(SIGNATURE_SECRET.as_bytes()).expect("key");
    #[cfg(feature = "ring")]
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SIGNATURE_SECRET.as_bytes());
    let verifier = Verifier::builder()
        .signature_secret(SIGNATURE_SECRET)
        .build()
        .expect("verifier");
    let signer = Signer::signature(SIGNATURE_SECRET).expect("signer");

    let mut group = c.benchmark_group("signature");
    for size in SIZES {
        let body = Bytes::from(complete_body(size));
        let label = size_label(size);
        group.throughput(Throughput::Bytes(size as u64));
        let headers = header_map(&signer.sign(&body, "", 0), false);
        let parts: [&[u8]; 1] = [&body];
        let expected = tag_of(&prepared, &parts);
        assert!(verifier.verify(&headers, body.clone()).is_ok());

        group.bench_function(BenchmarkId::new("floor", &label), |b| {
            b.iter(|| floor_hmac(&prepared, black_box(&parts), &expected))
        });
        #[cfg(feature = "ring")]
        group.bench_function(BenchmarkId::new("floor-ring", &label), |b| {
            b.iter(|| floor_ring(&ring_key, black_box(&parts), &expected))
        });
        group.bench_function(BenchmarkId::new("ours", &label), |b| {
            b.iter(|| verifier.verify(black_box(&headers), black_box(body.clone())))
        });
    }
    group.finish();
}

/// The token schemes never read the body: the floor is SHA-256 of the token and one compare.
fn tokens(c: &mut Criterion) {
    let stored: [u8; 32] = Sha256::digest(TOKEN.as_bytes()).into();
    for (name, verifier, signer) in [
        (
            "callback",
            Verifier::builder().callback_secret(TOKEN).build(),
            Signer::callback(TOKEN),
        ),
        (
            "api-key",
            Verifier::builder().api_key(TOKEN).build(),
            Signer::api_key(TOKEN),
        ),
    ] {
        let verifier = verifier.expect("verifier");
        let signer = signer.expect("signer");
        let mut group = c.benchmark_group(name);
        for size in SIZES {
            let body = Bytes::from(complete_body(size));
            let label = size_label(size);
            group.throughput(Throughput::Bytes(size as u64));
            let headers = header_map(&signer.sign(&body, "", 0), false);
            assert!(verifier.verify(&headers, body.clone()).is_ok());

            group.bench_function(BenchmarkId::new("floor", &label), |b| {
                b.iter(|| {
                    let digest: [u8; 32] = Sha256::digest(black_box(TOKEN).as_bytes()).into();
                    bool::from(digest.ct_eq(&stored))
                })
            });
            group.bench_function(BenchmarkId::new("ours", &label), |b| {
                b.iter(|| verifier.verify(black_box(&headers), black_box(body.clone())))
            });
        }
        group.finish();
    }
}

/// The peer a user would otherwise pick: the same Svix verification (Standard Webhooks header
/// names, which `standardwebhooks` requires; ours accepts them too) over the same bytes and the
/// same `http::HeaderMap`, both with the system clock.
fn standardwebhooks(c: &mut Criterion) {
    let key = svix_key_bytes();
    let prepared = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("key");
    let verifier = Verifier::builder()
        .svix_secret(SVIX_SECRET)
        .build()
        .expect("verifier");
    let peer = standardwebhooks::Webhook::new(SVIX_SECRET).expect("peer");
    let signer = Signer::svix(SVIX_SECRET).expect("signer");

    let mut group = c.benchmark_group("standardwebhooks");
    for size in SIZES {
        let body = Bytes::from(complete_body(size));
        let label = size_label(size);
        group.throughput(Throughput::Bytes(size as u64));
        let timestamp = now();
        let ts = timestamp.to_string();
        let headers = header_map(&signer.sign(&body, MESSAGE_ID, timestamp), true);
        let parts: [&[u8]; 5] = [MESSAGE_ID.as_bytes(), b".", ts.as_bytes(), b".", &body];
        let expected = tag_of(&prepared, &parts);
        assert!(verifier.verify(&headers, body.clone()).is_ok());
        assert!(peer.verify(&body, &headers).is_ok());

        group.bench_function(BenchmarkId::new("floor", &label), |b| {
            b.iter(|| floor_hmac(&prepared, black_box(&parts), &expected))
        });
        group.bench_function(BenchmarkId::new("ours", &label), |b| {
            b.iter(|| verifier.verify(black_box(&headers), black_box(body.clone())))
        });
        group.bench_function(BenchmarkId::new("standardwebhooks", &label), |b| {
            b.iter(|| peer.verify(black_box(&body), black_box(&headers)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::config();
    targets = svix, signature, tokens, standardwebhooks
}
criterion_main!(benches);

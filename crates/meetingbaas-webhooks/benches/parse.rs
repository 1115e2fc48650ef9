//! Verify + typed parse of a v1 `complete` carrying a generated transcript (~200 KB and ~2 MB),
//! beside the floor: bare HMAC-SHA256 of the body (keyed state prepared once, constant-time
//! compare) plus `serde_json::from_slice` into the same typed payload,
//! [`meetingbaas_webhooks::event::BotCompleted`], through a minimal envelope struct (which reads
//! the transcript at once). `ours` leaves the transcript unread (it is lazy);
//! `ours-read-all` reads every word of it.
//!
//! Run with `bench/run.sh` (or `cargo bench -p meetingbaas-webhooks --features http --bench parse`).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use meetingbaas_webhooks::event::BotCompleted;
use meetingbaas_webhooks::{Event, Signer, Verifier};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

mod support;
use support::{complete_body, header_map, size_label};

const SIZES: [usize; 2] = [200 * 1024, 2 * 1024 * 1024];
const SECRET: &str = "a webhook secret of the kind an integrator sets";

/// The least a hand-written receiver needs to read a `complete` into the typed payload.
#[derive(Deserialize)]
struct Envelope {
    #[allow(dead_code)]
    event: String,
    data: BotCompleted,
}

fn verify_and_parse(c: &mut Criterion) {
    let prepared = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
    let verifier = Verifier::builder()
        .signature_secret(SECRET)
        .build()
        .expect("verifier");
    let signer = Signer::signature(SECRET).expect("signer");

    let mut group = c.benchmark_group("verify+parse");
    // Each iteration takes milliseconds: fewer samples keep the run short.
    group.sample_size(10);
    for size in SIZES {
        let body = Bytes::from(complete_body(size));
        let label = size_label(size);
        group.throughput(Throughput::Bytes(size as u64));
        let headers = header_map(&signer.sign(&body, "", 0), false);
        let mut mac = prepared.clone();
        mac.update(&body);
        let expected: [u8; 32] = mac.finalize().into_bytes().into();

        // Both read the same thing.
        let ours = verifier
            .verify(&headers, body.clone())
            .expect("verified")
            .parse_event()
            .expect("parsed");
        let Event::BotCompleted { data, .. } = &ours else {
            panic!("not a completion: {ours:?}")
        };
        let floor: Envelope = serde_json::from_slice(&body).expect("floor parse");
        assert_eq!(**data, floor.data);
        assert!(data.transcript.len() > 10);

        group.bench_function(BenchmarkId::new("floor", &label), |b| {
            b.iter(|| {
                let body = black_box(&body);
                let mut mac = prepared.clone();
                mac.update(body);
                let tag = mac.finalize().into_bytes();
                assert!(bool::from(tag.as_slice().ct_eq(&expected)));
                let envelope: Envelope = serde_json::from_slice(body).expect("parse");
                envelope.data
            })
        });
        group.bench_function(BenchmarkId::new("ours", &label), |b| {
            b.iter(|| {
                verifier
                    .verify(black_box(&headers), black_box(body.clone()))
                    .expect("verified")
                    .parse_event()
                    .expect("parsed")
            })
        });
        group.bench_function(BenchmarkId::new("ours-read-all", &label), |b| {
            b.iter(|| {
                let event = verifier
                    .verify(black_box(&headers), black_box(body.clone()))
                    .expect("verified")
                    .parse_event()
                    .expect("parsed");
                let Event::BotCompleted { data, .. } = &event else {
                    panic!("not a completion")
                };
                // Every word, as a handler that stores the transcript reads it.
                let words: usize = data.transcript.iter().map(|s| s.words.len()).sum();
                black_box(words);
                event
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::config();
    targets = verify_and_parse
}
criterion_main!(benches);

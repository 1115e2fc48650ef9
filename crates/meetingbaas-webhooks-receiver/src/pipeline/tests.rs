use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde::de::IgnoredAny;

use super::*;
use crate::Error;
use crate::idempotency::MemoryStore;
use meetingbaas_webhooks::{Event, EventKind, Signer};

const SECRET: &str = "pipeline-secret";
const FAILED: &str = r#"{"event":"bot.failed","data":{"bot_id":"b-1"}}"#;

fn pipeline() -> Pipeline {
    Pipeline::new(Verifier::builder().callback_secret(SECRET).build().unwrap())
}

fn headers(body: &str) -> meetingbaas_webhooks::SignedHeaders {
    Signer::callback(SECRET)
        .unwrap()
        .sign(body.as_bytes(), "", 0)
}

fn chunks(parts: &[&'static str]) -> impl futures_core::Stream<Item = Result<Bytes, Infallible>> {
    stream::iter(
        parts
            .iter()
            .map(|part| Ok(Bytes::from_static(part.as_bytes())))
            .collect::<Vec<_>>(),
    )
}

/// A body stream that must never be polled: the request is decided at its headers.
fn unpolled() -> impl futures_core::Stream<Item = Result<Bytes, Infallible>> {
    stream::poll_fn(|_| panic!("the body was read, although the headers decided"))
}

async fn admit<T: serde::de::DeserializeOwned + Send + 'static>(
    pipeline: &Pipeline,
    body: &'static str,
) -> Result<Ticket<T>, Answer> {
    let headers = headers(body);
    let received = pipeline.read(&headers, chunks(&[body])).await?;
    pipeline
        .admit::<T, _>(&headers, received)
        .await
        .into_result()
}

#[tokio::test]
async fn a_verified_delivery_gets_a_ticket_and_a_forged_one_401() {
    let ticket = admit::<Event>(&pipeline(), FAILED).await.unwrap();
    assert_eq!(ticket.value().bot_id(), Some("b-1"));
    let (_, event, _, completion) = ticket.into_parts();
    assert!(event.is_none(), "the event is the value");
    assert_eq!(
        completion.finish(204).await,
        Outcome::Handled { status: 204 }
    );

    let forged = [("x-mb-secret", "wrong")];
    // Refused at the headers: the body is never polled.
    let answer = pipeline().read(&forged, unpolled()).await.unwrap_err();
    assert_eq!(
        (answer.status(), answer.error().map(Error::code)),
        (401, Some("invalid_token"))
    );
    assert_eq!(answer.outcome().label(), "rejected");
}

#[tokio::test]
async fn verify_only_parses_nothing() {
    let ticket = admit::<IgnoredAny>(&pipeline(), "not json").await.unwrap();
    assert_eq!(&ticket.delivery().body()[..], b"not json");
    assert!(ticket.event().is_none());
}

#[tokio::test]
async fn kinds_not_wanted_are_ignored_with_200() {
    let pipeline = pipeline().only([EventKind::BotCompleted]);
    let answer = admit::<IgnoredAny>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(answer.status(), 200);
    assert_eq!(&answer.body()[..], IGNORED_ANSWER.as_bytes());
    assert_eq!(answer.outcome(), &Outcome::Ignored);
}

#[tokio::test]
async fn a_completed_delivery_is_a_duplicate_and_a_released_one_runs_again() {
    let pipeline = pipeline().dedupe(crate::idempotency::Deduplicator::new(MemoryStore::default()));
    let (.., completion) = admit::<IgnoredAny>(&pipeline, FAILED)
        .await
        .unwrap()
        .into_parts();
    assert!(completion.is_claimed());
    let answer = admit::<IgnoredAny>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(answer.status(), 409);
    completion.finish(500).await;
    let (.., completion) = admit::<IgnoredAny>(&pipeline, FAILED)
        .await
        .unwrap()
        .into_parts();
    completion.finish(200).await;
    let answer = admit::<IgnoredAny>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(
        (answer.status(), answer.outcome()),
        (200, &Outcome::Duplicate)
    );
}

#[tokio::test]
async fn a_body_that_stalls_is_408_at_the_deadline() {
    let pipeline = pipeline().body_deadline(Some(Duration::from_millis(20)));
    let stalled = stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"{\"event\""))])
        .chain(stream::pending());
    let answer = pipeline.read(&headers(FAILED), stalled).await.unwrap_err();
    assert_eq!(answer.status(), 408);
    assert_eq!(answer.error().map(Error::code), Some("body_timeout"));
}

#[tokio::test]
async fn bodies_over_the_memory_budget_are_503_with_retry_after() {
    let budget = MemoryBudget::new(64);
    let pipeline = pipeline().memory_budget(budget.clone());
    // Declared over what is left: refused before reading.
    let declared = [("content-length", "65"), ("x-mb-secret", SECRET)];
    let answer = pipeline.read(&declared, chunks(&[])).await.unwrap_err();
    assert_eq!(
        (answer.status(), answer.retry_after()),
        (503, Some(crate::RETRY_AFTER_SECS))
    );

    // Held while the ticket lives, given back after.
    let ticket = admit::<IgnoredAny>(&pipeline, FAILED).await.unwrap();
    assert_eq!(budget.in_use(), FAILED.len());
    let second = pipeline
        .read(&[("x-mb-secret", SECRET)], chunks(&[FAILED]))
        .await
        .unwrap_err();
    assert_eq!(
        second.error().map(Error::code),
        Some("memory_budget_exceeded")
    );
    drop(ticket);
    assert_eq!(budget.in_use(), 0);
}

#[tokio::test]
async fn over_the_limit_is_413_declared_or_streamed() {
    let pipeline = pipeline().limit(8);
    let declared = [("content-length", "9"), ("x-mb-secret", SECRET)];
    let answer = pipeline
        .read(&declared, chunks(&["123456789"]))
        .await
        .unwrap_err();
    assert_eq!(answer.status(), 413);
    let answer = pipeline
        .read(&[("x-mb-secret", SECRET)], chunks(&["12345", "6789"]))
        .await
        .unwrap_err();
    assert_eq!(answer.status(), 413);
}

#[test]
fn parse_into_follows_one_rule() {
    let verifier = Verifier::builder().callback_secret(SECRET).build().unwrap();
    let delivery = verifier
        .verify(&headers(FAILED), Bytes::from_static(FAILED.as_bytes()))
        .unwrap();
    let parsed = Event::from_slice(FAILED.as_bytes()).unwrap();
    let mut event = Some(parsed.clone());
    assert_eq!(parse_into::<Event>(&delivery, &mut event).unwrap(), parsed);
    assert!(
        event.is_none(),
        "the parsed event is taken, not parsed again"
    );
    let value = parse_into::<serde_json::Value>(&delivery, &mut None).unwrap();
    assert_eq!(value["data"]["bot_id"], "b-1");
}

/// A mixed run: handled, forged, oversized, ignored, duplicate, in progress, abandoned.
async fn mixed_run() {
    let dedupe = crate::idempotency::Deduplicator::new(MemoryStore::default());
    let pipeline = pipeline().dedupe(dedupe).limit(1024);
    let ignoring = pipeline.clone().only([EventKind::BotCompleted]);
    // Handled with 200, then a duplicate.
    for _ in 0..2 {
        if let Ok(ticket) = admit::<Event>(&pipeline, FAILED).await {
            ticket.into_parts().3.finish(200).await;
        }
    }
    // Forged.
    let forged = [("x-mb-secret", "wrong")];
    let _ = pipeline.read(&forged, unpolled()).await;
    // Over the limit.
    let _ = pipeline
        .read(&[("content-length", "4096")], chunks(&[]))
        .await;
    // Ignored.
    let _ = admit::<IgnoredAny>(&ignoring, r#"{"event":"bot.joining_call","data":{}}"#).await;
    // Admitted, then dropped before an answer (a handler that panicked).
    drop(
        admit::<Event>(
            &pipeline,
            r#"{"event":"bot.failed","data":{"bot_id":"b-2"}}"#,
        )
        .await,
    );
}

#[test]
#[cfg(feature = "metrics")]
fn metrics_count_every_outcome_once() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(mixed_run()));

    let mut counts = std::collections::BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if let DebugValue::Counter(count) = value {
            let labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            counts.insert(format!("{}{{{}}}", key.name(), labels.join(",")), count);
        }
    }
    let expected = [
        (
            "meetingbaas_webhooks_deliveries_total{scheme=callback,outcome=handled,error=none}",
            1,
        ),
        (
            "meetingbaas_webhooks_deliveries_total{scheme=callback,outcome=duplicate,error=none}",
            1,
        ),
        (
            "meetingbaas_webhooks_deliveries_total{scheme=none,outcome=rejected,error=invalid_token}",
            1,
        ),
        (
            "meetingbaas_webhooks_deliveries_total{scheme=none,outcome=rejected,error=payload_too_large}",
            1,
        ),
        (
            "meetingbaas_webhooks_deliveries_total{scheme=callback,outcome=ignored,error=none}",
            1,
        ),
        (
            "meetingbaas_webhooks_deliveries_total{scheme=callback,outcome=abandoned,error=none}",
            1,
        ),
        ("meetingbaas_webhooks_duplicates_total{scheme=callback}", 1),
    ];
    let expected: std::collections::BTreeMap<String, u64> = expected
        .into_iter()
        .map(|(key, count)| (key.to_string(), count))
        .collect();
    assert_eq!(counts, expected);
}

#[test]
fn the_span_has_the_delivery_fields_and_no_secret() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || runtime.block_on(mixed_run()));

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        !logs.contains(SECRET),
        "a log line holds the secret:\n{logs}"
    );
    assert!(
        !logs.contains("wrong"),
        "a log line holds a presented token:\n{logs}"
    );
    let accepted = logs
        .lines()
        .find(|line| {
            line.contains("webhook delivery answered") && line.contains("outcome=\"handled\"")
                || line.contains("webhook delivery answered") && line.contains("outcome=handled")
        })
        .unwrap_or_else(|| panic!("no answered line:\n{logs}"));
    for field in [
        "scheme=callback",
        "event=bot.failed",
        "kind=bot_failed",
        "bot_id=b-1",
        "status=200",
    ] {
        assert!(
            accepted.contains(field) || accepted.contains(&field.replace('=', "=\"")),
            "{field} missing in {accepted}"
        );
    }
    assert!(
        logs.contains("error=\"invalid_token\"") || logs.contains("error=invalid_token"),
        "{logs}"
    );
}

#[tokio::test]
async fn past_the_in_flight_cap_requests_are_shed_with_503() {
    let pipeline = pipeline().max_in_flight(1);
    let first = admit::<IgnoredAny>(&pipeline, FAILED).await.unwrap();
    let answer = pipeline
        .read(&headers(FAILED), chunks(&[FAILED]))
        .await
        .unwrap_err();
    assert_eq!(answer.error().map(Error::code), Some("overloaded"));
    assert_eq!(answer.retry_after(), Some(crate::RETRY_AFTER_SECS));
    first.into_parts().3.finish(200).await;
    assert!(admit::<IgnoredAny>(&pipeline, FAILED).await.is_ok());
}

use crate::testing::RecordingInbox;

#[tokio::test]
async fn with_an_inbox_a_delivery_is_stored_and_answered_202_then_duplicate() {
    let inbox = Arc::new(RecordingInbox::default());
    let pipeline = pipeline().inbox(inbox.clone());
    let answer = admit::<Event>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(answer.status(), 202);
    assert_eq!(answer.outcome(), &Outcome::Queued);
    assert_eq!(&answer.body()[..], br#"{"status":"queued","id":"1"}"#);
    let again = admit::<Event>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(again.outcome(), &Outcome::Duplicate);
    let stored = inbox.stored();
    assert_eq!(stored[0].1.kind, Some(EventKind::BotFailed));
    assert_eq!(stored[0].1.name.as_deref(), Some("bot.failed"));
    assert_eq!(stored[0].1.bot_id.as_deref(), Some("b-1"));
}

/// Intake reads the envelope only: a payload that does not fit its type (a full parse would
/// record issues and log a warn line) is stored with its name, kind and bot id all the same.
#[tokio::test]
async fn with_an_inbox_intake_reads_only_the_envelope() {
    let inbox = Arc::new(RecordingInbox::default());
    let pipeline = pipeline().inbox(inbox.clone());
    let body =
        r#"{"data":{"transcript":"not a list","bot_id":"b-2","speakers":7},"event":"complete"}"#;
    let answer = admit::<IgnoredAny>(&pipeline, body).await.unwrap_err();
    assert_eq!(answer.status(), 202);
    let label = &inbox.stored()[0].1;
    assert_eq!(
        (label.kind, label.name.as_deref(), label.bot_id.as_deref()),
        (Some(EventKind::BotCompleted), Some("complete"), Some("b-2"))
    );
}

#[tokio::test]
async fn with_an_inbox_a_verified_body_that_is_not_an_event_is_stored_all_the_same() {
    let inbox = Arc::new(RecordingInbox::default());
    // Even with a strict type and a kind filter: only a kind that is known and unwanted is not
    // stored.
    let pipeline = pipeline()
        .parse_events(true)
        .only([EventKind::BotCompleted])
        .inbox(inbox.clone());
    let answer = admit::<IgnoredAny>(&pipeline, "[not an envelope")
        .await
        .unwrap_err();
    assert_eq!(answer.status(), 202);
    let ignored = admit::<Event>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(ignored.outcome(), &Outcome::Ignored);
    let stored = inbox.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, EventLabel::default());
}

#[tokio::test]
async fn an_inbox_that_cannot_store_is_503_with_retry_after_and_forged_is_still_401() {
    let pipeline = pipeline().inbox(Arc::new(RecordingInbox::down()));
    let answer = admit::<Event>(&pipeline, FAILED).await.unwrap_err();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.error().map(Error::code), Some("inbox_unavailable"));
    assert!(answer.retry_after().is_some());

    let forged = [("x-mb-secret", "wrong")];
    // Refused at the headers: the body is never polled.
    let answer = pipeline.read(&forged, unpolled()).await.unwrap_err();
    assert_eq!(answer.status(), 401);
}

#[tokio::test]
async fn a_disabled_pipeline_answers_503_before_reading_anything() {
    let pipeline = pipeline().enabled(false);
    assert!(!pipeline.is_enabled());
    // A stream that would panic if polled: nothing is read.
    let never = futures_util::stream::poll_fn(
        |_| -> std::task::Poll<Option<Result<Bytes, std::io::Error>>> {
            panic!("the body was read")
        },
    );
    let answer = pipeline.read(&headers(FAILED), never).await.unwrap_err();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.error().map(Error::code), Some("endpoint_disabled"));
    assert_eq!(answer.retry_after(), Some(crate::RETRY_AFTER_SECS));
    // Switched back on, the same delivery goes through.
    assert!(
        admit::<IgnoredAny>(&pipeline.enabled(true), FAILED)
            .await
            .is_ok()
    );
}

/// A chunked body past one segment is joined once complete: the copy is charged first (503
/// when the budget cannot hold segments and copy together), then only the joined body stays
/// charged, and all of it is given back.
#[tokio::test]
async fn joining_a_segmented_body_is_charged_to_the_budget() {
    use crate::body::SEGMENT_BYTES;
    let frame: &'static str = std::boxed::Box::leak("x".repeat(64 * 1024).into_boxed_str());
    let frames = [frame; 8]; // 512 KiB: two segments
    let len = frames.len() * frame.len();

    // Room for the segments (and a frame on its way in), not for the copy as well.
    let tight = MemoryBudget::new(2 * SEGMENT_BYTES + frame.len());
    let answer = pipeline()
        .memory_budget(tight.clone())
        .read(&[("x-mb-secret", SECRET)], chunks(&frames))
        .await
        .unwrap_err();
    assert_eq!(answer.status(), 503);
    assert_eq!(
        answer.error().map(Error::code),
        Some("memory_budget_exceeded")
    );
    assert_eq!(tight.in_use(), 0);

    let roomy = MemoryBudget::new(2 * SEGMENT_BYTES + len);
    let received = pipeline()
        .memory_budget(roomy.clone())
        .read(&[("x-mb-secret", SECRET)], chunks(&frames))
        .await
        .unwrap();
    assert_eq!(received.body().len(), len);
    assert_eq!(roomy.in_use(), len, "only the joined body stays charged");
    drop(received);
    assert_eq!(roomy.in_use(), 0);
}

/// What the headers decide is decided before a byte is read, with the code the full
/// verification gives; what needs the body is read.
#[tokio::test]
async fn the_headers_decide_what_they_can_before_the_body_is_read() {
    let verifier = Verifier::builder()
        .callback_secret(SECRET)
        .svix_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .signature_secret("signature")
        .build()
        .unwrap();
    let pipeline = Pipeline::new(verifier);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = (now - 3600).to_string();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("accept", "*/*")], "missing_credentials"),
        (&[("x-mb-secret", "guess")], "invalid_token"),
        (
            &[
                ("svix-id", "msg_1"),
                ("svix-timestamp", stale.as_str()),
                ("svix-signature", "v1,AAAA"),
            ],
            "timestamp_out_of_tolerance",
        ),
    ];
    for (headers, code) in cases {
        let answer = pipeline.read(&headers, unpolled()).await.unwrap_err();
        assert_eq!(
            (answer.status(), answer.error().map(Error::code)),
            (401, Some(code)),
            "{headers:?}"
        );
    }
    // A signature (or a fresh Svix signature) needs the body, and so does the check of its
    // format: read, then refused as before.
    let unsigned = "00".repeat(32);
    for (signature, code) in [
        (unsigned.as_str(), "invalid_signature"),
        ("not hex", "malformed_header"),
    ] {
        let headers = [("x-meetingbaas-signature", signature)];
        let received = pipeline.read(&headers, chunks(&[FAILED])).await.unwrap();
        let answer = pipeline
            .admit::<Event, _>(&headers, received)
            .await
            .into_result()
            .unwrap_err();
        assert_eq!(answer.error().map(Error::code), Some(code));
    }
}

/// A ring replaced while running: old and new accepted during the overlap, the removed one
/// refused after; a delivery being read keeps the ring it started with.
#[tokio::test]
async fn a_rotated_ring_takes_effect_at_once_for_every_clone() {
    fn ring(secrets: &[&str]) -> Verifier {
        secrets
            .iter()
            .fold(Verifier::builder(), |builder, secret| {
                builder.callback_secret(secret)
            })
            .build()
            .unwrap()
    }
    async fn status(pipeline: &Pipeline, secret: &str) -> u16 {
        let headers = [("x-mb-secret", secret)];
        match pipeline.read(&headers, chunks(&[FAILED])).await {
            Err(answer) => answer.status(),
            Ok(received) => match pipeline.admit::<IgnoredAny, _>(&headers, received).await {
                Admission::Handle(_) => 200,
                Admission::Answered(answer) => answer.status(),
            },
        }
    }
    let pipeline = Pipeline::new(ring(&["old"]));
    let clone = pipeline.clone().limit(1 << 20);
    assert_eq!(status(&clone, "old").await, 200);
    assert_eq!(status(&clone, "new").await, 401);

    // Started under the old ring, finished after the switch: verified with the old ring.
    let headers = [("x-mb-secret", "old")];
    let reading = pipeline.read(&headers, chunks(&[FAILED]));
    pipeline.rotate(ring(&["new", "old"]));
    let received = reading.await.unwrap();
    pipeline.rotate(ring(&["new"]));
    assert!(matches!(
        pipeline.admit::<IgnoredAny, _>(&headers, received).await,
        Admission::Handle(_)
    ));

    pipeline.rotate(ring(&["new", "old"]));
    for secret in ["old", "new"] {
        assert_eq!(
            status(&clone, secret).await,
            200,
            "{secret} during the overlap"
        );
    }
    pipeline.rotate(ring(&["new"]));
    assert_eq!(status(&clone, "new").await, 200);
    assert_eq!(status(&clone, "old").await, 401, "removed");
}

/// Bots' own callback secrets, looked up by digest before the body is read, cached; a lookup
/// that fails is 503 (the sender retries).
#[tokio::test]
async fn callback_secrets_are_looked_up_by_digest_before_the_body() {
    use crate::secrets::{CallbackSecrets, LookupError, LookupFuture};
    use meetingbaas_webhooks::SecretDigest;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Bots {
        asked: Arc<AtomicUsize>,
    }
    impl CallbackSecrets for Bots {
        fn contains(&self, digest: SecretDigest) -> LookupFuture {
            self.asked.fetch_add(1, Ordering::SeqCst);
            let answer = if digest == SecretDigest::of(b"db down") {
                Err(LookupError::new("connection refused"))
            } else {
                Ok(digest == SecretDigest::of(b"bot-7 secret"))
            };
            Box::pin(async move { answer })
        }
    }
    let asked = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder()
        .callback_secret("shared")
        .callback_lookup(true)
        .build()
        .unwrap();
    let pipeline = Pipeline::new(verifier).callback_secrets(Bots {
        asked: Arc::clone(&asked),
    });
    for _ in 0..3 {
        let headers = [("x-mb-secret", "bot-7 secret")];
        let received = pipeline.read(&headers, chunks(&[FAILED])).await.unwrap();
        let admitted = pipeline.admit::<Event, _>(&headers, received).await;
        let ticket = admitted.into_result().expect("a bot's own secret");
        assert_eq!(
            ticket.delivery().scheme(),
            meetingbaas_webhooks::Scheme::Callback
        );
    }
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "cached after the first lookup"
    );
    // The ring's own secret is never looked up.
    let headers = [("x-mb-secret", "shared")];
    assert!(pipeline.read(&headers, chunks(&[FAILED])).await.is_ok());
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    // Unknown: 401 before the body; unreachable: 503 with Retry-After.
    let answer = pipeline
        .read(&[("x-mb-secret", "guess")], unpolled())
        .await
        .unwrap_err();
    assert_eq!(
        (answer.status(), answer.error().map(Error::code)),
        (401, Some("invalid_token"))
    );
    let answer = pipeline
        .read(&[("x-mb-secret", "db down")], unpolled())
        .await
        .unwrap_err();
    assert_eq!(
        (answer.status(), answer.error().map(Error::code)),
        (503, Some("secret_lookup_unavailable"))
    );
    assert!(answer.retry_after().is_some());
}

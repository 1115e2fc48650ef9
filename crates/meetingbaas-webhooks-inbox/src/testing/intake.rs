//! Intake: a delivery stored once, copies refused, any verified body kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use meetingbaas_webhooks::{Bytes, Event, Verifier};
use meetingbaas_webhooks_receiver::{Admission, Pipeline};

use super::{SECRET, TestStore, enqueue, event, fast, stored, wait_for};
use crate::{Enqueued, Job, NewDelivery, State};

/// A delivery is stored once: the same idempotency key again is a duplicate, through the
/// store itself.
pub async fn a_delivery_is_stored_once_and_a_copy_is_a_duplicate(test: TestStore) {
    let delivery = NewDelivery::new(
        &super::delivery(event("direct")),
        meetingbaas_webhooks_receiver::EventLabel::default(),
    );
    let first = test
        .store()
        .enqueue(delivery.clone())
        .await
        .expect("stored");
    assert!(matches!(first, Enqueued::Stored { .. }), "{first:?}");
    let again = test.store().enqueue(delivery).await.expect("answered");
    assert_eq!(again, Enqueued::Duplicate);
}

/// Through the pipeline: 202 `queued` with an id, then 200 `duplicate`.
pub async fn intake_through_the_pipeline_answers_queued_then_duplicate(test: TestStore) {
    let verifier = Verifier::builder()
        .callback_secret(SECRET)
        .build()
        .expect("a secret");
    let pipeline = Pipeline::new(verifier).inbox(test.inbox().intake());
    let headers = [("x-mb-secret", SECRET)];
    let body = Bytes::from(event("b-1"));
    let mut answers = Vec::new();
    for _ in 0..2 {
        let chunks = OneChunk(Some(body.clone()));
        let received = pipeline.read(&headers, chunks).await.expect("read");
        let Admission::Answered(answer) = pipeline.admit::<Event, _>(&headers, received).await
        else {
            panic!("with an inbox the pipeline answers itself");
        };
        answers.push((
            answer.status(),
            String::from_utf8_lossy(answer.body()).into_owned(),
        ));
    }
    assert_eq!(answers[0].0, 202);
    assert!(
        answers[0].1.starts_with(r#"{"status":"queued","id":""#),
        "{}",
        answers[0].1
    );
    assert_eq!(answers[1], (200, r#"{"status":"duplicate"}"#.to_string()));
    let stats = test.inbox().stats().await.expect("stats");
    assert_eq!(stats.queued, 1);
    assert!(stats.oldest_pending_age_secs.is_some());
}

/// A verified body that is not an event is stored all the same, and dead-lettered as
/// unreadable by the worker without running any handler.
pub async fn a_body_that_is_not_an_event_is_stored_and_dead_lettered_as_unreadable(
    test: TestStore,
) {
    let inbox = test.inbox();
    let id = stored(inbox, "not json at all").await;
    let ran = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&ran);
    let worker = fast(inbox)
        .fallback(move |_job: Job| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "a dead letter", |s| s.dead == 1).await;
    worker.shutdown().await;
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let shown = inbox.show(&id).await.expect("stored");
    assert_eq!(shown.summary.state, State::Dead);
    let reason = shown.summary.dead_reason.unwrap_or_default();
    assert!(reason.starts_with("unreadable"), "{reason}");
    assert_eq!(&shown.body[..], b"not json at all");
}

/// 200 deliveries stored at once are each stored, and each completed once by a worker.
pub async fn concurrent_deliveries_each_complete_once(test: TestStore) {
    let inbox = test.inbox();
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..200 {
        let inbox = inbox.clone();
        sends.spawn(async move { enqueue(&inbox, event(&format!("bot-{n}"))).await });
    }
    while let Some(result) = sends.join_next().await {
        assert!(matches!(result.expect("a send"), Enqueued::Stored { .. }));
    }
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let worker = fast(inbox)
        .concurrency(8)
        .fallback(move |_job: Job| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .build()
        .spawn();
    wait_for(inbox, "200 completions", |s| s.completed == 200).await;
    worker.shutdown().await;
    assert_eq!(calls.load(Ordering::SeqCst), 200);
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.queued, stats.running, stats.retrying), (0, 0, 0));
}

/// A body of one chunk, as a stream.
struct OneChunk(Option<Bytes>);

impl futures_core::Stream for OneChunk {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.take().map(Ok))
    }
}

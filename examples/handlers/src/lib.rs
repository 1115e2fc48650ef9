//! What the four example servers share: the inbox worker's handlers, and the answer to a
//! delivery handled in the request. Everything else (configuration, serving, shutdown) is one
//! call to `meetingbaas_webhooks_server::Setup`.

#![forbid(unsafe_code)]

use std::time::Duration;

use meetingbaas_webhooks_inbox::{Event, EventKind, HandlerError, Job, WorkerBuilder};
use serde::Serialize;

/// The handlers the inbox's worker runs on stored deliveries (`MEETINGBAAS_INBOX`), after the
/// sender was answered, one per kind and a fallback: they may take their time (30 s per attempt
/// by default); an `Err` is retried with backoff and then kept as a dead letter
/// (`meetingbaas-webhooks inbox --store ... list --dead`).
pub fn worker(worker: WorkerBuilder) -> WorkerBuilder {
    worker
        .on(EventKind::BotCompleted, bot_completed)
        .on(EventKind::BotFailed, bot_failed)
        .fallback(any_other_event)
}

async fn bot_completed(job: Job) -> Result<(), HandlerError> {
    // Stands in for slow work (fetching the recording, calling a CRM): nobody is waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    tracing::info!(
        id = job.id(),
        bot_id = job.event().bot_id(),
        "bot completed"
    );
    Ok(())
}

async fn bot_failed(job: Job) -> Result<(), HandlerError> {
    tracing::info!(id = job.id(), bot_id = job.event().bot_id(), "bot failed");
    Ok(())
}

async fn any_other_event(job: Job) -> Result<(), HandlerError> {
    tracing::info!(
        id = job.id(),
        event = job.event().name(),
        "delivery handled"
    );
    Ok(())
}

/// The answer every example gives to a delivery it handled in the request:
/// `{"status":"success","event":...,"kind":...,"bot_id":...}`. A typed struct is written straight
/// to JSON; a `json!` value would build (and then free) a map and its strings on every delivery.
#[derive(Debug, Serialize)]
pub struct Handled<'a> {
    status: &'static str,
    event: &'a str,
    kind: &'static str,
    bot_id: Option<&'a str>,
}

impl<'a> Handled<'a> {
    /// The answer for `event`.
    pub fn new(event: &'a Event) -> Self {
        Handled {
            status: "success",
            event: event.name(),
            kind: event.kind().as_str(),
            bot_id: event.bot_id(),
        }
    }
}

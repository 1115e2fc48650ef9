//! What the four example servers share: the inbox worker's handlers, and the answer to a
//! delivery handled in the request. Everything else (configuration, serving, shutdown) is one
//! call to `meetingbaas_webhooks_server::Setup`.

#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::Duration;

use meetingbaas_webhooks_inbox::event::{BotCompleted, BotFailed};
use meetingbaas_webhooks_inbox::testing::faults::Faults;
use meetingbaas_webhooks_inbox::{Event, HandlerError, Job, WorkerBuilder};
use serde::Serialize;

/// The handlers the inbox's worker runs on stored deliveries (`MEETINGBAAS_INBOX`), after the
/// sender was answered, one per payload type and a fallback: they may take their time (30 s
/// per attempt by default); an `Err` is retried with backoff and then kept as a dead letter
/// (`meetingbaas-webhooks inbox --store ... list --dead`). The worker logs each attempt.
///
/// A testing aid: `MEETINGBAAS_EXAMPLE_FAULTS=fail:BOT,permanent:BOT,panic:BOT,hang:BOT` makes
/// them fail, panic or hang for those bot ids, to try retries, dead letters and timeouts from
/// outside (`meetingbaas_webhooks_inbox::testing::faults`); a malformed list stops the example
/// here, at start.
pub fn worker(worker: WorkerBuilder) -> WorkerBuilder {
    match Faults::from_env("MEETINGBAAS_EXAMPLE_FAULTS") {
        Ok(faults) if faults.is_empty() => {}
        Ok(faults) => {
            tracing::warn!(
                "MEETINGBAAS_EXAMPLE_FAULTS: the handlers fail on purpose for {faults:?}"
            );
            let _ = FAULTS.set(faults);
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    }
    worker
        .handle(bot_completed)
        .handle(bot_failed)
        .fallback(|job: Job| async move { faults().inject(job.bot_id()).await })
}

static FAULTS: OnceLock<Faults> = OnceLock::new();

fn faults() -> &'static Faults {
    FAULTS.get_or_init(Faults::default)
}

async fn bot_completed(job: Job<(), BotCompleted>) -> Result<(), HandlerError> {
    faults().inject(job.bot_id()).await?;
    // Stands in for slow work (fetching the recording, calling a CRM): nobody is waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let recording = job.data().video_url().unwrap_or("none");
    tracing::info!(bot_id = job.bot_id(), recording, "bot completed");
    Ok(())
}

async fn bot_failed(job: Job<(), BotFailed>) -> Result<(), HandlerError> {
    faults().inject(job.bot_id()).await?;
    let error = job.data().error_code.as_ref().map(|code| code.as_str());
    tracing::info!(bot_id = job.bot_id(), error, "bot failed");
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

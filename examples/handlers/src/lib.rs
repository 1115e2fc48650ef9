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
///
/// Another, with a Postgres inbox: `MEETINGBAAS_EXAMPLE_HANDLED_TABLE=NAME` makes every handler
/// insert `(key, kind)` into your table `NAME` (`CREATE TABLE NAME (key TEXT NOT NULL, kind
/// TEXT NOT NULL)`) in its job's transaction ([`Job::transaction`]), before its slow part: the
/// row commits with the delivery's completion, so the table ends with one row per delivery
/// whatever is killed meanwhile.
pub fn worker(worker: WorkerBuilder) -> WorkerBuilder {
    if let Ok(table) = std::env::var("MEETINGBAAS_EXAMPLE_HANDLED_TABLE") {
        let plain = !table.is_empty()
            && table.len() <= 63
            && !table.starts_with(|c: char| c.is_ascii_digit())
            && table
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            eprintln!(
                "error: MEETINGBAAS_EXAMPLE_HANDLED_TABLE: a table name of lowercase letters, digits and _"
            );
            std::process::exit(2);
        }
        let _ = HANDLED_TABLE.set(format!("INSERT INTO {table} (key, kind) VALUES ($1, $2)"));
    }
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
        // One delivery of a bot at a time, in event-time order; a retrying one holds its bot's
        // later ones for a minute at most. A status older than one of its bot already handled
        // is stale: recorded as such and given to `on_stale`, not to the handlers below.
        .order_by_bot(Duration::from_secs(60))
        .on_stale(|job: Job| async move {
            tracing::info!(id = job.id(), bot_id = ?job.bot_id(), "stale status, not applied");
            record(&job).await
        })
        .handle(bot_completed)
        .handle(bot_failed)
        .fallback(|job: Job| async move {
            record(&job).await?;
            faults().inject(job.bot_id()).await
        })
}

static FAULTS: OnceLock<Faults> = OnceLock::new();

/// The insert of `MEETINGBAAS_EXAMPLE_HANDLED_TABLE`, when it is set.
static HANDLED_TABLE: OnceLock<String> = OnceLock::new();

/// Records the job in `MEETINGBAAS_EXAMPLE_HANDLED_TABLE` in its transaction, when it is set.
async fn record<D>(job: &Job<(), D>) -> Result<(), HandlerError> {
    let Some(insert) = HANDLED_TABLE.get() else {
        return Ok(());
    };
    let mut tx = job.transaction().await?;
    sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
        .bind(job.key())
        .bind(job.kind().as_str())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn faults() -> &'static Faults {
    FAULTS.get_or_init(Faults::default)
}

async fn bot_completed(job: Job<(), BotCompleted>) -> Result<(), HandlerError> {
    record(&job).await?;
    faults().inject(job.bot_id()).await?;
    // Stands in for slow work (fetching the recording, calling a CRM): nobody is waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let recording = job.data().video_url().unwrap_or("none");
    tracing::info!(bot_id = job.bot_id(), recording, "bot completed");
    Ok(())
}

async fn bot_failed(job: Job<(), BotFailed>) -> Result<(), HandlerError> {
    record(&job).await?;
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

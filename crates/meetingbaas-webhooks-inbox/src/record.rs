//! What an inbox keeps: deliveries, their state and their attempts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use meetingbaas_webhooks::EventKind;
use serde::Serialize;

/// Where a stored delivery is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Stored, waiting for its first attempt.
    Queued,
    /// A worker holds its lease and runs the handler.
    Running,
    /// An attempt failed; the next one waits for its time.
    Retrying,
    /// The handler succeeded (recorded once).
    Completed,
    /// Given up: attempts exhausted, refused as permanent, or unreadable. Kept with every
    /// attempt until purged; [`redrive`](crate::Inbox::redrive) runs it again.
    Dead,
}

impl State {
    /// Every state, in life order.
    pub const ALL: [State; 5] = [
        State::Queued,
        State::Running,
        State::Retrying,
        State::Completed,
        State::Dead,
    ];

    /// The lowercase name (`queued`, `running`, `retrying`, `completed`, `dead`).
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Retrying => "retrying",
            State::Completed => "completed",
            State::Dead => "dead",
        }
    }

    /// The state named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind named `name` ([`EventKind::as_str`]).
pub fn kind_from_name(name: &str) -> Option<EventKind> {
    EventKind::ALL
        .iter()
        .copied()
        .find(|kind| kind.as_str() == name)
}

/// One run of the handler on a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// 1 for the first attempt; counts on across redrives.
    pub number: u32,
    /// The run it belongs to: 1 until the delivery is first redriven, then 2... (attempts
    /// recorded before schema 3 count as run 1).
    pub run: u32,
    /// When it started, Unix milliseconds.
    pub started_ms: i64,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed; `None` for the attempt that succeeded.
    pub error: Option<String>,
}

/// A stored delivery as listed: everything but the body and the attempts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The inbox's id.
    pub id: String,
    /// The idempotency key (`svix:id:<message id>`, or `<scheme>:sha256:<hex>` for the schemes
    /// without a message id).
    pub key: String,
    /// Whether the key was forgotten ([`Inbox::forget`](crate::Inbox::forget)): a copy sent now
    /// is stored again.
    pub forgotten: bool,
    /// The event kind (`bot_completed`...), when the body is an event.
    pub kind: Option<String>,
    /// The event's wire name, when the body is an event.
    pub event: Option<String>,
    /// The bot concerned, when the event names one (`None` for deliveries stored by the first
    /// release).
    pub bot_id: Option<String>,
    /// The scheme that verified it (`svix`, `signature`...).
    pub scheme: String,
    /// The Svix message id, for schemes that have one.
    pub message_id: Option<String>,
    /// When it was stored, Unix milliseconds.
    pub received_ms: i64,
    /// Where it is in its life.
    pub state: State,
    /// Completed as a stale status ([`Verdict::Stale`]): not given to the usual handler.
    pub stale: bool,
    /// Attempts so far, over every run (`attempt_count` in JSON).
    #[serde(rename = "attempt_count")]
    pub attempts: u32,
    /// Runs so far: 1, plus one per redrive.
    pub runs: u32,
    /// When the next attempt may start (queued, retrying), Unix milliseconds.
    pub next_ms: Option<i64>,
    /// When it completed or died, Unix milliseconds.
    pub finished_ms: Option<i64>,
    /// Why it died.
    pub dead_reason: Option<String>,
}

/// A stored delivery with its body and every attempt (never a secret: the signature headers are
/// not stored).
///
/// As JSON: the [`Summary`]'s fields, `body` (the text when the body is UTF-8, else its standard
/// base64 with `body_base64: true`: byte for byte either way), `body_dropped`, and `attempts`,
/// the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDelivery {
    /// Everything a listing shows.
    pub summary: Summary,
    /// The verified body, byte for byte; empty once [dropped](Self::body_dropped).
    pub body: Bytes,
    /// Whether the body is no longer stored: the delivery completed longer ago than the
    /// worker's [`keep_bodies`](crate::WorkerBuilder::keep_bodies). Its summary and attempts
    /// stay (and its key, for duplicate detection) until retention deletes it; it can no longer
    /// be redriven.
    pub body_dropped: bool,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
}

impl Serialize for StoredDelivery {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;

        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            summary: &'a Summary,
            body: std::borrow::Cow<'a, str>,
            body_base64: bool,
            body_dropped: bool,
            attempts: &'a [Attempt],
        }
        let (body, body_base64) = match std::str::from_utf8(&self.body) {
            Ok(text) => (std::borrow::Cow::Borrowed(text), false),
            Err(_) => (
                std::borrow::Cow::Owned(
                    base64::engine::general_purpose::STANDARD.encode(&self.body),
                ),
                true,
            ),
        };
        Shown {
            summary: &self.summary,
            body,
            body_base64,
            body_dropped: self.body_dropped,
            attempts: &self.attempts,
        }
        .serialize(serializer)
    }
}

/// Counts per state, and the age of the oldest delivery not yet handled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Waiting for a first attempt.
    pub queued: u64,
    /// Being handled.
    pub running: u64,
    /// Waiting for a next attempt.
    pub retrying: u64,
    /// Handled (stale statuses included).
    pub completed: u64,
    /// Of the completed, the stale statuses ([`Verdict::Stale`]).
    pub stale: u64,
    /// Dead letters.
    pub dead: u64,
    /// Seconds since the oldest queued, running or retrying delivery last became pending: when it
    /// was stored, or redriven since.
    pub oldest_pending_age_secs: Option<u64>,
}

impl Stats {
    #[cfg(any(feature = "sqlite", feature = "redis"))]
    pub(crate) fn add(&mut self, state: State, count: u64) {
        match state {
            State::Queued => self.queued += count,
            State::Running => self.running += count,
            State::Retrying => self.retrying += count,
            State::Completed => self.completed += count,
            State::Dead => self.dead += count,
        }
    }
}

/// Which deliveries [`Inbox::list`](crate::Inbox::list) returns, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this state (`None`: every state).
    pub state: Option<State>,
    /// Only this kind ([`EventKind::as_str`]).
    pub kind: Option<String>,
    /// Only this bot's deliveries.
    pub bot_id: Option<String>,
    /// Only the delivery stored under this idempotency key (not forgotten).
    pub key: Option<String>,
    /// Only deliveries older than this id (the next page: the last id of the previous one).
    pub before: Option<String>,
    /// At most this many.
    pub limit: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            state: None,
            kind: None,
            bot_id: None,
            key: None,
            before: None,
            limit: 100,
        }
    }
}

impl ListQuery {
    /// `before` as a number (ids are numbers in every store); `None` when it is not one.
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
        allow(dead_code)
    )]
    pub(crate) fn before_id(&self) -> Option<i64> {
        self.before.as_deref().and_then(|id| id.trim().parse().ok())
    }
}

/// A delivery handed to a worker for one attempt.
#[derive(Clone, Debug, Default)]
pub struct Claimed {
    /// The inbox's id.
    pub id: String,
    /// The idempotency key.
    pub key: String,
    /// The event kind name, when known at intake.
    pub kind: Option<String>,
    /// The verified body.
    pub body: Bytes,
    /// The number of this attempt since the delivery was stored or last redriven (1 first).
    pub attempt: u32,
    /// The number of this attempt over the delivery's whole life (for the attempt record).
    pub attempt_total: u32,
    /// The run this attempt belongs to (1, plus one per redrive).
    pub run: u32,
    /// When it was stored, Unix milliseconds.
    pub received_ms: i64,
    /// The lease's token: only its holder may finish the attempt.
    pub token: String,
    /// The bot it is about, when its envelope names one.
    pub bot_id: Option<String>,
    /// When its event happened by its payload, when that time can be trusted
    /// ([`EventTime::trusted_ms`](meetingbaas_webhooks::event::EventTime::trusted_ms)).
    pub event_ms: Option<i64>,
    /// Claimed in bot order ([`WorkStore::claim_in_bot_order`](crate::WorkStore::claim_in_bot_order)):
    /// the worker then checks whether a status is stale, and its completion raises
    /// [`bot_handled_ms`](Self::bot_handled_ms).
    pub ordered: bool,
    /// For a delivery claimed in bot order: the event time of the newest delivery of its bot
    /// handled so far (`None`: none, or not kept any more).
    pub bot_handled_ms: Option<i64>,
}

/// How an attempt ended, as the worker records it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Handled: recorded complete (once).
    Complete,
    /// A status older than one of its bot already handled (per-bot order only,
    /// [`is_stale`](meetingbaas_webhooks::event::is_stale)): recorded complete with the outcome
    /// `stale`, not given to the usual handler.
    Stale,
    /// Failed: try again at this time (Unix milliseconds).
    Retry {
        /// When.
        at_ms: i64,
    },
    /// Given up: kept as a dead letter.
    Dead {
        /// Why.
        reason: String,
    },
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How long a bot's newest handled event time is kept at least (for the stale check), whatever
/// the retention of completed deliveries: a late retry of a status can come hours after.
pub const BOT_TIME_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// The cutoff below which bots' handled times are pruned, given the completed deliveries' one:
/// never later than [`BOT_TIME_KEPT`] ago.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code)
)]
pub(crate) fn bots_cutoff(cutoff_ms: i64) -> i64 {
    cutoff_ms.min(now_ms().saturating_sub(millis(BOT_TIME_KEPT)))
}

/// `duration` in milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

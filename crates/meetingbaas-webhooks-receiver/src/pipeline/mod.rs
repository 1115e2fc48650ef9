//! [`Pipeline`]: the receiving options of one endpoint, set once.

mod admit;
mod answer;
mod budget;
mod inbox;
mod intake;
mod observe;
mod read;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use admit::{Admission, Admit, Completion, Finish, Ticket, parse_into};
pub use answer::{Answer, IGNORED_ANSWER, Outcome};
pub use budget::{DEFAULT_MEMORY_BUDGET, MemoryBudget};
pub use inbox::{EnqueueFuture, Enqueued, EventLabel, Inbox, InboxError, queued_body};
pub use observe::{
    BODY_BYTES, DELIVERIES_TOTAL, DUPLICATES_TOTAL, HANDLER_DURATION_SECONDS, METRIC_PREFIX,
    VERIFY_DURATION_SECONDS,
};
use read::Gate;
pub use read::{Read, Received};

use crate::idempotency::Deduplicator;
use crate::secrets::{CallbackSecretCache, CallbackSecrets, Keys, Lookup};
use meetingbaas_webhooks::EventKind;
use meetingbaas_webhooks::HeaderLookup;
use meetingbaas_webhooks::Verifier;

/// The default body deadline: 10 seconds from the first poll of [`Read`] to the body's last
/// byte. A real delivery (even an 8 MiB transcript) arrives far faster; a sender trickling bytes
/// to hold a connection and a buffer open is answered 408.
pub const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The receiving pipeline of one endpoint: configured once, cheap to clone (shared), called by
/// the adapters for every request. See the [crate docs](crate).
#[derive(Clone, Debug)]
pub struct Pipeline {
    inner: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    keys: Keys,
    lookup: Option<Lookup>,
    limit: Option<usize>,
    body_deadline: Option<Duration>,
    budget: MemoryBudget,
    parse_events: bool,
    only: Option<Arc<[EventKind]>>,
    dedupe: Option<Deduplicator>,
    log_accepted: bool,
    metrics: bool,
    in_flight: Option<MemoryBudget>,
    inbox: Option<Arc<dyn Inbox>>,
    enabled: bool,
    /// Proxies whose `X-Forwarded-For` names the client ([`Pipeline::trusted_proxies`]).
    proxies: Arc<[std::net::IpAddr]>,
}

impl Config {
    fn allows(&self, kind: EventKind) -> bool {
        self.only.as_ref().is_none_or(|kinds| kinds.contains(&kind))
    }
}

impl Pipeline {
    /// A pipeline verifying with `verifier` under its body limit, with
    /// [`DEFAULT_BODY_DEADLINE`] and a [`MemoryBudget`] of [`DEFAULT_MEMORY_BUDGET`]; nothing
    /// parsed unless asked ([`parse_events`](Self::parse_events), or [`Event`](meetingbaas_webhooks::Event) as
    /// the type to [`admit`](Self::admit)), every kind let through, no deduplication.
    pub fn new(verifier: Verifier) -> Self {
        Pipeline {
            inner: Arc::new(Config {
                keys: Keys::new(verifier),
                lookup: None,
                limit: None,
                body_deadline: Some(DEFAULT_BODY_DEADLINE),
                budget: MemoryBudget::default(),
                parse_events: false,
                only: None,
                dedupe: None,
                log_accepted: true,
                metrics: true,
                in_flight: None,
                inbox: None,
                enabled: true,
                proxies: Arc::from([]),
            }),
        }
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.inner)
    }

    /// Parses every verified delivery into an [`Event`](meetingbaas_webhooks::Event) (default `false`). A body
    /// that is not a webhook envelope is then answered 400.
    pub fn parse_events(mut self, parse: bool) -> Self {
        self.config().parse_events = parse;
        self
    }

    /// Lets only deliveries of these kinds through; every other verified delivery is answered
    /// 200 `{"status":"ignored"}` (so that the sender does not retry it). Include
    /// [`EventKind::Unknown`] to let events this version does not know through.
    pub fn only(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.config().only = Some(kinds.into_iter().collect());
        self
    }

    /// Handles each delivery once, with `deduplicator` (see
    /// [`idempotency`](crate::idempotency)).
    pub fn dedupe(mut self, deduplicator: Deduplicator) -> Self {
        self.config().dedupe = Some(deduplicator);
        self
    }

    /// Stores every verified delivery of a wanted kind in `inbox` and answers at once (202
    /// `{"status":"queued","id":...}`; a copy of a stored delivery 200 `{"status":"duplicate"}`;
    /// an inbox that cannot store 503), instead of handing a [`Ticket`] to the handler: a worker
    /// (crate `meetingbaas-webhooks-inbox`) runs the handler later, never cancelled by the
    /// sender's timeout. A verified body that is not an event is stored too. The inbox
    /// recognises copies by their idempotency key itself, so [`dedupe`](Self::dedupe) is not
    /// consulted at intake when an inbox is set.
    pub fn inbox(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.config().inbox = Some(inbox);
        self
    }

    /// The inbox, when deliveries are stored instead of handled in the request.
    pub fn inbox_store(&self) -> Option<&Arc<dyn Inbox>> {
        self.inner.inbox.as_ref()
    }

    /// Lowers the body limit to `bytes` (the verifier's own limit still applies).
    pub fn limit(mut self, bytes: usize) -> Self {
        self.config().limit = Some(bytes);
        self
    }

    /// The time a body has to arrive completely, or `None` for no deadline (default
    /// [`DEFAULT_BODY_DEADLINE`]). Needs a tokio runtime with timers enabled.
    pub fn body_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.config().body_deadline = deadline;
        self
    }

    /// The in-flight memory budget: share one [`MemoryBudget`] between the endpoints of a
    /// process.
    pub fn memory_budget(mut self, budget: MemoryBudget) -> Self {
        self.config().budget = budget;
        self
    }

    /// Caps the deliveries in flight at once (from the first byte read to the handler's
    /// answer), shared by clones of this pipeline; past it, a request is answered 503
    /// `overloaded` with `Retry-After` before its body is read (shedding, not queueing).
    /// Default: no cap (the memory budget still bounds what they hold).
    pub fn max_in_flight(mut self, deliveries: usize) -> Self {
        self.config().in_flight = Some(MemoryBudget::new(deliveries));
        self
    }

    /// Whether deliveries are taken at all (default `true`). A disabled pipeline answers every
    /// request 503 `endpoint_disabled` with `Retry-After` before reading its body: the sender
    /// keeps the delivery and retries it later, so nothing is lost while an endpoint is off
    /// (`enabled: false` in an [`EndpointConfig`](crate::EndpointConfig)).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.config().enabled = enabled;
        self
    }

    /// Whether deliveries are taken (see [`enabled`](Self::enabled)).
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }

    /// Whether to log each accepted delivery (and its answer) at info level (default `true`).
    /// Rejections are logged at debug level whatever this says.
    pub fn log_accepted(mut self, log: bool) -> Self {
        self.config().log_accepted = log;
        self
    }

    /// Whether to record the metrics of each delivery (feature `metrics`; default `true`).
    ///
    /// The `metrics` facade cannot tell a library whether an application installed a
    /// recorder, so with the feature on every delivery builds its metric keys (and reads the
    /// clock for the durations) even when nothing collects them. An application that installs
    /// no recorder (the examples without `MEETINGBAAS_METRICS`) can say so here and skip that
    /// work. Durations are then measured only when the delivery's `tracing` span is enabled.
    pub fn record_metrics(mut self, record: bool) -> Self {
        self.config().metrics = record;
        self
    }

    /// A pipeline configured from the environment: the endpoint JSON named by
    /// `MEETINGBAAS_CONFIG`, if any, with the `MEETINGBAAS_*` secret variables and
    /// `MEETINGBAAS_MAX_BODY_BYTES` over it (see
    /// [`EndpointConfig::from_env`](crate::EndpointConfig::from_env)): its verifier, its kinds and
    /// whether it is enabled. A missing secret, a bad file or a bad value is an error naming it.
    pub fn from_env() -> Result<Pipeline, crate::EndpointConfigError> {
        Ok(crate::EndpointConfig::from_env()?.pipeline())
    }

    /// The key ring now: the verifier deliveries arriving now are verified with (a clone, one
    /// reference count).
    pub fn verifier(&self) -> Verifier {
        self.inner.keys.current()
    }

    /// Replaces the key ring of this pipeline and of every clone of it, at once, while it runs:
    /// deliveries arriving from now on are verified with `verifier`; those being read keep the
    /// ring they started with. See [`secrets`](crate::secrets) for rotating a secret without
    /// losing a delivery.
    pub fn rotate(&self, verifier: Verifier) {
        self.inner.keys.replace(verifier);
    }

    /// Looks up callback secrets the ring does not hold in `secrets` (a bot's own secret, by
    /// digest), with the default [`CallbackSecretCache`]; the verifier must have
    /// [`callback_lookup`](meetingbaas_webhooks::VerifierBuilder::callback_lookup) on. Decided
    /// from the headers, before the body is read.
    pub fn callback_secrets(self, secrets: impl CallbackSecrets) -> Self {
        self.callback_secrets_cached(secrets, CallbackSecretCache::default())
    }

    /// [`callback_secrets`](Self::callback_secrets) with a cache of your own sizing.
    pub fn callback_secrets_cached(
        mut self,
        secrets: impl CallbackSecrets,
        cache: CallbackSecretCache,
    ) -> Self {
        self.config().lookup = Some(Lookup::new(secrets, cache));
        self
    }

    /// The deduplicator, when deduplication is on.
    pub fn deduplicator(&self) -> Option<&Deduplicator> {
        self.inner.dedupe.as_ref()
    }

    /// Whether every delivery is parsed into an [`Event`](meetingbaas_webhooks::Event).
    pub fn parses_events(&self) -> bool {
        self.inner.parse_events
    }

    /// The body limit in force: the lower of [`limit`](Self::limit) and the verifier's.
    pub fn max_body_bytes(&self) -> usize {
        self.limit_under(self.inner.keys.current().max_body_bytes())
    }

    /// The pipeline's limit under a verifier's `limit`.
    pub(crate) fn limit_under(&self, verifier: usize) -> usize {
        self.inner
            .limit
            .map_or(verifier, |limit| limit.min(verifier))
    }

    /// Reads a body: `chunks` is the request's body stream, `headers` its headers. The future
    /// resolves to the whole body or to the [`Answer`] refusing it. What the headers decide is
    /// decided before `chunks` is polled once: a declared `Content-Length` over the limit (413),
    /// and credentials that cannot be authentic whatever the body (401 with the code the full
    /// verification would give: no credentials for any enabled scheme, a wrong token, a Svix
    /// timestamp out of tolerance; see [`Verifier::precheck`]), so that only requests that
    /// could be authentic are read into the memory budget. A callback secret the ring does not
    /// hold is looked up first when [`callback_secrets`](Self::callback_secrets) is set.
    ///
    /// Without the client's address, a request is held to the whole budget only: adapters call
    /// [`read_from`](Self::read_from).
    pub fn read<H, S>(&self, headers: &H, chunks: S) -> Read<S>
    where
        H: HeaderLookup + ?Sized,
    {
        self.read_declared(headers, crate::body::content_length(headers), None, chunks)
    }

    /// [`read`](Self::read) of a request from `peer` (the address of the connection): a
    /// request whose credentials only its body can check (Svix or signature headers, which
    /// anyone can send) also holds at most its client's share of the memory budget
    /// ([`MemoryBudget::with_client_share`]), so that one client stalling large uploads stalls
    /// only itself. The client is `peer`, or behind [trusted proxies](Self::trusted_proxies)
    /// the address they forwarded.
    pub fn read_from<H, S>(&self, peer: Option<std::net::IpAddr>, headers: &H, chunks: S) -> Read<S>
    where
        H: HeaderLookup + ?Sized,
    {
        self.read_declared(headers, crate::body::content_length(headers), peer, chunks)
    }

    /// [`read_from`](Self::read_from) with the declared length given directly (an adapter that
    /// knows more than the `Content-Length` header, e.g. a body's exact size hint).
    pub fn read_declared<H, S>(
        &self,
        headers: &H,
        declared: Option<u64>,
        peer: Option<std::net::IpAddr>,
        chunks: S,
    ) -> Read<S>
    where
        H: HeaderLookup + ?Sized,
    {
        let gate = self.gate(headers);
        // Only a request anyone could send is held to a client's share.
        let client = peer
            .filter(|_| gate.needs_body)
            .map(|peer| crate::client::resolve(peer, headers, &self.inner.proxies));
        Read::new(self.clone(), declared, chunks, gate, client)
    }

    /// Names the reverse proxies (load balancers) in front of the receiver whose
    /// `X-Forwarded-For` tells the client's address, for the client's share of the memory
    /// budget ([`read_from`](Self::read_from)). Without it the header is never read: anyone
    /// can write it.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = std::net::IpAddr>) -> Self {
        self.config().proxies = proxies.into_iter().collect();
        self
    }

    /// What the headers decide, with the ring in force now.
    fn gate<H: HeaderLookup + ?Sized>(&self, headers: &H) -> Gate {
        let verifier = self.inner.keys.current();
        let mut known_callback = None;
        let mut lookup = None;
        if let Some(secrets) = &self.inner.lookup
            && let Some(digest) = verifier.callback_lookup(headers)
        {
            match secrets.cached(&digest) {
                Some(true) => known_callback = Some(digest),
                Some(false) => {}
                None => lookup = Some((digest, secrets.ask(digest))),
            }
        }
        let (refused, needs_body) = match verifier.precheck(headers, known_callback.as_ref()) {
            Ok(meetingbaas_webhooks::Precheck::Authentic(_)) => (None, false),
            Ok(_) => (None, true),
            Err(err) => (Some(err), false),
        };
        Gate {
            verifier,
            refused,
            needs_body,
            known_callback,
            lookup,
        }
    }

    /// Admits a received body: verifies it, parses it (into `T`, and into an
    /// [`Event`](meetingbaas_webhooks::Event) when configured), filters its kind and claims it, in that order.
    /// `T` follows [`parse_into`]: [`Event`](meetingbaas_webhooks::Event), [`serde::de::IgnoredAny`] to verify
    /// only, or your own type.
    pub fn admit<T, H>(&self, headers: &H, received: Received) -> Admit<T>
    where
        T: DeserializeOwned + Send + 'static,
        H: HeaderLookup + ?Sized,
    {
        self.admit_received(headers, received)
    }
}

impl From<Verifier> for Pipeline {
    /// [`Pipeline::new`]: the defaults around `verifier`.
    fn from(verifier: Verifier) -> Self {
        Pipeline::new(verifier)
    }
}

#[cfg(test)]
mod tests;

//! What the pipeline records about each delivery: one `tracing` span, the log lines, and the
//! metrics (feature `metrics`). The one place that knows their names.

use std::time::{Duration, Instant};

use super::answer::Outcome;
use meetingbaas_webhooks::EventKind;
use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks::VerifiedDelivery;

/// The prefix of every metric name.
pub const METRIC_PREFIX: &str = "meetingbaas_webhooks";

/// Counter: deliveries by `scheme` (`none` before verification), `outcome` ([`Outcome::label`];
/// `accepted` when handed to a handler whose answer the adapter does not see; `abandoned` when
/// the request went away first) and `error` (the error code, or `none`).
pub const DELIVERIES_TOTAL: &str = "meetingbaas_webhooks_deliveries_total";
/// Counter: copies of deliveries already handled, by `scheme`.
pub const DUPLICATES_TOTAL: &str = "meetingbaas_webhooks_duplicates_total";
/// Histogram: seconds spent verifying a body, by `scheme` (`none` when it did not verify).
pub const VERIFY_DURATION_SECONDS: &str = "meetingbaas_webhooks_verify_duration_seconds";
/// Histogram: seconds from admission to the handler's answer, by `kind` and `status_class`
/// (`2xx`, `4xx`, `5xx`...).
pub const HANDLER_DURATION_SECONDS: &str = "meetingbaas_webhooks_handler_duration_seconds";
/// Histogram: bytes of verified bodies, by `scheme`.
pub const BODY_BYTES: &str = "meetingbaas_webhooks_body_bytes";

/// The guard of [`Trace::enter`].
pub(crate) type Entered = tracing::span::EnteredSpan;

/// One delivery's record: its span, its start, what is known of it so far.
pub(crate) struct Trace {
    span: tracing::Span,
    // `None` when nothing reads durations (no metrics, span disabled): the clock is then never
    // read.
    started: Option<Instant>,
    admitted: Option<Instant>,
    scheme: Option<Scheme>,
    kind: Option<&'static str>,
    log_accepted: bool,
    // Read only with the `metrics` feature.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    metrics: bool,
    finished: bool,
}

impl Trace {
    /// Starts a delivery's record: `log_accepted` as [`Pipeline::log_accepted`], `metrics` as
    /// [`Pipeline::record_metrics`](super::Pipeline::record_metrics).
    pub(crate) fn start(log_accepted: bool, metrics: bool) -> Trace {
        let span = tracing::info_span!(
                target: "meetingbaas_webhooks",
                "webhook",
                scheme = tracing::field::Empty,
                event = tracing::field::Empty,
                kind = tracing::field::Empty,
                bot_id = tracing::field::Empty,
                message_id = tracing::field::Empty,
                bytes = tracing::field::Empty,
                outcome = tracing::field::Empty,
                status = tracing::field::Empty,
                error = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
        );
        let metrics = cfg!(feature = "metrics") && metrics;
        let timed = metrics || !span.is_disabled();
        Trace {
            span,
            started: timed.then(Instant::now),
            admitted: None,
            scheme: None,
            kind: None,
            log_accepted,
            metrics,
            finished: false,
        }
    }

    /// Whether durations are recorded (metrics on, or the span enabled): when not, the
    /// pipeline does not read the clock for them.
    pub(crate) fn timed(&self) -> bool {
        self.started.is_some()
    }

    /// Enters the delivery's span until the guard is dropped.
    pub(crate) fn enter(&self) -> Entered {
        self.span.clone().entered()
    }

    /// The delivery's span, for the adapters to run the handler in.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    pub(crate) fn verified(&mut self, delivery: Option<&VerifiedDelivery>, took: Option<Duration>) {
        let scheme = delivery.map(VerifiedDelivery::scheme);
        self.scheme = scheme;
        if let Some(delivery) = delivery.filter(|_| !self.span.is_disabled()) {
            self.span.record("scheme", delivery.scheme().as_str());
            self.span.record("bytes", delivery.body().len());
            if let Some(id) = delivery.message_id() {
                self.span.record("message_id", id);
            }
        }
        #[cfg(feature = "metrics")]
        if let Some(took) = took.filter(|_| self.metrics) {
            let scheme = scheme.map_or("none", Scheme::as_str);
            metrics::histogram!(VERIFY_DURATION_SECONDS, "scheme" => scheme).record(took);
            if let Some(delivery) = delivery {
                metrics::histogram!(BODY_BYTES, "scheme" => scheme)
                    .record(delivery.body().len() as f64);
            }
        }
        let _ = (took, delivery);
    }

    /// What the delivery is: from its envelope or its parsed event.
    pub(crate) fn labelled(&mut self, name: &str, kind: EventKind, bot_id: Option<&str>) {
        self.kind = Some(kind.as_str());
        if !self.span.is_disabled() {
            self.span.record("event", name);
            self.span.record("kind", kind.as_str());
            if let Some(bot_id) = bot_id {
                self.span.record("bot_id", bot_id);
            }
        }
    }

    /// The delivery goes to the handler.
    /// (Its one info line comes with its outcome, in [`finish`](Self::finish).)
    pub(crate) fn admitted(&mut self) {
        if self.timed() {
            self.admitted = Some(Instant::now());
        }
    }

    /// Records the outcome once: span fields, the log line, the metrics.
    pub(crate) fn finish(&mut self, outcome: &Outcome) {
        self.record(
            outcome.label(),
            outcome.status(),
            outcome.error().map(|e| e.code()),
        );
        if let (Outcome::Handled { status }, Some(admitted)) = (outcome, self.admitted) {
            self.handler_took(*status, admitted.elapsed());
        }
    }

    /// Handed to a handler whose answer is never seen.
    pub(crate) fn accepted(&mut self) {
        self.record("accepted", 0, None);
    }

    fn record(&mut self, outcome: &'static str, status: u16, error: Option<&'static str>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let took = self.started.map(|started| started.elapsed());
        {
            if !self.span.is_disabled() {
                self.span.record("outcome", outcome);
                self.span.record("status", status);
                if let Some(took) = took {
                    self.span.record("duration_ms", took.as_secs_f64() * 1000.0);
                }
                if let Some(code) = error {
                    self.span.record("error", code);
                }
            }
            self.span.in_scope(|| match outcome {
                // Debug only: forged traffic must not be able to flood a log.
                "rejected" | "abandoned" => tracing::debug!(
                    target: "meetingbaas_webhooks",
                    outcome,
                    status,
                    error = error.unwrap_or("none"),
                    "webhook delivery not handled"
                ),
                _ if self.log_accepted => tracing::info!(
                    target: "meetingbaas_webhooks",
                    outcome,
                    status,
                    "webhook delivery answered"
                ),
                _ => {}
            });
        }
        #[cfg(feature = "metrics")]
        if self.metrics {
            let scheme = self.scheme.map_or("none", Scheme::as_str);
            metrics::counter!(
                DELIVERIES_TOTAL,
                "scheme" => scheme,
                "outcome" => outcome,
                "error" => error.unwrap_or("none"),
            )
            .increment(1);
            if outcome == "duplicate" {
                metrics::counter!(DUPLICATES_TOTAL, "scheme" => scheme).increment(1);
            }
        }
        let _ = (outcome, status, error, took, self.log_accepted);
    }

    fn handler_took(&self, status: u16, took: Duration) {
        #[cfg(feature = "metrics")]
        if self.metrics {
            let class = match status {
                100..=199 => "1xx",
                200..=299 => "2xx",
                300..=399 => "3xx",
                400..=499 => "4xx",
                _ => "5xx",
            };
            metrics::histogram!(
                HANDLER_DURATION_SECONDS,
                "kind" => self.kind.unwrap_or("unparsed"),
                "status_class" => class,
            )
            .record(took);
        }
        let _ = (status, took);
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        // Dropped before an outcome: the request went away (client gone, handler panicked).
        if !self.finished {
            self.record("abandoned", 0, None);
        }
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("scheme", &self.scheme)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

//! [`Shutdown`]: one way to stop a receiver, for intake and worker together.
//!
//! A stop has three moments:
//!
//! 1. **triggered** (SIGTERM, Ctrl-C, or [`Shutdown::trigger`]): readiness fails at once, so a
//!    load balancer or Kubernetes stops sending; intake goes on answering, and the worker goes
//!    on handling;
//! 2. **drained**, the drain period later (default [`DEFAULT_DRAIN`]): the listener stops
//!    accepting, every open connection is closed after the request it is answering, and the
//!    worker stops claiming;
//! 3. **stopped**: requests in flight are answered and running handlers have finished, or the
//!    grace period (default [`DEFAULT_GRACE`]) has passed; the process exits 0.
//!
//! Answering 202 during the drain is right: the delivery is stored, and a worker of this or
//! another replica handles it. A v2 callback has 4 tries over about 21 seconds, so the defaults
//! (5 s of drain, at most 8 s of grace) keep the whole stop inside Kubernetes' default 30 s
//! and well inside 15 s.
//!
//! ```
//! use std::time::Duration;
//! use meetingbaas_webhooks_server::Shutdown;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let shutdown = Shutdown::new(Duration::from_millis(10));
//! assert!(shutdown.is_ready());
//! shutdown.trigger();
//! assert!(!shutdown.is_ready()); // readiness fails at once...
//! shutdown.drained().await; // ...and the listener stops a drain period later
//! # }
//! ```
//!
//! With axum's own server: `axum::serve(listener, app).with_graceful_shutdown(shutdown.drained())`;
//! with actix-web: `HttpServer::disable_signals()`, then `handle.stop(true)` once `drained()`
//! resolves; with warp: `warp::serve(route).incoming(listener).graceful(shutdown.drained())`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The default drain period: 5 seconds between the signal and the listener's close.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

/// The default grace period: 8 seconds for requests in flight and running handlers to finish
/// once drained.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(8);

/// Where a stop is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Running,
    Triggered,
    Drained,
}

/// The stop of one receiver: cheap to clone, every clone sees the same stop. See the [module
/// docs](self).
#[derive(Clone, Debug)]
pub struct Shutdown {
    phase: Arc<watch::Sender<Phase>>,
    drain: Duration,
    grace: Duration,
}

impl Shutdown {
    /// A stop with a drain period of `drain` (and [`DEFAULT_GRACE`]), triggered only by
    /// [`trigger`](Self::trigger).
    pub fn new(drain: Duration) -> Self {
        let (phase, _) = watch::channel(Phase::Running);
        Shutdown {
            phase: Arc::new(phase),
            drain,
            grace: DEFAULT_GRACE,
        }
    }

    /// A stop triggered by SIGTERM or Ctrl-C (SIGINT). The signal handlers are installed now,
    /// before any listener accepts, so that a signal right after the first answer stops the
    /// process gracefully instead of killing it. Needs a tokio runtime.
    pub fn on_signals(drain: Duration) -> std::io::Result<Self> {
        let shutdown = Shutdown::new(drain);
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        #[cfg(unix)]
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!(
                target: "meetingbaas_webhooks",
                drain_seconds = trigger.drain.as_secs_f64(),
                "shutting down: not ready any more; still answering for the drain period"
            );
            trigger.trigger();
        });
        Ok(shutdown)
    }

    /// The same stop with `grace` for requests in flight and running handlers once drained.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The drain period.
    pub fn drain(&self) -> Duration {
        self.drain
    }

    /// The grace period.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Starts the stop (what a signal does): readiness fails now, [`drained`](Self::drained)
    /// resolves a drain period later. Calling it again changes nothing.
    pub fn trigger(&self) {
        let newly = self.phase.send_if_modified(|phase| {
            let start = *phase == Phase::Running;
            if start {
                *phase = Phase::Triggered;
            }
            start
        });
        if newly {
            let phase = Arc::clone(&self.phase);
            let drain = self.drain;
            tokio::spawn(async move {
                tokio::time::sleep(drain).await;
                phase.send_replace(Phase::Drained);
            });
        }
    }

    /// Whether the receiver takes new traffic: `true` until the stop is triggered.
    pub fn is_ready(&self) -> bool {
        *self.phase.borrow() == Phase::Running
    }

    /// Whether the stop was triggered.
    pub fn is_triggered(&self) -> bool {
        *self.phase.borrow() >= Phase::Triggered
    }

    /// Resolves when the stop is triggered.
    pub async fn triggered(&self) {
        self.reached(Phase::Triggered).await;
    }

    /// Resolves a drain period after the stop was triggered: when a server stops accepting (give
    /// it to axum's `with_graceful_shutdown` or warp's `graceful`).
    pub async fn drained(&self) {
        self.reached(Phase::Drained).await;
    }

    async fn reached(&self, phase: Phase) {
        let mut watching = self.phase.subscribe();
        // The sender lives in `self`: the wait ends only when the phase is reached.
        let _ = watching.wait_for(|now| *now >= phase).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn readiness_fails_at_the_trigger_and_the_drain_ends_later() {
        let shutdown = Shutdown::new(Duration::from_secs(5));
        assert!(shutdown.is_ready() && !shutdown.is_triggered());
        let drained = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.drained().await }
        });
        shutdown.trigger();
        shutdown.trigger();
        assert!(!shutdown.is_ready() && shutdown.is_triggered());
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(!drained.is_finished(), "not before the drain period");
        tokio::time::sleep(Duration::from_secs(2)).await;
        drained.await.unwrap();
        // Later waiters see it at once.
        shutdown.triggered().await;
        shutdown.drained().await;
    }
}

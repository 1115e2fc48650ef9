//! The stop: readiness, the drain period and a graceful exit, against every example over real
//! TCP, with SIGTERM sent to the real process.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks_inbox::Inbox;

use crate::cases::{assert_accepted, post, run};
use crate::client::{self, Body, Response};
use crate::deliveries::{minimal, signed};
use crate::inbox_cases::{env_with_inbox, queued_id, sqlite_url};
use crate::server::{Server, default_env};

/// The longest a stop may take, from SIGTERM to the exit (issue 28: well inside 15 s).
const STOP_WITHIN: Duration = Duration::from_secs(15);

/// `GET /ready`.
pub(crate) async fn ready(server: &Server) -> Response {
    let target = server.target().with_route("/ready").with_method("GET");
    client::post_to(&target, &[], Body::Length(Vec::new()))
        .await
        .unwrap_or_else(|err| panic!("no answer to GET /ready: {err}"))
}

/// Waits for `GET /ready` to answer 200, as a readiness probe does.
pub(crate) async fn wait_ready(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = ready(server).await;
        if response.status == 200 {
            return;
        }
        assert_eq!(response.status, 503, "{}", response.text());
        assert!(
            Instant::now() < deadline,
            "never ready with a healthy store"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A healthy example answers `GET /ready` 200; on SIGTERM it fails at once but deliveries are
/// still answered during the drain period; then the process exits 0, within 15 s.
pub fn ready_until_sigterm_then_a_drain_and_exit_0(binary: &str) {
    run(async {
        let mut env = default_env();
        env.push(("MEETINGBAAS_DRAIN_SECONDS", "2".into()));
        let mut server = Server::start(binary, &env).await;
        assert_eq!(ready(&server).await.status, 200);
        let body = minimal("bot.failed", "b-stop");
        assert_accepted(
            &post(
                &server,
                &signed(Scheme::Callback, &body),
                Body::Length(body.clone()),
            )
            .await,
            "bot.failed",
            Some("b-stop"),
        );
        // Right after an answer: the signal handlers were in place before the first accept.
        let signalled = Instant::now();
        server.terminate();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(ready(&server).await.status, 503, "not ready once stopping");
        let response = post(
            &server,
            &signed(Scheme::Callback, &body),
            Body::Length(body.clone()),
        )
        .await;
        assert_accepted(&response, "bot.failed", Some("b-stop"));
        let code = server
            .wait_for_exit(STOP_WITHIN)
            .await
            .unwrap_or_else(|()| panic!("still running {STOP_WITHIN:?} after SIGTERM"));
        assert_eq!(code, Some(0), "exit status after SIGTERM");
        assert!(
            signalled.elapsed() >= Duration::from_secs(2),
            "it stopped before its drain period"
        );
    });
}

/// With the SQLite inbox: SIGTERM while handlers run. The handlers finish (none is stopped by
/// the shutdown), the process exits 0 within 15 s, and every delivery answered 2xx, before or
/// during the drain, is in the store.
pub fn sigterm_with_handlers_running_loses_nothing_sqlite(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = sqlite_url(&dir);
        let mut env = env_with_inbox(&url);
        env.push(("MEETINGBAAS_DRAIN_SECONDS", "3".into()));
        let mut server = Server::start(binary, &env).await;
        wait_ready(&server).await;
        let inbox = Inbox::open(&url).await.expect("the example's inbox");
        let mut ids = BTreeSet::new();
        // `bot.completed` takes 200 ms in the examples' handler: several are running at once.
        for n in 0..30 {
            let body = minimal("bot.completed", &format!("stop-{n}"));
            let response = post(
                &server,
                &signed(Scheme::Callback, &body),
                Body::Length(body),
            )
            .await;
            ids.insert(queued_id(&response));
        }
        let signalled = Instant::now();
        server.terminate();
        // During the drain: still stored and answered 202.
        for n in 0..10 {
            let body = minimal("bot.completed", &format!("draining-{n}"));
            let response = post(
                &server,
                &signed(Scheme::Callback, &body),
                Body::Length(body),
            )
            .await;
            ids.insert(queued_id(&response));
        }
        let code = server
            .wait_for_exit(STOP_WITHIN)
            .await
            .unwrap_or_else(|()| panic!("still running {STOP_WITHIN:?} after SIGTERM"));
        assert_eq!(code, Some(0), "exit status after SIGTERM");
        assert!(signalled.elapsed() < STOP_WITHIN);
        let stats = inbox.stats().await.expect("stats");
        assert!(
            stats.completed > 0,
            "the worker ran during the drain: {stats:?}"
        );
        for id in &ids {
            let shown = inbox
                .show(id)
                .await
                .unwrap_or_else(|err| panic!("delivery {id} answered 202 is not stored: {err}"));
            for attempt in &shown.attempts {
                let error = attempt.error.as_deref().unwrap_or_default();
                assert!(
                    !error.contains("shutdown") && !error.contains("lease expired"),
                    "{id}: an attempt did not finish: {error}"
                );
            }
        }
    });
}

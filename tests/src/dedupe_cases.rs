//! Idempotency cases: the same behaviour in front of every example's handler, with
//! `MEETINGBAAS_DEDUPE=memory` or a shared real Redis.

use std::time::Duration;

use meetingbaas_webhooks::Scheme;
use serde_json::json;

use crate::cases::{assert_accepted, assert_rejected, post, run};
use crate::client::{self, Body};
use crate::deliveries::{minimal, signed};
use crate::redis_server::RedisServer;
use crate::server::{Server, default_env};

fn env_with_dedupe(setting: &str) -> Vec<(&'static str, String)> {
    let mut env = default_env();
    env.push(("MEETINGBAAS_DEDUPE", setting.to_string()));
    env
}

fn assert_duplicate(response: &client::Response) {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "status": "duplicate" }));
}

/// A retry of a handled delivery is answered `duplicate` without running the handler again,
/// under every scheme (Svix by message id, the others by body).
pub fn retry_of_a_handled_delivery_is_a_duplicate(binary: &str) {
    run(async {
        let server = Server::start(binary, &env_with_dedupe("memory")).await;
        for scheme in Scheme::ALL {
            let body = minimal("bot.completed", &format!("dup-{scheme}"));
            let headers = signed(scheme, &body);
            let first = post(&server, &headers, Body::Length(body.clone())).await;
            assert_accepted(&first, "bot.completed", Some(&format!("dup-{scheme}")));
            let again = post(&server, &headers, Body::Length(body.clone())).await;
            assert_duplicate(&again);
        }
        // A Svix retry keeps its id but is signed anew: still a duplicate.
        let body = minimal("bot.completed", "svix-retry");
        let headers = signed(Scheme::Svix, &body);
        let id = headers[0].1.clone();
        let first = post(&server, &headers, Body::Length(body.clone())).await;
        assert_accepted(&first, "bot.completed", Some("svix-retry"));
        let mut retry = signed(Scheme::Svix, &body);
        retry[0].1 = id;
        let retry = crate::deliveries::resign_svix(&retry, &body);
        assert_duplicate(&post(&server, &retry, Body::Length(body)).await);
    });
}

/// A rejected delivery is not remembered: fixing it (the sender's retry) is processed.
pub fn a_failed_delivery_is_processed_on_retry(binary: &str) {
    run(async {
        let server = Server::start(binary, &env_with_dedupe("memory")).await;
        // Verified but not an envelope (every envelope is accepted, whatever its data).
        let body = br#"{"data":{"bot_id":"b"}}"#.to_vec();
        let headers = signed(Scheme::Callback, &body);
        for _ in 0..2 {
            // 400 each time: a non-2xx answer releases the claim, so the retry runs again.
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            assert_rejected(&response, 400, &["invalid_envelope"]);
        }
    });
}

/// Two replicas sharing one Redis: a delivery handled by the first is a duplicate at the second.
pub fn two_replicas_sharing_redis_see_each_others_deliveries(binary: &str) {
    run(async {
        let redis = RedisServer::start();
        let env = env_with_dedupe(&redis.url());
        let first = Server::start(binary, &env).await;
        let second = Server::start(binary, &env).await;
        let body = minimal("bot.completed", "replicated");
        let headers = signed(Scheme::Svix, &body);
        assert_accepted(
            &post(&first, &headers, Body::Length(body.clone())).await,
            "bot.completed",
            Some("replicated"),
        );
        assert_duplicate(&post(&second, &headers, Body::Length(body)).await);
    });
}

/// Fifty concurrent copies of one delivery across two replicas: the handler runs exactly once;
/// every other copy is told `duplicate` (200) or to retry later (409).
pub fn fifty_concurrent_copies_run_the_handler_once(binary: &str) {
    run(async {
        let redis = RedisServer::start();
        let env = env_with_dedupe(&redis.url());
        let replicas = [
            Server::start(binary, &env).await,
            Server::start(binary, &env).await,
        ];
        let body = minimal("bot.completed", "fifty");
        let headers = signed(Scheme::Svix, &body);
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let addr = replicas[i % 2].addr.clone();
                let (headers, body) = (headers.clone(), body.clone());
                tokio::spawn(async move { client::post(&addr, &headers, Body::Length(body)).await })
            })
            .collect();
        let (mut handled, mut duplicates, mut in_progress) = (0, 0, 0);
        for task in tasks {
            let response = task.await.expect("task").expect("answer");
            match (response.status, response.json()["status"].as_str()) {
                (200, Some("success")) => handled += 1,
                (200, Some("duplicate")) => duplicates += 1,
                (409, _) => {
                    assert_rejected(&response, 409, &["delivery_in_progress"]);
                    in_progress += 1;
                }
                _ => panic!("unexpected answer {}: {}", response.status, response.text()),
            }
        }
        assert_eq!(
            handled, 1,
            "{duplicates} duplicates, {in_progress} in progress"
        );
        assert_eq!(handled + duplicates + in_progress, 50);
    });
}

/// Redis stopped: 503 so the sender retries (never a silent pass); back: deliveries flow again.
pub fn redis_outage_is_503_and_recovers(binary: &str) {
    run(async {
        let mut redis = RedisServer::start();
        let server = Server::start(binary, &env_with_dedupe(&redis.url())).await;
        let body = minimal("bot.completed", "outage");
        redis.stop();
        let response = post(
            &server,
            &signed(Scheme::Signature, &body),
            Body::Length(body.clone()),
        )
        .await;
        assert_rejected(&response, 503, &["store_unavailable"]);
        redis.restart();
        let mut response = post(
            &server,
            &signed(Scheme::Signature, &body),
            Body::Length(body.clone()),
        )
        .await;
        for _ in 0..100 {
            if response.status != 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            response = post(
                &server,
                &signed(Scheme::Signature, &body),
                Body::Length(body.clone()),
            )
            .await;
        }
        assert_accepted(&response, "bot.completed", Some("outage"));
    });
}

/// An unknown `MEETINGBAAS_DEDUPE` value stops the example at start, in one line.
pub fn a_bad_dedupe_setting_exits_non_zero(binary: &str) {
    run(async {
        let (code, stderr) =
            crate::server::run_to_exit(binary, &env_with_dedupe("postgres://nope")).await;
        assert!(code.is_some_and(|c| c != 0), "exit code {code:?}");
        assert!(stderr.contains("MEETINGBAAS_DEDUPE"), "{stderr:?}");
    });
}

//! `inbox redeliver` end to end: a real receiver (the pipeline with a SQLite inbox, served over
//! TCP) stores a delivery; the fake Meeting BaaS API, asked to resend, delivers the bot's webhook
//! to that receiver again. Without the command the copy is answered as a duplicate; with it, the
//! key is forgotten first and the copy is stored and handled again.

mod common;
#[path = "../../meetingbaas-webhooks-api/tests/fake_api/mod.rs"]
mod fake_api;

use std::convert::Infallible;
use std::process::Output;
use std::time::Duration;

use fake_api::{FakeApi, Reply};
use meetingbaas_webhooks::{Bytes, Verifier};
use meetingbaas_webhooks_inbox::{Inbox, ListQuery};
use meetingbaas_webhooks_receiver::Pipeline;
use meetingbaas_webhooks_server::{Limits, Shutdown, serve};
use meetingbaas_webhooks_tower::VerifyWebhookLayer;
use serde_json::json;
use tower::Layer;

const KEY: &str = "mb-cli-redeliver-key-7f3a";
const SECRET: &str = "callback-secret-for-redeliver";
const BOT: &str = "123e4567-e89b-12d3-a456-426614174000";

/// The delivery Meeting BaaS keeps for the bot, byte for byte (a callback: keyed by its digest).
fn body() -> Vec<u8> {
    json!({
        "event": "bot.completed",
        "data": {"bot_id": BOT, "video": "https://s3.example/v.mp4?X-Amz-Expires=14400",
                 "sent_at": "2025-01-15T11:05:00Z"}
    })
    .to_string()
    .into_bytes()
}

/// Sends the bot's delivery to the receiver at `url` as Meeting BaaS does; returns the status
/// and the answer's body.
async fn deliver(url: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("x-mb-secret", SECRET)
        .header("content-type", "application/json")
        .body(body())
        .send()
        .await
        .expect("the receiver answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// A receiver over real TCP: the pipeline storing into `inbox`, every route answered 200 by
/// the inner service (the layer answers stored deliveries itself).
async fn receiver(inbox: &Inbox) -> (String, Shutdown) {
    let verifier = Verifier::builder().callback_secret(SECRET).build().unwrap();
    let pipeline = Pipeline::new(verifier).inbox(inbox.intake());
    let app = VerifyWebhookLayer::new(pipeline).layer(tower::service_fn(|_request| async {
        Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(Bytes::new())))
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let shutdown = Shutdown::new(Duration::from_millis(10));
    let serving = shutdown.clone();
    tokio::spawn(async move { serve(listener, app, &Limits::default(), None, &serving).await });
    (url, shutdown)
}

async fn redeliver(store: &str, api: &FakeApi, args: &[&str]) -> Output {
    let url = api.url();
    let mut full = vec!["inbox", "--store", store, "redeliver"];
    full.extend(args);
    full.extend(["--api-url", &url, "--api-key", KEY]);
    tokio::process::Command::from(common::command(&full))
        .output()
        .await
        .unwrap()
}

async fn bot_deliveries(inbox: &Inbox) -> usize {
    inbox
        .list(ListQuery {
            limit: 100,
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|summary| summary.bot_id.as_deref() == Some(BOT))
        .count()
}

#[tokio::test]
async fn a_redelivery_asked_for_is_stored_again_not_answered_as_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let inbox = Inbox::open(&store).await.unwrap();
    let (url, shutdown) = receiver(&inbox).await;

    // The first delivery is stored; a plain copy is a duplicate.
    let (status, _) = deliver(&url).await;
    assert!((200..300).contains(&status), "{status}");
    let (status, answer) = deliver(&url).await;
    assert!(answer.contains("duplicate"), "{status} {answer}");
    assert_eq!(bot_deliveries(&inbox).await, 1);
    let id = inbox.list(ListQuery::default()).await.unwrap()[0]
        .id
        .clone();

    // The fake API re-delivers the bot's webhook to the receiver when asked to resend.
    let target = url.clone();
    let api = FakeApi::start(move |request| {
        if request.method == "POST" && request.path == format!("/v2/bots/{BOT}/resend-webhook") {
            let target = target.clone();
            tokio::spawn(async move { deliver(&target).await });
            Reply::json(200, json!({"success": true, "data": {"message": "queued"}}))
        } else {
            Reply::json(404, json!({"success": false, "error": "not found"}))
        }
    })
    .await;

    let output = redeliver(&store, &api, &[&id]).await;
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(out.contains("forgot key callback:sha256:"), "{out}");
    assert!(out.contains("resend-webhook"), "{out}");
    assert!(!out.contains(KEY) && !String::from_utf8_lossy(&output.stderr).contains(KEY));
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-meeting-baas-api-key"), Some(KEY));

    // The copy Meeting BaaS sent is stored again: a new delivery of the bot.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bot_deliveries(&inbox).await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the re-delivery was not stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And a further plain copy is a duplicate again.
    let (_, answer) = deliver(&url).await;
    assert!(answer.contains("duplicate"), "{answer}");
    assert_eq!(bot_deliveries(&inbox).await, 2);

    // --json: one object with what the inbox did and the API's answer; 404 exits 3.
    let output = redeliver(&store, &api, &[&id, "--via", "retry-callback", "--json"]).await;
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["api"]["status"], 404, "{answer}");
    assert_eq!(
        api.requests().last().unwrap().path,
        format!("/v2/bots/{BOT}/retry-callback")
    );

    // An unknown id, and a delivery that names no bot, ask the API for nothing.
    let calls = api.requests().len();
    let output = redeliver(&store, &api, &["999999"]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let botless = reqwest::Client::new()
        .post(&url)
        .header("x-mb-secret", SECRET)
        .body(r#"{"event":"calendar.events_synced","data":{}}"#)
        .send()
        .await
        .unwrap();
    assert!(botless.status().is_success());
    let listed = inbox.list(ListQuery::default()).await.unwrap();
    let botless = listed.iter().find(|s| s.bot_id.is_none()).unwrap();
    let output = redeliver(&store, &api, &[&botless.id]).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("names no bot"));
    assert_eq!(api.requests().len(), calls);
    shutdown.trigger();
}

//! The API commands (and `trigger --data`/`--bot-id`, https) run as the built binary against the
//! fake Meeting BaaS API of the `meetingbaas-webhooks-api` crate's tests, over real TCP.

mod common;
#[path = "../../meetingbaas-webhooks-api/tests/fake_api/mod.rs"]
mod fake_api;

use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fake_api::{FakeApi, Reply, TestCertificates};
use meetingbaas_webhooks::{Scheme, Verifier};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const KEY: &str = "mb-cli-test-key-5d1e";
const BOT: &str = "123e4567-e89b-12d3-a456-426614174000";
const OTHER_BOT: &str = "9f0c1d2e-0000-4000-8000-000000000001";

/// The binary with `args` and a clean environment ([`common::command`]), run by tokio.
fn command(args: &[&str]) -> Command {
    Command::from(common::command(args))
}

async fn run_with(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin).await;
    drop(input);
    child.wait_with_output().await.unwrap()
}

/// Runs an API command against `api` with the key on the command line.
async fn api_command(api: &FakeApi, args: &[&str]) -> Output {
    let url = api.url();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--api-url", &url, "--api-key", KEY]);
    run_with(command(&full), b"").await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

/// Nothing the binary printed contains the key or a raw control character (but newlines).
fn assert_clean(output: &Output) {
    for text in [stdout(output), stderr(output)] {
        assert!(!text.contains(KEY), "the key was printed: {text}");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character printed: {text:?}"
        );
    }
}

fn ok_message(message: &str) -> Reply {
    Reply::json(200, json!({"success": true, "data": {"message": message}}))
}

#[tokio::test]
async fn resend_prints_the_answer_and_sends_the_documented_request() {
    let api = FakeApi::start(|_| ok_message("Webhook resend queued")).await;
    let output = api_command(&api, &["resend", BOT]).await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("resend-webhook {BOT}: accepted (200): Webhook resend queued\n")
    );
    let request = api.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/v2/bots/{BOT}/resend-webhook"));
    assert_eq!(request.query, None);
    assert_eq!(request.header("x-meeting-baas-api-key"), Some(KEY));
    assert!(request.body.is_empty());
    assert_clean(&output);
}

#[tokio::test]
async fn resend_in_json_prints_one_object() {
    let api = FakeApi::start(|_| ok_message("queued")).await;
    let output = api_command(&api, &["resend", BOT, "--json"]).await;
    assert_eq!(code(&output), Some(0));
    let value: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(value["ok"], json!(true));
    assert_eq!(value["bot_id"], json!(BOT));
    assert_eq!(value["message"], json!("queued"));
    assert_eq!(value["answer"]["success"], json!(true));
}

#[tokio::test]
async fn the_key_and_url_come_from_the_environment() {
    let api = FakeApi::start(|_| Reply::json(200, json!({"webhook_url": null}))).await;
    let mut command = command(&["webhook-url"]);
    command
        .env("MEETINGBAAS_API_KEY", KEY)
        .env("MEETINGBAAS_API_URL", api.url());
    let output = run_with(command, b"").await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "webhook_url: (none set)\n");
    let request = api.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/accounts/webhook_url")
    );
    assert_eq!(request.header("x-meeting-baas-api-key"), Some(KEY));
}

#[tokio::test]
async fn not_found_exits_3_and_conflict_exits_4_with_the_reason() {
    let api = FakeApi::start(|request| {
        if request.path.ends_with("resend-webhook") {
            Reply::json(
                404,
                json!({"success": false, "error": "Not Found", "code": "BOT_NOT_FOUND", "statusCode": 404, "message": "Bot not found"}),
            )
        } else {
            Reply::json(
                409,
                json!({"success": false, "error": "Conflict", "code": "NO_CALLBACK", "statusCode": 409, "message": "No callback configured"}),
            )
        }
    })
    .await;
    let output = api_command(&api, &["resend", BOT]).await;
    assert_eq!(code(&output), Some(3));
    assert!(stderr(&output).contains("bot not found (404): Bot not found"));

    let output = api_command(&api, &["retry-callback", BOT, "--json"]).await;
    assert_eq!(code(&output), Some(4));
    let value: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(value["ok"], json!(false));
    assert_eq!(value["error"], json!("conflict"));
    assert_eq!(value["status"], json!(409));
    assert_eq!(value["response"]["code"], json!("NO_CALLBACK"));
    assert_eq!(
        value["response"]["message"],
        json!("No callback configured")
    );
    assert_clean(&output);
}

#[tokio::test]
async fn a_429_storm_exits_5_after_the_allowed_retries() {
    let tries = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tries);
    let api = FakeApi::start(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Reply::json(
            429,
            json!({"success": false, "error": "Too Many Requests", "retryAfter": 0}),
        )
    })
    .await;
    let output = api_command(&api, &["resend", BOT, "--retries", "2"]).await;
    assert_eq!(code(&output), Some(5), "{}", stderr(&output));
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    assert!(stderr(&output).contains("rate limited (429)"));
}

#[tokio::test]
async fn retry_callback_sends_the_override_only_with_all_three_parts() {
    let api = FakeApi::start(|_| ok_message("Callback retry queued")).await;
    let output = api_command(
        &api,
        &[
            "retry-callback",
            BOT,
            "--url",
            "https://example.com/cb",
            "--secret",
            "cb-secret",
            "--method",
            "put",
        ],
    )
    .await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let request = api.only_request();
    assert_eq!(request.path, format!("/v2/bots/{BOT}/retry-callback"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        json!({"url": "https://example.com/cb", "secret": "cb-secret", "method": "PUT"})
    );

    for partial in [
        vec!["--url", "https://example.com/cb"],
        vec!["--url", "https://example.com/cb", "--secret", "s"],
        vec!["--method", "POST"],
    ] {
        let mut args = vec!["retry-callback", BOT];
        args.extend(partial);
        let output = api_command(&api, &args).await;
        assert_eq!(code(&output), Some(2), "{}", stderr(&output));
    }
    let output = api_command(
        &api,
        &[
            "retry-callback",
            BOT,
            "--url",
            "https://e.com",
            "--secret",
            "s",
            "--method",
            "PATCH",
        ],
    )
    .await;
    assert_eq!(code(&output), Some(2));
    assert_eq!(
        api.requests().len(),
        1,
        "refused input never reached the API"
    );
}

#[tokio::test]
async fn retry_webhook_puts_the_bot_and_url_in_the_query() {
    let api = FakeApi::start(|_| Reply::json(200, json!({"ok": true}))).await;
    let output = api_command(
        &api,
        &[
            "retry-webhook",
            BOT,
            "--webhook-url",
            "https://example.com/v1?x=1",
        ],
    )
    .await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with(&format!("retry_webhook {BOT}: accepted (200)")));
    let request = api.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/bots/retry_webhook")
    );
    assert_eq!(
        request.query.as_deref(),
        Some(&*format!(
            "bot_uuid={BOT}&webhook_url=https%3A%2F%2Fexample.com%2Fv1%3Fx%3D1"
        ))
    );
}

#[tokio::test]
async fn webhook_url_set_posts_the_url() {
    let api = FakeApi::start(|request| {
        Reply::json(200, json!({"webhook_url": request.json()["webhook_url"]}))
    })
    .await;
    let output = api_command(
        &api,
        &["webhook-url", "set", "https://example.com/hook", "--json"],
    )
    .await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let value: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(value["webhook_url"], json!("https://example.com/hook"));
    let request = api.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/accounts/webhook_url")
    );
    assert_eq!(
        request.json(),
        json!({"webhook_url": "https://example.com/hook"})
    );

    let output = api_command(&api, &["webhook-url", "set"]).await;
    assert_eq!(code(&output), Some(2));
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn endpoints_prints_one_url_per_line() {
    let api = FakeApi::start(|_| {
        Reply::json(
            200,
            json!([{"url": "https://a.example/hook"}, {"url": "https://b.example/hook"}]),
        )
    })
    .await;
    let output = api_command(&api, &["endpoints"]).await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "https://a.example/hook\nhttps://b.example/hook\n"
    );
    let request = api.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/bots/webhooks/bot")
    );
}

#[tokio::test]
async fn endpoints_over_https_with_a_test_ca() {
    let certificates = TestCertificates::generate();
    let api = FakeApi::start_tls(
        |_| Reply::json(200, json!({"url": "https://a.example/hook"})),
        certificates.acceptor.clone(),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("mbw-api-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &certificates.ca_pem).unwrap();
    let url = format!("https://localhost:{}", api.addr.port());
    let output = run_with(
        command(&[
            "endpoints",
            "--api-url",
            &url,
            "--api-key",
            KEY,
            "--ca-cert",
            ca.to_str().unwrap(),
        ]),
        b"",
    )
    .await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "https://a.example/hook\n");

    let output = run_with(
        command(&["endpoints", "--api-url", &url, "--api-key", KEY]),
        b"",
    )
    .await;
    assert_eq!(code(&output), Some(1), "untrusted certificate");
    assert!(
        stderr(&output).contains("cannot connect"),
        "{}",
        stderr(&output)
    );
    assert_eq!(api.requests().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn invalid_bot_ids_and_a_missing_key_are_usage_errors_before_any_request() {
    let api = FakeApi::start(|_| ok_message("should not be called")).await;
    for bad in ["not-a-bot", "../accounts/webhook_url", "\u{1b}[31m"] {
        let output = api_command(&api, &["resend", bad]).await;
        assert_eq!(code(&output), Some(2), "{bad:?}");
        assert!(stderr(&output).contains("is not a bot id"));
        assert_clean(&output);
    }
    let output = run_with(command(&["resend", BOT, "--api-url", &api.url()]), b"").await;
    assert_eq!(code(&output), Some(2));
    assert!(
        stderr(&output).contains("MEETINGBAAS_API_KEY"),
        "{}",
        stderr(&output)
    );
    let output = api_command(&api, &["retry-webhook", BOT, "--webhook-url", "nope"]).await;
    assert_eq!(code(&output), Some(2));
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn hostile_answers_are_escaped_on_the_terminal() {
    let api = FakeApi::start(|_| {
        Reply::json(
            500,
            json!({"success": false, "error": "x", "message": "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe"}),
        )
    })
    .await;
    let output = api_command(&api, &["resend", BOT, "--retries", "0"]).await;
    assert_eq!(code(&output), Some(1));
    assert_clean(&output);
    let output = api_command(&api, &["resend", BOT, "--retries", "0", "--json"]).await;
    assert_clean(&output);
    let value: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert!(
        value["response"]["message"]
            .as_str()
            .unwrap()
            .contains('\u{1b}')
    );
}

#[tokio::test]
async fn a_redirect_is_reported_and_not_followed() {
    let elsewhere = FakeApi::start(|_| ok_message("stolen")).await;
    let location = format!(
        "http://localhost:{}/v2/bots/{BOT}/resend-webhook",
        elsewhere.addr.port()
    );
    let api = FakeApi::start(move |_| Reply::bytes(301, "").header("location", &location)).await;
    let output = api_command(&api, &["resend", BOT]).await;
    assert_eq!(code(&output), Some(1));
    assert!(stderr(&output).contains("redirect"), "{}", stderr(&output));
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn trigger_data_sends_the_body_byte_for_byte_signed() {
    let api = FakeApi::start(|_| Reply::json(200, json!({"status": "success"}))).await;
    let body = b"{\"event\":\"custom.thing\",\"data\":{\"n\":1}}\n";
    let secret = "trigger-test-secret";
    let url = format!("{}/webhooks/meetingbaas", api.url());
    let output = run_with(
        command(&[
            "trigger",
            "--data",
            "-",
            "--scheme",
            "signature",
            "--secret",
            secret,
            "--url",
            &url,
        ]),
        body,
    )
    .await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("body (custom.thing) (signature): 200"));
    let request = api.only_request();
    assert_eq!(request.path, "/webhooks/meetingbaas");
    assert_eq!(request.body, body);
    let verifier = Verifier::builder()
        .secret(Scheme::Signature, secret)
        .build()
        .unwrap();
    verifier
        .verify(&request.headers, bytes::Bytes::from(request.body.clone()))
        .expect("the body is signed under the chosen scheme");
}

#[tokio::test]
async fn trigger_bot_id_rewrites_the_sample_over_https() {
    let certificates = TestCertificates::generate();
    let api = FakeApi::start_tls(
        |_| Reply::json(200, json!({"status": "success"})),
        certificates.acceptor.clone(),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("mbw-trigger-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &certificates.ca_pem).unwrap();
    let url = format!("https://localhost:{}/hook", api.addr.port());
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let mut command = command(&[
        "trigger",
        "bot.completed",
        "--bot-id",
        OTHER_BOT,
        "--url",
        &url,
    ]);
    command
        .env("MEETINGBAAS_SVIX_SECRET", secret)
        .env("MEETINGBAAS_CA_CERT", &ca);
    let output = run_with(command, b"").await;
    assert_eq!(code(&output), Some(0), "{}", stderr(&output));
    let request = api.only_request();
    let body = String::from_utf8(request.body.clone()).unwrap();
    assert!(body.contains(OTHER_BOT) && !body.contains(BOT), "{body}");
    let verifier = Verifier::builder()
        .secret(Scheme::Svix, secret)
        .build()
        .unwrap();
    verifier
        .verify(&request.headers, bytes::Bytes::from(request.body.clone()))
        .expect("signed with the svix secret");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn verify_with_a_malformed_header_names_the_flag() {
    for header in [
        "no colon here",
        ": value",
        "bad name: v",
        "x-a: line\u{1}break",
    ] {
        let output = run_with(
            command(&[
                "verify",
                "--scheme",
                "signature",
                "--secret",
                "s",
                "-H",
                header,
            ]),
            b"{}",
        )
        .await;
        assert_eq!(code(&output), Some(2), "{header:?}");
        let err = stderr(&output);
        assert!(err.starts_with("error: --header: "), "{err}");
        assert_eq!(err.lines().count(), 1);
    }
}

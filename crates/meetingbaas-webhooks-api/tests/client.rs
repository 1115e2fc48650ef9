//! The client against a fake Meeting BaaS API over real TCP: every request's method, path,
//! query, headers and body, every documented answer, and the faults a real network has.

mod fake_api;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use fake_api::{FakeApi, RawFault, Recorded, Reply, TestCertificates, raw_fault_server};
use meetingbaas_webhooks_api::{
    BotId, CallbackMethod, CallbackTarget, Client, ClientBuilder, Error, RetryPolicy,
};
use serde_json::json;

const KEY: &str = "mb-test-key-7f3a9c";
const BOT: &str = "123e4567-e89b-12d3-a456-426614174000";

fn bot() -> BotId {
    BOT.parse().unwrap()
}

fn builder(base: &str) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(10),
            Duration::from_secs(2),
        ))
        .timeout(Duration::from_secs(5))
}

fn client(api: &FakeApi) -> Client {
    builder(&api.url()).build().unwrap()
}

fn ok_message(message: &str) -> Reply {
    Reply::json(200, json!({"success": true, "data": {"message": message}}))
}

fn error_body(status: u16, error: &str, code: &str, message: &str) -> serde_json::Value {
    json!({"success": false, "error": error, "code": code, "statusCode": status, "message": message})
}

/// The headers every request carries; no `content-type` unless there is a body.
fn assert_common_headers(request: &Recorded, has_body: bool) {
    assert_eq!(request.header("x-meeting-baas-api-key"), Some(KEY));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("meetingbaas-webhooks-api/")
    );
    assert!(request.header("authorization").is_none());
    if has_body {
        assert_eq!(request.header("content-type"), Some("application/json"));
    } else {
        assert!(request.header("content-type").is_none(), "{request:?}");
        assert!(request.body.is_empty());
    }
}

#[tokio::test]
async fn resend_webhook_posts_to_the_v2_path_without_a_body() {
    let api = FakeApi::start(|_| ok_message("Webhook resend queued")).await;
    let accepted = client(&api).resend_webhook(&bot()).await.unwrap();
    assert_eq!(accepted.message(), Some("Webhook resend queued"));
    assert_eq!(accepted.status(), 200);
    let request = api.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/v2/bots/{BOT}/resend-webhook"));
    assert_eq!(request.query, None);
    assert_common_headers(&request, false);
}

#[tokio::test]
async fn retry_callback_without_an_override_sends_no_body() {
    let api = FakeApi::start(|_| ok_message("Callback retry queued")).await;
    let accepted = client(&api).retry_callback(&bot(), None).await.unwrap();
    assert_eq!(accepted.message(), Some("Callback retry queued"));
    let request = api.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", &*format!("/v2/bots/{BOT}/retry-callback"))
    );
    assert_common_headers(&request, false);
}

#[tokio::test]
async fn retry_callback_with_an_override_sends_url_secret_and_method() {
    let api = FakeApi::start(|_| ok_message("Callback retry queued")).await;
    let target = CallbackTarget::new(
        "https://example.com/callbacks?tenant=7",
        "cb-secret",
        CallbackMethod::Put,
    )
    .unwrap();
    client(&api)
        .retry_callback(&bot(), Some(&target))
        .await
        .unwrap();
    let request = api.only_request();
    assert_common_headers(&request, true);
    assert_eq!(
        request.json(),
        json!({"url": "https://example.com/callbacks?tenant=7", "secret": "cb-secret", "method": "PUT"})
    );
}

#[tokio::test]
async fn retry_webhook_v1_puts_the_bot_and_url_in_the_query() {
    let api = FakeApi::start(|_| Reply::json(200, json!({}))).await;
    let client = client(&api);
    client.retry_webhook_v1(&bot(), None).await.unwrap();
    client
        .retry_webhook_v1(&bot(), Some("https://example.com/hook?a=1&b=2"))
        .await
        .unwrap();
    let requests = api.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/bots/retry_webhook")
        );
        assert_common_headers(request, false);
    }
    assert_eq!(
        requests[0].query.as_deref(),
        Some(&*format!("bot_uuid={BOT}"))
    );
    assert_eq!(
        requests[1].query.as_deref(),
        Some(&*format!(
            "bot_uuid={BOT}&webhook_url=https%3A%2F%2Fexample.com%2Fhook%3Fa%3D1%26b%3D2"
        ))
    );
}

#[tokio::test]
async fn the_v1_webhook_url_is_read_and_set() {
    let api = FakeApi::start(|request| match request.method.as_str() {
        "GET" => Reply::json(200, json!({"webhook_url": null})),
        _ => Reply::json(200, json!({"webhook_url": "https://example.com/v1-hook"})),
    })
    .await;
    let client = client(&api);
    assert_eq!(client.webhook_url().await.unwrap().webhook_url, None);
    let set = client
        .set_webhook_url("https://example.com/v1-hook")
        .await
        .unwrap();
    assert_eq!(
        set.webhook_url.as_deref(),
        Some("https://example.com/v1-hook")
    );
    let requests = api.requests();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/accounts/webhook_url")
    );
    assert_common_headers(&requests[0], false);
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("POST", "/accounts/webhook_url")
    );
    assert_common_headers(&requests[1], true);
    assert_eq!(
        requests[1].json(),
        json!({"webhook_url": "https://example.com/v1-hook"})
    );
}

#[tokio::test]
async fn webhook_endpoints_are_listed() {
    let api = FakeApi::start(|_| {
        Reply::json(
            200,
            json!({"webhooks": [{"url": "https://example.com/a"}, {"url": "https://example.com/b"}]}),
        )
    })
    .await;
    let endpoints = client(&api).webhook_endpoints().await.unwrap();
    assert_eq!(
        endpoints.urls(),
        ["https://example.com/a", "https://example.com/b"]
    );
    let request = api.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/bots/webhooks/bot")
    );
    assert_common_headers(&request, false);
}

#[tokio::test]
async fn a_path_prefix_in_the_base_url_is_kept() {
    let api = FakeApi::start(|_| ok_message("ok")).await;
    let client = builder(&format!("{}/proxy/mb/", api.url()))
        .build()
        .unwrap();
    client.resend_webhook(&bot()).await.unwrap();
    assert_eq!(
        api.only_request().path,
        format!("/proxy/mb/v2/bots/{BOT}/resend-webhook")
    );
}

#[tokio::test]
async fn not_found_is_bot_not_found_with_the_error_fields() {
    let api = FakeApi::start(|_| {
        Reply::json(
            404,
            error_body(404, "Not Found", "BOT_NOT_FOUND", "Bot not found"),
        )
    })
    .await;
    let err = client(&api).resend_webhook(&bot()).await.unwrap_err();
    let Error::BotNotFound(response) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(response.success, Some(false));
    assert_eq!(response.error.as_deref(), Some("Not Found"));
    assert_eq!(response.code.as_deref(), Some("BOT_NOT_FOUND"));
    assert_eq!(response.status_code, Some(404));
    assert_eq!(response.message.as_deref(), Some("Bot not found"));
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), "bot_not_found");
    assert_eq!(api.requests().len(), 1, "4xx is not retried");
}

#[tokio::test]
async fn conflict_covers_both_documented_reasons() {
    for (message, code) in [
        (
            "Bot must be completed or failed to resend webhook",
            "BOT_NOT_COMPLETED",
        ),
        (
            "No callback configured for this bot",
            "NO_CALLBACK_CONFIGURED",
        ),
    ] {
        let body = json!({"success": false, "error": "Conflict", "code": code, "statusCode": 409,
            "message": message, "details": {"status": "in_call_recording"}});
        let api = FakeApi::start(move |_| Reply::json(409, body.clone())).await;
        let err = client(&api).retry_callback(&bot(), None).await.unwrap_err();
        let Error::Conflict(response) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(response.code.as_deref(), Some(code));
        assert_eq!(
            response.details,
            Some(json!({"status": "in_call_recording"}))
        );
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(api.requests().len(), 1);
    }
}

#[tokio::test]
async fn unauthorized_is_its_own_error_and_never_shows_the_key() {
    let api = FakeApi::start(|_| {
        Reply::json(
            401,
            error_body(401, "Unauthorized", "INVALID_API_KEY", "Invalid API key"),
        )
    })
    .await;
    let err = client(&api).webhook_url().await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
}

#[tokio::test]
async fn rate_limited_keeps_retry_after_when_no_retry_is_allowed() {
    let api = FakeApi::start(|_| {
        let mut body = error_body(429, "Too Many Requests", "RATE_LIMITED", "Slow down");
        body["retryAfter"] = json!(7);
        Reply::json(429, body)
    })
    .await;
    let client = builder(&api.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.resend_webhook(&bot()).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.response().unwrap().retry_after, Some(7));
    assert!(err.to_string().contains("retry after 7 s"), "{err}");
}

#[tokio::test]
async fn a_429_storm_is_retried_a_bounded_number_of_times() {
    let api = FakeApi::start(|_| {
        Reply::json(
            429,
            json!({"success": false, "error": "Too Many Requests", "retryAfter": 0}),
        )
    })
    .await;
    let started = Instant::now();
    let err = client(&api).resend_webhook(&bot()).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(api.requests().len(), 4, "one try and three retries");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_wait_longer_than_the_cap_is_returned_not_slept() {
    let api = FakeApi::start(|_| Reply::json(429, json!({"retryAfter": 3600}))).await;
    let started = Instant::now();
    let err = client(&api).resend_webhook(&bot()).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(api.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_date_is_read_as_the_wait_until_then() {
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let api =
        FakeApi::start(move |_| Reply::bytes(429, "slow down").header("retry-after", &date)).await;
    let err = client(&api).resend_webhook(&bot()).await.unwrap_err();
    let wait = err.retry_after().unwrap();
    // Whole seconds on the wire, and the clock moved on while the request ran.
    assert!(
        (Duration::from_secs(3590)..=Duration::from_secs(3600)).contains(&wait),
        "{wait:?}"
    );
    assert_eq!(api.requests().len(), 1, "over the cap: returned, not slept");
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_answer_is_returned() {
    let tries = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tries);
    let api = FakeApi::start(move |_| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::json(429, json!({"retryAfter": 1})),
        1 => Reply::bytes(503, "busy").header("retry-after", "0"),
        _ => ok_message("Webhook resend queued"),
    })
    .await;
    let started = Instant::now();
    let accepted = client(&api).resend_webhook(&bot()).await.unwrap();
    assert_eq!(accepted.message(), Some("Webhook resend queued"));
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    let requests = api.requests();
    assert!(requests.iter().all(|r| r.path == requests[0].path));
}

#[tokio::test]
async fn a_5xx_that_persists_is_a_status_error_after_the_retries() {
    let api = FakeApi::start(|_| {
        Reply::json(
            502,
            error_body(502, "Bad Gateway", "UPSTREAM", "upstream down"),
        )
    })
    .await;
    let err = client(&api).webhook_endpoints().await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 502, .. }), "{err:?}");
    assert_eq!(api.requests().len(), 4);
}

#[tokio::test]
async fn invalid_input_never_reaches_the_network() {
    let api = FakeApi::start(|_| ok_message("should not be called")).await;
    let client = client(&api);
    for bad in [
        "",
        "bot-1",
        "../accounts/webhook_url",
        "123e4567-e89b-12d3-a456-4266141740001",
    ] {
        let err = bad.parse::<BotId>().map_err(Error::from).unwrap_err();
        assert!(err.is_before_request());
    }
    let err = client
        .retry_webhook_v1(&bot(), Some("not a url"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = client
        .set_webhook_url("ftp://example.com")
        .await
        .unwrap_err();
    assert!(err.is_before_request(), "{err:?}");
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_the_key_stays() {
    let elsewhere = FakeApi::start(|_| ok_message("stolen")).await;
    let location = format!(
        "http://localhost:{}/v2/bots/{BOT}/resend-webhook",
        elsewhere.addr.port()
    );
    let api = FakeApi::start(move |_| Reply::bytes(307, "").header("location", &location)).await;
    let err = client(&api).resend_webhook(&bot()).await.unwrap_err();
    let Error::Redirect {
        status,
        location_host,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 307);
    assert_eq!(location_host.as_deref(), Some("localhost"));
    assert!(
        elsewhere.requests().is_empty(),
        "the key followed the redirect"
    );
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn a_hanging_server_times_out_without_retrying() {
    let api = FakeApi::start(|_| Reply::Hang).await;
    let client = builder(&api.url())
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.resend_webhook(&bot()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(api.requests().len(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_body_that_drips_past_the_timeout_times_out() {
    let api = FakeApi::start(|_| Reply::Drip {
        status: 200,
        chunk: bytes::Bytes::from_static(b" "),
        chunks: 100,
        delay: Duration::from_millis(100),
        declare_length: false,
    })
    .await;
    let client = builder(&api.url())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.webhook_url().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let (addr, _, _task) = raw_fault_server(RawFault::Silence).await;
    let client = builder(&format!("http://{addr}"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client.webhook_url().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn a_reset_connection_is_a_transport_error() {
    let (addr, accepted, _task) = raw_fault_server(RawFault::Reset).await;
    let err = builder(&format!("http://{addr}"))
        .build()
        .unwrap()
        .resend_webhook(&bot())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(_) | Error::Connect(_)),
        "{err:?}"
    );
    assert_eq!(*accepted.lock().unwrap(), 1, "not retried");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn a_garbage_answer_is_a_transport_error() {
    let (addr, _, _task) = raw_fault_server(RawFault::Garbage).await;
    let err = builder(&format!("http://{addr}"))
        .build()
        .unwrap()
        .webhook_endpoints()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(!err.to_string().chars().any(char::is_control), "{err}");
}

#[tokio::test]
async fn a_2xx_that_is_not_the_documented_json_is_an_invalid_response() {
    let api = FakeApi::start(|_| Reply::bytes(200, "<html>\u{1b}[2J</html>")).await;
    let err = client(&api).webhook_url().await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidResponse { status: 200, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = builder(&format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap()
        .webhook_url()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_declared_or_streamed() {
    for declare_length in [true, false] {
        let api = FakeApi::start(move |_| Reply::Drip {
            status: 200,
            chunk: bytes::Bytes::from(vec![b'a'; 64 * 1024]),
            chunks: 64,
            delay: Duration::ZERO,
            declare_length,
        })
        .await;
        let client = builder(&api.url())
            .max_response_bytes(256 * 1024)
            .build()
            .unwrap();
        let err = client.webhook_endpoints().await.unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 262_144 }),
            "declared {declare_length}: {err:?}"
        );
    }
}

#[tokio::test]
async fn https_works_with_an_extra_root_and_fails_without_it() {
    let certificates = TestCertificates::generate();
    let api = FakeApi::start_tls(|_| ok_message("over TLS"), certificates.acceptor.clone()).await;
    let base = format!("https://localhost:{}", api.addr.port());

    let trusting = builder(&base)
        .add_root_certificate_pem(certificates.ca_pem.clone())
        .build()
        .unwrap();
    let accepted = trusting.resend_webhook(&bot()).await.unwrap();
    assert_eq!(accepted.message(), Some("over TLS"));
    let request = api.only_request();
    assert_eq!(request.path, format!("/v2/bots/{BOT}/resend-webhook"));
    assert_common_headers(&request, false);

    let untrusting = builder(&base).build().unwrap();
    let err = untrusting.resend_webhook(&bot()).await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert_eq!(
        api.requests().len(),
        1,
        "no request without a trusted certificate"
    );
}

#[tokio::test]
async fn the_key_is_not_in_debug_output() {
    let client = Client::builder()
        .api_key(KEY)
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains(KEY));
    assert!(!format!("{:?}", Client::builder().api_key(KEY)).contains(KEY));
}

//! The admin over real TCP, mounted in an axum app at `/admin`, on a SQLite inbox file: the
//! guard, escaping, the large body, the actions and the cross-site check.

use std::time::Duration;

use meetingbaas_webhooks_admin::{Admin, Guard};
use meetingbaas_webhooks_inbox::testing::stored;
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, RetryPolicy, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "a-long-random-admin-token";

/// An answer: status, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// One HTTP/1.1 request over a new connection (`Connection: close`).
async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap_or("0").trim(), 16)
                .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// Serves `admin` under `/admin` on a free loopback port; its address.
async fn serve(admin: Admin) -> String {
    let app = axum::Router::new().nest_service("/admin", admin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn bearer() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_shows_and_acts_behind_its_guard_and_escapes_what_senders_sent() {
    let dir = tempfile::tempdir().expect("a directory");
    let inbox = Inbox::sqlite(dir.path().join("inbox.db")).expect("an inbox");
    let hostile = stored(
        &inbox,
        r#"{"event":"bot.failed","data":{"bot_id":"<script>alert(1)</script></textarea>\u001b[31m","error":"<b>x</b>"}}"#,
    )
    .await;
    let big = stored(
        &inbox,
        format!(
            r#"{{"event":"bot.completed","data":{{"bot_id":"bot-big","transcript":"{}"}}}}"#,
            "x".repeat(2 * 1024 * 1024)
        ),
    )
    .await;
    // The failed one becomes a dead letter, the big one completes.
    inbox
        .worker()
        .retry(
            RetryPolicy::new()
                .max_attempts(1)
                .initial_delay(Duration::ZERO),
        )
        .on(
            meetingbaas_webhooks_inbox::EventKind::BotFailed,
            |_job: Job| async { Err(HandlerError::permanent("<img src=x onerror=alert(1)>")) },
        )
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .run_until_idle()
        .await;
    assert_eq!(
        inbox.show(&hostile).await.unwrap().summary.state,
        State::Dead
    );

    let addr = serve(Admin::new(inbox.clone(), Guard::token(TOKEN)).mounted_at("/admin")).await;
    let auth = bearer();
    let with_token = [(auth.0, auth.1.as_str())];

    // Without the token, or with a wrong one: 401 and nothing of the inbox.
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Cookie", "mb_admin=a-long-random-admin-token")],
    ] {
        for path in [
            "/admin/",
            "/admin/deliveries/1",
            "/admin/api/stats",
            "/admin/deliveries/1/body",
        ] {
            let answer = request(&addr, "GET", path, &headers, "").await;
            assert_eq!(answer.status, 401, "{path} {headers:?}");
            let text = answer.text();
            assert!(
                !text.contains("bot-big") && !text.contains("script"),
                "{text}"
            );
        }
    }

    // With it: the list names the deliveries, escaped.
    let list = request(&addr, "GET", "/admin/", &with_token, "").await;
    assert_eq!(list.status, 200);
    let html = list.text();
    assert!(html.contains("bot-big") && html.contains(&format!("/admin/deliveries/{hostile}")));
    assert!(
        !html.contains("<script>") && !html.contains("</textarea>"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/textarea&gt;"));
    assert!(!html.contains('\u{1b}'));
    assert!(
        list.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(list.header("cache-control"), Some("no-store"));
    // Filtered by state.
    let dead = request(&addr, "GET", "/admin/?state=dead", &with_token, "")
        .await
        .text();
    assert!(dead.contains(&format!("/admin/deliveries/{hostile}")) && !dead.contains("bot-big"));

    // The dead letter's page: body, error and bot escaped.
    let page = request(
        &addr,
        "GET",
        &format!("/admin/deliveries/{hostile}"),
        &with_token,
        "",
    )
    .await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        !html.contains("<script>") && !html.contains("<img") && !html.contains("<b>x"),
        "{html}"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains('\u{1b}'));

    // The 2 MiB body: cut on the page, whole as a download.
    let page = request(
        &addr,
        "GET",
        &format!("/admin/deliveries/{big}"),
        &with_token,
        "",
    )
    .await;
    assert!(page.body.len() < 200 * 1024, "{} bytes", page.body.len());
    assert!(page.text().contains("download it whole"));
    let whole = request(
        &addr,
        "GET",
        &format!("/admin/deliveries/{big}/body"),
        &with_token,
        "",
    )
    .await;
    assert_eq!(whole.status, 200);
    assert!(whole.body.len() > 2 * 1024 * 1024);
    assert!(
        whole
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );

    // A cross-site POST is refused, whatever its credentials; the dead letter stays dead.
    let redrive = format!("/admin/deliveries/{hostile}/redrive");
    for origin in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let answer = request(&addr, "POST", &redrive, &[with_token[0], origin], "").await;
        assert_eq!(answer.status, 403);
    }
    assert_eq!(
        inbox.show(&hostile).await.unwrap().summary.state,
        State::Dead
    );
    // Same origin: redriven, and back to its page.
    let origin = format!("http://{addr}");
    let answer = request(
        &addr,
        "POST",
        &redrive,
        &[with_token[0], ("Origin", &origin)],
        "",
    )
    .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert!(
        answer
            .header("location")
            .unwrap()
            .starts_with(&format!("/admin/deliveries/{hostile}"))
    );
    assert_eq!(
        inbox.show(&hostile).await.unwrap().summary.state,
        State::Queued
    );

    // The JSON API.
    let stats = request(&addr, "GET", "/admin/api/stats", &with_token, "").await;
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).expect("JSON");
    assert_eq!(
        (stats["queued"].as_u64(), stats["completed"].as_u64()),
        (Some(1), Some(1))
    );
    let shown = request(
        &addr,
        "GET",
        &format!("/admin/api/deliveries/{hostile}"),
        &with_token,
        "",
    )
    .await;
    let shown: serde_json::Value = serde_json::from_slice(&shown.body).expect("JSON");
    assert_eq!(shown["state"], "queued");
    let forgotten = request(&addr, "POST", "/admin/api/forget", &with_token, "key=nope").await;
    assert_eq!(forgotten.status, 200);
    assert!(
        forgotten.text().contains(r#""done":"unknown-key""#),
        "{}",
        forgotten.text()
    );

    // The login form: a wrong token is 401; the right one sets a cookie that lets the browser in.
    let wrong = request(
        &addr,
        "POST",
        "/admin/login",
        &[("Origin", &origin)],
        "token=nope",
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let login = request(
        &addr,
        "POST",
        "/admin/login",
        &[("Origin", &origin)],
        &format!("token={TOKEN}"),
    )
    .await;
    assert_eq!(login.status, 303);
    let cookie = login.header("set-cookie").expect("a cookie").to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/admin")
    );
    assert!(
        !cookie.contains(TOKEN),
        "the cookie holds a digest, not the token"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let list = request(&addr, "GET", "/admin/", &[("Cookie", &pair)], "").await;
    assert_eq!(list.status, 200);
    // A cross-site login attempt is refused too.
    let foreign = request(
        &addr,
        "POST",
        "/admin/login",
        &[("Origin", "https://evil.example")],
        &format!("token={TOKEN}"),
    )
    .await;
    assert_eq!(foreign.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_admin_refuses_every_action_and_basic_auth_asks_for_credentials() {
    let inbox = Inbox::memory();
    let id = stored(
        &inbox,
        r#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#,
    )
    .await;
    let addr = serve(
        Admin::new(inbox.clone(), Guard::basic("ops", "s3cret"))
            .mounted_at("/admin")
            .read_only(true),
    )
    .await;
    let challenge = request(&addr, "GET", "/admin/", &[], "").await;
    assert_eq!(challenge.status, 401);
    assert!(
        challenge
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    // ops:s3cret
    let basic = [("Authorization", "Basic b3BzOnMzY3JldA==")];
    let page = request(&addr, "GET", &format!("/admin/deliveries/{id}"), &basic, "").await;
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("Redrive"), "no action offered");
    let refused = request(
        &addr,
        "POST",
        &format!("/admin/deliveries/{id}/redrive"),
        &basic,
        "",
    )
    .await;
    assert_eq!(refused.status, 403);
    let missing = request(&addr, "GET", "/admin/deliveries/999", &basic, "").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_searched_by_bot_and_key_and_paged() {
    let inbox = Inbox::memory();
    let mut ids = Vec::new();
    for n in 0..5 {
        let bot = if n % 2 == 0 { "even-bot" } else { "odd-bot" };
        ids.push(
            stored(
                &inbox,
                format!(r#"{{"event":"bot.completed","data":{{"bot_id":"{bot}","n":{n}}}}}"#),
            )
            .await,
        );
    }
    let addr = serve(Admin::new(inbox.clone(), Guard::token(TOKEN)).mounted_at("/admin")).await;
    let auth = bearer();
    let with_token = [(auth.0, auth.1.as_str())];
    let listed = |html: &str| -> Vec<String> {
        ids.iter()
            .filter(|id| html.contains(&format!("/admin/deliveries/{id}\"")))
            .cloned()
            .collect()
    };
    let page = request(&addr, "GET", "/admin/?bot=odd-bot", &with_token, "")
        .await
        .text();
    assert_eq!(listed(&page), vec![ids[1].clone(), ids[3].clone()]);
    let key = inbox.show(&ids[2]).await.unwrap().summary.key;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("key", &key)
        .finish();
    let page = request(&addr, "GET", &format!("/admin/?{query}"), &with_token, "")
        .await
        .text();
    assert_eq!(listed(&page), vec![ids[2].clone()]);
    // Two per page: the link to the older ones carries the filters and the last id.
    let page = request(&addr, "GET", "/admin/?limit=2", &with_token, "")
        .await
        .text();
    assert_eq!(listed(&page), vec![ids[3].clone(), ids[4].clone()]);
    let older = page
        .split("class=\"older\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the older deliveries")
        .replace("&amp;", "&");
    assert!(older.contains(&format!("before={}", ids[3])), "{older}");
    let page = request(&addr, "GET", &older, &with_token, "").await.text();
    assert_eq!(listed(&page), vec![ids[1].clone(), ids[2].clone()]);
    let api = request(
        &addr,
        "GET",
        "/admin/api/deliveries?bot=even-bot&limit=1",
        &with_token,
        "",
    )
    .await;
    let api: serde_json::Value = serde_json::from_slice(&api.body).unwrap();
    assert_eq!(api.as_array().map(Vec::len), Some(1));
    assert_eq!(api[0]["id"], ids[4].as_str());
}

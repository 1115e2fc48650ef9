//! The admin page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `scripts/test` installs) driven over WebDriver with `fantoccini`.
//! It signs in, filters the list by kind, opens a dead letter, presses redrive, and sees the
//! delivery complete; nothing a sender wrote becomes markup on the way.
//!
//! `ADMIN_SCREENSHOTS=DIR` also saves the list and the delivery page as PNG files in `DIR` (the
//! ones under `docs/` were made so).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use meetingbaas_webhooks_admin::{Admin, Guard};
use meetingbaas_webhooks_inbox::testing::stored;
use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, RetryPolicy, State};

const TOKEN: &str = "browser-test-admin-token";

/// `chromedriver` on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free port");
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver (Debian: apt-get install chromium chromium-driver; scripts/test \
                 installs them)",
            );
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,800", "--lang=en-US"],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not take a session on {url}");
}

async fn screenshot(client: &Client, name: &str) {
    if let Ok(dir) = std::env::var("ADMIN_SCREENSHOTS") {
        let png = client.screenshot().await.expect("a screenshot");
        std::fs::write(std::path::Path::new(&dir).join(name), png).expect("writing it");
    }
}

/// Waits (up to 20 s) until the browser has moved to a page whose URL `matches`, and returns
/// that page's source: a form's submit or a click returns before the next page has loaded.
async fn page_at(client: &Client, matches: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await.expect("the URL");
        if matches(url.as_str()) {
            let source = client.source().await.expect("the page");
            // The new page's document, complete (not the old one, still shown).
            if source.contains("</html>") || source.contains("</body>") {
                return source;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached: now at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// No `<script>` element on the page: whatever a sender wrote stayed text.
async fn no_script(client: &Client) {
    let scripts = client
        .find_all(Locator::Css("script"))
        .await
        .expect("a query");
    assert!(
        scripts.is_empty(),
        "a script element on {:?}",
        client.current_url().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_dead_letter_is_found_redriven_and_completes() {
    let dir = tempfile::tempdir().expect("a directory");
    let inbox = Inbox::sqlite(dir.path().join("inbox.db")).expect("an inbox");
    for body in [
        r#"{"event":"bot.status_change","data":{"bot_id":"bot-7f3a","status":{"code":"joining_call","created_at":"2026-12-07T10:00:00Z"}}}"#,
        r#"{"event":"bot.status_change","data":{"bot_id":"bot-7f3a","status":{"code":"in_call_recording","created_at":"2026-12-07T10:01:00Z"}}}"#,
        r#"{"event":"bot.completed","data":{"bot_id":"bot-7f3a","sent_at":"2026-12-07T10:40:00Z","transcript":[{"speaker":"Ada","words":[{"start":0.0,"end":0.4,"word":"Hello"}]}]}}"#,
        r#"{"event":"bot.status_change","data":{"bot_id":"<script>alert(1)</script>","status":{"code":"in_waiting_room","created_at":"2026-12-07T10:02:00Z"}}}"#,
    ] {
        stored(&inbox, body).await;
    }
    let dead = stored(
        &inbox,
        r#"{"event":"bot.failed","data":{"bot_id":"bot-91c2","error":"BOT_NOT_ACCEPTED","message":"the host did not let the bot in"}}"#,
    )
    .await;
    // The CRM is down for failed bots until it is "fixed" below.
    let healed = Arc::new(AtomicBool::new(false));
    let fixed = Arc::clone(&healed);
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(20))
        .retry(RetryPolicy::new().max_attempts(1))
        .on(
            meetingbaas_webhooks_inbox::EventKind::BotFailed,
            move |_job: Job| {
                let fixed = fixed.load(Ordering::SeqCst);
                async move {
                    if fixed {
                        Ok(())
                    } else {
                        Err(HandlerError::permanent(
                            "CRM answered 503: Service Unavailable",
                        ))
                    }
                }
            },
        )
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while inbox.show(&dead).await.expect("stored").summary.state != State::Dead {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let app = axum::Router::new().nest_service(
        "/admin",
        Admin::new(inbox.clone(), Guard::token(TOKEN)).mounted_at("/admin"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://{}/admin",
        listener.local_addr().expect("an address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let driver = Driver::start();
    let client = browser(&driver).await;
    let run = async {
        // Signed out: nothing of the inbox, a way to sign in.
        client.goto(&format!("{base}/")).await.expect("the list");
        let signed_out = client.source().await.expect("the page");
        assert!(!signed_out.contains("bot-91c2"), "{signed_out}");
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::LinkText("sign in"))
            .await
            .expect("a sign-in link")
            .click()
            .await
            .expect("clicked");
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("form[action$='/login']"))
            .await
            .expect("the sign-in page");
        let form = client
            .form(Locator::Css("form[action$='/login']"))
            .await
            .expect("the sign-in form");
        form.set_by_name("token", TOKEN).await.expect("typed");
        form.submit().await.expect("signed in");

        // The list, then filtered by kind.
        let list = page_at(&client, |url| url.ends_with("/admin/")).await;
        assert!(
            list.contains("bot-7f3a") && list.contains("bot-91c2"),
            "{list}"
        );
        assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        no_script(&client).await;
        screenshot(&client, "admin-list.png").await;
        let filters = client
            .form(Locator::Css("form.filters"))
            .await
            .expect("the filters (the list is loaded)");
        filters
            .set_by_name("kind", "bot_failed")
            .await
            .expect("a kind");
        filters.submit().await.expect("filtered");
        let filtered = page_at(&client, |url| url.contains("kind=bot_failed")).await;
        assert!(
            filtered.contains("bot-91c2") && !filtered.contains("bot-7f3a"),
            "{filtered}"
        );

        // The dead letter: its error, then redrive once the CRM is back.
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::LinkText(&dead))
            .await
            .expect("the dead letter's link")
            .click()
            .await
            .expect("opened");
        let delivery_url = format!("/admin/deliveries/{dead}");
        let page = page_at(&client, |url| url.ends_with(&delivery_url)).await;
        assert!(
            page.contains("state-dead") && page.contains("CRM answered 503"),
            "{page}"
        );
        no_script(&client).await;
        screenshot(&client, "admin-delivery.png").await;
        healed.store(true, Ordering::SeqCst);
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("form[action$='/redrive'] button"))
            .await
            .expect("the redrive button")
            .click()
            .await
            .expect("pressed");
        // Redirected back to the delivery, with what was done.
        page_at(&client, |url| url.contains("done=redriven")).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            client.refresh().await.expect("reloaded");
            let page = client.source().await.expect("the delivery");
            if page.contains("state-completed") {
                assert!(page.contains("2 in 2 run(s)"), "{page}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never completed: {page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser case in time");
    client.close().await.expect("closed");
    worker.shutdown().await;
    assert_eq!(
        inbox.show(&dead).await.expect("stored").summary.state,
        State::Completed
    );
}

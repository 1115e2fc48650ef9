//! The inbox's admin page through an example (issue 34's "Show"): the SQLite inbox and
//! `MEETINGBAAS_ADMIN_TOKEN`; `/admin` is 401 without the token or with a wrong one and shows
//! nothing of the inbox; with it the list names a stored delivery; a body holding `<script>`,
//! `</textarea>` and a terminal escape appears escaped on every page; a POST with a foreign
//! `Origin` is refused.

use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks_inbox::{Inbox, State};

use crate::cases::run;
use crate::client::{self, Body, Target};
use crate::deliveries::signed;
use crate::inbox_cases::{env_with_inbox, queued_id, sqlite_url, wait_for};
use crate::server::Server;

const TOKEN: &str = "example-admin-token-0123456789";

/// A GET as a browser sends it: no body, no `Content-Length`.
async fn get(target: &Target, path: &str, headers: &[(String, String)]) -> client::Response {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(&target.addr)
        .await
        .expect("a connection");
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        target.addr
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("sent");
    client::read_response(&mut stream).await.expect("an answer")
}

/// The admin page of an example, behind `MEETINGBAAS_ADMIN_TOKEN`.
pub fn the_admin_page_is_guarded_escaped_and_refuses_cross_site_posts(binary: &str) {
    run(async {
        let dir = tempfile::tempdir().expect("a directory");
        let url = sqlite_url(&dir);
        let mut env = env_with_inbox(&url);
        env.push(("MEETINGBAAS_ADMIN_TOKEN", TOKEN.to_string()));
        // The handlers fail for this bot: its delivery becomes a dead letter to redrive.
        let bot = "<script>alert(1)</script></textarea>\u{1b}[31m";
        env.push(("MEETINGBAAS_EXAMPLE_FAULTS", format!("permanent:{bot}")));
        let server = Server::start(binary, &env).await;
        let body = serde_json::json!({"event": "bot.failed", "data": {"bot_id": bot}})
            .to_string()
            .into_bytes();
        let answer = client::post(
            &server.addr,
            &signed(Scheme::Callback, &body),
            Body::Length(body),
        )
        .await
        .expect("an answer");
        let id = queued_id(&answer);
        let inbox = Inbox::open(&url).await.expect("the inbox");
        wait_for(&inbox, "the dead letter", |s| s.dead == 1).await;

        let target = Target::plain(&server.addr);
        let token = vec![("Authorization".to_string(), format!("Bearer {TOKEN}"))];
        for headers in [
            vec![],
            vec![(
                "Authorization".to_string(),
                "Bearer not-the-token".to_string(),
            )],
        ] {
            for path in [
                "/admin/",
                &format!("/admin/deliveries/{id}"),
                "/admin/api/stats",
            ] {
                let answer = get(&target, path, &headers).await;
                assert_eq!(answer.status, 401, "{path}");
                let text = answer.text();
                for leak in ["deliveries/", "alert", "bot.failed", "dead"] {
                    assert!(!text.contains(leak), "{path}: {leak} in {text}");
                }
            }
        }
        for path in [
            "/admin/",
            "/admin/?state=dead",
            &format!("/admin/deliveries/{id}"),
        ] {
            let answer = get(&target, path, &token).await;
            assert_eq!(answer.status, 200, "{path}");
            let html = answer.text();
            assert!(
                html.contains(&format!("/admin/deliveries/{id}")),
                "{path}: {html}"
            );
            assert!(
                !html.contains("<script>")
                    && !html.contains("</textarea>")
                    && !html.contains('\u{1b}'),
                "{path}: {html}"
            );
            assert!(html.contains("&lt;script&gt;"), "{path}");
        }
        let redrive = target
            .clone()
            .with_route(&format!("/admin/deliveries/{id}/redrive"));
        let mut foreign = token.clone();
        foreign.push(("Origin".to_string(), "https://evil.example".to_string()));
        let refused = client::post_to(&redrive, &foreign, Body::Length(Vec::new()))
            .await
            .expect("an answer");
        assert_eq!(refused.status, 403);
        assert_eq!(
            inbox.show(&id).await.expect("stored").summary.state,
            State::Dead
        );
        let mut same = token.clone();
        same.push(("Origin".to_string(), format!("http://{}", server.addr)));
        let redriven = client::post_to(&redrive, &same, Body::Length(Vec::new()))
            .await
            .expect("an answer");
        assert_eq!(redriven.status, 303, "{}", redriven.text());
        // Run again, it fails again (the fault is still on): a dead letter with two runs.
        wait_for(&inbox, "the second dead letter", |s| {
            s.dead == 1 && s.queued == 0 && s.running == 0
        })
        .await;
        assert_eq!(inbox.show(&id).await.expect("stored").summary.runs, 2);
    });
}

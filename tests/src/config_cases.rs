//! The endpoint configuration cases: `MEETINGBAAS_CONFIG` naming the product description's
//! endpoint JSON drives the example; bad files stop it with one line.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use meetingbaas_webhooks::Scheme;
use serde_json::json;

use crate::cases::{assert_accepted, assert_rejected, run};
use crate::client::{self, Body};
use crate::deliveries::{minimal, now, sign_with};
use crate::server::{Server, run_to_exit};

/// The product description's endpoint JSON, exactly as it is written there.
pub const PRODUCT_DESCRIPTION_JSON: &str = r#"{
  "webhook_url": "https://your-app.com/webhooks/meetingbaas",
  "events": ["meeting.started", "meeting.completed", "meeting.failed", "transcription.available"],
  "secret": "your-webhook-secret-key",
  "enabled": true
}"#;

/// The secret in [`PRODUCT_DESCRIPTION_JSON`].
const PRODUCT_SECRET: &str = "your-webhook-secret-key";

/// A file removed when dropped.
#[derive(Debug)]
pub struct ConfigFile {
    /// Where it is.
    pub path: PathBuf,
}

impl ConfigFile {
    /// Writes `contents` to a fresh file in the temporary directory.
    pub fn new(contents: &str) -> ConfigFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "meetingbaas-conformance-endpoint-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).expect("writing the configuration");
        ConfigFile { path }
    }

    /// `MEETINGBAAS_CONFIG` naming this file.
    pub fn env(&self) -> (&'static str, String) {
        ("MEETINGBAAS_CONFIG", self.path.display().to_string())
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn signed_by(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    sign_with(Scheme::Signature, secret, body, now())
}

/// The product description's exact JSON, and nothing else, configures the example:
/// `meeting.failed` is handled, `bot.failed` too (its synonym), `calendar.synced` is answered
/// `ignored`, a wrong signature is 401, and other schemes are not enabled.
pub fn product_description_config_drives_the_server(binary: &str) {
    run(async {
        let file = ConfigFile::new(PRODUCT_DESCRIPTION_JSON);
        let server = Server::start(binary, &[file.env()]).await;
        let post = |headers: Vec<(String, String)>, body: Vec<u8>| {
            let target = server.target();
            async move {
                client::post_to(&target, &headers, Body::Length(body))
                    .await
                    .expect("an answer")
            }
        };

        for (event, bot_id) in [
            ("meeting.failed", "b-mf"),
            ("bot.failed", "b-bf"),
            ("failed", "b-f"),
            ("meeting.completed", "b-mc"),
            ("complete", "b-c"),
        ] {
            let body = minimal(event, bot_id);
            let response = post(signed_by(PRODUCT_SECRET, &body), body).await;
            assert_accepted(&response, event, Some(bot_id));
        }

        for event in ["calendar.synced", "bot.chat_message", "bot.teleported"] {
            let body = minimal(event, "b-ignored");
            let response = post(signed_by(PRODUCT_SECRET, &body), body).await;
            assert_eq!(response.status, 200, "{event}: {}", response.text());
            assert_eq!(response.json(), json!({"status": "ignored"}), "{event}");
        }

        let body = minimal("meeting.failed", "b-forged");
        let response = post(signed_by("not-the-secret", &body), body.clone()).await;
        assert_rejected(&response, 401, &["invalid_signature"]);
        let response = post(
            sign_with(
                Scheme::Callback,
                crate::deliveries::secret_of(Scheme::Callback),
                &body,
                now(),
            ),
            body,
        )
        .await;
        assert_rejected(&response, 401, &["missing_credentials"]);
    });
}

/// `enabled: false`: every delivery, even a correctly signed one, is answered 503 with
/// `Retry-After` (the sender keeps it and retries later).
pub fn disabled_endpoint_is_503_with_retry_after(binary: &str) {
    run(async {
        let file = ConfigFile::new(
            &PRODUCT_DESCRIPTION_JSON.replace(r#""enabled": true"#, r#""enabled": false"#),
        );
        let server = Server::start(binary, &[file.env()]).await;
        let body = minimal("meeting.failed", "b-off");
        for headers in [signed_by(PRODUCT_SECRET, &body), Vec::new()] {
            let response = client::post_to(&server.target(), &headers, Body::Length(body.clone()))
                .await
                .expect("an answer");
            assert_rejected(&response, 503, &["endpoint_disabled"]);
            assert!(
                response.header("retry-after").is_some(),
                "no Retry-After: {:?}",
                response.headers
            );
        }
    });
}

/// The route is `webhook_url`'s path; the default route is then not served.
pub fn the_route_is_the_webhook_url_path(binary: &str) {
    run(async {
        let file = ConfigFile::new(&PRODUCT_DESCRIPTION_JSON.replace(
            "https://your-app.com/webhooks/meetingbaas",
            "https://your-app.com/hooks/mb-endpoint?source=meetingbaas",
        ));
        let server = Server::start(binary, &[file.env()]).await;
        let body = minimal("meeting.completed", "b-route");
        let target = server.target().with_route("/hooks/mb-endpoint");
        let response = client::post_to(
            &target,
            &signed_by(PRODUCT_SECRET, &body),
            Body::Length(body.clone()),
        )
        .await
        .expect("an answer");
        assert_accepted(&response, "meeting.completed", Some("b-route"));
        let response = client::post_to(
            &server.target(),
            &signed_by(PRODUCT_SECRET, &body),
            Body::Length(body),
        )
        .await
        .expect("an answer");
        assert_eq!(response.status, 404, "{}", response.text());
    });
}

/// An environment variable overrides the file's value.
pub fn the_environment_overrides_the_config_file(binary: &str) {
    run(async {
        let file = ConfigFile::new(PRODUCT_DESCRIPTION_JSON);
        let env = [
            file.env(),
            (
                "MEETINGBAAS_WEBHOOK_SECRET",
                "from-the-environment".to_string(),
            ),
        ];
        let server = Server::start(binary, &env).await;
        let body = minimal("meeting.failed", "b-env");
        let response = client::post_to(
            &server.target(),
            &signed_by("from-the-environment", &body),
            Body::Length(body.clone()),
        )
        .await
        .expect("an answer");
        assert_accepted(&response, "meeting.failed", Some("b-env"));
        let response = client::post_to(
            &server.target(),
            &signed_by(PRODUCT_SECRET, &body),
            Body::Length(body),
        )
        .await
        .expect("an answer");
        assert_rejected(&response, 401, &["invalid_signature"]);
    });
}

/// Every bad configuration stops the example at start: non-zero, one line, naming the file.
pub fn bad_config_files_exit_non_zero_with_one_line(binary: &str) {
    run(async {
        let product = PRODUCT_DESCRIPTION_JSON;
        let bad: [(&str, String); 11] = [
            ("malformed", "{ webhook_url: nope }".to_string()),
            ("truncated", product[..product.len() / 2].to_string()),
            ("empty", String::new()),
            (
                "wrong type",
                product.replace(r#""enabled": true"#, r#""enabled": "yes""#),
            ),
            (
                "events not a list",
                product.replace(
                    r#"["meeting.started", "meeting.completed", "meeting.failed", "transcription.available"]"#,
                    r#""meeting.failed""#,
                ),
            ),
            (
                "unknown field",
                product.replace(r#""enabled": true"#, r#""enabled": true, "retries": 3"#),
            ),
            (
                "unknown event",
                product.replace("meeting.started", "meeting.exploded"),
            ),
            (
                "empty secret",
                product.replace(PRODUCT_SECRET, ""),
            ),
            (
                "relative path",
                product.replace(
                    "https://your-app.com/webhooks/meetingbaas",
                    "webhooks/meetingbaas",
                ),
            ),
            (
                "negative limit",
                product.replace(r#""enabled": true"#, r#""enabled": true, "max_body_bytes": -1"#),
            ),
            ("not an object", "[1, 2, 3]".to_string()),
        ];
        for (what, contents) in bad {
            let file = ConfigFile::new(&contents);
            assert_one_line_failure(
                binary,
                &[file.env()],
                what,
                &file.path.display().to_string(),
            )
            .await;
        }
        let missing = "/nonexistent/meetingbaas/endpoint.json";
        assert_one_line_failure(
            binary,
            &[("MEETINGBAAS_CONFIG", missing.to_string())],
            "missing file",
            missing,
        )
        .await;
        // A bad value of another variable: one line naming the variable.
        let mut env = crate::server::default_env();
        env.push((
            "MEETINGBAAS_TRUSTED_PROXIES",
            "10.0.0.1, a-load-balancer".into(),
        ));
        assert_one_line_failure(
            binary,
            &env,
            "trusted proxies",
            "MEETINGBAAS_TRUSTED_PROXIES",
        )
        .await;
    });
}

/// Runs `binary` with `env` and checks it exits non-zero with one line containing `needle`,
/// and no panic.
pub(crate) async fn assert_one_line_failure(
    binary: &str,
    env: &[(&str, String)],
    what: &str,
    needle: &str,
) {
    let (code, stderr) = run_to_exit(binary, env).await;
    assert!(
        code.is_some_and(|c| c != 0),
        "{what}: exit code {code:?}, stderr {stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: expected one line, got {stderr:?}");
    assert!(
        lines[0].contains(needle),
        "{what}: the line does not name {needle:?}: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr:?}");
}

/// A secret rotated while the server runs: the endpoint JSON is rewritten and the process gets
/// SIGHUP. During the overlap the old and the new secret are both accepted; once the old one
/// is removed it is refused; the process never restarts.
pub fn a_secret_rotated_with_sighup_takes_effect_without_a_restart(binary: &str) {
    run(async {
        let file = ConfigFile::new(r#"{"secret": "old-secret"}"#);
        let mut server = Server::start(binary, &[file.env()]).await;
        let pid = server.pid();
        let status = |secret: &'static str, bot: &'static str| {
            let target = server.target();
            async move {
                let body = minimal("bot.completed", bot);
                client::post_to(&target, &signed_by(secret, &body), Body::Length(body))
                    .await
                    .expect("an answer")
                    .status
            }
        };
        assert_eq!(status("old-secret", "b-1").await, 200);
        assert_eq!(status("new-secret", "b-2").await, 401);

        // The overlap: both.
        std::fs::write(&file.path, r#"{"secret": ["new-secret", "old-secret"]}"#).unwrap();
        server.hang_up();
        let mut accepted = false;
        for attempt in 0..100 {
            if status("new-secret", if attempt % 2 == 0 { "b-3" } else { "b-4" }).await == 200 {
                accepted = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(accepted, "the new secret was never accepted after SIGHUP");
        assert_eq!(
            status("old-secret", "b-5").await,
            200,
            "old, during the overlap"
        );

        // The old one removed.
        std::fs::write(&file.path, r#"{"secret": "new-secret"}"#).unwrap();
        server.hang_up();
        let mut refused = false;
        for attempt in 0..100 {
            if status("old-secret", if attempt % 2 == 0 { "b-6" } else { "b-7" }).await == 401 {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            refused,
            "the removed secret was still accepted after SIGHUP"
        );
        assert_eq!(status("new-secret", "b-8").await, 200);

        // A file broken meanwhile: the ring in force stays.
        std::fs::write(&file.path, "{not json").unwrap();
        server.hang_up();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(status("new-secret", "b-9").await, 200);
        assert!(server.is_running());
        assert_eq!(server.pid(), pid, "the same process throughout");
    });
}

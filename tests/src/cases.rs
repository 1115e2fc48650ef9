//! The contract cases, each a function of the example binary under test.
//!
//! The contract (docs/receiving.md): 401 for missing or wrong credentials, 413 for a body over the
//! limit (declared or found while streaming), 400 for a verified body that is not an envelope,
//! 200 for every verified envelope whatever its data (parsing `Event` is total), 200 with
//! `{"status":"success","event":<wire name>,"kind":<kind>,"bot_id":<string or null>}` otherwise
//! (an alert: `"event":"alert","kind":"alert","bot_id":null`), and JSON error bodies
//! `{"error": <code>, "message": <sentence>}` without any secret.

use std::future::Future;
use std::time::Duration;

use meetingbaas_webhooks::{EventKind, EventName, Scheme};
use serde_json::{Value, json};

use crate::client::{self, Body, Response};
use crate::deliveries::{
    ALL_SECRETS, MAX_BODY_BYTES, fixtures, minimal, now, other_secret_of, secret_of, sign_with,
    signed,
};
use crate::server::{Server, run_to_exit};

pub(crate) fn run(case: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(case);
}

pub(crate) async fn post(server: &Server, headers: &[(String, String)], body: Body) -> Response {
    client::post_to(&server.target(), headers, body)
        .await
        .unwrap_or_else(|err| panic!("no answer from {}: {err}", server.addr))
}

fn assert_json_content_type(response: &Response) {
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}: {}",
        response.text()
    );
}

#[track_caller]
pub(crate) fn assert_accepted(response: &Response, event: &str, bot_id: Option<&str>) {
    assert_eq!(
        response.status,
        200,
        "expected 200 for {event}: {}",
        response.text()
    );
    assert_json_content_type(response);
    let kind = kind_of(event);
    assert_eq!(
        response.json(),
        json!({ "status": "success", "event": event, "kind": kind, "bot_id": bot_id })
    );
}

/// The kind an accepted delivery under `event` reports.
fn kind_of(event: &str) -> &'static str {
    match event {
        "alert" => EventKind::Alert.as_str(),
        name => EventName::from_wire(name).map_or("unknown", |n| n.kind().as_str()),
    }
}

#[track_caller]
pub(crate) fn assert_rejected(response: &Response, status: u16, codes: &[&str]) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_json_content_type(response);
    let body = response.json();
    let code = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"));
    assert!(codes.contains(&code), "code {code:?} not one of {codes:?}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message in {body}"
    );
    let text = response.text();
    for secret in ALL_SECRETS {
        assert!(!text.contains(secret), "answer leaks a secret: {text}");
    }
}

/// A correctly signed delivery still gets its 200: the server survived whatever came before.
async fn assert_still_answers(server: &mut Server) {
    assert!(server.is_running(), "the server exited");
    let body = minimal("bot.completed", "still-alive");
    let response = post(server, &signed(Scheme::Callback, &body), Body::Length(body)).await;
    assert_accepted(&response, "bot.completed", Some("still-alive"));
}

fn expected_of(body: &[u8]) -> (String, Option<String>) {
    let value: Value = serde_json::from_slice(body).expect("fixture is JSON");
    if value.get("event").is_none() && value.get("alert_rule_id").is_some() {
        return ("alert".to_string(), None);
    }
    let event = value["event"]
        .as_str()
        .expect("fixture has an event")
        .to_string();
    let bot_id = value["data"]["bot_id"].as_str().map(str::to_string);
    (event, bot_id)
}

/// Every sample payload, under every scheme, is verified and answered with its name and bot id.
pub fn every_fixture_is_accepted_under_every_scheme(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        for (name, body) in fixtures() {
            let (event, bot_id) = expected_of(&body);
            for scheme in Scheme::ALL {
                let response =
                    post(&server, &signed(scheme, &body), Body::Length(body.clone())).await;
                assert_eq!(
                    response.status,
                    200,
                    "{name} under {scheme}: {}",
                    response.text()
                );
                assert_accepted(&response, &event, bot_id.as_deref());
            }
        }
    });
}

/// Every wire name of docs/protocol.md §3, and a name nobody knows, reach the handler.
pub fn every_wire_name_and_an_unknown_one_reach_the_handler(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let names = EventName::ALL
            .iter()
            .map(|n| n.as_str())
            .chain(["bot.teleported"]);
        for (i, name) in names.enumerate() {
            let bot_id = format!("bot-{i}");
            let body = minimal(name, &bot_id);
            let scheme = Scheme::ALL[i % Scheme::ALL.len()];
            let response = post(&server, &signed(scheme, &body), Body::Length(body)).await;
            assert_accepted(&response, name, Some(&bot_id));
        }
        // A sparse delivery: no data at all.
        let body = br#"{"event":"meeting.started"}"#.to_vec();
        let response = post(&server, &signed(Scheme::Svix, &body), Body::Length(body)).await;
        assert_accepted(&response, "meeting.started", None);
    });
}

/// `webhook-id`, `webhook-timestamp`, `webhook-signature` are as good as the `svix-*` names.
pub fn standard_webhooks_header_names_are_accepted(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let body = minimal("bot.completed", "b-std");
        let headers: Vec<(String, String)> = signed(Scheme::Svix, &body)
            .into_iter()
            .map(|(name, value)| (name.replace("svix-", "webhook-"), value))
            .collect();
        let response = post(&server, &headers, Body::Length(body)).await;
        assert_accepted(&response, "bot.completed", Some("b-std"));
    });
}

/// No credentials for any enabled scheme: 401.
pub fn missing_credentials_is_401(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let body = minimal("bot.completed", "b");
        let response = post(&server, &[], Body::Length(body.clone())).await;
        assert_rejected(&response, 401, &["missing_credentials"]);
        let unrelated = [("x-hub-signature-256".to_string(), "sha256=00".to_string())];
        let response = post(&server, &unrelated, Body::Length(body)).await;
        assert_rejected(&response, 401, &["missing_credentials"]);
    });
}

/// Credentials made with another secret: 401, for every scheme.
pub fn wrong_secret_is_401_for_every_scheme(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let body = minimal("bot.completed", "b");
        for scheme in Scheme::ALL {
            let headers = sign_with(scheme, other_secret_of(scheme), &body, now());
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            assert_rejected(&response, 401, &["invalid_signature", "invalid_token"]);
        }
    });
}

/// A body changed after signing: 401.
pub fn tampered_body_is_401(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let body = minimal("bot.completed", "b-1");
        let tampered = minimal("bot.completed", "b-2");
        for scheme in [Scheme::Svix, Scheme::Signature] {
            let response = post(
                &server,
                &signed(scheme, &body),
                Body::Length(tampered.clone()),
            )
            .await;
            assert_rejected(&response, 401, &["invalid_signature"]);
        }
    });
}

/// Truncated, empty, malformed signatures and duplicated credential headers: 401, never a crash.
pub fn malformed_and_truncated_signatures_are_401(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let body = minimal("bot.completed", "b");
        let codes = [
            "invalid_signature",
            "malformed_header",
            "missing_header",
            "repeated_header",
            "invalid_token",
        ];
        let svix = signed(Scheme::Svix, &body);
        let good = svix[2].1.clone();
        for bad in [
            &good[..good.len() - 2],
            "v1,",
            "",
            "v1,!!!",
            "v2,abc",
            &format!("{good}A"),
        ] {
            let mut headers = svix.clone();
            headers[2].1 = bad.to_string();
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            assert_rejected(&response, 401, &codes);
        }
        let hex = signed(Scheme::Signature, &body);
        for bad in [&hex[0].1[..63], "", "zz", &"f".repeat(65)] {
            let headers = vec![(hex[0].0.clone(), bad.to_string())];
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            assert_rejected(&response, 401, &codes);
        }
        let mut repeated = svix.clone();
        repeated.push(("svix-id".to_string(), "msg_other".to_string()));
        let response = post(&server, &repeated, Body::Length(body.clone())).await;
        assert_rejected(&response, 401, &codes);
        assert_still_answers(&mut server).await;
    });
}

/// Svix timestamps outside the tolerance, or not integers: 401.
pub fn stale_and_future_timestamps_are_401(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let body = minimal("bot.completed", "b");
        for timestamp in [now() - 600, now() + 600, 0] {
            let headers = sign_with(Scheme::Svix, secret_of(Scheme::Svix), &body, timestamp);
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            assert_rejected(&response, 401, &["timestamp_out_of_tolerance"]);
        }
        for timestamp in ["-9223372036854775808", "99999999999999999999", "abc"] {
            let mut headers = signed(Scheme::Svix, &body);
            headers[1].1 = timestamp.to_string();
            let response = post(&server, &headers, Body::Length(body.clone())).await;
            assert_rejected(&response, 401, &["malformed_header"]);
        }
    });
}

/// A server with only Svix enabled refuses a valid `X-MeetingBaas-Signature` (no downgrade).
pub fn disabled_scheme_is_401(binary: &str) {
    run(async {
        let env = [(
            "MEETINGBAAS_SVIX_SECRET",
            secret_of(Scheme::Svix).to_string(),
        )];
        let server = Server::start(binary, &env).await;
        let body = minimal("bot.completed", "b");
        for scheme in [Scheme::Signature, Scheme::Callback, Scheme::ApiKey] {
            let response = post(&server, &signed(scheme, &body), Body::Length(body.clone())).await;
            assert_rejected(&response, 401, &["missing_credentials"]);
        }
        let response = post(&server, &signed(Scheme::Svix, &body), Body::Length(body)).await;
        assert_accepted(&response, "bot.completed", Some("b"));
    });
}

/// A declared length over the limit is refused before any of the body is sent.
pub fn content_length_over_limit_is_413_before_the_body_is_sent(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let headers = signed(Scheme::Callback, b"");
        for declared in [MAX_BODY_BYTES as u64 + 1, 10 * 1024 * 1024 * 1024] {
            // Nothing of the body is written: an answer can only come from the declared length.
            let response = post(
                &server,
                &headers,
                Body::DeclaredLength(declared, Vec::new()),
            )
            .await;
            assert_rejected(&response, 413, &["payload_too_large"]);
        }
        assert_still_answers(&mut server).await;
    });
}

/// A chunked body is refused the moment it passes the limit, without waiting for its end.
pub fn chunked_body_over_limit_is_413(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let headers = signed(Scheme::Callback, b"");
        // Four chunks fill the limit exactly; the fifth passes it. No terminating chunk is sent,
        // so an answer proves the server stopped reading at the limit.
        let chunks = vec![vec![b' '; MAX_BODY_BYTES / 4]; 5];
        let response = post(&server, &headers, Body::ChunkedUnterminated(chunks)).await;
        assert_rejected(&response, 413, &["payload_too_large"]);
        // One single chunk one byte over the limit.
        let response = post(
            &server,
            &headers,
            Body::ChunkedUnterminated(vec![vec![b' '; MAX_BODY_BYTES + 1]]),
        )
        .await;
        assert_rejected(&response, 413, &["payload_too_large"]);
        assert_still_answers(&mut server).await;
    });
}

/// A sender still writing a chunked body after the 413 for passing the limit reads the 413, and
/// what it still sends is read, not reset: the server drains before it closes (hyper-based
/// examples: their side shut, then up to 1 MiB or 2 s discarded; actix reads on). Closed with
/// the body unread, the kernel resets the connection, and a client such as hyper's fails its
/// write without reading the 413.
pub fn a_sender_still_writing_after_a_413_is_not_reset(binary: &str) {
    use tokio::io::AsyncWriteExt;
    run(async {
        let mut server = Server::start_default(binary).await;
        let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        // With the right callback secret: the headers cannot refuse it, only its size can.
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nx-mb-secret: {}\r\n\
             Transfer-Encoding: chunked\r\n\r\n",
            client::ROUTE,
            crate::deliveries::CALLBACK_SECRET
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        client::write_chunk(&mut stream, &vec![b' '; MAX_BODY_BYTES + 1])
            .await
            .unwrap();
        let response =
            tokio::time::timeout(client::EXCHANGE_TIMEOUT, client::read_response(&mut stream))
                .await
                .expect("the answer in time")
                .expect("the answer");
        assert_rejected(&response, 413, &["payload_too_large"]);
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            client::write_chunk(&mut stream, &[b' '; 16 * 1024])
                .await
                .expect("the rest of the body is read, not reset");
        }
        assert_still_answers(&mut server).await;
    });
}

/// A chunked body under the limit is verified like any other.
pub fn chunked_body_under_limit_is_accepted(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        for (name, body) in fixtures() {
            let (event, bot_id) = expected_of(&body);
            let chunks = body.chunks(7).map(<[u8]>::to_vec).collect();
            let response = post(&server, &signed(Scheme::Svix, &body), Body::Chunked(chunks)).await;
            assert_eq!(response.status, 200, "{name}: {}", response.text());
            assert_accepted(&response, &event, bot_id.as_deref());
        }
    });
}

/// Exactly the limit is accepted; one byte more is not (declared or streamed).
pub fn body_of_exactly_the_limit_is_accepted(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let mut body = minimal("bot.completed", "b-limit");
        body.resize(MAX_BODY_BYTES, b' ');
        let response = post(
            &server,
            &signed(Scheme::Signature, &body),
            Body::Length(body.clone()),
        )
        .await;
        assert_accepted(&response, "bot.completed", Some("b-limit"));
        let chunks = body.chunks(10_000).map(<[u8]>::to_vec).collect();
        let response = post(
            &server,
            &signed(Scheme::Signature, &body),
            Body::Chunked(chunks),
        )
        .await;
        assert_accepted(&response, "bot.completed", Some("b-limit"));
        body.push(b' ');
        let headers = signed(Scheme::Signature, &body);
        let response = post(
            &server,
            &headers,
            Body::DeclaredLength(body.len() as u64, Vec::new()),
        )
        .await;
        assert_rejected(&response, 413, &["payload_too_large"]);
    });
}

/// A body that trickles in is still read and verified.
pub fn slow_body_is_accepted(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let body = minimal("bot.failed", "b-slow");
        let pieces = body
            .chunks(body.len() / 4 + 1)
            .map(<[u8]>::to_vec)
            .collect();
        let response = post(
            &server,
            &signed(Scheme::Svix, &body),
            Body::Slow(pieces, Duration::from_millis(150)),
        )
        .await;
        assert_accepted(&response, "bot.failed", Some("b-slow"));
    });
}

/// A verified body that is not an envelope: 400.
pub fn unreadable_json_is_400(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "invalid_json"),
            (b"", "invalid_json"),
            (b"{\"event\":\"bot.completed\"", "invalid_json"),
            (b"[1,2,3]", "invalid_envelope"),
            (br#"{"data":{"bot_id":"b"}}"#, "invalid_envelope"),
            (br#"{"event":42,"data":{}}"#, "invalid_envelope"),
        ];
        for (body, code) in cases {
            let response = post(
                &server,
                &signed(Scheme::Signature, body),
                Body::Length(body.to_vec()),
            )
            .await;
            assert_rejected(&response, 400, &[code]);
        }
    });
}

/// A verified, known event whose data does not fit its type is still accepted (200, with its
/// kind): a 4xx would make the sender retry for hours and then drop it.
pub fn known_event_with_bad_data_is_accepted(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        for (body, event, bot_id) in [
            (br#"{"event":"bot.failed","data":{"bot_id":42}}"#.as_slice(), "bot.failed", None),
            (
                br#"{"event":"complete","data":{"bot_id":"b","transcript":"not a list"}}"#,
                "complete",
                Some("b"),
            ),
            (br#"{"event":"bot.status_change","data":"oops"}"#, "bot.status_change", None),
            (
                br#"{"event":"bot.status_change","data":{"bot_id":"b","status":"in_call_recording"}}"#,
                "bot.status_change",
                Some("b"),
            ),
        ] {
            let response = post(
                &server,
                &signed(Scheme::Svix, body),
                Body::Length(body.to_vec()),
            )
            .await;
            assert_accepted(&response, event, bot_id);
        }
    });
}

/// An alert callback under the alert scheme is answered as an alert; a wrong or absent alert
/// secret is 401; an envelope under the alert scheme is still read as its event.
pub fn alert_callbacks_are_accepted_under_the_alert_scheme(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let alert = br#"{"alert_rule_id":"550e8400-e29b-41d4-a716-446655440000","alert_rule_name":"Bot Crash Monitor","alert_type":"bot_crash","category":"operational","triggered_at":"2025-01-15T10:30:00.000Z","current_value":3,"threshold_value":3,"suppressed_count":0,"message":"Bot Crash: 3 occurrence(s) reached threshold of 3"}"#.to_vec();
        let response = post(
            &server,
            &signed(Scheme::Alert, &alert),
            Body::Length(alert.clone()),
        )
        .await;
        assert_accepted(&response, "alert", None);
        // A sparse alert with an unexpected value type is still an alert.
        let sparse = br#"{"alert_rule_id":"r-1","current_value":"three"}"#.to_vec();
        let response = post(
            &server,
            &signed(Scheme::Alert, &sparse),
            Body::Length(sparse.clone()),
        )
        .await;
        assert_accepted(&response, "alert", None);
        let forged = sign_with(Scheme::Alert, other_secret_of(Scheme::Alert), &alert, now());
        let response = post(&server, &forged, Body::Length(alert.clone())).await;
        assert_rejected(&response, 401, &["invalid_token"]);
        let envelope = minimal("bot.failed", "b-alert");
        let response = post(
            &server,
            &signed(Scheme::Alert, &envelope),
            Body::Length(envelope),
        )
        .await;
        assert_accepted(&response, "bot.failed", Some("b-alert"));
    });
}

/// A bot's callback comes with POST or PUT (its `callback_config.method`) and is never retried
/// after a 4xx: a PUT delivery is verified and answered like a POST one, under every scheme (a
/// forged one 401); any other method is answered 405, never 2xx.
pub fn put_callbacks_are_accepted_and_other_methods_are_405(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let put = server.target().with_method("PUT");
        let body = minimal("bot.completed", "b-put");
        for scheme in Scheme::ALL {
            let response =
                client::post_to(&put, &signed(scheme, &body), Body::Length(body.clone()))
                    .await
                    .unwrap_or_else(|err| panic!("no answer to a PUT: {err}"));
            assert_accepted(&response, "bot.completed", Some("b-put"));
        }
        let forged = sign_with(
            Scheme::Callback,
            other_secret_of(Scheme::Callback),
            &body,
            now(),
        );
        let response = client::post_to(&put, &forged, Body::Length(body.clone()))
            .await
            .unwrap_or_else(|err| panic!("no answer to a forged PUT: {err}"));
        assert_rejected(&response, 401, &["invalid_token"]);
        for method in ["PATCH", "DELETE"] {
            let target = server.target().with_method(method);
            let headers = signed(Scheme::Callback, &body);
            let response = client::post_to(&target, &headers, Body::Length(body.clone()))
                .await
                .unwrap_or_else(|err| panic!("no answer to {method}: {err}"));
            assert_eq!(response.status, 405, "{method}: {}", response.text());
        }
    });
}

/// A client that goes away in the middle of its body does not disturb the server.
pub fn client_closing_mid_body_leaves_the_server_answering(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nx-mb-secret: {}\r\nContent-Length: 1000\r\n\r\n{{\"event\":",
            client::ROUTE,
            secret_of(Scheme::Callback)
        );
        let chunked = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nx-mb-secret: {}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"eve",
            client::ROUTE,
            secret_of(Scheme::Callback)
        );
        for _ in 0..20 {
            client::write_and_close(&server.addr, head.as_bytes())
                .await
                .expect("connect");
            client::write_and_close(&server.addr, chunked.as_bytes())
                .await
                .expect("connect");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_still_answers(&mut server).await;
    });
}

/// Malformed HTTP gets an error or a closed connection, and the server keeps answering.
pub fn garbage_request_leaves_the_server_answering(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let long_header = format!(
            "POST {} HTTP/1.1\r\nx-mb-secret: {}\r\n\r\n",
            client::ROUTE,
            "a".repeat(200_000)
        );
        let bad_chunk = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nx-mb-secret: {}\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            client::ROUTE,
            secret_of(Scheme::Callback)
        );
        let inputs: [&[u8]; 5] = [
            b"GARBAGE\r\n\r\n",
            b"\x00\xff\xfe\r\n\r\n",
            long_header.as_bytes(),
            bad_chunk.as_bytes(),
            b"POST /webhooks/meetingbaas HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        ];
        for input in inputs {
            let answer = client::raw(&server.addr, input).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&answer);
            assert!(
                !text.starts_with("HTTP/1.1 200") && !text.starts_with("HTTP/1.0 200"),
                "accepted garbage: {text}"
            );
        }
        assert_still_answers(&mut server).await;
    });
}

/// Hundreds of concurrent deliveries, half of them forged: each gets its own right answer.
pub fn concurrent_valid_and_forged_deliveries_each_get_their_answer(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let addr = server.addr.clone();
        let mut tasks = Vec::new();
        for i in 0..300usize {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                let scheme = Scheme::ALL[i % Scheme::ALL.len()];
                let bot_id = format!("bot-{i}");
                let body = minimal("bot.completed", &bot_id);
                let forged = i % 2 == 1;
                let secret = if forged {
                    other_secret_of(scheme)
                } else {
                    secret_of(scheme)
                };
                let headers = sign_with(scheme, secret, &body, now());
                let response = client::post(&addr, &headers, Body::Length(body)).await;
                (i, forged, bot_id, response)
            }));
        }
        for task in tasks {
            let (i, forged, bot_id, response) = task.await.expect("task");
            let response = response.unwrap_or_else(|err| panic!("delivery {i}: {err}"));
            if forged {
                assert_rejected(&response, 401, &["invalid_signature", "invalid_token"]);
            } else {
                assert_accepted(&response, "bot.completed", Some(&bot_id));
            }
        }
        assert_still_answers(&mut server).await;
    });
}

/// With no secret at all the example refuses to start, saying why in one line.
pub fn no_secret_configured_exits_non_zero_with_one_line(binary: &str) {
    run(async {
        let (code, stderr) = run_to_exit(binary, &[]).await;
        assert!(code.is_some_and(|c| c != 0), "exit code {code:?}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line of explanation, got {stderr:?}"
        );
        assert!(
            lines[0].contains("MEETINGBAAS_"),
            "the explanation names no variable: {stderr:?}"
        );
    });
}

/// Bodies the adapters once answered differently (a repeated key in `data` was 400 from one and
/// 422 from the others): every example now answers each exactly as the core's `Event` parser
/// decides, so all four answer alike. Each body is verified (callback scheme).
pub fn the_same_body_gets_the_same_answer_from_every_adapter(binary: &str) {
    run(async {
        let server = Server::start_default(binary).await;
        let bodies: [&[u8]; 22] = [
            br#"{"event":"bot.failed","data":{"bot_id":"a","bot_id":"b"}}"#,
            br#"{"event":"bot.failed","data":{"bot_id":"a"},"extra":{"k":1,"k":2}}"#,
            br#"{"event":"bot.failed","data":{"bot_id":"a"},"extra":5}"#,
            br#"{"event":"bot.failed","data":5}"#,
            br#"{"event":"bot.failed","data":"text"}"#,
            br#"{"event":"bot.failed","data":[1,2]}"#,
            br#"{"event":"bot.failed","data":null}"#,
            br#"{"event":"bot.failed"}"#,
            br#"{"event":"bot.failed","event":"bot.failed","data":{}}"#,
            br#"{"data":{"bot_id":"b"},"event":"bot.completed"}"#,
            br#"{"event":5,"data":{}}"#,
            br#"{"event":null,"data":{}}"#,
            br#"{"event":{"name":"bot.failed"},"data":{}}"#,
            br#"{"data":{"bot_id":"b"}}"#,
            b"null",
            b"[]",
            b"[1,2]",
            b"42",
            br#""bot.failed""#,
            b"true",
            br#"{"event":"complete","bot_id":"b-flat","transcript":[]}"#,
            br#"{"event":"bot.status_change","data":{"bot_id":"b","status":"in_call_recording"}}"#,
        ];
        for body in bodies {
            let response = post(
                &server,
                &signed(Scheme::Callback, body),
                Body::Length(body.to_vec()),
            )
            .await;
            let shown = String::from_utf8_lossy(body);
            match meetingbaas_webhooks::Event::from_slice(body) {
                Ok(event) => {
                    assert_eq!(response.status, 200, "{shown}: {}", response.text());
                    let answer = response.json();
                    assert_eq!(answer["status"], "success", "{shown}");
                    assert_eq!(answer["event"], event.name(), "{shown}");
                    assert_eq!(answer["bot_id"].as_str(), event.bot_id(), "{shown}");
                }
                Err(err) => assert_rejected(&response, err.status(), &[err.code()]),
            }
        }
    });
}

/// `MEETINGBAAS_METRICS=HOST:PORT` serves Prometheus text on a listener of its own, with a count
/// per outcome; the webhook port does not serve it.
pub fn metrics_are_served_on_their_own_listener(binary: &str) {
    run(async {
        let metrics_addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address").to_string()
        };
        let mut env = crate::server::default_env();
        env.push(("MEETINGBAAS_METRICS", metrics_addr.clone()));
        env.push(("MEETINGBAAS_DEDUPE", "memory".to_string()));
        let server = Server::start(binary, &env).await;

        // A mixed run: handled, duplicate, forged, oversized.
        let body = minimal("bot.completed", "b-metrics");
        let headers = signed(Scheme::Callback, &body);
        let response = post(&server, &headers, Body::Length(body.clone())).await;
        assert_eq!(response.status, 200, "{}", response.text());
        let response = post(&server, &headers, Body::Length(body.clone())).await;
        assert_eq!(response.json()["status"], "duplicate");
        let forged = vec![("x-mb-secret".to_string(), "not-the-secret".to_string())];
        let response = post(&server, &forged, Body::Length(body)).await;
        assert_eq!(response.status, 401);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let response = post(&server, &signed(Scheme::Callback, &big), Body::Length(big)).await;
        assert_eq!(response.status, 413);

        let get =
            format!("GET /metrics HTTP/1.1\r\nhost: {metrics_addr}\r\nconnection: close\r\n\r\n");
        let mut text = String::new();
        for _ in 0..50 {
            let answer = client::raw(&metrics_addr, get.as_bytes())
                .await
                .unwrap_or_default();
            text = String::from_utf8_lossy(&answer).into_owned();
            if text.contains("meetingbaas_webhooks_deliveries_total") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let count = |wanted: &[&str]| -> Option<f64> {
            text.lines()
                .filter(|line| line.starts_with("meetingbaas_webhooks_deliveries_total{"))
                .find(|line| wanted.iter().all(|label| line.contains(label)))
                .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        };
        assert_eq!(
            count(&[r#"scheme="callback""#, r#"outcome="handled""#]),
            Some(1.0),
            "{text}"
        );
        for wanted in [
            [r#"outcome="duplicate""#, r#"scheme="callback""#],
            [r#"outcome="rejected""#, r#"error="invalid_token""#],
            [r#"outcome="rejected""#, r#"error="payload_too_large""#],
        ] {
            assert_eq!(count(&wanted), Some(1.0), "{wanted:?} in {text}");
        }
        assert!(
            text.contains("meetingbaas_webhooks_duplicates_total"),
            "{text}"
        );
        assert!(
            text.contains("meetingbaas_webhooks_verify_duration_seconds"),
            "{text}"
        );
        assert!(
            !text.contains("not-the-secret"),
            "the metrics hold a presented token"
        );

        // Not on the public webhook port.
        let public = "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
        let answer = client::raw(&server.addr, public.as_bytes())
            .await
            .unwrap_or_default();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            !answer.contains("meetingbaas_webhooks_deliveries_total"),
            "{answer}"
        );
    });
}

//! The built `meetingbaas-webhooks` binary, run as a user runs it.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{Listener, command};

/// docs/protocol.md §1, Svix vector.
const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SVIX_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const SVIX_TIMESTAMP: &str = "1649367553";
const SVIX_BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
const SVIX_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

/// docs/protocol.md §1, signature vector (GitHub's).
const SIGNATURE_SECRET: &str = "It's a Secret to Everybody";
const SIGNATURE_BODY: &str = "Hello, World!";
const SIGNATURE_HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/// Runs the binary with `stdin` as its standard input.
fn run_with(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    {
        let mut input = child.stdin.take().unwrap();
        // The binary may exit before reading (a usage error): a broken pipe is fine.
        let _ = input.write_all(stdin);
    }
    child.wait_with_output().unwrap()
}

/// For [`Listener::start`]: the Svix vector's secret.
fn svix_secret(command: &mut Command) {
    command.env("MEETINGBAAS_SVIX_SECRET", SVIX_SECRET);
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_with(command(args), stdin)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `Name: value` lines into repeated `-H` arguments.
fn header_args(headers: &str) -> Vec<String> {
    headers
        .lines()
        .flat_map(|line| ["-H".to_owned(), line.to_owned()])
        .collect()
}

fn assert_one_line_error(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    let err = stderr(output);
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.starts_with("error: "), "{err:?}");
}

#[test]
fn sign_reproduces_the_svix_vector_byte_for_byte() {
    let output = run(
        &[
            "sign",
            "--scheme",
            "svix",
            "--secret",
            SVIX_SECRET,
            "--id",
            SVIX_ID,
            "--timestamp",
            SVIX_TIMESTAMP,
        ],
        SVIX_BODY.as_bytes(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "svix-id: {SVIX_ID}\nsvix-timestamp: {SVIX_TIMESTAMP}\nsvix-signature: {SVIX_SIGNATURE}\n"
        )
    );
}

#[test]
fn sign_reproduces_the_signature_vector_byte_for_byte() {
    let output = run(
        &[
            "sign",
            "--scheme",
            "signature",
            "--secret",
            SIGNATURE_SECRET,
        ],
        SIGNATURE_BODY.as_bytes(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("x-meetingbaas-signature: {SIGNATURE_HEX}\n")
    );
}

#[test]
fn sign_reads_the_secret_from_the_examples_variable() {
    let mut command = command(&["sign", "--id", SVIX_ID, "--timestamp", SVIX_TIMESTAMP]);
    command.env("MEETINGBAAS_SVIX_SECRET", SVIX_SECRET);
    let output = run_with(command, SVIX_BODY.as_bytes());
    assert!(
        stdout(&output).contains(SVIX_SIGNATURE),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verify_accepts_the_public_vector_at_its_time() {
    let mut args = vec!["verify", "--scheme", "svix", "--secret", SVIX_SECRET];
    args.extend(["--now", SVIX_TIMESTAMP]);
    let svix_id = format!("svix-id: {SVIX_ID}");
    let svix_timestamp = format!("svix-timestamp: {SVIX_TIMESTAMP}");
    let svix_signature = format!("svix-signature: {SVIX_SIGNATURE}");
    args.extend(["-H", &svix_id, "-H", &svix_timestamp, "-H", &svix_signature]);
    let output = run(&args, SVIX_BODY.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).starts_with("verified: svix scheme"));
}

/// Signs `body` with `sign` (svix, fresh id), with `timestamp` when given.
fn fresh_headers(body: &str, timestamp: Option<i64>) -> String {
    let timestamp = timestamp.map(|t| t.to_string());
    let mut args = vec!["sign", "--secret", SVIX_SECRET];
    if let Some(timestamp) = &timestamp {
        args.extend(["--timestamp", timestamp.as_str()]);
    }
    let output = run(&args, body.as_bytes());
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

fn verify(headers: &str, secret: &str, body: &str) -> Output {
    let mut args = vec![
        "verify".to_owned(),
        "--scheme".to_owned(),
        "svix".to_owned(),
        "--secret".to_owned(),
        secret.to_owned(),
    ];
    args.extend(header_args(headers));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, body.as_bytes())
}

const EVENT_BODY: &str =
    r#"{"event":"bot.failed","data":{"bot_id":"b-1","error_code":"BOT_NOT_ACCEPTED"}}"#;

#[test]
fn verify_accepts_a_fresh_sign_output_and_summarises_the_event() {
    let headers = fresh_headers(EVENT_BODY, None);
    let output = verify(&headers, SVIX_SECRET, EVENT_BODY);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let out = stdout(&output);
    assert!(out.contains("verified: svix scheme"), "{out}");
    assert!(
        out.contains("event: bot.failed (bot_failed), bot b-1"),
        "{out}"
    );
}

#[test]
fn verify_refuses_a_tampered_body_with_exit_1_and_the_reason() {
    let headers = fresh_headers(EVENT_BODY, None);
    let tampered = EVENT_BODY.replace("b-1", "b-2");
    let output = verify(&headers, SVIX_SECRET, &tampered);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("the signature does not match the body (svix scheme)"));
    assert!(stdout(&output).contains("invalid_signature"));
}

#[test]
fn verify_refuses_another_secret_with_exit_1() {
    let headers = fresh_headers(EVENT_BODY, None);
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let output = verify(&headers, other, EVENT_BODY);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("invalid_signature"));
    assert!(!stdout(&output).contains(other), "the secret is not echoed");
}

#[test]
fn verify_refuses_a_stale_timestamp_with_exit_1_and_says_why() {
    let headers = fresh_headers(EVENT_BODY, Some(now() - 600));
    let output = verify(&headers, SVIX_SECRET, EVENT_BODY);
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert!(out.contains("outside the tolerance"), "{out}");
    assert!(out.contains("timestamp_out_of_tolerance"), "{out}");
}

#[test]
fn verify_takes_a_non_utf8_body_as_bytes() {
    let body = b"\xff\xfe\x00not json";
    let signed = run(&["sign", "--scheme", "signature", "--secret", "k"], body);
    assert!(signed.status.success());
    let header = stdout(&signed).trim().to_owned();
    let output = run(
        &[
            "verify",
            "--scheme",
            "signature",
            "--secret",
            "k",
            "-H",
            &header,
        ],
        body,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("event: not readable (invalid_json"));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let cases: [(&[&str], &[u8]); 7] = [
        (&["sign", "--scheme", "nope", "--secret", "x"], b"{}"),
        (&["sign"], b"{}"),
        (&["sign", "--secret", SVIX_SECRET], b""),
        (&["sign", "--secret", "not-whsec"], b"{}"),
        (
            &[
                "verify", "--scheme", "callback", "--secret", "s", "-H", "no colon",
            ],
            b"{}",
        ),
        (&["verify"], b"{}"),
        (
            &["trigger", "bot.exploded", "--url", "http://127.0.0.1:9/"],
            b"",
        ),
    ];
    for (args, stdin) in cases {
        let output = run(args, stdin);
        assert_one_line_error(&output, 2);
    }
    let output = run(&["frobnicate"], b"");
    assert_one_line_error(&output, 2);
}

#[test]
fn secrets_are_never_echoed() {
    let secret = "whsec_this-is-not-base64-but-secret";
    let output = run(&["sign", "--secret", secret], b"{}");
    assert_one_line_error(&output, 2);
    assert!(!stderr(&output).contains(secret));

    for sub in ["listen", "trigger", "sign", "verify", "demo"] {
        let mut command = command(&[sub, "--help"]);
        command.env("MEETINGBAAS_SVIX_SECRET", "whsec_c2VjcmV0LWluLXRoZS1lbnY=");
        let output = run_with(command, b"");
        assert!(output.status.success());
        assert!(
            !stdout(&output).contains("c2VjcmV0LWluLXRoZS1lbnY"),
            "{sub}"
        );
    }
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["demo", "listen", "trigger", "sign", "verify"] {
        let output = run(&[sub, "--help"], b"");
        assert!(output.status.success(), "{sub}");
        let help = stdout(&output);
        assert!(help.contains("Example"), "{sub}: {help}");
        assert!(
            help.contains(&format!("meetingbaas-webhooks {sub}")),
            "{sub}"
        );
    }
}

#[test]
fn demo_exits_0_with_every_outcome_as_expected() {
    let output = run(&["demo"], b"");
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    assert!(out.contains(", 0 not as expected"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    for kind in ["forged", "tampered", "stale", "replay", "oversized chunked"] {
        assert!(out.contains(kind), "{kind}");
    }
}

#[test]
fn trigger_to_an_unreachable_url_fails_with_one_line() {
    // Bind and drop: the port is (almost certainly) closed afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/webhooks/meetingbaas");
    let output = run(
        &[
            "trigger",
            "bot.completed",
            "--url",
            &url,
            "--secret",
            SVIX_SECRET,
        ],
        b"",
    );
    assert_one_line_error(&output, 1);
}

#[test]
fn listen_on_a_port_in_use_fails_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut command = command(&["listen", "--port", &port]);
    command.env("MEETINGBAAS_SVIX_SECRET", SVIX_SECRET);
    let output = run_with(command, b"");
    assert_one_line_error(&output, 1);
    assert!(stderr(&output).contains("cannot listen on 127.0.0.1"));
}

#[test]
fn trigger_against_listen_round_trips() {
    let (mut listener, address) = Listener::start(&[], svix_secret);
    assert!(address.starts_with("http://127.0.0.1:"), "{address}");
    let url = format!("{address}/webhooks/meetingbaas");

    let output = run(
        &[
            "trigger",
            "bot.completed",
            "--url",
            &url,
            "--secret",
            SVIX_SECRET,
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.starts_with("bot.completed (svix): 200 OK"), "{out}");
    assert!(out.contains(r#""kind":"bot_completed""#), "{out}");

    let line = listener.next_line();
    assert!(
        line.contains("200 accepted svix bot.completed (bot_completed)"),
        "{line}"
    );
    assert!(
        line.contains("bot 123e4567-e89b-12d3-a456-426614174000"),
        "{line}"
    );

    // A sender with the wrong secret is refused, and listen says why.
    let output = run(
        &[
            "trigger",
            "bot.completed",
            "--url",
            &url,
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("401"));
    assert!(
        listener
            .next_line()
            .contains("401 rejected invalid_signature")
    );
}

#[test]
fn trigger_all_through_a_forwarding_listen_in_json() {
    let (mut receiver, receiver_address) = Listener::start(&[], svix_secret);
    let downstream = format!("{receiver_address}/webhooks/meetingbaas");
    let (mut forwarder, forwarder_address) =
        Listener::start(&["--json", "--forward-to", &downstream], svix_secret);

    let output = run(
        &[
            "trigger",
            "--all",
            "--url",
            &forwarder_address,
            "--secret",
            SVIX_SECRET,
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Every envelope sample and the alert.
    assert_eq!(stdout(&output).lines().count(), 26);

    for _ in 0..26 {
        let line = forwarder.next_line();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["outcome"], "accepted", "{line}");
        assert_eq!(value["parsed"]["kind"], value["kind"], "{line}");
        assert_eq!(value["forwarded"]["status"], 200, "{line}");
        // Headers and body unchanged: the downstream verifies the same delivery.
        assert!(receiver.next_line().contains(" 200 accepted svix "));
    }
}

#[test]
fn parse_prints_the_normalized_event() {
    let body = br#"{"event":"complete","bot_id":"b-1","mp4":"https://v","data":null,"novel":true}"#;
    let output = run(&["parse"], body);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(value["event"], "complete");
    assert_eq!(value["kind"], "bot_completed");
    assert_eq!(value["data"]["bot_id"], "b-1");
    assert_eq!(value["data"]["video"], "https://v");
    assert_eq!(value["data"]["novel"], true);

    let alert = br#"{"alert_rule_id":"r","current_value":"x"}"#;
    let output = run(&["parse", "-"], alert);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(value["kind"], "alert");
    assert_eq!(value["issues"][0]["path"], "current_value");

    let output = run(&["parse"], b"[1,2]");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("invalid_envelope"));
}

/// A bot's callback may come with PUT (its `callback_config.method`): `listen` takes it, and
/// forwards it with PUT; any other method is 405.
#[test]
fn listen_takes_put_callbacks_and_forwards_them_with_put() {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let callback = |command: &mut std::process::Command| {
        command.env("MEETINGBAAS_CALLBACK_SECRET", "cb-secret");
    };
    let (mut receiver, receiver_address) = Listener::start(&[], callback);
    let downstream = format!("{receiver_address}/webhooks/meetingbaas");
    let (mut forwarder, forwarder_address) =
        Listener::start(&["--forward-to", &downstream], callback);

    let send = |method: &str| {
        let body = r#"{"event":"bot.completed","data":{"bot_id":"b-put"}}"#;
        let authority = forwarder_address.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(authority).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let request = format!(
            "{method} /webhooks/meetingbaas HTTP/1.1\r\nhost: {authority}\r\n\
             content-type: application/json\r\nx-mb-secret: cb-secret\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };

    let answer = send("PUT");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        forwarder
            .next_line()
            .starts_with("PUT /webhooks/meetingbaas")
    );
    // The downstream got it with PUT too.
    let line = receiver.next_line();
    assert!(
        line.starts_with("PUT /webhooks/meetingbaas") && line.contains(" 200 "),
        "{line}"
    );

    for method in ["PATCH", "DELETE"] {
        let answer = send(method);
        assert!(answer.starts_with("HTTP/1.1 405"), "{method}: {answer}");
    }
}

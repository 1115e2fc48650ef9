//! `listen --config` with the product description's endpoint JSON, over HTTPS with a
//! certificate the test makes, driven by `trigger`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{Listener, command};

/// The product description's endpoint JSON, exactly.
const PRODUCT_JSON: &str = r#"{
  "webhook_url": "https://your-app.com/webhooks/meetingbaas",
  "events": ["meeting.started", "meeting.completed", "meeting.failed", "transcription.available"],
  "secret": "your-webhook-secret-key",
  "enabled": true
}"#;

/// A directory of files for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("meetingbaas-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA, and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem).
fn certificates(scratch: &Scratch) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (
        scratch.write("ca.pem", &ca_cert.pem()),
        scratch.write("cert.pem", &cert.pem()),
        scratch.write("key.pem", &key.serialize_pem()),
    )
}

fn trigger(event: &str, url: &str, secret: &str, ca: Option<&Path>) -> Output {
    let mut command = command(&[
        "trigger",
        event,
        "--scheme",
        "signature",
        "--secret",
        secret,
        "--url",
        url,
    ]);
    if let Some(ca) = ca {
        command.env("MEETINGBAAS_CA_CERT", ca);
    }
    command.stdin(Stdio::null()).output().unwrap()
}

#[test]
fn listen_with_the_product_description_config_over_https() {
    let scratch = Scratch::new("config-tls");
    let config = scratch.write("endpoint.json", PRODUCT_JSON);
    let (ca, cert, key) = certificates(&scratch);
    let (mut listener, address) = Listener::start(
        &["--config", &config, "--tls-cert", &cert, "--tls-key", &key],
        |_| {},
    );
    assert!(address.starts_with("https://127.0.0.1:"), "{address}");
    let url = format!("{address}/webhooks/meetingbaas");
    let ca = Some(Path::new(&ca));
    let secret = "your-webhook-secret-key";

    for event in ["meeting.failed", "bot.failed"] {
        let output = trigger(event, &url, secret, ca);
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{event}: {out}");
        assert!(out.contains("200"), "{event}: {out}");
        let line = listener.next_line();
        assert!(line.contains("200 accepted signature"), "{line}");
    }

    let output = trigger("calendar.synced", &url, secret, ca);
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains(r#"{"status":"ignored"}"#), "{out}");
    assert!(listener.next_line().contains("200 ignored"));

    let output = trigger("meeting.failed", &url, "wrong-secret", ca);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("401"));
    assert!(
        listener
            .next_line()
            .contains("401 rejected invalid_signature")
    );

    // Only the configured path is served.
    let output = trigger("meeting.failed", &format!("{address}/other"), secret, ca);
    assert!(String::from_utf8_lossy(&output.stdout).contains("404"));
}

#[test]
fn listen_with_a_disabled_endpoint_answers_503() {
    let scratch = Scratch::new("disabled");
    let config = scratch.write(
        "endpoint.json",
        &PRODUCT_JSON.replace(r#""enabled": true"#, r#""enabled": false"#),
    );
    let (mut listener, address) = Listener::start(&["--config", &config], |_| {});
    let url = format!("{address}/webhooks/meetingbaas");
    let output = trigger("meeting.failed", &url, "your-webhook-secret-key", None);
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("503"), "{out}");
    assert!(
        listener
            .next_line()
            .contains("503 rejected endpoint_disabled")
    );
}

#[test]
fn bad_config_and_tls_files_fail_with_one_line() {
    let scratch = Scratch::new("bad");
    let (_, cert, _) = certificates(&scratch);
    let other = Scratch::new("bad-other");
    let (_, _, other_key) = certificates(&other);
    let unknown = scratch.write(
        "unknown.json",
        &PRODUCT_JSON.replace("meeting.started", "meeting.exploded"),
    );
    let truncated = scratch.write("truncated.json", &PRODUCT_JSON[..40]);
    let good = scratch.write("good.json", PRODUCT_JSON);
    for args in [
        vec!["--config", unknown.as_str()],
        vec!["--config", truncated.as_str()],
        vec!["--config", "/nonexistent/endpoint.json"],
        vec![
            "--config",
            good.as_str(),
            "--tls-cert",
            cert.as_str(),
            "--tls-key",
            other_key.as_str(),
        ],
        vec!["--config", good.as_str(), "--tls-cert", cert.as_str()],
        vec!["--config", good.as_str(), "--scheme", "svix"],
    ] {
        let output = command(&["listen", "--port", "0"])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// A client still sending a chunked body after the receiver answered 413 at the limit reads the
/// 413 and an orderly end of the connection, and its further writes are not reset: the receiver
/// shuts its side and reads (and discards) the rest of the body before it closes the socket.
/// Closed with the body unread, the kernel resets the connection and a client such as hyper's
/// fails its write ("broken pipe") without reading the 413 (once seen in the demo under load).
#[test]
fn a_413_mid_chunked_body_is_followed_by_an_orderly_close() {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let scratch = Scratch::new("linger");
    let config = scratch.write(
        "endpoint.json",
        &PRODUCT_JSON.replace(
            r#""enabled": true"#,
            r#""enabled": true, "max_body_bytes": 4096"#,
        ),
    );
    let (_listener, address) = Listener::start(&["--config", &config], |_| {});
    let authority = address.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let chunk = |len: usize| {
        let mut chunk = format!("{len:x}\r\n").into_bytes();
        chunk.resize(chunk.len() + len, b'a');
        chunk.extend_from_slice(b"\r\n");
        chunk
    };
    // A well-formed signature: only the body can refute it, so the body is read (and found
    // too large); headers that could not be authentic would be refused before it (401).
    let mut request = format!(
        "POST /webhooks/meetingbaas HTTP/1.1\r\nhost: {authority}\r\n\
         content-type: application/json\r\nx-meetingbaas-signature: {}\r\n\
         transfer-encoding: chunked\r\n\r\n",
        "00".repeat(32)
    )
    .into_bytes();
    request.extend_from_slice(&chunk(8192));
    stream.write_all(&request).unwrap();

    // The answer, then the end of the stream (the receiver shut its side down).
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // The rest of the body still goes in: every write is read by the receiver, none reset.
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(20));
        stream
            .write_all(&chunk(16 * 1024))
            .expect("a lingering receiver reads what is still sent");
    }
}

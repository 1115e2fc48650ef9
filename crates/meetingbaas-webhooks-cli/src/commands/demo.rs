//! `demo`: a verifying receiver and every kind of delivery, good and bad, with no setup.
//!
//! The receiver is the same one `listen` runs, with a secret generated for every scheme and a
//! small body limit (so that "oversized" stays small). Each delivery has an expected outcome;
//! the command exits 0 only if every outcome was the expected one.
//!
//! Replays: the core's verifier accepts a replayed Svix delivery while its timestamp is within the
//! tolerance: verification proves who sent it, not that it is new. The receiver recognises the
//! duplicate by its idempotency key (`VerifiedDelivery::idempotency_key`, the `svix-id`) in an
//! in-memory set, and says so in its answer; the demo expects the second copy to be accepted *and*
//! marked as a duplicate. Durable deduplication (across restarts and replicas) is a separate
//! feature, not this command's.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use http_body_util::Full;
use meetingbaas_webhooks::{
    Clock, EventKind, EventName, Scheme, SignedHeaders, Signer, SystemClock, Verifier,
};

use crate::client::{self, Answer, Frames, Target};
use crate::commands::trigger::user_agent;
use crate::failure::Failure;
use crate::output;
use crate::receiver::{self, Receiver, Report};
use crate::samples;

/// The demo receiver's body limit (the default of every adapter is 8 MiB).
const DEMO_BODY_LIMIT: usize = 64 * 1024;

/// How long each delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How far in the past the stale delivery is signed: twice the 5-minute tolerance.
const STALE_BY_SECS: i64 = 10 * 60;

/// The bot id the tampered deliveries are rewritten to.
const TAMPERED_BOT_ID: &str = "00000000-0000-4000-8000-000000000000";

/// Runs the demo.
pub(crate) async fn run() -> Result<ExitCode, Failure> {
    let secrets = Secrets::generate();
    let verifier = Scheme::ALL
        .iter()
        .fold(Verifier::builder(), |builder, scheme| {
            builder.secret(*scheme, secrets.get(*scheme))
        })
        .max_body_bytes(DEMO_BODY_LIMIT)
        .build()
        .map_err(|err| Failure::runtime(format!("cannot build the demo verifier: {err}")))?;
    let tolerance = verifier.tolerance().as_secs();
    let (listener, address) = receiver::bind(0).await?;
    let server =
        tokio::spawn(Arc::new(Receiver::new(verifier, Report::Quiet)).serve(listener, None));
    let url = format!("http://{address}/webhooks/meetingbaas");
    let target = Target::parse(&url).map_err(Failure::runtime)?;

    output::out(format!("demo receiver: {url}"));
    output::out(format!(
        "  verifies svix, signature, callback, api-key and alert with secrets generated for this run \
         (not shown); body limit {DEMO_BODY_LIMIT} bytes (default 8 MiB); timestamp tolerance {tolerance} s"
    ));

    let mut demo = Demo {
        target,
        secrets,
        tally: Tally::default(),
    };
    let result = demo.run_all(tolerance).await;
    server.abort();
    result?;

    let tally = &demo.tally;
    output::out("");
    output::out(format!(
        "summary: {} deliveries, {} as expected ({} accepted, {} rejected), {} not as expected",
        tally.total(),
        tally.expected,
        tally.accepted,
        tally.rejected,
        tally.unexpected
    ));
    if tally.unexpected > 0 {
        return Err(Failure::runtime(format!(
            "{} of {} deliveries did not get the expected outcome",
            tally.unexpected,
            tally.total()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// One generated secret per scheme.
struct Secrets {
    svix: String,
    signature: String,
    callback: String,
    api_key: String,
    alert: String,
}

impl Secrets {
    fn generate() -> Self {
        let engine = base64::engine::general_purpose::STANDARD;
        Secrets {
            svix: format!("whsec_{}", engine.encode(random_bytes(24))),
            signature: hex(&random_bytes(32)),
            callback: hex(&random_bytes(24)),
            api_key: hex(&random_bytes(24)),
            alert: hex(&random_bytes(24)),
        }
    }

    fn get(&self, scheme: Scheme) -> &str {
        match scheme {
            Scheme::Svix => &self.svix,
            Scheme::Signature => &self.signature,
            Scheme::Callback => &self.callback,
            Scheme::Alert => &self.alert,
            _ => &self.api_key,
        }
    }
}

/// Bytes for the demo's throwaway secrets, from the standard library's randomly keyed hasher
/// (seeded from the operating system). Good enough for secrets that live for one demo run; real
/// secrets come from Meeting BaaS.
fn random_bytes(len: usize) -> Vec<u8> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut bytes = Vec::with_capacity(len + 8);
    let mut counter = 0u64;
    while bytes.len() < len {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(counter);
        hasher.write_u128(nanos);
        bytes.extend_from_slice(&hasher.finish().to_le_bytes());
        counter += 1;
    }
    bytes.truncate(len);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a delivery should get.
#[derive(Clone, Debug)]
enum Expect {
    /// 200, read as `event` of `kind`; `duplicate` when the receiver saw its key before.
    Accepted {
        event: &'static str,
        kind: EventKind,
        duplicate: bool,
    },
    /// This status and error code.
    Rejected { status: u16, code: &'static str },
}

/// How the body travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    /// One piece with `Content-Length`.
    ContentLength,
    /// `Transfer-Encoding: chunked`, in 8 KiB frames.
    Chunked,
    /// One piece with `Content-Length`, sent with PUT: a bot's callback whose
    /// `callback_config.method` is `PUT`.
    Put,
}

/// One delivery of the demo.
struct Case {
    label: String,
    event: &'static str,
    body: Bytes,
    headers: SignedHeaders,
    transport: Transport,
    expect: Expect,
}

#[derive(Default)]
struct Tally {
    expected: usize,
    unexpected: usize,
    accepted: usize,
    rejected: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.expected + self.unexpected
    }
}

struct Demo {
    target: Target,
    secrets: Secrets,
    tally: Tally,
}

impl Demo {
    async fn run_all(&mut self, tolerance: u64) -> Result<(), Failure> {
        output::out("");
        output::out(format!(
            "every sample event under every scheme ({} events x {} schemes): expected 200 accepted",
            EventName::ALL.len(),
            Scheme::ALL.len()
        ));
        for scheme in Scheme::ALL {
            let signer = self.signer(scheme, self.secrets.get(scheme))?;
            for name in EventName::ALL {
                let body = sample(*name)?;
                let headers = signer.sign_now(&body);
                self.send(Case {
                    label: scheme.as_str().to_owned(),
                    event: name.as_str(),
                    body,
                    headers,
                    transport: Transport::ContentLength,
                    expect: accepted(*name, false),
                })
                .await?;
            }
        }

        output::out("");
        output::out(
            "the alert callback (a flat object, not an envelope) under the alert scheme: expected 200 accepted alert",
        );
        let signer = self.signer(Scheme::Alert, self.secrets.get(Scheme::Alert))?;
        let alert = Bytes::from_static(samples::ALERT.trim_end().as_bytes());
        let headers = signer.sign_now(&alert);
        self.send(Case {
            label: Scheme::Alert.as_str().to_owned(),
            event: samples::ALERT_NAME,
            body: alert,
            headers,
            transport: Transport::ContentLength,
            expect: Expect::Accepted {
                event: samples::ALERT_NAME,
                kind: EventKind::Alert,
                duplicate: false,
            },
        })
        .await?;

        let name = EventName::BotCompleted;
        let body = sample(name)?;

        output::out("");
        output::out(
            "a bot's callback sent with PUT (its callback_config.method): expected 200 accepted",
        );
        let signer = self.signer(Scheme::Callback, self.secrets.get(Scheme::Callback))?;
        self.send(Case {
            label: "callback, PUT".to_owned(),
            event: name.as_str(),
            headers: signer.sign_now(&body),
            body: body.clone(),
            transport: Transport::Put,
            expect: accepted(name, true),
        })
        .await?;

        output::out("");
        output::out("forged: signed with another secret: expected 401");
        for scheme in Scheme::ALL {
            let other = Secrets::generate();
            let signer = self.signer(scheme, other.get(scheme))?;
            let headers = signer.sign_now(&body);
            let code = match scheme {
                Scheme::Svix | Scheme::Signature => "invalid_signature",
                _ => "invalid_token",
            };
            self.send(Case {
                label: format!("forged {scheme}"),
                event: name.as_str(),
                body: body.clone(),
                headers,
                transport: Transport::ContentLength,
                expect: Expect::Rejected { status: 401, code },
            })
            .await?;
        }

        output::out("");
        output::out(format!(
            "tampered: bot_id rewritten to {TAMPERED_BOT_ID} after signing: expected 401 where the \
             body is signed"
        ));
        let failed = EventName::BotFailed;
        let original = sample(failed)?;
        let tampered = Bytes::from(
            String::from_utf8_lossy(&original)
                .replace(samples::BOT_ID, TAMPERED_BOT_ID)
                .into_bytes(),
        );
        for scheme in Scheme::ALL {
            let signer = self.signer(scheme, self.secrets.get(scheme))?;
            let headers = signer.sign_now(&original);
            let expect = match scheme {
                Scheme::Svix | Scheme::Signature => Expect::Rejected {
                    status: 401,
                    code: "invalid_signature",
                },
                _ => accepted(failed, false),
            };
            self.send(Case {
                label: format!("tampered {scheme}"),
                event: failed.as_str(),
                body: tampered.clone(),
                headers,
                transport: Transport::ContentLength,
                expect,
            })
            .await?;
        }
        output::out(
            "  note: callback and api-key send a shared secret in a header: it proves who sent the \
             request, not what the body says, so a changed body still passes. svix and signature \
             sign the body.",
        );

        output::out("");
        output::out(format!(
            "stale: svix timestamp {STALE_BY_SECS} s in the past (tolerance {tolerance} s): expected 401"
        ));
        let svix = self.signer(Scheme::Svix, self.secrets.get(Scheme::Svix))?;
        let now = SystemClock.now_unix();
        let stale = svix.sign(&body, &demo_id("stale"), now - STALE_BY_SECS);
        self.send(Case {
            label: "stale svix".to_owned(),
            event: name.as_str(),
            body: body.clone(),
            headers: stale,
            transport: Transport::ContentLength,
            expect: Expect::Rejected {
                status: 401,
                code: "timestamp_out_of_tolerance",
            },
        })
        .await?;

        output::out("");
        output::out("replayed id: one svix delivery sent twice (same svix-id, timestamp and body)");
        let replayed = svix.sign(&body, &demo_id("replay"), now);
        for (copy, duplicate) in [(1, false), (2, true)] {
            self.send(Case {
                label: format!("replay {copy}/2 svix"),
                event: name.as_str(),
                body: body.clone(),
                headers: replayed.clone(),
                transport: Transport::ContentLength,
                expect: accepted(name, duplicate),
            })
            .await?;
        }
        output::out(format!(
            "  note: verification alone accepts a replay while its timestamp is within the \
             tolerance ({tolerance} s): it proves who signed the delivery, not that it is new. \
             This receiver recognises the copy by its idempotency key (the svix-id) and marks \
             it as a duplicate. In your service, `.dedupe(..)` on the layer (or \
             MEETINGBAAS_DEDUPE=memory|redis://.. in the examples) answers such copies \
             {{\"status\":\"duplicate\"}} without running your handler, across replicas \
             with Redis."
        ));

        output::out("");
        output::out(format!(
            "oversized: a {} byte transcript over the {DEMO_BODY_LIMIT} byte limit, correctly \
             signed: expected 413 before the body is read (Content-Length) or as soon as it passes \
             the limit (chunked)",
            DEMO_BODY_LIMIT + 4096
        ));
        let large = oversized_body(DEMO_BODY_LIMIT + 4096);
        let signed = svix.sign_now(&large);
        for transport in [Transport::ContentLength, Transport::Chunked] {
            let label = match transport {
                Transport::ContentLength => "oversized content-length",
                Transport::Chunked | Transport::Put => "oversized chunked",
            };
            self.send(Case {
                label: label.to_owned(),
                event: EventName::Complete.as_str(),
                body: large.clone(),
                headers: signed.clone(),
                transport,
                expect: Expect::Rejected {
                    status: 413,
                    code: "payload_too_large",
                },
            })
            .await?;
        }
        Ok(())
    }

    fn signer(&self, scheme: Scheme, secret: &str) -> Result<Signer, Failure> {
        Signer::new(scheme, secret)
            .map_err(|err| Failure::runtime(format!("cannot build a {scheme} signer: {err}")))
    }

    /// Sends one case, prints its line and counts it. Only a transport failure (the demo's own
    /// receiver unreachable) stops the demo.
    async fn send(&mut self, case: Case) -> Result<(), Failure> {
        let mut headers: HeaderMap = case.headers.to_header_map();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::USER_AGENT, user_agent());
        let answer = match case.transport {
            Transport::ContentLength => {
                client::post(
                    &self.target,
                    headers,
                    Full::new(case.body.clone()),
                    DELIVERY_TIMEOUT,
                )
                .await
            }
            Transport::Chunked => {
                client::post(
                    &self.target,
                    headers,
                    Frames::new(&case.body, 8 * 1024),
                    DELIVERY_TIMEOUT,
                )
                .await
            }
            Transport::Put => {
                let body = Full::new(case.body.clone());
                client::send(Method::PUT, &self.target, headers, body, DELIVERY_TIMEOUT).await
            }
        };
        let (outcome, as_expected) = match answer {
            Ok(answer) => judge(&answer, &case.expect),
            Err(reason) => (format!("no answer: {reason}"), false),
        };
        let mark = if as_expected { "ok  " } else { "FAIL" };
        output::out(format!(
            "  {mark} {:<24} {:<28} {outcome}",
            case.label, case.event
        ));
        if as_expected {
            self.tally.expected += 1;
        } else {
            self.tally.unexpected += 1;
            output::out(format!(
                "       expected: {}",
                describe_expect(&case.expect)
            ));
        }
        match case.expect {
            Expect::Accepted { .. } => self.tally.accepted += usize::from(as_expected),
            Expect::Rejected { .. } => self.tally.rejected += usize::from(as_expected),
        }
        Ok(())
    }
}

/// The receiver's answer as a line, and whether it is the expected one.
fn judge(answer: &Answer, expect: &Expect) -> (String, bool) {
    let json = answer.json().unwrap_or_default();
    let text = |field: &str| json.get(field).and_then(|v| v.as_str()).map(str::to_owned);
    let status = answer.status.as_u16();
    if answer.status.is_success() {
        let event = text("event").unwrap_or_default();
        let kind = text("kind").unwrap_or_default();
        let duplicate = json.get("duplicate").and_then(|v| v.as_bool()) == Some(true);
        let mut line = format!("{status} accepted {kind}");
        match text("bot_id") {
            Some(bot_id) => line.push_str(&format!(", bot {bot_id}")),
            None => line.push_str(", no bot id"),
        }
        if duplicate {
            line.push_str(", DUPLICATE detected (same idempotency key as an earlier delivery)");
        }
        let as_expected = match expect {
            Expect::Accepted {
                event: want_event,
                kind: want_kind,
                duplicate: want_duplicate,
            } => event == *want_event && kind == want_kind.as_str() && duplicate == *want_duplicate,
            Expect::Rejected { .. } => false,
        };
        (line, as_expected)
    } else {
        let code = text("error").unwrap_or_default();
        let message = text("message").unwrap_or_else(|| answer.body_line());
        let line = format!("{status} rejected {code}: {message}");
        let as_expected =
            matches!(expect, Expect::Rejected { status: s, code: c } if *s == status && *c == code);
        (line, as_expected)
    }
}

fn describe_expect(expect: &Expect) -> String {
    match expect {
        Expect::Accepted {
            event,
            kind,
            duplicate,
        } => format!(
            "200 accepted {event} as {kind}{}",
            if *duplicate { ", as a duplicate" } else { "" }
        ),
        Expect::Rejected { status, code } => format!("{status} rejected {code}"),
    }
}

fn accepted(name: EventName, duplicate: bool) -> Expect {
    Expect::Accepted {
        event: name.as_str(),
        kind: name.kind(),
        duplicate,
    }
}

fn sample(name: EventName) -> Result<Bytes, Failure> {
    samples::body(name)
        .map(|body| Bytes::from_static(body.as_bytes()))
        .ok_or_else(|| Failure::runtime(format!("no sample for `{name}`")))
}

/// A message id unique to this run.
fn demo_id(what: &str) -> String {
    format!("msg_demo_{what}_{}", hex(&random_bytes(8)))
}

/// A v1 `complete` whose transcript makes it at least `len` bytes long: what a long meeting sends.
fn oversized_body(len: usize) -> Bytes {
    let mut words = Vec::new();
    let mut body_len = 0;
    let mut index = 0u32;
    while body_len < len {
        let start = f64::from(index) * 0.4;
        let word = format!(
            r#"{{"start":{start:.1},"end":{:.1},"word":"word{index}"}}"#,
            start + 0.3
        );
        body_len += word.len() + 1;
        words.push(word);
        index += 1;
    }
    let body = format!(
        r#"{{"event":"complete","data":{{"bot_id":"{}","transcript":[{{"speaker":"John Doe","offset":0.0,"words":[{}]}}],"speakers":["John Doe"],"mp4":"https://storage.example.com/recordings/video123.mp4?token=abc"}}}}"#,
        samples::BOT_ID,
        words.join(",")
    );
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_differ_per_call_and_build_a_verifier() {
        let (a, b) = (Secrets::generate(), Secrets::generate());
        for scheme in Scheme::ALL {
            assert_ne!(a.get(scheme), b.get(scheme));
            assert!(Signer::new(scheme, a.get(scheme)).is_ok());
        }
    }

    #[test]
    fn the_oversized_body_is_over_the_limit_and_parses() {
        let body = oversized_body(DEMO_BODY_LIMIT + 1);
        assert!(body.len() > DEMO_BODY_LIMIT);
        let event = meetingbaas_webhooks::Event::from_slice(&body).unwrap();
        assert_eq!(event.kind(), EventKind::BotCompleted);
    }

    #[test]
    fn the_tampered_sample_differs_from_the_signed_one() {
        let original = sample(EventName::BotFailed).unwrap();
        assert!(String::from_utf8_lossy(&original).contains(samples::BOT_ID));
    }
}

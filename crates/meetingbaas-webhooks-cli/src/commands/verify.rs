//! `verify`: check the body on stdin against `--header` flags.

use std::process::ExitCode;
use std::time::Duration;

use http::HeaderMap;
use meetingbaas_webhooks::{Event, FixedClock, Scheme, VerifiedDelivery};
use meetingbaas_webhooks_receiver::Error;

use crate::credentials;
use crate::failure::Failure;
use crate::input;
use crate::output;

/// What `verify` was asked.
pub(crate) struct Options {
    pub(crate) headers: Vec<String>,
    pub(crate) scheme: Option<Scheme>,
    pub(crate) secret: Option<String>,
    pub(crate) tolerance: Option<u64>,
    pub(crate) now: Option<i64>,
}

/// Exit 0 with a summary when verified, 1 with the reason when not.
pub(crate) fn run(options: Options) -> Result<ExitCode, Failure> {
    let mut headers = HeaderMap::new();
    for raw in &options.headers {
        let (name, value) =
            input::parse_header(raw).map_err(|err| Failure::usage(format!("--header: {err}")))?;
        headers.append(name, value);
    }
    let verifier = credentials::verifier(options.scheme, options.secret, |mut builder| {
        if let Some(seconds) = options.tolerance {
            builder = builder.tolerance(Duration::from_secs(seconds));
        }
        if let Some(now) = options.now {
            builder = builder.clock(FixedClock::new(now));
        }
        builder
    })?;
    // One byte over the limit is enough for the verifier to refuse it as too large.
    let body = input::body_from_stdin("verify", verifier.max_body_bytes())?;

    match verifier.verify(&headers, body) {
        Ok(delivery) => {
            output::out(verified_line(&delivery));
            output::out(event_line(&delivery));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            output::out(format!(
                "not verified: {err} ({}; a receiver answers {})",
                err.code(),
                err.status()
            ));
            Ok(ExitCode::from(1))
        }
    }
}

fn verified_line(delivery: &VerifiedDelivery) -> String {
    let mut line = format!(
        "verified: {} scheme, {} bytes",
        delivery.scheme(),
        delivery.body().len()
    );
    if let Some(id) = delivery.message_id() {
        line.push_str(&format!(", message id {id}"));
    }
    if let Some(timestamp) = delivery.timestamp() {
        line.push_str(&format!(", timestamp {timestamp}"));
    }
    line
}

fn event_line(delivery: &VerifiedDelivery) -> String {
    match delivery.parse_event() {
        Ok(event) => describe_event(&event),
        Err(err) => {
            let err = Error::from(err);
            format!(
                "event: not readable ({}: {err}); a receiver that parses events answers {}",
                err.code(),
                err.status()
            )
        }
    }
}

fn describe_event(event: &Event) -> String {
    let mut line = format!("event: {} ({})", event.name(), event.kind());
    match event.bot_id() {
        Some(bot_id) => line.push_str(&format!(", bot {bot_id}")),
        None => line.push_str(", no bot id"),
    }
    if let Some(extra) = event.extra() {
        let mut extra = extra.to_string();
        if extra.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|i| extra.is_char_boundary(*i))
                .unwrap_or(0);
            extra.truncate(cut);
            extra.push_str("...");
        }
        line.push_str(&format!(", extra {extra}"));
    }
    line
}

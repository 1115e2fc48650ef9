//! `trigger`: send correctly signed sample events to a receiver.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, header};
use http_body_util::Full;
use meetingbaas_webhooks::Scheme;

use crate::client::{self, Target};
use crate::credentials;
use crate::failure::Failure;
use crate::output;
use crate::samples;

/// What `trigger` was asked.
pub(crate) struct Options {
    pub(crate) event: Option<String>,
    pub(crate) all: bool,
    pub(crate) url: String,
    pub(crate) scheme: Scheme,
    pub(crate) secret: Option<String>,
    pub(crate) timeout: Duration,
}

/// Sends each sample, prints each answer; exit 0 only if every answer was 2xx.
pub(crate) async fn run(options: Options) -> Result<ExitCode, Failure> {
    let names: Vec<(&str, &str)> = match (&options.event, options.all) {
        (_, true) => samples::all(),
        (Some(event), false) => vec![samples::sample_for(event).map_err(Failure::usage)?],
        (None, false) => return Err(Failure::usage("give an EVENT or --all")),
    };
    let target = Target::parse(&options.url).map_err(Failure::usage)?;
    let signer = credentials::signer(options.scheme, options.secret)?;

    let mut refused = 0;
    for (name, body) in &names {
        let mut headers = signer.sign_now(body.as_bytes()).to_header_map();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::USER_AGENT, user_agent());
        let answer = client::post(
            &target,
            headers,
            Full::new(Bytes::from_static(body.as_bytes())),
            options.timeout,
        )
        .await
        .map_err(Failure::runtime)?;
        output::out(format!(
            "{name} ({}): {} {}",
            options.scheme,
            answer.status,
            answer.body_line()
        ));
        if !answer.status.is_success() {
            refused += 1;
        }
    }
    if refused > 0 {
        return Err(Failure::runtime(format!(
            "{refused} of {} deliveries were not answered with 2xx",
            names.len()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// `meetingbaas-webhooks/<version>`.
pub(crate) fn user_agent() -> HeaderValue {
    HeaderValue::from_static(concat!("meetingbaas-webhooks/", env!("CARGO_PKG_VERSION")))
}

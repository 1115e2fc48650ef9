//! `trigger`: send correctly signed sample events, or any body, to a receiver.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, header};
use http_body_util::Full;
use meetingbaas_webhooks::Scheme;

use crate::client::{self, Target};
use crate::credentials;
use crate::failure::Failure;
use crate::input;
use crate::output;
use crate::samples;

/// The largest body `--data` sends (the same bound as `sign`).
const MAX_DATA_BYTES: usize = 64 * 1024 * 1024;

/// What `trigger` was asked.
pub(crate) struct Options {
    pub(crate) event: Option<String>,
    pub(crate) all: bool,
    pub(crate) data: Option<PathBuf>,
    pub(crate) bot_id: Option<String>,
    pub(crate) url: String,
    pub(crate) scheme: Scheme,
    pub(crate) secret: Option<String>,
    pub(crate) timeout: Duration,
}

/// Sends each sample (or the `--data` body), prints each answer; exit 0 only if every answer
/// was 2xx.
pub(crate) async fn run(options: Options) -> Result<ExitCode, Failure> {
    let deliveries: Vec<(String, Bytes)> = match (&options.data, &options.event, options.all) {
        (Some(path), _, _) => vec![custom_body(path)?],
        (None, _, true) => samples_of(samples::all(), options.bot_id.as_deref())?,
        (None, Some(event), false) => samples_of(
            vec![samples::sample_for(event).map_err(Failure::usage)?],
            options.bot_id.as_deref(),
        )?,
        (None, None, false) => return Err(Failure::usage("give an EVENT, --all or --data")),
    };
    let target = Target::parse(&options.url).map_err(Failure::usage)?;
    let signer = credentials::signer(options.scheme, options.secret)?;

    let mut refused = 0;
    for (name, body) in &deliveries {
        let mut headers = signer.sign_now(body).to_header_map();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::USER_AGENT, user_agent());
        let answer = client::post(&target, headers, Full::new(body.clone()), options.timeout)
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
            deliveries.len()
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `samples` (wire name, body), with `bot_id` in place of the built-in bot id when given.
fn samples_of(
    samples: Vec<(&'static str, &'static str)>,
    bot_id: Option<&str>,
) -> Result<Vec<(String, Bytes)>, Failure> {
    let replacement = match bot_id {
        None => None,
        Some(id) if id.is_empty() || id.len() > 256 => {
            return Err(Failure::usage("--bot-id must be 1 to 256 characters"));
        }
        // The id goes inside a JSON string: escape it as JSON does (quotes dropped).
        Some(id) => {
            let quoted = serde_json::Value::from(id).to_string();
            Some(quoted[1..quoted.len() - 1].to_owned())
        }
    };
    Ok(samples
        .into_iter()
        .map(|(name, body)| {
            let body = match &replacement {
                Some(id) => Bytes::from(body.replace(samples::BOT_ID, id)),
                None => Bytes::from_static(body.as_bytes()),
            };
            (name.to_owned(), body)
        })
        .collect())
}

/// The `--data` body, byte for byte, labelled with its `event` when it has one.
fn custom_body(path: &Path) -> Result<(String, Bytes), Failure> {
    let body = if path.as_os_str() == "-" {
        input::body_from_stdin("trigger --data -", MAX_DATA_BYTES)?
    } else {
        let file = std::fs::File::open(path)
            .map_err(|err| Failure::usage(format!("--data {}: {err}", path.display())))?;
        let mut body = Vec::new();
        file.take(MAX_DATA_BYTES as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|err| Failure::usage(format!("--data {}: {err}", path.display())))?;
        Bytes::from(body)
    };
    if body.len() > MAX_DATA_BYTES {
        return Err(Failure::usage(format!(
            "--data: the body is larger than {MAX_DATA_BYTES} bytes"
        )));
    }
    let label = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|json| json.get("event")?.as_str().map(str::to_owned))
        .map_or_else(|| "body".to_owned(), |event| format!("body ({event})"));
    Ok((label, body))
}

/// `meetingbaas-webhooks/<version>`.
pub(crate) fn user_agent() -> HeaderValue {
    HeaderValue::from_static(concat!("meetingbaas-webhooks/", env!("CARGO_PKG_VERSION")))
}

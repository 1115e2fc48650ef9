//! `sign`: the headers a sender adds to the body on stdin.

use std::process::ExitCode;

use meetingbaas_webhooks::{Clock, Scheme, Signer, SystemClock};

use crate::credentials;
use crate::failure::Failure;
use crate::input;
use crate::output;

/// The largest body `sign` reads (a receiver's default limit is 8 MiB; this leaves room to sign
/// bodies meant to be refused as too large).
const MAX_SIGNED_BYTES: usize = 64 * 1024 * 1024;

/// The longest Svix message id a receiver accepts.
const MAX_ID_LEN: usize = 256;

/// What `sign` was asked.
pub(crate) struct Options {
    pub(crate) scheme: Scheme,
    pub(crate) secret: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) timestamp: Option<i64>,
}

/// Prints one `Name: value` line per header.
pub(crate) fn run(options: Options) -> Result<ExitCode, Failure> {
    if options.scheme != Scheme::Svix && (options.id.is_some() || options.timestamp.is_some()) {
        return Err(Failure::usage(
            "--id and --timestamp apply to the svix scheme only",
        ));
    }
    if let Some(id) = &options.id {
        let visible = id.bytes().all(|b| b.is_ascii_graphic());
        if id.is_empty() || id.len() > MAX_ID_LEN || !visible {
            return Err(Failure::usage(
                "--id must be 1 to 256 visible ASCII characters (no spaces)",
            ));
        }
    }
    let signer = credentials::signer(options.scheme, options.secret)?;
    let body = input::body_from_stdin("sign", MAX_SIGNED_BYTES)?;
    if body.len() > MAX_SIGNED_BYTES {
        return Err(Failure::usage(format!(
            "the body on stdin is larger than {MAX_SIGNED_BYTES} bytes"
        )));
    }

    let id = options.id.unwrap_or_else(Signer::fresh_message_id);
    let timestamp = options.timestamp.unwrap_or_else(|| SystemClock.now_unix());
    let headers = signer.sign(&body, &id, timestamp);
    for (name, value) in headers.iter() {
        output::out(format!("{name}: {value}"));
    }
    Ok(ExitCode::SUCCESS)
}

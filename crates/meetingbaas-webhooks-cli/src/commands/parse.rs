//! `parse`: the typed event a handler would receive for a body, printed as JSON.

use std::process::ExitCode;

use meetingbaas_webhooks::{DEFAULT_MAX_BODY_BYTES, Event};

use crate::failure::Failure;
use crate::input;
use crate::output;

/// Parses the body of `file` (`-`: stdin) and prints the normalized event as one line of JSON.
///
/// JSON output escapes every control character, so nothing from the body reaches the terminal
/// raw; an error shows the parser's message, which never echoes the body.
pub(crate) fn run(file: &str) -> Result<ExitCode, Failure> {
    let body = if file == "-" {
        input::body_from_stdin("parse", DEFAULT_MAX_BODY_BYTES)?
    } else {
        std::fs::read(file)
            .map(Into::into)
            .map_err(|err| Failure::usage(format!("cannot read {}: {err}", escape(file))))?
    };
    if body.len() > DEFAULT_MAX_BODY_BYTES {
        return Err(Failure::runtime(format!(
            "the body is over {DEFAULT_MAX_BODY_BYTES} bytes"
        )));
    }
    let event = Event::from_slice(&body).map_err(|err| {
        Failure::runtime(format!(
            "not a webhook body ({} {}): {err}",
            err.status(),
            err.code()
        ))
    })?;
    let json = serde_json::to_string(&event)
        .map_err(|err| Failure::runtime(format!("cannot print the event: {err}")))?;
    output::out(json);
    Ok(ExitCode::SUCCESS)
}

/// A path as printable text (control characters escaped).
fn escape(text: &str) -> String {
    text.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normalized_form_names_the_kind_and_the_canonical_fields() {
        let event = Event::from_slice(
            br#"{"event":"complete","data":{"bot_id":"b","mp4":"https://v","novel":1}}"#,
        )
        .unwrap();
        let json: serde_json::Value = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "complete");
        assert_eq!(json["kind"], "bot_completed");
        assert_eq!(json["data"]["video"], "https://v");
        assert_eq!(json["data"]["novel"], 1);
        assert_eq!(json["issues"], serde_json::json!([]));
    }
}

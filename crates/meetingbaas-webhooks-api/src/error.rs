//! What can go wrong, typed: before the request, on the way, and in Meeting BaaS's answer.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::InvalidBotId;

/// The fields of Meeting BaaS's error answer,
/// `{"success": false, "error", "code", "statusCode", "message"?, "details"?}` (plus
/// `retryAfter` on 429). Every field is optional: an answer that is not JSON, or not this shape,
/// gives an empty `ErrorResponse`. Strings are kept as sent; [`Display`](fmt::Display) escapes
/// control characters and shortens them.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// `success` (always `false` on an error).
    pub success: Option<bool>,
    /// `error`: a short name, e.g. `"Not Found"`.
    pub error: Option<String>,
    /// `code`: a machine-readable code, e.g. `"FST_ERR_NOT_FOUND"`.
    pub code: Option<String>,
    /// `statusCode`: the HTTP status as the server saw it.
    pub status_code: Option<u16>,
    /// `message`: a sentence for humans.
    pub message: Option<String>,
    /// `details`: anything the server adds.
    pub details: Option<Value>,
    /// `retryAfter`: seconds to wait before trying again (429).
    pub retry_after: Option<u64>,
}

impl ErrorResponse {
    /// Reads an error answer's body, leniently (wrong types are skipped, not errors).
    pub fn from_body(body: &[u8]) -> ErrorResponse {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return ErrorResponse::default();
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| {
            fields.get(name).and_then(|value| match value {
                Value::Number(n) => n.as_u64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0)
                        .map(|f| f.ceil() as u64)
                }),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
        };
        ErrorResponse {
            success: fields.get("success").and_then(Value::as_bool),
            error: text("error"),
            code: text("code"),
            status_code: number("statusCode").and_then(|n| u16::try_from(n).ok()),
            message: text("message"),
            details: fields.get("details").filter(|v| !v.is_null()).cloned(),
            retry_after: number("retryAfter"),
        }
    }
}

impl fmt::Display for ErrorResponse {
    /// `message` (or `error`), then `[code]`: escaped, at most 200 characters each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sentence = self.message.as_deref().or(self.error.as_deref());
        match (sentence, self.code.as_deref()) {
            (Some(sentence), Some(code)) => {
                write!(f, "{} [{}]", excerpt(sentence, 200), excerpt(code, 80))
            }
            (Some(sentence), None) => f.write_str(&excerpt(sentence, 200)),
            (None, Some(code)) => write!(f, "[{}]", excerpt(code, 80)),
            (None, None) => f.write_str("no details"),
        }
    }
}

/// Everything a call can fail with (the [`ErrorResponse`] of an answer is boxed to keep the
/// error small). Messages never contain the API key or a callback secret,
/// and show text from the server only escaped and shortened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bot id is not a bot id; nothing was sent.
    #[error(transparent)]
    InvalidBotId(#[from] InvalidBotId),
    /// An argument cannot be sent (a URL that does not parse, a callback override missing a
    /// part); nothing was sent.
    #[error("{0}")]
    InvalidInput(String),
    /// The client cannot be built: no API key, a bad base URL, a bad root certificate.
    #[error("{0}")]
    Config(String),
    /// 404: Meeting BaaS does not know this bot (for this API key).
    #[error("bot not found (404): {0}")]
    BotNotFound(Box<ErrorResponse>),
    /// 409: the bot is not `completed` or `failed` yet, or it has no callback configured.
    #[error("refused (409): {0}")]
    Conflict(Box<ErrorResponse>),
    /// 429 after the retries the [`RetryPolicy`](crate::RetryPolicy) allows, or asking for a
    /// longer wait than its `max_delay`.
    #[error("rate limited (429){}: {response}", retry_after_note(.retry_after))]
    RateLimited {
        /// How long the server asked to wait (`retryAfter` or `Retry-After`).
        retry_after: Option<Duration>,
        /// The answer's fields.
        response: Box<ErrorResponse>,
    },
    /// 401 or 403: the API key is missing, wrong, or lacks the permission.
    #[error("the API key was refused ({status}): {response}")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The answer's fields.
        response: Box<ErrorResponse>,
    },
    /// Any other non-2xx answer (400, 422, 5xx after retries, ...).
    #[error("Meeting BaaS answered {status}: {response}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer's fields.
        response: Box<ErrorResponse>,
    },
    /// A 3xx answer. Redirects are never followed, so the API key is never sent to another
    /// host; point the base URL at the final address instead.
    #[error(
        "Meeting BaaS answered {status} (a redirect{}); redirects are not followed so that the API key stays with the configured host",
        location_note(.location_host)
    )]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The host of the `Location` header, if any (not the full URL: it may carry tokens).
        location_host: Option<String>,
    },
    /// No answer (or no complete body) within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made (refused, DNS, TLS handshake).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection broke or the answer was not HTTP.
    #[error("the exchange failed: {0}")]
    Transport(String),
    /// The answer's body is larger than the client's cap; it was not read to the end.
    #[error("the answer is larger than {limit} bytes")]
    ResponseTooLarge {
        /// The cap ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
        limit: usize,
    },
    /// A 2xx answer whose body is not what the endpoint documents.
    #[error("unexpected answer ({status}): {reason}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
}

impl Error {
    /// The HTTP status of the answer this error came from, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BotNotFound(_) => Some(404),
            Error::Conflict(_) => Some(409),
            Error::RateLimited { .. } => Some(429),
            Error::Unauthorized { status, .. }
            | Error::Status { status, .. }
            | Error::Redirect { status, .. }
            | Error::InvalidResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The fields of Meeting BaaS's error answer, if this error is one.
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self {
            Error::BotNotFound(response)
            | Error::Conflict(response)
            | Error::RateLimited { response, .. }
            | Error::Unauthorized { response, .. }
            | Error::Status { response, .. } => Some(response.as_ref()),
            _ => None,
        }
    }

    /// How long the server asked to wait, on [`Error::RateLimited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request was refused before anything was sent (bad input or configuration).
    pub fn is_before_request(&self) -> bool {
        matches!(
            self,
            Error::InvalidBotId(_) | Error::InvalidInput(_) | Error::Config(_)
        )
    }

    /// A short snake_case name for the kind of error (`bot_not_found`, `conflict`, ...), stable
    /// for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidBotId(_) => "invalid_bot_id",
            Error::InvalidInput(_) => "invalid_input",
            Error::Config(_) => "config",
            Error::BotNotFound(_) => "bot_not_found",
            Error::Conflict(_) => "conflict",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unauthorized { .. } => "unauthorized",
            Error::Status { .. } => "status",
            Error::Redirect { .. } => "redirect",
            Error::Timeout(_) => "timeout",
            Error::Connect(_) => "connect",
            Error::Transport(_) => "transport",
            Error::ResponseTooLarge { .. } => "response_too_large",
            Error::InvalidResponse { .. } => "invalid_response",
        }
    }
}

fn retry_after_note(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|wait| format!(", retry after {} s", wait.as_secs()))
        .unwrap_or_default()
}

fn location_note(host: &Option<String>) -> String {
    host.as_deref()
        .map(|host| format!(" to {}", excerpt(host, 100)))
        .unwrap_or_default()
}

/// `text` with control characters escaped (`\n`, `\u{1b}`) and at most `max` characters
/// (then `...`): safe to show on a terminal or in a log line.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push_str("...");
            break;
        }
        if c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_error_fields_are_read() {
        let response = ErrorResponse::from_body(
            br#"{"success":false,"error":"Conflict","code":"BOT_NOT_COMPLETED","statusCode":409,"message":"Bot is still in call","details":{"status":"in_call_recording"}}"#,
        );
        assert_eq!(response.success, Some(false));
        assert_eq!(response.error.as_deref(), Some("Conflict"));
        assert_eq!(response.code.as_deref(), Some("BOT_NOT_COMPLETED"));
        assert_eq!(response.status_code, Some(409));
        assert_eq!(response.message.as_deref(), Some("Bot is still in call"));
        assert!(response.details.is_some());
        assert_eq!(
            response.to_string(),
            "Bot is still in call [BOT_NOT_COMPLETED]"
        );
    }

    #[test]
    fn odd_bodies_give_what_can_be_read() {
        assert_eq!(
            ErrorResponse::from_body(b"<html>"),
            ErrorResponse::default()
        );
        let response = ErrorResponse::from_body(br#"{"retryAfter":"7","statusCode":"x"}"#);
        assert_eq!(response.retry_after, Some(7));
        assert_eq!(response.status_code, None);
        assert_eq!(
            ErrorResponse::from_body(br#"{"retryAfter":1.5}"#).retry_after,
            Some(2)
        );
    }

    #[test]
    fn server_text_is_escaped_and_shortened() {
        let response = ErrorResponse {
            message: Some(format!("\u{1b}]0;pwned\u{7}{}", "x".repeat(1000))),
            ..ErrorResponse::default()
        };
        let shown = Error::Status {
            status: 500,
            response: Box::new(response),
        }
        .to_string();
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.len() < 320, "{}", shown.len());
    }
}

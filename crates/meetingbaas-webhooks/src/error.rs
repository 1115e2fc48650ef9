//! Every way a delivery can be refused, with the HTTP answer each one maps to.
//!
//! Adapters do not choose statuses: they call [`VerifyError::status`] or [`ParseError::status`]
//! (through the receiving crate's `Error`), so every framework answers alike.

use alloc::string::String;

use crate::scheme::Scheme;

/// Why a [`Verifier`](crate::Verifier) or [`Signer`](crate::Signer) could not be built.
///
/// Raised at construction, never at request time. No variant holds the secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret was empty.
    #[error("the {scheme} secret is empty")]
    EmptySecret {
        /// The scheme it was given for.
        scheme: Scheme,
    },
    /// A Svix secret was not `whsec_` followed by standard base64.
    #[error("the svix secret is not `whsec_` followed by standard base64")]
    InvalidSvixSecret,
    /// No scheme was enabled: the verifier would refuse everything.
    #[error(
        "no scheme is enabled: give at least one secret (environment: MEETINGBAAS_WEBHOOK_SECRET, \
         MEETINGBAAS_SVIX_SECRET, MEETINGBAAS_CALLBACK_SECRET, MEETINGBAAS_API_KEY or \
         MEETINGBAAS_ALERT_SECRET)"
    )]
    NoSchemeEnabled,
    /// An environment variable could not be read.
    #[error("{name} is {reason}")]
    InvalidEnvVar {
        /// The variable.
        name: &'static str,
        /// What is wrong with its value.
        reason: &'static str,
    },
    /// The Svix scheme needs a clock, and without the `std` feature there is no default one.
    #[error("the svix scheme needs a clock: call `VerifierBuilder::clock`")]
    MissingClock,
    /// The body limit was zero.
    #[error("the body limit must be at least one byte")]
    ZeroBodyLimit,
}

/// Why a delivery was not verified. Every credential problem answers 401; a body over the limit
/// answers 413.
///
/// No variant holds a secret or an expected MAC.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No credential header of any enabled scheme was present.
    #[error("no credentials for any enabled scheme")]
    MissingCredentials,
    /// Some headers of a scheme were present, but not this one.
    #[error("the {header} header is missing")]
    MissingHeader {
        /// The scheme being checked.
        scheme: Scheme,
        /// The missing header's name.
        header: &'static str,
    },
    /// A credential header was sent more than once where one value is expected.
    #[error("the {header} header was sent more than once")]
    RepeatedHeader {
        /// The scheme being checked.
        scheme: Scheme,
        /// The repeated header's name.
        header: &'static str,
    },
    /// A credential header could not be read.
    #[error("the {header} header is malformed: {reason}")]
    MalformedHeader {
        /// The scheme being checked.
        scheme: Scheme,
        /// The header's name.
        header: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The Svix timestamp is further from now than the tolerance allows.
    #[error("the timestamp {timestamp} is outside the tolerance around now ({now})")]
    TimestampOutOfTolerance {
        /// The timestamp the delivery carried (Unix seconds).
        timestamp: i64,
        /// The verifier's clock when it checked (Unix seconds).
        now: i64,
    },
    /// No presented signature matches the body under any configured key.
    #[error("the signature does not match the body ({scheme} scheme)")]
    SignatureMismatch {
        /// The scheme being checked.
        scheme: Scheme,
    },
    /// The presented token is not a configured one.
    #[error("the token is not a configured one ({scheme} scheme)")]
    TokenMismatch {
        /// The scheme being checked.
        scheme: Scheme,
    },
    /// The body is larger than the configured limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read to its end (the client went away, or the stream failed).
    #[error("the body could not be read to its end")]
    BodyUnreadable,
    /// The body did not arrive completely within the body deadline (408): a sender trickling
    /// bytes must not hold a connection and a buffer for ever.
    #[error("the body did not arrive within the deadline of {seconds} s")]
    BodyTimeout {
        /// The deadline, in whole seconds (rounded up).
        seconds: u64,
    },
}

impl VerifyError {
    /// The HTTP status every adapter answers with.
    pub const fn status(&self) -> u16 {
        match self {
            VerifyError::PayloadTooLarge { .. } => 413,
            VerifyError::BodyUnreadable => 400,
            VerifyError::BodyTimeout { .. } => 408,
            _ => 401,
        }
    }

    /// A stable snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingCredentials => "missing_credentials",
            VerifyError::MissingHeader { .. } => "missing_header",
            VerifyError::RepeatedHeader { .. } => "repeated_header",
            VerifyError::MalformedHeader { .. } => "malformed_header",
            VerifyError::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            VerifyError::SignatureMismatch { .. } => "invalid_signature",
            VerifyError::TokenMismatch { .. } => "invalid_token",
            VerifyError::PayloadTooLarge { .. } => "payload_too_large",
            VerifyError::BodyUnreadable => "body_unreadable",
            VerifyError::BodyTimeout { .. } => "body_timeout",
        }
    }

    /// The scheme whose check failed, where one did.
    pub const fn scheme(&self) -> Option<Scheme> {
        match self {
            VerifyError::MissingHeader { scheme, .. }
            | VerifyError::RepeatedHeader { scheme, .. }
            | VerifyError::MalformedHeader { scheme, .. }
            | VerifyError::SignatureMismatch { scheme }
            | VerifyError::TokenMismatch { scheme } => Some(*scheme),
            VerifyError::TimestampOutOfTolerance { .. } => Some(Scheme::Svix),
            _ => None,
        }
    }
}

/// Why a verified body could not be read as an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not JSON (400).
    #[error("the body is not valid JSON: {message}")]
    InvalidJson {
        /// The JSON parser's description, with line and column.
        message: String,
    },
    /// The body is JSON, but not an object with a string `event` (400).
    #[error("the body is not a webhook envelope: {message}")]
    InvalidEnvelope {
        /// What was wrong.
        message: String,
    },
    /// The event is known, but its `data` does not fit its type (422).
    #[error("the data of `{event}` does not fit its type: {message}")]
    InvalidData {
        /// The wire name of the event.
        event: String,
        /// The JSON parser's description, with line and column.
        message: String,
    },
}

impl ParseError {
    /// The HTTP status every adapter answers with: 400, or 422 for [`ParseError::InvalidData`].
    pub const fn status(&self) -> u16 {
        match self {
            ParseError::InvalidData { .. } => 422,
            _ => 400,
        }
    }

    /// A stable snake_case code, the `error` field of the JSON answer.
    pub const fn code(&self) -> &'static str {
        match self {
            ParseError::InvalidJson { .. } => "invalid_json",
            ParseError::InvalidEnvelope { .. } => "invalid_envelope",
            ParseError::InvalidData { .. } => "invalid_event_data",
        }
    }
}

/// The longest `message` an error answer or log line carries, in bytes: a message quoting the
/// input (a JSON parser's "invalid type: string ...") never echoes more than an excerpt.
pub const MAX_MESSAGE_BYTES: usize = 200;

/// `message`, cut to at most [`MAX_MESSAGE_BYTES`] on a character boundary (with `...` when
/// cut).
pub fn excerpt(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - 3;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("...");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_errors_answer_401_and_size_413() {
        assert_eq!(VerifyError::MissingCredentials.status(), 401);
        assert_eq!(
            VerifyError::SignatureMismatch {
                scheme: Scheme::Svix
            }
            .status(),
            401
        );
        assert_eq!(
            VerifyError::TimestampOutOfTolerance {
                timestamp: 0,
                now: 999
            }
            .status(),
            401
        );
        assert_eq!(VerifyError::PayloadTooLarge { limit: 1 }.status(), 413);
    }

    #[test]
    fn parse_errors_answer_400_or_422() {
        let json = ParseError::InvalidJson {
            message: "x".into(),
        };
        let data = ParseError::InvalidData {
            event: "bot.failed".into(),
            message: "x".into(),
        };
        assert_eq!(json.status(), 400);
        assert_eq!(data.status(), 422);
        assert_eq!(data.code(), "invalid_event_data");
    }

    #[test]
    fn excerpts_are_cut_on_a_character_boundary() {
        let long = alloc::format!("invalid type: string \"{}\"", "é".repeat(10_000));
        let message = excerpt(long);
        assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
        assert!(message.ends_with("..."));
    }
}

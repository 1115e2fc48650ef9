//! Reading what `sign` and `verify` are given: the body on stdin and `--header` flags.

use std::io::{IsTerminal, Read};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use crate::failure::Failure;

/// Reads the body from stdin, at most `limit + 1` bytes (so that the caller can tell a body over
/// the limit without holding an unbounded one).
///
/// An interactive terminal or an empty stdin is a usage error rather than a wait or an empty
/// body: the body is bytes and is taken as is (a trailing newline is part of it).
pub(crate) fn body_from_stdin(command: &str, limit: usize) -> Result<Bytes, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::usage(format!(
            "no body on stdin: pipe or redirect one, e.g. `meetingbaas-webhooks {command} ... < body.json`"
        )));
    }
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut body = Vec::new();
    stdin
        .lock()
        .take(cap)
        .read_to_end(&mut body)
        .map_err(|err| Failure::runtime(format!("cannot read stdin: {err}")))?;
    if body.is_empty() {
        return Err(Failure::usage(format!(
            "stdin is empty: `{command}` reads the body from stdin, e.g. `meetingbaas-webhooks {command} ... < body.json`"
        )));
    }
    Ok(Bytes::from(body))
}

/// Parses one `--header 'Name: value'` (clap value parser). Spaces around the value are dropped,
/// as HTTP does. Errors never repeat the value: it may be a secret.
pub(crate) fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| "expected `Name: value` (no colon found)".to_string())?;
    if name.trim().is_empty() {
        return Err("expected `Name: value` (the name before the colon is empty)".to_string());
    }
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split_at_the_first_colon() {
        let (name, value) = parse_header("Svix-Signature:  v1,abc:def ").unwrap();
        assert_eq!(name, "svix-signature");
        assert_eq!(value, "v1,abc:def");
    }

    #[test]
    fn malformed_headers_are_refused() {
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
        assert!(parse_header("bad name: value").is_err());
        assert!(parse_header("x-a: line\nbreak").is_err());
    }
}

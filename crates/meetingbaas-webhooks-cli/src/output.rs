//! Writing lines to stdout and stderr without ever panicking, and without ever letting text
//! from the network or from a body drive the terminal.
//!
//! `println!` panics when stdout is closed (`meetingbaas-webhooks demo | head -1`); these helpers
//! ignore a closed stream instead, and flush every line so that a reader (a test, `tee`, a
//! terminal) sees it at once.
//!
//! Every line goes through [`escape`], the one place where control characters are made
//! harmless: a receiver's answer, an event's bot id, Meeting BaaS's error message or a URL
//! echoed back can all carry escape sequences (`ESC ]`, cursor moves, bidi overrides).

use std::fmt::Display;
use std::io::Write;

/// Writes one line to stdout and flushes it.
pub(crate) fn out(line: impl Display) {
    let line = escape(&line.to_string());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Writes one line to stderr.
pub(crate) fn err(line: impl Display) {
    let line = escape(&line.to_string());
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
    let _ = stderr.flush();
}

/// `text` with every control character (C0, DEL, C1), line and paragraph separator and bidi
/// control written as `\uXXXX`.
///
/// The form is JSON's own escape, so a JSON line stays valid JSON with the same meaning (JSON
/// text has such characters only inside strings, where `\uXXXX` denotes the same character).
pub(crate) fn escape(text: &str) -> String {
    if !text.chars().any(is_unsafe) {
        return text.to_owned();
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    escaped
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain text"), "plain text");
        assert_eq!(
            escape("a\u{1b}]0;title\u{7}b\nc\u{9b}d\u{202e}e"),
            "a\\u001b]0;title\\u0007b\\u000ac\\u009bd\\u202ee"
        );
    }

    #[test]
    fn escaped_json_is_still_the_same_json() {
        let value = serde_json::json!({"message": "x\u{85}y\u{7f}\u{2028}", "n": 1});
        let line = escape(&value.to_string());
        assert!(!line.chars().any(is_unsafe));
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
    }
}

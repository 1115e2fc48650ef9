//! Writing lines to stdout and stderr without ever panicking.
//!
//! `println!` panics when stdout is closed (`meetingbaas-webhooks demo | head -1`); these helpers
//! ignore a closed stream instead, and flush every line so that a reader (a test, `tee`, a
//! terminal) sees it at once.

use std::fmt::Display;
use std::io::Write;

/// Writes one line to stdout and flushes it.
pub(crate) fn out(line: impl Display) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Writes one line to stderr.
pub(crate) fn err(line: impl Display) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
    let _ = stderr.flush();
}

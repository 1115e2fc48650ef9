//! How a command fails: a one-line message and the exit status that goes with it.

use std::fmt;
use std::process::ExitCode;

/// A command's failure. `main` prints `error: <message>` on stderr and exits with its status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command line (or stdin) cannot be used as given: exit status 2, like clap's own errors.
    Usage(String),
    /// The command ran and did not succeed (unreachable URL, port in use, ...): exit status 1.
    Runtime(String),
    /// A failure with an exit status of its own (the Meeting BaaS API commands: 3 bot not
    /// found, 4 conflict, 5 rate limited).
    Status(u8, String),
}

impl Failure {
    /// A usage error (exit status 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure::Usage(message.into())
    }

    /// A runtime error (exit status 1).
    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        Failure::Runtime(message.into())
    }

    /// The process exit status for this failure.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Runtime(_) => ExitCode::from(1),
            Failure::Status(code, _) => ExitCode::from(*code),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Failure::Usage(message) | Failure::Runtime(message) | Failure::Status(_, message)) =
            self;
        // Always one line, whatever an underlying error printed.
        let mut first = true;
        for line in message.lines().filter(|l| !l.trim().is_empty()) {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(line.trim())?;
            first = false;
        }
        Ok(())
    }
}

//! A testing aid: handlers that fail, panic, hang or slow down for chosen bot ids, so that a worker's
//! retries, dead letters, timeout and shutdown can be tried from outside a program. The
//! examples read it from `MEETINGBAAS_EXAMPLE_FAULTS`.
//!
//! A list is comma-separated `FAULT:BOT_ID`, where `FAULT` is
//! - `fail`: the attempt returns a retryable error (retried with backoff, then a dead letter),
//! - `permanent`: the attempt returns a permanent error (a dead letter at once),
//! - `panic`: the handler panics (the worker catches it and retries, like `fail`),
//! - `hang`: the handler never returns (the worker's per-attempt timeout ends it),
//! - `slow`: the handler takes 20 ms more, then succeeds (so that attempts of one bot would
//!   overlap if they were run at once).
//!
//! ```
//! use meetingbaas_webhooks_inbox::testing::faults::{Fault, Faults};
//!
//! let faults = Faults::parse("fail:bot-a,hang:bot-d").unwrap();
//! assert_eq!(faults.get(Some("bot-a")), Some(Fault::Fail));
//! assert_eq!(faults.get(Some("bot-b")), None);
//! ```
//!
//! It is for trying programs out, never for production.

use crate::HandlerError;

/// What a handler does for a bot named in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A retryable error.
    Fail,
    /// A permanent error: dead-lettered without retries.
    Permanent,
    /// A panic.
    Panic,
    /// Never returns.
    Hang,
    /// Succeeds after [`SLOW`].
    Slow,
}

/// How long a [`Fault::Slow`] handler takes.
pub const SLOW: std::time::Duration = std::time::Duration::from_millis(20);

/// The parsed list: (fault, bot id) pairs.
#[derive(Debug, Default)]
pub struct Faults(Vec<(Fault, String)>);

impl Faults {
    /// Parses `fail:bot-a,hang:bot-b`; an empty string is no fault. The error says what is
    /// wrong, with the input escaped.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut faults = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (fault, bot) = entry
                .split_once(':')
                .ok_or_else(|| format!("`{}` is not FAULT:BOT_ID", entry.escape_debug()))?;
            let fault = match fault {
                "fail" => Fault::Fail,
                "permanent" => Fault::Permanent,
                "panic" => Fault::Panic,
                "hang" => Fault::Hang,
                "slow" => Fault::Slow,
                other => {
                    return Err(format!(
                        "unknown fault `{}` (fail, permanent, panic, hang or slow)",
                        other.escape_debug()
                    ));
                }
            };
            if bot.is_empty() {
                return Err(format!("`{}` names no bot id", entry.escape_debug()));
            }
            faults.push((fault, bot.to_string()));
        }
        Ok(Faults(faults))
    }

    /// The list in the environment variable `var` (none when it is unset); an error names the
    /// variable.
    pub fn from_env(var: &str) -> Result<Self, String> {
        match std::env::var(var) {
            Ok(spec) => Faults::parse(&spec).map_err(|err| format!("{var}: {err}")),
            Err(std::env::VarError::NotPresent) => Ok(Faults::default()),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{var}: not UTF-8")),
        }
    }

    /// Whether the list names no bot.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fault for `bot_id`, if the list names it.
    pub fn get(&self, bot_id: Option<&str>) -> Option<Fault> {
        let bot_id = bot_id?;
        self.0
            .iter()
            .find(|(_, bot)| bot == bot_id)
            .map(|(fault, _)| *fault)
    }

    /// Runs the fault named for `bot_id`, if any: returns the error to give, panics, or never
    /// returns. Call it first in a handler: `faults.inject(job.bot_id()).await?`.
    pub async fn inject(&self, bot_id: Option<&str>) -> Result<(), HandlerError> {
        match self.get(bot_id) {
            None => Ok(()),
            Some(Fault::Fail) => Err(HandlerError::retry("injected fault: fail")),
            Some(Fault::Permanent) => Err(HandlerError::permanent("injected fault: permanent")),
            Some(Fault::Panic) => panic!("injected fault: panic"),
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Slow) => {
                tokio::time::sleep(SLOW).await;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_names_a_fault_per_bot() {
        let faults = Faults::parse(" fail:a, hang:b ,,permanent:c,panic:d").unwrap();
        assert_eq!(faults.get(Some("a")), Some(Fault::Fail));
        assert_eq!(faults.get(Some("b")), Some(Fault::Hang));
        assert_eq!(faults.get(Some("c")), Some(Fault::Permanent));
        assert_eq!(faults.get(Some("d")), Some(Fault::Panic));
        assert_eq!(faults.get(Some("e")), None);
        assert_eq!(faults.get(None), None);
        assert!(Faults::parse("").unwrap().0.is_empty());
    }

    #[test]
    fn a_malformed_list_says_what_is_wrong() {
        assert!(Faults::parse("fail").unwrap_err().contains("FAULT:BOT_ID"));
        assert!(
            Faults::parse("explode:a")
                .unwrap_err()
                .contains("unknown fault")
        );
        assert!(Faults::parse("fail:").unwrap_err().contains("no bot id"));
        // Nothing from the environment is printed raw.
        assert!(!Faults::parse("\u{1b}[31m").unwrap_err().contains('\u{1b}'));
    }
}

//! A testing aid: make the example handlers fail, panic or hang for chosen bot ids, so that the
//! worker's retries, dead letters, timeout and shutdown can be tried from outside.
//!
//! `MEETINGBAAS_EXAMPLE_FAULTS` is a comma-separated list of `FAULT:BOT_ID`, where `FAULT` is
//! - `fail`: the attempt returns a retryable error (retried with backoff, then a dead letter),
//! - `permanent`: the attempt returns a permanent error (a dead letter at once),
//! - `panic`: the handler panics (the worker catches it and retries, like `fail`),
//! - `hang`: the handler never returns (the worker's per-attempt timeout ends it).
//!
//! ```text
//! MEETINGBAAS_EXAMPLE_FAULTS=fail:bot-a,permanent:bot-b,panic:bot-c,hang:bot-d
//! ```
//!
//! Unset, it costs one lookup in an empty list per attempt. A malformed list stops the example
//! at start with a one-line message. It is for trying the examples, never for production.

use std::sync::OnceLock;

use meetingbaas_webhooks_inbox::HandlerError;

/// The environment variable read once, at the first attempt (or by [`check`]).
pub const FAULTS_VAR: &str = "MEETINGBAAS_EXAMPLE_FAULTS";

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
}

/// The parsed list: (fault, bot id) pairs.
#[derive(Debug, Default)]
pub struct Faults(Vec<(Fault, String)>);

impl Faults {
    /// Parses `fail:bot-a,hang:bot-b`; an empty string is no fault.
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
                other => {
                    return Err(format!(
                        "unknown fault `{}` (fail, permanent, panic or hang)",
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

    /// The fault for `bot_id`, if the list names it.
    pub fn get(&self, bot_id: Option<&str>) -> Option<Fault> {
        let bot_id = bot_id?;
        self.0
            .iter()
            .find(|(_, bot)| bot == bot_id)
            .map(|(fault, _)| *fault)
    }
}

fn configured() -> &'static Result<Faults, String> {
    static FAULTS: OnceLock<Result<Faults, String>> = OnceLock::new();
    FAULTS.get_or_init(|| match std::env::var(FAULTS_VAR) {
        Ok(spec) => Faults::parse(&spec),
        Err(std::env::VarError::NotPresent) => Ok(Faults::default()),
        Err(std::env::VarError::NotUnicode(_)) => Err("not UTF-8".to_string()),
    })
}

/// Reads and checks `MEETINGBAAS_EXAMPLE_FAULTS` now: the examples call it at start, so a
/// malformed list is a one-line error instead of a surprise at the first delivery.
pub fn check() -> Result<(), String> {
    match configured() {
        Ok(faults) if !faults.0.is_empty() => {
            tracing::warn!(
                faults = faults.0.len(),
                "{FAULTS_VAR} is set: the example's handlers fail on purpose for the bots it names"
            );
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(err) => Err(format!("{FAULTS_VAR}: {err}")),
    }
}

/// Runs the fault configured for `bot_id`, if any: returns the error to give, panics, or never
/// returns.
pub async fn inject(bot_id: Option<&str>) -> Result<(), HandlerError> {
    let Ok(faults) = configured() else {
        return Ok(());
    };
    match faults.get(bot_id) {
        None => Ok(()),
        Some(Fault::Fail) => Err(HandlerError::retry(format!("{FAULTS_VAR}: fail"))),
        Some(Fault::Permanent) => Err(HandlerError::permanent(format!("{FAULTS_VAR}: permanent"))),
        Some(Fault::Panic) => panic!("{FAULTS_VAR}: panic"),
        Some(Fault::Hang) => std::future::pending().await,
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

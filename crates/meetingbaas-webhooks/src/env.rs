//! Configuration from the environment variables every example and the CLI understand.

use alloc::string::String;

use crate::error::ConfigError;
use crate::scheme::Scheme;
use crate::verifier::{Verifier, VerifierBuilder};

/// The environment variable holding the secret of each scheme, in [`Scheme::ALL`] order.
pub const SECRET_ENV_VARS: [(Scheme, &str); 5] = [
    (Scheme::Svix, "MEETINGBAAS_SVIX_SECRET"),
    (Scheme::Signature, "MEETINGBAAS_WEBHOOK_SECRET"),
    (Scheme::Callback, "MEETINGBAAS_CALLBACK_SECRET"),
    (Scheme::ApiKey, "MEETINGBAAS_API_KEY"),
    (Scheme::Alert, "MEETINGBAAS_ALERT_SECRET"),
];

/// The environment variable holding the body limit in bytes.
pub const MAX_BODY_ENV_VAR: &str = "MEETINGBAAS_MAX_BODY_BYTES";

impl VerifierBuilder {
    /// Enables a scheme for each of `MEETINGBAAS_SVIX_SECRET`, `MEETINGBAAS_WEBHOOK_SECRET`
    /// (signature), `MEETINGBAAS_CALLBACK_SECRET`, `MEETINGBAAS_API_KEY` and
    /// `MEETINGBAAS_ALERT_SECRET` (`x-mb-alert-secret`) that `lookup` finds,
    /// and applies `MEETINGBAAS_MAX_BODY_BYTES` when set.
    ///
    /// `lookup` is how variables are read: [`std::env::var`] in [`Verifier::from_env`], a map in
    /// tests. A set but empty variable is an error (an empty secret), not a disabled scheme.
    pub fn env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        for (scheme, name) in SECRET_ENV_VARS {
            if let Some(secret) = lookup(name) {
                self = self.secret(scheme, secret);
            }
        }
        if let Some(raw) = lookup(MAX_BODY_ENV_VAR) {
            match raw.trim().parse::<usize>() {
                Ok(limit) => self = self.max_body_bytes(limit),
                Err(_) => {
                    self = self.fail(ConfigError::InvalidEnvVar {
                        name: MAX_BODY_ENV_VAR,
                        reason: "not a whole number of bytes",
                    })
                }
            }
        }
        self
    }
}

impl Verifier {
    /// A verifier configured from the process environment (see [`VerifierBuilder::env_with`]).
    ///
    /// With no secret variable set this fails with [`ConfigError::NoSchemeEnabled`], whose message
    /// names the variables.
    pub fn from_env() -> Result<Verifier, ConfigError> {
        Verifier::builder()
            .env_with(|name| std::env::var(name).ok())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn each_set_variable_enables_its_scheme() {
        let verifier = Verifier::builder()
            .env_with(lookup(&[
                ("MEETINGBAAS_CALLBACK_SECRET", "cb"),
                ("MEETINGBAAS_MAX_BODY_BYTES", "1024"),
            ]))
            .build()
            .unwrap();
        assert_eq!(
            verifier.schemes().collect::<alloc::vec::Vec<_>>(),
            [Scheme::Callback]
        );
        assert_eq!(verifier.max_body_bytes(), 1024);
    }

    #[test]
    fn nothing_set_is_an_error_naming_the_variables() {
        let err = Verifier::builder()
            .env_with(lookup(&[]))
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::NoSchemeEnabled);
        assert!(err.to_string().contains("MEETINGBAAS_WEBHOOK_SECRET"));
    }

    #[test]
    fn a_bad_limit_is_an_error() {
        let err = Verifier::builder()
            .env_with(lookup(&[
                ("MEETINGBAAS_API_KEY", "k"),
                ("MEETINGBAAS_MAX_BODY_BYTES", "lots"),
            ]))
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidEnvVar { .. }));
    }
}

//! Configuration from the environment variables every example and the CLI understand.
//!
//! [`EndpointConfig::from_env`](crate::EndpointConfig::from_env) (and
//! [`Pipeline::from_env`](crate::Pipeline::from_env)) read them together with the endpoint
//! JSON; [`verifier`] reads only the secrets and the body limit.

use meetingbaas_webhooks::{ConfigError, Scheme, Verifier, VerifierBuilder};

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

/// Enables on `builder` a scheme for each of `MEETINGBAAS_SVIX_SECRET`,
/// `MEETINGBAAS_WEBHOOK_SECRET` (signature), `MEETINGBAAS_CALLBACK_SECRET`,
/// `MEETINGBAAS_API_KEY` and `MEETINGBAAS_ALERT_SECRET` (`x-mb-alert-secret`) that `lookup`
/// finds, and applies `MEETINGBAAS_MAX_BODY_BYTES` when set.
///
/// `lookup` is how variables are read: [`std::env::var`] in [`verifier`], a map in tests. A set
/// but empty variable is an error when the verifier is built (an empty secret), not a disabled
/// scheme.
pub fn apply(
    mut builder: VerifierBuilder,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<VerifierBuilder, ConfigError> {
    for (scheme, name) in SECRET_ENV_VARS {
        if let Some(secret) = lookup(name) {
            builder = builder.secret(scheme, secret);
        }
    }
    if let Some(raw) = lookup(MAX_BODY_ENV_VAR) {
        let limit = raw
            .trim()
            .parse::<usize>()
            .map_err(|_| ConfigError::InvalidEnvVar {
                name: MAX_BODY_ENV_VAR,
                reason: "not a whole number of bytes",
            })?;
        builder = builder.max_body_bytes(limit);
    }
    Ok(builder)
}

/// A verifier configured from the process environment (see [`apply`]).
///
/// With no secret variable set this fails with [`ConfigError::NoSchemeEnabled`], whose message
/// names the variables.
pub fn verifier() -> Result<Verifier, ConfigError> {
    apply(Verifier::builder(), |name| std::env::var(name).ok())?.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn build(vars: &'static [(&'static str, &'static str)]) -> Result<Verifier, ConfigError> {
        apply(Verifier::builder(), lookup(vars))?.build()
    }

    #[test]
    fn each_set_variable_enables_its_scheme() {
        let verifier = build(&[
            ("MEETINGBAAS_CALLBACK_SECRET", "cb"),
            ("MEETINGBAAS_MAX_BODY_BYTES", "1024"),
        ])
        .unwrap();
        assert_eq!(verifier.schemes().collect::<Vec<_>>(), [Scheme::Callback]);
        assert_eq!(verifier.max_body_bytes(), 1024);
    }

    #[test]
    fn nothing_set_is_an_error_naming_the_variables() {
        let err = build(&[]).unwrap_err();
        assert_eq!(err, ConfigError::NoSchemeEnabled);
        assert!(err.to_string().contains("MEETINGBAAS_WEBHOOK_SECRET"));
    }

    #[test]
    fn a_bad_limit_is_an_error() {
        let err = build(&[
            ("MEETINGBAAS_API_KEY", "k"),
            ("MEETINGBAAS_MAX_BODY_BYTES", "lots"),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidEnvVar { .. }));
    }
}

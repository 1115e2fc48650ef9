//! Schemes and secrets, from flags or the same environment variables as the examples.
//!
//! A secret given with `--secret` wins; otherwise the scheme's variable from
//! [`SECRET_ENV_VARS`] is read. Secrets are never printed: not in `--help` (no defaults are shown,
//! clap's `env` display is not used), not in errors (the core's errors never contain them).

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser, ValueParser};
use meetingbaas_webhooks::{Scheme, Signer, Verifier, VerifierBuilder};
use meetingbaas_webhooks_receiver::{MAX_BODY_ENV_VAR, SECRET_ENV_VARS};

use crate::failure::Failure;

/// The `--scheme` value parser: `svix`, `signature`, `callback`, `api-key` or `alert`, read with
/// [`Scheme::from_name`].
pub(crate) fn scheme_parser() -> ValueParser {
    let names = Scheme::ALL.map(|scheme| {
        let value = PossibleValue::new(scheme.as_str());
        match scheme {
            Scheme::ApiKey => value.aliases(["api_key", "apikey"]),
            _ => value,
        }
    });
    ValueParser::new(
        PossibleValuesParser::new(names).try_map(|name| {
            Scheme::from_name(&name).ok_or_else(|| format!("unknown scheme `{name}`"))
        }),
    )
}

/// The environment variable holding `scheme`'s secret.
pub(crate) fn env_var(scheme: Scheme) -> &'static str {
    SECRET_ENV_VARS
        .iter()
        .find(|(s, _)| *s == scheme)
        .map_or("", |(_, name)| name)
}

/// Reads an environment variable; a set but non-UTF-8 value is a usage error, not "unset".
fn read_env(name: &str) -> Result<Option<String>, Failure> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::usage(format!(
            "{name} is set but is not valid UTF-8"
        ))),
    }
}

/// The secret for `scheme`: `--secret` when given, else the scheme's environment variable.
pub(crate) fn secret_for(scheme: Scheme, flag: Option<String>) -> Result<String, Failure> {
    if let Some(secret) = flag {
        return Ok(secret);
    }
    let name = env_var(scheme);
    read_env(name)?.ok_or_else(|| {
        Failure::usage(format!(
            "no secret for the {scheme} scheme: pass --secret or set {name}"
        ))
    })
}

/// A signer for one scheme.
pub(crate) fn signer(scheme: Scheme, secret: Option<String>) -> Result<Signer, Failure> {
    let secret = secret_for(scheme, secret)?;
    Signer::new(scheme, &secret).map_err(|err| Failure::usage(err.to_string()))
}

/// A verifier for `listen` and `verify`.
///
/// - `--scheme S --secret X`: only S, with X;
/// - `--scheme S`: only S, with its environment variable;
/// - neither: every scheme whose environment variable is set (as the examples do).
///
/// `MEETINGBAAS_MAX_BODY_BYTES` applies in every case; `configure` adds command-specific settings
/// (tolerance, clock).
pub(crate) fn verifier(
    scheme: Option<Scheme>,
    secret: Option<String>,
    configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> Result<Verifier, Failure> {
    let mut builder = Verifier::builder();
    match scheme {
        Some(scheme) => builder = builder.secret(scheme, secret_for(scheme, secret)?),
        None => {
            if secret.is_some() {
                return Err(Failure::usage("--secret needs --scheme"));
            }
            for (scheme, name) in SECRET_ENV_VARS {
                if let Some(secret) = read_env(name)? {
                    builder = builder.secret(scheme, secret);
                }
            }
        }
    }
    if let Some(limit) = read_env(MAX_BODY_ENV_VAR)? {
        builder = meetingbaas_webhooks_receiver::env::apply(builder, |name| {
            (name == MAX_BODY_ENV_VAR).then(|| limit.clone())
        })
        .map_err(|err| Failure::usage(err.to_string()))?;
    }
    configure(builder).build().map_err(|err| match err {
        meetingbaas_webhooks::ConfigError::NoSchemeEnabled => Failure::usage(
            "no scheme is enabled: pass --scheme and --secret, or set MEETINGBAAS_SVIX_SECRET, \
             MEETINGBAAS_WEBHOOK_SECRET, MEETINGBAAS_CALLBACK_SECRET, MEETINGBAAS_API_KEY or \
             MEETINGBAAS_ALERT_SECRET",
        ),
        other => Failure::usage(other.to_string()),
    })
}

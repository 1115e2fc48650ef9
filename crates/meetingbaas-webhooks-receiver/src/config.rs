//! An endpoint's configuration as the product description writes it, read from a JSON file, with
//! the environment variables of [`env::verifier`](crate::env::verifier) overriding it.
//!
//! ```json
//! {
//!   "webhook_url": "https://your-app.com/webhooks/meetingbaas",
//!   "events": ["meeting.started", "meeting.completed", "meeting.failed", "transcription.available"],
//!   "secret": "your-webhook-secret-key",
//!   "enabled": true
//! }
//! ```
//!
//! | field | meaning | overridden by |
//! |---|---|---|
//! | `webhook_url` | its path (or an absolute path alone) is the route a server serves (default `/webhooks/meetingbaas`) | |
//! | `events` | wire names of docs/protocol.md §3; each lets all its synonyms through; others are answered 200 `{"status":"ignored"}` (default: every event) | |
//! | `secret` | the `X-MeetingBaas-Signature` secret | `MEETINGBAAS_WEBHOOK_SECRET` |
//! | `svix_secret`, `callback_secret`, `api_key`, `alert_secret` | the other schemes' secrets | `MEETINGBAAS_SVIX_SECRET`, `MEETINGBAAS_CALLBACK_SECRET`, `MEETINGBAAS_API_KEY`, `MEETINGBAAS_ALERT_SECRET` |
//! | `enabled` | `false`: every delivery is answered 503 with `Retry-After`, before its body is read (the sender keeps it and retries) (default `true`) | |
//! | `max_body_bytes` | the body limit | `MEETINGBAAS_MAX_BODY_BYTES` |
//!
//! Each secret field takes one string or an array of them, all accepted at once: during a
//! rotation, `["new", "old"]`. A server set up by `meetingbaas-webhooks-server` reads the file
//! again on `SIGHUP` and replaces its key ring (the secrets and `max_body_bytes`), so a secret
//! kept here (a Kubernetes secret mounted as this file) rotates without a restart.
//!
//! Every problem is found when the configuration is read, never at request time: a file that
//! cannot be read, is not JSON, has a field of the wrong type or a field not in the table, an
//! unknown event name, an empty secret, a `webhook_url` whose path is not absolute. Each is one
//! line naming the file and the field.
//!
//! ```
//! use meetingbaas_webhooks_receiver::EndpointConfig;
//! use meetingbaas_webhooks::EventKind;
//!
//! let config = EndpointConfig::from_json(r#"{
//!     "webhook_url": "https://your-app.com/webhooks/meetingbaas",
//!     "events": ["meeting.completed"],
//!     "secret": "your-webhook-secret-key",
//!     "enabled": true
//! }"#)?;
//! assert_eq!(config.route(), "/webhooks/meetingbaas");
//! // `meeting.completed` also means `bot.completed` and `complete`: one kind.
//! assert!(config.kinds().unwrap().contains(&EventKind::BotCompleted));
//! assert!(config.enabled());
//! # Ok::<(), meetingbaas_webhooks_receiver::EndpointConfigError>(())
//! ```
//!
//! Alert callbacks (their own scheme, `alert_secret`) are not subscribed through `events`: they
//! are always let through.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

use serde::Deserialize;

use crate::env::{MAX_BODY_ENV_VAR, SECRET_ENV_VARS};
use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks::Verifier;
use meetingbaas_webhooks::{ConfigError, excerpt};
use meetingbaas_webhooks::{EventKind, EventName};

/// The environment variable naming the endpoint configuration file.
pub const CONFIG_ENV_VAR: &str = "MEETINGBAAS_CONFIG";

/// The route served when the configuration names none.
pub const DEFAULT_ROUTE: &str = "/webhooks/meetingbaas";

/// The largest configuration file read, in bytes: a path to something endless (`/dev/zero`) is
/// an error, not a hang.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The document, exactly as written: every field optional, no other field allowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "EndpointConfig")]
struct Document {
    webhook_url: Option<String>,
    events: Option<Vec<String>>,
    secret: Option<Secrets>,
    svix_secret: Option<Secrets>,
    callback_secret: Option<Secrets>,
    api_key: Option<Secrets>,
    alert_secret: Option<Secrets>,
    enabled: Option<bool>,
    max_body_bytes: Option<usize>,
}

/// One secret, or several accepted at once (a rotation: the new one and the old one).
#[derive(Deserialize)]
#[serde(untagged)]
enum Secrets {
    One(String),
    Many(Vec<String>),
}

impl Secrets {
    fn all(&self) -> &[String] {
        match self {
            Secrets::One(secret) => std::slice::from_ref(secret),
            Secrets::Many(secrets) => secrets,
        }
    }
}

impl Document {
    /// The document's field holding `scheme`'s secrets, and its name.
    fn secret_of(&self, scheme: Scheme) -> (&'static str, Option<&[String]>) {
        let (field, value) = match scheme {
            Scheme::Svix => ("svix_secret", &self.svix_secret),
            Scheme::Signature => ("secret", &self.secret),
            Scheme::Callback => ("callback_secret", &self.callback_secret),
            Scheme::ApiKey => ("api_key", &self.api_key),
            Scheme::Alert => ("alert_secret", &self.alert_secret),
            // A scheme of a later core: no field of this document.
            _ => return ("", None),
        };
        (field, value.as_ref().map(Secrets::all))
    }
}

/// One endpoint's receiving configuration: the verifier (secrets and body limit), the kinds let
/// through, the route, and whether deliveries are taken at all. See the [crate docs](crate).
///
/// `Debug` shows no secret (the verifier keeps only prepared keys).
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    source: Option<PathBuf>,
    webhook_url: Option<String>,
    route: String,
    events: Option<Vec<EventName>>,
    kinds: Option<Vec<EventKind>>,
    enabled: bool,
    verifier: Verifier,
}

/// Why an endpoint configuration could not be read. Its `Display` is one line naming the file
/// (or the variable) and what is wrong; no variant holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointConfigError {
    /// The file could not be read.
    #[error("cannot read the endpoint configuration {}: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The document is not a valid endpoint configuration: not JSON, truncated, a wrong type, a
    /// field not known, an unknown event, an empty secret, a route that is not absolute.
    #[error("{origin}: {reason}")]
    Invalid {
        /// Where it came from: `endpoint configuration <path>`.
        origin: String,
        /// What is wrong, with the field and (for JSON errors) line and column.
        reason: String,
    },
    /// An environment variable is wrong, or no scheme is enabled by the file or the environment.
    #[error(transparent)]
    Environment(ConfigError),
}

/// Where a setting came from, to say so in an error.
#[derive(Clone, Copy)]
enum Source {
    File(&'static str),
    Env(&'static str),
}

impl EndpointConfig {
    /// Reads a configuration from a JSON document (no file, no environment).
    pub fn from_json(json: &str) -> Result<EndpointConfig, EndpointConfigError> {
        let origin = "endpoint configuration".to_string();
        let document = parse(json, &origin)?;
        EndpointConfig::assemble(Some(document), None, origin, &|_| None)
    }

    /// Reads a configuration from a JSON file (the environment is not consulted).
    pub fn from_path(path: impl AsRef<Path>) -> Result<EndpointConfig, EndpointConfigError> {
        let path = path.as_ref();
        let (document, origin) = read(path)?;
        EndpointConfig::assemble(Some(document), Some(path), origin, &|_| None)
    }

    /// The configuration of the process: the file named by `MEETINGBAAS_CONFIG` when it is set,
    /// with every `MEETINGBAAS_*` variable of [`env::verifier`](crate::env::verifier) overriding the file's
    /// value. Without `MEETINGBAAS_CONFIG` this is [`env::verifier`](crate::env::verifier) with the default
    /// route, every event, enabled.
    pub fn from_env() -> Result<EndpointConfig, EndpointConfigError> {
        EndpointConfig::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `lookup` (a map in tests).
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<EndpointConfig, EndpointConfigError> {
        let path = match lookup(CONFIG_ENV_VAR) {
            Some(path) if path.is_empty() => {
                return Err(EndpointConfigError::Environment(
                    ConfigError::InvalidEnvVar {
                        name: CONFIG_ENV_VAR,
                        reason: "empty (unset it, or name the endpoint JSON file)",
                    },
                ));
            }
            path => path.map(PathBuf::from),
        };
        EndpointConfig::from_path_and_env(path, lookup)
    }

    /// The file at `path` when given (a `--config` flag), else none, with the environment read
    /// through `lookup` overriding it. `MEETINGBAAS_CONFIG` is not consulted.
    pub fn from_path_and_env(
        path: Option<PathBuf>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<EndpointConfig, EndpointConfigError> {
        match path {
            Some(path) => {
                let (document, origin) = read(&path)?;
                EndpointConfig::assemble(Some(document), Some(&path), origin, &lookup)
            }
            None => EndpointConfig::assemble(None, None, String::new(), &lookup),
        }
    }

    fn assemble(
        document: Option<Document>,
        path: Option<&Path>,
        origin: String,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<EndpointConfig, EndpointConfigError> {
        let invalid = |reason: String| EndpointConfigError::Invalid {
            origin: origin.clone(),
            reason,
        };
        let has_document = document.is_some();
        let document = document.unwrap_or(Document {
            webhook_url: None,
            events: None,
            secret: None,
            svix_secret: None,
            callback_secret: None,
            api_key: None,
            alert_secret: None,
            enabled: None,
            max_body_bytes: None,
        });

        let route = match &document.webhook_url {
            Some(url) => route_of(url).map_err(|reason| {
                invalid(format!(
                    "`webhook_url` {reason} (got {:?})",
                    excerpt(url.clone())
                ))
            })?,
            None => DEFAULT_ROUTE.to_string(),
        };

        let events = match &document.events {
            None => None,
            Some(names) if names.is_empty() => {
                return Err(invalid(
                    "`events` is empty: list the events to receive, or leave the field out to \
                     receive every event"
                        .to_string(),
                ));
            }
            Some(names) => {
                let mut events = Vec::with_capacity(names.len());
                for name in names {
                    let Some(event) = EventName::from_wire(name) else {
                        return Err(invalid(format!(
                            "`events` names an unknown event {:?} (known: {})",
                            excerpt(name.clone()),
                            EventName::ALL
                                .iter()
                                .map(|n| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    };
                    events.push(event);
                }
                Some(events)
            }
        };
        // Each name means its kind, so every synonym of it (`meeting.completed`: also
        // `bot.completed` and `complete`); alerts are not subscribed through `events`.
        let kinds = events.as_ref().map(|events| {
            let mut kinds: Vec<EventKind> = events.iter().map(|e| e.kind()).collect();
            kinds.push(EventKind::Alert);
            kinds.sort();
            kinds.dedup();
            kinds
        });

        // Secrets: the environment's variable wins over the file's field.
        let mut builder = Verifier::builder();
        let mut sources = Vec::new();
        for (scheme, name) in SECRET_ENV_VARS {
            let (field, value) = document.secret_of(scheme);
            if let Some(secret) = lookup(name) {
                builder = builder.secret(scheme, secret);
                sources.push((scheme, Source::Env(name)));
            } else if let Some(secrets) = value {
                if secrets.is_empty() || secrets.iter().any(String::is_empty) {
                    return Err(invalid(format!("`{field}` is empty")));
                }
                for secret in secrets {
                    builder = builder.secret(scheme, secret);
                }
                sources.push((scheme, Source::File(field)));
            }
        }
        if lookup(MAX_BODY_ENV_VAR).is_none()
            && let Some(limit) = document.max_body_bytes
        {
            if limit == 0 {
                return Err(invalid(
                    "`max_body_bytes` must be at least one byte".to_string(),
                ));
            }
            builder = builder.max_body_bytes(limit);
        }
        // Only the body limit is read here: every secret variable was applied above.
        builder = crate::env::apply(builder, |name| {
            (name == MAX_BODY_ENV_VAR).then(|| lookup(name)).flatten()
        })
        .map_err(EndpointConfigError::Environment)?;
        let source_of = |scheme: Scheme| {
            sources
                .iter()
                .find(|(s, _)| *s == scheme)
                .map(|(_, source)| *source)
        };
        let verifier = builder.build().map_err(|err| match (&err, has_document) {
            (ConfigError::EmptySecret { scheme }, _) => match source_of(*scheme) {
                Some(Source::Env(name)) => {
                    EndpointConfigError::Environment(ConfigError::InvalidEnvVar {
                        name,
                        reason: "empty",
                    })
                }
                Some(Source::File(field)) => invalid(format!("`{field}` is empty")),
                None => EndpointConfigError::Environment(err),
            },
            (ConfigError::InvalidSvixSecret, _) => match source_of(Scheme::Svix) {
                Some(Source::File(field)) => invalid(format!(
                    "`{field}` is not `whsec_` followed by standard base64"
                )),
                _ => EndpointConfigError::Environment(err),
            },
            (ConfigError::NoSchemeEnabled, true) => invalid(
                "no secret: set `secret` (or `svix_secret`, `callback_secret`, `api_key`, \
                 `alert_secret`) here, or MEETINGBAAS_WEBHOOK_SECRET (or MEETINGBAAS_SVIX_SECRET, \
                 MEETINGBAAS_CALLBACK_SECRET, MEETINGBAAS_API_KEY, MEETINGBAAS_ALERT_SECRET)"
                    .to_string(),
            ),
            _ => EndpointConfigError::Environment(err),
        })?;

        Ok(EndpointConfig {
            source: path.map(Path::to_path_buf),
            webhook_url: document.webhook_url,
            route,
            events,
            kinds,
            enabled: document.enabled.unwrap_or(true),
            verifier,
        })
    }

    /// The verifier: every scheme with a secret, the body limit.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The route to serve: `webhook_url`'s path, or [`DEFAULT_ROUTE`]. Always starts with `/`,
    /// and holds only ASCII letters, digits and `-._~%+@/`.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// `webhook_url` as written, when given.
    pub fn webhook_url(&self) -> Option<&str> {
        self.webhook_url.as_deref()
    }

    /// The event names listed in `events`, or `None` for every event.
    pub fn events(&self) -> Option<&[EventName]> {
        self.events.as_deref()
    }

    /// The kinds let through (each listed name's kind, plus [`EventKind::Alert`]), or `None`
    /// for every kind. Give them to [`Pipeline::only`](crate::Pipeline::only).
    pub fn kinds(&self) -> Option<&[EventKind]> {
        self.kinds.as_deref()
    }

    /// Whether deliveries are taken (`enabled`, default `true`); when `false`, every delivery is
    /// answered 503 with `Retry-After`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The file the configuration was read from, when there was one.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// A receiving pipeline with this configuration: its verifier, its kinds
    /// ([`Pipeline::only`](crate::Pipeline::only)), and
    /// [`enabled`](crate::Pipeline::enabled). Parsing, deduplication and limits are
    /// the caller's to add.
    pub fn pipeline(&self) -> crate::Pipeline {
        let mut pipeline = crate::Pipeline::new(self.verifier.clone()).enabled(self.enabled);
        if let Some(kinds) = &self.kinds {
            pipeline = pipeline.only(kinds.iter().copied());
        }
        pipeline
    }
}

/// Reads and parses the file at `path` (at most [`MAX_FILE_BYTES`]).
fn read(path: &Path) -> Result<(Document, String), EndpointConfigError> {
    let unreadable = |reason: String| EndpointConfigError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|err| unreadable(err.to_string()))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|err| unreadable(err.to_string()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(unreadable(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    let origin = format!("endpoint configuration {}", path.display());
    Ok((parse(&text, &origin)?, origin))
}

fn parse(json: &str, origin: &str) -> Result<Document, EndpointConfigError> {
    let invalid = |reason: String| EndpointConfigError::Invalid {
        origin: origin.to_string(),
        reason,
    };
    // serde would read a list as the fields in order: only an object is a configuration.
    if json.trim_start().starts_with('[') {
        return Err(invalid(
            "expected a JSON object `{\"webhook_url\": ...}`, found a list".to_string(),
        ));
    }
    serde_json::from_str(json).map_err(|err| invalid(excerpt(err.to_string())))
}

/// The path of `url` (`http://` or `https://`), or `url` itself when it is an absolute path.
/// Query and fragment are dropped.
fn route_of(url: &str) -> Result<String, &'static str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let path = if lower.starts_with("https://") || lower.starts_with("http://") {
        let rest = &url[if lower.starts_with("https://") { 8 } else { 7 }..];
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if end == 0 {
            return Err("has no host");
        }
        match &rest[end..] {
            path if path.starts_with('/') => path,
            _ => "/",
        }
    } else if url.starts_with('/') {
        url
    } else {
        return Err("is neither an http(s):// URL nor an absolute path (starting with `/`)");
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~%+@/".contains(&b);
    if !path.bytes().all(allowed) {
        return Err("has a path with characters other than ASCII letters, digits and -._~%+@/");
    }
    if path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        return Err("has a path with `.` or `..` segments");
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The product description's endpoint JSON, exactly.
    const PRODUCT_JSON: &str = r#"{
  "webhook_url": "https://your-app.com/webhooks/meetingbaas",
  "events": ["meeting.started", "meeting.completed", "meeting.failed", "transcription.available"],
  "secret": "your-webhook-secret-key",
  "enabled": true
}"#;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn reason(json: &str) -> String {
        EndpointConfig::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn the_product_description_document_is_read() {
        let config = EndpointConfig::from_json(PRODUCT_JSON).unwrap();
        assert_eq!(config.route(), "/webhooks/meetingbaas");
        assert!(config.enabled());
        assert_eq!(
            config.verifier().schemes().collect::<Vec<_>>(),
            [Scheme::Signature]
        );
        let kinds = config.kinds().unwrap();
        for kind in [
            EventKind::BotStatusChange,
            EventKind::BotCompleted,
            EventKind::BotFailed,
            EventKind::TranscriptionAvailable,
            EventKind::Alert,
        ] {
            assert!(kinds.contains(&kind), "{kind:?}");
        }
        assert!(!kinds.contains(&EventKind::CalendarSynced));
        assert!(!kinds.contains(&EventKind::Unknown));
    }

    #[test]
    fn every_synonym_of_a_listed_name_is_let_through() {
        let config = EndpointConfig::from_json(PRODUCT_JSON).unwrap();
        let kinds = config.kinds().unwrap();
        for name in ["bot.failed", "failed", "bot.completed", "complete"] {
            let kind = EventName::from_wire(name).unwrap().kind();
            assert!(kinds.contains(&kind), "{name}");
        }
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("mb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("endpoint.json");
        std::fs::write(&path, PRODUCT_JSON.replace("true", "false")).unwrap();
        let path_text = path.to_str().unwrap();
        let config = EndpointConfig::from_env_with(env(&[
            ("MEETINGBAAS_CONFIG", path_text),
            ("MEETINGBAAS_WEBHOOK_SECRET", "from-env"),
            ("MEETINGBAAS_CALLBACK_SECRET", "cb"),
            ("MEETINGBAAS_MAX_BODY_BYTES", "2048"),
        ]))
        .unwrap();
        assert_eq!(config.source(), Some(path.as_path()));
        assert!(!config.enabled());
        assert_eq!(config.verifier().max_body_bytes(), 2048);
        let signed = meetingbaas_webhooks::Signer::signature("from-env")
            .unwrap()
            .sign(b"{}", "", 0);
        assert!(config.verifier().verify(&signed, "{}".into()).is_ok());
        let old = meetingbaas_webhooks::Signer::signature("your-webhook-secret-key")
            .unwrap()
            .sign(b"{}", "", 0);
        assert!(config.verifier().verify(&old, "{}".into()).is_err());
        assert!(config.verifier().is_enabled(Scheme::Callback));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_file_it_is_the_environment_alone() {
        let config = EndpointConfig::from_env_with(env(&[("MEETINGBAAS_API_KEY", "k")])).unwrap();
        assert_eq!(config.route(), DEFAULT_ROUTE);
        assert!(config.kinds().is_none() && config.enabled() && config.source().is_none());
        let err = EndpointConfig::from_env_with(env(&[])).unwrap_err();
        assert_eq!(
            err,
            EndpointConfigError::Environment(ConfigError::NoSchemeEnabled)
        );
        let err = EndpointConfig::from_env_with(env(&[("MEETINGBAAS_CONFIG", "")])).unwrap_err();
        assert!(
            err.to_string().starts_with("MEETINGBAAS_CONFIG is empty"),
            "{err}"
        );
    }

    #[test]
    fn bad_documents_are_one_line_errors_naming_the_problem() {
        for (json, needle) in [
            ("{", "EOF"),
            (&PRODUCT_JSON[..60], "EOF"),
            ("not json", "expected"),
            (r#"{"enabled":"yes"}"#, "invalid type"),
            (r#"{"events":"meeting.failed"}"#, "invalid type"),
            (r#"{"secret":"s","max_body_bytes":-1}"#, "invalid value"),
            (r#"{"secret":"s","secrte":"t"}"#, "unknown field `secrte`"),
            (
                r#"{"secret":"s","events":["meeting.exploded"]}"#,
                "unknown event \"meeting.exploded\"",
            ),
            (r#"{"secret":"s","events":[]}"#, "`events` is empty"),
            (r#"{"secret":""}"#, "`secret` is empty"),
            (
                r#"{"secret":"s","svix_secret":"whsec_!!"}"#,
                "`svix_secret` is not",
            ),
            (
                r#"{"secret":"s","webhook_url":"webhooks/meetingbaas"}"#,
                "absolute path",
            ),
            (
                r#"{"secret":"s","webhook_url":"https:///x"}"#,
                "has no host",
            ),
            (
                r#"{"secret":"s","webhook_url":"/a/{id}"}"#,
                "characters other than",
            ),
            (r#"{"secret":"s","webhook_url":"/a/../b"}"#, "`..`"),
            (r#"{"secret":"s","max_body_bytes":0}"#, "at least one byte"),
            (r#"{"events":["meeting.failed"]}"#, "no secret"),
            ("[]", "found a list"),
            ("42", "invalid type"),
        ] {
            let reason = reason(json);
            assert!(reason.contains(needle), "{json}: {reason}");
            assert!(!reason.contains('\n'), "{json}: {reason}");
            assert!(reason.starts_with("endpoint configuration: "), "{reason}");
        }
    }

    #[test]
    fn errors_never_show_a_secret() {
        let reason = reason(r#"{"secret":"hunter2-secret","svix_secret":"whsec_!!"}"#);
        assert!(!reason.contains("hunter2"), "{reason}");
        let config = EndpointConfig::from_json(r#"{"secret":"hunter2-secret"}"#).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn an_empty_secret_variable_is_named() {
        let err =
            EndpointConfig::from_env_with(env(&[("MEETINGBAAS_WEBHOOK_SECRET", "")])).unwrap_err();
        assert_eq!(err.to_string(), "MEETINGBAAS_WEBHOOK_SECRET is empty");
    }

    #[test]
    fn missing_and_unreadable_files_name_the_path() {
        let err = EndpointConfig::from_path("/nonexistent/endpoint.json").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EndpointConfigError::Unreadable { .. }));
        assert!(text.contains("/nonexistent/endpoint.json"), "{text}");
        let err = EndpointConfig::from_path(std::env::temp_dir()).unwrap_err();
        assert!(
            matches!(err, EndpointConfigError::Unreadable { .. }),
            "{err}"
        );
    }

    #[test]
    fn routes_come_from_the_url_path() {
        for (url, route) in [
            (
                "https://your-app.com/webhooks/meetingbaas",
                "/webhooks/meetingbaas",
            ),
            ("HTTPS://app.example:8443/hooks/mb?x=1#f", "/hooks/mb"),
            ("http://app.example", "/"),
            ("http://app.example?x=1", "/"),
            ("/just/a/path", "/just/a/path"),
        ] {
            assert_eq!(route_of(url).as_deref(), Ok(route), "{url}");
        }
        for url in ["", "ftp://x/y", "app.example/x", "https://", "/a b", "/é"] {
            assert!(route_of(url).is_err(), "{url}");
        }
    }
}

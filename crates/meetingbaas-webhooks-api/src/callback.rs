//! The optional override of `retry-callback`: where, with which secret and method, to call back.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::Error;

/// The HTTP method Meeting BaaS uses for a bot's callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallbackMethod {
    /// `POST` (Meeting BaaS's default).
    Post,
    /// `PUT`.
    Put,
}

impl CallbackMethod {
    /// `"POST"` or `"PUT"`, as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackMethod::Post => "POST",
            CallbackMethod::Put => "PUT",
        }
    }
}

impl fmt::Display for CallbackMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallbackMethod {
    type Err = Error;

    /// `POST` or `PUT`, in any case.
    fn from_str(method: &str) -> Result<CallbackMethod, Error> {
        if method.eq_ignore_ascii_case("post") {
            Ok(CallbackMethod::Post)
        } else if method.eq_ignore_ascii_case("put") {
            Ok(CallbackMethod::Put)
        } else {
            Err(Error::InvalidInput(
                "the callback method must be POST or PUT".into(),
            ))
        }
    }
}

/// Where `retry-callback` should deliver instead of the bot's configured callback: Meeting BaaS
/// requires all three of url, secret and method when any is given, so this type holds all three
/// and [`Client::retry_callback`](crate::Client::retry_callback) takes an
/// `Option<&CallbackTarget>`.
///
/// The secret is what Meeting BaaS will send in `x-mb-secret`; it is redacted from `Debug`.
///
/// ```
/// use meetingbaas_webhooks_api::{CallbackMethod, CallbackTarget};
///
/// let target = CallbackTarget::new(
///     "https://example.com/callbacks/meetingbaas",
///     "callback-secret",
///     CallbackMethod::Post,
/// )
/// .unwrap();
/// assert!(!format!("{target:?}").contains("callback-secret"));
/// assert!(CallbackTarget::new("not a url", "s", CallbackMethod::Put).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    url: Url,
    secret: String,
    method: CallbackMethod,
}

impl CallbackTarget {
    /// Checks the override: an absolute `http` or `https` URL with a host, and a non-empty
    /// secret. Errors never repeat the secret.
    pub fn new(
        url: &str,
        secret: impl Into<String>,
        method: CallbackMethod,
    ) -> Result<CallbackTarget, Error> {
        let url = parse_http_url(url, "the callback URL")?;
        let secret = secret.into();
        if secret.is_empty() {
            return Err(Error::InvalidInput("the callback secret is empty".into()));
        }
        Ok(CallbackTarget {
            url,
            secret,
            method,
        })
    }

    /// The URL Meeting BaaS will call.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The method Meeting BaaS will use.
    pub fn method(&self) -> CallbackMethod {
        self.method
    }

    /// The JSON body of the request: `{"url": ..., "secret": ..., "method": ...}`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url.as_str(),
            "secret": self.secret,
            "method": self.method.as_str(),
        })
    }
}

impl fmt::Debug for CallbackTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackTarget")
            .field("url", &self.url.as_str())
            .field("secret", &"<redacted>")
            .field("method", &self.method)
            .finish()
    }
}

/// An absolute `http`/`https` URL with a host; `what` names it in the error.
pub(crate) fn parse_http_url(url: &str, what: &str) -> Result<Url, Error> {
    let parsed = Url::parse(url).map_err(|err| {
        Error::InvalidInput(format!(
            "{what} `{}` is not a URL: {err}",
            crate::error::excerpt(url, 100)
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::InvalidInput(format!(
            "{what} `{}` is not an http:// or https:// URL with a host",
            crate::error::excerpt(url, 100)
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_all_three_fields() {
        let target =
            CallbackTarget::new("https://example.com/cb", "s3cret", CallbackMethod::Put).unwrap();
        assert_eq!(
            target.to_json(),
            serde_json::json!({"url": "https://example.com/cb", "secret": "s3cret", "method": "PUT"})
        );
    }

    #[test]
    fn bad_overrides_are_refused() {
        assert!(CallbackTarget::new("ftp://example.com/", "s", CallbackMethod::Post).is_err());
        assert!(CallbackTarget::new("https://example.com/", "", CallbackMethod::Post).is_err());
        assert!("PATCH".parse::<CallbackMethod>().is_err());
        assert_eq!(
            "put".parse::<CallbackMethod>().unwrap(),
            CallbackMethod::Put
        );
    }
}

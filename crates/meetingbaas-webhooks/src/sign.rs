//! Signing: the headers a sender adds, for every scheme.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::error::ConfigError;
use crate::headers::{HeaderLookup, header_names as names};
use crate::mac::PreparedKey;
use crate::scheme::Scheme;
use crate::secret::{signature_key, svix_key, to_base64, to_hex};

/// Produces the headers Meeting BaaS would send with a body, under one scheme and secret.
///
/// For your own tests (send what Meeting BaaS sends), for load tests, and for the CLI.
///
/// ```
/// use meetingbaas_webhooks::Signer;
///
/// # fn main() -> Result<(), meetingbaas_webhooks::ConfigError> {
/// let signer = Signer::svix("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
/// let headers = signer.sign(
///     br#"{"email":"test@example.com","username":"test_user"}"#,
///     "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
///     1649367553,
/// );
/// assert_eq!(headers.get("svix-signature"), Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

#[derive(Clone)]
enum SigningKey {
    Svix(PreparedKey),
    Signature(PreparedKey),
    Callback(String),
    ApiKey(String),
    Alert(String),
}

impl Signer {
    /// Signs as Svix does, with a `whsec_...` secret.
    pub fn svix(secret: &str) -> Result<Self, ConfigError> {
        Ok(Signer {
            key: SigningKey::Svix(svix_key(secret)?),
        })
    }

    /// Signs with `X-MeetingBaas-Signature` (hex HMAC-SHA256 of the body).
    pub fn signature(secret: &str) -> Result<Self, ConfigError> {
        Ok(Signer {
            key: SigningKey::Signature(signature_key(secret)?),
        })
    }

    /// Sends the callback secret in `x-mb-secret`.
    pub fn callback(secret: &str) -> Result<Self, ConfigError> {
        non_empty(Scheme::Callback, secret)?;
        Ok(Signer {
            key: SigningKey::Callback(secret.to_string()),
        })
    }

    /// Sends the API key in `x-meeting-baas-api-key`.
    pub fn api_key(api_key: &str) -> Result<Self, ConfigError> {
        non_empty(Scheme::ApiKey, api_key)?;
        Ok(Signer {
            key: SigningKey::ApiKey(api_key.to_string()),
        })
    }

    /// Sends the alert rule's secret in `x-mb-alert-secret` (v2 alert callbacks).
    pub fn alert(secret: &str) -> Result<Self, ConfigError> {
        non_empty(Scheme::Alert, secret)?;
        Ok(Signer {
            key: SigningKey::Alert(secret.to_string()),
        })
    }

    /// A signer for `scheme`: the same as the scheme's own constructor.
    pub fn new(scheme: Scheme, secret: &str) -> Result<Self, ConfigError> {
        match scheme {
            Scheme::Svix => Signer::svix(secret),
            Scheme::Signature => Signer::signature(secret),
            Scheme::Callback => Signer::callback(secret),
            Scheme::ApiKey => Signer::api_key(secret),
            Scheme::Alert => Signer::alert(secret),
        }
    }

    /// The scheme this signer produces.
    pub fn scheme(&self) -> Scheme {
        match self.key {
            SigningKey::Svix(_) => Scheme::Svix,
            SigningKey::Signature(_) => Scheme::Signature,
            SigningKey::Callback(_) => Scheme::Callback,
            SigningKey::ApiKey(_) => Scheme::ApiKey,
            SigningKey::Alert(_) => Scheme::Alert,
        }
    }

    /// The headers for `body`. `id` and `timestamp` (Unix seconds) are used by the Svix scheme
    /// only (the message id and the signed time); other schemes ignore them.
    pub fn sign(&self, body: &[u8], id: &str, timestamp: i64) -> SignedHeaders {
        let headers = match &self.key {
            SigningKey::Svix(key) => {
                let timestamp = timestamp.to_string();
                let tag = key.mac(&[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
                let mut signature = String::from("v1,");
                signature.push_str(&to_base64(&tag));
                alloc::vec![
                    (names::SVIX_ID, id.to_string()),
                    (names::SVIX_TIMESTAMP, timestamp),
                    (names::SVIX_SIGNATURE, signature),
                ]
            }
            SigningKey::Signature(key) => {
                alloc::vec![(names::MEETINGBAAS_SIGNATURE, to_hex(&key.mac(&[body])))]
            }
            SigningKey::Callback(secret) => alloc::vec![(names::MB_SECRET, secret.clone())],
            SigningKey::ApiKey(key) => alloc::vec![(names::MEETING_BAAS_API_KEY, key.clone())],
            SigningKey::Alert(secret) => alloc::vec![(names::MB_ALERT_SECRET, secret.clone())],
        };
        SignedHeaders { headers }
    }

    /// [`sign`](Self::sign) with a [fresh message id](Self::fresh_message_id) and the system
    /// clock's now.
    #[cfg(feature = "std")]
    pub fn sign_now(&self, body: &[u8]) -> SignedHeaders {
        use crate::clock::{Clock, SystemClock};
        self.sign(body, &Signer::fresh_message_id(), SystemClock.now_unix())
    }

    /// A message id that this process has not produced before: `msg_` and 26 hex digits.
    #[cfg(feature = "std")]
    pub fn fresh_message_id() -> String {
        crate::unique::unique_id("msg_", b"")
    }
}

fn non_empty(scheme: Scheme, secret: &str) -> Result<(), ConfigError> {
    if secret.is_empty() {
        Err(ConfigError::EmptySecret { scheme })
    } else {
        Ok(())
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme())
            .finish_non_exhaustive()
    }
}

/// The headers a sender adds to one delivery, as `(lowercase name, value)` pairs.
///
/// Implements [`HeaderLookup`], so it can be verified directly. Its `Debug` output hides the
/// values of the token headers (`x-mb-secret`, `x-meeting-baas-api-key`), which are secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    headers: Vec<(&'static str, String)>,
}

impl SignedHeaders {
    /// The value of header `name` (lowercase), if this scheme sends it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header, in the order a sender writes them.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.headers
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }

    /// The headers as owned pairs.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        self.headers.clone()
    }

    /// The headers as an `http::HeaderMap`.
    #[cfg(feature = "http")]
    pub fn to_header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            // Every value produced here is visible ASCII (ids come from the caller: skip any
            // that is not a valid header value rather than panic).
            if let Ok(value) = http::HeaderValue::from_str(value) {
                map.append(*name, value);
            }
        }
        map
    }
}

impl HeaderLookup for SignedHeaders {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.headers.as_slice().header_values(name)
    }
}

impl IntoIterator for SignedHeaders {
    type Item = (&'static str, String);
    type IntoIter = alloc::vec::IntoIter<(&'static str, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.headers.into_iter()
    }
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.headers {
            let secret = *name == names::MB_SECRET
                || *name == names::MEETING_BAAS_API_KEY
                || *name == names::MB_ALERT_SECRET;
            map.entry(name, if secret { &"<redacted>" } else { value });
        }
        map.finish()
    }
}

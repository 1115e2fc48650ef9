//! The API key: kept out of `Debug`, `Display`, errors and logs.

use std::fmt;

/// A Meeting BaaS API key.
///
/// Its `Debug` output is `ApiKey(<redacted>)` and it has no `Display`: the only way to read it is
/// [`ApiKey::expose`], which the client calls once per request to set the header.
///
/// ```
/// use meetingbaas_webhooks_api::ApiKey;
///
/// let key = ApiKey::new("mb-secret-123").unwrap();
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// The longest API key accepted (far longer than any real one; a bound on what is sent).
const MAX_KEY_LEN: usize = 1024;

impl ApiKey {
    /// Checks a key: 1 to 1024 visible ASCII characters (it must fit in an HTTP header). The
    /// error never repeats the key.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, crate::Error> {
        let key = key.into();
        let key = key.trim().to_owned();
        if key.is_empty() {
            return Err(crate::Error::Config("the API key is empty".into()));
        }
        if key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(crate::Error::Config(
                "the API key must be 1 to 1024 visible ASCII characters".into(),
            ));
        }
        Ok(ApiKey(key))
    }

    /// The key itself, to put in a header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for key in ["", "   ", "has space inside", "line\nbreak", "caf\u{e9}"] {
            let err = ApiKey::new(key).unwrap_err().to_string();
            if !key.trim().is_empty() {
                assert!(!err.contains(key.trim()), "{err}");
            }
        }
        assert!(ApiKey::new("x".repeat(1025)).is_err());
    }

    #[test]
    fn surrounding_whitespace_is_dropped() {
        assert_eq!(ApiKey::new(" k-1\n").unwrap().expose(), "k-1");
    }
}

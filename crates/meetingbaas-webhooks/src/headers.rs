//! Looking up request headers without depending on any HTTP framework.

/// The header names of every scheme, in lowercase.
pub mod header_names {
    /// Svix message id (v2 account webhooks).
    pub const SVIX_ID: &str = "svix-id";
    /// Svix timestamp, integer Unix seconds.
    pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
    /// Svix signatures: space-separated `v1,<base64>` entries.
    pub const SVIX_SIGNATURE: &str = "svix-signature";
    /// Standard Webhooks equivalent of [`SVIX_ID`].
    pub const WEBHOOK_ID: &str = "webhook-id";
    /// Standard Webhooks equivalent of [`SVIX_TIMESTAMP`].
    pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
    /// Standard Webhooks equivalent of [`SVIX_SIGNATURE`].
    pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
    /// Lowercase hex HMAC-SHA256 of the body.
    pub const MEETINGBAAS_SIGNATURE: &str = "x-meetingbaas-signature";
    /// v2 per-bot callback secret.
    pub const MB_SECRET: &str = "x-mb-secret";
    /// v1 account API key.
    pub const MEETING_BAAS_API_KEY: &str = "x-meeting-baas-api-key";
    /// v2 alert callback secret (the alert rule's secret).
    pub const MB_ALERT_SECRET: &str = "x-mb-alert-secret";
    /// The declared body length (read by the receiving pipeline before the body).
    pub const CONTENT_LENGTH: &str = "content-length";
}

/// Read access to a request's headers.
///
/// The verifier asks for headers by their lowercase name; an implementation must match names
/// ASCII-case-insensitively and yield every value of a repeated header, in order. It is
/// implemented here for slices, arrays and vectors of `(name, value)` pairs and, with the `http`
/// feature, for `http::HeaderMap`; adapter crates implement it for their framework's header type.
///
/// ```
/// use meetingbaas_webhooks::HeaderLookup;
///
/// let headers = [("X-MB-Secret", "s3cret")];
/// assert_eq!(headers.header_values("x-mb-secret").next(), Some(&b"s3cret"[..]));
/// ```
pub trait HeaderLookup {
    /// Every value of the header `name` (given in lowercase), in the order received.
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]>;
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        (**self).header_values(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderLookup for [(K, V)] {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.iter()
            .filter(move |(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> HeaderLookup for [(K, V); N] {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.as_slice().header_values(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderLookup for alloc::vec::Vec<(K, V)> {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.as_slice().header_values(name)
    }
}

#[cfg(feature = "http")]
impl HeaderLookup for http::HeaderMap {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        // The scheme's own names are prebuilt `HeaderName`s: a lookup by `&str` would parse and
        // hash the name again on every request.
        let values = match known_header_name(name) {
            Some(known) => self.get_all(known),
            None => self.get_all(name),
        };
        values.into_iter().map(http::HeaderValue::as_bytes)
    }
}

#[cfg(feature = "http")]
fn known_header_name(name: &str) -> Option<&'static http::HeaderName> {
    use http::HeaderName;
    static KNOWN: [HeaderName; 10] = [
        HeaderName::from_static(header_names::SVIX_ID),
        HeaderName::from_static(header_names::SVIX_TIMESTAMP),
        HeaderName::from_static(header_names::SVIX_SIGNATURE),
        HeaderName::from_static(header_names::WEBHOOK_ID),
        HeaderName::from_static(header_names::WEBHOOK_TIMESTAMP),
        HeaderName::from_static(header_names::WEBHOOK_SIGNATURE),
        HeaderName::from_static(header_names::MEETINGBAAS_SIGNATURE),
        HeaderName::from_static(header_names::MB_SECRET),
        HeaderName::from_static(header_names::MEETING_BAAS_API_KEY),
        HeaderName::from_static(header_names::MB_ALERT_SECRET),
    ];
    let index = match name {
        header_names::SVIX_ID => 0,
        header_names::SVIX_TIMESTAMP => 1,
        header_names::SVIX_SIGNATURE => 2,
        header_names::WEBHOOK_ID => 3,
        header_names::WEBHOOK_TIMESTAMP => 4,
        header_names::WEBHOOK_SIGNATURE => 5,
        header_names::MEETINGBAAS_SIGNATURE => 6,
        header_names::MB_SECRET => 7,
        header_names::MEETING_BAAS_API_KEY => 8,
        header_names::MB_ALERT_SECRET => 9,
        _ => return None,
    };
    KNOWN.get(index)
}

/// What a single-valued header looked like.
pub(crate) enum Single<'a> {
    Absent,
    One(&'a [u8]),
    /// Sent more than once: ambiguous, so never trusted.
    Repeated,
}

pub(crate) fn single<'a, H: HeaderLookup + ?Sized>(
    headers: &'a H,
    name: &'static str,
) -> Single<'a> {
    let mut values = headers.header_values(name);
    match (values.next(), values.next()) {
        (None, _) => Single::Absent,
        (Some(value), None) => Single::One(value),
        (Some(_), Some(_)) => Single::Repeated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_match_names_case_insensitively_and_keep_every_value() {
        let headers = [
            ("Svix-Signature", "a"),
            ("other", "x"),
            ("SVIX-SIGNATURE", "b"),
        ];
        let values: alloc::vec::Vec<&[u8]> = headers.header_values("svix-signature").collect();
        assert_eq!(values, [&b"a"[..], &b"b"[..]]);
    }

    #[test]
    fn single_reports_repeated_headers() {
        let headers = [("svix-id", "a"), ("svix-id", "b")];
        assert!(matches!(single(&headers[..], "svix-id"), Single::Repeated));
        assert!(matches!(
            single(&headers[..], "svix-timestamp"),
            Single::Absent
        ));
    }

    #[cfg(feature = "http")]
    #[test]
    fn every_scheme_header_has_its_prebuilt_name() {
        use header_names::*;
        for name in [
            SVIX_ID,
            SVIX_TIMESTAMP,
            SVIX_SIGNATURE,
            WEBHOOK_ID,
            WEBHOOK_TIMESTAMP,
            WEBHOOK_SIGNATURE,
            MEETINGBAAS_SIGNATURE,
            MB_SECRET,
            MEETING_BAAS_API_KEY,
            MB_ALERT_SECRET,
        ] {
            assert_eq!(
                known_header_name(name).map(http::HeaderName::as_str),
                Some(name)
            );
        }
        assert!(known_header_name("x-other").is_none());
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_yields_every_value() {
        let mut map = http::HeaderMap::new();
        map.append("x-mb-secret", http::HeaderValue::from_static("one"));
        map.append("X-MB-Secret", http::HeaderValue::from_static("two"));
        assert_eq!(map.header_values("x-mb-secret").count(), 2);
    }
}

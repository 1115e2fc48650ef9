//! The verifier: enabled schemes, their key rings, the tolerance, the clock and the body limit.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;

use crate::clock::Clock;
use crate::delivery::VerifiedDelivery;
use crate::error::{ConfigError, VerifyError};
use crate::headers::{HeaderLookup, Single, header_names as names, single};
use crate::log;
use crate::mac::{PreparedKey, TAG_LEN};
use crate::scheme::Scheme;
use crate::secret::{
    KeyRing, SecretDigest, TokenDigest, any_tag_matches, any_token_matches, decode_base64_tag,
    decode_hex_tag, signature_key, svix_key,
};

/// The default body limit of every adapter: 8 MiB.
///
/// A v1 `complete` carries the whole transcript inline; a four-hour meeting with word-level
/// timings is about 2 MiB of JSON, so this leaves room while still bounding memory per request.
/// Set another with [`VerifierBuilder::max_body_bytes`](crate::VerifierBuilder::max_body_bytes).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How far a Svix timestamp may be from now, either way, by default: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The most `svix-signature` entries looked at per delivery (a rotation sends two or three).
const MAX_SIGNATURE_ENTRIES: usize = 16;

/// The longest message id accepted, in bytes.
const MAX_MESSAGE_ID_LEN: usize = 256;

/// Verifies Meeting BaaS deliveries.
///
/// Holds the enabled schemes, each with a key ring (several secrets accepted at once, so that a
/// secret can be rotated without downtime), the timestamp tolerance, the clock and the body limit.
/// Keys are prepared once, at [`build`](VerifierBuilder::build); cloning a `Verifier` is cheap
/// (one reference count), so adapters clone it per request.
///
/// ```
/// use meetingbaas_webhooks::{Scheme, Signer, Verifier};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder()
///     .signature_secret("new secret")
///     .signature_secret("old secret") // still accepted during the rotation
///     .build()?;
///
/// let body = br#"{"event":"meeting.completed","data":{"bot_id":"b-1"}}"#;
/// let headers = Signer::signature("old secret")?.sign(body, "", 0);
/// let delivery = verifier.verify(&headers, body.to_vec().into())?;
/// assert_eq!(delivery.scheme(), Scheme::Signature);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    svix: KeyRing<PreparedKey>,
    signature: KeyRing<PreparedKey>,
    callback: KeyRing<TokenDigest>,
    api_key: KeyRing<TokenDigest>,
    alert: KeyRing<TokenDigest>,
    /// Callback secrets are also looked up per request ([`Verifier::verify_with`]).
    callback_lookup: bool,
    tolerance_secs: u64,
    clock: Option<Box<dyn Clock>>,
    max_body_bytes: usize,
}

/// Builds a [`Verifier`]. Every `*_secret` call enables its scheme and adds one key to its ring.
///
/// Errors (an empty or undecodable secret, no scheme at all) are reported by
/// [`build`](VerifierBuilder::build), never at request time.
#[must_use = "a builder does nothing until `build` is called"]
pub struct VerifierBuilder {
    inner: Inner,
    error: Option<ConfigError>,
}

impl Verifier {
    /// Starts a builder with no scheme enabled, the default tolerance and body limit, and (with
    /// the `std` feature) the system clock.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder {
            inner: Inner {
                svix: KeyRing::new(),
                signature: KeyRing::new(),
                callback: KeyRing::new(),
                api_key: KeyRing::new(),
                alert: KeyRing::new(),
                callback_lookup: false,
                tolerance_secs: DEFAULT_TOLERANCE.as_secs(),
                clock: default_clock(),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            },
            error: None,
        }
    }

    /// Whether `scheme` is enabled.
    pub fn is_enabled(&self, scheme: Scheme) -> bool {
        self.inner.key_count(scheme) > 0
    }

    /// The enabled schemes, in the order they are tried.
    pub fn schemes(&self) -> impl Iterator<Item = Scheme> + '_ {
        Scheme::ALL.into_iter().filter(|s| self.is_enabled(*s))
    }

    /// The body limit in bytes; adapters stop reading past it and answer 413.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// The Svix timestamp tolerance (either way).
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.inner.tolerance_secs)
    }

    /// Verifies a delivery: `body` is the raw request body, exactly as received.
    ///
    /// Every enabled scheme whose headers are present is tried (Svix, then signature, callback,
    /// API key, alert secret); the first that verifies wins. When none does, the first failure is returned, or
    /// [`VerifyError::MissingCredentials`] when no enabled scheme's headers were sent at all.
    pub fn verify<H>(&self, headers: &H, body: Bytes) -> Result<VerifiedDelivery, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        self.verify_with(headers, body, None)
    }

    /// [`verify`](Self::verify), also accepting the callback secret whose digest is
    /// `known_callback`: one looked up for this request (a bot's own callback secret, found by
    /// the digest [`callback_lookup`](Self::callback_lookup) gave), beside the key ring.
    pub fn verify_with<H>(
        &self,
        headers: &H,
        body: Bytes,
        known_callback: Option<&SecretDigest>,
    ) -> Result<VerifiedDelivery, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        let result = self.check(headers, Some(&body), known_callback);
        match result {
            Ok(meta) => Ok(VerifiedDelivery::new(
                body,
                meta.scheme,
                meta.message_id,
                meta.timestamp,
            )),
            Err(err) => {
                log::rejected(&err);
                Err(err)
            }
        }
    }

    /// Decides from the headers alone what they can decide, before a byte of the body is read:
    /// `Err` with exactly the error [`verify_with`](Self::verify_with) would give whatever the
    /// body (no credentials for any enabled scheme; a wrong `x-mb-secret`, alert secret or API
    /// key; a Svix timestamp out of tolerance; a missing, repeated or malformed Svix id or
    /// timestamp), `Ok` when the request could still be authentic: [`Precheck::Authentic`] for
    /// a token that matches, [`Precheck::NeedsBody`] for a signature that only the body can
    /// check (its format is checked with the body).
    ///
    /// ```
    /// use meetingbaas_webhooks::{Precheck, Scheme, Verifier, VerifyError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let verifier = Verifier::builder().callback_secret("s3cret").signature_secret("k").build()?;
    /// assert_eq!(
    ///     verifier.precheck(&[("x-mb-secret", "s3cret")], None),
    ///     Ok(Precheck::Authentic(Scheme::Callback))
    /// );
    /// assert!(matches!(
    ///     verifier.precheck(&[("x-mb-secret", "guess")], None),
    ///     Err(VerifyError::TokenMismatch { .. })
    /// ));
    /// assert_eq!(verifier.precheck(&[("accept", "*/*")], None), Err(VerifyError::MissingCredentials));
    /// // A signature needs the body: not decided yet.
    /// assert_eq!(
    ///     verifier.precheck(&[("x-meetingbaas-signature", "00".repeat(32).as_str())], None),
    ///     Ok(Precheck::NeedsBody(Scheme::Signature))
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn precheck<H>(
        &self,
        headers: &H,
        known_callback: Option<&SecretDigest>,
    ) -> Result<Precheck, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        self.check(headers, None, known_callback)
            .map(|verified| match verified.scheme {
                Scheme::Svix | Scheme::Signature => Precheck::NeedsBody(verified.scheme),
                Scheme::Callback | Scheme::ApiKey | Scheme::Alert => {
                    Precheck::Authentic(verified.scheme)
                }
            })
    }

    /// The digest of the `x-mb-secret` a request presents, when callback secrets are looked up
    /// per request ([`VerifierBuilder::callback_lookup`]) and the key ring does not hold it:
    /// the one to look up (in your table of bots' callback secrets, kept by digest). `None`
    /// when there is nothing to look up: no lookup configured, no (or a repeated) header, or a
    /// secret of the ring.
    pub fn callback_lookup<H>(&self, headers: &H) -> Option<SecretDigest>
    where
        H: HeaderLookup + ?Sized,
    {
        if !self.inner.callback_lookup {
            return None;
        }
        let Single::One(presented) = single(headers, names::MB_SECRET) else {
            return None;
        };
        if presented.is_empty() || any_token_matches(&self.inner.callback, presented) {
            return None;
        }
        Some(SecretDigest::of(presented))
    }

    /// Checks every enabled scheme; `body` is `None` for the headers-only precheck, where a
    /// scheme that passes everything but its MAC counts as a success.
    fn check<H>(
        &self,
        headers: &H,
        body: Option<&[u8]>,
        known_callback: Option<&SecretDigest>,
    ) -> Result<Verified, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        let inner = &*self.inner;
        if let Some(body) = body
            && body.len() > inner.max_body_bytes
        {
            return Err(VerifyError::PayloadTooLarge {
                limit: inner.max_body_bytes,
            });
        }
        let mut first_failure = None;
        for scheme in self.schemes() {
            let attempt = match scheme {
                Scheme::Svix => inner.check_svix(headers, body),
                Scheme::Signature => inner.check_signature(headers, body),
                Scheme::Callback => inner.check_token(
                    Scheme::Callback,
                    names::MB_SECRET,
                    &inner.callback,
                    known_callback,
                    headers,
                ),
                Scheme::ApiKey => inner.check_token(
                    Scheme::ApiKey,
                    names::MEETING_BAAS_API_KEY,
                    &inner.api_key,
                    None,
                    headers,
                ),
                Scheme::Alert => inner.check_token(
                    Scheme::Alert,
                    names::MB_ALERT_SECRET,
                    &inner.alert,
                    None,
                    headers,
                ),
            };
            match attempt {
                None => {}
                Some(Ok(verified)) => return Ok(verified),
                Some(Err(err)) => {
                    first_failure.get_or_insert(err);
                }
            }
        }
        Err(first_failure.unwrap_or(VerifyError::MissingCredentials))
    }
}

/// What [`Verifier::precheck`] decided of headers that could be authentic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Precheck {
    /// A token scheme's secret matched (`x-mb-secret`, the alert secret, the API key): the
    /// request is authentic whatever its body.
    Authentic(Scheme),
    /// A signature scheme (Svix, `X-MeetingBaas-Signature`) whose signature only the body can
    /// check: anyone can send such headers.
    NeedsBody(Scheme),
}

/// What a successful scheme check learned.
struct Verified {
    scheme: Scheme,
    message_id: Option<String>,
    timestamp: Option<i64>,
}

impl Verified {
    fn bare(scheme: Scheme) -> Self {
        Verified {
            scheme,
            message_id: None,
            timestamp: None,
        }
    }
}

/// One family of Svix header names.
struct SvixNames {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const SVIX_FAMILIES: [SvixNames; 2] = [
    SvixNames {
        id: names::SVIX_ID,
        timestamp: names::SVIX_TIMESTAMP,
        signature: names::SVIX_SIGNATURE,
    },
    SvixNames {
        id: names::WEBHOOK_ID,
        timestamp: names::WEBHOOK_TIMESTAMP,
        signature: names::WEBHOOK_SIGNATURE,
    },
];

/// `None`: the scheme's headers are absent; `Some(result)`: it was tried.
type Attempt = Option<Result<Verified, VerifyError>>;

impl Inner {
    fn key_count(&self, scheme: Scheme) -> usize {
        match scheme {
            Scheme::Svix => self.svix.len(),
            Scheme::Signature => self.signature.len(),
            Scheme::Callback => self.callback.len() + usize::from(self.callback_lookup),
            Scheme::ApiKey => self.api_key.len(),
            Scheme::Alert => self.alert.len(),
        }
    }

    fn check_svix<H: HeaderLookup + ?Sized>(&self, headers: &H, body: Option<&[u8]>) -> Attempt {
        let mut attempt = None;
        for family in &SVIX_FAMILIES {
            // Each header is looked up once.
            let id = single(headers, family.id);
            let timestamp = single(headers, family.timestamp);
            // The precheck only needs to know the signatures were sent: decoding them is for
            // the check with the body.
            let signatures = match body {
                Some(_) => PresentedTags::collect(headers, family.signature),
                None => PresentedTags::presence(headers, family.signature),
            };
            if matches!((&id, &timestamp), (Single::Absent, Single::Absent))
                && !signatures.header_present
            {
                continue;
            }
            match self.check_svix_family(family, id, timestamp, &signatures, body) {
                Ok(verified) => return Some(Ok(verified)),
                Err(err) => {
                    attempt.get_or_insert(Err(err));
                }
            }
        }
        attempt
    }

    fn check_svix_family(
        &self,
        family: &SvixNames,
        id: Single<'_>,
        timestamp: Single<'_>,
        signatures: &PresentedTags,
        body: Option<&[u8]>,
    ) -> Result<Verified, VerifyError> {
        let scheme = Scheme::Svix;
        let id = required(id, scheme, family.id)?;
        if id.is_empty() || id.len() > MAX_MESSAGE_ID_LEN || !id.iter().all(u8::is_ascii_graphic) {
            return Err(VerifyError::MalformedHeader {
                scheme,
                header: family.id,
                reason: "not 1 to 256 visible ASCII characters",
            });
        }
        let timestamp_raw = required(timestamp, scheme, family.timestamp)?;
        let timestamp = parse_timestamp(timestamp_raw).ok_or(VerifyError::MalformedHeader {
            scheme,
            header: family.timestamp,
            reason: "not an integer number of Unix seconds",
        })?;
        let now = match &self.clock {
            Some(clock) => clock.now_unix(),
            // `build` refuses a Svix verifier without a clock.
            None => return Err(VerifyError::TimestampOutOfTolerance { timestamp, now: 0 }),
        };
        if !within_tolerance(timestamp, now, self.tolerance_secs) {
            return Err(VerifyError::TimestampOutOfTolerance { timestamp, now });
        }
        if !signatures.header_present {
            return Err(VerifyError::MissingHeader {
                scheme,
                header: family.signature,
            });
        }
        let Some(body) = body else {
            // Only the body can tell now (a malformed signature included: refused with it).
            return Ok(Verified::bare(scheme));
        };
        if signatures.tags().is_empty() {
            return Err(VerifyError::MalformedHeader {
                scheme,
                header: family.signature,
                reason: "no `v1,<base64>` entry of the right length",
            });
        }
        for key in &self.svix {
            let expected = key.mac(&[id, b".", timestamp_raw, b".", body]);
            if signatures
                .tags()
                .iter()
                .any(|presented| any_tag_matches(core::slice::from_ref(&expected), presented))
            {
                // Checked above to be visible ASCII, so valid UTF-8.
                let message_id = core::str::from_utf8(id)
                    .map(String::from)
                    .unwrap_or_default();
                return Ok(Verified {
                    scheme,
                    message_id: Some(message_id),
                    timestamp: Some(timestamp),
                });
            }
        }
        Err(VerifyError::SignatureMismatch { scheme })
    }

    fn check_signature<H: HeaderLookup + ?Sized>(
        &self,
        headers: &H,
        body: Option<&[u8]>,
    ) -> Attempt {
        let scheme = Scheme::Signature;
        let header = names::MEETINGBAAS_SIGNATURE;
        let value = match single(headers, header) {
            Single::Absent => return None,
            Single::Repeated => return Some(Err(VerifyError::RepeatedHeader { scheme, header })),
            Single::One(value) => value,
        };
        let Some(body) = body else {
            // Only the body can tell now (a malformed signature included: refused with it).
            return Some(Ok(Verified::bare(scheme)));
        };
        let Some(presented) = decode_hex_tag(trim_ascii(value)) else {
            return Some(Err(VerifyError::MalformedHeader {
                scheme,
                header,
                reason: "not 64 hexadecimal digits",
            }));
        };
        let matched = self
            .signature
            .iter()
            .any(|key| any_tag_matches(&[key.mac(&[body])], &presented));
        Some(if matched {
            Ok(Verified::bare(scheme))
        } else {
            Err(VerifyError::SignatureMismatch { scheme })
        })
    }

    fn check_token<H: HeaderLookup + ?Sized>(
        &self,
        scheme: Scheme,
        header: &'static str,
        ring: &[TokenDigest],
        known: Option<&SecretDigest>,
        headers: &H,
    ) -> Attempt {
        let value = match single(headers, header) {
            Single::Absent => return None,
            Single::Repeated => return Some(Err(VerifyError::RepeatedHeader { scheme, header })),
            Single::One(value) => value,
        };
        let looked_up = known.is_some_and(|known| known.matches(value));
        Some(if any_token_matches(ring, value) | looked_up {
            Ok(Verified::bare(scheme))
        } else {
            Err(VerifyError::TokenMismatch { scheme })
        })
    }
}

fn required<'h>(
    value: Single<'h>,
    scheme: Scheme,
    header: &'static str,
) -> Result<&'h [u8], VerifyError> {
    match value {
        Single::One(value) => Ok(value),
        Single::Absent => Err(VerifyError::MissingHeader { scheme, header }),
        Single::Repeated => Err(VerifyError::RepeatedHeader { scheme, header }),
    }
}

/// The `v1` signatures a delivery presents, decoded once, on the stack.
struct PresentedTags {
    tags: [[u8; TAG_LEN]; MAX_SIGNATURE_ENTRIES],
    len: usize,
    /// Whether the signature header was sent at all (even with nothing usable in it).
    header_present: bool,
}

impl PresentedTags {
    // Inlined: built in the caller's frame, not moved (it is half a kilobyte).
    #[inline(always)]
    fn collect<H: HeaderLookup + ?Sized>(headers: &H, name: &'static str) -> Self {
        let mut presented = PresentedTags {
            tags: [[0; TAG_LEN]; MAX_SIGNATURE_ENTRIES],
            len: 0,
            header_present: false,
        };
        let values = headers
            .header_values(name)
            .inspect(|_| presented.header_present = true);
        for tag in v1_signatures(values) {
            // `v1_signatures` yields at most MAX_SIGNATURE_ENTRIES tags.
            if let Some(slot) = presented.tags.get_mut(presented.len) {
                *slot = tag;
                presented.len += 1;
            }
        }
        presented
    }

    /// Whether the header was sent, without decoding it (for the headers-only precheck).
    fn presence<H: HeaderLookup + ?Sized>(headers: &H, name: &'static str) -> Self {
        PresentedTags {
            tags: [[0; TAG_LEN]; MAX_SIGNATURE_ENTRIES],
            len: 0,
            header_present: headers.header_values(name).next().is_some(),
        }
    }

    fn tags(&self) -> &[[u8; TAG_LEN]] {
        &self.tags[..self.len]
    }
}

/// Every decodable `v1,<base64>` entry of every value of the signature header, bounded.
fn v1_signatures<'h>(
    values: impl Iterator<Item = &'h [u8]>,
) -> impl Iterator<Item = [u8; TAG_LEN]> {
    values
        .flat_map(|value| value.split(|b| *b == b' '))
        .filter(|entry| !entry.is_empty())
        .take(MAX_SIGNATURE_ENTRIES)
        .filter_map(|entry| entry.strip_prefix(b"v1,"))
        .filter_map(decode_base64_tag)
}

/// Unix seconds: ASCII digits only, no sign, no overflow.
fn parse_timestamp(raw: &[u8]) -> Option<i64> {
    if raw.is_empty() || raw.len() > 19 {
        return None;
    }
    raw.iter().try_fold(0i64, |acc, c| {
        let digit = c.is_ascii_digit().then(|| i64::from(c - b'0'))?;
        acc.checked_mul(10)?.checked_add(digit)
    })
}

/// |now - timestamp| <= tolerance, without overflow for any inputs.
fn within_tolerance(timestamp: i64, now: i64, tolerance_secs: u64) -> bool {
    let distance = (i128::from(now) - i128::from(timestamp)).unsigned_abs();
    distance <= u128::from(tolerance_secs)
}

fn trim_ascii(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

#[cfg(feature = "std")]
fn default_clock() -> Option<Box<dyn Clock>> {
    Some(Box::new(crate::clock::SystemClock))
}

#[cfg(not(feature = "std"))]
fn default_clock() -> Option<Box<dyn Clock>> {
    None
}

impl VerifierBuilder {
    fn record<T>(
        mut self,
        result: Result<T, ConfigError>,
        add: impl FnOnce(&mut Inner, T),
    ) -> Self {
        match result {
            Ok(key) => add(&mut self.inner, key),
            Err(err) => {
                self.error.get_or_insert(err);
            }
        }
        self
    }

    pub(crate) fn fail(mut self, err: ConfigError) -> Self {
        self.error.get_or_insert(err);
        self
    }

    /// Enables the Svix scheme and adds a `whsec_...` secret to its ring.
    pub fn svix_secret(self, secret: impl AsRef<str>) -> Self {
        let key = svix_key(secret.as_ref());
        self.record(key, |inner, key| inner.svix.push(key))
    }

    /// Enables the `X-MeetingBaas-Signature` scheme and adds a secret to its ring.
    pub fn signature_secret(self, secret: impl AsRef<str>) -> Self {
        let key = signature_key(secret.as_ref());
        self.record(key, |inner, key| inner.signature.push(key))
    }

    /// Enables the `x-mb-secret` callback scheme and adds a secret to its ring.
    pub fn callback_secret(self, secret: impl AsRef<str>) -> Self {
        let token = TokenDigest::new(Scheme::Callback, secret.as_ref());
        self.record(token, |inner, token| inner.callback.push(token))
    }

    /// Enables the `x-mb-secret` callback scheme for secrets looked up per request, beside (or
    /// instead of) the ring: Meeting BaaS takes a callback secret per bot (its
    /// `callback_config`), so a service with many bots keeps them in its database, by digest,
    /// and the receiving pipeline asks it ([`Verifier::callback_lookup`],
    /// [`Verifier::verify_with`]).
    pub fn callback_lookup(mut self, enabled: bool) -> Self {
        self.inner.callback_lookup = enabled;
        self
    }

    /// Enables the v1 `x-meeting-baas-api-key` scheme and adds an API key to its ring.
    pub fn api_key(self, api_key: impl AsRef<str>) -> Self {
        let token = TokenDigest::new(Scheme::ApiKey, api_key.as_ref());
        self.record(token, |inner, token| inner.api_key.push(token))
    }

    /// Enables the v2 alert callback scheme (`x-mb-alert-secret`) and adds an alert rule's
    /// secret to its ring. Alert bodies parse into [`Event::Alert`](crate::Event::Alert).
    pub fn alert_secret(self, secret: impl AsRef<str>) -> Self {
        let token = TokenDigest::new(Scheme::Alert, secret.as_ref());
        self.record(token, |inner, token| inner.alert.push(token))
    }

    /// Enables `scheme` with `secret`: the same as the scheme's own method.
    pub fn secret(self, scheme: Scheme, secret: impl AsRef<str>) -> Self {
        match scheme {
            Scheme::Svix => self.svix_secret(secret),
            Scheme::Signature => self.signature_secret(secret),
            Scheme::Callback => self.callback_secret(secret),
            Scheme::ApiKey => self.api_key(secret),
            Scheme::Alert => self.alert_secret(secret),
        }
    }

    /// How far a Svix timestamp may be from now, either way (default [`DEFAULT_TOLERANCE`]).
    /// Whole seconds; a sub-second part is dropped.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.inner.tolerance_secs = tolerance.as_secs();
        self
    }

    /// The clock the tolerance is measured against (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.inner.clock = Some(Box::new(clock));
        self
    }

    /// The largest body accepted, in bytes (default [`DEFAULT_MAX_BODY_BYTES`]).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        if limit == 0 {
            return self.fail(ConfigError::ZeroBodyLimit);
        }
        self.inner.max_body_bytes = limit;
        self
    }

    /// Checks the configuration and prepares every key.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let inner = self.inner;
        if Scheme::ALL.iter().all(|s| inner.key_count(*s) == 0) {
            return Err(ConfigError::NoSchemeEnabled);
        }
        if !inner.svix.is_empty() && inner.clock.is_none() {
            return Err(ConfigError::MissingClock);
        }
        Ok(Verifier {
            inner: Arc::new(inner),
        })
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("svix_keys", &self.svix.len())
            .field("signature_keys", &self.signature.len())
            .field("callback_secrets", &self.callback.len())
            .field("api_keys", &self.api_key.len())
            .field("alert_secrets", &self.alert.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("clock", &self.clock.as_ref().map(|_| "set"))
            .finish()
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("config", &self.inner)
            .field("error", &self.error)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_digits_without_overflow() {
        assert_eq!(parse_timestamp(b"1649367553"), Some(1_649_367_553));
        assert_eq!(parse_timestamp(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b""[..],
            b"-9223372036854775808",
            b"99999999999999999999",
            b"abc",
            b"12 ",
            b"+1",
            b"9223372036854775808",
        ] {
            assert_eq!(
                parse_timestamp(bad),
                None,
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn tolerance_is_inclusive_and_overflow_free() {
        assert!(within_tolerance(1000, 1300, 300));
        assert!(!within_tolerance(1000, 1301, 300));
        assert!(within_tolerance(1300, 1000, 300));
        assert!(within_tolerance(i64::MIN, i64::MAX, u64::MAX));
        assert!(!within_tolerance(i64::MIN, i64::MAX, u64::MAX - 1));
        assert!(!within_tolerance(i64::MAX, i64::MIN, 300));
    }
}

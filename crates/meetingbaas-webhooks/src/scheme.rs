//! The five authentication schemes.

use core::fmt;

/// How a delivery proves that it comes from Meeting BaaS.
///
/// A [`Verifier`](crate::Verifier) enables one or more schemes; a delivery is accepted only by an
/// enabled one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheme {
    /// v2 account webhooks delivered by Svix: HMAC-SHA256 over `{id}.{timestamp}.{body}` in
    /// `svix-signature` (or the Standard Webhooks `webhook-*` headers), with a timestamp tolerance.
    Svix,
    /// Lowercase hex HMAC-SHA256 of the body in `X-MeetingBaas-Signature`.
    Signature,
    /// v2 per-bot callbacks: the configured secret itself in `x-mb-secret`.
    Callback,
    /// v1 legacy webhooks: the account's API key in `x-meeting-baas-api-key`.
    ApiKey,
    /// v2 alert callbacks: the alert rule's secret itself in `x-mb-alert-secret`. The body is a
    /// flat alert object, not an `{event, data}` envelope (see [`Alert`](crate::event::Alert)).
    Alert,
}

impl Scheme {
    /// Every scheme, in the order a verifier tries them.
    pub const ALL: [Scheme; 5] = [
        Scheme::Svix,
        Scheme::Signature,
        Scheme::Callback,
        Scheme::ApiKey,
        Scheme::Alert,
    ];

    /// A short stable name: `svix`, `signature`, `callback`, `api-key` or `alert`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Svix => "svix",
            Scheme::Signature => "signature",
            Scheme::Callback => "callback",
            Scheme::ApiKey => "api-key",
            Scheme::Alert => "alert",
        }
    }

    /// Reads a name as written by [`Scheme::as_str`] (also accepts `api_key` and `apikey`).
    pub fn from_name(name: &str) -> Option<Scheme> {
        match name {
            "svix" => Some(Scheme::Svix),
            "signature" => Some(Scheme::Signature),
            "callback" => Some(Scheme::Callback),
            "api-key" | "api_key" | "apikey" => Some(Scheme::ApiKey),
            "alert" => Some(Scheme::Alert),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

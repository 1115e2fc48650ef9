//! Who may see the admin, and which requests may act: the [`Guard`], compared in constant time
//! over SHA-256 digests, and the same-origin check of every `POST`.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Inner, plain};

/// The login cookie's name.
pub(crate) const COOKIE: &str = "mb_admin";

/// What guards the admin; chosen at construction, there is no unguarded admin:
/// [`token`](Self::token), [`basic`](Self::basic) or [`external`](Self::external).
#[derive(Clone)]
pub struct Guard(Kind);

#[derive(Clone)]
enum Kind {
    Token(Digest32),
    Basic(Digest32),
    External,
}

/// A SHA-256 digest (never the secret itself).
#[derive(Clone)]
struct Digest32([u8; 32]);

impl Digest32 {
    fn of(parts: &[&[u8]]) -> Digest32 {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Digest32(hasher.finalize().into())
    }

    fn matches(&self, other: &Digest32) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Kind::Token(_) => "Guard::token(..)",
            Kind::Basic(_) => "Guard::basic(..)",
            Kind::External => "Guard::external()",
        })
    }
}

/// How a request was let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// An `Authorization` header (a script, or basic auth).
    Header,
    /// The login cookie.
    Cookie,
    /// The application's own layer.
    External,
}

impl Guard {
    /// `Authorization: Bearer TOKEN`, or the same token through the login form (which sets a
    /// cookie holding a digest of it, never the token). Give a long random token (32 random
    /// bytes, say): the cookie's digest is the same for every sign-in until the token changes,
    /// so changing the token signs everyone out. Surrounding spaces are ignored; an empty token
    /// lets nobody in.
    pub fn token(token: impl AsRef<str>) -> Guard {
        Guard(Kind::Token(Digest32::of(&[
            b"token:",
            token.as_ref().trim().as_bytes(),
        ])))
    }

    /// `Authorization: Basic` with this user and password (the browser asks for them). An
    /// empty password lets nobody in.
    pub fn basic(user: impl AsRef<str>, password: impl AsRef<str>) -> Guard {
        Guard(Kind::Basic(Digest32::of(&[
            b"basic:",
            user.as_ref().as_bytes(),
            b":",
            password.as_ref().as_bytes(),
        ])))
    }

    /// Your own tower layer in front authenticates (SSO, a VPN header...): the admin lets
    /// every request it gets through. The same-origin check of actions still applies.
    pub fn external() -> Guard {
        Guard(Kind::External)
    }

    pub(crate) fn has_login(&self) -> bool {
        matches!(self.0, Kind::Token(_))
    }

    /// How `headers` are let in, or `None`.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Option<Via> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        match &self.0 {
            Kind::External => Some(Via::External),
            Kind::Token(expected) => {
                if is_empty_digest(expected, b"token:") {
                    return None;
                }
                if let Some(token) = authorization.and_then(|value| strip_scheme(value, "bearer")) {
                    return expected
                        .matches(&Digest32::of(&[b"token:", token.as_bytes()]))
                        .then_some(Via::Header);
                }
                let expected = cookie_value(expected);
                cookies(headers, COOKIE)
                    .any(|cookie| bool::from(cookie.as_bytes().ct_eq(expected.as_bytes())))
                    .then_some(Via::Cookie)
            }
            Kind::Basic(expected) => {
                use base64::Engine as _;
                let encoded = authorization.and_then(|value| strip_scheme(value, "basic"))?;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()?;
                let (user, password) = decoded.split_at(decoded.iter().position(|&b| b == b':')?);
                let password = &password[1..];
                if password.is_empty() {
                    return None;
                }
                expected
                    .matches(&Digest32::of(&[b"basic:", user, b":", password]))
                    .then_some(Via::Header)
            }
        }
    }

    /// Whether `token` is the guard's token (the login form).
    pub(crate) fn token_matches(&self, token: &str) -> bool {
        match &self.0 {
            Kind::Token(expected) => {
                !token.is_empty() && expected.matches(&Digest32::of(&[b"token:", token.as_bytes()]))
            }
            _ => false,
        }
    }

    /// The login cookie's value for this guard (a digest of the token's digest).
    pub(crate) fn cookie_value(&self) -> Option<String> {
        match &self.0 {
            Kind::Token(expected) => Some(cookie_value(expected)),
            _ => None,
        }
    }
}

fn is_empty_digest(digest: &Digest32, prefix: &[u8]) -> bool {
    digest.matches(&Digest32::of(&[prefix]))
}

fn cookie_value(token: &Digest32) -> String {
    Digest32::of(&[b"cookie:", &token.0]).hex()
}

/// The credentials after `scheme ` (case-insensitive), if `value` has that scheme.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

/// The values of cookie `name` (a cookie set by a sibling domain may come beside ours).
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(move |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// Whether a request is not cross-site. A browser's `Sec-Fetch-Site` decides when it is sent
/// (`same-origin`, or `none` for a request the user typed); else an `Origin` must be
/// `http(s)://` and the `Host` (or, over HTTP/2, the request's authority). A client that sends
/// neither header (a script) passes: browsers send one or both with every `POST`.
pub(crate) fn same_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .map(HeaderValue::as_bytes)
        .or(authority.map(str::as_bytes));
    let origin = origin.as_bytes();
    host.is_some_and(|host| {
        [b"http://".as_slice(), b"https://".as_slice()]
            .iter()
            .any(|scheme| {
                origin
                    .strip_prefix(*scheme)
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
            })
    })
}

/// The answer to a cross-site request.
pub(crate) fn cross_site() -> Response<Full<Bytes>> {
    plain(StatusCode::FORBIDDEN, "cross-site request refused")
}

/// 401 with nothing of the inbox: a page pointing at the login form (token guard), or the
/// basic-auth challenge.
pub(crate) fn unauthorized(inner: &Inner) -> Response<Full<Bytes>> {
    let mut response = match inner.guard.0 {
        Kind::Token(_) => crate::html::page(
            "Sign in",
            &format!(
                "<p>Sign in to see the inbox: <a href=\"{}/login\">sign in</a>, or send \
                 <code>Authorization: Bearer TOKEN</code>.</p>",
                crate::html::escape(&inner.base)
            ),
            &inner.base,
        ),
        _ => plain(StatusCode::UNAUTHORIZED, "unauthorized"),
    };
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let challenge = match inner.guard.0 {
        Kind::Basic(_) => "Basic realm=\"inbox admin\", charset=\"UTF-8\"",
        _ => "Bearer",
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn a_token_lets_in_by_header_or_cookie_and_nothing_else() {
        let guard = Guard::token("t0ken");
        assert_eq!(
            guard.check(&headers(&[("authorization", "Bearer t0ken")])),
            Some(Via::Header)
        );
        assert_eq!(
            guard.check(&headers(&[("authorization", "bearer t0ken")])),
            Some(Via::Header)
        );
        assert_eq!(
            guard.check(&headers(&[("authorization", "Bearer t0ke")])),
            None
        );
        assert_eq!(guard.check(&headers(&[])), None);
        let cookie = format!("a=b; {COOKIE}={}", guard.cookie_value().unwrap());
        assert_eq!(
            guard.check(&headers(&[("cookie", &cookie)])),
            Some(Via::Cookie)
        );
        assert_eq!(guard.check(&headers(&[("cookie", "mb_admin=t0ken")])), None);
        assert!(!format!("{guard:?}").contains("t0ken"));
        assert_eq!(
            Guard::token("").check(&headers(&[("authorization", "Bearer ")])),
            None
        );
    }

    #[test]
    fn basic_credentials_are_checked_whole() {
        let guard = Guard::basic("ops", "pa:ss");
        // ops:pa:ss
        assert_eq!(
            guard.check(&headers(&[("authorization", "Basic b3BzOnBhOnNz")])),
            Some(Via::Header)
        );
        // ops:pa
        assert_eq!(
            guard.check(&headers(&[("authorization", "Basic b3BzOnBh")])),
            None
        );
        assert_eq!(
            guard.check(&headers(&[("authorization", "Basic !!")])),
            None
        );
    }

    #[test]
    fn only_same_origin_posts_pass() {
        let host = ("host", "127.0.0.1:8080");
        let check = |pairs: &[(&str, &str)]| same_origin(&headers(pairs), None);
        assert!(check(&[host]));
        assert!(check(&[host, ("origin", "http://127.0.0.1:8080")]));
        assert!(!check(&[host, ("origin", "https://evil.example")]));
        assert!(!check(&[host, ("origin", "null")]));
        assert!(!check(&[host, ("sec-fetch-site", "cross-site")]));
        assert!(!check(&[host, ("sec-fetch-site", "same-site")]));
        // The browser's word decides: behind a proxy rewriting `Host`, a same-origin form.
        assert!(check(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://ops.example"),
            ("sec-fetch-site", "same-origin"),
        ]));
        assert!(!check(&[("origin", "http://127.0.0.1:8080")]));
        // Over HTTP/2: no `Host`, the request's authority.
        let origin = headers(&[("origin", "https://ops.example")]);
        assert!(same_origin(&origin, Some("ops.example")));
        assert!(!same_origin(&origin, Some("other.example")));
    }
}

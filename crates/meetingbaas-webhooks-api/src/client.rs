//! The client: one method per endpoint, and the request loop they share (timeouts, size cap,
//! no redirects, bounded retry).

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::{Host, Url};

use crate::answer::{Accepted, WebhookEndpoints, WebhookUrl};
use crate::callback::{CallbackTarget, parse_http_url};
use crate::error::{Error, ErrorResponse, excerpt};
use crate::{ApiKey, BotId, RetryPolicy};

/// Meeting BaaS's public API.
pub const DEFAULT_API_URL: &str = "https://api.meetingbaas.com";

/// The environment variable [`Client::from_env`] reads the API key from.
pub const API_KEY_ENV_VAR: &str = "MEETINGBAAS_API_KEY";

/// The environment variable [`Client::from_env`] reads the base URL from (default
/// [`DEFAULT_API_URL`]).
pub const API_URL_ENV_VAR: &str = "MEETINGBAAS_API_URL";

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-meeting-baas-api-key";

/// How long connecting (TCP and TLS) may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one try (connect, send, answer and its whole body) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer body read by default (the answers are small JSON documents).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A Meeting BaaS API client. Cheap to clone (the connection pool is shared).
///
/// Build one with [`Client::from_env`] or [`Client::builder`]. Its `Debug` output shows the
/// base URL and settings, never the API key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key_header: HeaderValue,
    retry: RetryPolicy,
    timeout: Duration,
    max_response_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base.as_str())
            .field("api_key", &"<redacted>")
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Settings of a [`Client`]; [`ClientBuilder::build`] checks them all.
///
/// ```
/// use std::time::Duration;
/// use meetingbaas_webhooks_api::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .api_key("mb-key")
///     .base_url("http://127.0.0.1:8080")
///     .timeout(Duration::from_secs(10))
///     .retry(RetryPolicy::none())
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8080/");
/// assert!(!format!("{client:?}").contains("mb-key"));
/// ```
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
    extra_roots: Vec<Vec<u8>>,
    user_agent: String,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            extra_roots: Vec::new(),
            user_agent: concat!("meetingbaas-webhooks-api/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientBuilder {
    /// The API key (required). Prefer the environment ([`ClientBuilder::env`]) to a literal.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API's base URL (default [`DEFAULT_API_URL`]); a path prefix is kept
    /// (`https://proxy.example/meetingbaas` sends to `.../meetingbaas/v2/bots/...`). `http://`
    /// is accepted for loopback hosts only, so the key never crosses a network in clear.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Fills what is not set yet from [`API_KEY_ENV_VAR`] and [`API_URL_ENV_VAR`].
    pub fn env(self) -> Self {
        self.env_with(|name| std::env::var(name).ok())
    }

    /// Like [`ClientBuilder::env`], reading variables through `lookup` (for tests).
    pub fn env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        if self.api_key.is_none() {
            self.api_key = lookup(API_KEY_ENV_VAR);
        }
        if self.base_url.is_none() {
            self.base_url = lookup(API_URL_ENV_VAR).filter(|url| !url.trim().is_empty());
        }
        self
    }

    /// How long connecting may take (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one try may take, from connecting to the end of the answer's body (default
    /// [`DEFAULT_TIMEOUT`]). Retries each get this much again.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retry on 429 and 5xx (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The largest answer body read (default [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger one is
    /// [`Error::ResponseTooLarge`], and is not read to the end.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Trusts one more root certificate (PEM), besides Mozilla's: a TLS-inspecting proxy, a
    /// test server.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(pem.into());
        self
    }

    /// The `User-Agent` header (default `meetingbaas-webhooks-api/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Checks the settings and builds the client. No request is made.
    pub fn build(self) -> Result<Client, Error> {
        let key = ApiKey::new(self.api_key.ok_or_else(|| {
            Error::Config(format!("no API key: pass one or set {API_KEY_ENV_VAR}"))
        })?)?;
        let mut key_header = HeaderValue::from_str(key.expose())
            .map_err(|_| Error::Config("the API key cannot be sent in a header".into()))?;
        key_header.set_sensitive(true);

        let base = parse_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_API_URL))?;
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Config("the user agent is not a valid header value".into()))?;
        let mut defaults = HeaderMap::new();
        defaults.insert(header::ACCEPT, HeaderValue::from_static("application/json"));

        let mut http = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(true)
            .https_only(base.scheme() == "https")
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(user_agent)
            .default_headers(defaults);
        for pem in &self.extra_roots {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|_| Error::Config("a root certificate is not valid PEM".into()))?;
            http = http.add_root_certificate(certificate);
        }
        let http = http.build().map_err(|err| {
            Error::Config(format!("cannot build the HTTP client: {}", describe(&err)))
        })?;
        Ok(Client {
            http,
            base,
            key_header,
            retry: self.retry,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// Reads and checks a base URL: http(s), a host, plain http on loopback only; no query, no
/// fragment, no credentials.
fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let mut url =
        parse_http_url(raw.trim(), "the API URL").map_err(|err| Error::Config(err.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the API URL must not contain a user name or password".into(),
        ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(Error::Config(format!(
            "the API URL `{}` is plain http to a host that is not loopback: the API key would cross the network unencrypted; use https://",
            excerpt(url.as_str(), 100)
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl Client {
    /// Settings to fill in.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client with the API key from [`API_KEY_ENV_VAR`] and the base URL from
    /// [`API_URL_ENV_VAR`] (default [`DEFAULT_API_URL`]), and default settings otherwise.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::default().env().build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `POST /v2/bots/{bot_id}/resend-webhook`: Meeting BaaS delivers the bot's final webhook
    /// (`bot.completed` or `bot.failed`) to the account's webhook endpoints again.
    ///
    /// 404 is [`Error::BotNotFound`]; 409 (the bot is not `completed` or `failed` yet) is
    /// [`Error::Conflict`].
    pub async fn resend_webhook(&self, bot: &BotId) -> Result<Accepted, Error> {
        let url = self.endpoint(&["v2", "bots", bot.as_str(), "resend-webhook"], &[])?;
        let (status, body) = self.call(Method::POST, url, None).await?;
        Ok(Accepted::from_answer(status, &body))
    }

    /// `POST /v2/bots/{bot_id}/retry-callback`: Meeting BaaS calls the bot's callback again, or,
    /// with `target`, the given URL with the given secret and method instead.
    ///
    /// 404 is [`Error::BotNotFound`]; 409 (not `completed`/`failed`, or no callback configured
    /// and no `target`) is [`Error::Conflict`].
    pub async fn retry_callback(
        &self,
        bot: &BotId,
        target: Option<&CallbackTarget>,
    ) -> Result<Accepted, Error> {
        let url = self.endpoint(&["v2", "bots", bot.as_str(), "retry-callback"], &[])?;
        let (status, body) = self
            .call(Method::POST, url, target.map(CallbackTarget::to_json))
            .await?;
        Ok(Accepted::from_answer(status, &body))
    }

    /// v1 `POST /bots/retry_webhook?bot_uuid=...`: Meeting BaaS sends the bot's v1 webhook
    /// again, to `webhook_url` when given (an absolute http(s) URL), else to the account's.
    pub async fn retry_webhook_v1(
        &self,
        bot: &BotId,
        webhook_url: Option<&str>,
    ) -> Result<Accepted, Error> {
        let webhook_url = webhook_url
            .map(|url| parse_http_url(url, "the webhook URL"))
            .transpose()?;
        let mut query = vec![("bot_uuid", bot.as_str())];
        if let Some(url) = &webhook_url {
            query.push(("webhook_url", url.as_str()));
        }
        let url = self.endpoint(&["bots", "retry_webhook"], &query)?;
        let (status, body) = self.call(Method::POST, url, None).await?;
        Ok(Accepted::from_answer(status, &body))
    }

    /// v1 `GET /accounts/webhook_url`: where the account's v1 webhooks go.
    pub async fn webhook_url(&self) -> Result<WebhookUrl, Error> {
        let url = self.endpoint(&["accounts", "webhook_url"], &[])?;
        let (status, body) = self.call(Method::GET, url, None).await?;
        parse_json(status, &body)
    }

    /// v1 `POST /accounts/webhook_url` with `{"webhook_url": url}`: sets where the account's v1
    /// webhooks go. Returns the URL as the server now has it (the one sent, if the answer does
    /// not say).
    pub async fn set_webhook_url(&self, webhook_url: &str) -> Result<WebhookUrl, Error> {
        let checked = parse_http_url(webhook_url, "the webhook URL")?;
        let url = self.endpoint(&["accounts", "webhook_url"], &[])?;
        let body = serde_json::json!({ "webhook_url": webhook_url });
        let (status, answer) = self.call(Method::POST, url, Some(body)).await?;
        Ok(serde_json::from_slice::<WebhookUrl>(&answer)
            .ok()
            .filter(|answer| answer.webhook_url.is_some())
            .unwrap_or(WebhookUrl {
                webhook_url: Some(webhook_url.to_owned()),
            }))
        .inspect(|_| {
            tracing::debug!(status, host = checked.host_str(), "webhook URL set");
        })
    }

    /// `GET /bots/webhooks/bot` ("list webhook endpoints").
    pub async fn webhook_endpoints(&self) -> Result<WebhookEndpoints, Error> {
        let url = self.endpoint(&["bots", "webhooks", "bot"], &[])?;
        let (status, body) = self.call(Method::GET, url, None).await?;
        let raw: Value = parse_json(status, &body)?;
        Ok(WebhookEndpoints::new(raw))
    }

    /// The base URL with `segments` appended (each percent-encoded) and `query` set.
    fn endpoint(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, Error> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("the API URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one request, retrying on 429 and 5xx as the policy allows; returns a 2xx answer's
    /// status and body, or the typed error.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<(u16, Vec<u8>), Error> {
        let body = body.map(|json| json.to_string());
        let mut retry = 0;
        loop {
            let (status, headers, answer) = self.attempt(&method, &url, body.as_deref()).await?;
            tracing::debug!(%method, path = url.path(), status = status.as_u16(), retry, "Meeting BaaS answered");
            if status.is_success() {
                return Ok((status.as_u16(), answer));
            }
            if status.is_redirection() {
                let location_host = headers
                    .get(header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|location| url.join(location).ok())
                    .and_then(|location| location.host_str().map(str::to_owned));
                return Err(Error::Redirect {
                    status: status.as_u16(),
                    location_host,
                });
            }
            let response = ErrorResponse::from_body(&answer);
            let asked = response
                .retry_after
                .map(Duration::from_secs)
                .or_else(|| retry_after_header(&headers, SystemTime::now()));
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if let Some(wait) = self.retry.delay(retry, asked).filter(|_| retryable) {
                tracing::debug!(status = status.as_u16(), ?wait, retry, "retrying");
                tokio::time::sleep(wait).await;
                retry += 1;
                continue;
            }
            return Err(typed_error(status, response, asked));
        }
    }

    /// One try: the request, the answer and its body (up to the cap), within the timeout.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&str>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), Error> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(API_KEY_HEADER, self.key_header.clone());
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        let exchange = async {
            let mut response = request.send().await.map_err(transport_error)?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            if response
                .content_length()
                .is_some_and(|length| length > self.max_response_bytes as u64)
            {
                return Err(Error::ResponseTooLarge {
                    limit: self.max_response_bytes,
                });
            }
            let mut answer = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
                if answer.len() + chunk.len() > self.max_response_bytes {
                    return Err(Error::ResponseTooLarge {
                        limit: self.max_response_bytes,
                    });
                }
                answer.extend_from_slice(&chunk);
            }
            Ok((status, headers, answer))
        };
        // reqwest's own timeout covers the same span; this one also bounds anything it misses.
        match tokio::time::timeout(self.timeout + Duration::from_millis(100), exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(self.timeout)),
        }
        .map_err(|err| match err {
            // reqwest's timeout error does not say how long it waited: this one does.
            Error::Timeout(_) => Error::Timeout(self.timeout),
            other => other,
        })
    }
}

/// The error for a non-2xx, non-3xx answer that is not retried (any more).
fn typed_error(status: StatusCode, response: ErrorResponse, asked: Option<Duration>) -> Error {
    let response = Box::new(response);
    match status.as_u16() {
        404 => Error::BotNotFound(response),
        409 => Error::Conflict(response),
        429 => Error::RateLimited {
            retry_after: asked,
            response,
        },
        401 | 403 => Error::Unauthorized {
            status: status.as_u16(),
            response,
        },
        other => Error::Status {
            status: other,
            response,
        },
    }
}

/// `Retry-After`: a number of seconds, or an HTTP date (a date already past: no wait).
fn retry_after_header(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A 2xx body as `T`.
fn parse_json<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|err| Error::InvalidResponse {
        status,
        reason: format!("the body is not the documented JSON: {err}"),
    })
}

/// A reqwest error as ours: timeouts, connection failures, the rest. The URL is left out (it
/// may carry a `webhook_url` with a token in it).
fn transport_error(err: reqwest::Error) -> Error {
    let err = err.without_url();
    if err.is_timeout() {
        Error::Timeout(Duration::ZERO)
    } else if err.is_connect() {
        Error::Connect(describe(&err))
    } else {
        Error::Transport(describe(&err))
    }
}

/// An error and its causes on one line, escaped.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    excerpt(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Result<Client, Error> {
        Client::builder().api_key("k").base_url(base).build()
    }

    fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, value.parse().unwrap());
        retry_after_header(&headers, now)
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let now = date - Duration::from_secs(90);
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(90))
        );
        // A date already past is no wait at all; what is neither form is ignored.
        assert_eq!(
            retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                date + Duration::from_secs(5)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }

    #[test]
    fn endpoints_keep_a_path_prefix_and_encode_the_query() {
        let client = client("https://proxy.example/mb/").unwrap();
        let url = client
            .endpoint(
                &["bots", "retry_webhook"],
                &[
                    ("bot_uuid", "b"),
                    ("webhook_url", "https://x.example/?a=1&b=2"),
                ],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://proxy.example/mb/bots/retry_webhook?bot_uuid=b&webhook_url=https%3A%2F%2Fx.example%2F%3Fa%3D1%26b%3D2"
        );
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        assert!(client("http://127.0.0.1:1").is_ok());
        assert!(client("http://localhost:1").is_ok());
        assert!(client("http://[::1]:1").is_ok());
        let err = client("http://api.meetingbaas.com").unwrap_err();
        assert!(err.to_string().contains("unencrypted"), "{err}");
        assert!(client("https://user:pw@api.example").is_err());
        assert!(client("ftp://api.example").is_err());
    }

    #[test]
    fn the_key_comes_from_the_caller_or_the_environment() {
        let missing = Client::builder().env_with(|_| None).build().unwrap_err();
        assert!(missing.to_string().contains(API_KEY_ENV_VAR));
        let from_env = Client::builder()
            .env_with(|name| match name {
                API_KEY_ENV_VAR => Some("env-key".into()),
                API_URL_ENV_VAR => Some("http://127.0.0.1:9".into()),
                _ => None,
            })
            .build()
            .unwrap();
        assert_eq!(from_env.base_url().as_str(), "http://127.0.0.1:9/");
        assert!(!format!("{from_env:?}").contains("env-key"));
        let default = Client::builder()
            .api_key("k")
            .env_with(|_| None)
            .build()
            .unwrap();
        assert_eq!(default.base_url().as_str(), "https://api.meetingbaas.com/");
    }
}

//! Sending deliveries: an HTTP/1.1 client (reqwest, rustls with `ring`) with a timeout on every
//! step.
//!
//! Used by `trigger`, by `listen --forward-to` and by `demo`. `http://` and `https://` URLs are
//! accepted (a local receiver, a tunnel, a deployed endpoint). Redirects are not followed: a
//! signed delivery goes where it was sent, and a 3xx is reported as the answer it is.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of an answer's body that is kept (the rest is not read).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where deliveries go: an `http://` or `https://` URL with a host.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    host: String,
    port: u16,
    url: String,
}

impl Target {
    /// Reads a URL; anything but `http://` or `https://` with a host is refused with a one-line
    /// reason.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let shown = crate::output::escape(url);
        let uri: Uri = url
            .parse()
            .map_err(|err| format!("`{shown}` is not a URL: {err}"))?;
        let default_port = match uri.scheme_str() {
            Some("http") => 80,
            Some("https") => 443,
            Some(other) => {
                return Err(format!(
                    "`{shown}`: unsupported scheme `{}`; use http:// or https://",
                    crate::output::escape(other)
                ));
            }
            None => {
                return Err(format!(
                    "`{shown}` has no scheme: write http://HOST:PORT/PATH or https://HOST/PATH"
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{shown}` has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{shown}` has no host"));
        }
        if authority.as_str().contains('@') {
            return Err(format!(
                "`{shown}`: user names and passwords in URLs are not sent"
            ));
        }
        Ok(Target {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(default_port),
            url: url.to_owned(),
        })
    }

    /// The URL as given.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// A receiver's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body, at most [`MAX_ANSWER_BYTES`] of it.
    pub(crate) body: Bytes,
}

impl Answer {
    /// The body as one line of text (lossy UTF-8, newlines folded, shortened; control
    /// characters are escaped when the line is printed).
    pub(crate) fn body_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.chars().count() > 300 {
            line = line.chars().take(300).collect::<String>() + "...";
        }
        line
    }

    /// The body as JSON, if it is.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The environment variable naming one more root certificate (PEM file) that deliveries trust:
/// a local HTTPS receiver with a self-made certificate (mkcert and the like).
pub(crate) const CA_CERT_ENV_VAR: &str = "MEETINGBAAS_CA_CERT";

/// The one HTTP client of the process: rustls with `ring` and Mozilla's roots (plus
/// [`CA_CERT_ENV_VAR`]), HTTP/1.1, no redirects, no cookies.
fn http() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let mut builder = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(true)
                .http1_only()
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .connect_timeout(CONNECT_TIMEOUT)
                .pool_max_idle_per_host(4);
            if let Some(path) = std::env::var_os(CA_CERT_ENV_VAR).filter(|p| !p.is_empty()) {
                let pem = std::fs::read(&path).map_err(|err| {
                    format!("{CA_CERT_ENV_VAR}={}: {err}", path.to_string_lossy())
                })?;
                let certificate = reqwest::Certificate::from_pem(&pem).map_err(|_| {
                    format!(
                        "{CA_CERT_ENV_VAR}={}: not a PEM certificate",
                        path.to_string_lossy()
                    )
                })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build()
                .map_err(|err| format!("cannot build the HTTP client: {}", describe(&err)))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// POSTs `body` with `headers` to `target`; the whole exchange (connect, send, answer) must end
/// within `timeout`.
pub(crate) async fn post<B>(
    target: &Target,
    headers: HeaderMap,
    body: B,
    timeout: Duration,
) -> Result<Answer, String>
where
    B: Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    send(Method::POST, target, headers, body, timeout).await
}

/// Sends `body` with `headers` to `target` with `method` (a delivery's own, when forwarding);
/// the whole exchange (connect, send, answer) must end within `timeout`.
pub(crate) async fn send<B>(
    method: Method,
    target: &Target,
    headers: HeaderMap,
    body: B,
    timeout: Duration,
) -> Result<Answer, String>
where
    B: Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let exchange = async {
        let mut response = http()?
            .request(method, target.url.as_str())
            .headers(headers)
            .body(reqwest::Body::wrap(body))
            .send()
            .await
            .map_err(|err| transport_error(target, err))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(data)) => {
                    let room = MAX_ANSWER_BYTES - body.len();
                    body.extend_from_slice(&data[..data.len().min(room)]);
                }
                Ok(None) => break,
                Err(err) => {
                    return Err(format!(
                        "{} answered {status} but its body broke off: {}",
                        target.url,
                        describe(&err.without_url())
                    ));
                }
            }
        }
        Ok(Answer {
            status,
            headers,
            body: Bytes::from(body),
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer from {} within {} s",
            target.url,
            timeout.as_secs_f32()
        )),
    }
}

/// A failed exchange on one line, naming the address for connection failures.
fn transport_error(target: &Target, err: reqwest::Error) -> String {
    let err = err.without_url();
    if err.is_connect() {
        format!(
            "cannot connect to {}:{}: {}",
            target.host,
            target.port,
            describe(&err)
        )
    } else {
        format!("{} did not answer: {}", target.url, describe(&err))
    }
}

/// An error and its causes on one line.
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
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
    text
}

/// A body sent as separate frames with no declared length, so that hyper sends it chunked
/// (`Transfer-Encoding: chunked`), unless the caller sets `Content-Length` itself.
#[derive(Debug)]
pub(crate) struct Frames {
    frames: VecDeque<Bytes>,
}

impl Frames {
    /// `body` cut into frames of `frame_len` bytes.
    pub(crate) fn new(body: &Bytes, frame_len: usize) -> Self {
        let frame_len = frame_len.max(1);
        let frames = (0..body.len())
            .step_by(frame_len)
            .map(|start| body.slice(start..(start + frame_len).min(body.len())))
            .collect();
        Frames { frames }
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .frames
                .pop_front()
                .map(|b| Ok(Frame::data(b))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown on purpose: a known size would make hyper send `Content-Length`.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_read() {
        let target = Target::parse("http://127.0.0.1:3000/webhooks/meetingbaas?x=1").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("127.0.0.1", 3000));
        let bare = Target::parse("http://localhost").unwrap();
        assert_eq!(bare.port, 80);
        let v6 = Target::parse("http://[::1]:8080/").unwrap();
        assert_eq!(v6.host, "::1");
        let tls = Target::parse("https://example.com/hook").unwrap();
        assert_eq!((tls.host.as_str(), tls.port), ("example.com", 443));
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        for url in [
            "ftp://x/",
            "localhost:3000",
            "not a url",
            "",
            "https://user:pw@example.com/",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn frames_cover_the_body_in_order() {
        let body = Bytes::from_static(b"abcdefg");
        let frames = Frames::new(&body, 3);
        let joined: Vec<u8> = frames.frames.iter().flatten().copied().collect();
        assert_eq!(joined, b"abcdefg");
        assert_eq!(frames.frames.len(), 3);
    }
}

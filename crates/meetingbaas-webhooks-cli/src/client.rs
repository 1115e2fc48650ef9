//! Sending deliveries: a small HTTP/1.1 client with a timeout on every step.
//!
//! Used by `trigger`, by `listen --forward-to` and by `demo`. Plain `http://` only: the targets
//! are local receivers (an example, your app on localhost, or the local end of a tunnel).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderMap, Request, StatusCode, Uri, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of an answer's body that is kept (the rest is not read).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where deliveries go: an `http://host:port/path` URL.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    host: String,
    port: u16,
    authority: String,
    path: PathAndQuery,
    url: String,
}

impl Target {
    /// Reads a URL; anything but `http://` with a host is refused with a one-line reason.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url
            .parse()
            .map_err(|err| format!("`{url}` is not a URL: {err}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "`{url}`: https is not supported; give the local http address of your \
                     receiver (or of the tunnel in front of it)"
                ));
            }
            Some(other) => return Err(format!("`{url}`: unsupported scheme `{other}`")),
            None => {
                return Err(format!(
                    "`{url}` has no scheme: write http://HOST:PORT/PATH"
                ));
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        Ok(Target {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            path: uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
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
    /// The body as one line of text (lossy UTF-8, newlines folded, shortened).
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

/// POSTs `body` with `headers` to `target`; the whole exchange (connect, send, answer) must end
/// within `timeout`.
pub(crate) async fn post<B>(
    target: &Target,
    headers: HeaderMap,
    body: B,
    timeout: Duration,
) -> Result<Answer, String>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    match tokio::time::timeout(timeout, exchange(target, headers, body)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer from {} within {} s",
            target.url,
            timeout.as_secs_f32()
        )),
    }
}

async fn exchange<B>(target: &Target, headers: HeaderMap, body: B) -> Result<Answer, String>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let address = format!("{}:{}", target.host, target.port);
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| format!("cannot connect to {address}: timed out"))?
    .map_err(|err| format!("cannot connect to {address}: {err}"))?;
    let _ = stream.set_nodelay(true);

    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| describe(&err))?;
    // Drives the connection; ends when `sender` is dropped or the peer closes.
    tokio::spawn(connection);

    let mut request = Request::post(target.path.as_str())
        .header(header::HOST, target.authority.as_str())
        .body(body)
        .map_err(|err| format!("cannot build the request: {err}"))?;
    for (name, value) in &headers {
        request.headers_mut().append(name, value.clone());
    }

    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("{} did not answer: {}", target.url, describe(&err)))?;
    let (parts, mut incoming) = response.into_parts();
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER_BYTES {
        match incoming.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = MAX_ANSWER_BYTES - body.len();
                    body.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(err)) => {
                return Err(format!(
                    "{} answered {} but its body broke off: {}",
                    target.url,
                    parts.status,
                    describe(&err)
                ));
            }
            None => break,
        }
    }
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body: Bytes::from(body),
    })
}

/// An error and its causes on one line.
pub(crate) fn describe(err: &(dyn StdError + 'static)) -> String {
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
    fn http_urls_are_read() {
        let target = Target::parse("http://127.0.0.1:3000/webhooks/meetingbaas?x=1").unwrap();
        assert_eq!(target.host, "127.0.0.1");
        assert_eq!(target.port, 3000);
        assert_eq!(target.path.as_str(), "/webhooks/meetingbaas?x=1");
        let bare = Target::parse("http://localhost").unwrap();
        assert_eq!((bare.port, bare.path.as_str()), (80, "/"));
        let v6 = Target::parse("http://[::1]:8080/").unwrap();
        assert_eq!(v6.host, "::1");
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        for url in [
            "https://example.com/",
            "ftp://x/",
            "localhost:3000",
            "not a url",
            "",
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

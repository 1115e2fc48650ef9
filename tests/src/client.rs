//! A small HTTP/1.1 client over raw TCP, so that each case controls exactly what is sent.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// The route every example serves by default.
pub const ROUTE: &str = "/webhooks/meetingbaas";

/// Where a request goes: the server's address, the route, and TLS when the server speaks it.
#[derive(Clone)]
pub struct Target {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// The path requested.
    pub route: String,
    /// The request method: `POST` unless a case says otherwise ([`with_method`](Self::with_method)).
    pub method: String,
    /// A client trusting the server's certificate, when the server serves HTTPS.
    pub tls: Option<TlsConnector>,
}

impl Target {
    /// Plain HTTP to [`ROUTE`] at `addr`.
    pub fn plain(addr: &str) -> Target {
        Target {
            addr: addr.to_string(),
            route: ROUTE.to_string(),
            method: "POST".to_string(),
            tls: None,
        }
    }

    /// The same server and path, another method (`PUT` for a bot's callback configured so).
    pub fn with_method(mut self, method: &str) -> Target {
        self.method = method.to_string();
        self
    }

    /// The same server, another path.
    pub fn with_route(mut self, route: &str) -> Target {
        self.route = route.to_string();
        self
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .field("route", &self.route)
            .field("method", &self.method)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// How long any exchange may take.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// What to write after the request head.
#[derive(Clone, Debug)]
pub enum Body {
    /// `Content-Length` with these bytes.
    Length(Vec<u8>),
    /// `Transfer-Encoding: chunked`, one chunk per element, then the terminating chunk.
    Chunked(Vec<Vec<u8>>),
    /// `Transfer-Encoding: chunked` with these chunks and no terminator: the sender stops
    /// writing and waits for the answer.
    ChunkedUnterminated(Vec<Vec<u8>>),
    /// A `Content-Length` header with this value and these bytes (shorter, or none at all).
    DeclaredLength(u64, Vec<u8>),
    /// `Content-Length`, written in these pieces with this pause between them.
    Slow(Vec<Vec<u8>>, Duration),
}

/// A parsed answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (panics with the body's text when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "answer {} is not JSON ({err}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// POSTs `body` with `headers` to the examples' route and reads the answer.
pub async fn post(addr: &str, headers: &[(String, String)], body: Body) -> io::Result<Response> {
    post_to(&Target::plain(addr), headers, body).await
}

/// POSTs `body` with `headers` to `target` (over TLS when it says so) and reads the answer.
pub async fn post_to(
    target: &Target,
    headers: &[(String, String)],
    body: Body,
) -> io::Result<Response> {
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange(target, headers, body))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer in time"))?
}

async fn exchange(
    target: &Target,
    headers: &[(String, String)],
    body: Body,
) -> io::Result<Response> {
    let stream = TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    match &target.tls {
        None => send(stream, target, headers, body).await,
        Some(connector) => {
            let name = ServerName::try_from("localhost").expect("a DNS name");
            let stream = connector.connect(name, stream).await?;
            send(stream, target, headers, body).await
        }
    }
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    target: &Target,
    headers: &[(String, String)],
    body: Body,
) -> io::Result<Response> {
    let (method, route, addr) = (&target.method, &target.route, &target.addr);
    let mut head = format!(
        "{method} {route} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match &body {
        Body::Length(bytes) => head.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
        Body::Slow(pieces, _) => head.push_str(&format!(
            "Content-Length: {}\r\n",
            pieces.iter().map(Vec::len).sum::<usize>()
        )),
        Body::DeclaredLength(declared, _) => {
            head.push_str(&format!("Content-Length: {declared}\r\n"))
        }
        Body::Chunked(_) | Body::ChunkedUnterminated(_) => {
            head.push_str("Transfer-Encoding: chunked\r\n")
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    match body {
        Body::Length(bytes) | Body::DeclaredLength(_, bytes) => stream.write_all(&bytes).await?,
        Body::Slow(pieces, pause) => {
            for piece in pieces {
                stream.write_all(&piece).await?;
                stream.flush().await?;
                tokio::time::sleep(pause).await;
            }
        }
        Body::Chunked(chunks) => {
            for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                write_chunk(&mut stream, chunk).await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Body::ChunkedUnterminated(chunks) => {
            for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                write_chunk(&mut stream, chunk).await?;
            }
        }
    }
    stream.flush().await?;
    read_response(&mut stream).await
}

/// Writes one chunk of a chunked body: its length in hex, the bytes, CRLF.
pub(crate) async fn write_chunk<S: AsyncWrite + Unpin>(
    stream: &mut S,
    chunk: &[u8],
) -> io::Result<()> {
    stream
        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
        .await?;
    stream.write_all(chunk).await?;
    stream.write_all(b"\r\n").await
}

/// Writes raw bytes, then reads whatever comes back until the server closes (bounded).
pub async fn raw(addr: &str, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let work = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(bytes).await?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            if out.len() > 1 << 20 {
                return Ok(out);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .unwrap_or(Ok(Vec::new()))
}

/// Connects, writes `bytes`, and closes at once.
pub async fn write_and_close(addr: &str, bytes: &[u8]) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(bytes).await?;
    stream.shutdown().await
}

/// Reads one response: the head, then a body by `Content-Length`, chunked encoding or close.
pub async fn read_response<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(response) = parse_response(&buf, false)? {
            return Ok(response);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return parse_response(&buf, true)?.ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "closed before a whole answer")
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

fn parse_response(buf: &[u8], closed: bool) -> io::Result<Option<Response>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| invalid("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[head_end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        match dechunk(rest)? {
            Some(body) => body,
            None => return Ok(None),
        }
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad content-length"))?;
        if rest.len() < length {
            return Ok(None);
        }
        rest[..length].to_vec()
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if closed {
        rest.to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(Response {
        status,
        headers,
        body,
    }))
}

fn dechunk(mut rest: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text =
            std::str::from_utf8(&rest[..line_end]).map_err(|_| invalid("bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        assert_eq!(parse_response(plain, false).unwrap().unwrap().body, b"ok");
        let chunked = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n";
        let response = parse_response(chunked, false).unwrap().unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (401, &b"abc"[..])
        );
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nok", false)
                .unwrap()
                .is_none()
        );
    }
}

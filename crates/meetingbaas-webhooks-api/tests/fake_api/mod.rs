//! A fake Meeting BaaS API over real TCP (and TLS), for the client's and the CLI's tests.
//!
//! [`FakeApi::start`] serves every request with a closure that sees the recorded request and
//! returns a [`Reply`]; every request is recorded (method, path, query, headers, body) for the
//! test to assert on. [`RawFault`] servers misbehave below HTTP: garbage, a reset, silence.
//!
//! Shared with the CLI's tests through `#[path]`, so it only uses what both crates have.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the fake server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// What the fake server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status, headers and a body.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// Never answers.
    Hang,
    /// Answers the status line and headers, then sends `chunks` chunks of `chunk`, `delay`
    /// apart; with `declare_length`, announces the total as `Content-Length`.
    Drip {
        status: u16,
        chunk: Bytes,
        chunks: usize,
        delay: Duration,
        declare_length: bool,
    },
}

impl Reply {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    /// `status` with any body.
    pub fn bytes(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header to a [`Reply::Full`].
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running fake API. Dropping it stops it.
pub struct FakeApi {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApi {
    /// Serves plain HTTP on 127.0.0.1 (a free port).
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> FakeApi {
        FakeApi::serve(handler, None).await
    }

    /// Serves HTTPS on 127.0.0.1 with `tls` (see [`TestCertificates`]).
    pub async fn start_tls(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        tls: tokio_rustls::TlsAcceptor,
    ) -> FakeApi {
        FakeApi::serve(handler, Some(tls)).await
    }

    async fn serve(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = Arc::clone(&handler);
                let recorded = Arc::clone(&recorded);
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(request, Arc::clone(&handler), Arc::clone(&recorded))
                    });
                    match tls {
                        None => {
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                let _ = http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        FakeApi {
            addr,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The only request so far (panics if there is not exactly one).
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request, got {requests:#?}");
        requests.into_iter().next().unwrap()
    }
}

async fn handle(
    request: Request<Incoming>,
    handler: Arc<Handler>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
) -> Result<Response<Drip>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let request = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    recorded.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let (status, headers, body) = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => (status, headers, Drip::once(body)),
        Reply::Hang => std::future::pending().await,
        Reply::Drip {
            status,
            chunk,
            chunks,
            delay,
            declare_length,
        } => {
            let mut headers = Vec::new();
            if declare_length {
                headers.push(("content-length".into(), (chunk.len() * chunks).to_string()));
            }
            (status, headers, Drip::new(chunk, chunks, delay))
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    Ok(response)
}

/// A body of `chunks` copies of `chunk`, `delay` apart.
pub struct Drip {
    chunk: Bytes,
    remaining: usize,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Drip {
    fn once(body: Bytes) -> Drip {
        Drip::new(body, 1, Duration::ZERO)
    }

    fn new(chunk: Bytes, chunks: usize, delay: Duration) -> Drip {
        Drip {
            chunk,
            remaining: chunks,
            delay,
            sleep: None,
        }
    }
}

impl Body for Drip {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        if !self.delay.is_zero() {
            let delay = self.delay;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        self.remaining -= 1;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.remaining == 1 && self.delay.is_zero() {
            SizeHint::with_exact(self.chunk.len() as u64)
        } else {
            SizeHint::default()
        }
    }
}

/// A server that misbehaves below HTTP, once per connection, after reading the request head.
#[derive(Clone, Copy, Debug)]
pub enum RawFault {
    /// Answers bytes that are not HTTP.
    Garbage,
    /// Resets the connection (RST, not FIN).
    Reset,
    /// Accepts and never answers.
    Silence,
}

/// Starts a [`RawFault`] server; returns its address and how many connections it accepted.
pub async fn raw_fault_server(fault: RawFault) -> (SocketAddr, Arc<Mutex<usize>>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let count = Arc::clone(&accepted);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            *count.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match fault {
                    RawFault::Garbage => {
                        let _ = stream
                            .write_all(b"\x00\x01SSH-2.0-not-http\r\n\x1b[31mgarbage\r\n\r\n")
                            .await;
                        let _ = stream.shutdown().await;
                    }
                    RawFault::Reset => {
                        #[allow(deprecated)]
                        let _ = stream.set_linger(Some(Duration::ZERO));
                        drop(stream);
                    }
                    RawFault::Silence => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                }
            });
        }
    });
    (addr, accepted, task)
}

/// A CA and a `localhost` certificate it signed, made for one test.
pub struct TestCertificates {
    /// The CA certificate, PEM: what the client must trust.
    pub ca_pem: String,
    /// The server side.
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl TestCertificates {
    pub fn generate() -> TestCertificates {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fake Meeting BaaS test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf_cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        TestCertificates {
            ca_pem: ca_cert.pem(),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        }
    }
}

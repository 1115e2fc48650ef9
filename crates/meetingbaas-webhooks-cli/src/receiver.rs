//! The verifying receiver behind `listen` and `demo`, built on the project's tower layer.
//!
//! Every POST goes through [`VerifyWebhookLayer`] with `parse_events(true)`: the layer streams
//! the body under the verifier's limit (413 on a declared `Content-Length` over it before
//! reading anything, 413 the moment a chunked body passes it), verifies it, parses the
//! [`Event`], and answers every rejection itself with the core's status and JSON body. Only
//! verified, parsed deliveries reach [`Handler`], which finds the [`VerifiedDelivery`] and the
//! [`Event`] in the request extensions. What happens next (remembering idempotency keys,
//! answering, forwarding, printing) is this module's own.
//!
//! The answer to a verified delivery is the examples' `{"status":"success","event":..,"bot_id":..}`
//! plus `kind`, `scheme`, `message_id` and `duplicate`, so that a sender (the demo) sees what the
//! receiver understood.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use meetingbaas_webhooks::{
    Event, EventKind, IdempotencyKey, Scheme, VerifiedDelivery, Verifier, is_delivery_method,
};
use meetingbaas_webhooks_receiver::Error;
use meetingbaas_webhooks_receiver::Pipeline;
use meetingbaas_webhooks_receiver::idempotency::{
    Claim, DEFAULT_TTL, IdempotencyStore, MemoryStore,
};
use meetingbaas_webhooks_server::{Limits, Shutdown, serve};
use meetingbaas_webhooks_tower::{ResponseBody, VerifiedBody, VerifyWebhook, VerifyWebhookLayer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_layer::Layer;
use tower_service::Service;

use crate::client::{self, Target};
use crate::failure::Failure;
use crate::output;

/// How long a client may take to send its body (and a forward to be answered).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the downstream of `--forward-to` has to answer (the sender waits 30 s in all).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(25);

/// How many idempotency keys are remembered (oldest forgotten first).
const REMEMBERED_KEYS: usize = 10_000;

/// How the receiver reports each request on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// Nothing (the demo prints from the sender's side).
    Quiet,
    /// One readable line per request.
    Lines,
    /// One JSON object per line.
    JsonLines,
}

/// A verifying receiver: the layer (with its verifier), the keys seen so far, where to forward,
/// how to report.
#[derive(Debug)]
pub(crate) struct Receiver {
    layer: VerifyWebhookLayer,
    seen: MemoryStore,
    forward: Option<Target>,
    report: Report,
    /// The only path served, when one is configured (`--config`); else any path.
    route: Option<String>,
}

/// What the receiver understood of a verified delivery.
#[derive(Clone, Debug)]
struct Accepted {
    scheme: Scheme,
    event: String,
    kind: EventKind,
    bot_id: Option<String>,
    message_id: Option<String>,
    key: IdempotencyKey,
    duplicate: bool,
    /// The normalized typed event (`Event`'s `Serialize` form), for `listen --json`.
    parsed: serde_json::Value,
}

/// What happened to one request, for the report. [`Handler`] leaves it in the response
/// extensions of a verified delivery; a rejection is read from the core [`Error`] the layer
/// leaves there.
#[derive(Clone, Debug)]
enum Outcome {
    Accepted {
        delivery: Accepted,
        forwarded: Option<Result<StatusCode, String>>,
    },
    Rejected {
        code: &'static str,
        message: String,
    },
    /// Verified, of a kind not configured: answered 200 `{"status":"ignored"}` by the layer.
    Ignored,
}

/// The layered service: the tower layer around [`Handler`].
type Verifying = VerifyWebhook<Handler>;

/// What the receiver answers: the layered service's body, or its own (405, 408).
type AnswerBody = Either<ResponseBody<Full<Bytes>>, Full<Bytes>>;

impl Receiver {
    /// A receiver that verifies with `verifier` and reports as `report`.
    pub(crate) fn new(verifier: Verifier, report: Report) -> Self {
        Receiver::with_layer(
            VerifyWebhookLayer::new(Pipeline::new(verifier).parse_events(true)),
            report,
        )
    }

    /// A receiver with `pipeline`'s verifier and settings (kinds, enabled: `--config`).
    pub(crate) fn with_pipeline(pipeline: Pipeline, report: Report) -> Self {
        Receiver::with_layer(VerifyWebhookLayer::new(pipeline.parse_events(true)), report)
    }

    fn with_layer(layer: VerifyWebhookLayer, report: Report) -> Self {
        Receiver {
            layer,
            seen: MemoryStore::with_capacity(REMEMBERED_KEYS),
            forward: None,
            report,
            route: None,
        }
    }

    /// Serves only `route`; other paths are answered 404.
    pub(crate) fn route(mut self, route: &str) -> Self {
        self.route = Some(route.to_owned());
        self
    }

    /// Forwards every verified delivery to `target` and answers with its answer.
    pub(crate) fn forward_to(mut self, target: Target) -> Self {
        self.forward = Some(target);
        self
    }

    /// Serves connections from `listener` (over TLS with `tls`) with the examples' hardened
    /// loop, until the task is dropped.
    pub(crate) async fn serve(self: Arc<Self>, listener: TcpListener, tls: Option<TlsAcceptor>) {
        let verifying: Verifying = self.layer.layer(Handler(Arc::clone(&self)));
        let receiver = Arc::clone(&self);
        let service = tower::service_fn(move |request| {
            Arc::clone(&receiver).handle(verifying.clone(), request)
        });
        // Stopped by dropping the task: the listener closes with it.
        let shutdown = Shutdown::new(Duration::ZERO);
        serve(listener, service, &Limits::default(), tls, &shutdown).await;
    }

    /// Every request: POST or PUT only (a bot's callback may come with either), through the layer under a timeout, then reported.
    async fn handle(
        self: Arc<Self>,
        mut verifying: Verifying,
        request: Request<Incoming>,
    ) -> Result<Response<AnswerBody>, Infallible> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let (response, outcome) = if self.route.as_ref().is_some_and(|route| *route != path) {
            own_answer(
                StatusCode::NOT_FOUND,
                "not_found",
                "no webhook endpoint at this path (see `webhook_url` in the configuration)",
            )
        } else if !is_delivery_method(method.as_str()) {
            own_answer(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "webhooks are delivered with POST or PUT",
            )
        } else {
            let verified = async {
                poll_fn(|cx| Service::<Request<Incoming>>::poll_ready(&mut verifying, cx)).await?;
                verifying.call(request).await
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, verified).await {
                Ok(Ok(response)) => {
                    let outcome = outcome_of(&response);
                    (response.map(Either::Left), outcome)
                }
                Ok(Err(never)) => match never {},
                Err(_) => own_answer(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    "the request was not received in time",
                ),
            }
        };
        self.print(&format!("{method} {path}"), response.status(), &outcome);
        Ok(response)
    }

    /// A verified, parsed delivery (the layer's extensions): remember, answer or forward.
    async fn handle_verified(&self, request: Request<VerifiedBody>) -> Response<Full<Bytes>> {
        let extensions = request.extensions();
        let (Some(delivery), Some(event)) = (
            extensions.get::<VerifiedDelivery>(),
            extensions.get::<Event>(),
        ) else {
            // The layer always sets both with `parse_events(true)`; guard against a change there.
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_json("internal_error", "the verified delivery was not passed on"),
            );
        };
        let accepted = self.accept(delivery, event).await;
        let (mut response, forwarded) = match &self.forward {
            None => (
                json_response(StatusCode::OK, accepted_json(&accepted)),
                None,
            ),
            Some(target) => {
                let (method, headers) = (request.method().clone(), request.headers());
                let (response, forwarded) =
                    forward(target, method, headers, delivery.body().clone()).await;
                (response, Some(forwarded))
            }
        };
        response.extensions_mut().insert(Outcome::Accepted {
            delivery: accepted,
            forwarded,
        });
        response
    }

    /// Notes the delivery's idempotency key and describes it.
    ///
    /// Keys are remembered per scheme: without a message id the key is the body's digest, and the
    /// demo sends the same sample body under several schemes on purpose. A real sender uses one
    /// scheme, so this changes nothing for it.
    /// The keys live in the core's bounded [`MemoryStore`]: claimed and completed at once, so a
    /// later copy finds its key completed.
    async fn accept(&self, delivery: &VerifiedDelivery, event: &Event) -> Accepted {
        // The key names its scheme (`<scheme>:id:...`, `<scheme>:sha256:...`).
        let key = delivery.idempotency_key();
        let duplicate = match self.seen.claim(key.as_str(), "receiver", DEFAULT_TTL).await {
            Ok(Claim::Acquired) => {
                let _ = self
                    .seen
                    .complete(key.as_str(), "receiver", DEFAULT_TTL)
                    .await;
                false
            }
            Ok(Claim::Completed | Claim::InProgress) => true,
            Err(_) => false,
        };
        Accepted {
            scheme: delivery.scheme(),
            event: event.name().to_owned(),
            kind: event.kind(),
            bot_id: event.bot_id().map(str::to_owned),
            message_id: delivery.message_id().map(str::to_owned),
            key,
            duplicate,
            parsed: serde_json::to_value(event).unwrap_or_default(),
        }
    }

    /// Reports one request: `request` is `METHOD /path`, `status` what was answered.
    fn print(&self, request: &str, status: StatusCode, outcome: &Outcome) {
        match self.report {
            Report::Quiet => {}
            Report::Lines => output::out(outcome_line(request, status, outcome)),
            Report::JsonLines => output::out(outcome_json(request, status, outcome)),
        }
    }
}

/// The service inside the layer: it only ever sees verified, parsed deliveries.
#[derive(Clone, Debug)]
struct Handler(Arc<Receiver>);

impl Service<Request<VerifiedBody>> for Handler {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<VerifiedBody>) -> Self::Future {
        let receiver = Arc::clone(&self.0);
        Box::pin(async move { Ok(receiver.handle_verified(request).await) })
    }
}

/// What the layered service did, from what it left in the response extensions.
fn outcome_of<B>(response: &Response<B>) -> Outcome {
    let extensions = response.extensions();
    if let Some(outcome) = extensions.get::<Outcome>() {
        return outcome.clone();
    }
    match extensions.get::<Error>() {
        Some(error) => Outcome::Rejected {
            code: error.code(),
            message: error.to_string(),
        },
        None if response.status() == StatusCode::OK => Outcome::Ignored,
        None => Outcome::Rejected {
            code: "unknown",
            message: "answered by the layer without an error".to_owned(),
        },
    }
}

/// An answer of the receiver's own (not a verification outcome): 405 or 408.
fn own_answer(
    status: StatusCode,
    code: &'static str,
    message: &str,
) -> (Response<AnswerBody>, Outcome) {
    (
        json_response(status, error_json(code, message)).map(Either::Right),
        Outcome::Rejected {
            code,
            message: message.to_owned(),
        },
    )
}

/// Binds `127.0.0.1:port` (0: any free port).
pub(crate) async fn bind(port: u16) -> Result<(TcpListener, SocketAddr), Failure> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|err| Failure::runtime(format!("cannot listen on 127.0.0.1:{port}: {err}")))?;
    let address = listener
        .local_addr()
        .map_err(|err| Failure::runtime(format!("cannot read the bound address: {err}")))?;
    Ok((listener, address))
}

/// Sends a verified delivery on with its own method, headers and body unchanged (but for the
/// connection's own headers), and answers with the downstream's status and body.
async fn forward(
    target: &Target,
    method: Method,
    headers: &HeaderMap,
    body: Bytes,
) -> (Response<Full<Bytes>>, Result<StatusCode, String>) {
    let mut forwarded = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !is_connection_header(name) {
            forwarded.append(name, value.clone());
        }
    }
    match client::send(method, target, forwarded, Full::new(body), FORWARD_TIMEOUT).await {
        Ok(answer) => {
            let mut response = Response::new(Full::new(answer.body.clone()));
            *response.status_mut() = answer.status;
            if let Some(kind) = answer.headers.get(header::CONTENT_TYPE) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, kind.clone());
            }
            (response, Ok(answer.status))
        }
        Err(reason) => {
            let message = format!("forwarding to {} failed: {reason}", target.url());
            (
                json_response(
                    StatusCode::BAD_GATEWAY,
                    error_json("forward_failed", &message),
                ),
                Err(reason),
            )
        }
    }
}

/// Headers that belong to one connection and are not forwarded (RFC 9110 §7.6.1), plus `host`
/// and `content-length`, which the forwarding request sets for itself.
fn is_connection_header(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"error": code, "message": message}`, the shape of the core's error bodies.
fn error_json(code: &str, message: &str) -> String {
    json!({ "error": code, "message": message }).to_string()
}

fn accepted_json(accepted: &Accepted) -> String {
    json!({
        "status": "success",
        "event": accepted.event,
        "bot_id": accepted.bot_id,
        "kind": accepted.kind.as_str(),
        "scheme": accepted.scheme.as_str(),
        "message_id": accepted.message_id,
        "duplicate": accepted.duplicate,
    })
    .to_string()
}

fn outcome_line(request: &str, status: StatusCode, outcome: &Outcome) -> String {
    let status = status.as_u16();
    match outcome {
        Outcome::Accepted {
            delivery,
            forwarded,
        } => {
            let mut line = format!(
                "{request} {status} accepted {} {} ({})",
                delivery.scheme, delivery.event, delivery.kind
            );
            if let Some(bot_id) = &delivery.bot_id {
                line.push_str(&format!(" bot {bot_id}"));
            }
            if let Some(id) = &delivery.message_id {
                line.push_str(&format!(" id {id}"));
            }
            if delivery.duplicate {
                line.push_str(&format!(
                    " DUPLICATE of an earlier delivery ({})",
                    delivery.key
                ));
            }
            match forwarded {
                None => {}
                Some(Ok(status)) => line.push_str(&format!(" -> forwarded: {status}")),
                Some(Err(reason)) => line.push_str(&format!(" -> forward failed: {reason}")),
            }
            line
        }
        Outcome::Rejected { code, message } => {
            format!("{request} {status} rejected {code}: {message}")
        }
        Outcome::Ignored => {
            format!("{request} {status} ignored: verified, an event not in the configured events")
        }
    }
}

fn outcome_json(request: &str, status: StatusCode, outcome: &Outcome) -> String {
    let status = status.as_u16();
    match outcome {
        Outcome::Accepted {
            delivery,
            forwarded,
        } => {
            let forwarded = match forwarded {
                None => serde_json::Value::Null,
                Some(Ok(status)) => json!({ "status": status.as_u16() }),
                Some(Err(reason)) => json!({ "error": reason }),
            };
            json!({
                "outcome": "accepted",
                "status": status,
                "request": request,
                "scheme": delivery.scheme.as_str(),
                "event": delivery.event,
                "kind": delivery.kind.as_str(),
                "bot_id": delivery.bot_id,
                "message_id": delivery.message_id,
                "idempotency_key": delivery.key.as_str(),
                "duplicate": delivery.duplicate,
                "forwarded": forwarded,
                "parsed": delivery.parsed,
            })
            .to_string()
        }
        Outcome::Rejected { code, message } => json!({
            "outcome": "rejected",
            "status": status,
            "request": request,
            "error": code,
            "message": message,
        })
        .to_string(),
        Outcome::Ignored => json!({
            "outcome": "ignored",
            "status": status,
            "request": request,
        })
        .to_string(),
    }
}

//! See and act on the deliveries of a [Meeting BaaS](https://meetingbaas.com) webhook inbox in a
//! browser: counts by state, deliveries newest first (filtered by state and kind), one delivery
//! with its body and every attempt, and the actions of `meetingbaas-webhooks inbox` (redrive one,
//! redrive every dead letter, forget a key, purge old dead letters), with a JSON API beside the
//! pages for scripts.
//!
//! [`Admin`] is a [`tower_service::Service`]: mount it in axum with `nest_service`, or call
//! [`Admin::answer`] from hyper; in actix-web mount `actix::scope` (feature `actix`), in warp
//! use `warp::filter` (feature `warp`). It serves nothing without the [`Guard`] you choose at construction: a bearer
//! token (or the same token through a login form that sets a cookie), basic-auth credentials,
//! or your own tower layer in front ([`Guard::external`]).
//!
//! ```no_run
//! use axum::Router;
//! use meetingbaas_webhooks_admin::{Admin, Guard};
//! use meetingbaas_webhooks_inbox::Inbox;
//!
//! # async fn app() -> Result<Router, meetingbaas_webhooks_inbox::Error> {
//! let inbox = Inbox::open("sqlite://inbox.db").await?;
//! let token = std::env::var("ADMIN_TOKEN").expect("a long random token");
//! let admin = Admin::new(inbox, Guard::token(token)).mounted_at("/admin");
//! let app = Router::new().nest_service("/admin", admin);
//! # Ok(app)
//! # }
//! ```
//!
//! # Security
//!
//! - **Access**: a request without the guard's credentials is answered 401 with nothing of the
//!   inbox in it. Tokens and passwords are compared as SHA-256 digests in constant time. The
//!   login cookie holds a digest of the token, never the token; it is `HttpOnly`,
//!   `SameSite=Strict`, scoped to the mount path.
//! - **Cross-site requests**: every action is a `POST`; one whose `Origin` is not this host, or
//!   whose `Sec-Fetch-Site` says another site, is refused (403) whatever its credentials. A
//!   script without a browser sends neither header.
//! - **What is shown**: every value that came from a sender (bodies, keys, bot ids, errors) is
//!   HTML-escaped, its control characters (terminal escapes) shown as `\u{1b}`; a body is shown
//!   up to 64 KiB, pretty-printed when it is JSON, and downloadable whole as a file (never served
//!   as a page). No secret is stored in the inbox, so none can be shown. Pages carry a
//!   `Content-Security-Policy` that allows no script and no outside resource, `no-store`, and
//!   may not be framed.
//! - **Read-only**: [`Admin::read_only`] refuses every action.
//!
//! Pages work without JavaScript (there is none): forms post and redirect back.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
mod api;
mod auth;
mod html;
mod pages;
#[cfg(feature = "warp")]
#[cfg_attr(docsrs, doc(cfg(feature = "warp")))]
pub mod warp;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use meetingbaas_webhooks_inbox::Inbox;

pub use auth::Guard;

/// The admin page and JSON API of an inbox, as a tower service. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    inner: Arc<Inner>,
}

struct Inner {
    inbox: Inbox,
    guard: Guard,
    base: String,
    read_only: bool,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("guard", &self.inner.guard)
            .field("base", &self.inner.base)
            .field("read_only", &self.inner.read_only)
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// The admin of `inbox`, behind `guard`, mounted at the root (see
    /// [`mounted_at`](Self::mounted_at)).
    pub fn new(inbox: Inbox, guard: Guard) -> Self {
        Admin {
            inner: Arc::new(Inner {
                inbox,
                guard,
                base: String::new(),
                read_only: false,
            }),
        }
    }

    /// The path it is mounted at (`/admin`), for its links, redirects and cookie: requests may
    /// come with that prefix or without it (axum's `nest_service` strips it).
    pub fn mounted_at(self, path: &str) -> Self {
        let path = path.trim().trim_matches('/');
        let base = if path.is_empty() {
            String::new()
        } else {
            format!("/{path}")
        };
        self.with(|inner| inner.base = base)
    }

    /// Refuses every action (403): the pages and the API only read.
    pub fn read_only(self, read_only: bool) -> Self {
        self.with(|inner| inner.read_only = read_only)
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            inbox: shared.inbox.clone(),
            guard: shared.guard.clone(),
            base: shared.base.clone(),
            read_only: shared.read_only,
        });
        change(&mut inner);
        Admin {
            inner: Arc::new(inner),
        }
    }

    /// Answers one request.
    pub async fn answer<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &self.inner;
        let path = request.uri().path();
        let path = path
            .strip_prefix(inner.base.as_str())
            .filter(|_| !inner.base.is_empty())
            .unwrap_or(path)
            .to_string();
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        let query = request.uri().query().unwrap_or("").to_string();
        let method = request.method().clone();
        let headers = request.headers().clone();
        let authority = request.uri().authority().map(|a| a.as_str().to_string());
        let same_origin = auth::same_origin(&headers, authority.as_deref());

        // The stylesheet (nothing of the inbox) styles the sign-in page too.
        if path == "/assets/admin.css" {
            return html::stylesheet();
        }
        if path == "/logout" && method == Method::POST {
            return if same_origin {
                pages::log_out(inner)
            } else {
                auth::cross_site()
            };
        }

        // The login form is the one thing served without credentials.
        if path == "/login" && inner.guard.has_login() {
            return match method {
                Method::GET | Method::HEAD => pages::login(inner, None),
                Method::POST => {
                    if !same_origin {
                        return auth::cross_site();
                    }
                    match read_form(request).await {
                        Some(form) => pages::log_in(inner, &form),
                        None => form_too_large(),
                    }
                }
                _ => plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
            };
        }
        if inner.guard.check(&headers).is_none() {
            return auth::unauthorized(inner);
        }
        match method {
            Method::GET | Method::HEAD => route_get(inner, &path, &query).await,
            Method::POST => {
                if !same_origin {
                    return auth::cross_site();
                }
                if inner.read_only {
                    return plain(StatusCode::FORBIDDEN, "this admin is read-only");
                }
                let api = path.starts_with("/api/");
                match read_form(request).await {
                    Some(form) => pages::act(inner, &path, &form, api).await,
                    None => form_too_large(),
                }
            }
            _ => plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        }
    }
}

async fn route_get(inner: &Inner, path: &str, query: &str) -> Response<Full<Bytes>> {
    if path == "/" {
        return pages::list(inner, query).await;
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        return api::get(inner, rest, query).await;
    }
    if let Some(id) = path.strip_prefix("/deliveries/") {
        if let Some(id) = id.strip_suffix("/body") {
            return pages::body_download(inner, id).await;
        }
        return pages::delivery(inner, id).await;
    }
    plain(StatusCode::NOT_FOUND, "not found")
}

/// The fields of a posted form; `None` past 16 KiB (or a body that fails).
async fn read_form<B>(request: Request<B>) -> Option<Vec<(String, String)>>
where
    B: http_body::Body + Send,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt as _;
    let limited = http_body_util::Limited::new(request.into_body(), 16 * 1024);
    let bytes = limited.collect().await.ok()?.to_bytes();
    Some(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn form_too_large() -> Response<Full<Bytes>> {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        "form too large (16 KiB at most)",
    )
}

/// A plain-text answer.
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    html::security_headers(&mut response);
    response
}

impl<B> tower_service::Service<Request<B>> for Admin
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let admin = self.clone();
        Box::pin(async move { Ok(admin.answer(request).await) })
    }
}

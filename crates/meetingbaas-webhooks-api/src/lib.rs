//! A typed async client for Meeting BaaS's webhook management API: ask Meeting BaaS to deliver a
//! bot's webhook or callback again, read and set the v1 account webhook URL, and list webhook
//! endpoints.
//!
//! This crate *calls* Meeting BaaS. Receiving webhooks is the job of `meetingbaas-webhooks` and
//! its adapters, which never depend on this crate (nor on any HTTP client).
//!
//! | method | request |
//! |---|---|
//! | [`Client::resend_webhook`] | `POST /v2/bots/{bot_id}/resend-webhook` |
//! | [`Client::retry_callback`] | `POST /v2/bots/{bot_id}/retry-callback`, optional `{url, secret, method}` |
//! | [`Client::retry_webhook_v1`] | `POST /bots/retry_webhook?bot_uuid=...[&webhook_url=...]` |
//! | [`Client::webhook_url`] | `GET /accounts/webhook_url` |
//! | [`Client::set_webhook_url`] | `POST /accounts/webhook_url` with `{"webhook_url": ...}` |
//! | [`Client::webhook_endpoints`] | `GET /bots/webhooks/bot` |
//!
//! Every request carries the API key in `x-meeting-baas-api-key`.
//!
//! ```no_run
//! use meetingbaas_webhooks_api::{BotId, CallbackMethod, CallbackTarget, Client, Error};
//!
//! async fn reprocess() -> Result<(), Error> {
//!     let client = Client::from_env()?; // MEETINGBAAS_API_KEY, optionally MEETINGBAAS_API_URL
//!     let bot: BotId = "123e4567-e89b-12d3-a456-426614174000".parse()?;
//!     match client.resend_webhook(&bot).await {
//!         Ok(accepted) => println!("{}", accepted.message().unwrap_or("queued")),
//!         Err(Error::Conflict(why)) => println!("not finished yet: {why}"),
//!         Err(Error::RateLimited { retry_after, .. }) => println!("try again in {retry_after:?}"),
//!         Err(other) => return Err(other),
//!     }
//!     let elsewhere = CallbackTarget::new("https://example.com/cb", "secret", CallbackMethod::Post)?;
//!     client.retry_callback(&bot, Some(&elsewhere)).await?;
//!     Ok(())
//! }
//! ```
//!
//! # What the client guarantees
//!
//! - **The API key stays private.** It is never in `Debug` output, error messages or log
//!   events, it is marked sensitive on the request, and the client never follows a redirect
//!   (a 3xx answer is [`Error::Redirect`]), so the key is only ever sent to the configured host.
//!   Plain `http://` base URLs are refused unless the host is a loopback address.
//! - **Bad input never reaches the network**: a bot id that is not a UUID-shaped string
//!   ([`BotId`]), a callback override without all of url, secret and method ([`CallbackTarget`]),
//!   or a URL that does not parse.
//! - **Bounded waiting**: a connect timeout, a timeout per attempt (answer and body), a cap on
//!   the answer's size, and a bounded retry on 429 and 5xx that honours `retryAfter` /
//!   `Retry-After` (seconds or a date) up to [`RetryPolicy::max_delay`] (a longer wait is
//!   returned to the caller as [`Error::RateLimited`] instead of being slept through), and
//!   otherwise backs off exponentially with jitter.
//! - **Typed answers**: 404 is [`Error::BotNotFound`], 409 [`Error::Conflict`], 429
//!   [`Error::RateLimited`], and every error answer keeps the [`ErrorResponse`] fields.
//!
//! TLS is rustls with the `ring` provider and Mozilla's root certificates (`webpki-roots`), so
//! nothing needs cmake or a system OpenSSL; [`ClientBuilder::add_root_certificate_pem`] trusts an
//! extra root (a corporate proxy, a test server).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod answer;
mod bot_id;
mod callback;
mod client;
mod error;
mod retry;
mod secret;

pub use answer::{Accepted, WebhookEndpoints, WebhookUrl};
pub use bot_id::{BotId, InvalidBotId};
pub use callback::{CallbackMethod, CallbackTarget};
pub use client::{
    API_KEY_ENV_VAR, API_KEY_HEADER, API_URL_ENV_VAR, Client, ClientBuilder, DEFAULT_API_URL,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
};
pub use error::{Error, ErrorResponse};
pub use retry::RetryPolicy;
pub use secret::ApiKey;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

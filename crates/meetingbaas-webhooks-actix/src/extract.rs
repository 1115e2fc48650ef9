//! The extractor [`Webhook<T>`].

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use meetingbaas_webhooks::{Bytes, Event, Scheme, VerifiedDelivery};
use meetingbaas_webhooks_receiver::{Answer, parse_into};
use serde::de::DeserializeOwned;

use crate::config::WebhookConfig;
use crate::headers::ActixHeaders;
use crate::idempotency;
use crate::middleware::Verified;
use crate::rejection::WebhookRejection;

/// Extractor of a verified delivery parsed into `T` ([`Event`] by default).
///
/// Reads the body under the configured limit (`413` from the declared `Content-Length` before
/// reading anything, or the moment a streamed body passes the limit), verifies it (`401`), then
/// parses it with [`VerifiedDelivery::parse`] (`400` for a body that is not JSON or not a
/// webhook envelope, `422` for an envelope that does not fit `T`); each refusal is a
/// [`WebhookRejection`] answering the core's status and JSON body. It consumes the body, so a
/// handler takes at most one, as its last body-reading argument. Needs a [`WebhookConfig`] in
/// `app_data`.
///
/// `T` is any [`DeserializeOwned`] type: [`Event`], your own `serde` type,
/// [`Value`](meetingbaas_webhooks::Value) for raw JSON, or [`serde::de::IgnoredAny`] to verify
/// only (nothing is parsed, the body need not even be JSON; the raw bytes are in
/// [`delivery`](Self::delivery)).
///
/// With deduplication on the pipeline, the delivery is then claimed: a duplicate of a handled
/// one is answered `200 {"status":"duplicate"}` (a [`WebhookRejection`] whose status is 200)
/// without running the handler, one still running `409`, and an unreachable store `503`; the
/// [`Idempotency`](crate::Idempotency) middleware finishes the claim after the handler.
///
/// Dereferences to `T`; the raw body and the verification metadata are in
/// [`delivery`](Self::delivery).
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use meetingbaas_webhooks_actix::Event;
/// use meetingbaas_webhooks_actix::Webhook;
/// use serde::de::IgnoredAny;
///
/// async fn receive(Webhook { event, delivery }: Webhook) -> HttpResponse {
///     if let Event::BotCompleted { data, .. } = &event {
///         println!("recording ready for {:?}", data.bot_id);
///     }
///     println!("{} verified by {}", event.name(), delivery.scheme());
///     HttpResponse::Ok().finish()
/// }
///
/// /// Your own type: only the fields you need.
/// #[derive(serde::Deserialize)]
/// struct Minimal {
///     event: String,
/// }
///
/// async fn minimal(webhook: Webhook<Minimal>) -> String {
///     webhook.event.event.clone()
/// }
///
/// // Verify only: store the raw body, parse it later.
/// async fn store(webhook: Webhook<IgnoredAny>) -> HttpResponse {
///     let key = webhook.delivery.idempotency_key();
///     println!("{} bytes, key {key:?}", webhook.body().len());
///     HttpResponse::Accepted().finish()
/// }
/// # let _ = (web::post().to(receive), web::post().to(minimal), web::post().to(store));
/// ```
#[derive(Clone, Debug)]
pub struct Webhook<T = Event> {
    /// The verified delivery: raw body, scheme, message id, idempotency key.
    pub delivery: VerifiedDelivery,
    /// The body parsed into `T`.
    pub event: T,
}

impl<T> Webhook<T> {
    /// The raw body, byte for byte as signed.
    pub fn body(&self) -> &Bytes {
        self.delivery.body()
    }

    /// The scheme that verified the delivery.
    pub fn scheme(&self) -> Scheme {
        self.delivery.scheme()
    }

    /// The Svix message id, the same on every retry; `None` for schemes without one.
    pub fn message_id(&self) -> Option<&str> {
        self.delivery.message_id()
    }

    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.event
    }

    /// The verified delivery and the parsed body.
    pub fn into_parts(self) -> (VerifiedDelivery, T) {
        (self.delivery, self.event)
    }
}

impl<T> Deref for Webhook<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.event
    }
}

impl<T: DeserializeOwned + Send + 'static> FromRequest for Webhook<T> {
    type Error = WebhookRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebhookRejection>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Behind the `VerifyWebhook` middleware: the delivery is verified already, and the
        // middleware finishes its claim.
        if let Some(Verified {
            delivery,
            mut event,
        }) = req.extensions_mut().remove::<Verified>()
        {
            let parsed = parse_into::<T>(&delivery, &mut event)
                .map(|event| Webhook { delivery, event })
                .map_err(|err| WebhookRejection::from(Answer::rejected(err)));
            return Box::pin(std::future::ready(parsed));
        }
        // Everything the future needs is taken now, so that it is `'static`.
        let config = WebhookConfig::from_request(req).cloned();
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let config = config.ok_or_else(WebhookRejection::not_configured)?;
            let pipeline = config.pipeline();
            // Refused before reading anything: claims nobody completes would hold off every retry.
            if pipeline.deduplicator().is_some() && !idempotency::is_installed(&req) {
                return Err(WebhookRejection::middleware_missing());
            }
            let headers = ActixHeaders(req.headers());
            let peer = req.peer_addr().map(|addr| addr.ip());
            let received = pipeline.read_from(peer, &headers, payload).await?;
            let ticket = pipeline
                .admit::<T, _>(&headers, received)
                .await
                .into_result()?;
            let (delivery, _, event, completion) = ticket.into_parts();
            idempotency::hand_over(&req, completion);
            Ok(Webhook { delivery, event })
        })
    }
}

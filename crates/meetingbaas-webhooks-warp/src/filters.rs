//! The filters: [`verified`], [`event`] and [`json`](crate::json).

use meetingbaas_webhooks::{Event, VerifiedDelivery};
use std::sync::atomic::{AtomicBool, Ordering};

use meetingbaas_webhooks_receiver::{Admission, Answer, Misconfigured, Pipeline};
use serde::de::{DeserializeOwned, IgnoredAny};
use warp::http::HeaderMap;
use warp::{Filter, Rejection};

use crate::rejection::rejected;

/// Extracts the [`VerifiedDelivery`]: the body read under the verifier's limit and verified,
/// not parsed.
///
/// A declared `Content-Length` over [`Verifier::max_body_bytes`](meetingbaas_webhooks::Verifier::max_body_bytes) is refused before anything is
/// read, and a chunked body the moment it passes the limit (`413`); a delivery that does not
/// verify is refused with `401`. Refusals are [`WebhookRejection`](crate::WebhookRejection)s: finish the route with
/// `.recover(`[`recover`](crate::recover)`)` to answer them. It consumes the body, so nothing
/// else in the route may read it.
///
/// ```
/// use meetingbaas_webhooks_warp::{Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().callback_secret("s3cret").build()?;
/// let route = meetingbaas_webhooks_warp::delivery_method()
///     .and(warp::path!("webhooks" / "meetingbaas"))
///     .and(meetingbaas_webhooks_warp::verified(verifier))
///     .map(|delivery: VerifiedDelivery| format!("{} bytes", delivery.body().len()))
///     .recover(meetingbaas_webhooks_warp::recover);
/// # let _ = route;
/// # Ok(())
/// # }
/// ```
pub fn verified(
    pipeline: impl Into<Pipeline>,
) -> impl Filter<Extract = (VerifiedDelivery,), Error = Rejection> + Clone {
    json::<IgnoredAny>(pipeline).map(|delivery, IgnoredAny| delivery)
}

/// Extracts the [`VerifiedDelivery`] and the [`Event`] it carries.
///
/// The same as [`json`](crate::json)`::<Event>`: [`verified`], then [`VerifiedDelivery::parse`]. A body that
/// is not a JSON object with a string `event` is refused with `400`, a known event whose `data`
/// does not fit its type with `422`. Unknown event names are not refused: they arrive as
/// [`Event::Unknown`](meetingbaas_webhooks::Event::Unknown).
///
/// ```
/// use meetingbaas_webhooks_warp::{Event, Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let route = meetingbaas_webhooks_warp::delivery_method()
///     .and(warp::path!("webhooks" / "meetingbaas"))
///     .and(meetingbaas_webhooks_warp::event(verifier))
///     .map(|_delivery: VerifiedDelivery, event: Event| event.name().to_owned())
///     .recover(meetingbaas_webhooks_warp::recover);
/// # let _ = route;
/// # Ok(())
/// # }
/// ```
pub fn event(
    pipeline: impl Into<Pipeline>,
) -> impl Filter<Extract = (VerifiedDelivery, Event), Error = Rejection> + Clone {
    json::<Event>(pipeline)
}

/// Extracts the [`VerifiedDelivery`] and the body parsed into any `serde` type `T`: your own,
/// [`Event`], [`Value`](meetingbaas_webhooks::Value), or [`serde::de::IgnoredAny`] to verify only
/// (the same as [`verified`]).
///
/// Read by the pipeline's one rule ([`parse_into`](meetingbaas_webhooks_receiver::parse_into)):
/// a body that is not JSON, or not a webhook envelope (an object with a string `event`) where
/// `T` does not fit it, is refused with `400`; an envelope that does not fit your own `T` with
/// `422` (an [`Event`] never refuses an envelope for its data).
///
/// ```
/// use meetingbaas_webhooks_warp::{Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// #[derive(serde::Deserialize)]
/// struct Minimal {
///     event: String,
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let route = meetingbaas_webhooks_warp::delivery_method()
///     .and(meetingbaas_webhooks_warp::json::<Minimal>(verifier))
///     .map(|_delivery: VerifiedDelivery, minimal: Minimal| minimal.event)
///     .recover(meetingbaas_webhooks_warp::recover);
/// # let _ = route;
/// # Ok(())
/// # }
/// ```
pub fn json<T>(
    pipeline: impl Into<Pipeline>,
) -> impl Filter<Extract = (VerifiedDelivery, T), Error = Rejection> + Clone
where
    T: DeserializeOwned + Send + 'static,
{
    let pipeline = pipeline.into();
    let deduplicates = pipeline.deduplicator().is_some();
    admitted::<T>(pipeline)
        .and_then(move |admitted: Admission<T>| async move {
            if deduplicates {
                // A filter never sees the reply, so nobody would finish the claims.
                return Err(misconfigured());
            }
            // A filter never sees the reply: the delivery is recorded as accepted.
            let (delivery, _, payload, completion) =
                admitted.into_result().map_err(rejected)?.into_parts();
            completion.detach();
            Ok::<_, Rejection>((delivery, payload))
        })
        .untuple_one()
}

/// A deduplicating pipeline in a filter that extracts: 500, logged once at error level.
fn misconfigured() -> Rejection {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    const DEDUPE_IN_FILTER: Misconfigured = Misconfigured::new(
        "webhook_filter_cannot_deduplicate",
        "the verified, event and json filters cannot deduplicate: they never see the handler's \
         reply to complete the claim. Use WebhookConfig::new(pipeline).handle(handler)",
    );
    if !LOGGED.swap(true, Ordering::Relaxed) {
        tracing::error!("meetingbaas-webhooks-warp: {}", DEDUPE_IN_FILTER.message());
    }
    rejected(Answer::rejected(DEDUPE_IN_FILTER.into()))
}

/// The address of the connection: the [`ClientAddr`](meetingbaas_webhooks_receiver::ClientAddr)
/// extension (inserted by `meetingbaas-webhooks-server`), or warp's own remote address.
pub(crate) fn peer()
-> impl Filter<Extract = (Option<std::net::IpAddr>,), Error = std::convert::Infallible> + Clone {
    warp::ext::optional::<meetingbaas_webhooks_receiver::ClientAddr>()
        .and(warp::addr::remote())
        .map(
            |client: Option<meetingbaas_webhooks_receiver::ClientAddr>,
             remote: Option<std::net::SocketAddr>| {
                client
                    .map(|client| client.0)
                    .or(remote)
                    .map(|addr| addr.ip())
            },
        )
}

/// Reads the body and admits it with `pipeline`: the ticket for the handler, or the pipeline's
/// own answer (queued, duplicate, ignored, refused).
pub(crate) fn admitted<T>(
    pipeline: Pipeline,
) -> impl Filter<Extract = (Admission<T>,), Error = Rejection> + Clone
where
    T: DeserializeOwned + Send + 'static,
{
    warp::any()
        .map(move || pipeline.clone())
        .and(peer())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and_then(
            |pipeline: Pipeline, peer, headers: HeaderMap, body| async move {
                let admitted = match pipeline.read_from(peer, &headers, body).await {
                    Ok(received) => pipeline.admit::<T, _>(&headers, received).await,
                    Err(answer) => Admission::Answered(answer),
                };
                Ok::<_, Rejection>(admitted)
            },
        )
}

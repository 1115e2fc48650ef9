//! The filters: [`verified`], [`event`] and [`json`].

use futures_util::StreamExt;
use meetingbaas_webhooks::{Event, VerifiedDelivery, Verifier, VerifyError, content_length};
use serde::de::DeserializeOwned;
use warp::http::HeaderMap;
use warp::{Buf, Filter, Rejection, Stream};

use crate::rejection::WebhookRejection;

/// Extracts the [`VerifiedDelivery`]: the body read under the verifier's limit and verified,
/// not parsed.
///
/// A declared `Content-Length` over [`Verifier::max_body_bytes`] is refused before anything is
/// read, and a chunked body the moment it passes the limit (`413`); a delivery that does not
/// verify is refused with `401`. Refusals are [`WebhookRejection`]s: finish the route with
/// `.recover(`[`recover`](crate::recover)`)` to answer them. It consumes the body, so nothing
/// else in the route may read it.
///
/// ```
/// use meetingbaas_webhooks::{Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().callback_secret("s3cret").build()?;
/// let route = warp::post()
///     .and(warp::path!("webhooks" / "meetingbaas"))
///     .and(meetingbaas_webhooks_warp::verified(verifier))
///     .map(|delivery: VerifiedDelivery| format!("{} bytes", delivery.body().len()))
///     .recover(meetingbaas_webhooks_warp::recover);
/// # let _ = route;
/// # Ok(())
/// # }
/// ```
pub fn verified(
    verifier: Verifier,
) -> impl Filter<Extract = (VerifiedDelivery,), Error = Rejection> + Clone {
    warp::any()
        .map(move || verifier.clone())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and_then(|verifier: Verifier, headers: HeaderMap, body| async move {
            read_and_verify(&verifier, &headers, body)
                .await
                .map_err(|err| warp::reject::custom(WebhookRejection::from(err)))
        })
}

/// Extracts the [`VerifiedDelivery`] and the [`Event`] it carries.
///
/// The same as [`json`]`::<Event>`: [`verified`], then [`VerifiedDelivery::parse`]. A body that
/// is not a JSON object with a string `event` is refused with `400`, a known event whose `data`
/// does not fit its type with `422`. Unknown event names are not refused: they arrive as
/// [`Event::Unknown`](meetingbaas_webhooks::Event::Unknown).
///
/// ```
/// use meetingbaas_webhooks::{Event, Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let route = warp::post()
///     .and(warp::path!("webhooks" / "meetingbaas"))
///     .and(meetingbaas_webhooks_warp::event(verifier))
///     .map(|_delivery: VerifiedDelivery, event: Event| event.name().to_owned())
///     .recover(meetingbaas_webhooks_warp::recover);
/// # let _ = route;
/// # Ok(())
/// # }
/// ```
pub fn event(
    verifier: Verifier,
) -> impl Filter<Extract = (VerifiedDelivery, Event), Error = Rejection> + Clone {
    json::<Event>(verifier)
}

/// Extracts the [`VerifiedDelivery`] and the body parsed into any `serde` type `T`: your own,
/// [`Event`], [`Value`](meetingbaas_webhooks::Value), or [`serde::de::IgnoredAny`] to check that
/// the body is JSON and keep only the raw bytes.
///
/// [`verified`], then [`VerifiedDelivery::parse`]: a body that is not JSON, or not a webhook
/// envelope (an object with a string `event`) where `T` does not fit it, is refused with `400`;
/// an envelope that does not fit `T` with `422`.
///
/// ```
/// use meetingbaas_webhooks::{Verifier, VerifiedDelivery};
/// use warp::Filter;
///
/// #[derive(serde::Deserialize)]
/// struct Minimal {
///     event: String,
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let route = warp::post()
///     .and(meetingbaas_webhooks_warp::json::<Minimal>(verifier))
///     .map(|_delivery: VerifiedDelivery, minimal: Minimal| minimal.event)
///     .recover(meetingbaas_webhooks_warp::recover);
/// # let _ = route;
/// # Ok(())
/// # }
/// ```
pub fn json<T>(
    verifier: Verifier,
) -> impl Filter<Extract = (VerifiedDelivery, T), Error = Rejection> + Clone
where
    T: DeserializeOwned + Send + 'static,
{
    verified(verifier)
        .and_then(|delivery: VerifiedDelivery| async move {
            match delivery.parse::<T>() {
                Ok(payload) => Ok((delivery, payload)),
                Err(err) => Err(warp::reject::custom(WebhookRejection::from(err))),
            }
        })
        .untuple_one()
}

/// Reads `body` under the verifier's limit, then verifies it.
async fn read_and_verify<S, B>(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: S,
) -> Result<VerifiedDelivery, VerifyError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    // 413 at once, without reading, when the declared length is over the limit.
    let mut collector = verifier.body_collector(content_length(headers))?;
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.next().await {
        let mut frame = frame.map_err(|_| collector.unreadable())?;
        // `Bytes` hands itself over without a copy.
        let frame = frame.copy_to_bytes(frame.remaining());
        // 413 the moment the limit is passed: the rest is never read.
        collector.push(frame)?;
    }
    verifier.verify(headers, collector.finish())
}

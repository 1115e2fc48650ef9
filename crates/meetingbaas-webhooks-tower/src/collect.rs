//! Reading a request body under the verifier's limit: the one implementation shared by the layer
//! and the axum extractor.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::Body;
use meetingbaas_webhooks::{BodyCollector, Verifier, VerifyError, content_length};
use pin_project_lite::pin_project;

/// Starts reading `body` under `verifier`'s limit.
///
/// Fails at once, before a single frame is read, when the declared length (the `Content-Length`
/// header, or the body's own size hint) is already over the limit.
pub(crate) fn collect_under_limit<B: Body>(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: B,
) -> Result<CollectUnderLimit<B>, VerifyError> {
    let collector = verifier.body_collector(declared_length(headers, &body))?;
    Ok(CollectUnderLimit {
        body,
        collector: Some(collector),
    })
}

/// The length the request announces: its `Content-Length`, or at least the lower bound of the
/// body's size hint (a body that says it holds more than the limit is refused unread too).
fn declared_length<B: Body>(headers: &HeaderMap, body: &B) -> Option<u64> {
    let hinted = body.size_hint().lower();
    match content_length(headers) {
        Some(declared) => Some(declared.max(hinted)),
        None => (hinted > 0).then_some(hinted),
    }
}

pin_project! {
    /// Resolves to the whole body, or to the reason it was not read to its end: over the limit
    /// (stopped at the first frame past it) or a failed stream.
    pub(crate) struct CollectUnderLimit<B> {
        #[pin]
        body: B,
        // `None` once finished: the buffer is released as soon as the outcome is known.
        collector: Option<BodyCollector>,
    }
}

impl<B: Body> Future for CollectUnderLimit<B> {
    type Output = Result<Bytes, VerifyError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let Some(collector) = this.collector.as_mut() else {
                // Polled again after it finished: nothing more can be read.
                return Poll::Ready(Err(VerifyError::BodyUnreadable));
            };
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers carry nothing that is signed: only data frames count.
                    if let Ok(mut data) = frame.into_data() {
                        // Zero-copy when the frame is already `Bytes` (hyper, axum).
                        let chunk = data.copy_to_bytes(data.remaining());
                        if let Err(err) = collector.push(chunk) {
                            *this.collector = None;
                            return Poll::Ready(Err(err));
                        }
                    }
                }
                Some(Err(_)) => {
                    let err = collector.unreadable();
                    *this.collector = None;
                    return Poll::Ready(Err(err));
                }
                None => {
                    let body = this
                        .collector
                        .take()
                        .map_or_else(Bytes::new, BodyCollector::finish);
                    return Poll::Ready(Ok(body));
                }
            }
        }
    }
}

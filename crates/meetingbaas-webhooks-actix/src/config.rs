//! [`WebhookConfig`]: what the extractors need, registered through `app_data`.

use actix_web::{HttpRequest, web};
use meetingbaas_webhooks_receiver::idempotency::Deduplicator;
use std::sync::Arc;

use meetingbaas_webhooks::{EventKind, Verifier};
use meetingbaas_webhooks_receiver::{Inbox, Pipeline};

/// Configuration of the [`Webhook`](crate::Webhook) extractor: the [`Verifier`], optionally a
/// lower body limit, and optionally a [`Deduplicator`].
///
/// Register it like `web::JsonConfig`, with `app_data` on the `App`, a `Scope` or a `Resource`
/// (the innermost one wins). A `web::Data<WebhookConfig>` is found as well.
///
/// **Without one, every extraction fails with `500 Internal Server Error`** and the body
/// `{"error":"webhook_not_configured",...}`, and an error-level `tracing` event is emitted once
/// per process: a missing configuration is a deployment bug, never a reason to accept a delivery.
///
/// Into what the body is parsed is chosen by the handler's argument, not here:
/// [`Webhook<T>`](crate::Webhook) parses into `T` (an [`Event`](meetingbaas_webhooks::Event) by
/// default).
///
/// ```
/// use actix_web::{App, web};
/// use meetingbaas_webhooks_actix::Verifier;
/// use meetingbaas_webhooks_actix::{Deduplicator, MemoryStore};
/// use meetingbaas_webhooks_actix::{Idempotency, Webhook, WebhookConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let config = WebhookConfig::new(verifier)
///     .limit(1024 * 1024)
///     .dedupe(Deduplicator::new(MemoryStore::default()));
/// let app = App::new()
///     .app_data(config)
///     .wrap(Idempotency) // needed with `dedupe`: completes or releases each claim
///     .route("/webhooks/meetingbaas", meetingbaas_webhooks_actix::delivery_route().to(|webhook: Webhook| async move {
///         webhook.name().to_owned()
///     }));
/// # drop(app);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pipeline: Pipeline,
}

impl WebhookConfig {
    /// A configuration verifying with `verifier`, under its body limit
    /// ([`Verifier::max_body_bytes`]), without deduplication.
    pub fn new(verifier: Verifier) -> Self {
        WebhookConfig::from_pipeline(Pipeline::new(verifier))
    }

    /// A configuration running every extraction through `pipeline`: set the body deadline, the
    /// memory budget or the kind filter there.
    pub fn from_pipeline(pipeline: Pipeline) -> Self {
        WebhookConfig { pipeline }
    }

    /// Lowers the body limit for the routes this configuration covers, to `bytes`.
    ///
    /// The verifier's own limit still applies (it refuses larger bodies itself), so a value above
    /// [`Verifier::max_body_bytes`] has no effect: raise that one with
    /// [`VerifierBuilder::max_body_bytes`](meetingbaas_webhooks::VerifierBuilder::max_body_bytes).
    pub fn limit(mut self, bytes: usize) -> Self {
        self.pipeline = self.pipeline.limit(bytes);
        self
    }

    /// Lets only deliveries of these kinds reach the handler; every other verified delivery is
    /// answered `200 {"status":"ignored"}` ([`WebhookError::Ignored`](crate::WebhookError::Ignored)).
    pub fn only(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.pipeline = self.pipeline.only(kinds);
        self
    }

    /// Handles each delivery once: after verifying and parsing, the extractor claims the
    /// delivery with `deduplicator`, and the [`Idempotency`](crate::Idempotency) middleware
    /// completes the claim after a 2xx answer or releases it otherwise.
    ///
    /// A duplicate of a handled delivery is answered `200 {"status":"duplicate"}` without running
    /// the handler, a duplicate of one still running `409`, and an unreachable store `503` (see
    /// the crate docs). **The routes must be wrapped with `.wrap(Idempotency)`**: without it the
    /// extractor answers `500` (logged once at error level) rather than claim deliveries nobody
    /// would ever complete.
    pub fn dedupe(mut self, deduplicator: Deduplicator) -> Self {
        self.pipeline = self.pipeline.dedupe(deduplicator);
        self
    }

    /// Stores every verified delivery in `inbox` and answers at once (202
    /// `{"status":"queued","id":...}`, 200 `{"status":"duplicate"}` for a copy of a stored one,
    /// 503 when the inbox cannot store), instead of running the handler in the request (no [`Idempotency`](crate::Idempotency) middleware needed): a worker
    /// (crate `meetingbaas-webhooks-inbox`) runs it later, never cancelled by the sender's
    /// timeout. See [`Pipeline::inbox`](meetingbaas_webhooks_receiver::Pipeline::inbox).
    pub fn inbox(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.pipeline = self.pipeline.inbox(inbox);
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        self.pipeline.verifier()
    }

    /// The deduplicator, when deduplication is on.
    pub fn deduplicator(&self) -> Option<&Deduplicator> {
        self.pipeline.deduplicator()
    }

    /// The pipeline every extraction goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The body limit in force: the lower of [`limit`](Self::limit) and the verifier's.
    pub fn max_body_bytes(&self) -> usize {
        self.pipeline.max_body_bytes()
    }

    /// The configuration registered for `req`, if any.
    pub(crate) fn from_request(req: &HttpRequest) -> Option<&WebhookConfig> {
        req.app_data::<WebhookConfig>().or_else(|| {
            req.app_data::<web::Data<WebhookConfig>>()
                .map(|data| data.get_ref())
        })
    }
}

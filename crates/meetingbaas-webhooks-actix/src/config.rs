//! [`WebhookConfig`]: what the extractors need, registered through `app_data`.

use actix_web::{HttpRequest, web};
use meetingbaas_webhooks_receiver::Pipeline;

/// The [`Pipeline`] of the [`Webhook`](crate::Webhook) extractor, registered through
/// `app_data`.
///
/// Every receiving option (body limit and deadline, memory budget, kind filter, deduplication,
/// inbox) is set on the pipeline, never here: an option added to the pipeline reaches this
/// adapter with no change.
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
/// use meetingbaas_webhooks_actix::{Deduplicator, MemoryStore, Pipeline, Verifier};
/// use meetingbaas_webhooks_actix::{Idempotency, Webhook, WebhookConfig, delivery_route};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder().signature_secret("s3cret").build()?;
/// let pipeline = Pipeline::new(verifier)
///     .limit(1024 * 1024)
///     .dedupe(Deduplicator::new(MemoryStore::default()));
/// let app = App::new()
///     .app_data(WebhookConfig::new(pipeline))
///     .wrap(Idempotency) // needed with `dedupe`: completes or releases each claim
///     .service(web::resource("/webhooks/meetingbaas").route(delivery_route().to(
///         |webhook: Webhook| async move { webhook.name().to_owned() },
///     )));
/// # drop(app);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pipeline: Pipeline,
}

impl WebhookConfig {
    /// A configuration running every extraction through `pipeline`: a [`Pipeline`], or a
    /// [`Verifier`](meetingbaas_webhooks::Verifier) for the defaults around it.
    pub fn new(pipeline: impl Into<Pipeline>) -> Self {
        WebhookConfig {
            pipeline: pipeline.into(),
        }
    }

    /// The pipeline every extraction goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The configuration registered for `req`, if any.
    pub(crate) fn from_request(req: &HttpRequest) -> Option<&WebhookConfig> {
        req.app_data::<WebhookConfig>().or_else(|| {
            req.app_data::<web::Data<WebhookConfig>>()
                .map(|data| data.get_ref())
        })
    }
}

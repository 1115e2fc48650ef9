use meetingbaas_webhooks_receiver::Pipeline;
use tower_layer::Layer;

use crate::service::VerifyWebhook;

/// Applies [`VerifyWebhook`] to a service: runs every request through a [`Pipeline`] before the
/// service sees it.
///
/// Every receiving option (parsing, kind filter, deduplication, inbox, limits, deadlines,
/// budgets) is set on the pipeline, never here: an option added to the pipeline reaches this
/// layer with no change. Cheap to clone (the pipeline is shared). See the [crate docs](crate)
/// for an example.
#[derive(Clone, Debug)]
pub struct VerifyWebhookLayer {
    pipeline: Pipeline,
}

impl VerifyWebhookLayer {
    /// A layer running every request through `pipeline`: a [`Pipeline`], or a
    /// [`Verifier`](meetingbaas_webhooks::Verifier) for the defaults around it (verify only,
    /// under its body limit).
    pub fn new(pipeline: impl Into<Pipeline>) -> Self {
        VerifyWebhookLayer {
            pipeline: pipeline.into(),
        }
    }

    /// The pipeline every request goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl<S> Layer<S> for VerifyWebhookLayer {
    type Service = VerifyWebhook<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyWebhook::new(inner, self.pipeline.clone())
    }
}

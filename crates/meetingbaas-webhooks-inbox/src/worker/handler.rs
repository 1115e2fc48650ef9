//! Handlers as the worker keeps them: one boxed shape for the per-kind, typed and fallback
//! forms, whatever the application's state.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use meetingbaas_webhooks::event::EventData;

use super::{HandlerError, Job};

/// What a handler returns, boxed.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// A handler of whole events, with the state `S`.
pub(crate) type Handler<S> = Arc<dyn Fn(Job<S>) -> HandlerFuture + Send + Sync>;

/// A handler of whole events.
pub(crate) fn untyped<S, F, Fut>(handler: F) -> Handler<S>
where
    F: Fn(Job<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    Arc::new(move |job| Box::pin(handler(job)))
}

/// A handler of the events carrying `D`, given the payload typed.
pub(crate) fn typed<S, D, F, Fut>(handler: F) -> Handler<S>
where
    S: Send + Sync + 'static,
    D: EventData,
    F: Fn(Job<S, D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    Arc::new(move |job: Job<S>| match job.typed::<D>() {
        Ok(job) => Box::pin(handler(job)),
        // Registered for `D::KINDS` only, and an event's kind decides its payload: not reached
        // unless the kind recorded at intake disagrees with the body.
        Err(job) => {
            let message = format!(
                "the handler takes {}, but this {} event does not carry it",
                std::any::type_name::<D>(),
                job.kind().as_str()
            );
            Box::pin(async move { Err(HandlerError::permanent(message)) })
        }
    })
}

/// A handler registered before the state was given: it gets `()` as its state.
pub(crate) fn stateless<S: Send + Sync + 'static>(handler: Handler<()>) -> Handler<S> {
    Arc::new(move |job: Job<S>| handler(job.with_state(())))
}

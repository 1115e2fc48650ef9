//! What can go wrong with an inbox.

use meetingbaas_webhooks_receiver::InboxError;
use meetingbaas_webhooks_receiver::idempotency::StoreError;

/// An inbox operation failed. Messages never contain a URL's password or a body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store could not be opened or reached, or failed an operation (I/O error, full disk,
    /// corrupt file, Redis down). Intake answers 503 on it; the worker retries.
    #[error("inbox store: {0}")]
    Store(String),
    /// The store URL is not one the inbox understands.
    #[error("invalid inbox store URL: {0}")]
    InvalidUrl(String),
    /// No delivery has this id.
    #[error("no delivery with id {0:?}")]
    NotFound(String),
    /// The delivery is being handled right now and cannot be changed.
    #[error("delivery {0:?} is running; wait for its attempt to end")]
    Running(String),
    /// The delivery's body is no longer stored (dropped after completion, as
    /// [`keep_bodies`](crate::WorkerBuilder::keep_bodies) asked), so it cannot be redriven.
    #[error("delivery {0:?} cannot be redriven: its body was dropped after it completed")]
    BodyDropped(String),
    /// A write asked of a store opened for reading only ([`Inbox::open_read_only`](crate::Inbox::open_read_only)).
    #[error("the inbox was opened read-only")]
    ReadOnly,
    /// The store's file is damaged: SQLite found it malformed during an operation. Intake
    /// answers 503 on it, the worker retries, and the store is no longer
    /// [ready](crate::Inbox::ready) until it is repaired or restored.
    #[error("inbox store damaged: {0}")]
    Damaged(String),
}

impl Error {
    #[cfg(any(feature = "sqlite", feature = "redis"))]
    pub(crate) fn store(message: impl std::fmt::Display) -> Self {
        Error::Store(message.to_string())
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt) {
            return Error::Damaged(format!("SQLite: {err}"));
        }
        Error::Store(format!("SQLite: {err}"))
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        Error::Store(err.message().to_string())
    }
}

impl From<Error> for InboxError {
    fn from(err: Error) -> Self {
        InboxError::new(err.to_string())
    }
}

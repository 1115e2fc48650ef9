//! Connecting to Redis: the one place for it, shared by deduplication
//! ([`idempotency::RedisStore`](crate::idempotency::RedisStore)) and the durable inbox
//! (`meetingbaas-webhooks-inbox`).
//!
//! Every operation is bounded by [`OPERATION_TIMEOUT`]; errors are described without the URL
//! (which may hold a password). `redis://` URLs are accepted; `rediss://` (TLS) is refused at
//! start with a clear message (this build has no TLS for Redis).

use core::fmt;
use core::time::Duration;
use std::format;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client};

use crate::idempotency::StoreError;

/// How long any one Redis operation may take before it counts as a failure.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// A Redis server: a shared, self-reconnecting connection for short commands, and the client to
/// open [dedicated](Self::dedicated) connections for blocking reads (a blocking read on the shared
/// multiplexed connection would stall every other command on it).
#[derive(Clone)]
pub struct RedisConnection {
    client: Client,
    shared: ConnectionManager,
}

impl RedisConnection {
    /// Connects to `url` (`redis://[user:password@]host:port[/db]`). Fails when the URL is
    /// invalid or the server cannot be reached now; `rediss://` (TLS) is refused with a message
    /// saying how to reach a TLS-only server.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.trim_start().starts_with("rediss://") {
            // Refused at start with the way out, rather than failing at the first delivery.
            return Err(StoreError::new(
                "rediss:// (Redis over TLS) is not supported by this build: use redis:// on a \
                 private network, or through a TLS tunnel (stunnel, spiped) to the server",
            ));
        }
        let client = Client::open(url)
            .map_err(|err| StoreError::new(format!("invalid Redis URL: {}", kind_name(&err))))?;
        let shared = manager(&client).await?;
        Ok(RedisConnection { client, shared })
    }

    /// The shared connection (cheap to clone; reconnects by itself). For short commands only.
    pub fn shared(&self) -> ConnectionManager {
        self.shared.clone()
    }

    /// One more connection like [`shared`](Self::shared) (multiplexed, reconnecting by itself),
    /// to spread many concurrent short commands over several sockets: Redis reads about 16 KiB
    /// from each connection per turn of its event loop, and with `appendfsync always` fsyncs
    /// once per turn, so large commands (1 KiB deliveries) on one socket share fewer fsyncs.
    pub async fn another_shared(&self) -> Result<ConnectionManager, StoreError> {
        manager(&self.client).await
    }

    /// A new connection of its own, with no response timeout, for blocking commands
    /// (`XREADGROUP BLOCK`, `BLPOP`); bound each call by its own timeout.
    pub async fn dedicated(&self) -> Result<MultiplexedConnection, StoreError> {
        let config = AsyncConnectionConfig::new().set_connection_timeout(OPERATION_TIMEOUT);
        bounded(
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
    }
}

async fn manager(client: &Client) -> Result<ConnectionManager, StoreError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(OPERATION_TIMEOUT)
        .set_response_timeout(OPERATION_TIMEOUT)
        .set_number_of_retries(2)
        .set_max_delay(500);
    tokio::time::timeout(
        OPERATION_TIMEOUT * 3,
        ConnectionManager::new_with_config(client.clone(), config),
    )
    .await
    .map_err(|_| StoreError::new("timed out connecting to Redis"))?
    .map_err(|err| store_error(&err))
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info holds the password: never printed.
        f.debug_struct("RedisConnection").finish_non_exhaustive()
    }
}

/// Runs one Redis operation under [`OPERATION_TIMEOUT`]; a failure or a timeout is a
/// [`StoreError`] without credentials.
pub async fn bounded<T>(
    operation: impl core::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(store_error(&err)),
        Err(_) => Err(StoreError::new("Redis did not answer in time")),
    }
}

/// Runs `command` on `connection` like [`bounded`], and once more when the first try failed
/// because the connection broke (the server restarted, or a proxy dropped the socket): the
/// shared connection starts reconnecting on that failure, and the second try waits for the new
/// socket. So a Redis restart costs the requests in flight a short wait rather than a 503
/// each. Only for commands that are safe to run twice (each caller's says why).
pub async fn query_retrying<T: redis::FromRedisValue>(
    connection: &ConnectionManager,
    command: &redis::Cmd,
) -> Result<T, StoreError> {
    once_more(connection, |mut connection| async move {
        command.query_async(&mut connection).await
    })
    .await
}

/// [`query_retrying`] for a script.
pub async fn invoke_retrying<T: redis::FromRedisValue>(
    connection: &ConnectionManager,
    script: &redis::ScriptInvocation<'_>,
) -> Result<T, StoreError> {
    once_more(connection, |mut connection| async move {
        script.invoke_async(&mut connection).await
    })
    .await
}

/// Runs `operation` on a clone of `connection`, and once more on another when the first try
/// found the connection broken.
async fn once_more<T, F, Fut>(connection: &ConnectionManager, operation: F) -> Result<T, StoreError>
where
    F: Fn(ConnectionManager) -> Fut,
    Fut: core::future::Future<Output = redis::RedisResult<T>>,
{
    match tokio::time::timeout(OPERATION_TIMEOUT, operation(connection.clone())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) if broken(&err) => bounded(operation(connection.clone())).await,
        Ok(Err(err)) => Err(store_error(&err)),
        Err(_) => Err(StoreError::new("Redis did not answer in time")),
    }
}

/// Whether `err` says the connection itself broke (not a refused connection, a timeout or an
/// error answered by Redis): worth one more try on a fresh one.
fn broken(err: &redis::RedisError) -> bool {
    (err.is_connection_dropped() || err.is_io_error())
        && !err.is_timeout()
        && !err.is_connection_refusal()
}

/// A Redis error as a [`StoreError`]: its kind and description; the URL (which may hold a
/// password) is never included.
pub fn store_error(err: &redis::RedisError) -> StoreError {
    StoreError::new(format!(
        "Redis: {} ({})",
        kind_name(err),
        err.detail().unwrap_or("no detail")
    ))
}

fn kind_name(err: &redis::RedisError) -> &'static str {
    if err.is_timeout() {
        "timeout"
    } else if err.is_connection_refusal() {
        "connection refused"
    } else if err.is_io_error() || err.is_connection_dropped() {
        "connection lost"
    } else {
        "error"
    }
}

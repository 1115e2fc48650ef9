//! A store shared by replicas: Redis.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::store::{Claim, IdempotencyStore, StoreError, StoreFuture};

/// The value of a completed key. Claims hold `claim:<token>`, so the two never collide.
const DONE: &str = "done";

/// How long any one Redis operation may take before the store answers unavailable.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// Sets the key to `done` for the TTL, only if the caller's claim still holds it.
const COMPLETE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0";

/// Deletes the key, only if the caller's claim still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Claims in Redis, so that every replica behind a load balancer sees the same deliveries.
///
/// A claim is `SET <prefix><key> claim:<token> NX PX <lease>`; completion and release run Lua
/// scripts that act only when the caller's token still holds the key. The connection is a
/// `redis` connection manager (reconnects by itself); every operation is bounded by a timeout,
/// and a failure is a [`StoreError`] (503), never a pass.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    complete: Script,
    release: Script,
}

impl RedisStore {
    /// The key prefix used unless another is set.
    pub const DEFAULT_PREFIX: &'static str = "meetingbaas-webhooks:idempotency:";

    /// Connects to `url` (`redis://host:port/db`). Fails when the server cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|err| StoreError::new(format!("invalid Redis URL: {}", err.kind_name())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(OPERATION_TIMEOUT)
            .set_response_timeout(OPERATION_TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(500);
        let connection = tokio::time::timeout(
            OPERATION_TIMEOUT * 3,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreError::new("timed out connecting to Redis"))?
        .map_err(|err| store_error(&err))?;
        Ok(RedisStore {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_string(),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
        })
    }

    /// Uses another key prefix (for several applications sharing one Redis).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn claim_async(
        &self,
        key: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let key = self.key(key);
        let owner = format!("claim:{token}");
        let lease_ms = millis(lease);
        let mut connection = self.connection.clone();
        // SET NX, and when the key exists, GET what holds it. A key expiring between the two is
        // claimed again on the next turn.
        for _ in 0..3 {
            let set: Option<String> = bounded(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(lease_ms)
                    .query_async(&mut connection),
            )
            .await?;
            if set.is_some() {
                return Ok(Claim::Acquired);
            }
            let holder: Option<String> = bounded(connection.get(&key)).await?;
            match holder.as_deref() {
                Some(DONE) => return Ok(Claim::Completed),
                Some(_) => return Ok(Claim::InProgress),
                None => continue,
            }
        }
        Ok(Claim::InProgress)
    }

    async fn complete_async(
        &self,
        key: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.complete.key(self.key(key));
        invocation
            .arg(format!("claim:{token}"))
            .arg(DONE)
            .arg(millis(ttl));
        let done: i64 = bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(done == 1)
    }

    async fn release_async(&self, key: &str, token: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.release.key(self.key(key));
        invocation.arg(format!("claim:{token}"));
        let _: i64 = bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

async fn bounded<T>(
    operation: impl core::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(store_error(&err)),
        Err(_) => Err(StoreError::new("Redis did not answer in time")),
    }
}

fn store_error(err: &redis::RedisError) -> StoreError {
    // The error's kind and description; the URL (which may hold a password) is never included.
    StoreError::new(format!(
        "Redis: {} ({})",
        err.kind_name(),
        err.detail().unwrap_or("no detail")
    ))
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for redis::RedisError {
    fn kind_name(&self) -> &'static str {
        if self.is_timeout() {
            "timeout"
        } else if self.is_connection_refusal() {
            "connection refused"
        } else if self.is_io_error() || self.is_connection_dropped() {
            "connection lost"
        } else {
            "error"
        }
    }
}

impl IdempotencyStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(self.claim_async(key, token, lease))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.complete_async(key, token, ttl))
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.release_async(key, token))
    }

    fn release_detached(&self, key: String, token: String) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.clone();
            runtime.spawn(async move {
                let _ = store.release_async(&key, &token).await;
            });
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

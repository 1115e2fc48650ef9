//! A store shared by replicas: Redis.

use core::fmt;
use core::time::Duration;
use std::boxed::Box;
use std::format;
use std::string::{String, ToString};

use redis::Script;
use redis::aio::ConnectionManager;

use super::store::{Claim, IdempotencyStore, StoreError, StoreFuture};
use crate::redis_connection::{RedisConnection, bounded, query_retrying};

/// The value of a completed key. Claims hold `claim:<token>`, so the two never collide.
const DONE: &str = "done";

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
        Ok(RedisStore::with_connection(
            &RedisConnection::connect(url).await?,
        ))
    }

    /// A store on an open connection (shared with the inbox, say).
    pub fn with_connection(connection: &RedisConnection) -> Self {
        RedisStore {
            connection: connection.shared(),
            prefix: Self::DEFAULT_PREFIX.to_string(),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
        }
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
        // SET NX, and when the key exists, GET what holds it. A key expiring between the two is
        // claimed again on the next turn. Both are tried once more on a broken connection (a
        // Redis restart): a SET that landed before the break is found holding our own token.
        let set = redis::cmd("SET")
            .arg(&key)
            .arg(&owner)
            .arg("NX")
            .arg("PX")
            .arg(lease_ms)
            .clone();
        let get = redis::cmd("GET").arg(&key).clone();
        for _ in 0..3 {
            let set: Option<String> = query_retrying(&self.connection, &set).await?;
            if set.is_some() {
                return Ok(Claim::Acquired);
            }
            let holder: Option<String> = query_retrying(&self.connection, &get).await?;
            match holder.as_deref() {
                Some(DONE) => return Ok(Claim::Completed),
                Some(holder) if holder == owner => return Ok(Claim::Acquired),
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

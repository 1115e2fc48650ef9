//! The Redis idempotency store against a real `redis-server`.

use std::sync::Arc;
use std::time::Duration;

use meetingbaas_webhooks::{Bytes, VerifiedDelivery, Verifier};
use meetingbaas_webhooks_conformance::redis_server::RedisServer;
use meetingbaas_webhooks_receiver::IdempotencyError;
use meetingbaas_webhooks_receiver::idempotency::{
    Begin, Claim, Deduplicator, IdempotencyStore, RedisStore,
};

const LEASE: Duration = Duration::from_secs(30);

fn delivery(body: &str) -> VerifiedDelivery {
    let verifier = Verifier::builder().callback_secret("s").build().unwrap();
    verifier
        .verify(&[("x-mb-secret", "s")], Bytes::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn claim_complete_and_release_follow_the_owner_token() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    assert_eq!(store.claim("k", "owner", LEASE).await, Ok(Claim::Acquired));
    assert_eq!(
        store.claim("k", "other", LEASE).await,
        Ok(Claim::InProgress)
    );
    assert_eq!(store.complete("k", "intruder", LEASE).await, Ok(false));
    store.release("k", "intruder").await.unwrap();
    assert_eq!(
        store.claim("k", "other", LEASE).await,
        Ok(Claim::InProgress)
    );
    assert_eq!(store.complete("k", "owner", LEASE).await, Ok(true));
    assert_eq!(store.claim("k", "other", LEASE).await, Ok(Claim::Completed));

    assert_eq!(store.claim("r", "owner", LEASE).await, Ok(Claim::Acquired));
    store.release("r", "owner").await.unwrap();
    assert_eq!(store.claim("r", "retry", LEASE).await, Ok(Claim::Acquired));
}

#[tokio::test]
async fn a_lease_expires_in_redis() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    assert_eq!(
        store.claim("k", "owner", Duration::from_millis(50)).await,
        Ok(Claim::Acquired)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.claim("k", "next", LEASE).await, Ok(Claim::Acquired));
    assert_eq!(store.complete("k", "owner", LEASE).await, Ok(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_copies_are_claimed_exactly_once() {
    let redis = RedisServer::start();
    let dedupe = Deduplicator::new(RedisStore::connect(&redis.url()).await.unwrap());
    let d = Arc::new(delivery(
        r#"{"event":"bot.completed","data":{"bot_id":"b"}}"#,
    ));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (dedupe, d) = (dedupe.clone(), Arc::clone(&d));
            tokio::spawn(async move { dedupe.begin(&d).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    // Every claim is still held here, so the count is exact: one ran, 49 were told to retry.
    let proceeded = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Begin::Proceed(_))))
        .count();
    let in_progress = outcomes
        .iter()
        .filter(|o| matches!(o, Err(IdempotencyError::InProgress)))
        .count();
    assert_eq!((proceeded, in_progress), (1, 49));
}

#[tokio::test]
async fn dropped_claims_are_released_in_the_background() {
    let redis = RedisServer::start();
    let dedupe = Deduplicator::new(RedisStore::connect(&redis.url()).await.unwrap());
    let d = delivery("dropped");
    let Ok(Begin::Proceed(claim)) = dedupe.begin(&d).await else {
        panic!("first claim")
    };
    drop(claim);
    let mut result = dedupe.begin(&d).await;
    for _ in 0..100 {
        if !matches!(result, Err(IdempotencyError::InProgress)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        result = dedupe.begin(&d).await;
    }
    assert!(matches!(result, Ok(Begin::Proceed(_))), "{result:?}");
}

#[tokio::test]
async fn an_outage_is_unavailable_and_recovery_is_automatic() {
    let mut redis = RedisServer::start();
    let dedupe = Deduplicator::new(RedisStore::connect(&redis.url()).await.unwrap());
    let Ok(Begin::Proceed(claim)) = dedupe.begin(&delivery("before")).await else {
        panic!()
    };
    claim.complete().await.unwrap();

    redis.stop();
    assert_eq!(
        dedupe.begin(&delivery("during")).await.unwrap_err(),
        IdempotencyError::StoreUnavailable
    );

    redis.restart();
    let mut result = dedupe.begin(&delivery("after")).await;
    for _ in 0..100 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        result = dedupe.begin(&delivery("after")).await;
    }
    assert!(matches!(result, Ok(Begin::Proceed(_))), "{result:?}");
}

#[tokio::test]
async fn an_unreachable_redis_fails_at_setup_with_a_clear_error() {
    let redis = RedisServer::start();
    let url = redis.url();
    drop(redis);
    let err = Deduplicator::from_setting(Some(&url)).await.unwrap_err();
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert!(
        Deduplicator::from_setting(Some("memory"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(Deduplicator::from_setting(None).await.unwrap().is_none());
    assert!(
        Deduplicator::from_setting(Some("postgres://x"))
            .await
            .is_err()
    );
}

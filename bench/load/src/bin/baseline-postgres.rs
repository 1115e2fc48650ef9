//! The careful hand-written receiver on Postgres (issue 32's baseline, `bench/inbox-postgres.sh`):
//! axum, the callback scheme's `x-mb-secret` compared in constant time, the event name and bot
//! id parsed, and each delivery inserted into Postgres with sqlx (a pool of 16) in its own
//! transaction before answering 200; a copy of one already stored is ignored by its SHA-256
//! (`ON CONFLICT DO NOTHING` on a unique key).
//!
//! Env: `MEETINGBAAS_CALLBACK_SECRET`, `DURABLE_PG` (a `postgres://` URL), `PORT`.

#![forbid(unsafe_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use meetingbaas_bench_load::{Envelope, MAX_BODY_BYTES, ROUTE, announce, fail, hex, port_from_env};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

struct Receiver {
    /// SHA-256 of the secret: the presented one is hashed and the digests compared, so that
    /// the comparison takes the same time whatever the lengths.
    secret_digest: [u8; 32],
    pool: PgPool,
}

#[tokio::main]
async fn main() {
    let secret = std::env::var("MEETINGBAAS_CALLBACK_SECRET")
        .ok()
        .filter(|secret| !secret.is_empty())
        .unwrap_or_else(|| fail("MEETINGBAAS_CALLBACK_SECRET is not set"));
    let url = std::env::var("DURABLE_PG").unwrap_or_else(|_| fail("DURABLE_PG is not set"));
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await
        .unwrap_or_else(|err| fail(err));
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS deliveries (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, \
         event TEXT NOT NULL, bot_id TEXT, body BYTEA NOT NULL, received_ms BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap_or_else(|err| fail(err));
    let receiver = Arc::new(Receiver {
        secret_digest: Sha256::digest(secret.as_bytes()).into(),
        pool,
    });
    let app = Router::new()
        .route(ROUTE, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_from_env()))
        .await
        .unwrap_or_else(|err| fail(err));
    announce(listener.local_addr().unwrap_or_else(|err| fail(err)));
    if let Err(err) = axum::serve(listener, app).await {
        fail(err);
    }
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let (status, reply) = store(&receiver, &headers, body).await;
    (status, [(header::CONTENT_TYPE, "application/json")], reply)
}

async fn store(receiver: &Receiver, headers: &HeaderMap, body: Bytes) -> (StatusCode, String) {
    let presented = headers
        .get("x-mb-secret")
        .map_or(&[][..], |value| value.as_bytes());
    let presented: [u8; 32] = Sha256::digest(presented).into();
    let differs = presented
        .iter()
        .zip(receiver.secret_digest)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differs != 0 {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_secret"}"#.into(),
        );
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_json"}"#.into(),
        );
    };
    let key = hex(&Sha256::digest(&body));
    let reply = serde_json::json!({
        "status": "success",
        "event": envelope.event,
        "bot_id": envelope.data.bot_id,
    })
    .to_string();
    let received_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_millis() as i64);
    let inserted = async {
        let mut tx = receiver.pool.begin().await?;
        sqlx::query(
            "INSERT INTO deliveries (key, event, bot_id, body, received_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key)
        .bind(&envelope.event)
        .bind(&envelope.data.bot_id)
        .bind(&body[..])
        .bind(received_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
    .await;
    match inserted {
        Ok(()) => (StatusCode::OK, reply),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"store_unavailable"}"#.into(),
        ),
    }
}

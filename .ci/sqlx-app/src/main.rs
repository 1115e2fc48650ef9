//! Builds: an application with its own sqlx 0.9 pools (Postgres and SQLite) beside the inbox's
//! Postgres and SQLite stores, the inbox on the application's Postgres pool, and a handler
//! writing through its job's transaction.

use meetingbaas_webhooks_inbox::{HandlerError, Inbox, Job, PostgresOptions};

async fn handler(job: Job) -> Result<(), HandlerError> {
    let mut tx = job.transaction().await?;
    sqlx::query("INSERT INTO meetings (id, bot_id, at) VALUES ($1, $2, $3)")
        .bind(sqlx::types::Uuid::nil())
        .bind(job.bot_id())
        .bind(sqlx::types::chrono::Utc::now())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    sqlx::query("SELECT 1").execute(&local).await?;
    let embedded = Inbox::sqlite("inbox.db")?;
    let pool = sqlx::PgPool::connect("postgres://app@127.0.0.1/app").await?;
    let inbox = Inbox::postgres_with_pool(pool, PostgresOptions::new()).await?;
    let _worker = inbox.worker().fallback(handler).build();
    drop(embedded);
    Ok(())
}

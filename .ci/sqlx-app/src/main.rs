//! Builds: sqlx 0.8 (default features) in one program with the inbox's Redis store.

fn main() {
    let _pool: Option<sqlx::Pool<sqlx::Any>> = None;
    let _open = meetingbaas_webhooks_inbox::Inbox::open("redis://127.0.0.1:6379");
}

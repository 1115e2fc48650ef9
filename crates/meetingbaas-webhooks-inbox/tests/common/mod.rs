//! What the inbox crate's test files share: the secret, a delivery verified with it, a minimal
//! event body, and the macros that run each scenario against every store (a real SQLite file, a
//! real `redis-server` started per test, and memory). Each file defines its own `Store` and its
//! `sqlite()`, `redis()` and `memory()` constructors, since they need different handles.

#![allow(dead_code)]

use meetingbaas_webhooks::{Bytes, VerifiedDelivery, Verifier};

/// The callback secret every test delivery is verified with.
pub(crate) const SECRET: &str = "s3cret";

/// `body` verified under the callback scheme.
pub(crate) fn delivery(body: impl Into<Bytes>) -> VerifiedDelivery {
    Verifier::builder()
        .callback_secret(SECRET)
        .build()
        .unwrap()
        .verify(&[("x-mb-secret", SECRET)], body.into())
        .unwrap()
}

/// A minimal `bot.completed` body for `bot`.
pub(crate) fn event(bot: &str) -> String {
    format!(r#"{{"event":"bot.completed","data":{{"bot_id":"{bot}"}}}}"#)
}

/// One `#[tokio::test]` per scenario for one store: `scenarios!(sqlite: a, b)` runs
/// `a(sqlite().await)` and `b(sqlite().await)`.
#[macro_export]
macro_rules! scenarios {
    ($store:ident: $($name:ident),* $(,)?) => {
        mod $store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::$store().await).await;
                }
            )*
        }
    };
}

/// Every scenario against every store.
#[macro_export]
macro_rules! every_store {
    ($($name:ident),* $(,)?) => {
        $crate::scenarios!(sqlite: $($name),*);
        $crate::scenarios!(redis: $($name),*);
        $crate::scenarios!(memory: $($name),*);
    };
}

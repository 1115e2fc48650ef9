//! Secrets that change while the receiver runs: the key ring, replaced whole
//! ([`Pipeline::rotate`](crate::Pipeline::rotate)), and bots' own callback secrets, looked up by
//! digest ([`CallbackSecrets`]) with a bounded cache.
//!
//! # Rotating a secret
//!
//! Meeting BaaS signs with one secret at a time; to change it without losing a delivery, accept
//! both for a while: give the ring the new secret and the old one, switch the secret on Meeting
//! BaaS's side, and take the old one out once nothing is sent with it any more. Deliveries being
//! read when the ring is replaced are verified with the ring they started with.
//!
//! Callback secrets are per bot (each bot's `callback_config`) and bots can be scheduled days
//! ahead: **keep an old callback secret** (in the ring, or in your table of bots' secrets) for as
//! long as bots created with it can still call back, i.e. until the last of them has ended.
//!
//! ```
//! use meetingbaas_webhooks_receiver::Pipeline;
//! use meetingbaas_webhooks_receiver::core::{Signer, Verifier};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pipeline = Pipeline::new(Verifier::builder().signature_secret("old").build()?);
//! // Every clone of the pipeline (each adapter, each worker thread) sees the new ring at once.
//! pipeline.rotate(Verifier::builder().signature_secret("new").signature_secret("old").build()?);
//! let headers = Signer::signature("new")?.sign(b"{}", "", 0);
//! assert!(pipeline.verifier().verify(&headers, "{}".into()).is_ok());
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use meetingbaas_webhooks::{SecretDigest, Verifier};

/// The key ring of a pipeline, shared by its clones and replaced whole.
#[derive(Clone)]
pub(crate) struct Keys(Arc<RwLock<Verifier>>);

impl Keys {
    pub(crate) fn new(verifier: Verifier) -> Self {
        Keys(Arc::new(RwLock::new(verifier)))
    }

    /// The ring now (one reference count).
    pub(crate) fn current(&self) -> Verifier {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn replace(&self, verifier: Verifier) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = verifier;
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.current(), f)
    }
}

/// What a lookup of a callback secret returns, boxed.
pub type LookupFuture = Pin<Box<dyn Future<Output = Result<bool, LookupError>> + Send>>;

/// Your bots' callback secrets, looked up by digest: Meeting BaaS takes a secret per bot
/// (`callback_config.secret`), so a service that gives each bot its own keeps them in its
/// database. Store each secret's [`SecretDigest`] (`SecretDigest::of(secret).as_bytes()`, 32
/// bytes) rather than the secret, and answer whether a digest is one of them.
///
/// The lookup runs from the headers alone, before the body is read, and only for an
/// `x-mb-secret` the verifier's ring does not hold; its answers are cached
/// ([`CallbackSecretCache`]). An `Err` (the database is down) answers the delivery 503, so the
/// sender retries it.
///
/// ```
/// use std::collections::HashSet;
/// use meetingbaas_webhooks_receiver::{CallbackSecrets, LookupFuture, Pipeline};
/// use meetingbaas_webhooks_receiver::core::{SecretDigest, Verifier};
///
/// /// Stands in for a table of bots' secret digests.
/// struct Bots(HashSet<[u8; 32]>);
///
/// impl CallbackSecrets for Bots {
///     fn contains(&self, digest: SecretDigest) -> LookupFuture {
///         let known = self.0.contains(digest.as_bytes());
///         Box::pin(async move { Ok(known) })
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bots = Bots([*SecretDigest::of(b"bot-1 secret").as_bytes()].into());
/// let verifier = Verifier::builder().callback_lookup(true).build()?;
/// let pipeline = Pipeline::new(verifier).callback_secrets(bots);
/// # drop(pipeline);
/// # Ok(())
/// # }
/// ```
pub trait CallbackSecrets: Send + Sync + 'static {
    /// Whether `digest` is the digest of one of your callback secrets.
    fn contains(&self, digest: SecretDigest) -> LookupFuture;
}

/// A lookup that could not answer (the store is unreachable): the delivery is answered 503.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("callback secret lookup: {0}")]
pub struct LookupError(String);

impl LookupError {
    /// A failure, with what went wrong (never the secret or its digest).
    pub fn new(message: impl fmt::Display) -> Self {
        LookupError(message.to_string())
    }
}

/// How [`CallbackSecrets`] answers are cached: at most `capacity` digests, a known one for
/// `known_for`, an unknown one for `unknown_for` (short, so that a bot created a moment ago is
/// found soon; a forged secret's lookups are still bounded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackSecretCache {
    /// The most digests kept (the oldest answer goes first).
    pub capacity: usize,
    /// How long a known secret is trusted without asking again.
    pub known_for: Duration,
    /// How long an unknown secret is refused without asking again.
    pub unknown_for: Duration,
}

impl Default for CallbackSecretCache {
    /// 10 000 digests, known for 5 minutes, unknown for 10 seconds.
    fn default() -> Self {
        CallbackSecretCache {
            capacity: 10_000,
            known_for: Duration::from_secs(300),
            unknown_for: Duration::from_secs(10),
        }
    }
}

/// A [`CallbackSecrets`] with its cache.
#[derive(Clone)]
pub(crate) struct Lookup {
    source: Arc<dyn CallbackSecrets>,
    settings: CallbackSecretCache,
    cache: Arc<Mutex<Cache>>,
}

#[derive(Default)]
struct Cache {
    answers: HashMap<SecretDigest, (bool, Instant)>,
    order: VecDeque<SecretDigest>,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSecrets")
            .field("cache", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Lookup {
    pub(crate) fn new(source: impl CallbackSecrets, settings: CallbackSecretCache) -> Self {
        Lookup {
            source: Arc::new(source),
            settings,
            cache: Arc::default(),
        }
    }

    /// The cached answer for `digest`, if still fresh.
    pub(crate) fn cached(&self, digest: &SecretDigest) -> Option<bool> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let (known, at) = cache.answers.get(digest)?;
        let fresh_for = if *known {
            self.settings.known_for
        } else {
            self.settings.unknown_for
        };
        (at.elapsed() < fresh_for).then_some(*known)
    }

    /// Asks the source, and caches its answer.
    pub(crate) fn ask(&self, digest: SecretDigest) -> LookupFuture {
        let asked = self.source.contains(digest);
        let lookup = self.clone();
        Box::pin(async move {
            let known = asked.await?;
            lookup.remember(digest, known);
            Ok(known)
        })
    }

    fn remember(&self, digest: SecretDigest, known: bool) {
        if self.settings.capacity == 0 {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache
            .answers
            .insert(digest, (known, Instant::now()))
            .is_none()
        {
            cache.order.push_back(digest);
        }
        while cache.answers.len() > self.settings.capacity {
            let Some(oldest) = cache.order.pop_front() else {
                break;
            };
            cache.answers.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(Arc<AtomicUsize>);

    impl CallbackSecrets for Counting {
        fn contains(&self, digest: SecretDigest) -> LookupFuture {
            self.0.fetch_add(1, Ordering::SeqCst);
            let known = digest == SecretDigest::of(b"known");
            Box::pin(async move { Ok(known) })
        }
    }

    #[tokio::test]
    async fn answers_are_cached_within_their_time_and_the_cache_is_bounded() {
        let asked = Arc::new(AtomicUsize::new(0));
        let lookup = Lookup::new(
            Counting(Arc::clone(&asked)),
            CallbackSecretCache {
                capacity: 2,
                known_for: Duration::from_secs(60),
                unknown_for: Duration::ZERO,
            },
        );
        let known = SecretDigest::of(b"known");
        assert_eq!(lookup.cached(&known), None);
        assert_eq!(lookup.ask(known).await, Ok(true));
        assert_eq!(lookup.cached(&known), Some(true));
        // Unknown answers expire at once here.
        let guess = SecretDigest::of(b"guess");
        assert_eq!(lookup.ask(guess).await, Ok(false));
        assert_eq!(lookup.cached(&guess), None);
        // Past the capacity, the oldest answer goes.
        for n in 0..5u8 {
            lookup.ask(SecretDigest::of(&[n])).await.unwrap();
        }
        assert_eq!(lookup.cached(&known), None);
        let cache = lookup.cache.lock().unwrap();
        assert!(cache.answers.len() <= 2 && cache.order.len() <= 2);
        assert_eq!(asked.load(Ordering::SeqCst), 7);
    }
}

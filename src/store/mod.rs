//! What replicas must share: [`Store`], in-process (the default, for one replica) or on Redis
//! (`[store] url`, for several).
//!
//! Four things would go wrong per replica with two or more replicas behind one Service:
//!
//! | use | operation | why shared |
//! |---|---|---|
//! | single-use dialog states and one-shot buttons | [`Store::claim_once`] (`SET NX PX`) | a replay sent to another replica would run again |
//! | the 5 uses of a `response_url` | [`Store::take_use`] (a counter that expires) | each replica would allow 5 |
//! | exec `max_concurrent` / `queue` | [`Store::lease`] (a semaphore whose holders expire) | each replica would run `max_concurrent` |
//! | the role cache | [`Store::cache_get`] / [`Store::cache_put`] | one lookup a minute per user in all, not per replica |
//!
//! Leases expire unless renewed (every third of their lifetime by their holder), so a replica
//! that crashes holds an exec slot for at most [`LEASE_TTL`]. Redis keys are namespaced by
//! `[store] key_prefix`, so deployments may share one Redis. Times inside Redis come from the
//! Redis server's clock (`TIME`), so replicas' clocks need not agree.

mod memory;
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Notify;

/// How long an exec slot or queue place is held without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// `[store]`: where replicas share state. Without `url`, state is per process.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `redis://host:6379/0` (the password may be in the URL; then set it from the environment,
    /// `SWITCHBOARD_STORE__URL`, never in a committed file). Unset: in-process.
    #[serde(default)]
    pub url: Option<SecretString>,
    /// The Redis password, normally from `SWITCHBOARD_STORE__PASSWORD` (wins over one in `url`).
    #[serde(default)]
    pub password: Option<SecretString>,
    /// A file holding the password (e.g. a mounted Kubernetes secret).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// Prefix of every key, so several deployments can share one Redis.
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            url: None,
            password: None,
            password_file: None,
            key_prefix: default_prefix(),
        }
    }
}

fn default_prefix() -> String {
    "switchboard".to_owned()
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field(
                "url",
                &self.url.as_ref().map(|u| redacted(u.expose_secret())),
            )
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("password_file", &self.password_file)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

/// `url` without any password, for logs and messages: `redis://:[redacted]@host:6379/0`.
fn redacted(url: &str) -> String {
    /// What stands in the URL for the password until it is written out; only characters the
    /// URL parser leaves as they are (it percent-encodes `[` and `]` in a password).
    const PLACEHOLDER: &str = "REDACTEDPASSWORD";
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_none() {
                return parsed.to_string();
            }
            if parsed.set_password(Some(PLACEHOLDER)).is_err() {
                // Never the URL with its password in it.
                return "[not a URL]".to_owned();
            }
            parsed
                .to_string()
                .replacen(&format!(":{PLACEHOLDER}@"), ":[redacted]@", 1)
        }
        Err(_) => "[not a URL]".to_owned(),
    }
}

/// Why the store could not be set up or answer. Messages never hold the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `[store] url` is not a Redis URL.
    #[error("store.url is not a redis:// URL: {0}")]
    Url(String),
    /// The password file cannot be read.
    #[error("store.password_file {path}: {source}")]
    PasswordFile {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Redis refused or did not answer.
    #[error("shared store (redis) failed to {what}: {source}")]
    Redis {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        #[source]
        source: ::redis::RedisError,
    },
}

/// Whether a lease was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Granted; `others` held it already (not counting this holder).
    Granted {
        /// Other holders at the time.
        others: usize,
    },
    /// All `max` places are held.
    Full,
}

/// What [`Store::claim_work`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This holder has the claim now: run the work, renew while it runs, then mark it done.
    Mine,
    /// Another holder has it; it expires in `expires_in` unless renewed.
    Held {
        /// Time left on the other holder's claim.
        expires_in: Duration,
    },
    /// The work was done (by anyone): do not run it.
    Done,
}

/// The shared store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    prefix: Arc<str>,
    /// Wakes local waiters when a lease is given back here (remote ones are seen by polling).
    released: Arc<Notify>,
}

#[derive(Debug, Clone)]
enum Backend {
    Memory(Arc<memory::Memory>),
    Redis(redis::Redis),
}

impl Default for Store {
    fn default() -> Self {
        Store::in_process()
    }
}

impl Store {
    /// A store in this process only: right for one replica.
    pub fn in_process() -> Self {
        Store {
            backend: Backend::Memory(Arc::default()),
            prefix: default_prefix().into(),
            released: Arc::default(),
        }
    }

    /// The store `settings` describe: Redis when `url` is set (connected lazily, reconnecting
    /// by itself), else in-process.
    pub fn from_settings(settings: &StoreSettings) -> Result<Self, StoreError> {
        let Some(url) = &settings.url else {
            return Ok(Store {
                prefix: settings.key_prefix.as_str().into(),
                ..Store::in_process()
            });
        };
        let password = match (&settings.password, &settings.password_file) {
            (Some(password), _) => Some(password.clone()),
            (None, Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| StoreError::PasswordFile {
                        path: path.clone(),
                        source,
                    })?;
                Some(SecretString::from(text.trim().to_owned()))
            }
            (None, None) => None,
        };
        let redis = redis::Redis::connect_lazily(url.expose_secret(), password.as_ref())?;
        Ok(Store {
            backend: Backend::Redis(redis),
            prefix: settings.key_prefix.as_str().into(),
            released: Arc::default(),
        })
    }

    /// Whether several replicas see the same state.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// `in-process` or the Redis URL without its password.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Memory(_) => "in-process".to_owned(),
            Backend::Redis(r) => format!("redis at {}", r.describe()),
        }
    }

    /// Checks that the store answers (`PING`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => r.ping().await,
        }
    }

    /// `<prefix>:<kind>:<id>`.
    pub fn key(&self, kind: &str, id: &str) -> String {
        // Pushed rather than `format!`ed: a dialog submission makes one, and the formatting
        // machinery cost it 1 100 instructions (#12).
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + id.len() + 2);
        for part in [&*self.prefix, ":", kind, ":", id] {
            key.push_str(part);
        }
        key
    }

    /// Records `key` for `ttl`; `true` when this call recorded it, `false` when it was already
    /// recorded (a replay).
    pub async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = ttl.max(Duration::from_millis(1));
        match &self.backend {
            Backend::Memory(m) => Ok(m.claim_once(key, ttl)),
            Backend::Redis(r) => r.claim_once(key, ttl).await,
        }
    }

    /// Claims the work `key` for `holder` for `ttl`: [`Claim::Mine`] when nobody had it (or
    /// `holder` did: renewed), [`Claim::Held`] while another holder's claim is live,
    /// [`Claim::Done`] once someone marked it done ([`Store::finish_work`]). A holder that
    /// stops renewing (it crashed) loses the claim after `ttl`, and another may take it.
    pub async fn claim_work(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Claim, StoreError> {
        let ttl = ttl.max(Duration::from_millis(1));
        match &self.backend {
            Backend::Memory(m) => Ok(m.claim_work(key, holder, ttl)),
            Backend::Redis(r) => r.claim_work(key, holder, ttl).await,
        }
    }

    /// Extends `holder`'s claim on `key` to `ttl` from now (compare-and-set); `false` when it
    /// is no longer `holder`'s (it expired and another took it, or it is done).
    pub async fn renew_work(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let ttl = ttl.max(Duration::from_millis(1));
        match &self.backend {
            Backend::Memory(m) => Ok(m.renew_or_finish_work(key, holder, ttl, false)),
            Backend::Redis(r) => r.renew_or_finish_work(key, holder, ttl, false).await,
        }
    }

    /// Marks `key` done for `keep` (so later claims get [`Claim::Done`]), when `holder` still
    /// holds it or nobody does; `false` when another holder has taken it over.
    pub async fn finish_work(
        &self,
        key: &str,
        holder: &str,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        let keep = keep.max(Duration::from_millis(1));
        match &self.backend {
            Backend::Memory(m) => Ok(m.renew_or_finish_work(key, holder, keep, true)),
            Backend::Redis(r) => r.renew_or_finish_work(key, holder, keep, true).await,
        }
    }

    /// Forgets `key`, whatever it holds (e.g. a claim whose request was not accepted).
    pub async fn forget(&self, key: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                m.remove(key);
                Ok(())
            }
            Backend::Redis(r) => r.delete(key).await,
        }
    }

    /// Takes one use of `key` if fewer than `limit` were taken; the count lives `ttl` from its
    /// first use. `Some(uses so far)` or `None` when exhausted.
    pub async fn take_use(
        &self,
        key: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<Option<u32>, StoreError> {
        let ttl = ttl.max(Duration::from_millis(1));
        match &self.backend {
            Backend::Memory(m) => Ok(m.take_use(key, limit, ttl)),
            Backend::Redis(r) => r.take_use(key, limit, ttl).await,
        }
    }

    /// Gives back one use of `key` (the use failed).
    pub async fn give_back_use(&self, key: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                m.give_back_use(key);
                Ok(())
            }
            Backend::Redis(r) => r.give_back_use(key).await,
        }
    }

    /// Uses of `key` so far.
    pub async fn uses(&self, key: &str) -> Result<u32, StoreError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.uses(key)),
            Backend::Redis(r) => r.uses(key).await,
        }
    }

    /// A cached value.
    pub async fn cache_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.cache_get(key)),
            Backend::Redis(r) => r.cache_get(key).await,
        }
    }

    /// Caches `value` under `key` for `ttl`.
    pub async fn cache_put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let ttl = ttl.max(Duration::from_millis(1));
        match &self.backend {
            Backend::Memory(m) => {
                m.cache_put(key, value, ttl);
                Ok(())
            }
            Backend::Redis(r) => r.cache_put(key, value, ttl).await,
        }
    }

    /// Takes (or renews) one of `max` places of `key` for `holder`, for `ttl`. Places whose
    /// holders stopped renewing are freed first.
    pub async fn lease(
        &self,
        key: &str,
        holder: &str,
        max: usize,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.lease(key, holder, max, ttl)),
            Backend::Redis(r) => r.lease(key, holder, max, ttl).await,
        }
    }

    /// Extends `holder`'s place in `key` by `ttl`; `false` when it had expired and is gone.
    pub async fn renew(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.renew(key, holder, ttl)),
            Backend::Redis(r) => r.renew(key, holder, ttl).await,
        }
    }

    /// Gives `holder`'s place in `key` back, and wakes the local waiters.
    pub async fn unlease(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let result = match &self.backend {
            Backend::Memory(m) => {
                m.unlease(key, holder);
                Ok(())
            }
            Backend::Redis(r) => r.unlease(key, holder).await,
        };
        self.released.notify_waiters();
        result
    }

    /// Notified when a lease is given back in this process (waiters also poll, for leases
    /// given back elsewhere or expired).
    pub fn release_signal(&self) -> Arc<Notify> {
        self.released.clone()
    }
}

/// A random id for a lease holder.
pub fn holder_id() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 12];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A SHA-256 hex digest, for keys derived from values that should not be stored as they are
/// (a `response_url` holds a token).
pub fn digest(value: impl AsRef<[u8]>) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(value.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_redacted_url_reads_as_redacted_not_percent_encoded() {
        assert_eq!(
            super::redacted("redis://:s3cret@127.0.0.1:6392/0"),
            "redis://:[redacted]@127.0.0.1:6392/0"
        );
        assert_eq!(
            super::redacted("redis://user:s3cret@redis:6379/1"),
            "redis://user:[redacted]@redis:6379/1"
        );
        assert_eq!(
            super::redacted("redis://redis:6379/0"),
            "redis://redis:6379/0"
        );
    }

    use super::*;

    #[tokio::test]
    async fn a_password_never_shows_in_debug_or_descriptions() {
        let settings = StoreSettings {
            url: Some(SecretString::from("redis://:hunter2hunter2@cache:6379/0")),
            ..StoreSettings::default()
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let store = Store::from_settings(&settings).unwrap();
        assert!(store.is_shared());
        assert!(
            !store.describe().contains("hunter2"),
            "{}",
            store.describe()
        );
        assert!(
            store.describe().contains("cache:6379"),
            "{}",
            store.describe()
        );
    }

    #[tokio::test]
    async fn a_bad_url_is_a_clear_error() {
        let settings = StoreSettings {
            url: Some(SecretString::from("postgres://db/x")),
            ..StoreSettings::default()
        };
        let error = Store::from_settings(&settings).unwrap_err().to_string();
        assert!(error.contains("store.url"), "{error}");
    }
}

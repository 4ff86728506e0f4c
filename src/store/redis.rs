//! The store on Redis, through redis-rs's `ConnectionManager` (one multiplexed connection,
//! re-established by itself after a failure).
//!
//! Each operation is one command or one Lua script, so it is atomic in Redis whatever the
//! number of replicas. Scripts read the time from Redis (`TIME`), never from the replica.

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, IntoConnectionInfo as _, Script};
use secrecy::{ExposeSecret, SecretString};

use super::{Claim, Lease, StoreError};

/// How long one command may take before it counts as failed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// `INCR` unless at the limit; the counter expires `ttl` after its first use.
/// KEYS[1] counter; ARGV[1] limit, ARGV[2] ttl ms. Returns the new count, or -1.
const TAKE_USE: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return -1 end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
";

/// `DECR` down to zero. KEYS[1] counter.
const GIVE_BACK_USE: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
";

/// A counting semaphore as a sorted set of holder → deadline (ms, Redis clock).
/// KEYS[1] set; ARGV[1] holder, ARGV[2] max, ARGV[3] ttl ms.
/// Returns the number of other holders when granted, or -1 when full.
const LEASE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
if mine then held = held - 1
elseif held >= tonumber(ARGV[2]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return held
";

/// Extends a holder's deadline if it still holds. KEYS[1] set; ARGV[1] holder, ARGV[2] ttl ms.
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not until_ms) or tonumber(until_ms) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Claims work for a holder. The value is `run:<holder>` while it runs (expiring unless
/// renewed), anything else once done (`done`, or `1` from a single-use record).
/// KEYS[1] claim; ARGV[1] holder, ARGV[2] ttl ms.
/// Returns -1 when the holder has it now, -2 when done, else the ms left on another's claim.
const CLAIM_WORK: &str = r"
local mine = 'run:' .. ARGV[1]
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], mine, 'PX', ARGV[2])
  return -1
end
if v == mine then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return -1
end
if string.sub(v, 1, 4) ~= 'run:' then return -2 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then left = 0 end
return left
";

/// Renews (ARGV[3] = 0) or marks done (ARGV[3] = 1) a claim the holder still has (marking
/// done also when nobody has it). KEYS[1] claim; ARGV[1] holder, ARGV[2] ttl ms.
/// Returns 1 when done, 0 when another holds it (or it is already done).
const RENEW_OR_FINISH_WORK: &str = r"
local mine = 'run:' .. ARGV[1]
local v = redis.call('GET', KEYS[1])
local done = ARGV[3] == '1'
if v == mine or ((not v) and done) then
  if done then
    redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  else
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 1
end
return 0
";

// Each script's SHA-1 is computed once; Redis runs it by hash (EVALSHA), loading it first
// only when it does not know it yet.
static TAKE_USE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE_USE));
static GIVE_BACK_USE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GIVE_BACK_USE));
static LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(LEASE));
static RENEW_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RENEW));
static CLAIM_WORK_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CLAIM_WORK));
static RENEW_OR_FINISH_WORK_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(RENEW_OR_FINISH_WORK));

/// The Redis-backed store.
#[derive(Clone)]
pub(super) struct Redis {
    connection: ConnectionManager,
    /// The URL without its password.
    shown: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("url", &self.shown).finish()
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn failed(what: &'static str) -> impl FnOnce(redis::RedisError) -> StoreError {
    move |source| StoreError::Redis { what, source }
}

impl Redis {
    /// A client for `url` that connects on first use.
    pub(super) fn connect_lazily(
        url: &str,
        password: Option<&SecretString>,
    ) -> Result<Self, StoreError> {
        let shown = super::redacted(url);
        if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
            return Err(StoreError::Url(shown));
        }
        let mut info = url
            .into_connection_info()
            .map_err(|e| StoreError::Url(format!("{shown}: {}", e.category())))?;
        if let Some(password) = password {
            let settings = info
                .redis_settings()
                .clone()
                .set_password(password.expose_secret());
            info = info.set_redis_settings(settings);
        }
        let client = redis::Client::open(info)
            .map_err(|e| StoreError::Url(format!("{shown}: {}", e.category())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(failed("set up the connection"))?;
        Ok(Redis { connection, shown })
    }

    /// Runs `command` on the connection, and once more when the first try found no
    /// connection (refused: nothing was sent, so trying again cannot do anything twice). The
    /// connection manager reconnects only when a command fails, so after an outage the first
    /// command would otherwise fail against a Redis that has long been back.
    async fn run<T, F>(
        &self,
        what: &'static str,
        command: impl Fn(ConnectionManager) -> F,
    ) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match command(self.connection.clone()).await {
            Err(e) if e.is_connection_refusal() => {
                command(self.connection.clone()).await.map_err(failed(what))
            }
            other => other.map_err(failed(what)),
        }
    }

    pub(super) fn describe(&self) -> &str {
        &self.shown
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self
            .run("answer PING", |mut c| async move {
                redis::cmd("PING").query_async(&mut c).await
            })
            .await?;
        Ok(())
    }

    pub(super) async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .run("record a single use", |mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl))
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .run("delete a key", |mut c| async move { c.del(key).await })
            .await?;
        Ok(())
    }

    pub(super) async fn take_use(
        &self,
        key: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<Option<u32>, StoreError> {
        let n: i64 = self
            .run("count a use", |mut c| async move {
                TAKE_USE_SCRIPT
                    .key(key)
                    .arg(limit)
                    .arg(millis(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(u32::try_from(n).ok())
    }

    pub(super) async fn give_back_use(&self, key: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .run("give back a use", |mut c| async move {
                GIVE_BACK_USE_SCRIPT.key(key).invoke_async(&mut c).await
            })
            .await?;
        Ok(())
    }

    pub(super) async fn uses(&self, key: &str) -> Result<u32, StoreError> {
        let n: Option<u32> = self
            .run("read a counter", |mut c| async move { c.get(key).await })
            .await?;
        Ok(n.unwrap_or(0))
    }

    pub(super) async fn cache_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.run("read the cache", |mut c| async move { c.get(key).await })
            .await
    }

    pub(super) async fn cache_put(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: () = self
            .run("write the cache", |mut c| async move {
                c.pset_ex(key, value, millis(ttl)).await
            })
            .await?;
        Ok(())
    }

    pub(super) async fn lease(
        &self,
        key: &str,
        holder: &str,
        max: usize,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let n: i64 = self
            .run("take a lease", |mut c| async move {
                LEASE_SCRIPT
                    .key(key)
                    .arg(holder)
                    .arg(max)
                    .arg(millis(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match usize::try_from(n) {
            Ok(others) => Lease::Granted { others },
            Err(_) => Lease::Full,
        })
    }

    pub(super) async fn renew(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let renewed: i64 = self
            .run("renew a lease", |mut c| async move {
                RENEW_SCRIPT
                    .key(key)
                    .arg(holder)
                    .arg(millis(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(renewed == 1)
    }

    pub(super) async fn unlease(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .run("give back a lease", |mut c| async move {
                c.zrem(key, holder).await
            })
            .await?;
        Ok(())
    }

    pub(super) async fn claim_work(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Claim, StoreError> {
        let n: i64 = self
            .run("claim work", |mut c| async move {
                CLAIM_WORK_SCRIPT
                    .key(key)
                    .arg(holder)
                    .arg(millis(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match n {
            -1 => Claim::Mine,
            -2 => Claim::Done,
            left => Claim::Held {
                expires_in: Duration::from_millis(u64::try_from(left).unwrap_or(0)),
            },
        })
    }

    pub(super) async fn renew_or_finish_work(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        done: bool,
    ) -> Result<bool, StoreError> {
        let what = if done {
            "mark work done"
        } else {
            "renew a claim"
        };
        let n: i64 = self
            .run(what, |mut c| async move {
                RENEW_OR_FINISH_WORK_SCRIPT
                    .key(key)
                    .arg(holder)
                    .arg(millis(ttl))
                    .arg(u8::from(done))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(n == 1)
    }
}

//! The shared counters in Redis: each check is one Lua script, so it is atomic across
//! replicas, and times come from the Redis server's clock.

use super::RateState;
use redis::aio::ConnectionManager;
use redis::Script;
use std::time::Duration;

/// How long one Redis call may take before the replica falls back to local counters.
const CALL_TIMEOUT: Duration = Duration::from_millis(300);

const NOW: &str = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) ";

/// GCRA with burst = limit over one minute. ARGV: limit, cost, force.
const RATE: &str = "
local limit = tonumber(ARGV[1]) local cost = tonumber(ARGV[2]) local force = ARGV[3] == '1'
local period = 60000 local t = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + cost * t
if new_tat < now then new_tat = now end
local allowed = force or (new_tat - period <= now)
local kept = tat
local retry = 0
if allowed then
  kept = new_tat
  redis.call('SET', KEYS[1], string.format('%.3f', kept), 'PX', math.ceil(kept - now) + 1000)
else
  retry = math.ceil(new_tat - period - now)
end
local remaining = math.floor((now + period - kept) / t)
if remaining < 0 then remaining = 0 end
if remaining > limit then remaining = limit end
return {allowed and 1 or 0, remaining, math.ceil(kept - now), retry}";

/// Budget spend: ARGV amount, budget (0: always), ttl ms, "1" to report a missing counter
/// (after a Redis restart) instead of counting from 0. Returns {added, spend before};
/// {-1, 0} when missing.
const SPEND: &str = "
local amount = tonumber(ARGV[1]) local budget = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
if not cur and ARGV[4] == '1' then return {-1, 0} end
local spent = tonumber(cur or '0')
if budget > 0 and amount > 0 and spent + amount > budget then return {0, spent} end
redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, spent}";

/// Concurrency slot in a sorted set scored by expiry. ARGV: limit, slot id, ttl ms.
const ACQUIRE: &str = "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1";

/// Keeps a held slot alive. ARGV: slot id, ttl ms.
const REFRESH: &str = "
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1";

pub struct Shared {
    conn: ConnectionManager,
    rate: Script,
    spend: Script,
    acquire: Script,
    refresh: Script,
}

pub type RResult<T> = Result<T, String>;

async fn timed<T>(f: impl std::future::Future<Output = redis::RedisResult<T>>) -> RResult<T> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

impl Shared {
    pub fn new(conn: ConnectionManager) -> Self {
        let with_now = |body: &str| Script::new(&format!("{NOW}{body}"));
        Shared {
            conn,
            rate: with_now(RATE),
            spend: Script::new(SPEND),
            acquire: with_now(ACQUIRE),
            refresh: with_now(REFRESH),
        }
    }

    pub async fn ping(&self) -> RResult<()> {
        let mut c = self.conn.clone();
        timed(redis::cmd("PING").query_async::<String>(&mut c))
            .await
            .map(|_| ())
    }

    pub async fn rate(&self, key: &str, limit: i64, cost: i64, force: bool) -> RResult<RateState> {
        let mut c = self.conn.clone();
        let mut inv = self.rate.key(key);
        inv.arg(limit).arg(cost).arg(if force { "1" } else { "0" });
        let v: Vec<i64> = timed(inv.invoke_async(&mut c)).await?;
        match v.as_slice() {
            [allowed, remaining, reset, retry] => Ok(RateState {
                allowed: *allowed == 1,
                limit,
                remaining: *remaining,
                reset_ms: *reset,
                retry_after_ms: *retry,
            }),
            _ => Err("unexpected script answer".into()),
        }
    }

    /// `None` when the counter is missing and `seed_missing` asked to be told.
    pub async fn spend(
        &self,
        key: &str,
        amount: i64,
        budget: i64,
        ttl_ms: i64,
        seed_missing: bool,
    ) -> RResult<Option<(bool, i64)>> {
        let mut c = self.conn.clone();
        let mut inv = self.spend.key(key);
        inv.arg(amount)
            .arg(budget)
            .arg(ttl_ms.max(1000))
            .arg(if seed_missing { "1" } else { "0" });
        let v: Vec<i64> = timed(inv.invoke_async(&mut c)).await?;
        match v.as_slice() {
            [-1, _] => Ok(None),
            [added, before] => Ok(Some((*added == 1, *before))),
            _ => Err("unexpected script answer".into()),
        }
    }

    /// Sets a missing budget counter (SET NX: a replica that seeded first wins).
    pub async fn seed(&self, key: &str, value: i64, ttl_ms: i64) -> RResult<()> {
        let mut c = self.conn.clone();
        timed(
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms.max(1000))
                .query_async::<redis::Value>(&mut c),
        )
        .await
        .map(|_| ())
    }

    /// A budget counter's value (0 when the key does not exist).
    pub async fn spent(&self, key: &str) -> RResult<i64> {
        let mut c = self.conn.clone();
        let v: Option<i64> = timed(redis::cmd("GET").arg(key).query_async(&mut c)).await?;
        Ok(v.unwrap_or(0))
    }

    pub async fn acquire(&self, key: &str, limit: i64, slot: &str, ttl_ms: i64) -> RResult<bool> {
        let mut c = self.conn.clone();
        let mut inv = self.acquire.key(key);
        inv.arg(limit).arg(slot).arg(ttl_ms);
        let v: i64 = timed(inv.invoke_async(&mut c)).await?;
        Ok(v == 1)
    }

    pub async fn refresh(&self, key: &str, slot: &str, ttl_ms: i64) -> RResult<()> {
        let mut c = self.conn.clone();
        let mut inv = self.refresh.key(key);
        inv.arg(slot).arg(ttl_ms);
        timed(inv.invoke_async::<i64>(&mut c)).await.map(|_| ())
    }

    pub async fn release(&self, key: &str, slot: &str) -> RResult<()> {
        let mut c = self.conn.clone();
        timed(
            redis::cmd("ZREM")
                .arg(key)
                .arg(slot)
                .query_async::<i64>(&mut c),
        )
        .await
        .map(|_| ())
    }

    /// Stores a value that expires by itself (`ttl_ms` > 0) or deletes it (`None`).
    pub async fn put(&self, key: &str, value: Option<(&str, i64)>) -> RResult<()> {
        let mut c = self.conn.clone();
        let cmd = match value {
            Some((v, ttl_ms)) => redis::cmd("SET")
                .arg(key)
                .arg(v)
                .arg("PX")
                .arg(ttl_ms.max(1))
                .clone(),
            None => redis::cmd("DEL").arg(key).clone(),
        };
        timed(cmd.query_async::<redis::Value>(&mut c))
            .await
            .map(|_| ())
    }

    pub async fn publish(&self, channel: &str, message: &str) -> RResult<()> {
        let mut c = self.conn.clone();
        timed(
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(message)
                .query_async::<i64>(&mut c),
        )
        .await
        .map(|_| ())
    }
}

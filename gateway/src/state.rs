//! Shared application state handed to every handler.

use crate::auth::jwt::JwtKeys;
use crate::auth::secret_box::SecretBox;
use crate::auth::throttle::LoginThrottle;
use crate::row_cache::{Cached, RowCache};
use crate::services::dispatch::ledger::Ledger;
use crate::services::dispatch::quota_lease::QuotaLeases;
use crate::services::options::Options;
use crate::settings::Settings;
use crate::store::{Channel, DbError, Store, Token, User};
use std::sync::Arc;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Every channel, shared: a request's candidates and its chosen channel are references
/// into this list, not copies.
pub type Channels = Arc<Vec<Arc<Channel>>>;

/// How long a cached user may be served before it is re-read; bounds how late another
/// replica's change (disable, password change) is seen.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(5);
/// The same bound for channels and options.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// While the database is unreachable, a key, user or channel list read within this long
/// is still served (so requests that held leases can pay for keep working); a change made
/// through another replica just before the outage may then be seen this late.
pub const OUTAGE_GRACE: Duration = Duration::from_secs(600);

/// The fresh `read`, or the cached value when the database is unreachable.
async fn read_through<T>(
    cached: Option<Cached<T>>,
    read: impl std::future::Future<Output = Result<Option<T>, DbError>>,
) -> Result<(Option<Arc<T>>, bool), DbError> {
    match read.await {
        Ok(v) => Ok((v.map(Arc::new), true)),
        Err(DbError::Unavailable(e)) => match cached {
            Some(c) if c.at.elapsed() < OUTAGE_GRACE => {
                log::debug!("database unreachable ({e}); serving a cached row");
                Ok((Some(c.value), false))
            }
            _ => Err(DbError::Unavailable(e)),
        },
        Err(e) => Err(e),
    }
}

pub struct AppState {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub options: Options,
    /// Prices per model and group, remembered until the options change.
    pub prices: crate::services::dispatch::billing::PriceMemo,
    pub jwt: JwtKeys,
    pub secret_box: SecretBox,
    pub throttle: LoginThrottle,
    pub users: RowCache<i64, User>,
    /// API keys by hash, for the `/v1` hot path.
    pub tokens: RowCache<String, Token>,
    pub ledger: Ledger,
    /// Quota this replica holds in leases (reserve and refund in memory).
    pub quota: Arc<QuotaLeases>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Operator limits' counters (Redis or per replica) and the Redis connection.
    pub limits: Arc<crate::services::limits::counters::Counters>,
    /// The graceful stop, which streams watch for the end of its grace.
    pub shutdown: Arc<crate::shutdown::Shutdown>,
    /// The OpenTelemetry span exporter (inert unless configured).
    pub tracing: crate::tracing_otel::Tracing,
    /// All channels with the time they were read; cleared when one changes here, and
    /// re-read after `CACHE_TTL` so other replicas' changes arrive too.
    channels: RwLock<Option<(Instant, Channels)>>,
}

impl AppState {
    pub async fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        ledger: Ledger,
    ) -> anyhow::Result<Self> {
        let options = Options::load(store.clone(), settings.builtin_prices).await?;
        Ok(AppState {
            jwt: JwtKeys::new(&settings.jwt_secret, settings.token_expiry_hours),
            secret_box: SecretBox::new(&settings.channel_key_secret),
            throttle: LoginThrottle::default(),
            shutdown: crate::shutdown::Shutdown::new(Duration::from_secs(
                settings.shutdown_grace_secs,
            )),
            users: RowCache::new(100_000, OUTAGE_GRACE),
            tokens: RowCache::new(100_000, OUTAGE_GRACE),
            channels: RwLock::new(None),
            quota: Arc::new(QuotaLeases::new(
                store.clone(),
                ledger.clone(),
                settings.quota_lease_requests,
            )),
            metrics: ledger.metrics().clone(),
            ledger,
            limits: Arc::new(crate::services::limits::counters::Counters::new(
                settings.redis_url.as_deref(),
                &settings.redis_key_prefix,
            )?),
            tracing: crate::tracing_otel::Tracing::start(
                &settings.otel,
                crate::tracing_otel::SERVICE_NAME,
            )
            .map_err(|e| anyhow::anyhow!("cannot start the trace exporter: {e}"))?,
            options,
            prices: Default::default(),
            store,
            settings,
        })
    }

    /// The user, from cache or the store (the cached one while the store is unreachable).
    pub async fn user(&self, id: i64) -> Result<Option<Arc<User>>, DbError> {
        let now = Instant::now();
        let cached = self.users.get(&id, now);
        if let Some(u) = cached.as_ref().and_then(|c| c.fresh(USER_CACHE_TTL, now)) {
            return Ok(Some(u));
        }
        let (user, read) = read_through(cached, self.store.user_by_id(id)).await?;
        match &user {
            Some(u) if read => self.users.insert(id, Cached::new(u.clone())),
            None => self.users.invalidate(&id),
            _ => {}
        }
        Ok(user)
    }

    /// The API key with this hash, from cache or the store (like [`AppState::user`]).
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<Arc<Token>>, DbError> {
        let now = Instant::now();
        let cached = self.tokens.get(hash, now);
        if let Some(t) = cached.as_ref().and_then(|c| c.fresh(USER_CACHE_TTL, now)) {
            return Ok(Some(t));
        }
        let (token, read) = read_through(cached, self.store.token_by_hash(hash)).await?;
        match &token {
            Some(t) if read => self.tokens.insert(hash.to_string(), Cached::new(t.clone())),
            None => self.tokens.invalidate(hash),
            _ => {}
        }
        Ok(token)
    }

    /// Call after any change to a user so this replica stops serving the old row.
    pub async fn forget_user(&self, id: i64) {
        self.users.invalidate(&id);
        self.limits.publish(format!("user:{id}"));
    }

    pub async fn forget_token(&self, key_hash: &str) {
        self.tokens.invalidate(key_hash);
        self.limits.publish(format!("token:{key_hash}"));
    }

    /// Drops the cached channel list so the next request reloads it.
    pub fn channels_changed(&self) {
        self.forget_channels_here();
        self.limits.publish("channels".into());
    }

    /// Drops the cached channel list on this replica only.
    pub fn forget_channels_here(&self) {
        match self.channels.write() {
            Ok(mut c) => *c = None,
            Err(p) => *p.into_inner() = None,
        }
    }

    /// Every channel (cached until a change; the cached list while the store is
    /// unreachable).
    pub async fn channels(&self) -> Result<Channels, DbError> {
        let cached = match self.channels.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some((at, c)) = &cached {
            if at.elapsed() < CACHE_TTL {
                return Ok(c.clone());
            }
        }
        let fresh = match self.store.all_channels().await {
            Ok(list) => Arc::new(list.into_iter().map(Arc::new).collect::<Vec<_>>()),
            Err(DbError::Unavailable(e)) => match cached {
                Some((at, c)) if at.elapsed() < OUTAGE_GRACE => {
                    log::debug!("database unreachable ({e}); serving the cached channels");
                    return Ok(c);
                }
                _ => return Err(DbError::Unavailable(e)),
            },
            Err(e) => return Err(e),
        };
        self.metrics.channels_loaded(&fresh);
        let entry = Some((Instant::now(), fresh.clone()));
        match self.channels.write() {
            Ok(mut c) => *c = entry,
            Err(p) => *p.into_inner() = entry,
        }
        Ok(fresh)
    }
}

//! Shared application state handed to every handler.

use crate::auth::jwt::JwtKeys;
use crate::auth::secret_box::SecretBox;
use crate::auth::throttle::LoginThrottle;
use crate::services::dispatch::ledger::Ledger;
use crate::services::dispatch::quota_lease::QuotaLeases;
use crate::services::options::Options;
use crate::settings::Settings;
use crate::store::{Channel, Store, Token, User};
use moka::future::Cache;
use std::sync::Arc;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a cached user may be served before it is re-read; bounds how late another
/// replica's change (disable, password change) is seen.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(5);
/// The same bound for channels and options.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

pub struct AppState {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub options: Options,
    pub jwt: JwtKeys,
    pub secret_box: SecretBox,
    pub throttle: LoginThrottle,
    pub users: Cache<i64, User>,
    /// API keys by hash, for the `/v1` hot path.
    pub tokens: Cache<String, Token>,
    pub ledger: Ledger,
    /// Quota this replica holds in leases (reserve and refund in memory).
    pub quota: Arc<QuotaLeases>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Operator limits' counters (Redis or per replica) and the Redis connection.
    pub limits: Arc<crate::services::limits::counters::Counters>,
    /// All channels with the time they were read; cleared when one changes here, and
    /// re-read after `CACHE_TTL` so other replicas' changes arrive too.
    channels: RwLock<Option<(Instant, Arc<Vec<Channel>>)>>,
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
            users: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(USER_CACHE_TTL)
                .build(),
            tokens: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(USER_CACHE_TTL)
                .build(),
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
            options,
            store,
            settings,
        })
    }

    /// The user, from cache or the store.
    pub async fn user(&self, id: i64) -> Result<Option<User>, crate::store::DbError> {
        if let Some(u) = self.users.get(&id).await {
            return Ok(Some(u));
        }
        let user = self.store.user_by_id(id).await?;
        if let Some(u) = &user {
            self.users.insert(id, u.clone()).await;
        }
        Ok(user)
    }

    /// Call after any change to a user so this replica stops serving the old row.
    pub async fn forget_user(&self, id: i64) {
        self.users.invalidate(&id).await;
        crate::services::limits::invalidate::publish(self, format!("user:{id}"));
    }

    pub async fn forget_token(&self, key_hash: &str) {
        self.tokens.invalidate(key_hash).await;
        crate::services::limits::invalidate::publish(self, format!("token:{key_hash}"));
    }

    /// Drops the cached channel list so the next request reloads it.
    pub fn channels_changed(&self) {
        self.forget_channels_here();
        crate::services::limits::invalidate::publish(self, "channels".into());
    }

    /// Drops the cached channel list on this replica only.
    pub fn forget_channels_here(&self) {
        match self.channels.write() {
            Ok(mut c) => *c = None,
            Err(p) => *p.into_inner() = None,
        }
    }

    /// Every channel (cached until a change).
    pub async fn channels(&self) -> Result<Arc<Vec<Channel>>, crate::store::DbError> {
        let cached = match self.channels.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some((at, c)) = cached {
            if at.elapsed() < CACHE_TTL {
                return Ok(c);
            }
        }
        let fresh = Arc::new(self.store.all_channels().await?);
        self.metrics.channels_loaded(&fresh);
        let entry = Some((Instant::now(), fresh.clone()));
        match self.channels.write() {
            Ok(mut c) => *c = entry,
            Err(p) => *p.into_inner() = entry,
        }
        Ok(fresh)
    }
}

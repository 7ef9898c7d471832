//! Registration, login, self-service profile changes and admin user management,
//! including who may change whom.

use crate::auth::{password, throttle};
use crate::error::ApiError;
use crate::services::validate;
use crate::state::AppState;
use crate::store::ledger::Holder;
use crate::store::users::{NewUser, UserPatch};
use crate::store::{User, ROLE_ADMIN, ROLE_ROOT, ROLE_USER, USER_DISABLED, USER_ENABLED};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(pattern = r"^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    /// 8 to 72 bytes (UTF-8).
    #[schema(min_length = 8, max_length = 72)]
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResult {
    pub token: String,
    pub expires_at: i64,
    pub user: User,
}

pub async fn register(state: &AppState, c: Credentials) -> Result<User, ApiError> {
    if !state.options.get().bool("register_enabled") {
        return Err(ApiError::forbidden("registration is closed"));
    }
    create(
        state,
        NewAccount {
            username: c.username,
            password: c.password,
            ..Default::default()
        },
        ROLE_USER,
    )
    .await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(pattern = r"^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    /// 8 to 72 bytes (UTF-8).
    #[schema(min_length = 8, max_length = 72)]
    pub password: String,
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub display_name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 254, pattern = r"^(|[^@\s]+@\S*\.\S*)$")]
    pub email: Option<String>,
    /// 1 (user) or 10 (admin; only root may grant it).
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(schema_with = crate::api_schema::role)]
    pub role: Option<i64>,
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub quota: Option<i64>,
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub group: Option<String>,
}

/// Admin-created account; the actor's rank bounds the role it may hand out.
pub async fn create_by_admin(
    state: &AppState,
    actor: &User,
    a: NewAccount,
) -> Result<User, ApiError> {
    let role = a.role.unwrap_or(ROLE_USER);
    check_role_grant(actor, role)?;
    create(state, a, role).await
}

async fn create(state: &AppState, a: NewAccount, role: i64) -> Result<User, ApiError> {
    validate::username(&a.username)?;
    password::validate(&a.password).map_err(ApiError::bad)?;
    let display_name = a.display_name.unwrap_or_else(|| a.username.clone());
    validate::short_text("display_name", &display_name, 64)?;
    let email = a.email.unwrap_or_default();
    validate::email(&email)?;
    let quota = a
        .quota
        .unwrap_or_else(|| state.options.get().i64("new_user_quota"));
    validate::quota("quota", quota)?;
    let group = a.group.unwrap_or_else(|| "default".into());
    validate::group(&group)?;
    if state.store.user_by_username(&a.username).await?.is_some() {
        return Err(ApiError::Conflict("username already taken".into()));
    }
    let password_hash = password::hash(a.password).await?;
    let new = NewUser {
        username: a.username,
        password_hash,
        display_name,
        email,
        role,
        group,
        quota,
        must_change_password: false,
    };
    state.store.create_user(new).await.map_err(|e| match e {
        crate::store::DbError::Unique => ApiError::Conflict("username already taken".into()),
        other => other.into(),
    })
}

/// Lets one password check through `auth::throttle`, or answers 429 with the wait.
fn begin_password_check(
    state: &AppState,
    username: &str,
    ip: &str,
) -> Result<throttle::Attempt, ApiError> {
    state.throttle.try_begin(username, ip).map_err(|wait| {
        let secs = throttle::retry_after_secs(wait);
        ApiError::Throttled {
            message: format!("too many wrong passwords; try again in {secs} s"),
            retry_after_secs: secs,
        }
    })
}

pub async fn login(state: &AppState, c: Credentials, ip: &str) -> Result<LoginResult, ApiError> {
    let attempt = begin_password_check(state, &c.username, ip)?;
    let user = if c.username.len() <= 64 {
        state.store.user_by_username(&c.username).await?
    } else {
        None
    };
    let ok = password::verify(c.password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        // The failure was already counted by `try_begin`.
        _ => return Err(ApiError::Unauthorized("wrong username or password".into())),
    };
    state.throttle.succeeded(attempt);
    if user.status != USER_ENABLED {
        return Err(ApiError::forbidden("user is disabled"));
    }
    session_for(state, user)
}

fn session_for(state: &AppState, user: User) -> Result<LoginResult, ApiError> {
    let (token, expires_at) =
        state
            .jwt
            .issue(user.id, user.role, user.session_version, crate::util::now())?;
    Ok(LoginResult {
        token,
        expires_at,
        user,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfUpdate {
    #[schema(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub display_name: Option<String>,
    #[schema(max_length = 254, pattern = r"^(|[^@\s]+@\S*\.\S*)$")]
    pub email: Option<String>,
    /// The new password (8 to 72 bytes); needs `current_password`.
    #[schema(min_length = 8, max_length = 72)]
    pub password: Option<String>,
    pub current_password: Option<String>,
}

/// The caller after a self-service change; a password change also carries the new
/// session (the old token and every other session of the user end with the change).
#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfUpdated {
    #[serde(flatten)]
    pub user: User,
    /// The caller's new session token, when the password was changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

pub async fn update_self(
    state: &AppState,
    me: &User,
    u: SelfUpdate,
    ip: &str,
) -> Result<SelfUpdated, ApiError> {
    let mut patch = UserPatch::default();
    if let Some(d) = u.display_name {
        validate::short_text("display_name", &d, 64)?;
        patch.display_name = Some(d);
    }
    if let Some(e) = u.email {
        validate::email(&e)?;
        patch.email = Some(e);
    }
    let changes_password = u.password.is_some();
    if let Some(new_pw) = u.password {
        password::validate(&new_pw).map_err(ApiError::bad)?;
        let current = u
            .current_password
            .ok_or_else(|| ApiError::bad("current_password is required to change the password"))?;
        // A stolen session must not give unthrottled guesses at the password.
        let attempt = begin_password_check(state, &me.username, ip)?;
        if !password::verify(current.clone(), Some(me.password_hash.clone())).await {
            return Err(ApiError::bad("current_password is wrong"));
        }
        state.throttle.succeeded(attempt);
        if me.must_change_password && new_pw == current {
            return Err(ApiError::bad(
                "choose a password other than the current one",
            ));
        }
        patch.password_hash = Some(password::hash(new_pw).await?);
    }
    let updated = state.store.update_user(me.id, patch).await?;
    state.forget_user(me.id).await;
    let user = updated.ok_or_else(|| ApiError::not_found("user"))?;
    if !changes_password {
        return Ok(SelfUpdated {
            user,
            token: None,
            expires_at: None,
        });
    }
    let session = session_for(state, user)?;
    Ok(SelfUpdated {
        user: session.user,
        token: Some(session.token),
        expires_at: Some(session.expires_at),
    })
}

pub async fn logout(state: &AppState, me: &User) -> Result<(), ApiError> {
    let patch = UserPatch {
        bump_session: true,
        ..Default::default()
    };
    state.store.update_user(me.id, patch).await?;
    state.forget_user(me.id).await;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUserUpdate {
    #[schema(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub display_name: Option<String>,
    #[schema(max_length = 254, pattern = r"^(|[^@\s]+@\S*\.\S*)$")]
    pub email: Option<String>,
    #[schema(min_length = 8, max_length = 72)]
    pub password: Option<String>,
    /// 1 (user) or 10 (admin).
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(schema_with = crate::api_schema::role)]
    pub role: Option<i64>,
    /// 1 (enabled) or 2 (disabled).
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(schema_with = crate::api_schema::user_status)]
    pub status: Option<i64>,
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub group: Option<String>,
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub quota: Option<i64>,
    /// Requests per minute for all the user's keys together; 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000)]
    pub rate_limit_per_minute: Option<i64>,
    /// Tokens per minute (prompt estimate + capped output, corrected at settlement); 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub tokens_per_minute: Option<i64>,
    /// Requests in progress at once; 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub max_concurrency: Option<i64>,
    /// Spend per calendar day in quota units (`timezone` option); 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub daily_budget: Option<i64>,
    /// Spend per calendar week (Monday to Sunday); 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub weekly_budget: Option<i64>,
    /// Spend per calendar month; 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub monthly_budget: Option<i64>,
}

impl AdminUserUpdate {
    fn limits(&self) -> Result<crate::store::limits::LimitsPatch, ApiError> {
        let p = crate::store::limits::LimitsPatch {
            rate_limit_per_minute: self.rate_limit_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            max_concurrency: self.max_concurrency,
            daily_budget: self.daily_budget,
            weekly_budget: self.weekly_budget,
            monthly_budget: self.monthly_budget,
        };
        crate::services::limits::fields::check(&p)?;
        Ok(p)
    }
}

/// Only root may grant or remove the admin role; nobody may make a root.
fn check_role_grant(actor: &User, role: i64) -> Result<(), ApiError> {
    match role {
        ROLE_USER => Ok(()),
        ROLE_ADMIN if actor.role >= ROLE_ROOT => Ok(()),
        ROLE_ADMIN => Err(ApiError::forbidden("only root may grant the admin role")),
        ROLE_ROOT => Err(ApiError::forbidden("nobody may make another root user")),
        _ => Err(ApiError::bad("role must be 1 (user) or 10 (admin)")),
    }
}

/// An admin may act on users of strictly lower role, and on itself for harmless fields.
fn check_rank(actor: &User, target: &User) -> Result<(), ApiError> {
    if actor.id != target.id && target.role >= actor.role {
        return Err(ApiError::forbidden(
            "you may not change a user of equal or higher role",
        ));
    }
    Ok(())
}

pub async fn admin_update(
    state: &AppState,
    actor: &User,
    id: i64,
    u: AdminUserUpdate,
) -> Result<User, ApiError> {
    let target = state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    check_rank(actor, &target)?;
    if actor.id == target.id && u.password.is_some() {
        // The self-service endpoint asks for the current password; a stolen session must not skip that.
        return Err(ApiError::forbidden(
            "change your own password with PUT /api/user/self and current_password",
        ));
    }
    let mut patch = UserPatch {
        limits: u.limits()?,
        ..Default::default()
    };
    if let Some(role) = u.role.filter(|r| *r != target.role) {
        if actor.id == target.id {
            return Err(ApiError::forbidden("you may not change your own role"));
        }
        check_role_grant(actor, role)?;
        if target.role == ROLE_ADMIN && actor.role < ROLE_ROOT {
            return Err(ApiError::forbidden("only root may remove the admin role"));
        }
        patch.role = Some(role);
    }
    if let Some(status) = u.status {
        if status != USER_ENABLED && status != USER_DISABLED {
            return Err(ApiError::bad("status must be 1 (enabled) or 2 (disabled)"));
        }
        if actor.id == target.id && status != target.status {
            return Err(ApiError::forbidden("you may not disable yourself"));
        }
        patch.status = Some(status);
    }
    if let Some(q) = u.quota {
        validate::quota("quota", q)?;
        patch.quota = Some(q);
        // Setting the balance replaces what this replica holds of it too.
        state.quota.release(Holder::User(id)).await;
    }
    if let Some(g) = u.group {
        validate::group(&g)?;
        patch.group = Some(g);
    }
    if let Some(d) = u.display_name {
        validate::short_text("display_name", &d, 64)?;
        patch.display_name = Some(d);
    }
    if let Some(e) = u.email {
        validate::email(&e)?;
        patch.email = Some(e);
    }
    if let Some(pw) = u.password {
        password::validate(&pw).map_err(ApiError::bad)?;
        patch.password_hash = Some(password::hash(pw).await?);
    }
    let updated = state.store.update_user(id, patch).await?;
    state.forget_user(id).await;
    updated.ok_or_else(|| ApiError::not_found("user"))
}

pub async fn admin_delete(state: &AppState, actor: &User, id: i64) -> Result<(), ApiError> {
    let target = state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if actor.id == target.id {
        return Err(ApiError::forbidden("you may not delete yourself"));
    }
    check_rank(actor, &target)?;
    state.store.delete_user(id).await?;
    state.forget_user(id).await;
    Ok(())
}

//! The session extractor: a valid JWT whose session version and user status still hold.

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{User, ROLE_ADMIN, ROLE_ROOT, USER_ENABLED};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

/// The logged-in caller of an `/api` endpoint.
pub struct Session {
    pub user: User,
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("state missing")))?;
            let token = token.ok_or_else(|| ApiError::Unauthorized("not logged in".into()))?;
            let (user_id, claims) = state
                .jwt
                .verify(&token)
                .ok_or_else(|| ApiError::Unauthorized("invalid or expired session".into()))?;
            // Read fresh, after the settlement writer has caught up: a user who reads their
            // balance or logs sees every request that has already answered.
            let steady = state.quota.steady().await;
            let user = state
                .store
                .user_by_id(user_id)
                .await?
                .map(|u| state.quota.show_user(u))
                .ok_or_else(|| ApiError::Unauthorized("invalid or expired session".into()))?;
            drop(steady);
            if user.session_version != claims.sv {
                return Err(ApiError::Unauthorized(
                    "session has been revoked; log in again".into(),
                ));
            }
            if user.status != USER_ENABLED {
                return Err(ApiError::Forbidden("user is disabled".into()));
            }
            Ok(Session { user })
        })
    }
}

impl Session {
    /// Admin (role >= 10) who has changed the default password.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.role < ROLE_ADMIN {
            return Err(ApiError::forbidden("admin access required"));
        }
        self.require_password_changed()
    }

    pub fn require_root(&self) -> Result<(), ApiError> {
        if self.user.role < ROLE_ROOT {
            return Err(ApiError::forbidden("root access required"));
        }
        self.require_password_changed()
    }

    fn require_password_changed(&self) -> Result<(), ApiError> {
        if self.user.must_change_password {
            return Err(ApiError::forbidden(
                "you must change the default password first: PUT /api/user/self with current_password and password",
            ));
        }
        Ok(())
    }
}

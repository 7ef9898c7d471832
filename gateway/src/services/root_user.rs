//! The root user `admin`: created on an empty database, and recovered from the command
//! line when its password is lost (`gateway reset-admin-password`).

use crate::auth::password;
use crate::state::AppState;
use crate::store::users::{NewUser, UserPatch};
use crate::store::{DbError, Store, ROLE_ROOT};

pub const ROOT_USERNAME: &str = "admin";
/// Long enough to resist guessing over the network, short enough to type once.
const GENERATED_PASSWORD_LEN: usize = 20;

fn generate_password() -> String {
    crate::auth::random_string(GENERATED_PASSWORD_LEN)
}

/// Creates `admin` on an empty database. Without `INITIAL_ADMIN_PASSWORD` the password is
/// random, must be changed at first login, and is logged once at WARN (the one secret the
/// gateway ever logs: the operator has no other way to learn it). Returns that generated
/// password when this call created the user; `None` when a user already existed, another
/// replica won the race, or the operator chose the password.
pub async fn seed(state: &AppState) -> anyhow::Result<Option<String>> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let (pw, generated) = match &state.settings.initial_admin_password {
        Some(p) => (p.clone(), false),
        None => (generate_password(), true),
    };
    let new = NewUser {
        username: ROOT_USERNAME.into(),
        password_hash: password::hash(pw.clone()).await?,
        display_name: "Root User".into(),
        email: String::new(),
        role: ROLE_ROOT,
        group: "default".into(),
        quota: 0,
        must_change_password: generated,
    };
    // Replicas starting together on one database all see zero users; the unique
    // username lets exactly one insert succeed, and only that one prints a password.
    match state.store.create_user(new).await {
        Ok(_) => {}
        Err(DbError::Unique) => {
            log::info!("root user '{ROOT_USERNAME}' was created by another replica");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    if generated {
        log::warn!(
            "created root user '{ROOT_USERNAME}'; it must change its password at first login"
        );
        log::warn!("initial admin password: {pw}");
        Ok(Some(pw))
    } else {
        log::info!("created root user '{ROOT_USERNAME}' with INITIAL_ADMIN_PASSWORD");
        Ok(None)
    }
}

/// Gives `admin` a new random password that must be changed at the next login, and ends
/// its sessions (running replicas notice within `USER_CACHE_TTL`). Returns the password.
pub async fn reset_password(store: &dyn Store) -> anyhow::Result<String> {
    let user = store
        .user_by_username(ROOT_USERNAME)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "this database has no user '{ROOT_USERNAME}'; start the gateway once to create it"
            )
        })?;
    let pw = generate_password();
    let patch = UserPatch {
        password_hash: Some(password::hash(pw.clone()).await?),
        must_change_password: Some(true),
        status: Some(crate::store::USER_ENABLED),
        bump_session: true,
        ..Default::default()
    };
    store
        .update_user(user.id, patch)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user '{ROOT_USERNAME}' vanished during the reset"))?;
    Ok(pw)
}

/// `gateway reset-admin-password`: connects with the gateway's own settings, resets,
/// and prints the new password on stdout.
pub async fn reset_password_command(settings: &crate::settings::Settings) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = crate::store::connect(settings).await?;
    let pw = reset_password(store.as_ref()).await?;
    println!("new admin password: {pw}");
    println!(
        "Sign in as '{ROOT_USERNAME}' with it; the gateway asks for a new password right away. \
         Existing sessions of '{ROOT_USERNAME}' have ended."
    );
    Ok(())
}

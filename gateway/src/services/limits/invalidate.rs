//! Cache invalidation over Redis pub/sub: a key, user or channel changed on one replica is
//! dropped from every replica's cache at once instead of after the cache's 5 seconds. This is
//! the listening side; `Counters::publish` sends.

use crate::state::AppState;
use actix_web::web;
use futures_util::StreamExt;
use std::time::Duration;

/// Listens for invalidations until the gateway stops; reconnects after a failure.
pub fn spawn_listener(state: web::Data<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    let client = state.limits.client()?.clone();
    let name = state.limits.invalidation_channel();
    Some(tokio::spawn(async move {
        loop {
            match client.get_async_pubsub().await {
                Ok(mut ps) => {
                    if ps.subscribe(&name).await.is_ok() {
                        // Subscribed first, so no cool-down falls between the two.
                        if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                            super::channel_events::load(&state, &mut conn).await;
                        }
                        let mut messages = ps.on_message();
                        while let Some(m) = messages.next().await {
                            if let Ok(text) = m.get_payload::<String>() {
                                apply(&state, &text).await;
                            }
                        }
                    }
                }
                Err(e) => log::debug!("redis pub/sub not connected: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

/// Runs the counters' probe every second until the gateway stops.
pub fn spawn_probe(state: web::Data<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    state.limits.client()?;
    Some(tokio::spawn(async move {
        let mut tick = 0u64;
        loop {
            state.limits.probe(tick).await;
            tick = tick.wrapping_add(1);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

async fn apply(state: &AppState, message: &str) {
    match message.split_once(':') {
        Some(("token", hash)) => state.tokens.invalidate(hash),
        Some(("user", id)) => {
            if let Ok(id) = id.parse::<i64>() {
                state.users.invalidate(&id);
            }
        }
        Some(("cool" | "ok", _)) => super::channel_events::apply(state, message),
        _ if message == "channels" => state.forget_channels_here(),
        _ if message == "options" => {
            if let Err(e) = state.options.refresh().await {
                log::warn!("could not re-read options after another replica changed them: {e}");
            }
        }
        _ => {}
    }
}

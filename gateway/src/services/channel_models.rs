//! "Fetch models": asks a channel's provider which models it serves, through the same
//! guarded client (and relay) as real requests. The stored channel is not changed; the
//! console merges the list into the form and the admin saves.

use super::channels::normalise_base_url;
use super::model_list::{self, ListTarget};
use crate::error::ApiError;
use crate::providers::Provider;
use crate::state::AppState;
use crate::store::{Channel, ChannelType};
use crate::upstream::UpstreamClient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Either a saved channel (`id`, its stored key unless `key` is given) or a channel
/// being created (`type`, `key`, optional `base_url`). Given fields override stored ones.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchModelsBody {
    pub id: Option<i64>,
    #[serde(rename = "type")]
    #[schema(schema_with = crate::api_schema::channel_type)]
    pub channel_type: Option<i64>,
    pub base_url: Option<String>,
    pub key: Option<String>,
    pub api_version: Option<String>,
    pub use_relay: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FetchedModels {
    pub models: Vec<String>,
}

/// Pages read at most: a provider that keeps answering "more" cannot keep us busy.
const MAX_PAGES: usize = 20;
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

struct Resolved {
    provider: Provider,
    base_url: String,
    key: String,
    api_version: String,
    via_relay: bool,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn resolve(
    state: &AppState,
    client: &UpstreamClient,
    b: FetchModelsBody,
    stored: Option<&Channel>,
) -> Result<Resolved, ApiError> {
    let channel_type = match (b.channel_type, stored) {
        (Some(n), _) => ChannelType::from_number(n).ok_or_else(|| ApiError::bad("unknown type"))?,
        (None, Some(c)) => c.channel_type,
        (None, None) => {
            return Err(ApiError::bad(
                "type is required (or the id of a saved channel)",
            ))
        }
    };
    let provider = Provider::of(channel_type);
    if provider == Provider::Azure {
        return Err(ApiError::bad(
            "Azure OpenAI has no model list to copy: enter your deployment names",
        ));
    }
    let base_url = match nonempty(b.base_url) {
        Some(u) => normalise_base_url(&u)?,
        None => match stored {
            Some(c) if c.channel_type == channel_type => c.base_url.clone(),
            _ => channel_type
                .default_base_url()
                .ok_or_else(|| ApiError::bad("base_url is required for this channel type"))?
                .to_string(),
        },
    };
    let key = match (nonempty(b.key), stored) {
        (Some(k), _) => k,
        (None, Some(c)) => state
            .secret_box
            .open(&c.key_ciphertext)
            .map_err(|_| ApiError::bad("the stored key cannot be decrypted: enter the key again"))?
            .to_string(),
        (None, None) => return Err(ApiError::bad("key is required")),
    };
    let api_version = nonempty(b.api_version)
        .or_else(|| stored.map(|c| c.api_version.clone()))
        .unwrap_or_default();
    let via_relay = b
        .use_relay
        .or(stored.and_then(|c| c.use_relay))
        .unwrap_or(client.relay_configured());
    if via_relay && !client.relay_configured() {
        return Err(ApiError::bad(
            "the channel uses the relay, which is not configured (RELAY_PROXY_URL)",
        ));
    }
    Ok(Resolved {
        provider,
        base_url,
        key,
        api_version,
        via_relay,
    })
}

/// Upstream text may quote what it was sent; the key never goes back to the browser.
fn scrub(text: &str, key: &str) -> String {
    if key.len() < 4 {
        return text.to_string();
    }
    text.replace(key, "[redacted]")
}

pub async fn fetch(
    state: &AppState,
    client: &UpstreamClient,
    body: FetchModelsBody,
) -> Result<FetchedModels, ApiError> {
    let stored = match body.id {
        Some(id) => Some(
            state
                .store
                .channel_by_id(id)
                .await?
                .ok_or_else(|| ApiError::not_found("channel"))?,
        ),
        None => None,
    };
    let r = resolve(state, client, body, stored.as_ref())?;
    let target = ListTarget {
        provider: r.provider,
        base_url: &r.base_url,
        key: &r.key,
        api_version: &r.api_version,
    };
    let mut models = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = fetch_page(client, &target, cursor.as_deref(), r.via_relay)
            .await
            .map_err(|e| ApiError::bad(scrub(&e, &r.key)))?;
        models.extend(page.models);
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    Ok(FetchedModels {
        models: models.into_iter().collect(),
    })
}

async fn fetch_page(
    client: &UpstreamClient,
    t: &ListTarget<'_>,
    cursor: Option<&str>,
    via_relay: bool,
) -> Result<model_list::ListPage, String> {
    let req = model_list::request(t, cursor).ok_or("this channel type has no model list")?;
    let res = client
        .send(req, via_relay, "")
        .await
        .map_err(|e| e.describe())?;
    let status = res.status;
    let raw = res
        .read_all(MAX_PAGE_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        let message = t.provider.error_message(&raw);
        return Err(format!(
            "the upstream answered {} to the model list request: {message}",
            status.as_u16()
        ));
    }
    model_list::parse(t.provider, &raw)
}

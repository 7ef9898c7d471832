//! Channel management: validation, defaults per provider type and key encryption.

use crate::error::ApiError;
use crate::services::validate::{self, double_option, StringList};
use crate::state::AppState;
use crate::store::channels::ChannelFields;
use crate::store::{
    Channel, ChannelType, CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED, CHANNEL_MANUALLY_DISABLED,
};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// Required on create: 1 OpenAI, 3 Azure OpenAI, 14 Anthropic, 24 Gemini, 99 OpenAI-compatible.
    #[serde(rename = "type", default, deserialize_with = "validate::opt_int")]
    #[schema(schema_with = crate::api_schema::channel_type)]
    pub channel_type: Option<i64>,
    /// Required on create.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*\S[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// The provider key; required on create, empty on update keeps the current one.
    #[schema(max_length = 4096)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    /// Required on create; a comma-separated string is accepted too.
    #[schema(schema_with = crate::api_schema::name_list)]
    pub models: Option<StringList>,
    pub model_mapping: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = -1_000_000, maximum = 1_000_000)]
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub weight: Option<i64>,
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    pub group: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<bool>)]
    pub use_relay: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 32)]
    pub api_version: Option<Option<String>>,
    /// Type 99 only: the upstream serves `/v1/responses` (pass-through instead of chat).
    pub responses_api: Option<bool>,
    /// 1 enabled, 2 disabled by hand, 3 disabled automatically.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(schema_with = crate::api_schema::channel_status)]
    pub status: Option<i64>,
}

/// Normalises a base URL to the server root: trailing `/` and `/v1` are dropped.
pub(crate) fn normalise_base_url(raw: &str) -> Result<String, ApiError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let parsed =
        url::Url::parse(trimmed).map_err(|_| ApiError::bad("base_url is not an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::bad("base_url must be an http(s) URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::bad(
            "base_url must not contain credentials; use key",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(ApiError::bad(
            "base_url must not contain a query or fragment",
        ));
    }
    Ok(trimmed.to_string())
}

fn key_preview(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "****".into();
    }
    chars[chars.len() - 4..].iter().collect()
}

/// Builds the full field set from a body, on top of `current` for updates.
pub fn build(
    state: &AppState,
    b: ChannelBody,
    current: Option<&Channel>,
) -> Result<ChannelFields, ApiError> {
    let channel_type = match (b.channel_type, current) {
        (Some(n), _) => ChannelType::from_number(n).ok_or_else(|| ApiError::bad("type must be 1 (OpenAI), 3 (Azure OpenAI), 14 (Anthropic), 24 (Gemini) or 99 (OpenAI-compatible)"))?,
        (None, Some(c)) => c.channel_type,
        (None, None) => return Err(ApiError::bad("type is required")),
    };
    let name = b
        .name
        .or(current.map(|c| c.name.clone()))
        .unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::bad("name is required"));
    }
    validate::short_text("name", &name, 64)?;
    // On update an empty key means "keep it": new-api's edit form sends the field blank.
    let new_key = b
        .key
        .map(|k| k.trim().to_string())
        .filter(|k| !(k.is_empty() && current.is_some()));
    let (key_ciphertext, key_preview) = match new_key {
        Some(k) if k.is_empty() => return Err(ApiError::bad("key must not be empty")),
        Some(k) if k.len() > 4096 => return Err(ApiError::bad("key is too long")),
        Some(k) => (state.secret_box.seal(&k)?, key_preview(&k)),
        None => match current {
            Some(c) => (c.key_ciphertext.clone(), c.key_preview.clone()),
            None => return Err(ApiError::bad("key is required")),
        },
    };
    let base_url = match b.base_url {
        Some(Some(u)) if !u.trim().is_empty() => normalise_base_url(&u)?,
        Some(_) => String::new(),
        None => current.map(|c| c.base_url.clone()).unwrap_or_default(),
    };
    let base_url = if base_url.is_empty() {
        channel_type
            .default_base_url()
            .ok_or_else(|| ApiError::bad("base_url is required for this channel type"))?
            .to_string()
    } else {
        base_url
    };
    let models = match b.models {
        Some(m) => m.0,
        None => current.map(|c| c.models.clone()).unwrap_or_default(),
    };
    if models.is_empty() {
        return Err(ApiError::bad("models must list at least one model"));
    }
    for m in &models {
        validate::short_text("model name", m, 128)?;
    }
    let model_mapping = b
        .model_mapping
        .or(current.map(|c| c.model_mapping.clone()))
        .unwrap_or_default();
    for (from, to) in &model_mapping {
        if from.is_empty() || to.trim().is_empty() {
            return Err(ApiError::bad(
                "model_mapping entries must map a name to a non-empty name",
            ));
        }
        validate::short_text("model_mapping", from, 128)?;
        validate::short_text("model_mapping", to, 128)?;
    }
    let priority = b.priority.or(current.map(|c| c.priority)).unwrap_or(0);
    if !(-1_000_000..=1_000_000).contains(&priority) {
        return Err(ApiError::bad(
            "priority must be between -1000000 and 1000000",
        ));
    }
    let weight = b.weight.or(current.map(|c| c.weight)).unwrap_or(1);
    if !(0..=1_000_000).contains(&weight) {
        return Err(ApiError::bad("weight must be between 0 and 1000000"));
    }
    let group = b
        .group
        .or(current.map(|c| c.group.clone()))
        .unwrap_or_else(|| "default".into());
    validate::group(&group)?;
    let use_relay = match b.use_relay {
        Some(v) => v,
        None => current.and_then(|c| c.use_relay),
    };
    let api_version = match b.api_version {
        Some(v) => v.unwrap_or_default(),
        None => current.map(|c| c.api_version.clone()).unwrap_or_default(),
    };
    validate::short_text("api_version", &api_version, 32)?;
    // Kept on update unless the type changes away from 99.
    let responses_api = match b.responses_api {
        Some(v) => v,
        None => {
            current.is_some_and(|c| c.responses_api)
                && channel_type == ChannelType::OpenAiCompatible
        }
    };
    if responses_api && channel_type != ChannelType::OpenAiCompatible {
        return Err(ApiError::bad(
            "responses_api applies to OpenAI-compatible (type 99) channels only; \
             OpenAI and Azure channels always serve /v1/responses",
        ));
    }
    let status = b
        .status
        .or(current.map(|c| c.status))
        .unwrap_or(CHANNEL_ENABLED);
    if ![
        CHANNEL_ENABLED,
        CHANNEL_MANUALLY_DISABLED,
        CHANNEL_AUTO_DISABLED,
    ]
    .contains(&status)
    {
        return Err(ApiError::bad(
            "status must be 1 (enabled), 2 (disabled) or 3 (auto-disabled)",
        ));
    }
    Ok(ChannelFields {
        channel_type,
        name,
        base_url,
        key_ciphertext,
        key_preview,
        models,
        model_mapping,
        priority,
        weight,
        status,
        group,
        use_relay,
        api_version,
        responses_api,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_normalised_to_the_server_root() {
        assert_eq!(
            normalise_base_url("https://x.example/v1/").unwrap(),
            "https://x.example"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8000").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert!(normalise_base_url("ftp://x").is_err());
        assert!(normalise_base_url("https://u:p@x.example").is_err());
    }

    #[test]
    fn preview_shows_only_the_last_four() {
        assert_eq!(key_preview("sk-abcdefghijklmnop"), "mnop");
        assert_eq!(key_preview("short"), "****");
    }
}

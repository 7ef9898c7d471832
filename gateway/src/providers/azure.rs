//! Azure OpenAI: deployment URLs with `api-version`, key in `api-key`; bodies as OpenAI.

use super::{openai, Endpoint, Target};
use crate::upstream::names;
use crate::upstream::UpstreamRequest;
use crate::v1_core::error::V1Error;
use actix_web::http::Method;

/// The Azure OpenAI data-plane version used when a channel does not name one.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// Azure deployment names cannot contain dots (`gpt-3.5-turbo` → `gpt-35-turbo`).
pub fn deployment_name(model: &str) -> String {
    model.replace('.', "")
}

pub fn build(
    t: &Target<'_>,
    ep: Endpoint,
    body: openai::Body<'_>,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    let version = if t.channel.api_version.is_empty() {
        DEFAULT_API_VERSION
    } else {
        t.channel.api_version.as_str()
    };
    let deployment: String =
        url::form_urlencoded::byte_serialize(deployment_name(t.upstream_model).as_bytes())
            .collect();
    let version: String = url::form_urlencoded::byte_serialize(version.as_bytes()).collect();
    Ok(UpstreamRequest {
        method: Method::POST,
        url: format!(
            "{}/openai/deployments/{deployment}/{}?api-version={version}",
            t.channel.base_url,
            ep.openai_path()
        ),
        headers: vec![
            (names::API_KEY, t.key.to_string().into()),
            (names::CONTENT_TYPE, "application/json".into()),
            (
                names::ACCEPT,
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }
                .into(),
            ),
        ],
        body: openai::prepare_body(t, body, stream)?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn deployment_names_drop_dots() {
        assert_eq!(super::deployment_name("gpt-3.5-turbo"), "gpt-35-turbo");
        assert_eq!(super::deployment_name("gpt-4o"), "gpt-4o");
    }
}

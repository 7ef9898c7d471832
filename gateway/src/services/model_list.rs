//! Each provider's model-list API: the request for one page and what a page says.
//! Pure functions, so the URL and header shapes are unit-tested without a server.

use crate::providers::Provider;
use crate::upstream::names;
use crate::upstream::{HeaderText, UpstreamRequest};
use actix_web::http::header::HeaderName;
use actix_web::http::Method;
use bytes::Bytes;
use serde::Deserialize;

/// Where to ask and with which credentials.
pub struct ListTarget<'a> {
    pub provider: Provider,
    pub base_url: &'a str,
    pub key: &'a str,
    /// Gemini's API version (`v1beta` when empty).
    pub api_version: &'a str,
}

/// One page of model names and the cursor of the next page, if any.
#[derive(Debug, Default, PartialEq)]
pub struct ListPage {
    pub models: Vec<String>,
    pub next: Option<String>,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The request for the page after `cursor` (the first page when `None`). The key goes in
/// a header for every provider, never in the URL, so no error text can carry it.
pub fn request(t: &ListTarget<'_>, cursor: Option<&str>) -> Option<UpstreamRequest> {
    let base = t.base_url.trim_end_matches('/');
    let (url, headers): (String, Vec<(HeaderName, HeaderText)>) = match t.provider {
        Provider::OpenAi | Provider::Custom => (
            format!("{base}/v1/models"),
            vec![(names::AUTHORIZATION, format!("Bearer {}", t.key).into())],
        ),
        Provider::Anthropic => {
            let mut url = format!("{base}/v1/models?limit=1000");
            if let Some(c) = cursor {
                url.push_str(&format!("&after_id={}", encode(c)));
            }
            (
                url,
                vec![
                    (names::X_API_KEY, t.key.to_string().into()),
                    (
                        names::ANTHROPIC_VERSION,
                        shared::anthropic::API_VERSION.into(),
                    ),
                ],
            )
        }
        Provider::Gemini => {
            let version = if t.api_version.is_empty() {
                "v1beta"
            } else {
                t.api_version
            };
            let mut url = format!("{base}/{}/models?pageSize=1000", encode(version));
            if let Some(c) = cursor {
                url.push_str(&format!("&pageToken={}", encode(c)));
            }
            (url, vec![(names::X_GOOG_API_KEY, t.key.to_string().into())])
        }
        // Azure serves deployments the operator named; there is no list to copy.
        Provider::Azure => return None,
    };
    let mut headers = headers;
    headers.push((names::ACCEPT, "application/json".into()));
    Some(UpstreamRequest {
        method: Method::GET,
        url,
        headers,
        body: Bytes::new(),
    })
}

#[derive(Deserialize)]
struct IdItem {
    id: String,
}

#[derive(Deserialize)]
struct OpenAiList {
    data: Vec<IdItem>,
}

#[derive(Deserialize)]
struct AnthropicList {
    data: Vec<IdItem>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct GeminiModel {
    name: String,
    #[serde(default, rename = "supportedGenerationMethods")]
    methods: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct GeminiList {
    #[serde(default)]
    models: Vec<GeminiModel>,
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

/// Reads one page; `Err` says what was wrong with the body.
pub fn parse(provider: Provider, raw: &[u8]) -> Result<ListPage, String> {
    let bad = |e: serde_json::Error| format!("the upstream's model list could not be read: {e}");
    match provider {
        Provider::OpenAi | Provider::Custom | Provider::Azure => {
            let l: OpenAiList = serde_json::from_slice(raw).map_err(bad)?;
            Ok(ListPage {
                models: l.data.into_iter().map(|m| m.id).collect(),
                next: None,
            })
        }
        Provider::Anthropic => {
            let l: AnthropicList = serde_json::from_slice(raw).map_err(bad)?;
            Ok(ListPage {
                models: l.data.into_iter().map(|m| m.id).collect(),
                next: l.last_id.filter(|_| l.has_more),
            })
        }
        Provider::Gemini => {
            let l: GeminiList = serde_json::from_slice(raw).map_err(bad)?;
            // Only models that chat or embed are useful as channel models.
            let usable = |m: &GeminiModel| {
                m.methods.as_ref().is_none_or(|ms| {
                    ms.iter()
                        .any(|x| x == "generateContent" || x == "embedContent")
                })
            };
            Ok(ListPage {
                models: l
                    .models
                    .iter()
                    .filter(|m| usable(m))
                    .map(|m| m.name.trim_start_matches("models/").to_string())
                    .collect(),
                next: l.next_page_token.filter(|t| !t.is_empty()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(provider: Provider) -> ListTarget<'static> {
        ListTarget {
            provider,
            base_url: "https://up.example/",
            key: "sk-secret-1234",
            api_version: "",
        }
    }

    #[test]
    fn keys_travel_in_headers_and_never_in_urls() {
        for p in [
            Provider::OpenAi,
            Provider::Custom,
            Provider::Anthropic,
            Provider::Gemini,
        ] {
            let r = request(&target(p), Some("cur")).expect("listable");
            assert!(!r.url.contains("sk-secret"), "{}", r.url);
            assert!(r.headers.iter().any(|(_, v)| v.contains("sk-secret-1234")));
        }
        assert!(request(&target(Provider::Azure), None).is_none());
    }

    #[test]
    fn each_provider_uses_its_own_path_and_cursor() {
        assert_eq!(
            request(&target(Provider::OpenAi), None).expect("req").url,
            "https://up.example/v1/models"
        );
        let a = request(&target(Provider::Anthropic), Some("m 1")).expect("req");
        assert_eq!(
            a.url,
            "https://up.example/v1/models?limit=1000&after_id=m+1"
        );
        assert!(a.headers.iter().any(|(n, _)| *n == "anthropic-version"));
        assert_eq!(
            request(&target(Provider::Gemini), Some("t"))
                .expect("req")
                .url,
            "https://up.example/v1beta/models?pageSize=1000&pageToken=t"
        );
    }

    #[test]
    fn pages_are_read_with_their_cursors() {
        let a = br#"{"data":[{"id":"claude-x"}],"has_more":true,"last_id":"claude-x"}"#;
        assert_eq!(
            parse(Provider::Anthropic, a).expect("page"),
            ListPage {
                models: vec!["claude-x".into()],
                next: Some("claude-x".into())
            }
        );
        let g = br#"{"models":[{"name":"models/gemini-pro","supportedGenerationMethods":["generateContent"]},
            {"name":"models/aqa","supportedGenerationMethods":["generateAnswer"]}]}"#;
        assert_eq!(
            parse(Provider::Gemini, g).expect("page").models,
            vec!["gemini-pro".to_string()]
        );
        assert!(parse(Provider::OpenAi, b"<html>").is_err());
    }
}

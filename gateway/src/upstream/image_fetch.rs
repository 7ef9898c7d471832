//! Fetching images that clients reference by URL, for providers that need them inline
//! (Gemini). The URL comes from the client, so it goes through the same guard as the
//! relay: public addresses only (checked on the address actually connected to), no
//! credentials or fragments in the URL, no redirects, and caps on size and time.

use base64::Engine;
use futures_util::StreamExt;
use shared::guarded_connector::GuardedConnector;
use shared::ip_guard::{parse_target_url, UrlPolicy};
use std::time::Duration;

pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

pub struct ImageFetcher {
    client: awc::Client,
    policy: UrlPolicy,
}

impl ImageFetcher {
    pub fn new(allow_private: bool) -> Self {
        let policy = UrlPolicy {
            allow_http: true,
            allow_private,
        };
        let connector = awc::Connector::new()
            .connector(GuardedConnector::new(policy))
            .timeout(Duration::from_secs(5))
            .handshake_timeout(Duration::from_secs(5))
            .limit(256);
        let client = awc::Client::builder()
            .connector(connector)
            .disable_redirects()
            .disable_timeout()
            .no_default_headers()
            .finish();
        ImageFetcher { client, policy }
    }

    /// Returns (mime type, base64 data), or a message fit for a 400 answer.
    pub async fn fetch(&self, url: &str) -> Result<(String, String), String> {
        let refused = |why: &str| format!("image URL {}: {why}", shorten(url));
        parse_target_url(url, self.policy).map_err(|e| refused(&e.to_string()))?;
        let work = async {
            let res = self
                .client
                .get(url)
                .insert_header(("accept", "image/*"))
                .timeout(FETCH_TIMEOUT)
                .send()
                .await
                .map_err(|e| refused(&format!("could not be fetched ({e})")))?;
            if !res.status().is_success() {
                return Err(refused(&format!("answered {}", res.status().as_u16())));
            }
            let mime = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
                .unwrap_or_default();
            if !mime.starts_with("image/") {
                return Err(refused("is not an image"));
            }
            let mut body = res;
            let mut data = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| refused(&format!("broke off ({e})")))?;
                if data.len() + chunk.len() > MAX_IMAGE_BYTES {
                    return Err(refused("is larger than 10 MiB"));
                }
                data.extend_from_slice(&chunk);
            }
            Ok((mime, base64::engine::general_purpose::STANDARD.encode(data)))
        };
        tokio::time::timeout(FETCH_TIMEOUT, work)
            .await
            .map_err(|_| refused("took too long"))?
    }
}

fn shorten(url: &str) -> String {
    let cut: String = url.chars().take(80).collect();
    if cut.len() < url.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

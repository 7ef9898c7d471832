//! Calling upstream providers: directly, or through the relay (see `shared::relay_protocol`).

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use bytes::Bytes;
use futures_util::stream::LocalBoxStream;
use futures_util::StreamExt;
use shared::guarded_connector::GuardedConnector;
use shared::ip_guard::UrlPolicy;
use shared::relay_protocol as rp;
use std::time::Duration;

/// The wait some OpenAI-compatible servers announce in milliseconds.
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");

/// The header names providers send, ready to insert (a `&str` name is parsed per use).
pub mod names {
    use actix_web::http::header::{self, HeaderName};
    pub const AUTHORIZATION: HeaderName = header::AUTHORIZATION;
    pub const CONTENT_TYPE: HeaderName = header::CONTENT_TYPE;
    pub const ACCEPT: HeaderName = header::ACCEPT;
    pub const API_KEY: HeaderName = HeaderName::from_static("api-key");
    pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
    pub const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
    pub const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");
    pub const X_GOOG_API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");
    pub(super) const REQUEST_ID: HeaderName =
        HeaderName::from_static(shared::relay_protocol::HEADER_REQUEST_ID);
}

/// A provider request, ready to send.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(HeaderName, HeaderText)>,
    pub body: Bytes,
}

/// A header's value as a provider builds it: the constant ones (content types, API
/// versions) are sent as they are, without an allocation and a byte-by-byte check per
/// request; the rest (keys, forwarded headers) are checked when sent.
pub type HeaderText = std::borrow::Cow<'static, str>;

pub type BodyStream = LocalBoxStream<'static, Result<Bytes, String>>;

pub struct UpstreamResponse {
    pub status: StatusCode,
    pub content_type: String,
    /// The upstream's `Retry-After` (or `retry-after-ms`), in milliseconds.
    pub retry_after_ms: Option<i64>,
    /// The declared `Content-Length`, which `read_all` holds the body to.
    pub content_length: Option<u64>,
    pub body: BodyStream,
}

/// Why a whole body could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection broke, or closed (even cleanly) before the declared length: the
    /// answer is incomplete, however well-formed its start may look.
    CutOff(String),
    TooLarge(usize),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::CutOff(why) => write!(f, "upstream body cut off: {why}"),
            ReadError::TooLarge(limit) => write!(f, "upstream body larger than {limit} bytes"),
        }
    }
}

impl UpstreamResponse {
    /// Reads the whole body, refusing more than `limit` bytes and a body shorter than its
    /// `Content-Length` (awc ends such a body quietly when the peer closes cleanly).
    pub async fn read_all(mut self, limit: usize) -> Result<Bytes, ReadError> {
        let mut body = crate::util::Gathered::default();
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk.map_err(ReadError::CutOff)?;
            if body.len() + chunk.len() > limit {
                return Err(ReadError::TooLarge(limit));
            }
            body.push(chunk);
        }
        match self.content_length {
            Some(declared) if declared != body.len() as u64 => Err(ReadError::CutOff(format!(
                "the connection closed after {} of {declared} bytes",
                body.len()
            ))),
            _ => Ok(body.finish()),
        }
    }
}

#[derive(Clone)]
struct RelayConfig {
    url: String,
    key: String,
}

pub mod image_fetch;
mod send_error;
pub use send_error::SendError;

/// One per worker thread (awc clients are not `Send`).
pub struct UpstreamClient {
    client: awc::Client,
    pub images: image_fetch::ImageFetcher,
    relay: Option<RelayConfig>,
    head_timeout: Duration,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Channels are configured by admins and often point at private servers (vLLM, Ollama),
/// so provider calls may reach any address; client-supplied URLs use a strict policy.
const CHANNEL_POLICY: UrlPolicy = UrlPolicy {
    allow_http: true,
    allow_private: true,
};

impl UpstreamClient {
    pub fn new(settings: &crate::settings::Settings) -> Self {
        let connector = awc::Connector::new()
            .connector(GuardedConnector::new(CHANNEL_POLICY))
            .timeout(CONNECT_TIMEOUT)
            .handshake_timeout(CONNECT_TIMEOUT)
            .limit(0)
            .conn_keep_alive(Duration::from_secs(60));
        let client = awc::Client::builder()
            .connector(connector)
            .disable_redirects()
            .disable_timeout()
            .no_default_headers()
            .finish();
        let relay = match (&settings.relay_proxy_url, &settings.relay_proxy_key) {
            (Some(url), Some(key)) => Some(RelayConfig {
                url: url.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        UpstreamClient {
            client,
            images: image_fetch::ImageFetcher::new(settings.image_fetch_allow_private),
            relay,
            head_timeout: Duration::from_secs(settings.upstream_timeout_secs),
        }
    }

    /// `None` when no relay is configured, else whether its `/health` answered 2xx.
    pub async fn relay_health(&self) -> Option<bool> {
        let relay = self.relay.as_ref()?;
        let res = self
            .client
            .get(format!("{}/health", relay.url))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        Some(res.is_ok_and(|r| r.status().is_success()))
    }

    pub fn relay_configured(&self) -> bool {
        self.relay.is_some()
    }

    /// Sends the request and waits for the response head.
    pub async fn send(
        &self,
        req: UpstreamRequest,
        via_relay: bool,
        request_id: &str,
    ) -> Result<UpstreamResponse, SendError> {
        let relay = if via_relay { self.relay.clone() } else { None };
        let mut builder = match &relay {
            Some(r) => self
                .client
                .request(req.method.clone(), format!("{}{}", r.url, rp::PROXY_PATH))
                .insert_header((rp::HEADER_PROXY_KEY, r.key.as_str()))
                .insert_header((rp::HEADER_TARGET_URL, req.url.as_str())),
            None => self.client.request(req.method.clone(), req.url.as_str()),
        };
        builder = builder.timeout(self.head_timeout);
        // Inserted in place: each `insert_header` moves the whole builder and parses the
        // name again.
        let headers = builder.headers_mut();
        if let Some(v) = Some(request_id)
            .filter(|id| !id.is_empty())
            .and_then(|id| HeaderValue::from_str(id).ok())
        {
            headers.insert(names::REQUEST_ID, v);
        }
        for (name, value) in req.headers {
            let value = match value {
                HeaderText::Borrowed(constant) => Ok(HeaderValue::from_static(constant)),
                HeaderText::Owned(text) => HeaderValue::try_from(text),
            };
            let Ok(value) = value else {
                let host = host_of(&req.url);
                return Err(SendError::Failed {
                    cause: "upstream request failed",
                    detail: format!("{host}: the {name} header's value cannot be sent"),
                });
            };
            headers.insert(name, value);
        }
        let res = builder
            .send_body(req.body)
            .await
            .map_err(|e| match &relay {
                Some(r) => match send_error::classify(&e, &host_of(&r.url)) {
                    SendError::Failed { cause, detail } => {
                        SendError::RelayUnreachable { cause, detail }
                    }
                    other => other,
                },
                None => send_error::classify(&e, &host_of(&req.url)),
            })?;
        let status = res.status();
        if relay.is_some() {
            if let Some(code) = res.headers().get(rp::HEADER_RELAY_ERROR) {
                let code = code.to_str().unwrap_or("relay_error").to_string();
                let message = relay_message(res).await;
                return Err(SendError::Relay {
                    status,
                    code,
                    message,
                });
            }
        }
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let seconds = |name: &HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        // Only a failure's wait matters (it sets the key's or channel's cool-down).
        let retry_after_ms = if status.is_success() {
            None
        } else {
            seconds(&RETRY_AFTER_MS)
                .or_else(|| seconds(&header::RETRY_AFTER).map(|s| s * 1000.0))
                .map(|ms| ms.min(86_400_000.0) as i64)
        };
        // With chunked framing the length header means nothing (RFC 9112 §6.3).
        let content_length = res
            .headers()
            .get(header::CONTENT_LENGTH)
            .filter(|_| !res.headers().contains_key(header::TRANSFER_ENCODING))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = res.map(|r| r.map_err(|e| e.to_string())).boxed_local();
        Ok(UpstreamResponse {
            status,
            content_type,
            retry_after_ms,
            content_length,
            body,
        })
    }
}

/// The relay's own explanation (it names hosts and settings, never keys), for admins.
async fn relay_message<S>(mut res: awc::ClientResponse<S>) -> String
where
    S: futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
{
    let body = res.body().limit(16 * 1024).await.unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The host (and port) to name in error details: never the path or query.
fn host_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "the upstream".into(),
        },
        Err(_) => "the upstream".into(),
    }
}

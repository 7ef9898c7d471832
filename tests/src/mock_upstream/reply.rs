//! The mock's public vocabulary: options, scripted replies and recorded requests.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

/// Global behaviour of the mock; change it with `MockUpstream::update_options`.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Split every streamed body into TCP writes of this many bytes (1, 3, 7… to cut
    /// lines, CRLFs and UTF-8 characters). `None`: one write per SSE event.
    pub chunk_bytes: Option<usize>,
    /// Pause between two body writes of a stream.
    pub delay: Duration,
    /// Pause before the response head (simulated latency / first-byte timeout).
    pub head_delay: Duration,
    /// Number of content deltas a default stream carries the reply text in.
    pub chunks: usize,
    /// Token counts reported; `None` leaves usage out of every reply.
    pub usage: Option<MockUsage>,
    /// When set, requests must carry this key in the provider's auth header (else 401 in
    /// the provider's shape). Like the `anthropic-version` and Azure `api-version` checks,
    /// this applies to default replies only; scripted replies are sent as scripted.
    pub api_key: Option<String>,
    /// OpenAI `completion_tokens_details.reasoning_tokens` reported (part of
    /// `completion_tokens`, capped by it); 0 by default.
    pub reasoning_tokens: u64,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            chunk_bytes: None,
            delay: Duration::ZERO,
            head_delay: Duration::ZERO,
            chunks: 4,
            usage: Some(MockUsage::default()),
            api_key: None,
            reasoning_tokens: 0,
        }
    }
}

/// Token counts the mock reports (same numbers in every provider's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockUsage {
    /// Input tokens (OpenAI `prompt_tokens`, Anthropic `input_tokens`, Gemini
    /// `promptTokenCount`).
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Cached input tokens (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`,
    /// Gemini `cachedContentTokenCount`).
    pub cache_read_tokens: u64,
    /// Anthropic `cache_creation_input_tokens`.
    pub cache_creation_tokens: u64,
}

impl Default for MockUsage {
    fn default() -> Self {
        Self {
            prompt_tokens: 11,
            completion_tokens: 7,
            cache_read_tokens: 0,
            cache_creation_tokens: 0,
        }
    }
}

impl MockUsage {
    /// `prompt + completion`.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// One scripted reply, consumed by one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The normal provider-appropriate reply (useful between scripted ones).
    Default,
    /// This JSON body with this status.
    Json {
        /// HTTP status.
        status: u16,
        /// Body, sent as `application/json`; a `Value::String` is sent verbatim, which
        /// allows non-JSON or truncated bodies.
        body: Value,
    },
    /// An error in the provider's own error shape (OpenAI, Anthropic or Gemini).
    Error {
        /// HTTP status, e.g. 401, 429, 500, 529.
        status: u16,
        /// The error message.
        message: String,
    },
    /// The default stream, cut off (connection closed, no terminating chunk) after this
    /// many SSE events. For a non-stream request: half the body, then closed.
    DropAfter(usize),
    /// The default stream for this many events, then the provider's in-stream error
    /// (Anthropic `event: error` with `overloaded_error`; an `error` object in `data:`
    /// for OpenAI and Gemini), then a clean end of the body.
    StreamError {
        /// Events sent before the error.
        after: usize,
    },
    /// The default reply, with this pause between stream writes (or before a
    /// non-stream body).
    Slow(Duration),
    /// Never answer; the connection stays open until the client gives up.
    Hang,
    /// This SSE body (already encoded), status 200, written per the options.
    Sse(String),
    /// These bytes written verbatim (status line included), then the connection closed.
    Raw(Vec<u8>),
    /// A file under `tests/fixtures/` served with this status: `.sse` as an event
    /// stream, anything else as JSON.
    Fixture {
        /// Path relative to `tests/fixtures/`, e.g. `anthropic/stream_tool_use.sse`.
        path: String,
        /// HTTP status.
        status: u16,
    },
}

impl Reply {
    /// A JSON body with `status`.
    pub fn json(status: u16, body: Value) -> Self {
        Self::Json { status, body }
    }

    /// A provider-shaped error.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self::Error {
            status,
            message: message.into(),
        }
    }

    /// A fixture served with status 200.
    pub fn fixture(path: impl Into<String>) -> Self {
        Self::Fixture {
            path: path.into(),
            status: 200,
        }
    }
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without the query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Raw query string without `?`, if any.
    pub query: Option<String>,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (chunked bodies de-chunked).
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl RecordedRequest {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter (not percent-decoded; the mock's tests use plain values).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    /// The JSON body, or `Value::Null`.
    pub fn json(&self) -> &Value {
        self.json.as_ref().unwrap_or(&Value::Null)
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

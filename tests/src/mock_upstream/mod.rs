//! A scriptable mock LLM upstream: a real HTTP/1.1 server speaking the OpenAI (chat and
//! Responses), Azure OpenAI, Anthropic Messages and Gemini wire formats.
//!
//! It is built on a raw `TcpListener` + `httparse` so tests control exactly which bytes go
//! into which TCP write (SSE split mid-line or mid-UTF-8, slow streams, abrupt drops).
//! The server runs on its own thread and runtime, so it behaves the same under
//! `#[tokio::test]` and `#[actix_web::test]`, and stops when the handle is dropped.
//!
//! Default replies are deterministic: the text is `"Echo: "` + the last user message
//! (or `"Tool result: "` + the tool output when the last turn is a tool result), split
//! into [`MockOptions::chunks`] stream deltas; usage comes from [`MockOptions::usage`].
//! When the request offers tools (and the last turn is a user turn) the reply calls the
//! first tool with [`TOOL_ARGUMENTS`].
//!
//! ```no_run
//! # async fn demo() {
//! use integration_tests::mock_upstream::{MockUpstream, Reply};
//! let mock = MockUpstream::start().await;
//! mock.push_reply(Reply::error(429, "slow down"));
//! mock.update_options(|o| o.chunk_bytes = Some(3));
//! // ... point a channel at mock.url() ...
//! assert_eq!(mock.request_count(), 1);
//! # }
//! ```

mod anthropic;
mod content;
mod gemini;
mod http;
mod model_lists;
mod openai;
mod reasoning;
mod reply;
mod request;
mod responses;
mod router;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use gemini::{THOUGHT_SIGNATURE, THOUGHT_TEXT, THOUGHT_TOKENS};
pub use model_lists::{ANTHROPIC_MODELS, GEMINI_MODELS};
pub use openai::MODELS as OPENAI_MODELS;
pub use reasoning::{REASONING_TEXT, STRUCTURED_JSON, THINKING_SIGNATURE, THINKING_TEXT};
pub use reply::{MockOptions, MockUsage, RecordedRequest, Reply};
pub use responses::{CUSTOM_TOOL_INPUT, ENCRYPTED_REASONING, REASONING_SUMMARY, REASONING_TOKENS};
use state::State;

/// Arguments of every tool call the mock makes.
pub const TOOL_ARGUMENTS: &str = r#"{"city":"Paris","unit":"celsius"}"#;

/// Handle to a running mock server; dropping it stops the server.
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<State>,
    cancel: CancellationToken,
}

impl MockUpstream {
    /// Starts a mock on `127.0.0.1:0` with default options.
    pub async fn start() -> Self {
        Self::start_with(MockOptions::default()).await
    }

    /// Starts a mock on `127.0.0.1:0` with `options`.
    pub async fn start_with(options: MockOptions) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_on(addr, options, 2).expect("mock upstream failed to start")
    }

    /// Starts a mock on `addr` using `workers` runtime threads (the standalone binary uses
    /// this). Synchronous, so it also works outside any runtime.
    pub fn start_on(
        addr: SocketAddr,
        options: MockOptions,
        workers: usize,
    ) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(options));
        let cancel = CancellationToken::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name("mock-upstream")
            .enable_all()
            .build()?;
        let (server_state, server_cancel) = (state.clone(), cancel.clone());
        std::thread::Builder::new()
            .name("mock-upstream".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => http::serve(listener, server_state, server_cancel).await,
                        Err(err) => eprintln!("mock upstream: listener failed: {err}"),
                    }
                });
                // Dropping the runtime here cancels connection tasks still running.
            })?;
        Ok(Self {
            addr,
            state,
            cancel,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a scripted reply; each request (any route) consumes one, in order. When
    /// the queue is empty the default provider-appropriate reply is used.
    pub fn push_reply(&self, reply: Reply) {
        state::lock(&self.state.replies).push_back(reply);
    }

    /// Scripted replies not consumed yet.
    pub fn pending_replies(&self) -> usize {
        state::lock(&self.state.replies).len()
    }

    /// Replaces the global options (affects requests arriving afterwards).
    pub fn set_options(&self, options: MockOptions) {
        *state::lock(&self.state.options) = options;
    }

    /// Edits the global options in place.
    pub fn update_options(&self, edit: impl FnOnce(&mut MockOptions)) {
        edit(&mut state::lock(&self.state.options));
    }

    /// A copy of the current options.
    pub fn options(&self) -> MockOptions {
        state::lock(&self.state.options).clone()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        state::lock(&self.state.requests).clone()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        state::lock(&self.state.requests).last().cloned()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        state::lock(&self.state.requests).len()
    }

    /// Responses the client abandoned before the mock finished them (connection closed
    /// while streaming, hanging or waiting out `head_delay`).
    pub fn disconnects(&self) -> usize {
        self.state.counter(&self.state.disconnects)
    }

    /// Streams currently being written.
    pub fn active_streams(&self) -> usize {
        self.state.counter(&self.state.active_streams)
    }

    /// TCP connections accepted so far (tells keep-alive reuse from new connections).
    pub fn connections(&self) -> usize {
        self.state.counter(&self.state.connections)
    }

    /// Waits until at least `n` disconnects were seen; false on timeout.
    pub async fn wait_for_disconnects(&self, n: usize, timeout: Duration) -> bool {
        self.state
            .wait_until(timeout, |s| s.counter(&s.disconnects) >= n)
            .await
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.state
            .wait_until(timeout, |s| state::lock(&s.requests).len() >= n)
            .await
    }

    /// Waits until no stream is being written; false on timeout.
    pub async fn wait_for_idle(&self, timeout: Duration) -> bool {
        self.state
            .wait_until(timeout, |s| s.counter(&s.active_streams) == 0)
            .await
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

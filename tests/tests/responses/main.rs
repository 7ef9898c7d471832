//! Integration tests of OpenAI's Responses API on the gateway (issue 13): a real gateway
//! per test in front of the mock upstream, pass-through on OpenAI/Azure channels (and
//! OpenAI-compatible ones that say they serve it), conversion on Anthropic, Gemini and
//! chat-only channels; the official openai SDK, the OpenAI Agents SDK and the real
//! Codex CLI (those need SDK_PYTHON / CODEX_BIN and are ignored by default).

mod agents;
mod codex;
mod conversion;
mod passthrough;
mod sdk;
mod stored;

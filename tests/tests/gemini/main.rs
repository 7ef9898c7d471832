//! Gemini's native API (issue 14): `/v1beta/models/{model}:{method}` and friends, passed
//! through to Gemini channels and converted for OpenAI and Anthropic channels; the
//! google-genai SDK and the real Gemini CLI against the gateway and the mock upstream.

mod cli;
mod conversion;
mod models_errors;
mod passthrough;
mod sdk;
mod signatures;

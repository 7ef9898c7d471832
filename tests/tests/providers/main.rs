//! Integration tests of the Anthropic and Gemini channels and the Anthropic-native
//! `/v1/messages` endpoint (issue 5): a real gateway per test, channels of type 14 and
//! 24 pointing at the mock upstream, which speaks both providers' wire formats.

mod anthropic_channel;
mod billing;
mod cache_prices;
mod claude_code;
mod claude_code_errors;
mod count_tokens;
mod fidelity;
mod gemini_channel;
mod messages_endpoint;
mod messages_errors;
mod output_limits;
mod reasoning;
mod reasoning_replay;
mod sdk;
mod streaming;
mod structured_output;
mod upstream_errors;

//! What the `/v1` call and the dialect and provider converters both speak: the error
//! (with its status and its shape per client dialect), the prompt's size and token counts.
//!
//! It exists so dependencies point one way: `routes` → `services::dispatch` (the call) →
//! `providers` (dialects and channels) → `v1_core` → `store`, `upstream`. The converters
//! need these few things from the call; kept here, they need nothing of the call itself.
//! Nothing in this module may import `services`, `providers` or `routes`.

pub mod error;
pub mod prompt;
pub mod tokens;

//! Business logic behind the handlers.

pub mod accounts;
pub mod channels;
pub mod options;
pub mod tokens;
pub mod validate;

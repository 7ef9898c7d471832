//! Business logic behind the handlers.

pub mod accounts;
pub mod channel_models;
pub mod channel_test;
pub mod channels;
pub mod count_tokens;
pub mod dispatch;
pub mod limits;
pub mod log_export;
pub mod model_catalog;
pub mod model_list;
pub mod options;
pub mod retention;
pub mod root_user;
pub mod stored_responses;
pub mod tokens;
pub mod validate;

//! Integration tests of the gateway's management API (`/`, `/health`, `/api/*`), driven
//! over HTTP against a real gateway with a fresh SQLite database per test.

mod auth;
mod bad_input;
mod channel_tools;
mod channels;
mod first_run;
mod getting_started;
mod helpers;
mod log_filters;
mod odd_values;
mod openapi;
mod options;
mod permissions;
mod public;
mod register;
mod throttle;
mod timeouts;
mod tokens;
mod users;

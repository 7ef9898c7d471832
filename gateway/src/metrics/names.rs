//! Label values: fixed strings, so no label is built per request.

use crate::store::{CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED};

/// The model label for requests whose model no channel serves.
pub const OTHER_MODEL: &str = "other";
/// The channel label for requests that never reached a channel.
pub const NO_CHANNEL: &str = "none";

pub fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

pub fn channel_state(status: i64) -> &'static str {
    match status {
        CHANNEL_ENABLED => "enabled",
        CHANNEL_AUTO_DISABLED => "auto_disabled",
        _ => "disabled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(499), "4xx");
        assert_eq!(status_class(502), "5xx");
        assert_eq!(status_class(0), "other");
    }
}

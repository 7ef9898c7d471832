//! Why an upstream call produced no response head, in two levels: a short cause safe for
//! anyone (API callers, their log rows) and a detail for admins (the host and the OS or
//! TLS error). Neither carries the URL's path or query, which may hold a provider key.

use actix_web::http::StatusCode;
use awc::error::{ConnectError, SendRequestError};
use std::io;

#[derive(Debug, Clone)]
pub enum SendError {
    /// The upstream was not reached or broke off before answering.
    Failed { cause: &'static str, detail: String },
    /// No response head within `UPSTREAM_TIMEOUT_SECS`.
    Timeout,
    /// The relay itself refused or failed (`X-Relay-Error`).
    Relay {
        status: StatusCode,
        code: String,
        /// The relay's message (hosts and setting names, no secrets).
        message: String,
    },
    /// The relay could not be reached; same two levels as `Failed`.
    RelayUnreachable { cause: &'static str, detail: String },
}

impl SendError {
    /// For the admin: the channel test result and the server log.
    pub fn describe(&self) -> String {
        match self {
            SendError::Failed { detail, .. } => detail.clone(),
            SendError::Timeout => "upstream timed out before answering".into(),
            SendError::RelayUnreachable { detail, .. } => format!("relay unreachable: {detail}"),
            SendError::Relay {
                status,
                code,
                message,
            } => format!("relay error {code} ({}): {message}", status.as_u16()),
        }
    }
}

pub const DNS_FAILED: &str = "DNS lookup failed";
pub const REFUSED: &str = "connection refused";
pub const TLS_FAILED: &str = "TLS handshake failed";
pub const CONNECT_TIMEOUT: &str = "connection timed out";

/// Maps awc's error for a request to `host` (no path or query).
pub fn classify(e: &SendRequestError, host: &str) -> SendError {
    use SendRequestError as E;
    match e {
        E::Timeout => SendError::Timeout,
        E::Connect(c) => {
            let (cause, detail) = connect_cause(c, host);
            SendError::Failed { cause, detail }
        }
        E::Url(u) => failed("invalid upstream URL", format!("invalid upstream URL: {u}")),
        E::Send(io) => failed(
            "connection lost while sending the request",
            format!("connection to {host} lost while sending the request: {io}"),
        ),
        E::Response(p) => failed(
            "invalid HTTP response",
            format!("{host} sent an invalid HTTP response: {p}"),
        ),
        other => failed("upstream request failed", format!("{host}: {other}")),
    }
}

fn failed(cause: &'static str, detail: String) -> SendError {
    SendError::Failed { cause, detail }
}

fn connect_cause(e: &ConnectError, host: &str) -> (&'static str, String) {
    match e {
        ConnectError::Resolver(inner) => (DNS_FAILED, format!("{DNS_FAILED} for {host}: {inner}")),
        ConnectError::NoRecords | ConnectError::Unresolved => {
            (DNS_FAILED, format!("{DNS_FAILED} for {host}: no address"))
        }
        ConnectError::Timeout => (
            CONNECT_TIMEOUT,
            format!("{CONNECT_TIMEOUT}: {host} did not complete TCP and TLS set-up in time"),
        ),
        ConnectError::SslIsNotSupported => (TLS_FAILED, format!("{TLS_FAILED}: TLS unavailable")),
        ConnectError::Io(io) => io_cause(io, host),
        other => (
            "could not connect",
            format!("could not connect to {host}: {other}"),
        ),
    }
}

fn io_cause(e: &io::Error, host: &str) -> (&'static str, String) {
    let tls = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
    match e.kind() {
        _ if tls => (TLS_FAILED, format!("{TLS_FAILED} with {host}: {e}")),
        io::ErrorKind::ConnectionRefused => (REFUSED, format!("{REFUSED} by {host}")),
        io::ErrorKind::TimedOut => (CONNECT_TIMEOUT, format!("{CONNECT_TIMEOUT} to {host}")),
        io::ErrorKind::InvalidData => (TLS_FAILED, format!("{TLS_FAILED} with {host}: {e}")),
        _ => (
            "could not connect",
            format!("could not connect to {host}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_named() {
        let refused = SendRequestError::Connect(ConnectError::Io(io::Error::from(
            io::ErrorKind::ConnectionRefused,
        )));
        let SendError::Failed { cause, detail } = classify(&refused, "h.example") else {
            panic!("not a failure");
        };
        assert_eq!(cause, REFUSED);
        assert_eq!(detail, "connection refused by h.example");
        let dns = SendRequestError::Connect(ConnectError::NoRecords);
        assert!(matches!(
            classify(&dns, "x"),
            SendError::Failed {
                cause: DNS_FAILED,
                ..
            }
        ));
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        let tls = SendRequestError::Connect(ConnectError::Io(tls));
        assert!(matches!(
            classify(&tls, "x"),
            SendError::Failed {
                cause: TLS_FAILED,
                ..
            }
        ));
    }
}

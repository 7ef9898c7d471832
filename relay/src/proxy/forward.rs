//! Phase 4: send the request upstream and wait (bounded) for the response head.

use std::time::Duration;

use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use awc::body::{BodyStream, SizedStream};
use awc::error::{ConnectError, SendRequestError};
use awc::ClientResponse;
use shared::ip_guard::TargetError;

use super::body::{BodyError, UpstreamBody};
use super::target::Target;
use crate::error::RelayError;

/// Sends `method target` with `headers` and `body`; returns once response headers arrive.
/// Dropping the returned response (or this future) closes the upstream connection.
pub async fn send(
    client: &awc::Client,
    method: Method,
    target: &Target,
    headers: HeaderMap,
    body: UpstreamBody,
    first_byte_timeout: Duration,
) -> Result<ClientResponse, RelayError> {
    let mut request = client.request(method, target.uri.clone());
    *request.headers_mut() = headers;
    let pending = match body {
        UpstreamBody::Empty => request.send(),
        UpstreamBody::Sized(length, stream) => request.send_body(SizedStream::new(length, stream)),
        UpstreamBody::Chunked(stream) => request.send_body(BodyStream::new(stream)),
    };
    match tokio::time::timeout(first_byte_timeout, pending).await {
        Err(_) => Err(RelayError::UpstreamTimeout(
            "no response headers within the first-byte timeout",
        )),
        Ok(Err(err)) => Err(classify(err)),
        Ok(Ok(response)) => Ok(response),
    }
}

/// Maps awc's error to who failed: the caller's body, our policy, or the upstream.
fn classify(err: SendRequestError) -> RelayError {
    match err {
        SendRequestError::Connect(ConnectError::Resolver(inner)) => {
            match inner.downcast_ref::<TargetError>() {
                Some(refusal) => refusal.clone().into(),
                None => RelayError::UpstreamUnreachable("could not resolve target host".into()),
            }
        }
        SendRequestError::Connect(ConnectError::NoRecords) => {
            RelayError::UpstreamUnreachable("target host has no addresses".into())
        }
        SendRequestError::Connect(ConnectError::Timeout) => {
            RelayError::UpstreamTimeout("connect or TLS handshake timed out")
        }
        SendRequestError::Connect(other) => {
            RelayError::UpstreamUnreachable(format!("connect failed: {other}"))
        }
        SendRequestError::Timeout => {
            RelayError::UpstreamTimeout("no response headers within the first-byte timeout")
        }
        SendRequestError::Body(inner) => match inner.downcast_ref::<BodyError>() {
            Some(BodyError::TooLarge(max)) => RelayError::BodyTooLarge(*max),
            Some(other) => RelayError::BadRequest(other.to_string()),
            None => RelayError::BadRequest("request body could not be read".into()),
        },
        SendRequestError::Send(io) => {
            RelayError::UpstreamUnreachable(format!("sending to upstream failed: {io}"))
        }
        SendRequestError::Response(parse) => {
            RelayError::UpstreamUnreachable(format!("upstream sent an invalid response: {parse}"))
        }
        other => RelayError::UpstreamUnreachable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refusals_from_the_connector_become_403() {
        let refusal = TargetError::NotAllowed("private".into());
        let err = classify(SendRequestError::Connect(ConnectError::Resolver(Box::new(
            refusal,
        ))));
        assert!(matches!(err, RelayError::TargetNotAllowed(_)));
    }

    #[test]
    fn body_errors_keep_their_cause() {
        let err = classify(SendRequestError::Body(Box::new(BodyError::TooLarge(5))));
        assert!(matches!(err, RelayError::BodyTooLarge(5)));
        let err = classify(SendRequestError::Connect(ConnectError::Timeout));
        assert!(matches!(err, RelayError::UpstreamTimeout(_)));
    }
}

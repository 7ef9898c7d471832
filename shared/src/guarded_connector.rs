//! The TCP connector behind awc clients: resolve, check every address against a
//! [`UrlPolicy`], connect to a checked one, with `TCP_NODELAY`.
//!
//! Doing the check inside the connector (not before the request) closes the DNS-rebinding
//! gap: the address validated is, by construction, the address connected to. TLS (SNI and
//! certificate name) still uses the original host name, because awc layers TLS on top of
//! the `Connection` returned here with the untouched request URI. The relay uses it for
//! every target; the gateway for provider calls (permissive policy, operators point
//! channels at private servers) and for fetching images from client-supplied URLs (strict).

use std::io;
use std::net::SocketAddr;

use actix_service::{always_ready, Service};
use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use tokio::net::TcpStream;

use crate::ip_guard::{check_resolved, parse_host_ip, UrlPolicy};

/// Resolves and connects, refusing non-public addresses unless the policy allows them.
#[derive(Clone, Copy)]
pub struct GuardedConnector {
    policy: UrlPolicy,
}

impl GuardedConnector {
    pub fn new(policy: UrlPolicy) -> Self {
        Self { policy }
    }
}

impl Service<ConnectInfo<Uri>> for GuardedConnector {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let policy = self.policy;
        let uri = req.request().clone();
        let host = req.hostname().to_owned();
        let port = req.port();
        Box::pin(async move {
            let addrs = resolve(&host, port).await?;
            let ips: Vec<_> = addrs.iter().map(SocketAddr::ip).collect();
            // The refusal travels inside the resolver error so the caller can
            // downcast it and answer 403 rather than 502.
            check_resolved(&ips, policy).map_err(|e| ConnectError::Resolver(Box::new(e)))?;
            let stream = connect_any(&addrs).await?;
            // Streams are made of small SSE writes; Nagle would hold them back.
            stream.set_nodelay(true).map_err(ConnectError::Io)?;
            log::debug!("connected to {host} via {:?}", stream.peer_addr().ok());
            Ok(Connection::new(uri, stream))
        })
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ConnectError> {
    if let Some(ip) = parse_host_ip(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ConnectError::Resolver(Box::new(e)))?;
    let addrs: Vec<_> = addrs.collect();
    if addrs.is_empty() {
        return Err(ConnectError::NoRecords);
    }
    Ok(addrs)
}

async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, ConnectError> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last_error = err,
        }
    }
    Err(ConnectError::Io(last_error))
}

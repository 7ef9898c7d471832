//! TCP connector for upstream calls with `TCP_NODELAY`: requests and SSE are small writes
//! that Nagle's algorithm would otherwise hold back for a delayed ACK.

use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use actix_web::dev::{always_ready, Service};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use std::net::SocketAddr;
use tokio::net::TcpStream;

#[derive(Clone, Copy)]
pub struct NoDelayConnector;

impl Service<ConnectInfo<Uri>> for NoDelayConnector {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let uri = req.request().clone();
        let host = req.hostname().to_owned();
        let port = req.port();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| ConnectError::Resolver(Box::new(e)))?
                .collect();
            let mut last = ConnectError::NoRecords;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        stream.set_nodelay(true).map_err(ConnectError::Io)?;
                        return Ok(Connection::new(uri, stream));
                    }
                    Err(e) => last = ConnectError::Io(e),
                }
            }
            Err(last)
        })
    }
}

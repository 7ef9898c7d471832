//! `bare-proxy`: the benchmark's floor for "one extra hop". A plain actix-web + awc
//! pass-through: every request goes to the same fixed upstream (path and query kept), the
//! request body read whole and sent with its length (as the gateway must read it to parse
//! it), the response streamed back as it arrives. `TCP_NODELAY` on both sides, no
//! redirects, no response timeout, no connection limit; nothing else.
//!
//! Flags: `--port <n>` (0 = any; the bound port is printed), `--upstream <http://host:port>`,
//! `--workers <n>` (default: number of CPUs).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use actix_service::{always_ready, Service};
use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderName};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;

/// Headers that belong to one hop only.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
];

fn hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// Plain TCP connect to the address in the URI, with `TCP_NODELAY`.
#[derive(Clone, Copy)]
struct NoDelayConnector;

impl Service<ConnectInfo<Uri>> for NoDelayConnector {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let uri = req.request().clone();
        let target = format!("{}:{}", req.hostname(), req.port());
        Box::pin(async move {
            let stream = TcpStream::connect(target).await.map_err(ConnectError::Io)?;
            stream.set_nodelay(true).map_err(ConnectError::Io)?;
            Ok(Connection::new(uri, stream))
        })
    }
}

fn client() -> awc::Client {
    let connector = awc::Connector::new()
        .connector(NoDelayConnector)
        .limit(0)
        .conn_keep_alive(Duration::from_secs(60));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .disable_timeout()
        .no_default_headers()
        .finish()
}

async fn forward(
    req: HttpRequest,
    body: web::Bytes,
    client: web::Data<awc::Client>,
    upstream: web::Data<String>,
) -> HttpResponse {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut up = client.request(req.method().clone(), format!("{}{path}", upstream.as_str()));
    for (name, value) in req.headers() {
        if !hop_by_hop(name) {
            up = up.insert_header((name.clone(), value.clone()));
        }
    }
    let res = match up.send_body(body).await {
        Ok(res) => res,
        Err(err) => return HttpResponse::BadGateway().body(format!("upstream: {err}")),
    };
    let mut out = HttpResponse::build(res.status());
    for (name, value) in res.headers() {
        if !hop_by_hop(name) {
            out.append_header((name.clone(), value.clone()));
        }
    }
    let length = res
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = res.map_err(actix_web::error::ErrorBadGateway);
    match length {
        Some(len) => out.body(SizedStream::new(len, body)),
        None => out.streaming(body),
    }
}

struct Args {
    port: u16,
    upstream: String,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        upstream: String::new(),
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|_| "invalid --port")?,
            "--upstream" => args.upstream = value()?.trim_end_matches('/').to_string(),
            "--workers" => args.workers = value()?.parse().map_err(|_| "invalid --workers")?,
            _ => {
                return Err(format!(
                    "unknown flag {flag}; flags: --port --upstream --workers"
                ))
            }
        }
    }
    if !args.upstream.starts_with("http://") {
        return Err("--upstream http://host:port is required".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bare-proxy: {message}");
            return ExitCode::FAILURE;
        }
    };
    let upstream = web::Data::new(args.upstream.clone());
    let result = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(client()))
                .app_data(upstream.clone())
                .app_data(web::PayloadConfig::new(32 * 1024 * 1024))
                .default_service(web::to(forward))
        })
        .workers(args.workers.max(1))
        .tcp_nodelay(true)
        .backlog(4096)
        .max_connections(100_000)
        .bind(SocketAddr::from(([127, 0, 0, 1], args.port)))?;
        if let Some(addr) = server.addrs().first() {
            println!("bare-proxy listening on http://{addr}");
        }
        server.run().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bare-proxy: {err}");
            ExitCode::FAILURE
        }
    }
}

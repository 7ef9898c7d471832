//! Raw-tokio upstream servers, each doing one thing the relay must cope with.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::raw_http::{chunk, read_body, read_head};
use super::{fnv1a, pattern};

/// A running upstream; it stops when dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    /// `http://<addr><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves every accepted connection on `ip:0` with `handler`.
pub async fn spawn_upstream<F, Fut>(ip: &str, handler: F) -> Upstream
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind((ip, 0)).await.expect("upstream binds");
    let addr = listener.local_addr().expect("bound address");
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handler(stream));
        }
    });
    Upstream {
        addr,
        connections,
        task,
    }
}

/// Counts connections and answers nothing: it must never be reached.
pub async fn canary(ip: &str) -> Upstream {
    spawn_upstream(ip, |stream| async move { drop(stream) }).await
}

/// Answers every request with a JSON description of what it received:
/// method, path, headers, body length and FNV-1a of the body.
pub async fn echo() -> Upstream {
    spawn_upstream("127.0.0.1", |mut stream| async move {
        let Some((head, rest)) = read_head(&mut stream, true).await else {
            return;
        };
        let body = read_body(&mut stream, &head, rest).await.unwrap_or_default();
        let reply = json!({
            "method": head.method,
            "path": head.path,
            "headers": head.headers,
            "body_len": body.len(),
            "body_fnv": fnv1a(&body).to_string(),
        })
        .to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
            reply.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    })
    .await
}

/// `GET /status/<code>` answers with that status, extra headers (some hop-by-hop) and a
/// gzip-labelled body that must come back byte for byte.
pub async fn status_server() -> Upstream {
    spawn_upstream("127.0.0.1", |mut stream| async move {
        let Some((head, _)) = read_head(&mut stream, true).await else {
            return;
        };
        let code: u16 = head
            .path
            .trim_start_matches("/status/")
            .parse()
            .unwrap_or(500);
        let body = b"\x1f\x8b\x08\x00fake-gzip-bytes";
        let mut response = format!(
            "HTTP/1.1 {code} Whatever\r\n\
             x-upstream-custom: kept\r\n\
             x-ratelimit-remaining-requests: 42\r\n\
             connection: close, x-upstream-hop\r\n\
             x-upstream-hop: dropped\r\n\
             keep-alive: timeout=5\r\n\
             x-relay-error: spoofed\r\n\
             content-encoding: gzip\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        let _ = stream.write_all(&response).await;
    })
    .await
}

/// Redirects everything to `location`.
pub async fn redirector(location: String) -> Upstream {
    spawn_upstream("127.0.0.1", move |mut stream| {
        let location = location.clone();
        async move {
            if read_head(&mut stream, true).await.is_none() {
                return;
            }
            let response = format!(
                "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    })
    .await
}

/// Reads the request and then says nothing, holding the connection open.
pub async fn silent() -> Upstream {
    spawn_upstream("127.0.0.1", |mut stream| async move {
        let _ = read_head(&mut stream, true).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        drop(stream);
    })
    .await
}

/// Reads the request, never answers, and reports on `closed` when the relay hangs up.
pub async fn silent_watching(closed: mpsc::UnboundedSender<()>) -> Upstream {
    spawn_upstream("127.0.0.1", move |mut stream| {
        let closed = closed.clone();
        async move {
            let Some((head, rest)) = read_head(&mut stream, true).await else {
                return;
            };
            let _ = read_body(&mut stream, &head, rest).await;
            let mut byte = [0u8; 1];
            let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut byte).await;
            let _ = closed.send(());
        }
    })
    .await
}

/// Sends response headers and one SSE event, then goes silent.
pub async fn stalls_after_first_event() -> Upstream {
    spawn_upstream("127.0.0.1", |mut stream| async move {
        let _ = read_head(&mut stream, true).await;
        let mut out = sse_head();
        out.extend(chunk(b"data: first\n\n"));
        let _ = stream.write_all(&out).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        drop(stream);
    })
    .await
}

/// Serves `len` bytes of [`pattern`] data (seed 7) with a Content-Length.
pub async fn big_download(len: usize) -> Upstream {
    let data = Arc::new(pattern(len, 7));
    spawn_upstream("127.0.0.1", move |mut stream| {
        let data = Arc::clone(&data);
        async move {
            if read_head(&mut stream, true).await.is_none() {
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
                data.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&data).await;
        }
    })
    .await
}

fn sse_head() -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n".to_vec()
}

/// What the paced SSE server reports: how many events it has started sending.
pub struct Paced {
    pub upstream: Upstream,
    pub sent: Arc<AtomicUsize>,
}

/// Streams `count` events (`data: <i>`) one every `interval`, flushing each at once;
/// `sent` is bumped right before each write. `count == 0` streams until the peer leaves.
/// `closed` receives a message when the relay closes the upstream connection.
pub async fn paced_sse(
    count: usize,
    interval: Duration,
    closed: Option<mpsc::UnboundedSender<()>>,
) -> Paced {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let upstream = spawn_upstream("127.0.0.1", move |mut stream| {
        let counter = Arc::clone(&counter);
        let closed = closed.clone();
        async move {
            let Some((head, rest)) = read_head(&mut stream, true).await else {
                return;
            };
            let _ = read_body(&mut stream, &head, rest).await;
            stream.set_nodelay(true).expect("nodelay");
            let (mut reader, mut writer) = stream.into_split();
            if let Some(closed) = closed {
                // The request is fully read, so the next read returns only at close.
                tokio::spawn(async move {
                    let mut byte = [0u8; 1];
                    let _ = tokio::io::AsyncReadExt::read(&mut reader, &mut byte).await;
                    let _ = closed.send(());
                });
            }
            if writer.write_all(&sse_head()).await.is_err() {
                return;
            }
            let mut i = 0;
            while count == 0 || i < count {
                tokio::time::sleep(interval).await;
                counter.fetch_add(1, Ordering::SeqCst);
                let event = format!("data: {i}\n\n");
                if writer.write_all(&chunk(event.as_bytes())).await.is_err() {
                    return;
                }
                i += 1;
            }
            let _ = writer.write_all(b"0\r\n\r\n").await;
        }
    })
    .await;
    Paced { upstream, sent }
}

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub async fn refused_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

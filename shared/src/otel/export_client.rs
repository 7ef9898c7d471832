//! The OTLP exporter's HTTP client: the workspace's reqwest on a small Tokio runtime of
//! its own. The batch processor exports from its own thread; the requests run on this
//! runtime, so exporting neither depends on nor blocks actix's worker runtimes, and
//! keeps working while those shut down (the last spans are flushed after them).

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use std::sync::Mutex;
use std::time::Duration;

/// Largest collector answer read (they are a few bytes; a partial-success note at most).
const MAX_ANSWER: usize = 1024 * 1024;

/// A current-thread runtime on a named thread, stopped by [`ExportRuntime::stop`].
pub struct ExportRuntime {
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl ExportRuntime {
    pub fn start() -> std::io::Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("otlp-export".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(rt) => {
                        let _ = ready_tx.send(Ok(rt.handle().clone()));
                        // Runs the export requests until told to stop; the runtime is
                        // dropped here, on its own thread, never inside another runtime.
                        rt.block_on(async {
                            let _ = stop_rx.await;
                        });
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })?;
        let handle = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the export thread ended before starting"))??;
        Ok(ExportRuntime {
            handle,
            stop: Mutex::new(Some(stop_tx)),
        })
    }

    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }

    /// Ends the thread (after the provider's shutdown has sent the last batch).
    pub fn stop(&self) {
        let sender = self.stop.lock().map(|mut s| s.take()).unwrap_or(None);
        if let Some(tx) = sender {
            let _ = tx.send(());
        }
    }
}

#[derive(Debug)]
pub struct ExportClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl ExportClient {
    pub fn new(runtime: tokio::runtime::Handle, timeout: Duration) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // The headers may carry the collector's key: never re-sent elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(ExportClient { client, runtime })
    }
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let mut res = client.execute(request).await?;
            let mut answer = Response::builder().status(res.status());
            for (name, value) in res.headers() {
                answer = answer.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(HttpError::from("the collector's answer is too large"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(answer.body(Bytes::from(body))?)
        });
        task.await?
    }
}

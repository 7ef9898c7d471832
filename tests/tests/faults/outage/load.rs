//! Steady load on one gateway while its database fails: non-streaming and streaming
//! chats with a paid key, a signed-in user reading their balance, and a health probe.
//! Every answer is recorded with when it was sent, how long it took and what it said.

use futures_util::StreamExt;
use integration_tests::v1_support::{chat_body, stream_body};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chat,
    Stream,
    /// `GET /api/user/self` with a session.
    Api,
    Health,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Sample {
    pub kind: Kind,
    /// When it was sent, from the start of the load.
    pub sent: Duration,
    pub took: Duration,
    /// 0 when no answer came (transport error or the client's timeout).
    pub status: u16,
    /// `error.code` of a `/v1` error, `message` of an `/api` error.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// A 200 stream ended with `[DONE]`; a 200 answer was read whole.
    pub complete: bool,
}

impl Sample {
    pub fn ended(&self) -> Duration {
        self.sent + self.took
    }
}

/// Who the load speaks as.
pub struct Target {
    pub url: String,
    pub key: String,
    pub user_jwt: String,
}

pub struct Load {
    pub started: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

/// Concurrent chat callers of each kind.
const CALLERS: usize = 3;
/// Pause between a caller's requests (after a refusal too, as a client would back off).
const PACE: Duration = Duration::from_millis(40);
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// A request that gets no answer within this is recorded as status 0.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

impl Load {
    pub fn start(target: Target) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .expect("client");
        let target = Arc::new(target);
        let mut load = Load {
            started: Instant::now(),
            samples: Arc::default(),
            stop: Arc::default(),
            tasks: JoinSet::new(),
        };
        for kind in [Kind::Chat, Kind::Stream] {
            for _ in 0..CALLERS {
                load.spawn(kind, PACE, client.clone(), target.clone());
            }
        }
        drop(client);
        // Probes open a connection each time, as a load balancer's health check does.
        let probe = reqwest::Client::builder()
            .no_proxy()
            .timeout(CLIENT_TIMEOUT)
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        load.spawn(Kind::Api, PROBE_EVERY, probe.clone(), target.clone());
        load.spawn(Kind::Health, PROBE_EVERY, probe, target);
        load
    }

    fn spawn(&mut self, kind: Kind, pause: Duration, client: reqwest::Client, t: Arc<Target>) {
        let (samples, stop, started) = (self.samples.clone(), self.stop.clone(), self.started);
        self.tasks.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let sample = ask(&client, &t, kind, started).await;
                samples.lock().expect("samples").push(sample);
                tokio::time::sleep(pause).await;
            }
        });
    }

    /// Time since the load started.
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Every answer so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples").clone()
    }

    /// Stops asking and waits for the answers still on their way.
    pub async fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        while self.tasks.join_next().await.is_some() {}
        self.samples()
    }
}

async fn ask(client: &reqwest::Client, t: &Target, kind: Kind, started: Instant) -> Sample {
    let sent = started.elapsed();
    let at = Instant::now();
    let req = match kind {
        Kind::Chat => client
            .post(format!("{}/v1/chat/completions", t.url))
            .bearer_auth(&t.key)
            .json(&chat_body("outage")),
        Kind::Stream => client
            .post(format!("{}/v1/chat/completions", t.url))
            .bearer_auth(&t.key)
            .json(&stream_body("outage")),
        Kind::Api => client
            .get(format!("{}/api/user/self", t.url))
            .bearer_auth(&t.user_jwt),
        Kind::Health => client.get(format!("{}/health", t.url)),
    };
    let mut sample = Sample {
        kind,
        sent,
        took: Duration::ZERO,
        status: 0,
        code: String::new(),
        message: String::new(),
        request_id: None,
        complete: false,
    };
    match req.send().await {
        Err(e) => sample.message = e.to_string(),
        Ok(res) => {
            sample.status = res.status().as_u16();
            sample.request_id = res
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            read_body(res, kind, &mut sample).await;
        }
    }
    sample.took = at.elapsed();
    sample
}

async fn read_body(res: reqwest::Response, kind: Kind, sample: &mut Sample) {
    let ok = res.status() == StatusCode::OK;
    let mut body = Vec::new();
    let mut chunks = res.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(c) => body.extend_from_slice(&c),
            Err(e) => {
                sample.message = format!("body cut: {e}");
                return;
            }
        }
    }
    let text = String::from_utf8_lossy(&body);
    if ok {
        sample.complete = match kind {
            Kind::Stream => text.contains("data: [DONE]"),
            _ => true,
        };
        return;
    }
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let error = &json["error"];
    sample.code = error["code"].as_str().unwrap_or_default().to_string();
    sample.message = error["message"]
        .as_str()
        .or_else(|| json["message"].as_str())
        .unwrap_or(&text)
        .to_string();
}

//! Every server of the run, started and set up: the mock, the bare proxy, the gateways
//! (SQLite, SQLite through the relay, PostgreSQL) and the optional LiteLLM peer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::args::{Args, PathId};
use crate::client;
use crate::procs::{free_port, Binaries, Proc};

/// The model every path is asked for (the gateway's channel serves it).
pub const MODEL: &str = "gpt-4o-mini";
pub const CHAT_PATH: &str = "/v1/chat/completions";
const ADMIN_PASSWORD: &str = "bench-admin-password-0123";
const JWT_SECRET: &str = "bench-jwt-secret-that-is-long-enough-0123456789";
const RELAY_KEY: &str = "bench-relay-shared-key-0123456789abcdef";
const LITELLM_MASTER_KEY: &str = "sk-bench-litellm-master-key";
/// Same length as a gateway key, so every request has the same size.
pub const MOCK_KEY: &str = "sk-mock000000000000000000000000000000000000000000";
/// The user message: long enough that each of 50 stream deltas carries text.
const PROMPT: &str = "Please answer briefly: what is the capital of France, and which river \
    flows through it? Add one sentence on why the city grew there, one on its bridges, and \
    one on the islands in the river. Keep it short and friendly.";
const READY: Duration = Duration::from_secs(60);

/// One path under test: where to send requests and which processes it runs through.
pub struct Target {
    pub id: PathId,
    pub port: u16,
    pub json: Arc<Vec<u8>>,
    pub stream: Arc<Vec<u8>>,
    /// Indices into [`World::procs`] of the processes on this path (not the mock).
    pub procs: Vec<usize>,
}

/// How the mock paces its streams.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub chunks: usize,
    pub delay_ms: u64,
}

pub struct World {
    pub procs: Vec<Proc>,
    pub targets: Vec<Target>,
    pub mock: usize,
    pub mock_port: u16,
    mock_started: bool,
    pub notes: Vec<String>,
    pub litellm_version: Option<String>,
    dir: PathBuf,
    bins: Binaries,
    workers: usize,
    /// Keeps the PostgreSQL schema until the run ends, then drops it.
    _schema: Option<crate::pg::Schema>,
}

/// The chat request every path gets; `stream` asks for SSE with the usage event.
pub fn body(stream: bool) -> String {
    let mut b = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 128,
    });
    if stream {
        b["stream"] = json!(true);
        b["stream_options"] = json!({"include_usage": true});
    }
    b.to_string()
}

fn target(id: PathId, port: u16, key: &str, procs: Vec<usize>) -> Target {
    Target {
        id,
        port,
        json: Arc::new(client::request(port, CHAT_PATH, key, &body(false))),
        stream: Arc::new(client::request(port, CHAT_PATH, key, &body(true))),
        procs,
    }
}

/// The environment of a benchmarked gateway: no Redis, no OTLP, a fresh database.
pub struct GatewayEnv<'a> {
    pub port: u16,
    pub database_url: &'a str,
    /// The relay's URL when the channel goes through it.
    pub relay: Option<&'a str>,
    pub workers: usize,
    /// `RUST_LOG`; `info` keeps the access log on.
    pub log: &'a str,
}

impl GatewayEnv<'_> {
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("HOST", "127.0.0.1".to_string()),
            ("PORT", self.port.to_string()),
            ("DATABASE_URL", self.database_url.to_string()),
            ("JWT_SECRET", JWT_SECRET.into()),
            ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("HTTP_WORKERS", self.workers.to_string()),
            ("RUST_LOG", self.log.to_string()),
        ];
        if let Some(url) = self.relay {
            env.push(("RELAY_PROXY_URL", url.to_string()));
            env.push(("RELAY_PROXY_KEY", RELAY_KEY.to_string()));
        }
        env
    }
}

/// The relay's environment: plain http and private addresses allowed (the mock is local).
pub fn relay_env(port: u16, log: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOST", "127.0.0.1".into()),
        ("PORT", port.to_string()),
        ("PROXY_SECRET_KEY", RELAY_KEY.into()),
        ("RELAY_ALLOW_PRIVATE", "true".into()),
        ("RELAY_ALLOW_HTTP", "true".into()),
        ("RUST_LOG", log.to_string()),
    ]
}

impl World {
    pub async fn start(args: &Args, bins: Binaries, dir: &Path) -> Result<World, String> {
        let mock_port = free_port()?;
        let mut w = World {
            procs: Vec::new(),
            targets: Vec::new(),
            mock: 0,
            mock_port,
            mock_started: false,
            notes: Vec::new(),
            litellm_version: None,
            dir: dir.to_path_buf(),
            bins,
            workers: args.workers,
            _schema: None,
        };
        w.start_mock(Pacing {
            chunks: args.stream_chunks,
            delay_ms: args.stream_delay_ms,
        })?;
        let wants = |id| args.paths.contains(&id);
        if wants(PathId::Direct) {
            w.targets
                .push(target(PathId::Direct, mock_port, MOCK_KEY, vec![]));
        }
        if wants(PathId::Bare) {
            let port = free_port()?;
            let mut p = Proc::spawn(
                "bare-proxy",
                &w.bins.path("bare-proxy"),
                &[
                    "--port".into(),
                    port.to_string(),
                    "--upstream".into(),
                    format!("http://127.0.0.1:{mock_port}"),
                    "--workers".into(),
                    args.workers.to_string(),
                ],
                &[],
                dir,
            )?;
            p.wait_ready(port, None, READY)?;
            let i = w.push(p);
            w.targets
                .push(target(PathId::Bare, port, MOCK_KEY, vec![i]));
        }
        if wants(PathId::Gateway) {
            let db = format!("sqlite://{}", dir.join("gateway.db").display());
            let (port, i) = w.start_gateway("gateway", &db, None, args)?;
            let key = setup_gateway(port, mock_port, false).await?;
            w.targets.push(target(PathId::Gateway, port, &key, vec![i]));
        }
        if wants(PathId::Relay) {
            let relay_port = free_port()?;
            let mut relay = Proc::spawn(
                "relay",
                &w.bins.path("relay"),
                &[],
                &relay_env(relay_port, &args.server_log),
                dir,
            )?;
            relay.wait_ready(relay_port, Some("/health"), READY)?;
            let r = w.push(relay);
            let db = format!("sqlite://{}", dir.join("gateway-relay.db").display());
            let relay_url = format!("http://127.0.0.1:{relay_port}");
            let (port, i) = w.start_gateway("gateway-via-relay", &db, Some(&relay_url), args)?;
            let key = setup_gateway(port, mock_port, true).await?;
            w.targets
                .push(target(PathId::Relay, port, &key, vec![i, r]));
        }
        if wants(PathId::Postgres) {
            match &args.postgres_url {
                Some(url) => {
                    let schema = crate::pg::Schema::create(url).await?;
                    let (port, i) = w.start_gateway("gateway-postgres", &schema.url, None, args)?;
                    w._schema = Some(schema);
                    let key = setup_gateway(port, mock_port, false).await?;
                    w.targets
                        .push(target(PathId::Postgres, port, &key, vec![i]));
                }
                None => w.notes.push(
                    "(e) gateway on PostgreSQL: not run; pass `--postgres-url postgres://…` \
                     (or set BENCH_POSTGRES_URL) to add it."
                        .into(),
                ),
            }
        }
        if wants(PathId::LiteLlm) && !args.no_litellm {
            w.start_litellm(args)?;
        }
        Ok(w)
    }

    fn push(&mut self, p: Proc) -> usize {
        self.procs.push(p);
        self.procs.len() - 1
    }

    /// Starts (or restarts, on the same port) the mock with this pacing.
    pub fn start_mock(&mut self, pacing: Pacing) -> Result<(), String> {
        let restart = self.mock_started;
        if restart {
            // Replaced in place below, so indices stay valid.
            self.procs[self.mock].kill();
        }
        let args = [
            "--port".to_string(),
            self.mock_port.to_string(),
            "--chunks".into(),
            pacing.chunks.to_string(),
            "--delay-ms".into(),
            pacing.delay_ms.to_string(),
            "--workers".into(),
            self.workers.to_string(),
        ];
        let mut p = Proc::spawn(
            "mock-upstream",
            &self.bins.path("mock-upstream"),
            &args,
            &[],
            &self.dir,
        )?;
        p.wait_ready(self.mock_port, None, READY)?;
        if restart {
            self.procs[self.mock] = p;
        } else {
            self.mock = self.push(p);
            self.mock_started = true;
        }
        Ok(())
    }

    fn start_gateway(
        &mut self,
        name: &str,
        database_url: &str,
        relay: Option<&str>,
        args: &Args,
    ) -> Result<(u16, usize), String> {
        let port = free_port()?;
        let env = GatewayEnv {
            port,
            database_url,
            relay,
            workers: args.workers,
            log: &args.server_log,
        }
        .vars();
        let mut p = Proc::spawn(name, &self.bins.path("gateway"), &[], &env, &self.dir)?;
        p.wait_ready(port, Some("/health"), READY)?;
        Ok((port, self.push(p)))
    }

    fn start_litellm(&mut self, args: &Args) -> Result<(), String> {
        let Some(exe) = find_litellm(args, &self.bins.root) else {
            self.notes.push(
                "LiteLLM peer: not found. Enable it with `python3 -m venv target/litellm-venv && \
                 target/litellm-venv/bin/pip install 'litellm[proxy]==1.106.12'` (found there \
                 automatically) or pass `--litellm <path to the litellm executable>`."
                    .into(),
            );
            return Ok(());
        };
        self.litellm_version = litellm_version(&exe);
        let port = free_port()?;
        let config = self.dir.join("litellm.yaml");
        let yaml = format!(
            "model_list:\n  - model_name: {MODEL}\n    litellm_params:\n      model: openai/{MODEL}\n      \
             api_base: http://127.0.0.1:{}/v1\n      api_key: {MOCK_KEY}\n\
             general_settings:\n  master_key: {LITELLM_MASTER_KEY}\n\
             litellm_settings:\n  telemetry: false\n",
            self.mock_port
        );
        std::fs::write(&config, yaml).map_err(|e| e.to_string())?;
        let spawned = Proc::spawn(
            "litellm",
            &exe,
            &[
                "--config".into(),
                config.display().to_string(),
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--num_workers".into(),
                args.workers.to_string(),
            ],
            &[
                ("LITELLM_LOCAL_MODEL_COST_MAP", "True".into()),
                ("LITELLM_LOG", "ERROR".into()),
                ("LITELLM_TELEMETRY", "False".into()),
                ("NO_PROXY", "*".into()),
            ],
            &self.dir,
        );
        let ready = spawned.and_then(|mut p| {
            p.group = true;
            p.wait_ready(port, Some("/health/liveliness"), Duration::from_secs(180))
                .map(|()| p)
        });
        match ready {
            Ok(p) => {
                let i = self.push(p);
                self.targets
                    .push(target(PathId::LiteLlm, port, LITELLM_MASTER_KEY, vec![i]));
            }
            Err(e) => self.notes.push(format!(
                "LiteLLM peer at {} did not start, row left out: {}",
                exe.display(),
                e.lines().next().unwrap_or("")
            )),
        }
        Ok(())
    }
}

fn find_litellm(args: &Args, root: &Path) -> Option<PathBuf> {
    if let Some(p) = &args.litellm {
        return Some(p.clone());
    }
    let venv = root.join("target/litellm-venv/bin/litellm");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("litellm"))
            .find(|p| p.is_file())
    })
}

fn litellm_version(exe: &Path) -> Option<String> {
    let python = exe.parent()?.join("python");
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    jwt: Option<&str>,
    body: Value,
) -> Result<Value, String> {
    let mut req = http.request(method, &url).json(&body);
    if let Some(t) = jwt {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = res.status();
    let v: Value = res.json().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("gateway setup {url}: {status} {v}"));
    }
    Ok(v["data"].clone())
}

/// Logs in as admin, adds a channel to the mock (through the relay or not), funds the
/// admin and creates an unlimited key; returns the key.
pub async fn setup_gateway(port: u16, mock_port: u16, use_relay: bool) -> Result<String, String> {
    use reqwest::Method;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let login = json!({"username": "admin", "password": ADMIN_PASSWORD});
    let login = call(
        &http,
        Method::POST,
        format!("{base}/api/user/login"),
        None,
        login,
    )
    .await?;
    let jwt = login["token"].as_str().ok_or("login: no token")?;
    let channel = json!({"name": "mock", "type": 1, "key": MOCK_KEY,
        "base_url": format!("http://127.0.0.1:{mock_port}"),
        "models": [MODEL], "use_relay": use_relay});
    call(
        &http,
        Method::POST,
        format!("{base}/api/channel"),
        Some(jwt),
        channel,
    )
    .await?;
    let quota = json!({"quota": 100_000_000_000_000i64});
    call(
        &http,
        Method::PUT,
        format!("{base}/api/user/1"),
        Some(jwt),
        quota,
    )
    .await?;
    let key = json!({"name": "bench", "unlimited_quota": true});
    let token = call(
        &http,
        Method::POST,
        format!("{base}/api/token"),
        Some(jwt),
        key,
    )
    .await?;
    token["key"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| "token: no key".into())
}

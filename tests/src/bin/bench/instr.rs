//! The instruction-count mode of issue 12: a path's servers run under callgrind (the mock
//! natively) for two lifetimes that differ only by N requests; instructions per request =
//! the difference of the two totals ÷ N. Start-up, set-up, warm-up and shutdown cancel out,
//! and unlike a timing the figure does not move with the machine's load.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::args::{Args, PathId};
use crate::callgrind;
use crate::client::Conn;
use crate::procs::{free_port, Binaries, Proc};
use crate::stats::Run;
use crate::world::{self, GatewayEnv};

/// Requests before the counted ones in both lifetimes: pools, caches, tokenizer tables.
pub const WARM_UP: usize = 20;
/// Counted requests of the shorter lifetime; the longer one sends N more.
pub const BASE: usize = 20;
/// Content deltas per stream: with role, finish, usage and `[DONE]`, 20 SSE events.
pub const CHUNKS: usize = 16;
/// Callgrind slows a server down some 50 times; its start-up takes tens of seconds.
const READY: Duration = Duration::from_secs(300);
const STOP: Duration = Duration::from_secs(180);
const EXCHANGE: Duration = Duration::from_secs(120);
/// The paths measured, in report order.
pub const PATHS: [PathId; 3] = [PathId::Bare, PathId::Gateway, PathId::Relay];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Stream,
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Stream => "stream",
        }
    }
}

/// Instructions per request of one path, or why it could not be measured.
pub struct Row {
    pub id: PathId,
    pub json: Result<f64, String>,
    pub stream: Result<f64, String>,
}

/// What the instruction-count workload found.
#[derive(Default)]
pub struct InstrResults {
    /// `None` when valgrind is not installed (then no rows).
    pub valgrind: Option<String>,
    /// N: the requests by which the two lifetimes differ.
    pub requests: usize,
    /// The mock's pause between stream writes.
    pub delay_ms: u64,
    pub rows: Vec<Row>,
}

impl InstrResults {
    pub fn get(&self, id: PathId, kind: Kind) -> Option<f64> {
        let row = self.rows.iter().find(|r| r.id == id)?;
        match kind {
            Kind::Json => row.json.as_ref().ok().copied(),
            Kind::Stream => row.stream.as_ref().ok().copied(),
        }
    }
}

/// What every lifetime shares.
struct Bench<'a> {
    bins: &'a Binaries,
    dir: PathBuf,
    mock_port: u16,
    log: &'a str,
    requests: usize,
}

/// Measures every chosen path of [`PATHS`] with both request kinds.
pub async fn measure(args: &Args, bins: &Binaries, dir: &Path) -> Result<InstrResults, String> {
    let mut results = InstrResults {
        valgrind: callgrind::version(),
        requests: args.instr_requests,
        delay_ms: args.instr_delay_ms,
        rows: Vec::new(),
    };
    if results.valgrind.is_none() {
        eprintln!("bench: valgrind not found; instruction counts left out");
        return Ok(results);
    }
    let dir = dir.join("instr");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mock_port = free_port()?;
    let mock_args = [
        "--port".to_string(),
        mock_port.to_string(),
        "--chunks".into(),
        CHUNKS.to_string(),
        "--delay-ms".into(),
        args.instr_delay_ms.to_string(),
        "--workers".into(),
        "1".into(),
    ];
    let mock_bin = bins.path("mock-upstream");
    let mut mock = Proc::spawn("mock-upstream", &mock_bin, &mock_args, &[], &dir)?;
    mock.wait_ready(mock_port, None, Duration::from_secs(60))?;
    let b = Bench {
        bins,
        dir,
        mock_port,
        log: &args.server_log,
        requests: args.instr_requests,
    };
    for id in PATHS.into_iter().filter(|p| args.paths.contains(p)) {
        let json = per_request(&b, id, Kind::Json).await;
        let stream = per_request(&b, id, Kind::Stream).await;
        results.rows.push(Row { id, json, stream });
    }
    Ok(results)
}

/// (I(BASE + N) − I(BASE)) ÷ N for one path and request kind.
async fn per_request(b: &Bench<'_>, id: PathId, kind: Kind) -> Result<f64, String> {
    let short = lifetime(b, id, kind, BASE).await?;
    let long = lifetime(b, id, kind, BASE + b.requests).await?;
    let per = (long as f64 - short as f64) / b.requests as f64;
    eprintln!(
        "bench: instr {} {}: {short} and {long} instructions, {per:.0} per request",
        id.label(),
        kind.flag()
    );
    Ok(per)
}

/// One lifetime of the path's servers under callgrind: start, set up, WARM_UP + `requests`
/// requests on one keep-alive connection, SIGTERM; returns the instructions they executed.
async fn lifetime(b: &Bench<'_>, id: PathId, kind: Kind, requests: usize) -> Result<u64, String> {
    let dir = b
        .dir
        .join(format!("{}-{}-{requests}", id.flag(), kind.flag()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!(
        "bench: instr {} {}: {WARM_UP} + {requests} requests under callgrind",
        id.label(),
        kind.flag()
    );
    let (servers, port, key) = start(b, id, &dir).await?;
    let sent = send(port, &key, kind, WARM_UP + requests).await;
    // Stopped even when sending failed, so every server's profile is complete.
    let stopped = stop(servers);
    sent?;
    stopped?;
    callgrind::total(&dir)
}

/// The path's servers (stop order: front first), the port to call and the key to send.
async fn start(b: &Bench<'_>, id: PathId, dir: &Path) -> Result<(Vec<Proc>, u16, String), String> {
    let upstream = format!("http://127.0.0.1:{}", b.mock_port);
    match id {
        PathId::Bare => {
            let port = free_port()?;
            let args = [
                "--port".to_string(),
                port.to_string(),
                "--upstream".into(),
                upstream,
                "--workers".into(),
                "1".into(),
            ];
            let mut p = under_callgrind(b, dir, "bare-proxy", &args, &[])?;
            p.wait_ready(port, None, READY)?;
            Ok((vec![p], port, world::MOCK_KEY.to_string()))
        }
        PathId::Relay => {
            let relay_port = free_port()?;
            let env = world::relay_env(relay_port, b.log);
            let mut relay = under_callgrind(b, dir, "relay", &[], &env)?;
            relay.wait_ready(relay_port, Some("/health"), READY)?;
            let url = format!("http://127.0.0.1:{relay_port}");
            let (gateway, port, key) = gateway(b, dir, Some(&url)).await?;
            Ok((vec![gateway, relay], port, key))
        }
        _ => {
            let (gateway, port, key) = gateway(b, dir, None).await?;
            Ok((vec![gateway], port, key))
        }
    }
}

/// The gateway on a fresh SQLite database with one HTTP worker, set up like the timed runs.
async fn gateway(
    b: &Bench<'_>,
    dir: &Path,
    relay: Option<&str>,
) -> Result<(Proc, u16, String), String> {
    let port = free_port()?;
    let database_url = format!("sqlite://{}", dir.join("gateway.db").display());
    let env = GatewayEnv {
        port,
        database_url: &database_url,
        relay,
        workers: 1,
        log: b.log,
    }
    .vars();
    let mut p = under_callgrind(b, dir, "gateway", &[], &env)?;
    p.wait_ready(port, Some("/health"), READY)?;
    let key = world::setup_gateway(port, b.mock_port, relay.is_some()).await?;
    Ok((p, port, key))
}

fn under_callgrind(
    b: &Bench<'_>,
    dir: &Path,
    program: &str,
    args: &[String],
    env: &[(&str, String)],
) -> Result<Proc, String> {
    let line = callgrind::command(dir, program, &b.bins.path(program), args);
    Proc::spawn(program, Path::new(callgrind::VALGRIND), &line, env, dir)
}

/// `count` requests one after the other over one keep-alive connection; any error, wrong
/// status or wrong event count fails the measurement.
async fn send(port: u16, key: &str, kind: Kind, count: usize) -> Result<(), String> {
    let sse = kind == Kind::Stream;
    let request = crate::client::request(port, world::CHAT_PATH, key, &world::body(sse));
    let expected = sse.then(|| Args::stream_events(CHUNKS));
    let mut run = Run::default();
    let mut conn = None;
    for _ in 0..count {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => conn.insert(Conn::connect(port).await?),
        };
        let sample = tokio::time::timeout(EXCHANGE, c.exchange(&request, sse))
            .await
            .map_err(|_| format!("no complete answer within {EXCHANGE:?}"))??;
        run.record(&sample, expected);
        if let Some(e) = run.first_error.take() {
            return Err(e);
        }
        if run.bad_streams > 0 {
            return Err(format!(
                "a stream had {} events, expected {expected:?} and [DONE]",
                sample.events
            ));
        }
        if !sample.reusable {
            conn = None;
        }
    }
    Ok(())
}

/// SIGTERM to each server in turn, waiting for each to exit; the first failure is returned.
fn stop(servers: Vec<Proc>) -> Result<(), String> {
    let mut result = Ok(());
    for mut p in servers {
        let r = p.terminate(STOP);
        if result.is_ok() {
            result = r;
        }
    }
    result
}

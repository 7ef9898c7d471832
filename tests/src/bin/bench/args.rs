//! Command-line flags of the benchmark.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: bench [flags]   (build with: cargo run --release -p integration-tests --bin bench -- ...)

  --out <file.md>            also write the report as markdown (e.g. docs/benchmark.md)
  --postgres-url <url>       add the gateway-on-PostgreSQL path (env BENCH_POSTGRES_URL);
                             a fresh schema gw_bench_* is created and dropped
  --litellm <path>           LiteLLM proxy executable for the peer row (env BENCH_LITELLM;
                             default: target/litellm-venv/bin/litellm or `litellm` on PATH)
  --no-litellm               leave the LiteLLM row out even when it is found
  --paths <list>             subset of direct,bare,gateway,relay,postgres,litellm
  --workloads <list>         subset of c1,c64,stream,idle,instr (all)
  --rounds <n>               interleaved rounds per workload (3)
  --block-secs <s>           one path's block per round, non-streaming (2)
  --stream-block-secs <s>    one path's block per round, streaming (3)
  --concurrency <n>          connections for c64 and stream (64)
  --stream-chunks <n>        content deltas per stream (50)
  --stream-delay-ms <ms>     mock pacing between stream writes (10)
  --idle-streams <n>         concurrent slow streams for the memory test (2000)
  --idle-chunks <n>          content deltas per slow stream (8)
  --idle-delay-ms <ms>       pacing of the slow streams (1000)
  --ramp-ms <ms>             spread the slow streams' connects over this long (2000)
  --instr-requests <n>       instr: requests by which the two callgrind lifetimes of a
                             path differ; instructions per request = difference / n (200)
  --instr-delay-ms <ms>      instr: mock pacing between stream writes (5; with 0 events
                             coalesce into fewer reads, the more so the slower a server)
  --workers <n>              HTTP workers of mock, bare proxy and gateways (CPUs)
  --client-threads <n>       load generator threads (CPUs)
  --server-log <filter>      RUST_LOG of gateway and relay (info, the product default)
  --keep-logs                keep the servers' logs and databases (the directory is printed)
  --no-build                 do not run `cargo build --release` for the servers first
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathId {
    Direct,
    Bare,
    Gateway,
    Relay,
    Postgres,
    LiteLlm,
}

impl PathId {
    pub const ALL: [PathId; 6] = [
        PathId::Direct,
        PathId::Bare,
        PathId::Gateway,
        PathId::Relay,
        PathId::Postgres,
        PathId::LiteLlm,
    ];

    pub fn flag(self) -> &'static str {
        match self {
            PathId::Direct => "direct",
            PathId::Bare => "bare",
            PathId::Gateway => "gateway",
            PathId::Relay => "relay",
            PathId::Postgres => "postgres",
            PathId::LiteLlm => "litellm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PathId::Direct => "(a) direct to mock",
            PathId::Bare => "(b) bare actix+awc proxy",
            PathId::Gateway => "(c) gateway, SQLite",
            PathId::Relay => "(d) gateway → relay, SQLite",
            PathId::Postgres => "(e) gateway, PostgreSQL",
            PathId::LiteLlm => "peer: LiteLLM proxy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    C1,
    C64,
    Stream,
    Idle,
    /// Instructions per request under callgrind (issue 12).
    Instr,
}

impl Workload {
    const ALL: [Workload; 5] = [
        Workload::C1,
        Workload::C64,
        Workload::Stream,
        Workload::Idle,
        Workload::Instr,
    ];

    fn flag(self) -> &'static str {
        match self {
            Workload::C1 => "c1",
            Workload::C64 => "c64",
            Workload::Stream => "stream",
            Workload::Idle => "idle",
            Workload::Instr => "instr",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub out: Option<PathBuf>,
    pub postgres_url: Option<String>,
    pub litellm: Option<PathBuf>,
    pub no_litellm: bool,
    pub paths: Vec<PathId>,
    pub workloads: Vec<Workload>,
    pub rounds: usize,
    pub block: Duration,
    pub stream_block: Duration,
    pub concurrency: usize,
    pub stream_chunks: usize,
    pub stream_delay_ms: u64,
    pub idle_streams: usize,
    pub idle_chunks: usize,
    pub idle_delay_ms: u64,
    pub ramp: Duration,
    pub instr_requests: usize,
    pub instr_delay_ms: u64,
    pub workers: usize,
    pub client_threads: usize,
    pub server_log: String,
    pub build: bool,
    pub keep_logs: bool,
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("invalid value for {flag}: {v}"))
}

fn secs(flag: &str, v: &str) -> Result<Duration, String> {
    let s: f64 = num(flag, v)?;
    if !(0.05..=3600.0).contains(&s) {
        return Err(format!("{flag} must be between 0.05 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn list<T: Copy>(
    flag: &str,
    v: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Vec<T>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            all.iter()
                .copied()
                .find(|t| name(*t) == s)
                .ok_or_else(|| format!("{flag}: unknown entry {s}"))
        })
        .collect()
}

impl Args {
    pub fn parse() -> Result<Args, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut a = Args {
            out: None,
            postgres_url: env("BENCH_POSTGRES_URL"),
            litellm: env("BENCH_LITELLM").map(PathBuf::from),
            no_litellm: false,
            paths: PathId::ALL.to_vec(),
            workloads: Workload::ALL.to_vec(),
            rounds: 3,
            block: Duration::from_secs(2),
            stream_block: Duration::from_secs(3),
            concurrency: 64,
            stream_chunks: 50,
            stream_delay_ms: 10,
            idle_streams: 2000,
            idle_chunks: 8,
            idle_delay_ms: 1000,
            ramp: Duration::from_millis(2000),
            instr_requests: 200,
            instr_delay_ms: 5,
            workers: cpus(),
            client_threads: cpus(),
            server_log: "info".into(),
            build: true,
            keep_logs: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (arg, None),
            };
            match flag.as_str() {
                "-h" | "--help" => return Err(USAGE.to_string()),
                "--no-build" => {
                    a.build = false;
                    continue;
                }
                "--no-litellm" => {
                    a.no_litellm = true;
                    continue;
                }
                "--keep-logs" => {
                    a.keep_logs = true;
                    continue;
                }
                _ => {}
            }
            if !USAGE.contains(&format!("  {flag} <")) {
                return Err(format!("unknown flag {flag}\n\n{USAGE}"));
            }
            let v = match inline.or_else(|| it.next()) {
                Some(v) => v,
                None => return Err(format!("{flag} needs a value\n\n{USAGE}")),
            };
            match flag.as_str() {
                "--out" => a.out = Some(PathBuf::from(v)),
                "--postgres-url" => a.postgres_url = Some(v),
                "--litellm" => a.litellm = Some(PathBuf::from(v)),
                "--paths" => a.paths = list(&flag, &v, &PathId::ALL, PathId::flag)?,
                "--workloads" => a.workloads = list(&flag, &v, &Workload::ALL, Workload::flag)?,
                "--rounds" => a.rounds = num(&flag, &v)?,
                "--block-secs" => a.block = secs(&flag, &v)?,
                "--stream-block-secs" => a.stream_block = secs(&flag, &v)?,
                "--concurrency" => a.concurrency = num(&flag, &v)?,
                "--stream-chunks" => a.stream_chunks = num(&flag, &v)?,
                "--stream-delay-ms" => a.stream_delay_ms = num(&flag, &v)?,
                "--idle-streams" => a.idle_streams = num(&flag, &v)?,
                "--idle-chunks" => a.idle_chunks = num(&flag, &v)?,
                "--idle-delay-ms" => a.idle_delay_ms = num(&flag, &v)?,
                "--ramp-ms" => a.ramp = Duration::from_millis(num(&flag, &v)?),
                "--instr-requests" => a.instr_requests = num(&flag, &v)?,
                "--instr-delay-ms" => a.instr_delay_ms = num(&flag, &v)?,
                "--workers" => a.workers = num(&flag, &v)?,
                "--client-threads" => a.client_threads = num(&flag, &v)?,
                "--server-log" => a.server_log = v,
                _ => return Err(format!("unknown flag {flag}\n\n{USAGE}")),
            }
        }
        a.check()?;
        Ok(a)
    }

    fn check(&self) -> Result<(), String> {
        let bounded = |name: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be between {lo} and {hi}"))
            }
        };
        bounded("--rounds", self.rounds, 1, 100)?;
        bounded("--concurrency", self.concurrency, 1, 4096)?;
        bounded("--stream-chunks", self.stream_chunks, 1, 10_000)?;
        bounded("--idle-streams", self.idle_streams, 1, 8000)?;
        bounded("--idle-chunks", self.idle_chunks, 1, 1000)?;
        bounded("--instr-requests", self.instr_requests, 1, 100_000)?;
        bounded("--workers", self.workers, 1, 256)?;
        bounded("--client-threads", self.client_threads, 1, 256)?;
        if self.stream_delay_ms > 10_000
            || self.idle_delay_ms > 60_000
            || self.instr_delay_ms > 1000
        {
            return Err(
                "stream delays are capped at 10 s (stream), 60 s (idle) and 1 s (instr)".into(),
            );
        }
        Ok(())
    }

    pub fn has(&self, w: Workload) -> bool {
        self.workloads.contains(&w)
    }

    /// Whether any workload runs the servers natively and times them.
    pub fn timed(&self) -> bool {
        self.workloads.iter().any(|w| *w != Workload::Instr)
    }

    /// SSE events a stream carries with `include_usage`: role, deltas, finish, usage, `[DONE]`.
    pub fn stream_events(chunks: usize) -> u32 {
        chunks as u32 + 4
    }

    /// How long one slow stream lasts at the mock: a pause between consecutive writes.
    pub fn idle_stream_time(&self) -> Duration {
        Duration::from_millis(self.idle_delay_ms * (Self::stream_events(self.idle_chunks) as u64))
    }
}

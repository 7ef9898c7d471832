//! `mock-upstream`: the test mock as a standalone server, for benchmarks and manual runs.
//!
//! Flags (each also readable from the environment variable in brackets):
//! `--host` [MOCK_HOST] (127.0.0.1), `--port` [MOCK_PORT] (8089), `--latency-ms`
//! [MOCK_LATENCY_MS] pause before the response head, `--chunks` [MOCK_CHUNKS] content
//! deltas per stream, `--delay-ms` [MOCK_DELAY_MS] pause between stream writes,
//! `--chunk-bytes` [MOCK_CHUNK_BYTES] split stream writes, `--no-usage` [MOCK_NO_USAGE=1],
//! `--api-key` [MOCK_API_KEY] required key, `--workers` [MOCK_WORKERS] runtime threads.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use integration_tests::mock_upstream::{MockOptions, MockUpstream};

const FLAGS: &[(&str, &str)] = &[
    ("--host", "MOCK_HOST"),
    ("--port", "MOCK_PORT"),
    ("--latency-ms", "MOCK_LATENCY_MS"),
    ("--chunks", "MOCK_CHUNKS"),
    ("--delay-ms", "MOCK_DELAY_MS"),
    ("--chunk-bytes", "MOCK_CHUNK_BYTES"),
    ("--api-key", "MOCK_API_KEY"),
    ("--workers", "MOCK_WORKERS"),
];

fn usage() -> String {
    let flags: Vec<String> = FLAGS
        .iter()
        .map(|(flag, env)| format!("  {flag} <value>   (env {env})"))
        .collect();
    format!(
        "usage: mock-upstream [flags]\n{}\n  --no-usage   (env MOCK_NO_USAGE=1)",
        flags.join("\n")
    )
}

struct Args(Vec<(String, String)>);

impl Args {
    fn parse() -> Result<Self, String> {
        let mut values: Vec<(String, String)> = FLAGS
            .iter()
            .filter_map(|(flag, env)| Some((flag.to_string(), std::env::var(env).ok()?)))
            .collect();
        if std::env::var("MOCK_NO_USAGE").is_ok_and(|v| v == "1" || v == "true") {
            values.push(("--no-usage".into(), String::new()));
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
                None => (arg, None),
            };
            if flag == "--help" || flag == "-h" {
                return Err(usage());
            } else if flag == "--no-usage" {
                values.push((flag, String::new()));
            } else if FLAGS.iter().any(|(f, _)| *f == flag) {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or(format!("{flag} needs a value"))?;
                values.push((flag, value));
            } else {
                return Err(format!(
                    "unknown argument {flag}; see the source header for flags"
                ));
            }
        }
        Ok(Self(values))
    }

    fn get<T: std::str::FromStr>(&self, flag: &str, default: T) -> Result<T, String> {
        match self.0.iter().rev().find(|(f, _)| f == flag) {
            Some((_, value)) => value
                .parse()
                .map_err(|_| format!("invalid {flag}: {value}")),
            None => Ok(default),
        }
    }

    fn has(&self, flag: &str) -> bool {
        self.0.iter().any(|(f, _)| f == flag)
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse()?;
    let host: IpAddr = args.get("--host", IpAddr::from([127, 0, 0, 1]))?;
    let addr = SocketAddr::new(host, args.get("--port", 8089)?);
    let defaults = MockOptions::default();
    let options = MockOptions {
        head_delay: Duration::from_millis(args.get("--latency-ms", 0)?),
        delay: Duration::from_millis(args.get("--delay-ms", 0)?),
        chunks: args.get("--chunks", defaults.chunks)?,
        chunk_bytes: match args.get("--chunk-bytes", 0usize)? {
            0 => None,
            n => Some(n),
        },
        usage: defaults.usage.filter(|_| !args.has("--no-usage")),
        api_key: args
            .has("--api-key")
            .then(|| args.get("--api-key", String::new()))
            .transpose()?,
        ..MockOptions::default()
    };
    let workers = args.get("--workers", 4usize)?;
    let mock = MockUpstream::start_on(addr, options, workers)
        .map_err(|err| format!("cannot listen on {addr}: {err}"))?;
    println!("mock-upstream listening on {}", mock.url());
    // The server runs on its own threads; this one only waits for Ctrl-C.
    let _ = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?
        .block_on(tokio::signal::ctrl_c());
    drop(mock);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mock-upstream: {message}");
            ExitCode::FAILURE
        }
    }
}

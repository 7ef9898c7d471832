//! `bench`: the reproducible benchmark of issue 7. Starts the mock upstream, a bare
//! actix-web + awc pass-through proxy, the gateway on SQLite, the gateway through the relay,
//! optionally the gateway on PostgreSQL and a LiteLLM proxy, all on 127.0.0.1; drives them
//! with the same built-in load generator in interleaved blocks; prints a markdown report
//! (and writes it with `--out`). The `instr` workload (issue 12) then counts instructions per
//! request with the servers under callgrind. Every server is killed when the run ends, fails,
//! panics or is interrupted.
//!
//! Run: `cargo run --release -p integration-tests --bin bench -- --out docs/benchmark.md`
//! (`--help` lists the flags). It first runs `cargo build --release` for the gateway, relay
//! and test binaries (skip with `--no-build`).

mod args;
mod callgrind;
mod client;
mod instr;
mod instr_report;
mod load;
mod machine;
mod pg;
mod procs;
mod report;
mod stats;
mod world;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use args::{Args, PathId, Workload};
use load::{IdleResult, Load};
use report::{Context, Results};
use stats::Run;
use world::{Pacing, World};

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(message) if message == args::USAGE => {
            println!("{message}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bench: {message}");
            return ExitCode::FAILURE;
        }
    };
    let fd_limit = procs::raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The run future is polled on this (main) thread, so every server is spawned from it
    // and dies with it (PR_SET_PDEATHSIG); dropping the future on Ctrl-C kills them too.
    let result = runtime.block_on(async {
        tokio::select! {
            r = run(&args, fd_limit) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted; all servers stopped".to_string()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, fd_limit: u64) -> Result<(), String> {
    let bins = procs::Binaries::locate(args.build)?;
    let started = Instant::now();
    let machine = machine::Machine::read(&bins.root);
    let root = bins.root.clone();
    // Per process at most: the client's streams, or a proxy's two sides of them.
    let needed = 2 * args.idle_streams as u64 + 256;
    if args.has(Workload::Idle) && fd_limit < needed {
        return Err(format!(
            "the file-descriptor limit is {fd_limit}, the slow-stream test needs about {needed}: \
             raise it (ulimit -n) or lower --idle-streams"
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("gw-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    eprintln!("bench: servers log to {}", dir.path().display());
    let mut results = Results::default();
    let (notes, litellm_version) = match args.timed() {
        true => timed(args, bins.clone(), dir.path(), &mut results).await?,
        false => (Vec::new(), None),
    };
    // After the timed workloads, whose servers are gone by now: callgrind runs alone.
    if args.has(Workload::Instr) {
        results.instr = Some(instr::measure(args, &bins, dir.path()).await?);
    }
    results.load_after = machine::load_average();
    results.wall = started.elapsed();

    let ctx = Context {
        args,
        machine: &machine,
        notes: &notes,
        litellm_version: litellm_version.as_deref(),
        fd_limit,
    };
    let text = report::render(&ctx, &results);
    println!("{text}");
    if let Some(out) = &args.out {
        let path = match out.is_absolute() {
            true => out.clone(),
            false => std::env::current_dir()
                .unwrap_or_else(|_| root.clone())
                .join(out),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("bench: report written to {}", path.display());
    }
    if args.keep_logs {
        eprintln!("bench: logs kept in {}", dir.keep().display());
    }
    Ok(())
}

/// The timed workloads on natively running servers (all stopped when this returns); gives
/// the report's notes and the LiteLLM version.
async fn timed(
    args: &Args,
    bins: procs::Binaries,
    dir: &std::path::Path,
    results: &mut Results,
) -> Result<(Vec<String>, Option<String>), String> {
    let mut world = World::start(args, bins, dir).await?;

    warm_up(&world).await;
    // A fresh mock per workload: it records every request, so this bounds its memory.
    let fast = Pacing {
        chunks: args.stream_chunks,
        delay_ms: args.stream_delay_ms,
    };
    let stream_events = Args::stream_events(args.stream_chunks);
    let json_timeout = Duration::from_secs(30);
    let stream_timeout = Duration::from_millis(args.stream_delay_ms * stream_events as u64)
        + Duration::from_secs(30);
    if args.has(Workload::C1) {
        let load = Load {
            concurrency: 1,
            duration: args.block,
            expected: None,
            timeout: json_timeout,
        };
        world.start_mock(fast)?;
        results.c1 = interleaved(&world, args, "c=1", &load).await;
    }
    if args.has(Workload::C64) {
        let load = Load {
            concurrency: args.concurrency,
            duration: args.block,
            expected: None,
            timeout: json_timeout,
        };
        world.start_mock(fast)?;
        results.c64 = interleaved(&world, args, "c=64", &load).await;
    }
    if args.has(Workload::Stream) {
        let load = Load {
            concurrency: args.concurrency,
            duration: args.stream_block,
            expected: Some(stream_events),
            timeout: stream_timeout,
        };
        world.start_mock(fast)?;
        results.stream = interleaved(&world, args, "stream", &load).await;
    }
    if args.has(Workload::Idle) {
        world.start_mock(Pacing {
            chunks: args.idle_chunks,
            delay_ms: args.idle_delay_ms,
        })?;
        results.idle = idle_streams(&world, args).await;
    }
    results.memory = world
        .procs
        .iter()
        .map(|p| {
            let (rss, hwm) = p.memory().unwrap_or((0, 0));
            (p.name.clone(), hwm, rss)
        })
        .collect();
    let mut notes = world.notes.clone();
    if args.has(Workload::Idle) {
        notes.push(
            "The mock is restarted (same port) before each workload, with slow pacing for the \
             slow-stream test, so its memory row covers that last test only."
                .into(),
        );
    }
    Ok((notes, world.litellm_version.clone()))
}

/// Fills connection pools, caches and tokenizer tables on every path before measuring.
async fn warm_up(world: &World) {
    let load = Load {
        concurrency: 8,
        duration: Duration::from_millis(500),
        expected: None,
        timeout: Duration::from_secs(30),
    };
    for t in &world.targets {
        eprintln!("bench: warm-up {}", t.id.label());
        let r = load::block(t.port, t.json.clone(), &load).await;
        if let Some(e) = r.first_error {
            eprintln!("bench:   warm-up errors on {}: {e}", t.id.label());
        }
    }
}

/// Runs `load` on every path, `rounds` times, rotating the order each round.
async fn interleaved(world: &World, args: &Args, name: &str, load: &Load) -> Vec<(PathId, Run)> {
    let n = world.targets.len();
    let mut runs = vec![Run::default(); n];
    for round in 0..args.rounds {
        for k in 0..n {
            let i = (k + round) % n;
            let t = &world.targets[i];
            let request = match load.expected {
                Some(_) => t.stream.clone(),
                None => t.json.clone(),
            };
            let r = load::block(t.port, request, load).await;
            eprintln!(
                "bench: {name} round {}/{}: {:<28} {:>7} ok {:>4} errors {:>8.0}/s",
                round + 1,
                args.rounds,
                t.id.label(),
                r.ok,
                r.errors,
                r.rate()
            );
            runs[i].merge(r);
        }
    }
    world
        .targets
        .iter()
        .zip(runs)
        .map(|(t, mut r)| {
            r.sort();
            (t.id, r)
        })
        .collect()
}

/// The memory test on every path but the direct one.
async fn idle_streams(world: &World, args: &Args) -> Vec<(PathId, IdleResult)> {
    let events = Args::stream_events(args.idle_chunks);
    let load = Load {
        concurrency: args.idle_streams,
        duration: Duration::ZERO,
        expected: Some(events),
        timeout: args.idle_stream_time() + args.ramp + Duration::from_secs(60),
    };
    let mut out = Vec::new();
    for t in world.targets.iter().filter(|t| t.id != PathId::Direct) {
        let procs: Vec<&procs::Proc> = t.procs.iter().map(|i| &world.procs[*i]).collect();
        eprintln!(
            "bench: {} slow streams through {} (~{} s)",
            args.idle_streams,
            t.id.label(),
            (args.idle_stream_time() + args.ramp).as_secs()
        );
        let mut r = load::idle(
            t.port,
            t.stream.clone(),
            args.idle_streams,
            args.ramp,
            &load,
            &procs,
        )
        .await;
        r.run.sort();
        eprintln!(
            "bench:   {} ok, {} errors, peak open {}",
            r.run.ok, r.run.errors, r.peak_in_flight
        );
        out.push((t.id, r));
        // Let the servers close the finished connections before the next path.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    out
}

//! The markdown report: settings, one table per workload, memory, and the targets.

use std::fmt::Write;
use std::time::Duration;

use crate::args::{Args, PathId};
use crate::load::IdleResult;
use crate::machine::Machine;
use crate::stats::Run;

/// Everything measured, in path order.
#[derive(Default)]
pub struct Results {
    pub c1: Vec<(PathId, Run)>,
    pub c64: Vec<(PathId, Run)>,
    pub stream: Vec<(PathId, Run)>,
    pub idle: Vec<(PathId, IdleResult)>,
    /// Per process: name, VmHWM and VmRSS at the end (kB).
    pub memory: Vec<(String, u64, u64)>,
    /// Instructions per request; `None` when the workload was not chosen.
    pub instr: Option<crate::instr::InstrResults>,
    pub load_after: String,
    pub wall: Duration,
}

pub struct Context<'a> {
    pub args: &'a Args,
    pub machine: &'a Machine,
    pub notes: &'a [String],
    pub litellm_version: Option<&'a str>,
    pub fd_limit: u64,
}

fn get(rows: &[(PathId, Run)], id: PathId) -> Option<&Run> {
    rows.iter().find(|(p, _)| *p == id).map(|(_, r)| r)
}

fn p50(rows: &[(PathId, Run)], id: PathId) -> Option<Duration> {
    get(rows, id).and_then(|x| x.latency.pct(50.0))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// 87 µs, 1.23 ms, 123.4 ms, 1.23 s.
fn dur(d: Option<Duration>) -> String {
    match d {
        None => "—".into(),
        Some(d) => signed(us(d)).trim_start_matches('+').to_string(),
    }
}

fn signed(micros: f64) -> String {
    let sign = if micros < 0.0 { "−" } else { "+" };
    let m = micros.abs();
    let text = if m < 1000.0 {
        format!("{m:.0} µs")
    } else if m < 10_000.0 {
        format!("{:.2} ms", m / 1000.0)
    } else if m < 1_000_000.0 {
        format!("{:.1} ms", m / 1000.0)
    } else {
        format!("{:.2} s", m / 1e6)
    };
    format!("{sign}{text}")
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// `path − direct` at percentile `p`, in µs.
fn added(run: &Run, direct: Option<&Run>, p: f64, ttfb: bool) -> Option<f64> {
    let pick = |r: &Run| match ttfb {
        true => r.first_event.pct(p),
        false => r.latency.pct(p),
    };
    Some(us(pick(run)?) - us(pick(direct?)?))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

fn error_note(out: &mut String, rows: &[(PathId, Run)]) {
    for (id, r) in rows {
        if let Some(e) = &r.first_error {
            let _ = writeln!(
                out,
                "\n{}: {} error(s), first: `{}`",
                id.label(),
                r.errors,
                e.replace('`', "'")
            );
        }
        if !r.bad_counts.is_empty() {
            let counts: Vec<String> = r
                .bad_counts
                .iter()
                .map(|(events, n)| format!("{n} stream(s) with {events} events"))
                .collect();
            let _ = writeln!(
                out,
                "\n{}: wrong event count or no [DONE]: {}",
                id.label(),
                counts.join(", ")
            );
        }
    }
}

fn latency_table(out: &mut String, title: &str, rows: &[(PathId, Run)], throughput: bool) {
    if rows.is_empty() {
        return;
    }
    let direct = get(rows, PathId::Direct);
    let bare = get(rows, PathId::Bare);
    let bare_added = bare.and_then(|b| added(b, direct, 50.0, false));
    let _ = writeln!(out, "\n### {title}\n");
    let _ = writeln!(
        out,
        "| path | ok | errors | req/s | p50 | p90 | p99 | added p50 | added p90 | added p99 | added p50 ÷ bare's |{}",
        if throughput { " req/s ÷ bare's |" } else { "" }
    );
    let _ = writeln!(
        out,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|{}",
        if throughput { "--:|" } else { "" }
    );
    for (id, r) in rows {
        let add = |p| match id {
            PathId::Direct => "—".to_string(),
            _ => added(r, direct, p, false).map_or("—".into(), signed),
        };
        let _ = write!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            id.label(),
            r.ok,
            r.errors,
            r.rate(),
            dur(r.latency.pct(50.0)),
            dur(r.latency.pct(90.0)),
            dur(r.latency.pct(99.0)),
            add(50.0),
            add(90.0),
            add(99.0),
            match id {
                PathId::Direct => "—".into(),
                _ => ratio(added(r, direct, 50.0, false), bare_added),
            },
        );
        if throughput {
            let _ = write!(out, " {} |", ratio(Some(r.rate()), bare.map(Run::rate)));
        }
        out.push('\n');
    }
    error_note(out, rows);
}

fn stream_table(out: &mut String, ctx: &Context, rows: &[(PathId, Run)]) {
    if rows.is_empty() {
        return;
    }
    let a = ctx.args;
    let limit = Duration::from_millis(a.stream_delay_ms + 5);
    let direct = get(rows, PathId::Direct);
    let bare_added = get(rows, PathId::Bare).and_then(|b| added(b, direct, 50.0, true));
    let _ = writeln!(
        out,
        "\n### Streaming chat: {} deltas ({} SSE events) paced {} ms apart, concurrency {}\n",
        a.stream_chunks,
        Args::stream_events(a.stream_chunks),
        a.stream_delay_ms,
        a.concurrency
    );
    let _ = writeln!(
        out,
        "| path | streams ok | errors | wrong count | streams/s | TTFB p50 | TTFB p99 | added TTFB p50 | ÷ bare's | stream p50 | max gap p50 | max gap p99 | max gap max | gaps > {} ms |",
        a.stream_delay_ms + 5
    );
    let _ = writeln!(
        out,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    for (id, r) in rows {
        let add = added(r, direct, 50.0, true);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            id.label(),
            r.ok,
            r.errors,
            r.bad_streams,
            r.rate(),
            dur(r.first_event.pct(50.0)),
            dur(r.first_event.pct(99.0)),
            match id {
                PathId::Direct => "—".into(),
                _ => add.map_or("—".into(), signed),
            },
            match id {
                PathId::Direct => "—".into(),
                _ => ratio(add, bare_added),
            },
            dur(r.latency.pct(50.0)),
            dur(r.max_gap.pct(50.0)),
            dur(r.max_gap.pct(99.0)),
            dur(r.max_gap.max()),
            r.max_gap.count_above(limit),
        );
    }
    error_note(out, rows);
}

fn idle_table(out: &mut String, ctx: &Context, rows: &[(PathId, IdleResult)]) {
    if rows.is_empty() {
        return;
    }
    let a = ctx.args;
    let _ = writeln!(
        out,
        "\n### {} concurrent slow streams ({} events, one every {} ms, ~{} s each): memory\n",
        a.idle_streams,
        Args::stream_events(a.idle_chunks),
        a.idle_delay_ms,
        a.idle_stream_time().as_secs()
    );
    let _ = writeln!(
        out,
        "| path | streams ok | errors | wrong count | peak open | TTFB p50 | TTFB p99 | process | RSS before | peak RSS under load |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|---|--:|--:|");
    for (id, r) in rows {
        let mut first = true;
        let procs: Vec<(String, u64, u64)> = match r.rss.is_empty() {
            true => vec![("(mock only)".into(), 0, 0)],
            false => r.rss.clone(),
        };
        for (name, before, peak) in procs {
            let (b, p) = match before + peak {
                0 => ("—".into(), "—".into()),
                _ => (mb(before), mb(peak)),
            };
            if first {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {name} | {b} | {p} |",
                    id.label(),
                    r.run.ok,
                    r.run.errors,
                    r.run.bad_streams,
                    r.peak_in_flight,
                    dur(r.run.first_event.pct(50.0)),
                    dur(r.run.first_event.pct(99.0)),
                );
                first = false;
            } else {
                let _ = writeln!(out, "| | | | | | | | {name} | {b} | {p} |");
            }
        }
    }
    let runs: Vec<(PathId, Run)> = rows.iter().map(|(id, r)| (*id, r.run.clone())).collect();
    error_note(out, &runs);
}

fn memory_table(out: &mut String, rows: &[(String, u64, u64)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Peak memory of each process over the whole run\n"
    );
    let _ = writeln!(out, "| process | peak RSS (VmHWM) | RSS at the end |");
    let _ = writeln!(out, "|---|--:|--:|");
    for (name, hwm, rss) in rows {
        let _ = writeln!(out, "| {name} | {} | {} |", mb(*hwm), mb(*rss));
    }
}

fn idle_peak(r: &Results, id: PathId, process: &str) -> Option<u64> {
    let (_, res) = r.idle.iter().find(|(p, _)| *p == id)?;
    res.rss
        .iter()
        .find(|(name, _, _)| name == process)
        .map(|(_, _, peak)| *peak)
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn line(out: &mut String, ok: Option<bool>, text: String) {
    let _ = writeln!(out, "- {}: {text}", verdict(ok));
}

fn targets(out: &mut String, ctx: &Context, r: &Results) {
    let _ = writeln!(out, "\n### Targets from issues 7 and 12\n");
    if ctx.args.timed() {
        timed_targets(out, ctx, r);
    }
    if r.instr.is_some() {
        for (ok, text) in crate::instr_report::targets(r.instr.as_ref()) {
            line(out, ok, text);
        }
    }
}

fn timed_targets(out: &mut String, ctx: &Context, r: &Results) {
    let direct = get(&r.c1, PathId::Direct);
    let gw = get(&r.c1, PathId::Gateway);
    let bare = get(&r.c1, PathId::Bare);
    let gw_add = gw.and_then(|g| added(g, direct, 50.0, false));
    let gw_add99 = gw.and_then(|g| added(g, direct, 99.0, false));
    let bare_add = bare.and_then(|b| added(b, direct, 50.0, false));
    let both = |a: Option<f64>, b: Option<f64>| a.zip(b);
    line(
        out,
        both(gw_add, bare_add).map(|(g, b)| g <= 1.5 * b),
        format!(
            "c=1 gateway added p50 ≤ 1.5 × bare's: {} vs {} ({})",
            gw_add.map_or("—".into(), signed),
            bare_add.map_or("—".into(), signed),
            ratio(gw_add, bare_add)
        ),
    );
    line(
        out,
        gw_add99.map(|g| g <= 1000.0),
        format!(
            "c=1 gateway added p99 ≤ 1 ms: {}",
            gw_add99.map_or("—".into(), signed)
        ),
    );
    let rate = |id| get(&r.c64, id).map(Run::rate);
    line(
        out,
        both(rate(PathId::Gateway), rate(PathId::Bare)).map(|(g, b)| g >= 0.6 * b),
        format!(
            "c=64 gateway throughput ≥ 0.6 × bare's: {:.0} vs {:.0} req/s ({})",
            rate(PathId::Gateway).unwrap_or(0.0),
            rate(PathId::Bare).unwrap_or(0.0),
            ratio(rate(PathId::Gateway), rate(PathId::Bare))
        ),
    );
    let limit = Duration::from_millis(ctx.args.stream_delay_ms + 5);
    let stream_ok =
        |id| get(&r.stream, id).map(|s| s.ok > 0 && s.errors == 0 && s.bad_streams == 0);
    let gaps = |id| get(&r.stream, id).map(|s| s.max_gap.count_above(limit));
    for id in [PathId::Gateway, PathId::Relay] {
        let Some(s) = get(&r.stream, id) else {
            continue;
        };
        line(
            out,
            stream_ok(id),
            format!(
                "{}: streaming chunks out = chunks in ({} streams ok, {} wrong, {} errors)",
                id.label(),
                s.ok,
                s.bad_streams,
                s.errors
            ),
        );
        line(
            out,
            gaps(id).map(|n| n == 0),
            format!(
                "{}: no stream slower than the pacing + 5 ms: {} of {} streams had a gap > {} ms \
                 (max {}); direct to the mock: {} such streams",
                id.label(),
                gaps(id).unwrap_or(0),
                s.ok,
                limit.as_millis(),
                dur(s.max_gap.max()),
                gaps(PathId::Direct).map_or("—".into(), |n| n.to_string())
            ),
        );
    }
    // The same check relative to the mock's own pacing as the client saw it directly, which
    // separates what a path adds from what the loaded machine adds to every path.
    let sd = get(&r.stream, PathId::Direct);
    let direct_gap = sd.and_then(|s| s.max_gap.pct(99.0));
    for id in [PathId::Gateway, PathId::Relay] {
        let Some(s) = get(&r.stream, id) else {
            continue;
        };
        let extra = s
            .max_gap
            .pct(99.0)
            .zip(direct_gap)
            .map(|(p, d)| us(p) - us(d));
        line(
            out,
            extra.map(|e| e <= 5000.0),
            format!(
                "{}: p99 of the per-stream longest gap within 5 ms of direct's: {} vs {} ({})",
                id.label(),
                dur(s.max_gap.pct(99.0)),
                dur(direct_gap),
                extra.map_or("—".into(), signed)
            ),
        );
    }
    let ttfb = |id| get(&r.stream, id).and_then(|s| added(s, sd, 50.0, true));
    line(
        out,
        both(ttfb(PathId::Gateway), ttfb(PathId::Bare)).map(|(g, b)| g <= 2.0 * b),
        format!(
            "streaming TTFB added ≤ 2 × bare's: gateway {} vs bare {} ({})",
            ttfb(PathId::Gateway).map_or("—".into(), signed),
            ttfb(PathId::Bare).map_or("—".into(), signed),
            ratio(ttfb(PathId::Gateway), ttfb(PathId::Bare))
        ),
    );
    let hop = p50(&r.c1, PathId::Relay)
        .zip(p50(&r.c1, PathId::Gateway))
        .map(|(a, b)| us(a) - us(b));
    line(
        out,
        both(hop, bare_add).map(|(h, b)| h <= 1.2 * b),
        format!(
            "the relay hop (gateway → relay minus gateway, c=1 p50) ≤ 1.2 × bare's added: {} vs {} ({})",
            hop.map_or("—".into(), signed),
            bare_add.map_or("—".into(), signed),
            ratio(hop, bare_add)
        ),
    );
    let relay_rss = idle_peak(r, PathId::Relay, "relay");
    line(
        out,
        relay_rss.map(|kb| kb < 64 * 1024),
        format!(
            "{} streams: relay RSS < 64 MB: {}",
            ctx.args.idle_streams,
            relay_rss.map_or("—".into(), mb)
        ),
    );
    for (id, name) in [
        (PathId::Gateway, "gateway"),
        (PathId::Relay, "gateway-via-relay"),
    ] {
        let kb = idle_peak(r, id, name);
        if kb.is_some() {
            line(
                out,
                kb.map(|kb| kb < 128 * 1024),
                format!(
                    "{} streams: {name} RSS < 128 MB: {}",
                    ctx.args.idle_streams,
                    kb.map_or("—".into(), mb)
                ),
            );
        }
    }
}

/// The settings of the timed workloads.
fn timed_settings(out: &mut String, ctx: &Context, r: &Results) {
    let a = ctx.args;
    let _ = writeln!(
        out,
        "- load generator: the bench's own Rust client (tokio, {} threads, one keep-alive HTTP/1.1 \
         connection per virtual user, TCP_NODELAY, the same request bytes for every path); \
         closed loop: each user sends its next request when the previous answer is complete",
        a.client_threads
    );
    let _ = writeln!(
        out,
        "- schedule: rounds: {}; in each round every path gets one block ({} s non-streaming, {} s streaming) \
         in rotating order; each connection makes one untimed warm-up request; whole run {:.0} s",
        a.rounds,
        a.block.as_secs_f64(),
        a.stream_block.as_secs_f64(),
        r.wall.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "- servers: release builds; mock-upstream, bare-proxy and gateways with {} HTTP workers, the relay \
         with its default; gateway and relay with RUST_LOG={} (one access-log line per request, the \
         product default); gateways on a fresh database each, one OpenAI channel to the mock, an \
         unlimited key; file-descriptor limit {}",
        a.workers, a.server_log, ctx.fd_limit
    );
    let _ = writeln!(
        out,
        "- request: `POST /v1/chat/completions`, model {}, one ~240-character user message; streams ask \
         for `stream_options.include_usage` so every upstream event reaches the client. \"added\" = path \
         minus direct at the same percentile; \"÷ bare's\" divides by the bare proxy's added figure",
        crate::world::MODEL
    );
    if let Some(v) = ctx.litellm_version {
        let _ = writeln!(
            out,
            "- peer: LiteLLM proxy {v}, `--num_workers {}`, no database, master key, model list pointing at the same mock",
            a.workers
        );
    }
}

pub fn render(ctx: &Context, r: &Results) -> String {
    let (a, m) = (ctx.args, ctx.machine);
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark: gateway and relay overhead\n");
    let flags: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(
        out,
        "Generated by `cargo run --release -p integration-tests --bin bench -- {}`; \
         everything runs on 127.0.0.1 on one machine.\n",
        flags.join(" ")
    );
    let _ = writeln!(out, "- date: {}", m.date);
    let _ = writeln!(
        out,
        "- machine: {} CPUs ({}), {} RAM, Linux {}, {}",
        m.cpus, m.cpu_model, m.memory, m.kernel, m.rustc
    );
    let _ = writeln!(out, "- commit: {}", m.commit);
    let _ = writeln!(
        out,
        "- load average (1/5/15 min) before: {}, after: {} (other work on the machine skews absolute figures; \
         paths are interleaved so it hits all of them alike)",
        m.load_before, r.load_after
    );
    if a.timed() {
        timed_settings(&mut out, ctx, r);
    }
    latency_table(&mut out, "Non-streaming chat, concurrency 1", &r.c1, false);
    latency_table(
        &mut out,
        &format!("Non-streaming chat, concurrency {}", a.concurrency),
        &r.c64,
        true,
    );
    stream_table(&mut out, ctx, &r.stream);
    idle_table(&mut out, ctx, &r.idle);
    memory_table(&mut out, &r.memory);
    crate::instr_report::section(&mut out, r.instr.as_ref(), &a.server_log);
    targets(&mut out, ctx, r);
    let _ = writeln!(out, "\n### Notes\n");
    let _ = writeln!(
        out,
        "- What bounds the missed targets and what would reach them: [performance.md](performance.md)."
    );
    for n in ctx.notes {
        let _ = writeln!(out, "- {n}");
    }
    out
}

//! The report's instruction-count section and its two targets (issue 12).

use std::fmt::Write;

use crate::args::{Args, PathId};
use crate::instr::{InstrResults, Kind, BASE, CHUNKS, WARM_UP};

/// 1234567 → `1,234,567`.
pub fn count(n: f64) -> String {
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match n < 0.0 {
        true => format!("−{out}"),
        false => out,
    }
}

fn cell(v: &Result<f64, String>) -> String {
    match v {
        Ok(n) => count(*n),
        Err(_) => "failed".into(),
    }
}

fn ratio(r: &InstrResults, id: PathId, kind: Kind) -> String {
    match (r.get(id, kind), r.get(PathId::Bare, kind)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

/// The section; `log` is the servers' RUST_LOG.
pub fn section(out: &mut String, r: Option<&InstrResults>, log: &str) {
    let Some(r) = r else { return };
    let _ = writeln!(out, "\n### Instructions per request (callgrind)\n");
    let Some(version) = &r.valgrind else {
        let _ = writeln!(
            out,
            "Not measured: valgrind is not installed (`apt-get install valgrind` adds these rows)."
        );
        return;
    };
    let _ = writeln!(
        out,
        "Each path's servers run under `{version}` `--tool=callgrind` (the mock natively), the \
         bare proxy and the gateway with one HTTP worker, the gateway on a fresh SQLite database \
         with RUST_LOG={} (the access log on), its settlement writer, no Redis and no OTLP. Two \
         lifetimes per path and kind: start, set up, {WARM_UP} warm-up requests, then {BASE} or \
         {BASE} + N requests one after the other on one keep-alive connection, SIGTERM (the \
         gateway drains its settlement writer before it exits). Instructions per request = \
         (second total − first total) ÷ N, N = {}; every thread of the process counts; (d) adds \
         the gateway's and the relay's. Streams: {CHUNKS} deltas ({} SSE events) {}. The settlement \
         writer keeps its default interval (`SETTLEMENT_INTERVAL_MS`, 1 s of wall time); callgrind \
         slows the servers some 50 times, so each of its transactions carries fewer settlements \
         than at native speed and weighs a little more per request here.\n",
        log,
        r.requests,
        Args::stream_events(CHUNKS),
        match r.delay_ms {
            0 => "written back to back (so several may reach a server in one read)".to_string(),
            d => format!(
                "written {d} ms apart, so each reaches the servers in a read of its own, as an \
                 LLM's tokens do"
            ),
        }
    );
    let _ = writeln!(
        out,
        "| path | non-streaming instructions/request | ÷ bare's | streaming instructions/request | ÷ bare's |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|");
    for row in &r.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.id.label(),
            cell(&row.json),
            ratio(r, row.id, Kind::Json),
            cell(&row.stream),
            ratio(r, row.id, Kind::Stream),
        );
    }
    for row in &r.rows {
        for (kind, v) in [("non-streaming", &row.json), ("streaming", &row.stream)] {
            if let Err(e) = v {
                let first = e.lines().next().unwrap_or("").replace('`', "'");
                let _ = writeln!(out, "\n{} {kind}: failed: `{first}`", row.id.label());
            }
        }
    }
}

/// The two instruction targets for the gateway: (met?, text) each.
pub fn targets(r: Option<&InstrResults>) -> Vec<(Option<bool>, String)> {
    let limits = [
        (Kind::Json, 1.5, "same-dialect non-streaming"),
        (Kind::Stream, 2.0, "same-dialect streaming"),
    ];
    limits
        .into_iter()
        .map(|(kind, limit, what)| {
            let gw = r.and_then(|r| r.get(PathId::Gateway, kind));
            let bare = r.and_then(|r| r.get(PathId::Bare, kind));
            let text = format!(
                "{what} instructions per request ≤ {limit} × bare's: gateway {} vs bare {} ({})",
                gw.map_or("—".into(), count),
                bare.map_or("—".into(), count),
                r.map_or("—".into(), |r| ratio(r, PathId::Gateway, kind)),
            );
            (gw.zip(bare).map(|(g, b)| g <= limit * b), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.4), "999");
        assert_eq!(count(1000.0), "1,000");
        assert_eq!(count(1_234_567.0), "1,234,567");
        assert_eq!(count(-12_345.0), "−12,345");
    }
}

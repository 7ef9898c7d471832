//! Load generation: a timed block of closed-loop virtual users, and the slow-stream
//! memory test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::client::Conn;
use crate::procs::Proc;
use crate::stats::Run;

/// One timed block against one path.
#[derive(Debug, Clone)]
pub struct Load {
    pub concurrency: usize,
    pub duration: Duration,
    /// Expected SSE events per answer; `None` for non-streaming requests.
    pub expected: Option<u32>,
    /// Longest one exchange may take before it counts as an error.
    pub timeout: Duration,
}

/// `concurrency` users, each on its own keep-alive connection: connect, one untimed
/// warm-up exchange, wait for all, then request after request until the block ends.
pub async fn block(port: u16, request: Arc<Vec<u8>>, load: &Load) -> Run {
    let barrier = Arc::new(Barrier::new(load.concurrency));
    let start: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let mut users = JoinSet::new();
    for _ in 0..load.concurrency {
        users.spawn(user(
            port,
            request.clone(),
            load.clone(),
            barrier.clone(),
            start.clone(),
        ));
    }
    let mut total = Run::default();
    let mut end = None::<Instant>;
    while let Some(done) = users.join_next().await {
        match done {
            Ok((run, finished)) => {
                total.merge(run);
                end = Some(end.map_or(finished, |e| e.max(finished)));
            }
            Err(e) => total.error(format!("load task failed: {e}")),
        }
    }
    if let (Some(start), Some(end)) = (start.get(), end) {
        total.elapsed = end.saturating_duration_since(*start);
    }
    total
}

async fn exchange(
    conn: &mut Option<Conn>,
    port: u16,
    request: &[u8],
    load: &Load,
    run: Option<&mut Run>,
) {
    let mut scratch = Run::default();
    let run = run.unwrap_or(&mut scratch);
    if conn.is_none() {
        match Conn::connect(port).await {
            Ok(c) => *conn = Some(c),
            Err(e) => {
                run.error(e);
                // Do not spin on a refused port.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return;
            }
        }
    }
    let Some(c) = conn.as_mut() else { return };
    let sse = load.expected.is_some();
    match tokio::time::timeout(load.timeout, c.exchange(request, sse)).await {
        Ok(Ok(sample)) => {
            run.record(&sample, load.expected);
            if !sample.reusable {
                *conn = None;
            }
        }
        Ok(Err(e)) => {
            run.error(e);
            *conn = None;
        }
        Err(_) => {
            run.error(format!("no complete answer within {:?}", load.timeout));
            *conn = None;
        }
    }
}

async fn user(
    port: u16,
    request: Arc<Vec<u8>>,
    load: Load,
    barrier: Arc<Barrier>,
    start: Arc<OnceLock<Instant>>,
) -> (Run, Instant) {
    let mut conn = None;
    exchange(&mut conn, port, &request, &load, None).await;
    barrier.wait().await;
    let deadline = *start.get_or_init(Instant::now) + load.duration;
    let mut run = Run::default();
    while Instant::now() < deadline {
        exchange(&mut conn, port, &request, &load, Some(&mut run)).await;
    }
    (run, Instant::now())
}

/// What the slow-stream test saw on one path.
#[derive(Debug, Default)]
pub struct IdleResult {
    pub run: Run,
    /// Most streams open at once, as the client counted them.
    pub peak_in_flight: usize,
    /// Per process: name, RSS before the test, highest RSS sampled during it (kB).
    pub rss: Vec<(String, u64, u64)>,
    pub wall: Duration,
}

/// Opens `n` streams spread over `ramp`, each on its own connection, keeps them open for
/// as long as the mock paces them, and samples the RSS of `procs` every 100 ms.
pub async fn idle(
    port: u16,
    request: Arc<Vec<u8>>,
    n: usize,
    ramp: Duration,
    load: &Load,
    procs: &[&Proc],
) -> IdleResult {
    let before: Vec<u64> = procs
        .iter()
        .map(|p| p.memory().map_or(0, |m| m.0))
        .collect();
    let mut peak_rss = before.clone();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut streams = JoinSet::new();
    for i in 0..n {
        let (request, load, in_flight, peak) = (
            request.clone(),
            load.clone(),
            in_flight.clone(),
            peak.clone(),
        );
        let at = ramp.mul_f64(i as f64 / n as f64);
        streams.spawn(async move {
            tokio::time::sleep(at).await;
            let mut run = Run::default();
            let mut conn = None;
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            exchange(&mut conn, port, &request, &load, Some(&mut run)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            run
        });
    }
    let mut result = IdleResult::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            joined = streams.join_next() => match joined {
                Some(Ok(run)) => result.run.merge(run),
                Some(Err(e)) => result.run.error(format!("stream task failed: {e}")),
                None => break,
            },
            _ = tick.tick() => {
                for (i, p) in procs.iter().enumerate() {
                    if let Some((rss, _)) = p.memory() {
                        peak_rss[i] = peak_rss[i].max(rss);
                    }
                }
            }
        }
    }
    result.wall = started.elapsed();
    result.run.elapsed = result.wall;
    result.peak_in_flight = peak.load(Ordering::SeqCst);
    result.rss = procs
        .iter()
        .zip(before.iter().zip(peak_rss))
        .map(|(p, (b, m))| (p.name.clone(), *b, m))
        .collect();
    result
}

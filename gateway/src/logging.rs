//! The binary's logger: env_logger (`RUST_LOG`, default `info`), except that actix-http's
//! per-connection errors go to DEBUG.
//!
//! actix-http logs every malformed request, head timeout or broken connection as one
//! ERROR line ("stream error: …"), so anyone can fill the log by sending garbage. Those
//! lines are about the client, not the gateway: each is logged at DEBUG
//! (`RUST_LOG=actix_http=debug` shows them), and a WARN summary with their count appears
//! at most once per `SUMMARY_EVERY`.

use log::{Level, Log, Metadata, Record};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// The module whose connection errors are about clients.
const CONNECTION_TARGET: &str = "actix_http::h1";

struct Summary {
    /// When the last summary was written (`None`: never).
    last: Option<Instant>,
    /// Lines demoted since then.
    count: u64,
}

struct GatewayLogger {
    inner: env_logger::Logger,
    summary: Mutex<Summary>,
}

impl GatewayLogger {
    fn demote(&self, record: &Record<'_>) {
        let debug = Metadata::builder()
            .level(Level::Debug)
            .target(record.target())
            .build();
        if self.inner.enabled(&debug) {
            self.inner.log(
                &Record::builder()
                    .metadata(debug)
                    .args(*record.args())
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .build(),
            );
        }
        let due = {
            let mut s = self
                .summary
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            s.count += 1;
            if s.last.is_some_and(|t| t.elapsed() < SUMMARY_EVERY) {
                None
            } else {
                s.last = Some(Instant::now());
                Some(std::mem::take(&mut s.count))
            }
        };
        if let Some(n) = due {
            let warn = Metadata::builder()
                .level(Level::Warn)
                .target("gateway::connections")
                .build();
            if self.inner.enabled(&warn) {
                self.inner.log(
                    &Record::builder()
                        .metadata(warn)
                        .args(format_args!(
                            "{n} malformed, timed-out or broken HTTP connection(s) since the last such line (each at DEBUG: RUST_LOG=actix_http=debug)"
                        ))
                        .build(),
                );
            }
        }
    }
}

impl Log for GatewayLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Demoted records are decided in `log`.
        self.inner.enabled(metadata)
            || (metadata.level() <= Level::Warn && metadata.target().starts_with(CONNECTION_TARGET))
    }

    fn log(&self, record: &Record<'_>) {
        if record.level() <= Level::Warn && record.target().starts_with(CONNECTION_TARGET) {
            self.demote(record);
        } else if self.inner.matches(record) {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Installs the logger (once per process; later calls do nothing).
pub fn init() {
    let inner =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let max = inner.filter().max(log::LevelFilter::Warn);
    let logger = GatewayLogger {
        inner,
        summary: Mutex::new(Summary {
            last: None,
            count: 0,
        }),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max);
    }
}

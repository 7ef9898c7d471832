//! The binary's logger: `RUST_LOG` filtering as env_logger does it (default `info`), lines
//! written by the gateway itself, and actix-http's per-connection errors demoted to DEBUG.
//!
//! Every request writes an access line, so writing one is kept cheap: env_logger's own
//! formatter (styles, colour detection, then stripping the colours again for a pipe) cost
//! several times the line itself. The layout is env_logger's:
//! `[2026-01-31T12:00:00Z INFO  target] message`.
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
    inner: env_filter::Filter,
    summary: Mutex<Summary>,
}

/// Writes one line to stderr in a single write, so lines from several threads never mix.
fn write_line(record: &Record<'_>) {
    use std::io::Write;
    let args = *record.args();
    with_line(record.level(), record.target(), |line| {
        match args.as_str() {
            Some(text) => line.extend_from_slice(text.as_bytes()),
            // Writing into a Vec cannot fail.
            None => {
                let _ = line.write_fmt(args);
            }
        }
    });
}

/// The access line of a request (`message` is the whole of it), at INFO under the
/// middleware's target, written without going through `log::Record` and the formatter:
/// every request writes one, and `format_args!` with its padding cost ~2k instructions.
pub fn access(message: &str) {
    if log::log_enabled!(target: ACCESS_TARGET, Level::Info) {
        with_line(Level::Info, ACCESS_TARGET, |line| {
            line.extend_from_slice(message.as_bytes())
        });
    }
}

/// The target the access line has always been logged under (`RUST_LOG` filters on it).
const ACCESS_TARGET: &str = "gateway::middleware";

/// `[time LEVEL target] ` + what `message` writes + a line end, to stderr at once.
fn with_line(level: Level, target: &str, message: impl FnOnce(&mut Vec<u8>)) {
    use std::cell::RefCell;
    use std::io::Write;
    thread_local! {
        static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        compose(line, level, target, message);
        let _ = std::io::stderr().lock().write_all(line);
        // A line that once was huge does not keep its buffer.
        if line.capacity() > 64 * 1024 {
            *line = Vec::new();
        }
    });
}

/// One line in env_logger's layout (the level padded to five), bytes pushed one piece
/// after another: the formatter's padding of the level alone cost more than the rest.
fn compose(line: &mut Vec<u8>, level: Level, target: &str, message: impl FnOnce(&mut Vec<u8>)) {
    line.push(b'[');
    crate::logging::timestamp::push_now(line);
    line.extend_from_slice(match level {
        Level::Error => b" ERROR ",
        Level::Warn => b" WARN  ",
        Level::Info => b" INFO  ",
        Level::Debug => b" DEBUG ",
        Level::Trace => b" TRACE ",
    });
    line.extend_from_slice(target.as_bytes());
    line.extend_from_slice(b"] ");
    message(line);
    line.push(b'\n');
}

impl GatewayLogger {
    fn demote(&self, record: &Record<'_>) {
        let debug = Metadata::builder()
            .level(Level::Debug)
            .target(record.target())
            .build();
        if self.inner.enabled(&debug) {
            write_line(
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
                write_line(
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
            write_line(record);
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once per process; later calls do nothing).
pub fn init() {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let inner = env_filter::Builder::new().parse(&spec).build();
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

mod timestamp {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Appends the current UTC time as `YYYY-MM-DDTHH:MM:SSZ`, formatted once per second
    /// per thread.
    pub fn push_now(out: &mut Vec<u8>) {
        thread_local! {
            static LAST: RefCell<(u64, [u8; 20])> = const { RefCell::new((u64::MAX, [0; 20])) };
        }
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        LAST.with_borrow_mut(|(at, text)| {
            if *at != secs {
                *at = secs;
                *text = format(secs);
            }
            out.extend_from_slice(text);
        });
    }

    /// RFC 3339 in UTC from seconds since 1970 (days to a civil date as in Howard
    /// Hinnant's `civil_from_days`).
    fn format(secs: u64) -> [u8; 20] {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        let mut t = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                t[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, rem / 3600);
        put(14, 2, rem / 60 % 60);
        put(17, 2, rem % 60);
        t
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn formats_utc_seconds() {
            assert_eq!(&super::format(0), b"1970-01-01T00:00:00Z");
            assert_eq!(&super::format(951_782_400), b"2000-02-29T00:00:00Z");
            assert_eq!(&super::format(1_798_761_599), b"2026-12-31T23:59:59Z");
        }
    }
}

#[cfg(test)]
mod tests {
    use log::Level;

    fn line(level: Level, target: &str, message: &str) -> String {
        let mut out = Vec::new();
        super::compose(&mut out, level, target, |l| {
            l.extend_from_slice(message.as_bytes())
        });
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_keep_env_loggers_layout() {
        let l = line(
            Level::Info,
            "gateway::middleware",
            "request_id=1 GET /x status=200",
        );
        assert_eq!(
            l.len(),
            "[2026-01-31T12:00:00Z INFO  gateway::middleware] ".len() + 30 + 1
        );
        assert!(l.starts_with('['), "{l}");
        assert_eq!(
            &l[21..],
            " INFO  gateway::middleware] request_id=1 GET /x status=200\n"
        );
        assert_eq!(&line(Level::Warn, "t", "m")[21..], " WARN  t] m\n");
        assert_eq!(&line(Level::Error, "t", "m")[21..], " ERROR t] m\n");
        assert_eq!(&line(Level::Debug, "t", "m")[21..], " DEBUG t] m\n");
    }
}

//! The real gateway binary as a child process, for what only a process shows: its log
//! (the generated root password, the console URL) and its subcommands.

use crate::gateway_support::TEST_JWT_SECRET;
use crate::relay_support::process::workspace_binary;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A command for the gateway binary in `dir` (its working directory, so no `.env` leaks
/// in) with a clean environment: loopback, port 0, the given database and variables.
pub fn gateway_command(dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(gateway_binary());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("HTTP_WORKERS", "1")
        .env("JWT_SECRET", TEST_JWT_SECRET)
        // Tests price by the default ratios unless they turn the built-in table on.
        .env("BUILTIN_PRICES", "false")
        .env("DATABASE_URL", database_url)
        .envs(crate::test_db::database_env())
        .current_dir(dir)
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

pub fn gateway_binary() -> PathBuf {
    workspace_binary("gateway", "gateway")
}

/// A running gateway whose stderr (its log) is collected line by line.
pub struct GatewayProcess {
    child: Child,
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl GatewayProcess {
    /// Starts the binary and waits for its "listening" line.
    pub fn start(dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut child = gateway_command(dir, database_url, env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gateway starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr piped");
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let port = line.split("gateway listening on port ").nth(1).map(|rest| {
                    rest.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                });
                // Recorded before the port is reported, so `log()` after `start` has it.
                lines.lock().expect("log lines").push(line);
                if let Some(port) = port {
                    let _ = port_tx.send(port);
                }
            }
        });
        let port = port_rx.recv_timeout(Duration::from_secs(60));
        let port = match port {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the gateway did not report its port; its log:\n{}",
                    log.lock().expect("log lines").join("\n")
                );
            }
        };
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lines").clone()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `gateway <args>` to completion (at most 60 s) and returns its output.
pub fn run_subcommand(
    dir: &Path,
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut child = gateway_command(dir, database_url, env)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway command starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("gateway output");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("gateway {args:?} did not exit within 60 s");
}

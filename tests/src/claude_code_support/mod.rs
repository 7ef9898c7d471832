//! Runs the real Claude Code CLI (`claude -p`, pinned in tests/clients' lockfile; needs
//! `CLAUDE_BIN` and `strace`) against a gateway: a throw-away HOME, telemetry, error
//! reporting, auto-update and non-essential traffic off, no retries, and every
//! `connect()` it makes recorded with strace so a test can assert it only reached
//! loopback. Also the mock's scripted first turn that makes Claude Code read a file
//! (`replies`) and the world its tests run in (`world`).

mod replies;
mod world;

pub use replies::{read_file_call, READ_CALL_ID, THINKING_SIGNATURE};
pub use world::{claude_world, describe, expected_quota, upstream_model};

use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The model Claude Code 2.1.197 (the version in tests/clients/package-lock.json) asks
/// for when none is chosen. Updating the lockfile may change it.
pub const CLAUDE_CODE_MODEL: &str = "claude-opus-4-8";

/// How long one run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// Claude Code runs at once in one test binary: each is a ~250 MB process, and the CI
/// machine is small.
static RUNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(3);

/// How Claude Code presents the gateway key.
#[derive(Clone, Copy, Debug)]
pub enum ClaudeAuth {
    /// `ANTHROPIC_API_KEY`, sent as `x-api-key`.
    ApiKey,
    /// `ANTHROPIC_AUTH_TOKEN`, sent as `Authorization: Bearer`.
    AuthToken,
}

/// What one run printed, and where it connected.
#[derive(Debug)]
pub struct ClaudeRun {
    pub success: bool,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// `connect()`/`sendto()` targets of internet sockets, as `address:port`.
    pub inet_targets: Vec<String>,
}

impl ClaudeRun {
    /// The JSON result Claude Code printed: `result` (the answer's text), `num_turns`,
    /// `usage` (the token counts it saw in the streams), `is_error`.
    pub fn result(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "claude printed no JSON result ({e}):\nstdout: {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts every internet socket went to 127.0.0.1 or ::1 (no DNS, no telemetry).
    pub fn assert_loopback_only(&self) {
        assert!(
            !self.inet_targets.is_empty(),
            "strace saw no connection at all"
        );
        let outside: Vec<&String> = self
            .inet_targets
            .iter()
            .filter(|t| !is_loopback(t))
            .collect();
        assert!(
            outside.is_empty(),
            "Claude Code reached beyond loopback: {outside:?}"
        );
    }
}

fn is_loopback(target: &str) -> bool {
    ["127.0.0.1:", "::1:", "::ffff:127.0.0.1:"]
        .iter()
        .any(|p| target.starts_with(p))
}

/// A throw-away HOME and working directory for Claude Code runs.
pub struct ClaudeCode {
    dir: tempfile::TempDir,
}

impl Default for ClaudeCode {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaudeCode {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        std::fs::create_dir_all(dir.path().join("work")).expect("work");
        Self { dir }
    }

    /// The directory `claude` runs in (its project).
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Runs `claude -p PROMPT --output-format json` (its default model) against
    /// `base_url` with `key`.
    pub async fn run(
        &self,
        base_url: &str,
        key: &str,
        auth: ClaudeAuth,
        prompt: &str,
    ) -> ClaudeRun {
        let bin = crate::needs::env(
            "CLAUDE_BIN",
            "the Claude Code CLI (npm ci in tests/clients; \
             CLAUDE_BIN=$PWD/tests/clients/node_modules/.bin/claude, see .ci/run)",
        );
        let strace = strace_path();
        let key_var = match auth {
            ClaudeAuth::ApiKey => "ANTHROPIC_API_KEY",
            ClaudeAuth::AuthToken => "ANTHROPIC_AUTH_TOKEN",
        };
        let trace = self.dir.path().join("connect.trace");
        let (out, err) = (self.dir.path().join("out"), self.dir.path().join("err"));
        let mut cmd = std::process::Command::new(strace);
        cmd.args(["-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o"])
            .arg(&trace)
            .arg(bin)
            .args(["-p", prompt, "--output-format", "json"])
            .current_dir(self.work())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("ANTHROPIC_BASE_URL", base_url)
            .env(key_var, key)
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("CLAUDE_CODE_MAX_RETRIES", "0")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            // Its own process group, so a timeout stops Claude Code and its children.
            .process_group(0);
        let _slot = RUNS.acquire().await.expect("the semaphore is never closed");
        let status = tokio::task::spawn_blocking(move || wait_or_kill(cmd))
            .await
            .expect("join");
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        ClaudeRun {
            success: status.is_some_and(|s| s.success()),
            timed_out: status.is_none(),
            stdout: read(&out),
            stderr: read(&err),
            inet_targets: inet_targets(&read(&trace)),
        }
    }
}

fn strace_path() -> String {
    let found = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "strace is not on PATH: the Claude Code tests record its connections with it \
         (apt-get install strace; .ci/run installs it)"
    );
    "strace".to_string()
}

fn wait_or_kill(mut cmd: std::process::Command) -> Option<std::process::ExitStatus> {
    let mut child = cmd.spawn().expect("start strace + claude");
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for claude") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let group = child.id() as i32;
            // SAFETY: signals the process group this function created and owns.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `address:port` of every AF_INET/AF_INET6 socket address in an strace log.
fn inet_targets(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter(|l| l.contains("sa_family=AF_INET"))
        .map(|l| {
            let port = between(l, "htons(", ")").unwrap_or("?");
            let addr = between(l, "inet_addr(\"", "\"")
                .or_else(|| between(l, "inet_pton(AF_INET6, \"", "\""))
                .unwrap_or(l);
            format!("{addr}:{port}")
        })
        .collect()
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_lines_become_targets() {
        let trace = "12 connect(17, {sa_family=AF_INET, sin_port=htons(18777), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 EINPROGRESS\n\
                     12 connect(4, {sa_family=AF_UNIX, sun_path=\"/var/run/nscd/socket\"}, 110) = -1 ENOENT\n\
                     13 connect(5, {sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"2001:db8::1\", &sin6_addr), sin6_scope_id=0}, 28) = 0\n";
        let targets = inet_targets(trace);
        assert_eq!(targets, vec!["127.0.0.1:18777", "2001:db8::1:53"]);
        assert!(is_loopback(&targets[0]));
        assert!(!is_loopback(&targets[1]));
    }
}

//! The real relay binary as a child process (signals, exit codes, start-up messages).
//!
//! `CARGO_BIN_EXE_relay` only exists inside the relay package, so the binary is located
//! next to this test executable (`<target>/<profile>/relay`, which follows
//! `CARGO_TARGET_DIR`) and built once with `cargo build -p relay` first; the gateway's
//! binary is found the same way (`workspace_binary`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Path of the relay binary, built for the profile these tests were built with.
pub fn relay_binary() -> PathBuf {
    workspace_binary("relay", "relay")
}

/// Path of a workspace binary next to this test executable (`<target>/<profile>/<bin>`,
/// following `CARGO_TARGET_DIR`), built once per test process with `cargo build` first.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = built.get(bin) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("test executable path");
    // <target>/<profile>/deps/<test-binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("profile directory")
        .to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "-p", package, "--bin", bin])
        .args(["--profile", &profile])
        .current_dir(&workspace);
    // Cargo gives this test process CARGO_PKG_*, CARGO_MANIFEST_DIR and friends.
    // Build scripts (ring's, for one) rerun when those differ, so passing them on
    // would rebuild shared artifacts here and again in every normal build.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if is_package_scoped(&name) {
            command.env_remove(name.as_ref());
        }
    }
    let status = command.status().expect("cargo runs");
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    let binary = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{bin} binary missing at {}",
        binary.display()
    );
    built.insert(bin.to_owned(), binary.clone());
    binary
}

/// Variables cargo sets for one package's build or test run, as opposed to user
/// configuration (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_BUILD_*`, ...), which is kept.
fn is_package_scoped(name: &str) -> bool {
    const KEEP: &[&str] = &[
        "CARGO_HOME",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_",
        "CARGO_PROFILE_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_TERM_",
        "CARGO_INCREMENTAL",
        "CARGO_CACHE_",
        "CARGO_UNSTABLE_",
        "CARGO_LOG",
    ];
    name == "OUT_DIR"
        || (name.starts_with("CARGO_") && !KEEP.iter().any(|keep| name.starts_with(keep)))
}

/// A command for the relay binary with a clean environment and an empty working
/// directory, so neither the caller's variables nor a `.env` file leak in.
pub fn relay_command(env: &[(&str, &str)]) -> Command {
    // One shared empty directory: nothing writes to it, and it holds no `.env`.
    let dir = std::env::temp_dir().join("relay-test-empty-cwd");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut command = Command::new(relay_binary());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A relay process whose stderr is collected line by line.
pub struct RelayProcess {
    child: Child,
    pub addr: SocketAddr,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl RelayProcess {
    /// Starts the binary and waits for its "listening on" line.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut child = relay_command(env).spawn().expect("relay starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr piped");
        let lines = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("relay listening on ").nth(1) {
                    let _ = port_tx.send(addr.trim().to_owned());
                }
                lines.lock().expect("lines").push(line);
            }
        });
        let addr = port_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("relay reported its address")
            .parse()
            .expect("address parses");
        Self {
            child,
            addr,
            stderr,
        }
    }

    /// Sends SIGTERM (via `kill`, so no libc dependency is needed).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_with_deadline(&mut self.child, limit)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs the binary expecting it to exit by itself; returns its status and stderr.
pub fn run_to_exit(env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = relay_command(env).spawn().expect("relay starts");
    let status = wait_with_deadline(&mut child, Duration::from_secs(30));
    if status.is_none() {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.as_mut() {
        let _ = std::io::Read::read_to_string(pipe, &mut stderr);
    }
    let status = status.unwrap_or_else(|| panic!("relay kept running; stderr: {stderr}"));
    (status, stderr)
}

//! Child processes: spawned in their own process group with a parent-death signal, killed
//! (the whole group) when their guard drops, so no server outlives the benchmark, also
//! on panic or Ctrl-C. Plus readiness checks and RSS readings from `/proc`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; dropping it kills its process group.
pub struct Proc {
    pub name: String,
    pub pid: u32,
    /// Whether the RSS of the whole process group counts (Python servers fork workers).
    pub group: bool,
    pub log: PathBuf,
    child: Child,
    reaped: bool,
}

impl Proc {
    /// Spawns `program` in `dir` with `env` added, stdout and stderr into `<dir>/<name>.log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
        dir: &Path,
    ) -> Result<Proc, String> {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                // Killed with the benchmark even if it dies without unwinding. Processes are
                // spawned from the main thread, whose exit is the process's exit.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        Ok(Proc {
            name: name.to_string(),
            pid: child.id(),
            group: false,
            log,
            child,
            reaped: false,
        })
    }

    /// The last lines of the process's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Waits until `port` accepts connections (and `health` answers 200 when given).
    pub fn wait_ready(
        &mut self,
        port: u16,
        health: Option<&str>,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited during start-up ({status}); its log says:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if ready(port, health) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not ready on port {port} after {timeout:?}; its log says:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Current and peak resident memory in kB (`VmRSS`, `VmHWM`), summed over the process
    /// group when `group` is set.
    pub fn memory(&self) -> Option<(u64, u64)> {
        if self.reaped {
            return None;
        }
        if !self.group {
            return memory_of(self.pid);
        }
        let mut total = (0, 0);
        for pid in group_members(self.pid) {
            if let Some((rss, hwm)) = memory_of(pid) {
                total = (total.0 + rss, total.1 + hwm);
            }
        }
        (total.0 > 0).then_some(total)
    }

    /// Sends SIGTERM to the process (not its group) and waits up to `timeout` for it to
    /// exit, so it runs its graceful shutdown (the gateway drains its settlement writer,
    /// valgrind writes its profile); kills it if it does not.
    pub fn terminate(&mut self, timeout: Duration) -> Result<(), String> {
        if self.reaped {
            return Err(format!("{} was already stopped", self.name));
        }
        #[allow(unsafe_code)]
        // SAFETY: plain syscall on a child this benchmark spawned and has not reaped.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.reaped = true;
                    return match status.success() {
                        true => Ok(()),
                        false => Err(format!(
                            "{} exited with {status} after SIGTERM; its log says:\n{}",
                            self.name,
                            self.log_tail()
                        )),
                    };
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(None) => {
                    self.kill();
                    return Err(format!(
                        "{} still running {timeout:?} after SIGTERM; killed",
                        self.name
                    ));
                }
                Err(e) => return Err(format!("{}: {e}", self.name)),
            }
        }
    }

    pub fn kill(&mut self) {
        if self.reaped {
            // The pid may belong to someone else by now.
            return;
        }
        self.reaped = true;
        // The group id is the leader's pid (process_group(0)); only our own children.
        let pgid = self.pid as libc::pid_t;
        #[allow(unsafe_code)]
        // SAFETY: plain syscall on a process group this benchmark created.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ready(port: u16, health: Option<&str>) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let Some(path) = health else {
        return true;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// A port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn memory_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Pids whose process group is `pgid` (field 5 of `/proc/<pid>/stat`).
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![pgid];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(2)?.parse::<u32>().ok()
                })
                == Some(pgid)
        })
        .collect()
}

/// Raises the soft file-descriptor limit to the hard one (the servers inherit it).
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    #[allow(unsafe_code)]
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
            }
        }
    }
    lim.rlim_cur
}

/// Where the release binaries are, and building them first when asked.
#[derive(Clone)]
pub struct Binaries {
    pub dir: PathBuf,
    pub root: PathBuf,
}

impl Binaries {
    pub const NEEDED: [&'static str; 4] = ["mock-upstream", "bare-proxy", "gateway", "relay"];

    pub fn locate(build: bool) -> Result<Binaries, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .ok_or("no workspace root")?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let exe_dir = exe.parent().ok_or("no exe dir")?.to_path_buf();
        // Next to this binary when it is a release build, else the sibling `release` dir.
        let dir = match exe_dir.file_name().and_then(|n| n.to_str()) {
            Some("release") => exe_dir,
            _ => exe_dir
                .parent()
                .map(|p| p.join("release"))
                .ok_or("no target dir")?,
        };
        if build {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            eprintln!(
                "bench: cargo build --release -p gateway -p relay -p integration-tests --bins"
            );
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--release",
                    "-p",
                    "gateway",
                    "-p",
                    "relay",
                    "-p",
                    "integration-tests",
                    "--bins",
                ])
                .current_dir(&root)
                .status()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !status.success() {
                return Err(format!("cargo build --release failed ({status})"));
            }
        }
        let missing: Vec<&str> = Self::NEEDED
            .iter()
            .copied()
            .filter(|b| !dir.join(b).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing release binaries in {}: {}; run `cargo build --release -p gateway \
                 -p relay -p integration-tests --bins` first (or drop --no-build)",
                dir.display(),
                missing.join(", ")
            ));
        }
        Ok(Binaries { dir, root })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

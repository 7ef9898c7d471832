//! A throw-away PostgreSQL cluster of the test's own (`initdb` + `pg_ctl` from the server
//! packages, as the `postgres` user when the test runs as root), on a free loopback port,
//! that the test can stop and start. Never the machine's own cluster: it lives in a temp
//! dir and is stopped and removed when dropped, also when the test fails.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

pub struct PgCluster {
    bin: PathBuf,
    /// Holds `data/` (the cluster), the socket and the server log; removed on drop.
    dir: TempDir,
    pub port: u16,
    running: bool,
}

impl PgCluster {
    /// Creates the cluster and starts it.
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("gw-outage-pg-")
            .tempdir()
            .expect("temp dir");
        if as_root() {
            // The server refuses to run as root: the postgres user owns the cluster.
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let mut cluster = PgCluster {
            bin,
            dir,
            port: free_port(),
            running: false,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        cluster.resume();
        cluster
    }

    /// `postgres://` URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the hard way (`-m immediate`: no checkpoint, connections cut).
    pub fn kill(&mut self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        self.running = false;
    }

    /// Starts the server on the same port and data (crash recovery on a restart).
    pub fn resume(&mut self) {
        let data = self.data();
        let log = self.path("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        let out = self.try_run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
        if !out.status.success() {
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "pg_ctl start failed: {}{}\nserver log:\n{server_log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.running = true;
    }

    fn data(&self) -> String {
        self.path("data")
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.try_run(tool, args);
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a server tool, as the postgres user when this process is root.
    fn try_run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut command = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let out = self.try_run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
            if !out.status.success() {
                eprintln!(
                    "could not stop the test's PostgreSQL cluster: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // The TempDir removes the data directory (root may delete the postgres user's files).
    }
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn postgres_ids() -> (u32, u32) {
    let out = |flag: &str| {
        let o = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id runs");
        assert!(
            o.status.success(),
            "this test runs as root, so it needs the `postgres` user to own its cluster"
        );
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<u32>()
            .expect("numeric id")
    };
    (out("-u"), out("-g"))
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb` and `pg_ctl`, or
/// `PG_BIN_DIR`; panics (the test fails, it does not skip) when there is none.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            has_tools(&dir),
            "PG_BIN_DIR={} has no initdb and pg_ctl",
            dir.display()
        );
        return dir;
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "this test needs the PostgreSQL server binaries (initdb, pg_ctl) in \
             /usr/lib/postgresql/<version>/bin or PG_BIN_DIR (Debian: apt-get install postgresql). \
             It is ignored by default; `.ci/run` provides them"
        )
    })
}

fn has_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

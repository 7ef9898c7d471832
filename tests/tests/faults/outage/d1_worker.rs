//! The test's own local D1: `wrangler dev --local` serving the test Worker (`tests/d1`)
//! with its state in a temp dir, killed and started again on the same port and state.

use super::free_port;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct D1Worker {
    dir: PathBuf,
    /// `state/` (the persisted D1 databases) and the wrangler logs; removed on drop.
    tmp: TempDir,
    pub port: u16,
    child: Option<Child>,
    starts: u32,
}

/// The API token `tests/d1/wrangler.toml` gives the Worker.
pub const TOKEN: &str = integration_tests::test_db::DEFAULT_D1_API_TOKEN;

impl D1Worker {
    pub async fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("d1");
        assert!(
            dir.join("node_modules/.bin/wrangler").is_file(),
            "this test needs wrangler in tests/d1 (`cd tests/d1 && npm ci`) and node. \
             It is ignored by default; `.ci/run` provides them"
        );
        let tmp = tempfile::Builder::new()
            .prefix("gw-outage-d1-")
            .tempdir()
            .expect("temp dir");
        let mut worker = D1Worker {
            dir,
            tmp,
            port: free_port(),
            child: None,
            starts: 0,
        };
        worker.resume().await;
        worker
    }

    /// The gateway's `DATABASE_URL`: one database of the Worker's pool (fresh state).
    pub fn database_url(&self) -> String {
        "d1://test-account/db0".into()
    }

    /// `D1_API_BASE` for the gateway.
    pub fn api_base(&self) -> String {
        format!("http://127.0.0.1:{}/client/v4", self.port)
    }

    /// SIGKILL to wrangler and its workerd children (their own process group).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = i32::try_from(child.id()).expect("pid");
            // SAFETY: signals only the process group this worker started.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }

    /// Starts wrangler on the same port and state and waits until the Worker answers.
    pub async fn resume(&mut self) {
        self.starts += 1;
        let log_path = self
            .tmp
            .path()
            .join(format!("wrangler-{}.log", self.starts));
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(self.dir.join("node_modules/.bin/wrangler"))
            .args(["dev", "--local", "--ip", "127.0.0.1"])
            .args(["--port", &self.port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(self.tmp.path().join("state"))
            .env("WRANGLER_SEND_METRICS", "false")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("wrangler starts");
        self.child = Some(child);
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let health = client
                .get(format!("http://127.0.0.1:{}/health", self.port))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                self.kill();
                panic!("wrangler dev did not start; its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for D1Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

//! A real Prometheus server for the metrics tests: the Debian package's binary, started
//! with a temporary configuration and storage, scraping given targets every second.

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One scrape target: `host:port` and the bearer token `/metrics` wants.
pub struct Target<'a> {
    pub job: &'a str,
    pub address: String,
    pub token: Option<&'a str>,
}

pub struct Prometheus {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

/// The binary (`PROMETHEUS_BIN`, else `prometheus` on PATH); panics when there is none.
fn binary() -> String {
    let bin = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
    let found = Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "the prometheus binary ({bin}) is missing: this test needs it \
         (`apt-get install -y prometheus`, or PROMETHEUS_BIN=/path/to/prometheus)"
    );
    bin
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn config(targets: &[Target<'_>]) -> String {
    let mut out =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for t in targets {
        out.push_str(&format!(
            "  - job_name: {}\n    metrics_path: /metrics\n",
            t.job
        ));
        if let Some(token) = t.token {
            out.push_str(&format!(
                "    authorization:\n      type: Bearer\n      credentials: {token}\n"
            ));
        }
        out.push_str(&format!(
            "    static_configs:\n      - targets: ['{}']\n",
            t.address
        ));
    }
    out
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` and waits until its API answers.
    pub async fn start(targets: &[Target<'_>]) -> Self {
        let bin = binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config(targets)).expect("write config");
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        for _ in 0..100 {
            if let Ok(r) = reqwest::get(format!("{}/-/ready", p.url)).await {
                if r.status().is_success() {
                    return p;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus did not become ready at {}", p.url);
    }

    /// Runs an instant PromQL query; the first sample's value, if any.
    pub async fn query(&self, promql: &str) -> Option<f64> {
        let body: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql)])
            .send()
            .await
            .expect("query prometheus")
            .json()
            .await
            .expect("prometheus answers JSON");
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
    }

    /// Waits (up to 20 s) until `promql` evaluates to `expected`; returns the last value.
    pub async fn wait_for(&self, promql: &str, expected: f64) -> Option<f64> {
        let mut last = None;
        for _ in 0..80 {
            last = self.query(promql).await;
            if last == Some(expected) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        last
    }

    /// Every target's last scrape health, as (job, health).
    pub async fn target_health(&self) -> Vec<(String, String)> {
        let body: Value = reqwest::get(format!("{}/api/v1/targets", self.url))
            .await
            .expect("targets")
            .json()
            .await
            .expect("json");
        body["data"]["activeTargets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        (
                            t["labels"]["job"].as_str().unwrap_or("").to_string(),
                            t["health"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

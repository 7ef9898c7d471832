//! Tests that need a service or a tool that a fresh machine may lack are marked
//! `#[ignore = "needs …"]`, so `cargo test` lists them as ignored with the reason. Asked to
//! run (`cargo test -- --include-ignored`, as `.ci/run` does wherever it provides the
//! service), they fail loudly when it is missing instead of passing without running.

/// The value of `var`, or a panic naming what the test needs and how to provide it.
pub fn env(var: &str, what: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{var} is not set: this test needs {what}. It is ignored by default; \
             `.ci/run` provides it (README, \"Tests\")"
        ),
    }
}

/// `TEST_DATABASE_URL`, which must name a PostgreSQL server.
pub fn postgres_url() -> String {
    let url = env(
        "TEST_DATABASE_URL",
        "PostgreSQL (TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
    );
    assert!(
        url.starts_with("postgres"),
        "TEST_DATABASE_URL must name a PostgreSQL server, not {url}"
    );
    url
}

/// The Python interpreter of a venv with the official SDKs (`SDK_PYTHON`).
pub fn sdk_python() -> String {
    env(
        "SDK_PYTHON",
        "a Python venv with the official SDKs (SDK_PYTHON=/path/to/venv/bin/python)",
    )
}

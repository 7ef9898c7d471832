//! Spawning a real gateway on port 0 with a fresh SQLite database, and typed request
//! helpers that return (status, JSON body).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-0123456789";

pub struct TestGateway {
    pub url: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub state: actix_web::web::Data<gateway::state::AppState>,
    pub dir: tempfile::TempDir,
    /// The leased D1 test database, given back when the gateway is dropped.
    pub db_lease: Option<crate::test_db::D1Lease>,
    /// The root password the gateway generated (no `INITIAL_ADMIN_PASSWORD` given).
    pub generated_admin_password: Option<String>,
    server: gateway::shutdown::StopHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A response reduced to what tests assert on.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

impl TestGateway {
    /// A gateway whose root `admin` has `ADMIN_PASSWORD` (no forced change).
    pub async fn spawn() -> Self {
        Self::spawn_with(&[("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await
    }

    /// A gateway with extra environment variables (over the test defaults).
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        // The gateway's warnings and errors go to the test's captured output, which the
        // harness prints when the test fails (RUST_LOG overrides the level).
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
            .is_test(true)
            .try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        let (database_url, db_lease) = crate::test_db::fresh_database(dir.path()).await;
        let mut env: HashMap<String, String> = HashMap::from([
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), "0".into()),
            ("HTTP_WORKERS".into(), "2".into()),
            ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
            // Tests price by the default ratios unless they turn the built-in table on.
            ("BUILTIN_PRICES".into(), "false".into()),
            ("DATABASE_URL".into(), database_url),
        ]);
        env.extend(crate::test_db::database_env());
        for (k, v) in vars {
            env.insert((*k).into(), (*v).into());
        }
        let settings = gateway::settings::Settings::from_map(&env).expect("settings");
        let app = gateway::startup::Application::build(settings)
            .await
            .expect("gateway starts");
        let port = app.port();
        let generated_admin_password = app.generated_admin_password().map(str::to_string);
        let state = app.state();
        let server = app.server_handle();
        let running = tokio::spawn(app.run_until_stopped());
        TestGateway {
            url: format!("http://127.0.0.1:{port}"),
            port,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            state,
            dir,
            db_lease,
            generated_admin_password,
            server,
            running,
        }
    }

    /// Stops gracefully, as on SIGTERM, and waits until the gateway has shut down (its
    /// leases given back, its settlements written); `state.store` stays readable.
    pub async fn stop(&mut self) {
        self.server.stop(true).await;
        let running = std::mem::replace(&mut self.running, tokio::spawn(async { Ok(()) }));
        running
            .await
            .expect("gateway task")
            .expect("gateway stopped cleanly");
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        jwt: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let req = self.builder(method, path, jwt);
        match body {
            Some(b) => self.send(req.json(&b)).await,
            None => self.send(req).await,
        }
    }

    pub async fn get(&self, path: &str, jwt: Option<&str>) -> Resp {
        self.request(Method::GET, path, jwt, None).await
    }
    pub async fn post(&self, path: &str, jwt: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, jwt, Some(body)).await
    }
    pub async fn put(&self, path: &str, jwt: Option<&str>, body: Value) -> Resp {
        self.request(Method::PUT, path, jwt, Some(body)).await
    }
    pub async fn delete(&self, path: &str, jwt: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, jwt, None).await
    }

    /// Sends raw bytes with a content type (for malformed-body tests).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        jwt: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let req = self
            .builder(method, path, jwt)
            .header("content-type", content_type)
            .body(body);
        self.send(req).await
    }

    /// Logs in and returns the session JWT (panics on failure).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.try_login(username, password).await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.text);
        r.data()["token"].as_str().expect("token").to_string()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user through the admin API with the given role and quota; returns (id, jwt).
    pub async fn create_user(
        &self,
        root_jwt: &str,
        username: &str,
        role: i64,
        quota: i64,
    ) -> (i64, String) {
        let password = format!("{username}-password");
        let r = self
            .post(
                "/api/user",
                Some(root_jwt),
                json!({"username": username, "password": password, "role": role, "quota": quota}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "create user {username}: {}",
            r.text
        );
        let id = r.data()["id"].as_i64().expect("id");
        (id, self.login(username, &password).await)
    }

    /// Creates an API key for the session's user; returns (token id, full key).
    pub async fn create_key(&self, jwt: &str, body: Value) -> (i64, String) {
        let r = self.post("/api/token", Some(jwt), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create token: {}", r.text);
        (
            r.data()["id"].as_i64().expect("id"),
            r.data()["key"].as_str().expect("key").to_string(),
        )
    }

    /// Creates a channel; returns its id.
    pub async fn create_channel(&self, admin_jwt: &str, body: Value) -> i64 {
        let r = self.post("/api/channel", Some(admin_jwt), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create channel: {}", r.text);
        r.data()["id"].as_i64().expect("id")
    }
}

/// The well-known password of older releases and other gateways; never valid now.
pub const DEFAULT_ADMIN_PASSWORD: &str = "123456";

impl TestGateway {
    /// A gateway without `INITIAL_ADMIN_PASSWORD`: root `admin` has a generated password
    /// (returned) and must change it before any admin action.
    pub async fn spawn_default_admin() -> (Self, String) {
        let gw = Self::spawn_with(&[]).await;
        let password = gw
            .generated_admin_password
            .clone()
            .expect("a fresh gateway without INITIAL_ADMIN_PASSWORD generates one");
        (gw, password)
    }

    /// Sends a prepared request and reduces the answer to a `Resp`.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// A request builder for `path` on this gateway, with the session JWT when given.
    pub fn builder(
        &self,
        method: Method,
        path: &str,
        jwt: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{}", self.url, path));
        match jwt {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// A login attempt whose answer the test inspects (no assertion here).
    pub async fn try_login(&self, username: &str, password: &str) -> Resp {
        self.post(
            "/api/user/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    /// Changes options as root; panics unless the gateway accepts them.
    pub async fn set_options(&self, root_jwt: &str, options: Value) {
        let r = self.put("/api/option", Some(root_jwt), options).await;
        assert_eq!(r.status, StatusCode::OK, "set options: {}", r.text);
    }
}

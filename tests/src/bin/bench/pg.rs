//! A fresh PostgreSQL schema for the gateway-on-PostgreSQL path, dropped afterwards.

use sqlx::Connection;

/// Prefix of the schemas the benchmark creates (leftovers are safe to drop).
const PREFIX: &str = "gw_bench_";

pub struct Schema {
    /// `DATABASE_URL` for the gateway: the base URL with `search_path` set to the schema.
    pub url: String,
    base: String,
    name: String,
}

impl Schema {
    pub async fn create(base: &str) -> Result<Schema, String> {
        if !base.starts_with("postgres://") && !base.starts_with("postgresql://") {
            return Err("--postgres-url must start with postgres://".into());
        }
        let name = format!("{PREFIX}{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .map_err(|e| format!("--postgres-url: cannot connect: {e}"))?;
        // The name is ours (prefix + hex), not user input.
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("create schema {name}: {e}"))?;
        let _ = conn.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(Schema {
            url: format!("{base}{sep}options=-c%20search_path%3D{name}"),
            base: base.to_string(),
            name,
        })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop runs inside the async runtime; a thread with its own runtime may block.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&base).await.ok()?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("bench: could not drop PostgreSQL schema {}", self.name);
        }
    }
}

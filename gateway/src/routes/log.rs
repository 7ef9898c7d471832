//! `/api/log/*`: usage logs and statistics (own rows for users, everything for admins).

use super::api_route::ApiRoute;
use crate::api_schema::{Envelope, SessionErrors};
use crate::auth::session::Session;
use crate::error::{ok, ApiError, ApiResult};
use crate::services::log_export::{self, Export, Format};
use crate::state::AppState;
use crate::store::logs::{LogEntry, LogFilter, LogKind, LogStats};
use crate::store::sql_store::Page;
use crate::store::Paged;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::get("/log/self", list_self),
        ApiRoute::get("/log/self/stat", stat_self),
        ApiRoute::get("/log", list_all),
        ApiRoute::get("/log/stat", stat_all),
        ApiRoute::get("/log/export", export),
    ]
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_self, stat_self, list_all, stat_all, export))]
struct Doc;

pub fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// Filters; `channel` and `username` apply to the admin views only.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LogQuery {
    p: Option<i64>,
    page_size: Option<i64>,
    start_timestamp: Option<i64>,
    end_timestamp: Option<i64>,
    model_name: Option<String>,
    token_name: Option<String>,
    channel: Option<i64>,
    username: Option<String>,
    /// `success`, `error` or `refused` (see [`LogKind`]).
    #[serde(rename = "type")]
    #[param(pattern = "^(success|error|refused)?$")]
    kind: Option<String>,
    /// Text so that an empty value means "any", like the other filters of the form.
    #[param(pattern = "^([1-5][0-9][0-9])?$")]
    status_code: Option<String>,
    /// Export only: `csv` (default) or `jsonl`.
    #[param(pattern = "^(csv|jsonl)?$")]
    format: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl LogQuery {
    fn filter(&self, own: Option<i64>) -> Result<LogFilter, ApiError> {
        // Only the export reads `format`, but every endpoint refuses a value it could not
        // mean, as for the other filters.
        if Format::parse(self.format.as_deref()).is_none() {
            return Err(ApiError::bad("format must be csv or jsonl"));
        }
        let kind = match nonempty(&self.kind) {
            None => None,
            Some(k) => Some(
                LogKind::parse(&k)
                    .ok_or_else(|| ApiError::bad("type must be one of: success, error, refused"))?,
            ),
        };
        let status_code = match nonempty(&self.status_code) {
            None => None,
            Some(raw) => Some(
                raw.parse::<i64>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| ApiError::bad("status_code must be an HTTP status (100-599)"))?,
            ),
        };
        Ok(LogFilter {
            user_id: own,
            start: self.start_timestamp,
            end: self.end_timestamp,
            model_name: nonempty(&self.model_name),
            token_name: nonempty(&self.token_name),
            channel_id: if own.is_some() { None } else { self.channel },
            username: if own.is_some() {
                None
            } else {
                nonempty(&self.username)
            },
            kind,
            status_code,
        })
    }
    fn page(&self) -> Page {
        Page::new(self.p, self.page_size)
    }
}

/// Users see their own rows without channel details.
fn strip_channel(mut v: Value) -> Value {
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            if let Some(o) = item.as_object_mut() {
                for k in ["channel_id", "channel_name", "upstream_model"] {
                    o.remove(k);
                }
            }
        }
    }
    v
}

/// The caller's own usage log (no channel details).
#[utoipa::path(get, path = "/api/log/self", tag = "log", security(("session" = [])), params(LogQuery),
    responses((status = 200, description = "A page of log rows", body = Envelope<Paged<LogEntry>>), SessionErrors))]
async fn list_self(state: web::Data<AppState>, s: Session, q: web::Query<LogQuery>) -> ApiResult {
    let page = state
        .store
        .list_logs(&q.filter(Some(s.user.id))?, q.page())
        .await?;
    let value = serde_json::to_value(page).map_err(anyhow::Error::from)?;
    Ok(ok(strip_channel(value)))
}

/// Totals and per-day, per-model usage of the caller.
#[utoipa::path(get, path = "/api/log/self/stat", tag = "log", security(("session" = [])), params(LogQuery),
    responses((status = 200, description = "Usage totals", body = Envelope<LogStats>), SessionErrors))]
async fn stat_self(state: web::Data<AppState>, s: Session, q: web::Query<LogQuery>) -> ApiResult {
    Ok(ok(state
        .store
        .log_stats(&q.filter(Some(s.user.id))?)
        .await?))
}

/// Every usage log row (admin).
#[utoipa::path(get, path = "/api/log", tag = "log", security(("session" = [])), params(LogQuery),
    responses((status = 200, description = "A page of log rows", body = Envelope<Paged<LogEntry>>), SessionErrors))]
async fn list_all(state: web::Data<AppState>, s: Session, q: web::Query<LogQuery>) -> ApiResult {
    s.require_admin()?;
    Ok(ok(state
        .store
        .list_logs(&q.filter(None)?, q.page())
        .await?))
}

/// Streams the filtered rows (admins: everyone's, users: their own) as a file, a page
/// at a time.
#[utoipa::path(get, path = "/api/log/export", tag = "log", security(("session" = [])), params(LogQuery),
    responses((status = 200, description = "The rows as CSV or JSON lines",
        content((String = "text/csv"), (String = "application/x-ndjson"))), SessionErrors))]
async fn export(
    state: web::Data<AppState>,
    s: Session,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = Format::parse(q.format.as_deref())
        .ok_or_else(|| ApiError::bad("format must be csv or jsonl"))?;
    let admin = s.require_admin().is_ok();
    let filter = q.filter((!admin).then_some(s.user.id))?;
    // Rows of requests that have already answered are written before the export reads.
    state.ledger.flush().await;
    let body = log_export::stream(Export {
        store: state.store.clone(),
        filter,
        format,
        with_channel: admin,
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"logs.{}\"", format.extension()),
        ))
        .streaming(body))
}

/// Totals and per-day, per-model usage of everyone (admin).
#[utoipa::path(get, path = "/api/log/stat", tag = "log", security(("session" = [])), params(LogQuery),
    responses((status = 200, description = "Usage totals", body = Envelope<LogStats>), SessionErrors))]
async fn stat_all(state: web::Data<AppState>, s: Session, q: web::Query<LogQuery>) -> ApiResult {
    s.require_admin()?;
    Ok(ok(state.store.log_stats(&q.filter(None)?).await?))
}

//! Gemini's native API (`/v1beta/…`, and `POST /v1/models/{model}:{method}`) for Gemini
//! CLI and the google-genai SDKs, over any channel; errors in Google's shape. Also the
//! rule choosing the shape of `GET /v1/models[/{id}]`.

use super::v1_call::{read_limited_body, relay, visible_models};
use crate::providers::gemini_inbound::{self, models, Method};
use crate::services::count_tokens::{self, Ask, Question};
use crate::services::dispatch::dialect_request;
use crate::services::dispatch::key_auth;
use crate::state::AppState;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1beta")
            .route("/models", web::get().to(list_models))
            .route("/models/{tail:.*}", web::get().to(get_model))
            .route("/models/{tail:.*}", web::post().to(model_action))
            .default_service(web::to(not_found)),
    );
}

fn google(e: V1Error) -> V1Error {
    e.dialect(Dialect::Gemini)
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, V1Error> {
    Err(google(V1Error::not_found(
        format!("unknown endpoint {} {}", req.method(), req.path()),
        "unknown_url",
    )))
}

/// `POST …/models/{model}:{method}`.
pub async fn model_action(
    state: web::Data<AppState>,
    client: web::Data<UpstreamClient>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, V1Error> {
    let tail = req.match_info().get("tail").unwrap_or_default().to_string();
    let Some((_, method)) = gemini_inbound::split_target(&tail) else {
        return not_found(req).await;
    };
    if method == Method::CountTokens {
        return count_tokens(&state, &client, &req, payload, &tail).await;
    }
    relay(
        &state,
        &client,
        &req,
        payload,
        method.endpoint(),
        Dialect::Gemini,
    )
    .await
}

/// Counted by a Gemini or Anthropic channel serving the model
/// (`services::count_tokens`), by the gateway's own count when none can; nothing billed.
async fn count_tokens(
    state: &AppState,
    client: &UpstreamClient,
    req: &HttpRequest,
    payload: web::Payload,
    tail: &str,
) -> Result<HttpResponse, V1Error> {
    let caller = key_auth::authenticate(state, req).await.map_err(google)?;
    let body = read_limited_body(req, payload).await.map_err(google)?;
    // Validates the body and makes the estimate to fall back on.
    let estimate = dialect_request::gemini_count_estimate(tail, &body).map_err(google)?;
    let model = gemini_inbound::split_target(tail)
        .map(|(m, _)| m)
        .unwrap_or_default();
    let native: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let question = Question::Gemini { body: &native };
    let request_id = crate::util::request_id(req);
    let ask = Ask {
        state,
        client,
        caller: &caller,
        model: &model,
        request_id: &request_id,
    };
    let counted = count_tokens::count(ask, question).await.map_err(google)?;
    let (out, source) = match counted {
        Some(n) => (serde_json::json!({ "totalTokens": n }), "provider"),
        None => (estimate, "estimate"),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("x-gateway-token-count", source))
        .json(out))
}

/// The shape a model list is answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    OpenAi,
    Anthropic,
    Gemini,
}

/// Anthropic's when the request carries `anthropic-version`, Gemini's when it carries
/// `x-goog-api-key` or `?key=` (and always under `/v1beta/`), OpenAI's otherwise.
pub fn shape_of(req: &HttpRequest) -> Shape {
    if req.path().starts_with("/v1beta/") || req.path() == "/v1beta" {
        return Shape::Gemini;
    }
    if req.headers().contains_key("anthropic-version") {
        return Shape::Anthropic;
    }
    let key_in_query =
        url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "key");
    if req.headers().contains_key("x-goog-api-key") || key_in_query {
        return Shape::Gemini;
    }
    Shape::OpenAi
}

fn dialect(shape: Shape) -> Dialect {
    match shape {
        Shape::OpenAi => Dialect::OpenAi,
        Shape::Anthropic => Dialect::Anthropic,
        Shape::Gemini => Dialect::Gemini,
    }
}

/// The model list in the request's shape, or `None` for OpenAI's (answered by the
/// caller).
pub async fn foreign_list(
    state: &AppState,
    req: &HttpRequest,
) -> Option<Result<HttpResponse, V1Error>> {
    let shape = shape_of(req);
    if shape == Shape::OpenAi {
        return None;
    }
    let models = match visible_models(state, req).await {
        Ok(m) => m,
        Err(e) => return Some(Err(e.dialect(dialect(shape)))),
    };
    let body = match shape {
        Shape::Anthropic => models::anthropic_list(&models),
        _ => {
            let q: Vec<(String, String)> =
                url::form_urlencoded::parse(req.query_string().as_bytes())
                    .into_owned()
                    .collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            let size = get("pageSize").and_then(|s| s.parse().ok());
            models::gemini_list(&models, size, get("pageToken"))
        }
    };
    Some(Ok(HttpResponse::Ok().json(body)))
}

/// One model in the request's shape, or `None` for OpenAI's.
pub async fn foreign_model(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Option<Result<HttpResponse, V1Error>> {
    let shape = shape_of(req);
    if shape == Shape::OpenAi {
        return None;
    }
    let id = id.trim_start_matches("models/");
    let result = match visible_models(state, req).await {
        Ok(models) if models.iter().any(|m| m == id) => {
            Ok(HttpResponse::Ok().json(if shape == Shape::Anthropic {
                models::anthropic_model(id)
            } else {
                models::gemini_model(id)
            }))
        }
        Ok(_) => Err(V1Error::not_found(
            format!("The model '{id}' does not exist or you do not have access to it."),
            "model_not_found",
        )),
        Err(e) => Err(e),
    };
    Some(result.map_err(|e| e.dialect(dialect(shape))))
}

async fn list_models(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, V1Error> {
    // Under /v1beta the shape is always Gemini's, so `None` cannot happen.
    foreign_list(&state, &req)
        .await
        .unwrap_or_else(|| Err(google(V1Error::internal())))
}

async fn get_model(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, V1Error> {
    let id = req.match_info().get("tail").unwrap_or_default().to_string();
    foreign_model(&state, &req, &id)
        .await
        .unwrap_or_else(|| Err(google(V1Error::internal())))
}

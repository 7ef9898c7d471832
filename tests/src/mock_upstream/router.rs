//! Maps a request (and the scripted reply it consumed) to an [`Action`].

use bytes::Bytes;
use serde_json::{json, Value};

use super::http::{Action, Body, Response};
use super::reply::{MockOptions, MockUsage, RecordedRequest, Reply};
use super::{anthropic, gemini, model_lists, openai, responses};

/// Everything a provider module needs to render a default reply.
pub(crate) struct Ctx<'a> {
    pub body: &'a Value,
    /// Model to report: request `model`, Azure deployment or Gemini path model.
    pub model: String,
    pub usage: Option<MockUsage>,
    /// [`MockOptions::reasoning_tokens`].
    pub reasoning_tokens: u64,
    pub chunks: usize,
    pub azure: bool,
    /// Unique-ish suffix for ids (`chatcmpl-mock-3`, `msg_mock-3`, …).
    pub id: String,
}

/// A provider's default reply before transport details are applied.
pub(crate) enum Rendered {
    Json(Value),
    Events(Vec<Bytes>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
}

/// Decides the reply to `req`; `seq` numbers requests for ids.
pub(crate) fn route(req: &RecordedRequest, reply: Reply, opts: &MockOptions, seq: usize) -> Action {
    let flavor = flavor_of(req);
    let error =
        |status: u16, message: &str| json_action(status, error_body(flavor, status, message), opts);
    match reply {
        Reply::Hang => return Action::Hang,
        Reply::Raw(bytes) => return Action::Raw(bytes),
        Reply::Json { status, body } => return json_action(status, body, opts),
        Reply::Error { status, message } => return error(status, &message),
        Reply::Sse(text) => return events_action(200, split_events(text.as_bytes()), opts),
        Reply::Fixture { path, status } => return fixture(&path, status, opts),
        Reply::Default | Reply::DropAfter(_) | Reply::StreamError { .. } | Reply::Slow(_) => {}
    }
    if let Some(key) = &opts.api_key {
        if !authorized(req, flavor, key) {
            return error(401, "Incorrect API key provided (mock upstream).");
        }
    }
    if flavor == Flavor::Anthropic && req.header("anthropic-version").is_none() {
        return error(400, "anthropic-version: header is required");
    }
    // Like Anthropic's, the mock's count_tokens refuses the fields only messages take.
    if flavor == Flavor::Anthropic && req.path.ends_with("/count_tokens") {
        let extra = ["max_tokens", "stream", "temperature", "metadata"]
            .into_iter()
            .find(|f| req.json().get(f).is_some());
        if let Some(field) = extra {
            return error(400, &format!("{field}: Extra inputs are not permitted"));
        }
    }
    if flavor == Flavor::Anthropic {
        if let Some(message) = super::reasoning::anthropic_replay_error(req.json()) {
            return error(400, &message);
        }
    }
    // Azure's v1 API (`/openai/v1/…`, used for the Responses API) takes no api-version.
    let azure_v1 = req.path.starts_with("/openai/v1/");
    if flavor == Flavor::Azure && !azure_v1 && req.query_param("api-version").is_none() {
        return error(400, "Missing required query parameter: api-version");
    }
    let Some(rendered) = render(req, flavor, opts, seq) else {
        return error(404, &format!("Unknown route {} {}", req.method, req.path));
    };
    let mut action = match rendered {
        Rendered::Json(body) => json_action(200, body, opts),
        Rendered::Events(events) => events_action(200, events, opts),
    };
    if let Action::Respond(response) = &mut action {
        match (reply, &mut response.body) {
            (Reply::DropAfter(n), _) => response.drop_after = Some(n),
            (Reply::Slow(pause), Body::Events(_)) => response.delay = pause,
            (Reply::Slow(pause), Body::Full(_)) => response.head_delay += pause,
            (Reply::StreamError { after }, Body::Events(events)) => {
                events.truncate(after);
                events.push(stream_error(flavor, "Overloaded"));
            }
            (Reply::StreamError { .. }, Body::Full(_)) => return error(500, "Overloaded"),
            _ => {}
        }
    }
    action
}

/// Model-list requests share `GET …/models` across providers: headers tell them apart.
fn flavor_of(req: &RecordedRequest) -> Flavor {
    if model_lists::is_anthropic_list(req) {
        Flavor::Anthropic
    } else if model_lists::is_gemini_list(req) {
        Flavor::Gemini
    } else {
        flavor(&req.path)
    }
}

fn flavor(path: &str) -> Flavor {
    if path.contains("/openai/deployments/") || path.starts_with("/openai/v1/") {
        Flavor::Azure
    } else if path.ends_with("/v1/messages") || path.ends_with("/v1/messages/count_tokens") {
        Flavor::Anthropic
    } else if path.contains("/models/") && path.contains(':') {
        Flavor::Gemini
    } else {
        Flavor::OpenAi
    }
}

fn render(
    req: &RecordedRequest,
    flavor: Flavor,
    opts: &MockOptions,
    seq: usize,
) -> Option<Rendered> {
    let body = req.json();
    let segments: Vec<&str> = req.path.split('/').collect();
    let mut ctx = Ctx {
        body,
        model: body["model"].as_str().unwrap_or("mock-model").to_string(),
        usage: opts.usage,
        reasoning_tokens: opts.reasoning_tokens,
        chunks: opts.chunks,
        azure: flavor == Flavor::Azure,
        id: format!("mock-{seq}"),
    };
    let post = req.method == "POST";
    match flavor {
        Flavor::Anthropic if req.path.ends_with("/count_tokens") => {
            let tokens = opts.usage.map_or(0, |u| u.prompt_tokens);
            Some(Rendered::Json(json!({ "input_tokens": tokens })))
        }
        Flavor::Anthropic if req.method == "GET" => Some(model_lists::anthropic(req)),
        Flavor::Anthropic => post.then(|| anthropic::messages(&ctx)),
        Flavor::Gemini if req.method == "GET" => Some(model_lists::gemini(req)),
        Flavor::Gemini => {
            let (model, method) = req.path.rsplit_once("/models/")?.1.split_once(':')?;
            ctx.model = model.to_string();
            let sse = req.query_param("alt") == Some("sse");
            post.then(|| gemini::reply(&ctx, method, sse)).flatten()
        }
        Flavor::Azure | Flavor::OpenAi => {
            if ctx.azure && req.path.contains("/deployments/") {
                // /openai/deployments/{deployment}/...
                let at = segments.iter().position(|s| *s == "deployments")?;
                ctx.model = segments.get(at + 1)?.to_string();
            }
            if let Some(at) = segments.iter().position(|s| *s == "responses") {
                return match (req.method.as_str(), &segments[at + 1..]) {
                    ("POST", []) => Some(responses::create(&ctx)),
                    ("POST", ["compact"]) => Some(responses::compact(&ctx)),
                    (m, [id]) => responses::stored(m, id, None, &ctx),
                    (m, [id, tail]) => responses::stored(m, id, Some(tail), &ctx),
                    _ => None,
                };
            }
            match (req.method.as_str(), segments.last().copied()?) {
                ("GET", "models") => Some(openai::models()),
                ("POST", "completions") if req.path.ends_with("/chat/completions") => {
                    Some(openai::chat(&ctx))
                }
                ("POST", "completions") => Some(openai::completions(&ctx)),
                ("POST", "embeddings") => Some(openai::embeddings(&ctx)),
                _ => None,
            }
        }
    }
}

fn authorized(req: &RecordedRequest, flavor: Flavor, key: &str) -> bool {
    match flavor {
        Flavor::OpenAi => req.header("authorization") == Some(&format!("Bearer {key}")),
        Flavor::Azure => req.header("api-key") == Some(key),
        Flavor::Anthropic => req.header("x-api-key") == Some(key),
        Flavor::Gemini => {
            req.header("x-goog-api-key") == Some(key) || req.query_param("key") == Some(key)
        }
    }
}

fn error_body(flavor: Flavor, status: u16, message: &str) -> Value {
    match flavor {
        Flavor::OpenAi | Flavor::Azure => openai::error_body(status, message),
        Flavor::Anthropic => anthropic::error_body(status, message),
        Flavor::Gemini => gemini::error_body(status, message),
    }
}

fn stream_error(flavor: Flavor, message: &str) -> Bytes {
    match flavor {
        Flavor::OpenAi | Flavor::Azure => openai::stream_error(message),
        Flavor::Anthropic => anthropic::stream_error(message),
        Flavor::Gemini => gemini::stream_error(message),
    }
}

fn json_action(status: u16, body: Value, opts: &MockOptions) -> Action {
    let bytes = match &body {
        // A bare string is sent as-is: lets tests send non-JSON or broken JSON bodies.
        Value::String(text) => text.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    respond(status, "application/json", Body::Full(bytes), opts)
}

fn events_action(status: u16, events: Vec<Bytes>, opts: &MockOptions) -> Action {
    respond(status, "text/event-stream", Body::Events(events), opts)
}

fn respond(status: u16, content_type: &'static str, body: Body, opts: &MockOptions) -> Action {
    Action::Respond(Response {
        status,
        content_type,
        body,
        drop_after: None,
        head_delay: opts.head_delay,
        delay: opts.delay,
        chunk_bytes: opts.chunk_bytes,
    })
}

fn fixture(path: &str, status: u16, opts: &MockOptions) -> Action {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/");
    let Ok(bytes) = std::fs::read(format!("{dir}{path}")) else {
        let body = openai::error_body(500, &format!("mock fixture {path} not found"));
        return json_action(500, body, opts);
    };
    match path.ends_with(".sse") {
        true => events_action(status, split_events(&bytes), opts),
        false => respond(status, "application/json", Body::Full(bytes), opts),
    }
}

/// Cuts an encoded SSE body after each blank line, keeping the bytes as they are.
fn split_events(bytes: &[u8]) -> Vec<Bytes> {
    let mut events = Vec::new();
    let mut start = 0;
    for i in 0..bytes.len() {
        let blank_lf = bytes[i] == b'\n' && i >= 1 && bytes[i - 1] == b'\n';
        let blank_crlf = bytes[i] == b'\n' && bytes[..i].ends_with(b"\r\n\r");
        if blank_lf || blank_crlf {
            events.push(Bytes::copy_from_slice(&bytes[start..=i]));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        events.push(Bytes::copy_from_slice(&bytes[start..]));
    }
    events
}

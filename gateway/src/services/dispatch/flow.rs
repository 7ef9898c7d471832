//! The request flow for `/v1/chat/completions`, `/v1/completions` and `/v1/embeddings`.

use super::attempt::{self, Failure};
use super::dialect_request;
use super::key_auth::{self, Caller};
use super::meter::Meter;
use super::output_cap::{self, OutputPlan};
use super::request::{self, ClientRequest};
use super::routing;
use super::stream::{self, StreamSettings};
use crate::providers::anthropic_inbound::{self, AnthropicPassthrough, OpenAiToAnthropicStream};
use crate::providers::responses_inbound::{self, Recorder};
use crate::providers::{
    gemini, gemini_inbound, reasoning, Endpoint, NativeBody, Outbound, Provider, StreamAdapter,
};
use crate::services::{limits, stored_responses};
use crate::state::AppState;
use crate::store::ledger::ReserveError;
use crate::store::Channel;
use crate::upstream::UpstreamClient;
use crate::v1_core::error::Dialect;
use crate::v1_core::error::V1Error;
use crate::v1_core::tokens;
use actix_web::http::header::HeaderName;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use shared::openai::Usage;
use std::time::{Duration, Instant};

const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");

/// Carries the output limit when the gateway lowered the client's (docs/reliability.md).
const OUTPUT_CAPPED: &str = "x-gateway-output-capped";
/// Largest upstream body read for a non-streaming answer.
const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// One `/v1` call: what every step of the flow needs, passed as one value.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub client: &'a UpstreamClient,
    pub req: &'a HttpRequest,
    pub caller: Caller,
    pub ep: Endpoint,
    pub dialect: Dialect,
    pub request_id: std::sync::Arc<str>,
}

pub async fn handle(call: Call<'_>, raw: Bytes) -> Result<HttpResponse, V1Error> {
    let mut meter = Meter::new(
        call.state.quota.clone(),
        &call.caller,
        call.request_id.clone(),
        crate::util::client_ip(call.req),
        Instant::now(),
    );
    meter.set_endpoint(endpoint_name(call.ep, call.dialect));
    meter.watch_shutdown(call.state.shutdown.watch());
    meter.set_trace(crate::tracing_otel::CallTrace::start(
        &call.state.tracing,
        crate::tracing_otel::CallStart {
            req: call.req,
            ep: call.ep,
            dialect: call.dialect,
            request_id: &call.request_id,
        },
    ));
    match run(&call, &mut meter, raw).await {
        Ok(mut res) => {
            limits::headers::decorate(call.req, &mut res, call.dialect);
            Ok(res)
        }
        Err(e) => {
            let e = limits::headers::decorate_error(call.req, e.dialect(call.dialect));
            meter.set_outcome(e.status().as_u16(), &e.message);
            if let Some(t) = meter.trace() {
                t.call_failed(&e);
            }
            meter.finish();
            Err(e)
        }
    }
}

/// The API the client called, for the log row.
fn endpoint_name(ep: Endpoint, dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Anthropic => "messages",
        Dialect::Responses => "responses",
        Dialect::Gemini => "gemini",
        Dialect::OpenAi => match ep {
            Endpoint::Chat => "chat",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
        },
    }
}

/// Reads the client's body in its dialect into the common OpenAI-format request.
fn client_request(
    ep: Endpoint,
    raw: Bytes,
    dialect: Dialect,
    req: &HttpRequest,
) -> Result<ClientRequest, V1Error> {
    match dialect {
        Dialect::Gemini => dialect_request::gemini(req, &raw),
        Dialect::Responses => dialect_request::responses(&raw, req.path()),
        Dialect::OpenAi => request::parse(ep, raw),
        Dialect::Anthropic => {
            let native: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
                V1Error::bad_request(format!("request body is not valid JSON: {e}"))
            })?;
            request::from_anthropic(raw, native, anthropic_inbound::to_openai)
        }
    }
}

async fn run(call: &Call<'_>, meter: &mut Meter, raw: Bytes) -> Result<HttpResponse, V1Error> {
    let (state, req, caller) = (call.state, call.req, &call.caller);
    let (ep, dialect, request_id) = (call.ep, call.dialect, &*call.request_id);
    key_auth::admit(state, req, caller).await?;
    if state.ledger.backlog() >= super::ledger::MAX_BACKLOG {
        return Err(V1Error::unavailable(
            "the gateway cannot record usage right now (its database is unavailable); try again shortly",
        )
        .code("database_unavailable"));
    }
    let mut cr = client_request(ep, raw, dialect, req)?;
    meter.set_model(&cr.model, cr.stream);
    // Claude Code's body fields depend on its beta flags; Anthropic channels need them.
    cr.anthropic_beta = req
        .headers()
        .get(ANTHROPIC_BETA)
        .and_then(|v| v.to_str().ok())
        .filter(|_| dialect == Dialect::Anthropic)
        .map(String::from);
    if !caller.token.models.is_empty() && !caller.token.models.contains(&cr.model) {
        return Err(V1Error::forbidden(
            format!("this API key may not use the model '{}'", cr.model),
            "model_not_allowed",
        ));
    }
    let channels = state.channels().await?;
    let cands = routing::candidates(&channels, &caller.user.group, &cr.model);
    if cands.is_empty() {
        if routing::model_known(&channels, &cr.model) {
            return Err(V1Error::unavailable(format!(
                "no available channel for model '{}' in group '{}'",
                cr.model, caller.user.group
            ))
            .code("model_not_available"));
        }
        return Err(V1Error::not_found(
            format!(
                "The model '{}' does not exist or you do not have access to it.",
                cr.model
            ),
            "model_not_found",
        ));
    }
    let cands = match cr.responses.clone() {
        Some(call) => stored_responses::restrict(state, caller, &call, cands, &cr.model).await?,
        None => cands,
    };
    let cands = state.limits.health.prefer_ready(cands);
    let opts = state.options.get();
    let priced = state.prices.lookup(&opts, &cr.model, &caller.user.group);
    meter.set_prices(&priced);
    let prices = priced.prices;
    let estimate = prices
        .quota(cr.prompt.estimate(), cr.completion_reserve)
        .ok_or_else(|| V1Error::bad_request("the request is too large to price"))?;
    let tokens = cr.prompt.estimate().saturating_add(cr.completion_reserve);
    let want = limits::Want::new(tokens, estimate, dialect);
    let admission = limits::admit_request(state, caller, req, want)
        .await
        .inspect_err(|e| {
            if e.status() == StatusCode::TOO_MANY_REQUESTS {
                state.metrics.rate_limited.inc();
            }
        })?;
    meter.set_admission(admission);
    let mut plan = OutputPlan::new(&cr.model, cr.output_limit, cr.choices, ep);
    let worst = plan
        .worst_case(&prices, cr.prompt.estimate())
        .ok_or_else(|| V1Error::bad_request("the request is too large to price"))?;
    let reserve = output_cap::Reserve {
        quota: &state.quota,
        store: &*state.store,
        token: &caller.token,
        user_id: caller.user.id,
        prices,
        prompt: cr.prompt.estimate(),
    };
    let needs = plan.minimum(&prices, cr.prompt.estimate()).unwrap_or(worst);
    match output_cap::reserve(&reserve, &mut plan, worst).await? {
        Ok(r) => meter.set_reservation(r),
        Err(refused) if refused.which == ReserveError::Token => {
            state.forget_token(&caller.token.key_hash).await;
            // The cached key may be stale (changed through another replica): report the
            // real reason when it is no longer enabled.
            let fresh = match refused.token {
                Some(t) => Some(t),
                None => state.store.token_by_id(caller.token.id).await?,
            };
            if let Some(fresh) = fresh {
                key_auth::status_error(&fresh)?;
            }
            return Err(V1Error::insufficient_quota(format!(
                "this API key's remaining quota is too small for this request (needs at least {needs})"
            )));
        }
        Err(_) => {
            state.forget_user(caller.user.id).await;
            return Err(V1Error::insufficient_quota(format!(
                "your account quota is too small for this request (needs at least {needs})"
            )));
        }
    }
    cr.output = Some(plan);
    let per_call = opts.per_call;
    let attempts = usize::try_from(per_call.retry_times).unwrap_or(0) + 1;
    let stream_settings = StreamSettings {
        keepalive: Duration::from_secs(u64::try_from(per_call.stream_keepalive_secs).unwrap_or(15)),
        idle_timeout: Duration::from_secs(
            u64::try_from(per_call.stream_idle_timeout_secs).unwrap_or(300),
        ),
        first_event_timeout: Duration::from_secs(state.settings.upstream_timeout_secs),
        shutdown: state.shutdown.watch(),
    };
    let mut tried = Vec::new();
    let mut last: Option<Failure> = None;
    let mut images: Option<gemini::Images> = None;
    for _ in 0..attempts {
        let Some(channel) = routing::pick(&cands, &tried, &mut rand::thread_rng()).cloned() else {
            break;
        };
        tried.push(channel.id);
        match try_channel(call, &cr, &channel, meter, &stream_settings, &mut images).await {
            Ok(res) => return Ok(res),
            Err(f) => {
                if let Some(t) = meter.trace() {
                    t.attempt_failed(&f.error);
                }
                log::warn!(
                    "request_id={request_id} channel={} attempt failed: {}",
                    channel.id,
                    f.detail
                );
                let retryable = f.retryable;
                last = Some(f);
                if !retryable {
                    break;
                }
            }
        }
    }
    let f = last.unwrap_or(Failure {
        retryable: false,
        error: V1Error::unavailable("no channel available"),
        detail: "no channel available".into(),
    });
    let mut e = f.error;
    if e.message.is_empty() {
        e.message = f.detail;
    }
    Err(e)
}

/// One try of the call on one channel: pass-through or conversion, then the answer.
async fn try_channel(
    call: &Call<'_>,
    cr: &ClientRequest,
    channel: &std::sync::Arc<Channel>,
    meter: &mut Meter,
    settings: &StreamSettings,
    images: &mut Option<gemini::Images>,
) -> Result<HttpResponse, Failure> {
    let (state, client, ep) = (call.state, call.client, call.ep);
    let request_id = &*call.request_id;
    let provider = Provider::for_channel(channel);
    let upstream_model = routing::upstream_model(channel, &cr.model);
    meter.set_channel(channel, upstream_model);
    let passthrough = match provider {
        Provider::Anthropic => cr.native.is_some(),
        Provider::Gemini => cr.gemini.is_some(),
        _ => false,
    };
    // An OpenAI client on an OpenAI-shaped channel: its bytes go up as they are.
    let openai_pt =
        cr.openai_native && provider != Provider::Anthropic && provider != Provider::Gemini;
    let responses_call = responses_inbound::passes_through(cr.responses.as_deref(), channel);
    let responses_pt = responses_call.is_some();
    // The client's own body goes upstream: nothing is converted, nothing dropped.
    let same_dialect = passthrough || responses_pt || openai_pt;
    // Pass-through never needs the OpenAI form; a conversion the body does not allow is
    // the client's error, on this channel type only.
    let openai = if same_dialect {
        &serde_json::Value::Null
    } else {
        cr.openai().map_err(|error| Failure {
            retryable: false,
            detail: error.message.clone(),
            error,
        })?
    };
    if provider == Provider::Gemini && cr.gemini.is_none() && images.is_none() {
        *images = Some(fetch_images(client, openai).await?);
    }
    let no_images = gemini::Images::new();
    let mut forward_headers = forwarded_headers(call.req, same_dialect);
    if let Some(t) = meter.trace() {
        t.propagate(&mut forward_headers);
    }
    let output = cr
        .output
        .map(|plan| plan.for_attempt(provider, upstream_model, *upstream_model != *cr.model))
        .unwrap_or_default();
    meter.set_output_cap(output.capped);
    let out = Outbound {
        openai,
        openai_native: openai_pt.then_some(NativeBody {
            raw: &cr.raw,
            model: &cr.model,
        }),
        anthropic_native: (passthrough && provider == Provider::Anthropic).then_some(NativeBody {
            raw: &cr.raw,
            model: &cr.model,
        }),
        anthropic_beta: cr.anthropic_beta.as_deref(),
        forward_headers: &forward_headers,
        gemini_native: cr.gemini.as_ref(),
        images: images.as_ref().unwrap_or(&no_images),
        responses: responses_call,
        output_limit: output.limit,
    };
    let recorder = out
        .responses
        .and_then(|call| Recorder::for_call(&state.store, call, channel, meter.user_id()));
    let dropped = if same_dialect {
        Vec::new()
    } else {
        let mut w = conversion_warnings(cr);
        w.extend(reasoning::warnings(provider, upstream_model, openai));
        w
    };
    if !dropped.is_empty() {
        meter.set_warnings(&dropped);
    }
    let warnings = warnings_header(&dropped);
    let capped = output.capped.map(|c| c.to_string());
    let attempt = attempt::Attempt {
        channel,
        provider,
        ep,
        stream: cr.stream,
        upstream_model,
        request_id,
    };
    let res = attempt::send(state, client, attempt, &out).await?;
    meter.first_byte();
    if cr.stream {
        let adapter: Box<dyn StreamAdapter> = if let Some(call) = cr.responses.as_deref() {
            let inner = || provider.stream_adapter(ep, &cr.model, true);
            responses_inbound::stream_adapter(
                call,
                responses_pt,
                inner,
                &cr.model,
                &cr.prompt,
                recorder,
            )
        } else if let Some(call) = &cr.gemini {
            let prompt = cr.prompt.clone();
            gemini_inbound::stream_adapter(call, provider, ep, &cr.model, passthrough, prompt)
        } else if passthrough {
            Box::new(AnthropicPassthrough::new(&cr.model))
        } else if cr.native.is_some() {
            let inner = provider.stream_adapter(ep, &cr.model, true);
            Box::new(
                OpenAiToAnthropicStream::new(inner, &cr.model)
                    .with_input_tokens(cr.prompt.tokens()),
            )
        } else {
            provider.stream_adapter(ep, &cr.model, cr.wants_usage)
        };
        let opened = stream::open(
            res.body,
            adapter,
            cr.prompt.clone(),
            settings.first_event_timeout,
        )
        .await
        .map_err(|detail| Failure {
            retryable: true,
            error: V1Error::bad_gateway("upstream stream failed before the first event"),
            detail,
        })?;
        let content_type = opened.content_type();
        let body = stream::into_client_stream(opened, meter.hand_over(), settings.clone());
        let mut res = HttpResponse::Ok();
        if let Some(w) = &warnings {
            res.insert_header(("x-gateway-warnings", w.as_str()));
        }
        if let Some(c) = &capped {
            res.insert_header((OUTPUT_CAPPED, c.as_str()));
        }
        return Ok(res
            .content_type(content_type)
            .insert_header(("cache-control", "no-cache"))
            .insert_header(("x-accel-buffering", "no"))
            .streaming(body));
    }
    let raw = res
        .read_all(MAX_UPSTREAM_BODY)
        .await
        .map_err(|e| attempt::unreadable_body(&e))?;
    if let Some(t) = meter.trace() {
        t.response_body(&raw);
    }
    let parsed = if responses_pt {
        responses_inbound::parse_passthrough(raw.clone(), recorder).await
    } else if let (Some(call), true) = (&cr.gemini, passthrough) {
        gemini_inbound::parse_native(call.method, &raw)
    } else {
        provider.parse(ep, raw.clone(), openai, &cr.prompt)
    };
    let parsed = parsed.map_err(|detail| Failure {
        retryable: false,
        error: V1Error::bad_gateway("upstream returned an invalid response"),
        detail,
    })?;
    let usage = match parsed.usage {
        Some(u) if !u.is_empty() => u,
        _ => Usage::new(
            cr.prompt.tokens(),
            tokens::count_tokens(&cr.model, &parsed.completion_text),
        ),
    };
    meter.set_usage(usage.clone());
    meter.set_outcome(200, "");
    meter.hand_over().finish();
    let body = if passthrough || responses_pt {
        raw
    } else if let Some(call) = cr.responses.as_deref() {
        responses_inbound::converted_body(call, &parsed.body, &cr.model, &usage)
    } else if let Some(call) = &cr.gemini {
        gemini_inbound::answer_body(call, &parsed.body, &cr.model)
    } else if cr.native.is_some() {
        let openai: serde_json::Value = serde_json::from_slice(&parsed.body).unwrap_or_default();
        Bytes::from(anthropic_inbound::from_openai_response(&openai, &cr.model).to_string())
    } else {
        parsed.body
    };
    let mut res = HttpResponse::Ok();
    if let Some(w) = &warnings {
        res.insert_header(("x-gateway-warnings", w.as_str()));
    }
    if let Some(c) = &capped {
        res.insert_header((OUTPUT_CAPPED, c.as_str()));
    }
    Ok(res.content_type("application/json").body(body))
}

/// Client headers that go upstream: W3C trace context always (replaced by the attempt's
/// span context when tracing is on); on pass-through also the dialect's own version and
/// beta headers, which the body may depend on.
fn forwarded_headers(req: &HttpRequest, passthrough: bool) -> Vec<(&'static str, String)> {
    // Names as `HeaderName`s, so a lookup hashes a ready name instead of parsing a string.
    static TRACE: [HeaderName; 2] = [
        HeaderName::from_static("traceparent"),
        HeaderName::from_static("tracestate"),
    ];
    static DIALECT: [HeaderName; 2] = [
        HeaderName::from_static("anthropic-version"),
        HeaderName::from_static("openai-beta"),
    ];
    let names = TRACE.iter().chain(DIALECT.iter().filter(|_| passthrough));
    names
        .filter_map(|name| {
            let value = req.headers().get(name)?.to_str().ok()?;
            Some((name.as_str(), value.to_string()))
        })
        .collect()
}

/// What converting this call for another provider leaves out (the log row's `warnings`).
fn conversion_warnings(cr: &ClientRequest) -> Vec<String> {
    if let Some(call) = cr.responses.as_deref() {
        return call.warnings.clone();
    }
    if let Some(call) = &cr.gemini {
        return gemini_inbound::dropped(&call.native);
    }
    cr.native
        .as_ref()
        .map(anthropic_inbound::dropped)
        .unwrap_or_default()
}

/// The `x-gateway-warnings` header: the warnings, as visible ASCII.
fn warnings_header(warnings: &[String]) -> Option<String> {
    if warnings.is_empty() {
        return None;
    }
    Some(
        warnings
            .join("; ")
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect(),
    )
}

/// Fetches the remote images a Gemini request needs inline, through the guard; a URL
/// that is refused or fails is the client's problem (400), not the channel's.
async fn fetch_images(
    client: &UpstreamClient,
    body: &serde_json::Value,
) -> Result<gemini::Images, Failure> {
    let mut images = gemini::Images::new();
    for url in gemini::remote_image_urls(body) {
        let fetched = client.images.fetch(&url).await.map_err(|detail| Failure {
            retryable: false,
            error: V1Error::bad_request(detail.clone()).param("messages"),
            detail,
        })?;
        images.insert(url, fetched);
    }
    Ok(images)
}

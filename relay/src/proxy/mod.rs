//! The `/proxy` pipeline in named phases: authorize, target, headers, forward, respond.

mod access_log;
pub mod authorize;
pub mod body;
pub mod connector;
pub mod forward;
pub mod headers;
pub mod respond;
pub mod target;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::Payload;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use awc::ClientResponse;
use shared::ip_guard::{HostAllowList, UrlPolicy};
use shared::relay_protocol::HEADER_REQUEST_ID;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::RelayError;
use crate::metrics::RelayMetrics;
use crate::settings::Settings;
use access_log::AccessLog;
use authorize::ProxyKey;
use body::UpstreamBody;

/// Shared by every worker: key, policy, limits, and the global stream counter.
pub struct ProxyState {
    key: ProxyKey,
    policy: UrlPolicy,
    allowed_hosts: HostAllowList,
    max_body_bytes: u64,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    streams: Arc<Semaphore>,
    metrics: Arc<RelayMetrics>,
    /// The OpenTelemetry span exporter (inert unless configured).
    pub tracing: shared::otel::Tracing,
}

impl ProxyState {
    pub fn new(settings: &Settings, tracing: shared::otel::Tracing) -> Self {
        Self {
            key: ProxyKey::new(&settings.proxy_key),
            policy: settings.url_policy(),
            allowed_hosts: settings.allowed_hosts.clone(),
            max_body_bytes: settings.max_body_bytes,
            first_byte_timeout: settings.first_byte_timeout,
            idle_timeout: settings.idle_timeout,
            streams: Arc::new(Semaphore::new(settings.max_concurrent_streams)),
            metrics: Arc::new(RelayMetrics::new()),
            tracing,
        }
    }

    pub fn metrics(&self) -> Arc<RelayMetrics> {
        Arc::clone(&self.metrics)
    }
}

/// Relays one request. Relay-side failures become `X-Relay-Error` responses.
pub async fn relay(
    req: &HttpRequest,
    payload: Payload,
    state: &ProxyState,
    client: &awc::Client,
) -> HttpResponse {
    let mut log = AccessLog::start(
        headers::request_id(req.headers()),
        req.method().clone(),
        state.metrics(),
    );
    let span = trace::RelayTrace::start(&state.tracing, req, log.request_id());
    log.set_trace(span);
    let failure = match open_upstream(req, payload, state, client, &mut log).await {
        Ok((upstream, permit)) => {
            return respond::stream_back(upstream, log, permit, state.idle_timeout)
        }
        Err(failure) => failure,
    };
    state
        .metrics
        .refusals
        .with_label_values(&[failure.code().as_str()])
        .inc();
    let mut response = failure.error_response();
    log.responded(response.status().as_u16());
    log.finish(failure.code().as_str());
    if let Ok(id) = HeaderValue::from_str(log.request_id()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER_REQUEST_ID), id);
    }
    response
}

async fn open_upstream(
    req: &HttpRequest,
    payload: Payload,
    state: &ProxyState,
    client: &awc::Client,
    log: &mut AccessLog,
) -> Result<(ClientResponse, OwnedSemaphorePermit), RelayError> {
    authorize::authorize(req.headers(), &state.key)?;
    let target = target::resolve_target(req.headers(), state.policy, &state.allowed_hosts)?;
    log.set_host(target.host());
    let body = UpstreamBody::new(
        req.headers(),
        payload,
        state.max_body_bytes,
        state.idle_timeout,
    )?;
    // Taken before connecting, released when the response body is dropped.
    let permit = Arc::clone(&state.streams)
        .try_acquire_owned()
        .map_err(|_| RelayError::Overloaded)?;
    let mut upstream_headers = headers::upstream_request_headers(req.headers());
    log.trace().propagate(&mut upstream_headers);
    let upstream = forward::send(
        client,
        req.method().clone(),
        &target,
        upstream_headers,
        body,
        state.first_byte_timeout,
    )
    .await?;
    Ok((upstream, permit))
}

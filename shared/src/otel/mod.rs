//! OpenTelemetry trace export shared by the gateway and the relay: the standard `OTEL_*`
//! configuration, the SDK's batch span processor with the OTLP/HTTP protobuf exporter
//! (no gRPC), and W3C trace context over actix headers. Unconfigured, nothing is built.

mod config;
mod export_client;

pub use config::{ConfigError, OtelConfig};

use actix_http::header::{HeaderMap, HeaderName, HeaderValue};
use export_client::{ExportClient, ExportRuntime};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider;
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

/// Why the exporter could not be built (a bad endpoint, no thread for the runtime).
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// The process's span exporter, if tracing is configured.
#[derive(Default)]
pub struct Tracing {
    inner: Option<Exporting>,
}

// Field order is drop order: the provider flushes through the runtime before it stops.
struct Exporting {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    runtime: ExportRuntime,
}

impl Tracing {
    /// Builds the exporter when `config` names an endpoint; otherwise tracing is off.
    /// `scope` names the instrumentation (the crate).
    pub fn start(config: &OtelConfig, scope: &'static str) -> Result<Self, StartError> {
        let Some(endpoint) = &config.traces_endpoint else {
            return Ok(Tracing::default());
        };
        let runtime = ExportRuntime::start()?;
        let client = ExportClient::new(runtime.handle(), config.timeout)?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(config.timeout)
            .with_headers(config.headers.iter().cloned().collect())
            .build()?;
        let mut batch = BatchConfigBuilder::default();
        if let Some(delay) = config.schedule_delay {
            batch = batch.with_scheduled_delay(delay);
        }
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch.build())
            .build();
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer(scope);
        log::info!("exporting traces to {endpoint} (OTLP/HTTP protobuf)");
        Ok(Tracing {
            inner: Some(Exporting {
                provider,
                tracer,
                runtime,
            }),
        })
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    pub fn tracer(&self) -> Option<&SdkTracer> {
        self.inner.as_ref().map(|e| &e.tracer)
    }

    /// Exports every span still queued and stops the exporter (call it at a graceful
    /// stop, once the server no longer ends spans).
    pub async fn shutdown(&self) {
        let Some(e) = &self.inner else {
            return;
        };
        let provider = e.provider.clone();
        // Blocks until the batch thread has sent its last batch.
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => log::warn!("trace exporter shutdown: {err}"),
            Err(err) => log::warn!("trace exporter shutdown failed: {err}"),
        }
        e.runtime.stop();
    }
}

/// The W3C trace context a request arrived with (an empty context without one).
pub fn extract(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// The context's `traceparent` (and `tracestate`) as `(name, value)` pairs.
pub fn inject(cx: &Context) -> Vec<(&'static str, String)> {
    let mut out = Pairs(Vec::with_capacity(2));
    TraceContextPropagator::new().inject_context(cx, &mut out);
    out.0
}

/// Sets `traceparent`/`tracestate` in `headers` to the context's (removing the old ones).
pub fn inject_into(cx: &Context, headers: &mut HeaderMap) {
    headers.remove("traceparent");
    headers.remove("tracestate");
    for (name, value) in inject(cx) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct Pairs(Vec<(&'static str, String)>);

impl Injector for Pairs {
    fn set(&mut self, key: &str, value: String) {
        let name = match key {
            "traceparent" => "traceparent",
            "tracestate" => "tracestate",
            _ => return,
        };
        self.0.push((name, value));
    }
}

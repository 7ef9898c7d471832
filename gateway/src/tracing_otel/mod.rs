//! OpenTelemetry traces (issue 18): one span per `/v1` call with a child per upstream
//! attempt, GenAI semantic-convention attributes, W3C trace context in and out, exported
//! over OTLP/HTTP with protobuf when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Unset, nothing is built and the
//! dispatch's hooks are single branches. Prompt and completion text are never recorded.

mod call;
mod config;
mod export_client;
pub mod semconv;

pub use call::{CallStart, CallTrace};
pub use config::OtelConfig;

use export_client::{ExportClient, ExportRuntime};
use opentelemetry::trace::TracerProvider;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

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
    pub fn start(config: &OtelConfig) -> anyhow::Result<Self> {
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
        let tracer = provider.tracer("llm-gateway");
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

    pub(crate) fn tracer(&self) -> Option<&SdkTracer> {
        self.inner.as_ref().map(|e| &e.tracer)
    }

    /// Exports every span still queued and stops the exporter (graceful stop, after the
    /// HTTP server and the settlement writer are done, so the last calls' spans are in).
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

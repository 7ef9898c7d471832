//! A minimal OTLP/HTTP trace receiver: `POST /v1/traces` with protobuf bodies, decoded
//! with the `opentelemetry-proto` types, kept for the test to inspect.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Received {
    bodies: Vec<Bytes>,
    spans: Vec<ReceivedSpan>,
    /// Request heads that were not OTLP protobuf (wrong path or content type).
    refused: Vec<String>,
    /// Headers of the export requests (lowercased names).
    headers: Vec<Vec<(String, String)>>,
}

/// One exported span with its resource's `service.name`.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    pub service_name: String,
    pub span: Span,
}

impl ReceivedSpan {
    pub fn name(&self) -> &str {
        &self.span.name
    }

    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// Empty for a root span.
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.span
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    pub fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.value(key)? {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.value(key)? {
            Value::IntValue(n) => Some(*n),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.value(key)? {
            Value::BoolValue(b) => Some(*b),
            _ => None,
        }
    }

    /// The span's status code: 0 unset, 1 ok, 2 error.
    pub fn status_code(&self) -> i32 {
        self.span.status.as_ref().map_or(0, |s| s.code)
    }

    /// 2 = server, 3 = client (`SpanKind` numbering of the protocol).
    pub fn kind(&self) -> i32 {
        self.span.kind
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct OtlpReceiver {
    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub url: String,
    received: Arc<Mutex<Received>>,
    server: actix_web::dev::ServerHandle,
}

async fn receive(
    req: HttpRequest,
    body: Bytes,
    received: web::Data<Arc<Mutex<Received>>>,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut r = received.lock().expect("receiver state");
    if req.path() != "/v1/traces" || content_type != "application/x-protobuf" {
        r.refused
            .push(format!("{} {} {content_type}", req.method(), req.path()));
        return HttpResponse::NotFound().finish();
    }
    let decoded = match ExportTraceServiceRequest::decode(body.clone()) {
        Ok(d) => d,
        Err(e) => {
            r.refused.push(format!("undecodable body: {e}"));
            return HttpResponse::BadRequest().finish();
        }
    };
    r.headers.push(
        req.headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
    );
    r.bodies.push(body);
    for rs in decoded.resource_spans {
        let service_name = rs
            .resource
            .as_ref()
            .and_then(|res| res.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for span in ss.spans {
                r.spans.push(ReceivedSpan {
                    service_name: service_name.clone(),
                    span,
                });
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let received = Arc::new(Mutex::new(Received::default()));
        let data = web::Data::new(received.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .expect("receiver listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        OtlpReceiver {
            url: format!("http://127.0.0.1:{port}"),
            received,
            server: handle,
        }
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.lock().expect("receiver state").spans.clone()
    }

    /// Every export body as it arrived (to look for text that must not be there).
    pub fn bodies(&self) -> Vec<Bytes> {
        self.received.lock().expect("receiver state").bodies.clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.received
            .lock()
            .expect("receiver state")
            .refused
            .clone()
    }

    pub fn request_headers(&self) -> Vec<Vec<(String, String)>> {
        self.received
            .lock()
            .expect("receiver state")
            .headers
            .clone()
    }

    /// Waits until `n` spans of the trace `trace_id` arrived (at most `timeout`).
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans: Vec<_> = self
                .spans()
                .into_iter()
                .filter(|s| s.trace_id() == trace_id)
                .collect();
            if spans.len() >= n || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn stop(&self) {
        self.server.stop(false).await;
    }
}

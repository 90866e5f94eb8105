//! Logging: `tracing` to stderr (stdout is for command output), text or JSON; and, when an
//! OTLP endpoint is configured, traces.
//!
//! Traces are off unless `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! is set (and `OTEL_SDK_DISABLED` is not `true`): then `tracing-opentelemetry` turns
//! Warden's spans (targets `warden::*`, no events) into OpenTelemetry spans, exported over
//! OTLP/HTTP with protobuf. The exporter sends through Warden's own reqwest client on the
//! main runtime (`Exporting`), not a second HTTP stack. The child spans (`db.*`,
//! `password.*`, `http.client`) are at DEBUG, so with traces off and the default log level
//! no subscriber wants them and they cost nothing.
//!
//! actix logs every malformed request and broken connection at ERROR, one line each, so
//! anyone could flood the log. Those lines (targets `actix_http`, and `actix_server`'s
//! accept errors) are taken out of the normal output and summarised instead: at most one
//! WARN line a second, carrying how many were suppressed since the last one.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use bytes::Bytes;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::LogFormat;

/// Whether spans are exported (set once, by `init`).
static TRACES: AtomicBool = AtomicBool::new(false);

/// Whether traces are exported: the request span records its OpenTelemetry attributes only
/// then.
pub fn traces_on() -> bool {
    TRACES.load(Ordering::Relaxed)
}

/// What must outlive serving: the trace pipeline, flushed by `shutdown`.
#[must_use = "call shutdown() at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued and stops the exporter. Call it outside the runtime's
    /// tasks, while the runtime still runs: the export itself runs on it.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warden: the last traces may not have been sent: {e}");
        }
    }
}

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level. Traces
/// are exported (see the module header) through `runtime`.
pub fn init(format: LogFormat, runtime: &tokio::runtime::Handle) -> Telemetry {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    // Unless asked for by name, actix's per-connection lines go through `ConnectionNoise`.
    let directives = if directives.contains("actix_") {
        directives
    } else {
        format!("{directives},actix_http=off,actix_server::accept=off")
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let noise = ConnectionNoise::default().with_filter(filter_fn(|m| is_noise(m.target())));
    let (provider, failed) = match traces(runtime) {
        Ok(provider) => (provider, None),
        Err(e) => (None, Some(e)),
    };
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("warden"))
            .with_location(false)
            .with_threads(false)
            .with_level(false)
            .with_target(false)
            // Only Warden's own spans: its events are log lines, already searched for
            // secrets, but a dependency's span fields are not Warden's to vouch for.
            .with_filter(filter_fn(|m| {
                m.is_span() && m.target().starts_with("warden") && *m.level() <= Level::DEBUG
            }))
    });
    // A second call (tests) is harmless: the first subscriber stays.
    let installed = tracing_subscriber::registry()
        .with(spans)
        .with(fmt.with_filter(filter))
        .with(noise)
        .try_init()
        .is_ok();
    if let Some(e) = failed {
        tracing::warn!("traces are off: the OTLP exporter cannot start: {e}");
    }
    let provider = provider.filter(|_| installed);
    TRACES.store(provider.is_some(), Ordering::Relaxed);
    Telemetry { provider }
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// The trace pipeline, if the environment asks for one.
fn traces(runtime: &tokio::runtime::Handle) -> anyhow::Result<Option<SdkTracerProvider>> {
    let disabled =
        std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let endpoint =
        env_set("OTEL_EXPORTER_OTLP_ENDPOINT") || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if disabled || !endpoint {
        return Ok(None);
    }
    // The exporter reads the endpoint, headers and protocol itself; the timeout is ours to
    // apply, since the HTTP client is.
    let timeout = [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ]
    .iter()
    .find_map(|name| std::env::var(name).ok()?.trim().parse::<u64>().ok())
    .map_or(Duration::from_secs(10), Duration::from_millis);
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_timeout(timeout)
        .with_http_client(Exporting {
            client,
            runtime: runtime.clone(),
        })
        .build()?;
    let mut resource = Resource::builder();
    let named = env_set("OTEL_SERVICE_NAME")
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    if !named {
        resource = resource.with_service_name("warden");
    }
    let resource = resource
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    // The sampler comes from `OTEL_TRACES_SAMPLER`/`_ARG`, the batching from `OTEL_BSP_*`.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    Ok(Some(provider))
}

/// The OTLP exporter's HTTP client: Warden's reqwest, its requests run on the main runtime.
/// The SDK's batch processor exports from a thread of its own with no runtime, where
/// reqwest cannot run; it only waits here for the task's answer.
#[derive(Debug)]
struct Exporting {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

/// A collector's answer is a status and a small protobuf; anything larger is not one.
const MAX_EXPORT_ANSWER: usize = 64 * 1024;

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Exporting {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<Bytes>,
    ) -> Result<opentelemetry_http::Response<Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let mut response = client.execute(request).await?;
            let status = response.status();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_EXPORT_ANSWER {
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = task.await??;
        let mut response = opentelemetry_http::Response::new(Bytes::from(body));
        *response.status_mut() = status;
        Ok(response)
    }
}

/// An incoming request's W3C trace context (`traceparent`, `tracestate`), if it sent one.
pub fn incoming(headers: &actix_web::http::header::HeaderMap) -> Option<opentelemetry::Context> {
    headers.get("traceparent")?;
    let context = TraceContextPropagator::new().extract(&ActixHeaders(headers));
    context.span().span_context().is_valid().then_some(context)
}

struct ActixHeaders<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for ActixHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Makes `span` (a server span not yet entered) a child of the caller's span.
pub fn set_parent(span: &tracing::Span, parent: opentelemetry::Context) {
    // Fails only for a span no OpenTelemetry layer sees: then there is nothing to link.
    let _ = span.set_parent(parent);
}

/// The trace and span ids (lowercase hex) of `span`, when traces are on.
pub fn ids(span: &tracing::Span) -> Option<(String, String)> {
    if !traces_on() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        )
    })
}

/// The trace id `context` carries (an incoming `traceparent`'s, when traces are off).
pub fn trace_id(context: &opentelemetry::Context) -> String {
    context.span().span_context().trace_id().to_string()
}

/// Adds `traceparent` for the current span to an outbound request, when traces are on.
pub fn inject(headers: &mut reqwest::header::HeaderMap) {
    if !traces_on() {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new()
        .inject_context(&context, &mut opentelemetry_http::HeaderInjector(headers));
}

fn is_noise(target: &str) -> bool {
    target.starts_with("actix_http") || target.starts_with("actix_server::accept")
}

/// Turns actix's ERROR lines about clients into a rate-limited WARN summary.
struct ConnectionNoise {
    once_a_second: DefaultDirectRateLimiter,
    suppressed: AtomicU64,
}

impl Default for ConnectionNoise {
    fn default() -> ConnectionNoise {
        ConnectionNoise {
            once_a_second: RateLimiter::direct(Quota::per_second(NonZeroU32::MIN)),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl<S: Subscriber> Layer<S> for ConnectionNoise {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > Level::WARN {
            return;
        }
        if self.once_a_second.check().is_err() {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        tracing::warn!(
            target: "warden::connection",
            suppressed,
            "client connection error: {}",
            message.0
        );
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
            if let Some((cut, _)) = self.0.char_indices().nth(200) {
                self.0.truncate(cut);
            }
        }
    }
}

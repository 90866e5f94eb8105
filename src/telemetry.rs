//! Logging: `tracing` to stderr (stdout is for command output), text or JSON.
//!
//! actix logs every malformed request and broken connection at ERROR, one line each, so
//! anyone could flood the log. Those lines (targets `actix_http`, and `actix_server`'s
//! accept errors) are taken out of the normal output and summarised instead: at most one
//! WARN line a second, carrying how many were suppressed since the last one.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::LogFormat;

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
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
    // A second call (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(noise)
        .try_init();
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

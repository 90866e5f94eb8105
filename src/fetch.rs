//! The one way Warden fetches anything from the network (client metadata documents, their
//! `jwks_uri`): SSRF-safe by construction.
//!
//! - only https (plain http to loopback only with `WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1`);
//! - the host is resolved here and every address checked against the special-use ranges
//!   of RFC 6890 (private, loopback, link-local, CGNAT, documentation, multicast, IPv4 in
//!   IPv6 forms…); the connection is then pinned to the checked address, so a second DNS
//!   answer cannot rebind it;
//! - no redirects, a time limit, a body cap, status 200 only;
//! - cache lifetimes from `Cache-Control`, clamped; a failed fetch is remembered for
//!   60 s (a bounded negative cache), so one URL cannot make Warden fetch on every request;
//! - proxy variables of the environment (`HTTPS_PROXY`, `ALL_PROXY`…) are ignored: a proxy
//!   resolves names itself, which would skip the address pinning. An egress proxy is only
//!   used when the operator names one (`WARDEN_EGRESS_PROXY`); Warden still checks the
//!   addresses it resolves, but the proxy resolves again, so refusing private destinations
//!   becomes that proxy's duty.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::Instrument;
use url::{Host, Url};

use crate::clock::{Clock, UnixTime};

const TIMEOUT: Duration = Duration::from_secs(5);
const MIN_CACHE: u64 = 60;
const MAX_CACHE: u64 = 24 * 3600;
const DEFAULT_CACHE: u64 = 300;
const MAX_CACHE_ENTRIES: usize = 10_000;
/// Seconds a failed fetch is answered from memory.
const FAILURE_MEMORY: i64 = 60;
const MAX_FAILURE_ENTRIES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("the fetch failed: {1}")]
    Failed(FetchOutcome, String),
}

impl FetchError {
    pub fn outcome(&self) -> FetchOutcome {
        match self {
            FetchError::Refused(_) => FetchOutcome::Refused,
            FetchError::Failed(outcome, _) => *outcome,
        }
    }
}

/// What a fetch was for: the `kind` label of `warden_external_fetches_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchKind {
    /// The keys of a client, an external token issuer, an IdP or a workload platform.
    Jwks,
    /// A client ID metadata document.
    ClientMetadata,
    /// An upstream identity provider: discovery, token and user-info calls.
    Upstream,
    /// The probes of an MCP server's resource check.
    ResourceCheck,
}

impl FetchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchKind::Jwks => "jwks",
            FetchKind::ClientMetadata => "client_metadata",
            FetchKind::Upstream => "upstream",
            FetchKind::ResourceCheck => "resource_check",
        }
    }
}

/// How a fetch ended: the `outcome` label, and the kind of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// An answer came (for `get`, a 200).
    Ok,
    /// Answered from the cache, no request sent.
    Cached,
    /// An answer with a status the caller cannot use (`get`: not 200; others: 4xx, 5xx).
    HttpError,
    Timeout,
    TooLarge,
    /// The destination is not one Warden fetches from (not https, a private address…).
    Refused,
    /// No connection, no name, a broken answer.
    Unreachable,
    /// Failed less than a minute ago: answered from the negative cache.
    RecentlyFailed,
}

impl FetchOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchOutcome::Ok => "ok",
            FetchOutcome::Cached => "cached",
            FetchOutcome::HttpError => "http_error",
            FetchOutcome::Timeout => "timeout",
            FetchOutcome::TooLarge => "too_large",
            FetchOutcome::Refused => "refused",
            FetchOutcome::Unreachable => "unreachable",
            FetchOutcome::RecentlyFailed => "recently_failed",
        }
    }
}

/// The outcome of a call that returns whatever status came back.
fn answered(result: &Result<Fetched, FetchError>) -> FetchOutcome {
    match result {
        Ok(f) if f.status >= 400 => FetchOutcome::HttpError,
        Ok(_) => FetchOutcome::Ok,
        Err(e) => e.outcome(),
    }
}

/// A cached document for a caller with `max_bytes`: one cache serves callers with different
/// limits, and each limit still holds.
fn within_limit(body: Bytes, max_bytes: usize) -> Result<Bytes, FetchError> {
    if body.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    Ok(body)
}

fn too_large(max_bytes: usize) -> FetchError {
    FetchError::Failed(
        FetchOutcome::TooLarge,
        format!("the document is larger than {max_bytes} bytes"),
    )
}

fn cannot_reach(why: impl Into<String>) -> FetchError {
    FetchError::Failed(FetchOutcome::Unreachable, why.into())
}

fn timed_out() -> FetchError {
    FetchError::Failed(FetchOutcome::Timeout, "timed out".into())
}

/// A response read whole, under the size cap.
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

pub struct Fetcher {
    allow_loopback: bool,
    /// The operator's egress proxy (`WARDEN_EGRESS_PROXY`); never one from the environment.
    proxy: Option<Url>,
    /// Expiry on the `Clock`, like every other expiry (so a test can move past it).
    cache: Mutex<HashMap<String, (UnixTime, Bytes)>>,
    /// URLs whose last fetch failed, until when (clock time) that failure is answered
    /// from memory.
    failures: Mutex<HashMap<String, UnixTime>>,
    clock: Arc<dyn Clock>,
}

impl Fetcher {
    pub fn new(allow_loopback: bool, proxy: Option<Url>, clock: Arc<dyn Clock>) -> Fetcher {
        if allow_loopback {
            tracing::warn!(
                "WARDEN_DEV_ALLOW_LOOPBACK_FETCH is on: Warden will fetch plain-http URLs on loopback \
                 addresses. Never use this in production."
            );
        }
        if proxy.is_some() {
            tracing::warn!(
                "WARDEN_EGRESS_PROXY is set: outbound fetches go through it, and it must refuse \
                 private and special-use destinations itself."
            );
        }
        Fetcher {
            allow_loopback,
            proxy,
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// GETs `url` as JSON, at most `max_bytes`, from a cache entry when one is fresh.
    pub async fn get(
        &self,
        kind: FetchKind,
        url: &str,
        max_bytes: usize,
    ) -> Result<Bytes, FetchError> {
        let (fresh, result) = match self.cached(url) {
            Some(body) => (FetchOutcome::Cached, within_limit(body, max_bytes)),
            None => (FetchOutcome::Ok, self.get_fresh(url, max_bytes).await),
        };
        let outcome = result.as_ref().map_or_else(FetchError::outcome, |_| fresh);
        crate::measure::external_fetch(kind, outcome);
        result
    }

    async fn get_fresh(&self, url: &str, max_bytes: usize) -> Result<Bytes, FetchError> {
        if self.failed_recently(url) {
            return Err(FetchError::Failed(
                FetchOutcome::RecentlyFailed,
                "it failed less than a minute ago (not fetched again yet)".into(),
            ));
        }
        let fetched = self.fetch_ok(url, max_bytes).await;
        let response = match fetched {
            Ok(response) => response,
            Err(e) => {
                self.remember_failure(url);
                return Err(e);
            }
        };
        let lifetime = cache_lifetime(
            response
                .headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
        );
        let body = response.body;
        if let Some(seconds) = lifetime {
            let now = self.clock.now();
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.retain(|_, (expires, _)| *expires > now);
            }
            if cache.len() < MAX_CACHE_ENTRIES {
                cache.insert(url.to_owned(), (now + seconds as i64, body.clone()));
            }
        }
        Ok(body)
    }

    /// One GET that must answer 200.
    async fn fetch_ok(&self, url: &str, max_bytes: usize) -> Result<Fetched, FetchError> {
        let request = reqwest::Request::new(
            reqwest::Method::GET,
            Url::parse(url)
                .map_err(|e| FetchError::Refused(format!("{url:?} is not a URL ({e})")))?,
        );
        let response = self.send_unmeasured(request, max_bytes).await?;
        if response.status != 200 {
            return Err(FetchError::Failed(
                FetchOutcome::HttpError,
                format!(
                    "status {} (only 200 is accepted; redirects are not followed)",
                    response.status
                ),
            ));
        }
        Ok(response)
    }

    fn failed_recently(&self, url: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        failures.get(url).is_some_and(|until| *until > now)
    }

    /// Bounded: past the cap, expired entries go; if none has expired the failure is not
    /// remembered (the fetch limits still hold, only the shortcut is lost).
    fn remember_failure(&self, url: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        if failures.len() >= MAX_FAILURE_ENTRIES {
            failures.retain(|_, until| *until > now);
        }
        if failures.len() < MAX_FAILURE_ENTRIES {
            failures.insert(url.to_owned(), now + FAILURE_MEMORY);
        }
    }

    /// Sends any request (a token request, a user-info call) under the same rules as
    /// `get`, without caching; every status is returned to the caller.
    pub async fn send(
        &self,
        kind: FetchKind,
        request: reqwest::Request,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        let result = self.send_unmeasured(request, max_bytes).await;
        crate::measure::external_fetch(kind, answered(&result));
        result
    }

    async fn send_unmeasured(
        &self,
        request: reqwest::Request,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        let response = self.open(request, max_bytes).await?;
        read_body(response, max_bytes).await
    }

    /// Like `send`, but returns at the status line and headers and drops the connection
    /// unread: for probes that only look at the status and a header, and must not wait on a
    /// body that may be a long-lived event stream.
    pub async fn send_for_headers(
        &self,
        kind: FetchKind,
        request: reqwest::Request,
    ) -> Result<Fetched, FetchError> {
        let result = self
            .open(request, usize::MAX)
            .await
            .map(|response| Fetched {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: Bytes::new(),
            });
        crate::measure::external_fetch(kind, answered(&result));
        result
    }

    /// Checks the destination, connects to the checked address and sends the request.
    async fn open(
        &self,
        mut request: reqwest::Request,
        max_bytes: usize,
    ) -> Result<reqwest::Response, FetchError> {
        let (parsed, address) = self.check(request.url().as_str()).await?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("Warden/", env!("CARGO_PKG_VERSION")));
        // Proxy variables of the environment would let a proxy resolve the host again and
        // connect wherever its answer points, past the checked address.
        builder = match &self.proxy {
            None => builder.no_proxy(),
            Some(proxy) => builder.proxy(
                reqwest::Proxy::all(proxy.as_str())
                    .map_err(|e| cannot_reach(format!("the egress proxy: {e}")))?,
            ),
        };
        if matches!(parsed.host(), Some(Host::Domain(_))) {
            builder = builder.resolve(&host, address);
        }
        let client = builder.build().map_err(|e| cannot_reach(e.to_string()))?;
        if !request.headers().contains_key("accept") {
            request.headers_mut().insert(
                "accept",
                reqwest::header::HeaderValue::from_static("application/json"),
            );
        }
        let span = client_span(request.method(), &parsed);
        span.in_scope(|| crate::telemetry::inject(request.headers_mut()));
        let response = client
            .execute(request)
            .instrument(span.clone())
            .await
            .map_err(|e| {
                span.record("otel.status_code", "error");
                if e.is_timeout() {
                    timed_out()
                } else {
                    cannot_reach(e.to_string())
                }
            })?;
        span.record("http.response.status_code", response.status().as_u16());
        if response
            .content_length()
            .is_some_and(|n| n > max_bytes as u64)
        {
            return Err(too_large(max_bytes));
        }
        Ok(response)
    }

    /// Forgets a cached document (after it turned out invalid, so a fixed one is read at once).
    pub fn forget(&self, url: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(url);
    }

    fn cached(&self, url: &str) -> Option<Bytes> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(url)
            .filter(|(expires, _)| *expires > self.clock.now())
            .map(|(_, b)| b.clone())
    }

    /// Parses, resolves and checks `url`; returns the address to connect to.
    async fn check(&self, url: &str) -> Result<(Url, SocketAddr), FetchError> {
        let parsed = Url::parse(url)
            .map_err(|e| FetchError::Refused(format!("{url:?} is not a URL ({e})")))?;
        let plain_http = match parsed.scheme() {
            "https" => false,
            "http" if self.allow_loopback => true,
            _ => return Err(FetchError::Refused("only https URLs are fetched".into())),
        };
        let port = parsed.port_or_known_default().unwrap_or(443);
        let candidates: Vec<IpAddr> = match parsed.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(name)) => tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| cannot_reach(format!("cannot resolve {name}: {e}")))?
                .map(|a| a.ip())
                .collect(),
            None => return Err(FetchError::Refused("the URL has no host".into())),
        };
        let Some(first) = candidates.first().copied() else {
            return Err(cannot_reach("the host has no address"));
        };
        if plain_http && !candidates.iter().all(|ip| canonical(*ip).is_loopback()) {
            return Err(FetchError::Refused(
                "plain http is fetched only from loopback addresses".into(),
            ));
        }
        for ip in &candidates {
            let loopback_ok = self.allow_loopback && canonical(*ip).is_loopback();
            if is_special_use(*ip) && !loopback_ok {
                return Err(FetchError::Refused(format!(
                    "{ip} is a private or special-use address"
                )));
            }
        }
        Ok((parsed, SocketAddr::new(first, port)))
    }
}

/// The span of one outbound request (OpenTelemetry's HTTP client conventions). `url.full`
/// loses its query, fragment and credentials: a query can carry anything.
fn client_span(method: &reqwest::Method, url: &Url) -> tracing::Span {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    tracing::debug_span!(
        "http.client",
        otel.name = method.as_str(),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = method.as_str(),
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default(),
        url.full = shown.as_str(),
        http.response.status_code = tracing::field::Empty,
    )
}

/// Reads a response whole, at most `max_bytes`, within the time limit.
async fn read_body(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let deadline = Instant::now() + TIMEOUT;

    while let Some(chunk) = tokio::time::timeout_at(deadline.into(), response.chunk())
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| cannot_reach(e.to_string()))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        headers,
        body: Bytes::from(body),
    })
}

/// `max-age` clamped to [60 s, 24 h]; none for `no-store`/`no-cache`; 5 min by default.
fn cache_lifetime(header: Option<&str>) -> Option<u64> {
    let Some(header) = header else {
        return Some(DEFAULT_CACHE);
    };
    let mut max_age = None;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" || lower == "private" {
            return None;
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    Some(max_age.unwrap_or(DEFAULT_CACHE).clamp(MIN_CACHE, MAX_CACHE))
}

/// IPv4 carried inside IPv6 (mapped, compatible, NAT64, 6to4) counts as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[0..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
                return IpAddr::V4(v4_from(s[6], s[7]));
            }
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return IpAddr::V4(v4_from(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return IpAddr::V4(v4_from(s[1], s[2]));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn v4_from(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// RFC 6890 (and successors) special-use ranges: anything that is not the public internet.
pub fn is_special_use(ip: IpAddr) -> bool {
    if let IpAddr::V6(v6) = ip {
        let s = v6.segments();
        // IPv4-mapped (::ffff:0:0/96) and IPv4-translated (::ffff:0:0:0/96, RFC 2765) are
        // not destinations a public name should have (RFC 6890: not global), and
        // 64:ff9b:1::/48 is the local-use translation prefix (RFC 8215): a translator
        // there may reach any internal IPv4 address.
        if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff
            || s[0..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0
            || s[0..3] == [0x64, 0xff9b, 1]
        {
            return true;
        }
    }
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 192 && b == 0 && c == 2)
                || (a == 192 && b == 88 && c == 99)
                || (a == 198 && (b == 18 || b == 19))
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x2001 && s[1] < 0x0200)
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])
                || s[0] == 0x3fff && s[1] < 0x1000
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn special(s: &str) -> bool {
        is_special_use(s.parse().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "::ffff:0:0",
        ] {
            assert!(special(ip), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "1.1.1.1",
            "64:ff9b::808:808",
        ] {
            assert!(!special(ip), "{ip} is public");
        }
    }

    #[test]
    fn mapped_translated_and_local_nat64_addresses_are_refused_whatever_they_carry() {
        for ip in [
            "::ffff:8.8.8.8",
            "::ffff:0:0",
            "::ffff:ffff:ffff",
            "::ffff:0:8.8.8.8",
            "::ffff:0:127.0.0.1",
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff::1",
        ] {
            assert!(special(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn odd_ipv4_spellings_parse_to_the_address_they_mean() {
        for url in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://127.1/",
            "http://017700000001/",
        ] {
            let parsed = Url::parse(url).unwrap();
            match parsed.host() {
                Some(Host::Ipv4(ip)) => assert!(is_special_use(IpAddr::V4(ip)), "{url} -> {ip}"),
                other => panic!("{url} parsed as {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_and_plain_http_are_refused() {
        let strict = Fetcher::new(false, None, Arc::new(crate::clock::SystemClock));
        for url in [
            "https://localhost/doc",
            "https://127.0.0.1/doc",
            "http://example.com/doc",
            "https://[::1]/doc",
            "ftp://x/y",
        ] {
            assert!(
                matches!(strict.check(url).await, Err(FetchError::Refused(_))),
                "{url}"
            );
        }
        let dev = Fetcher::new(true, None, Arc::new(crate::clock::SystemClock));
        assert!(dev.check("http://127.0.0.1:9/doc").await.is_ok());
        assert!(dev.check("http://localhost:9/doc").await.is_ok());
        assert!(matches!(
            dev.check("http://10.0.0.1/doc").await,
            Err(FetchError::Refused(_))
        ));
    }

    #[test]
    fn remembered_failures_are_bounded_and_expire() {
        let clock = Arc::new(crate::clock::ManualClock::default());
        let fetcher = Fetcher::new(false, None, clock.clone());
        for i in 0..MAX_FAILURE_ENTRIES + 5 {
            fetcher.remember_failure(&format!("https://x.example/{i}"));
        }
        assert_eq!(fetcher.failures.lock().unwrap().len(), MAX_FAILURE_ENTRIES);
        assert!(fetcher.failed_recently("https://x.example/0"));
        assert!(!fetcher.failed_recently("https://x.example/10004"));
        clock.advance(FAILURE_MEMORY + 1);
        assert!(!fetcher.failed_recently("https://x.example/0"));
        fetcher.remember_failure("https://y.example/");
        assert_eq!(
            fetcher.failures.lock().unwrap().len(),
            1,
            "expired entries made room"
        );
    }

    #[test]
    fn cache_lifetimes_are_clamped_and_no_store_is_honoured() {
        assert_eq!(cache_lifetime(None), Some(300));
        assert_eq!(cache_lifetime(Some("max-age=5")), Some(60));
        assert_eq!(cache_lifetime(Some("public, max-age=999999")), Some(86_400));
        assert_eq!(cache_lifetime(Some("no-store")), None);
    }
}

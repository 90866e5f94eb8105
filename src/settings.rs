//! Settings from the environment (`WARDEN_*`, `DATABASE_URL`), validated once at start-up.
//!
//! Every secret also has a `_FILE` variant so container secrets can be mounted as files.
//! A bad value is reported as one line that names the variable.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::crypto::keys::SigningAlg;

/// The settings a process runs with. Built by [`Settings::from_env`] or, in tests, by
/// [`Settings::from_lookup`] with a map.
#[derive(Clone)]
pub struct Settings {
    pub issuer: Issuer,
    pub bind: SocketAddr,
    pub database: DatabaseSettings,
    pub data_dir: PathBuf,
    /// `None`: embedded mode generates (or reads) `secret.key` in the data directory.
    pub secret_key: Option<Secret>,
    pub log_format: LogFormat,
    pub signing_alg: SigningAlg,
    pub access_token_ttl: i64,
    /// Ceiling for per-resource lifetimes; also how long a retired key stays published.
    pub access_token_max_ttl: i64,
    pub refresh_token_ttl: i64,
    /// How long a just-rotated refresh token may still be used (parallel refreshes).
    pub refresh_grace: i64,
    pub authorization_code_ttl: i64,
    /// A browser session ends after this long without use…
    pub session_idle_ttl: i64,
    /// …and after this long in any case.
    pub session_ttl: i64,
    /// How long a rotated-in key is published before it signs anything.
    pub key_activation_delay: i64,
    /// How often each process re-reads the key table (bounds the staleness of rotation).
    pub key_refresh_interval: Duration,
    pub shutdown_timeout: Duration,
    /// On SIGTERM, how long to keep serving with /readyz at 503 before closing the
    /// listener, so a load balancer stops sending first.
    pub shutdown_drain: Duration,
    pub workers: Option<usize>,
    /// Who may use dynamic client registration (RFC 7591).
    pub registration: RegistrationPolicy,
    /// Registrations allowed per client address per hour.
    pub registration_rate_limit: i64,
    /// Dynamically registered clients that never completed an authorization are deleted
    /// after this long.
    pub registration_cleanup_after: i64,
    /// Development only: fetch plain-http URLs on loopback addresses.
    pub dev_allow_loopback_fetch: bool,
    /// The proxy outbound fetches go through. Proxy variables of the environment are
    /// ignored; with this set, refusing private destinations is that proxy's duty.
    pub egress_proxy: Option<Url>,
    /// Whether the login page offers the local username/password form (upstream
    /// providers can replace it).
    pub password_login: bool,
    /// Seconds a cached client or resource row may be served (0: no cache).
    pub cache_ttl: i64,
    /// Token requests per second per client on each node (0: no limit).
    pub token_rate_limit: u32,
    /// Bearer token for /metrics from anywhere (otherwise loopback only).
    pub metrics_token: Option<Secret>,
    /// Limits on what anonymous clients can make Warden do and keep (see `Limits`).
    pub limits: Limits,
}

/// Bounds on work and storage that anyone on the network can trigger: password hashing,
/// slow connections, pending authorization requests and dynamic registrations.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Password verifications running at once (each holds 19 MiB of argon2 memory).
    pub hash_concurrency: usize,
    /// Verifications waiting for a hasher; beyond it sign-in answers 503 at once.
    pub hash_queue: usize,
    /// A request body must have arrived this long after its head, or 408 and close.
    pub body_timeout: Duration,
    /// A response the client does not take within this long closes the connection.
    pub send_timeout: Duration,
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the real client address.
    pub trusted_proxies: Vec<crate::net::IpNet>,
    /// Unauthenticated /authorize requests stored per client address per minute.
    pub authorize_rate_limit: i64,
    /// Pending (not yet answered) authorization requests stored at once, all clients.
    pub pending_authorizations_max: i64,
    /// Dynamic registrations per hour from all addresses together.
    pub registration_global_rate_limit: i64,
    /// Dynamically registered clients that have never been used, at most.
    pub unused_registrations_max: i64,
}

#[derive(Clone, Debug)]
pub enum RegistrationPolicy {
    Open,
    /// Requires this initial access token as a bearer token.
    Token(Secret),
    Off,
}

#[derive(Clone)]
pub enum DatabaseSettings {
    /// The embedded SQLite file `warden.db` in the data directory.
    Embedded,
    Url {
        url: Secret,
        max_connections: u32,
        connect_timeout: Duration,
    },
}

impl DatabaseSettings {
    pub fn connect_timeout(&self) -> Duration {
        match self {
            DatabaseSettings::Embedded => Duration::from_secs(5),
            DatabaseSettings::Url {
                connect_timeout, ..
            } => *connect_timeout,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A value that must never reach a log line.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The issuer identifier (RFC 8414 §2): byte-identical everywhere it appears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    value: String,
    /// The issuer's path (`""` or `/tenant`), under which every endpoint is mounted.
    path: String,
}

impl Issuer {
    /// RFC 8414 §2: https, no query, no fragment; we also refuse a trailing slash so that
    /// string comparison by clients cannot go wrong. Plain http only on loopback hosts.
    pub fn parse(value: &str) -> Result<Issuer, String> {
        let url = Url::parse(value).map_err(|e| format!("not an absolute URL ({e})"))?;
        match url.scheme() {
            "https" => {}
            "http" if crate::net::is_loopback_host(&url) => {}
            "http" => {
                return Err(
                    "must use https (plain http is allowed only for loopback hosts)".into(),
                );
            }
            other => return Err(format!("scheme {other:?} is not https")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host".into());
        }
        if url.query().is_some() {
            return Err("must not have a query".into());
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".into());
        }
        if value.ends_with('/') {
            return Err("must not end with a slash".into());
        }
        // Url normalises (lowercases the host, drops a default port); the issuer must be
        // exactly what clients will compare against, so insist the input already was that.
        let normalised = url.as_str().trim_end_matches('/');
        if normalised != value {
            return Err(format!(
                "is not in canonical form (did you mean {normalised}?)"
            ));
        }
        Ok(Issuer {
            value: value.to_owned(),
            path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// `""` or `/some/path`, without a trailing slash.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `{issuer}{path}`: the absolute URL of one of our endpoints.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.value, path)
    }

    pub fn is_https(&self) -> bool {
        self.value.starts_with("https://")
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// One bad setting: the variable and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct SettingsError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for SettingsError {}

fn bad(variable: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        variable,
        problem: problem.into(),
    }
}

/// The defaults, in one place so the README table can be checked against it.
pub mod defaults {
    pub const BIND: &str = "127.0.0.1:8080";
    pub const DATA_DIR: &str = "warden-data";
    pub const ACCESS_TOKEN_TTL: i64 = 600;
    pub const ACCESS_TOKEN_MAX_TTL: i64 = 86_400;
    pub const REFRESH_TOKEN_TTL: i64 = 30 * 86_400;
    pub const AUTHORIZATION_CODE_TTL: i64 = 60;
    pub const SESSION_IDLE_TTL: i64 = 3600;
    pub const SESSION_TTL: i64 = 12 * 3600;
    pub const KEY_ACTIVATION_DELAY: i64 = 600;
    pub const KEY_REFRESH_INTERVAL: u64 = 30;
    pub const SHUTDOWN_TIMEOUT: u64 = 30;
    pub const DB_MAX_CONNECTIONS: u32 = 10;
    pub const DB_CONNECT_TIMEOUT: u64 = 30;

    /// Cores − 1, at least 1: hashing may never take every core from token issuance.
    pub fn hash_concurrency() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1))
            .unwrap_or(1)
            .max(1)
    }
}

impl Settings {
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());

        let bind_raw = get("WARDEN_BIND").unwrap_or_else(|| defaults::BIND.to_owned());
        let bind: SocketAddr = bind_raw.parse().map_err(|_| {
            bad(
                "WARDEN_BIND",
                format!("{bind_raw:?} is not an address like 127.0.0.1:8080"),
            )
        })?;

        let issuer = match get("WARDEN_ISSUER") {
            Some(raw) => {
                Issuer::parse(&raw).map_err(|p| bad("WARDEN_ISSUER", format!("{raw:?} {p}")))?
            }
            None if bind.ip().is_loopback() => {
                Issuer::parse(&format!("http://{bind}")).map_err(|p| bad("WARDEN_ISSUER", p))?
            }
            None => {
                return Err(bad(
                    "WARDEN_ISSUER",
                    "is required when WARDEN_BIND is not a loopback address",
                ));
            }
        };

        let data_dir =
            PathBuf::from(get("WARDEN_DATA_DIR").unwrap_or_else(|| defaults::DATA_DIR.to_owned()));

        let database = match secret(&lookup, "DATABASE_URL", "DATABASE_URL_FILE")? {
            None => DatabaseSettings::Embedded,
            Some(url) => {
                let raw = url.expose();
                if !(raw.starts_with("postgres://")
                    || raw.starts_with("postgresql://")
                    || raw.starts_with("sqlite:"))
                {
                    return Err(bad(
                        "DATABASE_URL",
                        "must start with postgres://, postgresql:// or sqlite:",
                    ));
                }
                DatabaseSettings::Url {
                    url,
                    max_connections: number(
                        &get,
                        "WARDEN_DB_MAX_CONNECTIONS",
                        defaults::DB_MAX_CONNECTIONS,
                        1..=1000,
                    )?,
                    connect_timeout: Duration::from_secs(seconds(
                        &get,
                        "WARDEN_DB_CONNECT_TIMEOUT",
                        defaults::DB_CONNECT_TIMEOUT as i64,
                        0..=3600,
                    )? as u64),
                }
            }
        };

        let secret_key = secret(&lookup, "WARDEN_SECRET_KEY", "WARDEN_SECRET_KEY_FILE")?;
        if let Some(key) = &secret_key
            && key.expose().len() < 32
        {
            return Err(bad(
                "WARDEN_SECRET_KEY",
                "must be at least 32 characters (try: openssl rand -base64 32)",
            ));
        }
        if secret_key.is_none() && !matches!(database, DatabaseSettings::Embedded) {
            // Several nodes share one database: they must share the key, so we cannot
            // invent one per process.
            return Err(bad(
                "WARDEN_SECRET_KEY",
                "is required when DATABASE_URL is set (every node must use the same key)",
            ));
        }

        let log_format = match get("WARDEN_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(
                    "WARDEN_LOG_FORMAT",
                    format!("{other:?} is not text or json"),
                ));
            }
        };

        let signing_alg = match get("WARDEN_SIGNING_ALG") {
            None => SigningAlg::Es256,
            Some(raw) => SigningAlg::parse(&raw).ok_or_else(|| {
                bad(
                    "WARDEN_SIGNING_ALG",
                    format!("{raw:?} is not ES256, EdDSA or RS256"),
                )
            })?,
        };

        let access_token_max_ttl = seconds(
            &get,
            "WARDEN_ACCESS_TOKEN_MAX_TTL",
            defaults::ACCESS_TOKEN_MAX_TTL,
            60..=7 * 86_400,
        )?;
        let access_token_ttl = seconds(
            &get,
            "WARDEN_ACCESS_TOKEN_TTL",
            defaults::ACCESS_TOKEN_TTL,
            10..=access_token_max_ttl,
        )?;
        let key_refresh_interval = seconds(
            &get,
            "WARDEN_KEY_REFRESH_INTERVAL",
            defaults::KEY_REFRESH_INTERVAL as i64,
            1..=3600,
        )?;

        Ok(Settings {
            issuer,
            bind,
            database,
            data_dir,
            secret_key,
            log_format,
            signing_alg,
            access_token_ttl,
            access_token_max_ttl,
            refresh_token_ttl: seconds(
                &get,
                "WARDEN_REFRESH_TOKEN_TTL",
                defaults::REFRESH_TOKEN_TTL,
                60..=365 * 86_400,
            )?,
            refresh_grace: seconds(&get, "WARDEN_REFRESH_GRACE", 10, 0..=60)?,
            authorization_code_ttl: seconds(
                &get,
                "WARDEN_AUTHORIZATION_CODE_TTL",
                defaults::AUTHORIZATION_CODE_TTL,
                10..=60,
            )?,
            session_idle_ttl: seconds(
                &get,
                "WARDEN_SESSION_IDLE_TTL",
                defaults::SESSION_IDLE_TTL,
                60..=7 * 86_400,
            )?,
            session_ttl: seconds(
                &get,
                "WARDEN_SESSION_TTL",
                defaults::SESSION_TTL,
                300..=30 * 86_400,
            )?,
            // Nodes re-read keys every refresh interval: a new key must be published for
            // longer than that before it signs, or a node could sign with an unpublished key.
            key_activation_delay: seconds(
                &get,
                "WARDEN_KEY_ACTIVATION_DELAY",
                defaults::KEY_ACTIVATION_DELAY,
                key_refresh_interval..=7 * 86_400,
            )?,
            key_refresh_interval: Duration::from_secs(key_refresh_interval as u64),
            shutdown_drain: Duration::from_secs(
                seconds(&get, "WARDEN_SHUTDOWN_DRAIN", 0, 0..=600)? as u64,
            ),
            shutdown_timeout: Duration::from_secs(seconds(
                &get,
                "WARDEN_SHUTDOWN_TIMEOUT",
                defaults::SHUTDOWN_TIMEOUT as i64,
                0..=3600,
            )? as u64),
            registration: match get("WARDEN_REGISTRATION").as_deref() {
                None | Some("open") => RegistrationPolicy::Open,
                Some("off") => RegistrationPolicy::Off,
                Some("token") => RegistrationPolicy::Token(
                    secret(
                        &lookup,
                        "WARDEN_REGISTRATION_TOKEN",
                        "WARDEN_REGISTRATION_TOKEN_FILE",
                    )?
                    .filter(|t| t.expose().len() >= 16)
                    .ok_or_else(|| {
                        bad(
                            "WARDEN_REGISTRATION_TOKEN",
                            "WARDEN_REGISTRATION=token needs a token of at least 16 characters",
                        )
                    })?,
                ),
                Some(other) => {
                    return Err(bad(
                        "WARDEN_REGISTRATION",
                        format!("{other:?} is not open, token or off"),
                    ));
                }
            },
            registration_rate_limit: number(
                &get,
                "WARDEN_REGISTRATION_RATE_LIMIT",
                60i64,
                1..=100_000,
            )?,
            registration_cleanup_after: seconds(
                &get,
                "WARDEN_REGISTRATION_CLEANUP_AFTER",
                86_400,
                60..=365 * 86_400,
            )?,
            dev_allow_loopback_fetch: match get("WARDEN_DEV_ALLOW_LOOPBACK_FETCH").as_deref() {
                None | Some("0") => false,
                Some("1") => true,
                Some(other) => {
                    return Err(bad(
                        "WARDEN_DEV_ALLOW_LOOPBACK_FETCH",
                        format!("{other:?} is not 0 or 1"),
                    ));
                }
            },
            egress_proxy: match get("WARDEN_EGRESS_PROXY") {
                None => None,
                Some(raw) => Some(
                    Url::parse(&raw)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                        .ok_or_else(|| {
                            bad(
                                "WARDEN_EGRESS_PROXY",
                                "must be an http or https URL such as http://proxy:3128",
                            )
                        })?,
                ),
            },
            cache_ttl: number(&get, "WARDEN_CACHE_TTL", 5i64, 0..=60)?,
            token_rate_limit: number(&get, "WARDEN_TOKEN_RATE_LIMIT", 200u32, 0..=1_000_000)?,
            metrics_token: secret(&lookup, "WARDEN_METRICS_TOKEN", "WARDEN_METRICS_TOKEN_FILE")?,
            password_login: match get("WARDEN_PASSWORD_LOGIN").as_deref() {
                None | Some("1") => true,
                Some("0") => false,
                Some(other) => {
                    return Err(bad(
                        "WARDEN_PASSWORD_LOGIN",
                        format!("{other:?} is not 0 or 1"),
                    ));
                }
            },
            limits: Limits {
                hash_concurrency: number(
                    &get,
                    "WARDEN_PASSWORD_HASH_CONCURRENCY",
                    defaults::hash_concurrency(),
                    1..=256,
                )?,
                hash_queue: number(&get, "WARDEN_PASSWORD_HASH_QUEUE", 8usize, 0..=10_000)?,
                body_timeout: Duration::from_secs(
                    seconds(&get, "WARDEN_BODY_TIMEOUT", 10, 1..=600)? as u64,
                ),
                send_timeout: Duration::from_secs(
                    seconds(&get, "WARDEN_SEND_TIMEOUT", 10, 1..=600)? as u64,
                ),
                trusted_proxies: match get("WARDEN_TRUSTED_PROXIES") {
                    None => Vec::new(),
                    Some(raw) => crate::net::IpNet::parse_list(&raw)
                        .map_err(|p| bad("WARDEN_TRUSTED_PROXIES", p))?,
                },
                authorize_rate_limit: number(
                    &get,
                    "WARDEN_AUTHORIZE_RATE_LIMIT",
                    120i64,
                    1..=1_000_000,
                )?,
                pending_authorizations_max: number(
                    &get,
                    "WARDEN_PENDING_AUTHORIZATIONS_MAX",
                    100_000i64,
                    1..=100_000_000,
                )?,
                registration_global_rate_limit: number(
                    &get,
                    "WARDEN_REGISTRATION_GLOBAL_RATE_LIMIT",
                    3_600i64,
                    1..=10_000_000,
                )?,
                unused_registrations_max: number(
                    &get,
                    "WARDEN_UNUSED_REGISTRATIONS_MAX",
                    10_000i64,
                    1..=100_000_000,
                )?,
            },
            workers: match get("WARDEN_WORKERS") {
                None => None,
                Some(_) => Some(number(&get, "WARDEN_WORKERS", 1usize, 1..=256)?),
            },
        })
    }

    /// Where the embedded SQLite file lives (used only without `DATABASE_URL`).
    pub fn embedded_database_path(&self) -> PathBuf {
        self.data_dir.join("warden.db")
    }

    /// Where embedded mode keeps its generated `WARDEN_SECRET_KEY`.
    pub fn secret_key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }

    /// Whether the bind address is a loopback one (development mode cookies, etc.).
    pub fn binds_loopback(&self) -> bool {
        matches!(self.bind.ip(), IpAddr::V4(ip) if ip.is_loopback())
            || matches!(self.bind.ip(), IpAddr::V6(ip) if ip.is_loopback())
    }
}

/// `NAME` or the contents of the file named by `NAME_FILE` (not both).
fn secret(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_name: &'static str,
) -> Result<Option<Secret>, SettingsError> {
    let direct = lookup(name).filter(|v| !v.is_empty());
    let file = lookup(file_name).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(bad(
            name,
            format!("set either {name} or {file_name}, not both"),
        )),
        (Some(v), None) => Ok(Some(Secret(v))),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(&path)
                .map_err(|e| bad(file_name, format!("cannot read {path:?}: {e}")))?;
            let trimmed = content.trim_end_matches(['\n', '\r']).to_owned();
            if trimmed.is_empty() {
                return Err(bad(file_name, format!("{path:?} is empty")));
            }
            Ok(Some(Secret(trimmed)))
        }
        (None, None) => Ok(None),
    }
}

/// A duration in seconds: a bare number, or a number with `s`, `m`, `h` or `d`.
fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, SettingsError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let (digits, unit) = match raw.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
        _ => (raw.as_str(), 's'),
    };
    let multiplier = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => {
            return Err(bad(
                name,
                format!("{raw:?} has an unknown unit (use s, m, h or d)"),
            ));
        }
    };
    let value = digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| {
            bad(
                name,
                format!("{raw:?} is not a duration like 600, 10m or 1h"),
            )
        })?;
    if !range.contains(&value) {
        return Err(bad(
            name,
            format!(
                "{raw:?} is out of range ({}s to {}s)",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(value)
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, SettingsError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let value: T = raw
        .parse()
        .map_err(|_| bad(name, format!("{raw:?} is not a whole number")))?;
    if !range.contains(&value) {
        return Err(bad(
            name,
            format!(
                "{raw:?} is out of range ({} to {})",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_give_a_loopback_issuer_and_embedded_database() {
        let s = with(&[]).unwrap();
        assert_eq!(s.issuer.as_str(), "http://127.0.0.1:8080");
        assert!(matches!(s.database, DatabaseSettings::Embedded));
        assert_eq!(s.access_token_ttl, defaults::ACCESS_TOKEN_TTL);
    }

    #[test]
    fn issuer_rules_follow_rfc_8414() {
        for (value, fragment) in [
            ("http://auth.example.com", "https"),
            ("https://auth.example.com/", "slash"),
            ("https://auth.example.com?x=1", "query"),
            ("https://auth.example.com#f", "fragment"),
            ("auth.example.com", "absolute"),
            ("https://AUTH.example.com", "canonical"),
            ("https://user:pw@auth.example.com", "credentials"),
        ] {
            let err = with(&[("WARDEN_ISSUER", value)]).err().unwrap();
            assert_eq!(err.variable, "WARDEN_ISSUER");
            assert!(err.problem.contains(fragment), "{value}: {}", err.problem);
        }
        let s = with(&[("WARDEN_ISSUER", "https://auth.example.com/tenant")]).unwrap();
        assert_eq!(s.issuer.path(), "/tenant");
        assert!(with(&[("WARDEN_ISSUER", "http://localhost:9000")]).is_ok());
        assert!(with(&[("WARDEN_ISSUER", "http://[::1]:9000")]).is_ok());
    }

    #[test]
    fn durations_accept_units_and_reject_nonsense() {
        let s = with(&[("WARDEN_ACCESS_TOKEN_TTL", "15m")]).unwrap();
        assert_eq!(s.access_token_ttl, 900);
        let err = with(&[("WARDEN_ACCESS_TOKEN_TTL", "soon")]).err().unwrap();
        assert_eq!(err.variable, "WARDEN_ACCESS_TOKEN_TTL");
        let err = with(&[("WARDEN_ACCESS_TOKEN_TTL", "0")]).err().unwrap();
        assert!(err.problem.contains("out of range"));
    }

    #[test]
    fn a_database_url_needs_a_shared_secret_key() {
        let err = with(&[("DATABASE_URL", "postgres://localhost/warden")])
            .err()
            .unwrap();
        assert_eq!(err.variable, "WARDEN_SECRET_KEY");
        let err = with(&[("DATABASE_URL", "mysql://localhost/warden")])
            .err()
            .unwrap();
        assert_eq!(err.variable, "DATABASE_URL");
    }

    #[test]
    fn an_egress_proxy_is_used_only_when_named_and_must_be_http() {
        assert!(with(&[]).unwrap().egress_proxy.is_none());
        let s = with(&[("WARDEN_EGRESS_PROXY", "http://proxy.internal:3128")]).unwrap();
        assert_eq!(
            s.egress_proxy.map(|u| u.to_string()).as_deref(),
            Some("http://proxy.internal:3128/")
        );
        for bad in ["proxy:3128", "socks5://proxy:1080", "file:///x"] {
            let err = with(&[("WARDEN_EGRESS_PROXY", bad)]).err().unwrap();
            assert!(err.to_string().contains("WARDEN_EGRESS_PROXY"), "{bad}");
        }
    }

    #[test]
    fn secrets_are_never_printed() {
        let s = with(&[(
            "WARDEN_SECRET_KEY",
            "0123456789abcdef0123456789abcdef-secret",
        )])
        .unwrap();
        assert!(!format!("{:?}", s.secret_key).contains("secret"));
    }

    fn problem(vars: &[(&str, &str)]) -> String {
        with(vars).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn choices_name_the_accepted_values() {
        assert_eq!(
            problem(&[("WARDEN_LOG_FORMAT", "xml")]),
            "invalid setting WARDEN_LOG_FORMAT: \"xml\" is not text or json"
        );
        assert_eq!(
            with(&[("WARDEN_LOG_FORMAT", "json")]).unwrap().log_format,
            LogFormat::Json
        );
        assert_eq!(
            problem(&[("WARDEN_REGISTRATION", "closed")]),
            "invalid setting WARDEN_REGISTRATION: \"closed\" is not open, token or off"
        );
        assert!(matches!(
            with(&[("WARDEN_REGISTRATION", "off")])
                .unwrap()
                .registration,
            RegistrationPolicy::Off
        ));
        assert_eq!(
            problem(&[("WARDEN_SIGNING_ALG", "HS256")]),
            "invalid setting WARDEN_SIGNING_ALG: \"HS256\" is not ES256, EdDSA or RS256"
        );
        for name in ["WARDEN_PASSWORD_LOGIN", "WARDEN_DEV_ALLOW_LOOPBACK_FETCH"] {
            assert_eq!(
                problem(&[(name, "yes")]),
                format!("invalid setting {name}: \"yes\" is not 0 or 1")
            );
        }
        let s = with(&[
            ("WARDEN_PASSWORD_LOGIN", "0"),
            ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1"),
        ])
        .unwrap();
        assert!(!s.password_login && s.dev_allow_loopback_fetch);
        let s = with(&[("WARDEN_PASSWORD_LOGIN", "")]).unwrap();
        assert!(s.password_login && !s.dev_allow_loopback_fetch);
        assert_eq!(
            problem(&[("WARDEN_BIND", "localhost")]),
            "invalid setting WARDEN_BIND: \"localhost\" is not an address like 127.0.0.1:8080"
        );
        assert_eq!(
            problem(&[("WARDEN_BIND", "0.0.0.0:8080")]),
            "invalid setting WARDEN_ISSUER: is required when WARDEN_BIND is not a loopback address"
        );
    }

    #[test]
    fn registration_by_token_needs_a_long_token() {
        let err = problem(&[("WARDEN_REGISTRATION", "token")]);
        assert_eq!(
            err,
            "invalid setting WARDEN_REGISTRATION_TOKEN: WARDEN_REGISTRATION=token needs a token of at least 16 characters"
        );
        let short = problem(&[
            ("WARDEN_REGISTRATION", "token"),
            ("WARDEN_REGISTRATION_TOKEN", "short"),
        ]);
        assert_eq!(short, err);
        let s = with(&[
            ("WARDEN_REGISTRATION", "token"),
            ("WARDEN_REGISTRATION_TOKEN", "0123456789abcdef"),
        ])
        .unwrap();
        assert!(
            matches!(s.registration, RegistrationPolicy::Token(t) if t.expose() == "0123456789abcdef")
        );
    }

    #[test]
    fn secrets_come_from_the_variable_or_its_file_but_not_both() {
        let dir = std::env::temp_dir().join(format!("warden-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("metrics");
        std::fs::write(&file, "from-a-file\r\n").unwrap();
        let path = file.to_str().unwrap();
        let s = with(&[("WARDEN_METRICS_TOKEN_FILE", path)]).unwrap();
        assert_eq!(s.metrics_token.unwrap().expose(), "from-a-file");
        assert_eq!(
            problem(&[
                ("WARDEN_METRICS_TOKEN", "x"),
                ("WARDEN_METRICS_TOKEN_FILE", path)
            ]),
            "invalid setting WARDEN_METRICS_TOKEN: set either WARDEN_METRICS_TOKEN or WARDEN_METRICS_TOKEN_FILE, not both"
        );
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let empty = empty.to_str().unwrap();
        assert_eq!(
            problem(&[
                ("WARDEN_REGISTRATION_TOKEN_FILE", empty),
                ("WARDEN_REGISTRATION", "token")
            ]),
            format!("invalid setting WARDEN_REGISTRATION_TOKEN_FILE: {empty:?} is empty")
        );
        let missing = dir.join("missing");
        let missing = missing.to_str().unwrap();
        assert!(
            problem(&[("DATABASE_URL_FILE", missing)]).starts_with(&format!(
                "invalid setting DATABASE_URL_FILE: cannot read {missing:?}"
            ))
        );
        std::fs::write(&file, "postgres://db/warden\n").unwrap();
        let s = with(&[
            ("DATABASE_URL_FILE", path),
            ("WARDEN_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("WARDEN_DB_MAX_CONNECTIONS", "3"),
            ("WARDEN_DB_CONNECT_TIMEOUT", "1m"),
        ])
        .unwrap();
        match s.database {
            DatabaseSettings::Url {
                url,
                max_connections,
                connect_timeout,
            } => {
                assert_eq!(url.expose(), "postgres://db/warden");
                assert_eq!((max_connections, connect_timeout.as_secs()), (3, 60));
            }
            DatabaseSettings::Embedded => panic!("expected a database URL"),
        }
        assert_eq!(
            problem(&[("WARDEN_SECRET_KEY", "short")]),
            "invalid setting WARDEN_SECRET_KEY: must be at least 32 characters (try: openssl rand -base64 32)"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_number_has_its_default_and_range() {
        let s = with(&[]).unwrap();
        assert_eq!(
            (
                s.access_token_max_ttl,
                s.refresh_token_ttl,
                s.refresh_grace,
                s.authorization_code_ttl,
                s.session_idle_ttl,
                s.session_ttl,
                s.key_activation_delay,
            ),
            (86_400, 30 * 86_400, 10, 60, 3600, 12 * 3600, 600)
        );
        assert_eq!(
            (
                s.key_refresh_interval.as_secs(),
                s.shutdown_drain.as_secs(),
                s.shutdown_timeout.as_secs(),
                s.registration_rate_limit,
                s.registration_cleanup_after,
                s.cache_ttl,
                s.token_rate_limit,
            ),
            (30, 0, 30, 60, 86_400, 5, 200)
        );
        let l = &s.limits;
        assert_eq!(
            (
                l.hash_concurrency,
                l.hash_queue,
                l.body_timeout.as_secs(),
                l.send_timeout.as_secs(),
                l.authorize_rate_limit,
                l.pending_authorizations_max,
                l.registration_global_rate_limit,
                l.unused_registrations_max,
            ),
            (
                defaults::hash_concurrency(),
                8,
                10,
                10,
                120,
                100_000,
                3_600,
                10_000
            )
        );
        assert!(l.trusted_proxies.is_empty() && s.workers.is_none());
        assert!(s.metrics_token.is_none() && s.secret_key.is_none());
        assert_eq!(s.data_dir, PathBuf::from("warden-data"));

        // One variable at a time, just outside its range, names its bounds.
        for (name, value, message) in [
            (
                "WARDEN_ACCESS_TOKEN_MAX_TTL",
                "59",
                "\"59\" is out of range (60s to 604800s)",
            ),
            (
                "WARDEN_REFRESH_TOKEN_TTL",
                "366d",
                "\"366d\" is out of range (60s to 31536000s)",
            ),
            (
                "WARDEN_REFRESH_GRACE",
                "61",
                "\"61\" is out of range (0s to 60s)",
            ),
            (
                "WARDEN_AUTHORIZATION_CODE_TTL",
                "2m",
                "\"2m\" is out of range (10s to 60s)",
            ),
            (
                "WARDEN_SESSION_IDLE_TTL",
                "59",
                "\"59\" is out of range (60s to 604800s)",
            ),
            (
                "WARDEN_SESSION_TTL",
                "299",
                "\"299\" is out of range (300s to 2592000s)",
            ),
            (
                "WARDEN_KEY_REFRESH_INTERVAL",
                "0",
                "\"0\" is out of range (1s to 3600s)",
            ),
            (
                "WARDEN_KEY_ACTIVATION_DELAY",
                "29",
                "\"29\" is out of range (30s to 604800s)",
            ),
            (
                "WARDEN_SHUTDOWN_DRAIN",
                "11m",
                "\"11m\" is out of range (0s to 600s)",
            ),
            (
                "WARDEN_SHUTDOWN_TIMEOUT",
                "2h",
                "\"2h\" is out of range (0s to 3600s)",
            ),
            (
                "WARDEN_REGISTRATION_RATE_LIMIT",
                "0",
                "\"0\" is out of range (1 to 100000)",
            ),
            (
                "WARDEN_REGISTRATION_CLEANUP_AFTER",
                "1",
                "\"1\" is out of range (60s to 31536000s)",
            ),
            ("WARDEN_CACHE_TTL", "61", "\"61\" is out of range (0 to 60)"),
            (
                "WARDEN_TOKEN_RATE_LIMIT",
                "-1",
                "\"-1\" is not a whole number",
            ),
            (
                "WARDEN_PASSWORD_HASH_CONCURRENCY",
                "257",
                "\"257\" is out of range (1 to 256)",
            ),
            (
                "WARDEN_PASSWORD_HASH_QUEUE",
                "10001",
                "\"10001\" is out of range (0 to 10000)",
            ),
            (
                "WARDEN_BODY_TIMEOUT",
                "0",
                "\"0\" is out of range (1s to 600s)",
            ),
            (
                "WARDEN_SEND_TIMEOUT",
                "1w",
                "\"1w\" has an unknown unit (use s, m, h or d)",
            ),
            (
                "WARDEN_AUTHORIZE_RATE_LIMIT",
                "0",
                "\"0\" is out of range (1 to 1000000)",
            ),
            (
                "WARDEN_PENDING_AUTHORIZATIONS_MAX",
                "0",
                "\"0\" is out of range (1 to 100000000)",
            ),
            (
                "WARDEN_REGISTRATION_GLOBAL_RATE_LIMIT",
                "0",
                "\"0\" is out of range (1 to 10000000)",
            ),
            (
                "WARDEN_UNUSED_REGISTRATIONS_MAX",
                "x",
                "\"x\" is not a whole number",
            ),
            ("WARDEN_WORKERS", "0", "\"0\" is out of range (1 to 256)"),
            ("WARDEN_TRUSTED_PROXIES", "not-a-net", ""),
        ] {
            let got = problem(&[(name, value)]);
            assert!(
                got.starts_with(&format!("invalid setting {name}: {message}")),
                "{name}: {got}"
            );
        }
        // The access token lifetime is bounded by the configured maximum, and a key is
        // published for at least one refresh interval before it signs.
        assert_eq!(
            problem(&[
                ("WARDEN_ACCESS_TOKEN_MAX_TTL", "120"),
                ("WARDEN_ACCESS_TOKEN_TTL", "121")
            ]),
            "invalid setting WARDEN_ACCESS_TOKEN_TTL: \"121\" is out of range (10s to 120s)"
        );
        assert_eq!(
            problem(&[
                ("WARDEN_KEY_REFRESH_INTERVAL", "5m"),
                ("WARDEN_KEY_ACTIVATION_DELAY", "4m")
            ]),
            "invalid setting WARDEN_KEY_ACTIVATION_DELAY: \"4m\" is out of range (300s to 604800s)"
        );
        let s = with(&[
            ("WARDEN_WORKERS", "3"),
            ("WARDEN_TRUSTED_PROXIES", "10.0.0.0/8"),
        ])
        .unwrap();
        assert_eq!((s.workers, s.limits.trusted_proxies.len()), (Some(3), 1));
    }

    #[test]
    fn the_first_bad_variable_in_reading_order_is_reported() {
        // Bind and issuer first, then the database, its key, and the rest in order.
        let all_bad = [
            ("WARDEN_WORKERS", "0"),
            ("WARDEN_CACHE_TTL", "99"),
            ("WARDEN_LOG_FORMAT", "xml"),
            ("WARDEN_SECRET_KEY", "short"),
            ("DATABASE_URL", "mysql://x"),
            ("WARDEN_ISSUER", "http://example.com"),
            ("WARDEN_BIND", "nowhere"),
        ];
        for n in 1..=all_bad.len() {
            let vars = &all_bad[..n];
            let expected = vars[n - 1].0;
            let err = with(vars).err().unwrap();
            assert_eq!(err.variable, expected);
        }
    }
}

//! Settings from the environment (`WARDEN_*`, `DATABASE_URL`), validated once at start-up.
//!
//! Every secret also has a `_FILE` variant so container secrets can be mounted as files.
//! A bad value is reported as one line that names the variable. Each variable is declared
//! once in `declared`, which the help, the documentation tables and the readers share.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::crypto::keys::SigningAlg;

pub mod declared;
mod env;

use declared::*;
use env::{Env, Lookup};

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
    /// Audit events older than this many seconds are purged by the maintenance tick.
    pub audit_retention: i64,
    /// Whether each audit event is also one log line (target `audit`), for a SIEM.
    pub audit_log: bool,
    /// Whether a DPoP proof at /token must carry a server nonce (RFC 9449 §8).
    pub dpop_nonce: DpopNonce,
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

/// `WARDEN_DPOP_NONCE`: `required` (the default) answers a proof without a fresh server
/// nonce with `use_dpop_nonce`, so no proof can be made ahead of time; `off` accepts
/// proofs on their `iat` alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopNonce {
    Required,
    Off,
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
    /// `value` without the trailing slash of `WARDEN_ISSUER_TRAILING_SLASH`: where
    /// endpoint paths are appended.
    base: String,
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
            return Err(
                "must not end with a slash (for MCP servers that add one, see \
                 WARDEN_ISSUER_TRAILING_SLASH)"
                    .into(),
            );
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
            base: value.to_owned(),
            path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The compatibility form `https://host/` (`WARDEN_ISSUER_TRAILING_SLASH`), for MCP
    /// servers whose URL type adds a slash to a path-less URL (pydantic's `AnyHttpUrl`, so
    /// FastMCP) and cannot be told otherwise. RFC 8414 §2 allows the path `/`; §3.1 strips
    /// it when building the metadata URL, so discovery and endpoints are where they were,
    /// only the identifier (metadata `issuer`, tokens' `iss`, RFC 9207 `iss`) gains the
    /// slash. An issuer with a path never gets one: no URL type adds it there.
    pub fn with_trailing_slash(self) -> Result<Issuer, String> {
        if !self.path.is_empty() {
            return Err(format!(
                "{} has a path; WARDEN_ISSUER_TRAILING_SLASH is only for an issuer without one",
                self.value
            ));
        }
        Ok(Issuer {
            value: format!("{}/", self.value),
            ..self
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
        format!("{}{}", self.base, path)
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

/// Cores − 1, at least 1: hashing may never take every core from token issuance.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

impl Settings {
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`, so tests need not touch the process environment.
    /// Names, defaults and ranges are in `declared`; here are the types and the rules between
    /// settings. Reading order is the order of the lines, so with several bad variables the
    /// first one here is the one reported.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let env = Env(lookup);
        let (bind, issuer) = listener(&env)?;
        let data_dir = PathBuf::from(env.text(&DATA_DIR).unwrap_or_default());
        let database = database(&env)?;
        let secret_key = secret_key(&env, &database)?;
        let log_format = env.choice(&LOG_FORMAT, [LogFormat::Text, LogFormat::Json])?;
        let signing_alg = env.choice(
            &SIGNING_ALG,
            [SigningAlg::Es256, SigningAlg::EdDsa, SigningAlg::Rs256],
        )?;
        let access_token_max_ttl = env.seconds(&ACCESS_TOKEN_MAX_TTL)?;
        let access_token_ttl = env.seconds_within(&ACCESS_TOKEN_TTL, ..=access_token_max_ttl)?;
        let key_refresh_interval = env.seconds(&KEY_REFRESH_INTERVAL)?;
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
            refresh_token_ttl: env.seconds(&REFRESH_TOKEN_TTL)?,
            refresh_grace: env.seconds(&REFRESH_GRACE)?,
            authorization_code_ttl: env.seconds(&AUTHORIZATION_CODE_TTL)?,
            session_idle_ttl: env.seconds(&SESSION_IDLE_TTL)?,
            session_ttl: env.seconds(&SESSION_TTL)?,
            // Nodes re-read keys every refresh interval: a new key must be published for
            // longer than that before it signs, or a node could sign with an unpublished key.
            key_activation_delay: env
                .seconds_within(&KEY_ACTIVATION_DELAY, key_refresh_interval..)?,
            key_refresh_interval: Duration::from_secs(key_refresh_interval as u64),
            shutdown_drain: env.duration(&SHUTDOWN_DRAIN)?,
            shutdown_timeout: env.duration(&SHUTDOWN_TIMEOUT)?,
            registration: registration(&env)?,
            registration_rate_limit: env.number(&REGISTRATION_RATE_LIMIT)?,
            registration_cleanup_after: env.seconds(&REGISTRATION_CLEANUP_AFTER)?,
            dev_allow_loopback_fetch: env.flag(&DEV_ALLOW_LOOPBACK_FETCH)?,
            egress_proxy: env.parsed(&EGRESS_PROXY, |raw| {
                Url::parse(raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                    .ok_or_else(|| "must be an http or https URL such as http://proxy:3128".into())
            })?,
            cache_ttl: env.number(&CACHE_TTL)?,
            token_rate_limit: env.number(&TOKEN_RATE_LIMIT)?,
            metrics_token: env.secret(&METRICS_TOKEN)?,
            password_login: env.flag(&PASSWORD_LOGIN)?,
            limits: limits(&env)?,
            audit_retention: env.seconds(&AUDIT_RETENTION)?,
            audit_log: env.flag(&AUDIT_LOG)?,
            dpop_nonce: env.choice(&DPOP_NONCE, [DpopNonce::Required, DpopNonce::Off])?,
            workers: env.optional_number(&WORKERS)?,
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

/// `WARDEN_BIND` and `WARDEN_ISSUER`, which defaults to the bind address only on loopback.
fn listener(env: &Env<impl Lookup>) -> Result<(SocketAddr, Issuer), SettingsError> {
    let bind: SocketAddr = env
        .parsed(&BIND, |raw| {
            raw.parse()
                .map_err(|_| format!("{raw:?} is not an address like 127.0.0.1:8080"))
        })?
        .ok_or_else(|| bad(BIND.var, "has no default"))?;
    let issuer = match env.get(ISSUER.var) {
        Some(raw) => Issuer::parse(&raw).map_err(|p| bad(ISSUER.var, format!("{raw:?} {p}")))?,
        None if bind.ip().is_loopback() => {
            Issuer::parse(&format!("http://{bind}")).map_err(|p| bad(ISSUER.var, p))?
        }
        None => {
            return Err(bad(
                ISSUER.var,
                "is required when WARDEN_BIND is not a loopback address",
            ));
        }
    };
    let issuer = if env.flag(&ISSUER_TRAILING_SLASH)? {
        issuer
            .with_trailing_slash()
            .map_err(|p| bad(ISSUER_TRAILING_SLASH.var, p))?
    } else {
        issuer
    };
    Ok((bind, issuer))
}

/// `DATABASE_URL` (or its file) with its pool settings, or the embedded SQLite file.
fn database(env: &Env<impl Lookup>) -> Result<DatabaseSettings, SettingsError> {
    let Some(url) = env.secret(&DATABASE_URL)? else {
        return Ok(DatabaseSettings::Embedded);
    };
    if !["postgres://", "postgresql://", "sqlite:"]
        .iter()
        .any(|scheme| url.expose().starts_with(scheme))
    {
        return Err(bad(
            DATABASE_URL.var,
            "must start with postgres://, postgresql:// or sqlite:",
        ));
    }
    Ok(DatabaseSettings::Url {
        url,
        max_connections: env.number(&DB_MAX_CONNECTIONS)?,
        connect_timeout: env.duration(&DB_CONNECT_TIMEOUT)?,
    })
}

fn secret_key(
    env: &Env<impl Lookup>,
    database: &DatabaseSettings,
) -> Result<Option<Secret>, SettingsError> {
    let key = env.secret(&SECRET_KEY)?;
    match &key {
        Some(key) if key.expose().len() < 32 => Err(bad(
            SECRET_KEY.var,
            "must be at least 32 characters (try: openssl rand -base64 32)",
        )),
        // Several nodes share one database: they must share the key, so we cannot invent
        // one per process.
        None if !matches!(database, DatabaseSettings::Embedded) => Err(bad(
            SECRET_KEY.var,
            "is required when DATABASE_URL is set (every node must use the same key)",
        )),
        _ => Ok(key),
    }
}

/// `WARDEN_REGISTRATION`; the token (or its file) is read only in `token` mode.
fn registration(env: &Env<impl Lookup>) -> Result<RegistrationPolicy, SettingsError> {
    #[derive(Clone, Copy)]
    enum Mode {
        Open,
        Token,
        Off,
    }
    Ok(
        match env.choice(&REGISTRATION, [Mode::Open, Mode::Token, Mode::Off])? {
            Mode::Open => RegistrationPolicy::Open,
            Mode::Off => RegistrationPolicy::Off,
            Mode::Token => RegistrationPolicy::Token(
                env.secret(&REGISTRATION_TOKEN)?
                    .filter(|t| t.expose().len() >= 16)
                    .ok_or_else(|| {
                        bad(
                            REGISTRATION_TOKEN.var,
                            "WARDEN_REGISTRATION=token needs a token of at least 16 characters",
                        )
                    })?,
            ),
        },
    )
}

fn limits(env: &Env<impl Lookup>) -> Result<Limits, SettingsError> {
    Ok(Limits {
        hash_concurrency: env
            .optional_number(&PASSWORD_HASH_CONCURRENCY)?
            .unwrap_or_else(default_hash_concurrency),
        hash_queue: env.number(&PASSWORD_HASH_QUEUE)?,
        body_timeout: env.duration(&BODY_TIMEOUT)?,
        send_timeout: env.duration(&SEND_TIMEOUT)?,
        trusted_proxies: env
            .parsed(&TRUSTED_PROXIES, crate::net::IpNet::parse_list)?
            .unwrap_or_default(),
        authorize_rate_limit: env.number(&AUTHORIZE_RATE_LIMIT)?,
        pending_authorizations_max: env.number(&PENDING_AUTHORIZATIONS_MAX)?,
        registration_global_rate_limit: env.number(&REGISTRATION_GLOBAL_RATE_LIMIT)?,
        unused_registrations_max: env.number(&UNUSED_REGISTRATIONS_MAX)?,
    })
}

#[cfg(test)]
mod tests;

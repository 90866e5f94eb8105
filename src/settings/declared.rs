//! Every setting declared once: variable, default, accepted values, `_FILE` variant and help.
//!
//! The readers in `env.rs` take these declarations, so a name, default or range is written
//! only here; `warden serve --help`, `warden settings` and the tables in README.md and
//! docs/settings.md are rendered from them (a test holds the documents to this file).

/// What a variable holds, with its default and range where those are plain values.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Text that code parses (an address, a URL, a list), with the default it falls back to.
    Text(Option<&'static str>),
    /// A secret: the variable or the file named by `{var}_FILE`; no default.
    Secret,
    /// `0` or `1`.
    Flag(bool),
    /// One of these words; the first is the default.
    Choice(&'static [&'static str]),
    /// A duration in seconds (`600`, `10m`, `1h`, `30d`).
    Seconds { default: i64, min: i64, max: i64 },
    /// A whole number; `None` when the default is computed at start-up (see `default_note`).
    Number {
        default: Option<i64>,
        min: i64,
        max: i64,
    },
}

/// One environment variable.
#[derive(Debug)]
pub struct Setting {
    pub var: &'static str,
    /// `{var}_FILE`, read only for [`Kind::Secret`].
    pub file_var: &'static str,
    pub kind: Kind,
    /// The default in words, where it is not a plain value of `kind`.
    pub default_note: Option<&'static str>,
    /// Markdown; rendered as plain text for `--help`.
    pub help: &'static str,
    /// Listed in the README's short table: what a first deployment sets.
    pub first_deployment: bool,
}

impl Setting {
    const BASE: Setting = Setting {
        var: "",
        file_var: "",
        kind: Kind::Text(None),
        default_note: None,
        help: "",
        first_deployment: false,
    };

    /// The default as a person reads it (markdown).
    pub fn shown_default(&self) -> String {
        if let Some(note) = self.default_note {
            return note.to_owned();
        }
        match self.kind {
            Kind::Text(Some(value)) => format!("`{value}`"),
            Kind::Text(None) | Kind::Secret | Kind::Number { default: None, .. } => "none".into(),
            Kind::Flag(on) => format!("`{}`", u8::from(on)),
            Kind::Choice(words) => words.first().map(|w| format!("`{w}`")).unwrap_or_default(),
            Kind::Seconds { default, .. } => format!("`{}`", human_seconds(default)),
            Kind::Number {
                default: Some(n), ..
            } => format!("`{n}`"),
        }
    }

    /// The accepted values (markdown), empty for text the help describes.
    pub fn accepted(&self) -> String {
        let words = |words: &[&str]| {
            let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
            or_list(&quoted)
        };
        match self.kind {
            Kind::Text(_) | Kind::Secret => String::new(),
            Kind::Flag(_) => words(&["0", "1"]),
            Kind::Choice(options) => words(options),
            Kind::Seconds { min, max, .. } => {
                format!("{} to {}", human_seconds(min), human_seconds(max))
            }
            Kind::Number { min, max, .. } => format!("{min} to {max}"),
        }
    }
}

/// "a", "a or b", "a, b or c".
pub fn or_list(words: &[impl AsRef<str>]) -> String {
    let words: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
    match words.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// `90d`, `12h`, `10m`, `30s`: the largest unit that divides the value.
fn human_seconds(seconds: i64) -> String {
    match seconds {
        0 => "0".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `NAME = "VAR" { field: value, ... }` becomes `pub static NAME: Setting`, and `ALL` lists
/// them in declaration order (the order of the tables and of `--help`).
macro_rules! declare {
    ($($name:ident = $var:literal { $($field:ident: $value:expr),* $(,)? })*) => {
        // Declarations that spell out every field leave `..BASE` nothing to fill.
        $(#[allow(clippy::needless_update)]
        pub static $name: Setting = Setting {
            var: $var,
            file_var: concat!($var, "_FILE"),
            $($field: $value,)*
            ..Setting::BASE
        };)*
        pub static ALL: &[&Setting] = &[$(&$name),*];
    };
}

use Kind::{Choice, Flag, Number, Seconds, Secret, Text};

const DAY: i64 = 86_400;

declare! {
    ISSUER = "WARDEN_ISSUER" {
        kind: Text(None),
        default_note: Some("`http://{WARDEN_BIND}` when that is a loopback address; \
                            required otherwise"),
        first_deployment: true,
        help: "issuer identifier: absolute `https` URL (plain `http` only on loopback), no query, \
               fragment or trailing slash; appears byte-identical in metadata and tokens",
    }
    ISSUER_TRAILING_SLASH = "WARDEN_ISSUER_TRAILING_SLASH" {
        kind: Flag(false),
        help: "`1`: the issuer identifier gets a trailing slash (`https://auth.example.com/`) in \
               metadata, tokens and RFC 9207 `iss`, for MCP servers that add one to a path-less \
               URL and cannot be told otherwise (FastMCP: \
               [docs/integrations/fastmcp.md](integrations/fastmcp.md)); endpoints and discovery \
               URLs do not move. Only for an issuer without a path",
    }
    BIND = "WARDEN_BIND" {
        kind: Text(Some("127.0.0.1:8080")),
        first_deployment: true,
        help: "address and port to listen on",
    }
    DATABASE_URL = "DATABASE_URL" {
        kind: Secret,
        default_note: Some("embedded SQLite file `warden.db` in the data directory"),
        first_deployment: true,
        help: "`postgres://…` (or `sqlite:…`)",
    }
    DATA_DIR = "WARDEN_DATA_DIR" {
        kind: Text(Some("warden-data")),
        first_deployment: true,
        help: "embedded database and generated key file",
    }
    SECRET_KEY = "WARDEN_SECRET_KEY" {
        kind: Secret,
        default_note: Some("embedded mode: generated into `{data dir}/secret.key` (mode 0600) on \
                            first start; required with `DATABASE_URL`"),
        first_deployment: true,
        help: "master secret (32+ characters): encrypts private signing keys at rest, keys the \
               client-secret hashes",
    }
    LOG_FORMAT = "WARDEN_LOG_FORMAT" {
        kind: Choice(&["text", "json"]),
        first_deployment: true,
        help: "log lines go to stderr; `RUST_LOG` sets the level",
    }
    SIGNING_ALG = "WARDEN_SIGNING_ALG" {
        kind: Choice(&["ES256", "EdDSA", "RS256"]),
        help: "algorithm of new signing keys",
    }
    ACCESS_TOKEN_TTL = "WARDEN_ACCESS_TOKEN_TTL" {
        kind: Seconds { default: 600, min: 10, max: 7 * DAY },
        help: "default access-token lifetime; at most `WARDEN_ACCESS_TOKEN_MAX_TTL`",
    }
    ACCESS_TOKEN_MAX_TTL = "WARDEN_ACCESS_TOKEN_MAX_TTL" {
        kind: Seconds { default: DAY, min: 60, max: 7 * DAY },
        help: "ceiling for any access-token lifetime; a retired key stays published this long \
               (plus 5 min)",
    }
    REFRESH_TOKEN_TTL = "WARDEN_REFRESH_TOKEN_TTL" {
        kind: Seconds { default: 30 * DAY, min: 60, max: 365 * DAY },
        help: "refresh-token lifetime",
    }
    REFRESH_GRACE = "WARDEN_REFRESH_GRACE" {
        kind: Seconds { default: 10, min: 0, max: 60 },
        help: "a refresh token rotated this recently may be presented again by its client and \
               gets the same successor back, as long as that successor is unused (`0` turns it \
               off)",
    }
    AUTHORIZATION_CODE_TTL = "WARDEN_AUTHORIZATION_CODE_TTL" {
        kind: Seconds { default: 60, min: 10, max: 60 },
        help: "authorization-code lifetime",
    }
    SESSION_IDLE_TTL = "WARDEN_SESSION_IDLE_TTL" {
        kind: Seconds { default: 3600, min: 60, max: 7 * DAY },
        help: "a browser session ends after this long unused",
    }
    SESSION_TTL = "WARDEN_SESSION_TTL" {
        kind: Seconds { default: 12 * 3600, min: 300, max: 30 * DAY },
        help: "and after this long in any case",
    }
    KEY_ACTIVATION_DELAY = "WARDEN_KEY_ACTIVATION_DELAY" {
        kind: Seconds { default: 600, min: 1, max: 7 * DAY },
        help: "how long a rotated-in key is published before it signs; at least \
               `WARDEN_KEY_REFRESH_INTERVAL`",
    }
    KEY_REFRESH_INTERVAL = "WARDEN_KEY_REFRESH_INTERVAL" {
        kind: Seconds { default: 30, min: 1, max: 3600 },
        help: "how often each process re-reads the signing keys",
    }
    REGISTRATION = "WARDEN_REGISTRATION" {
        kind: Choice(&["open", "token", "off"]),
        first_deployment: true,
        help: "dynamic client registration: `open`, `token` (needs an initial access token) or \
               `off` (no `registration_endpoint`)",
    }
    DPOP_NONCE = "WARDEN_DPOP_NONCE" {
        kind: Choice(&["required", "off"]),
        help: "`required`: a DPoP proof at `/token` must carry a fresh server nonce (answered \
               `use_dpop_nonce` with a `DPoP-Nonce` header otherwise; nonces are stateless, \
               two-minute windows any node checks), so no proof can be made ahead of time; `off`: \
               proofs are judged on their `iat` window and single-use `jti` alone \
               ([docs/dpop.md](dpop.md))",
    }
    REGISTRATION_TOKEN = "WARDEN_REGISTRATION_TOKEN" {
        kind: Secret,
        help: "the initial access token for `WARDEN_REGISTRATION=token` (16+ characters)",
    }
    REGISTRATION_RATE_LIMIT = "WARDEN_REGISTRATION_RATE_LIMIT" {
        kind: Number { default: Some(60), min: 1, max: 100_000 },
        help: "registration requests per client address per hour, counted atomically before the \
               body is read (then 429 with `Retry-After`)",
    }
    REGISTRATION_GLOBAL_RATE_LIMIT = "WARDEN_REGISTRATION_GLOBAL_RATE_LIMIT" {
        kind: Number { default: Some(3_600), min: 1, max: 10_000_000 },
        help: "registration requests per hour from all addresses together (then 429 with \
               `Retry-After`)",
    }
    UNUSED_REGISTRATIONS_MAX = "WARDEN_UNUSED_REGISTRATIONS_MAX" {
        kind: Number { default: Some(10_000), min: 1, max: 100_000_000 },
        help: "dynamically registered clients that have never been used, at most; beyond it \
               `/register` answers 429 `temporarily_unavailable` until some are used or cleaned up",
    }
    AUTHORIZE_RATE_LIMIT = "WARDEN_AUTHORIZE_RATE_LIMIT" {
        kind: Number { default: Some(120), min: 1, max: 1_000_000 },
        help: "`/authorize` requests from browsers without a session (and upstream sign-in \
               starts) per client address per minute; beyond it an error page with 429 and \
               `Retry-After`",
    }
    PENDING_AUTHORIZATIONS_MAX = "WARDEN_PENDING_AUTHORIZATIONS_MAX" {
        kind: Number { default: Some(100_000), min: 1, max: 100_000_000 },
        help: "authorization requests waiting for sign-in or consent, at most (each is at most \
               8 KiB); beyond it browsers without a session get a 503 page",
    }
    PASSWORD_HASH_CONCURRENCY = "WARDEN_PASSWORD_HASH_CONCURRENCY" {
        kind: Number { default: None, min: 1, max: 256 },
        default_note: Some("cores − 1 (at least 1)"),
        help: "password verifications running at once; each holds 19 MiB of argon2 memory for \
               the life of the process",
    }
    PASSWORD_HASH_QUEUE = "WARDEN_PASSWORD_HASH_QUEUE" {
        kind: Number { default: Some(8), min: 0, max: 10_000 },
        help: "sign-ins waiting for a hasher; beyond it `POST /login` answers 503 with \
               `Retry-After: 1` without hashing",
    }
    BODY_TIMEOUT = "WARDEN_BODY_TIMEOUT" {
        kind: Seconds { default: 10, min: 1, max: 600 },
        help: "a request body must have arrived this long after the request head, or 408 and \
               the connection closes",
    }
    SEND_TIMEOUT = "WARDEN_SEND_TIMEOUT" {
        kind: Seconds { default: 10, min: 1, max: 600 },
        help: "a response the client has not taken this long after the socket filled up closes \
               the connection",
    }
    TRUSTED_PROXIES = "WARDEN_TRUSTED_PROXIES" {
        kind: Text(None),
        first_deployment: true,
        help: "comma-separated addresses or CIDR blocks of reverse proxies; only from these \
               peers is the client address read from `Forwarded` / `X-Forwarded-For` (rightmost \
               hop that is not a trusted proxy). Every per-address limit uses that address \
               (IPv6 by /64)",
    }
    REGISTRATION_CLEANUP_AFTER = "WARDEN_REGISTRATION_CLEANUP_AFTER" {
        kind: Seconds { default: DAY, min: 60, max: 365 * DAY },
        help: "dynamically registered clients that never completed an authorization are \
               deleted after this",
    }
    DEV_ALLOW_LOOPBACK_FETCH = "WARDEN_DEV_ALLOW_LOOPBACK_FETCH" {
        kind: Flag(false),
        help: "development and tests only: `1` lets Warden fetch plain-http URLs on loopback \
               addresses (logged as a warning)",
    }
    EGRESS_PROXY = "WARDEN_EGRESS_PROXY" {
        kind: Text(None),
        help: "an http(s) proxy URL for every outbound fetch (metadata documents, `jwks_uri`, \
               upstream providers). Proxy variables of the environment are always ignored. \
               Warden still checks the addresses it resolves, but the proxy resolves again: \
               refusing private and special-use destinations becomes the proxy's duty (logged \
               as a warning at start-up)",
    }
    CACHE_TTL = "WARDEN_CACHE_TTL" {
        kind: Number { default: Some(5), min: 0, max: 60 },
        help: "worst-case seconds a node may serve a cached client, resource, live grant status \
               or verified token on the hot paths (`0`: no cache). Changes through a node apply \
               there at once and, on Postgres, on every node within milliseconds (`NOTIFY`, sent \
               by the CLI too); the TTL bounds a lost notification",
    }
    TOKEN_RATE_LIMIT = "WARDEN_TOKEN_RATE_LIMIT" {
        kind: Number { default: Some(200), min: 0, max: 1_000_000 },
        help: "token requests per second per client on each node, after authentication (burst \
               of as many); over it `/token` answers 429 `slow_down` with `Retry-After: 1`. Per \
               node by design (a shared counter would cost a database write per token); `0` \
               turns it off",
    }
    METRICS_TOKEN = "WARDEN_METRICS_TOKEN" {
        kind: Secret,
        help: "bearer token for `GET /metrics` from anywhere; without it `/metrics` answers \
               loopback only",
    }
    PASSWORD_LOGIN = "WARDEN_PASSWORD_LOGIN" {
        kind: Flag(true),
        help: "`0` hides the local username/password form and refuses `POST /login`: users sign \
               in only through upstream providers",
    }
    AUDIT_RETENTION = "WARDEN_AUDIT_RETENTION" {
        kind: Seconds { default: 90 * DAY, min: DAY, max: 3650 * DAY },
        help: "audit events older than this are deleted by the periodic clean-up (see \
               [docs/admin.md](admin.md#the-audit-log))",
    }
    AUDIT_LOG = "WARDEN_AUDIT_LOG" {
        kind: Flag(false),
        help: "`1`: each audit event is also written as one log line (target `audit`; JSON with \
               `WARDEN_LOG_FORMAT=json`) after its transaction commits, for shipping to a SIEM",
    }
    DB_MAX_CONNECTIONS = "WARDEN_DB_MAX_CONNECTIONS" {
        kind: Number { default: Some(10), min: 1, max: 1000 },
        help: "database pool size (with `DATABASE_URL`)",
    }
    DB_CONNECT_TIMEOUT = "WARDEN_DB_CONNECT_TIMEOUT" {
        kind: Seconds { default: 30, min: 0, max: 3600 },
        help: "how long start-up retries an unreachable database (with backoff; with \
               `DATABASE_URL`)",
    }
    SHUTDOWN_DRAIN = "WARDEN_SHUTDOWN_DRAIN" {
        kind: Seconds { default: 0, min: 0, max: 600 },
        help: "on SIGTERM, seconds to keep serving with `/readyz` at 503 before closing the \
               listener; behind a load balancer set it above the health-check interval, so no \
               request reaches a closing socket",
    }
    SHUTDOWN_TIMEOUT = "WARDEN_SHUTDOWN_TIMEOUT" {
        kind: Seconds { default: 30, min: 0, max: 3600 },
        help: "grace period for in-flight requests on SIGTERM",
    }
    WORKERS = "WARDEN_WORKERS" {
        kind: Number { default: None, min: 1, max: 256 },
        default_note: Some("number of cores"),
        help: "HTTP worker threads",
    }
}

/// The markdown table of every setting (`first_deployment`: the README's short one).
pub fn markdown_table(first_deployment: bool) -> String {
    let mut out = String::new();
    if first_deployment {
        out.push_str("| variable | default |\n| --- | --- |\n");
    } else {
        out.push_str("| variable | default | accepted | meaning |\n| --- | --- | --- | --- |\n");
    }
    for s in ALL
        .iter()
        .filter(|s| s.first_deployment || !first_deployment)
    {
        let file = if matches!(s.kind, Kind::Secret) {
            " (`_FILE`)"
        } else {
            ""
        };
        let mut cells = vec![format!("`{}`{file}", s.var), s.shown_default()];
        if !first_deployment {
            cells.extend([s.accepted(), s.help.to_owned()]);
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The settings section of `warden serve --help`: plain text, help wrapped at 90 columns.
pub fn help_text() -> String {
    let mut out = String::from(
        "Settings (environment variables; an empty value counts as unset; durations are\n\
         seconds or a number with s, m, h or d):\n",
    );
    for s in ALL {
        out.push_str(&format!("\n  {}", s.var));
        if matches!(s.kind, Kind::Secret) {
            out.push_str(&format!(" (or {}: a file holding it)", s.file_var));
        }
        out.push_str(&format!("\n      default: {}", plain(&s.shown_default())));
        let accepted = s.accepted();
        if !accepted.is_empty() {
            out.push_str(&format!("; accepted: {}", plain(&accepted)));
        }
        let mut line = String::from("     ");
        for word in plain(s.help).split_whitespace() {
            if line.len() + word.len() >= 90 {
                out.push('\n');
                out.push_str(&line);
                line = String::from("     ");
            }
            line.push(' ');
            line.push_str(word);
        }
        out.push('\n');
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Markdown to plain text: backticks dropped, `[text](target)` becomes `text`.
fn plain(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(open) = rest.find('[') {
        let Some((text, after)) = rest[open + 1..].split_once("](") else {
            break;
        };
        let Some(close) = after.find(')') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(text);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out.replace('`', "")
}

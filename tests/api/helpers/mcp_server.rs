//! A small MCP server in Rust (actix-web + josekit) protected by Warden, the way
//! docs/integrations/rust.md tells users to write one: a 401 challenge naming its protected
//! resource metadata (RFC 9728 §5.1), that metadata at its well-known URL, and Warden's
//! access tokens verified as RFC 9068 §4 says (signature by a key of Warden's JWKS, `typ`
//! `at+jwt`, `iss`, `aud`, `exp`), with a scope per tool and 403 `insufficient_scope`.
//!
//! The regions between `docs:start`/`docs:end` are the page's snippets. `Fault` makes the
//! server wrong in one way each, for `resource check`'s tests; the faults wrap the correct
//! code rather than living inside it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::time::UNIX_EPOCH;

use actix_web::{App, HttpServer};
use serde_json::json;

// docs:start imports
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{ES256, EdDSA, JwsVerifier, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::Value;
// docs:end imports

/// One way of getting Warden wrong, as real MCP servers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Never compares `aud` with its own URI.
    SkipsAudience,
    /// Never looks at `exp`.
    SkipsExpiry,
    /// Its 401 challenge names no `resource_metadata`.
    NoResourceMetadata,
    /// Never looks at the `typ` header.
    AcceptsAnyTyp,
    /// Knows only RS256 keys (FastMCP's `JWTVerifier` default).
    OnlyRs256,
    /// Its metadata lists the issuer with a trailing slash (FastMCP's `RemoteAuthProvider`).
    TrailingSlashIssuer,
    /// Never looks at `cnf`: takes a DPoP-bound token as a bearer token.
    IgnoresCnf,
}

// docs:start config
/// What the MCP server must know about Warden and about itself.
pub struct AuthConfig {
    /// Warden's issuer, byte for byte as in its metadata (`WARDEN_ISSUER`).
    pub issuer: String,
    /// Warden's JWKS: `{issuer}/jwks.json` (the `jwks_uri` of its metadata).
    pub jwks_uri: String,
    /// This server's URI exactly as registered in Warden: the `aud` of its tokens.
    pub resource: String,
    /// Where this server serves its protected resource metadata (RFC 9728 §3.1).
    pub resource_metadata: String,
    /// The scopes registered for this resource in Warden.
    pub scopes: Vec<String>,
}
// docs:end config

// docs:start verify
/// Why a request is refused.
pub enum AuthError {
    /// No token, or one that fails verification: 401 `invalid_token`.
    InvalidToken(String),
    /// A good token without the scope this request needs: 403 `insufficient_scope`.
    InsufficientScope(&'static str),
}

/// The caller, once its token has been verified.
pub struct Caller {
    pub subject: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The token is bound to a DPoP key (it has `cnf`).
    pub dpop_bound: bool,
}

impl Caller {
    pub fn require(&self, scope: &'static str) -> Result<(), AuthError> {
        match self.scopes.iter().any(|s| s == scope) {
            true => Ok(()),
            false => Err(AuthError::InsufficientScope(scope)),
        }
    }
}

/// RFC 9068 §4: a Warden access token is a JWT whose header says `typ: at+jwt`...
pub fn verify_access_token(
    token: &str,
    keys: &JwkSet,
    config: &AuthConfig,
    now: SystemTime,
) -> Result<Caller, AuthError> {
    let header = jwt::decode_header(token).map_err(invalid)?;
    let typ = header.claim("typ").and_then(|t| t.as_str());
    if !matches!(typ, Some("at+jwt" | "application/at+jwt")) {
        return Err(AuthError::InvalidToken("not an access token (typ)".into()));
    }
    let caller = verify_signed_claims(token, keys, config, now)?;
    // RFC 9449 §7.1: a DPoP-bound token is good only with a proof of its key, which a
    // server of bearer tokens does not check; accepting it would let a thief use it.
    if caller.dpop_bound {
        return Err(AuthError::InvalidToken(
            "a DPoP-bound token sent as a bearer token".into(),
        ));
    }
    Ok(caller)
}

/// ...signed by one of Warden's keys, issued by Warden, for this resource, not expired.
pub fn verify_signed_claims(
    token: &str,
    keys: &JwkSet,
    config: &AuthConfig,
    now: SystemTime,
) -> Result<Caller, AuthError> {
    // The key is the one Warden's JWKS publishes under the token's `kid`, and the algorithm
    // is that key's, never one the token chooses (josekit checks the header's `alg` matches).
    let header = jwt::decode_header(token).map_err(invalid)?;
    let kid = header
        .claim("kid")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    let Some(key) = keys.get(kid).into_iter().next() else {
        return Err(AuthError::InvalidToken("unknown signing key".into()));
    };
    let (payload, _) = jwt::decode_with_verifier(token, &*verifier_for(key)?).map_err(invalid)?;
    if payload.issuer() != Some(config.issuer.as_str()) {
        return Err(AuthError::InvalidToken("wrong issuer".into()));
    }
    if payload.audience() != Some(vec![config.resource.as_str()]) {
        return Err(AuthError::InvalidToken(
            "not for this resource (aud)".into(),
        ));
    }
    match payload.expires_at() {
        Some(exp) if exp > now => {}
        _ => return Err(AuthError::InvalidToken("expired".into())),
    }
    Ok(caller(&payload))
}

/// Warden signs with ES256 by default; EdDSA or RS256 when so configured.
fn verifier_for(key: &Jwk) -> Result<Box<dyn JwsVerifier>, AuthError> {
    let verifier: Box<dyn JwsVerifier> = match key.algorithm() {
        Some("ES256") => Box::new(ES256.verifier_from_jwk(key).map_err(invalid)?),
        Some("EdDSA") => Box::new(EdDSA.verifier_from_jwk(key).map_err(invalid)?),
        Some("RS256") => Box::new(RS256.verifier_from_jwk(key).map_err(invalid)?),
        _ => return Err(AuthError::InvalidToken("unsupported key".into())),
    };
    Ok(verifier)
}

fn caller(payload: &JwtPayload) -> Caller {
    let text = |name: &str| {
        let value = payload.claim(name).and_then(|v| v.as_str());
        value.unwrap_or_default().to_owned()
    };
    Caller {
        subject: text("sub"),
        client_id: text("client_id"),
        scopes: text("scope")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        dpop_bound: payload.claim("cnf").is_some(),
    }
}

fn invalid(e: josekit::JoseError) -> AuthError {
    AuthError::InvalidToken(e.to_string())
}
// docs:end verify

// docs:start challenge
/// RFC 6750 §3 and RFC 9728 §5.1: every refusal names the metadata, so clients find Warden.
pub fn refuse(config: &AuthConfig, error: AuthError) -> HttpResponse {
    let metadata = &config.resource_metadata;
    let (mut response, challenge) = match error {
        AuthError::InvalidToken(_) => (
            HttpResponse::Unauthorized(),
            format!(r#"Bearer error="invalid_token", resource_metadata="{metadata}""#),
        ),
        AuthError::InsufficientScope(scope) => (
            HttpResponse::Forbidden(),
            format!(
                r#"Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{metadata}""#
            ),
        ),
    };
    response
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .finish()
}

/// GET /.well-known/oauth-protected-resource/<path>: RFC 9728 §3.2.
pub fn protected_resource_metadata(config: &AuthConfig) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "resource": config.resource,
        "authorization_servers": [config.issuer],
        "scopes_supported": config.scopes,
        "bearer_methods_supported": ["header"],
    }))
}
// docs:end challenge

// docs:start jwks
/// Warden's public keys, fetched at start and again when a token names an unknown `kid`
/// (Warden publishes a new key before it signs with it), at most once every 30 s.
pub struct WardenKeys {
    keys: RwLock<(JwkSet, Instant)>,
    jwks_uri: String,
}

impl WardenKeys {
    pub async fn fetch(jwks_uri: &str) -> anyhow::Result<WardenKeys> {
        let keys = download(jwks_uri).await?;
        Ok(WardenKeys {
            keys: RwLock::new((keys, Instant::now())),
            jwks_uri: jwks_uri.to_owned(),
        })
    }

    pub fn current(&self) -> JwkSet {
        self.keys.read().unwrap().0.clone()
    }

    /// Re-reads the JWKS unless it was read less than 30 s ago; true when it was.
    pub async fn refresh(&self) -> bool {
        if self.keys.read().unwrap().1.elapsed() < Duration::from_secs(30) {
            return false;
        }
        match download(&self.jwks_uri).await {
            Ok(keys) => {
                *self.keys.write().unwrap() = (keys, Instant::now());
                true
            }
            Err(_) => false,
        }
    }
}

async fn download(jwks_uri: &str) -> anyhow::Result<JwkSet> {
    let body = reqwest::get(jwks_uri)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(JwkSet::from_bytes(&body)?)
}
// docs:end jwks

/// The running server, its configuration and its keys.
pub struct McpState {
    pub config: AuthConfig,
    pub keys: WardenKeys,
    pub fault: Option<Fault>,
    /// Every bearer token received, for tests that look at what Warden sent.
    pub seen: std::sync::Mutex<Vec<String>>,
}

// docs:start handler
/// POST /mcp: authenticate, then check the scope the called tool needs.
async fn mcp(
    request: HttpRequest,
    body: web::Json<Value>,
    state: web::Data<McpState>,
) -> HttpResponse {
    let caller = match authenticate(&request, &state).await {
        Ok(caller) => caller,
        Err(e) => return refuse(&state.config, e),
    };
    let method = body["method"].as_str().unwrap_or_default();
    if let Err(e) = caller.require(scope_needed(method, &body)) {
        return refuse(&state.config, e);
    }
    HttpResponse::Ok().json(answer(&body, method, &caller))
}

/// One scope per tool; everything else (initialize, tools/list) needs `mcp:read`.
fn scope_needed(method: &str, body: &Value) -> &'static str {
    match (method, body["params"]["name"].as_str()) {
        ("tools/call", Some("write_note")) => "mcp:write",
        _ => "mcp:read",
    }
}

async fn authenticate(request: &HttpRequest, state: &McpState) -> Result<Caller, AuthError> {
    let token = bearer_token(request)?;
    let verify = |keys: &JwkSet| verify_access_token(token, keys, &state.config, SystemTime::now());
    match verify(&state.keys.current()) {
        // A key Warden published since we last looked: read the JWKS again, once.
        Err(AuthError::InvalidToken(_)) if state.keys.refresh().await => {
            verify(&state.keys.current())
        }
        result => result,
    }
}

fn bearer_token(request: &HttpRequest) -> Result<&str, AuthError> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| AuthError::InvalidToken("no token".into()))
}
// docs:end handler

/// The correct server is `mcp` above; a faulty one runs this instead.
async fn dispatch(
    request: HttpRequest,
    body: web::Json<Value>,
    state: web::Data<McpState>,
) -> HttpResponse {
    if let Ok(token) = bearer_token(&request) {
        state.seen.lock().unwrap().push(token.to_owned());
    }
    let Some(fault) = state.fault else {
        return mcp(request, body, state).await;
    };
    let result = bearer_token(&request).and_then(|token| verify_with(fault, token, &state));
    let caller = match result {
        Ok(caller) => caller,
        Err(e) => return refuse_with(fault, &state.config, e),
    };
    let method = body["method"].as_str().unwrap_or_default();
    if let Err(e) = caller.require(scope_needed(method, &body)) {
        return refuse_with(fault, &state.config, e);
    }
    HttpResponse::Ok().json(answer(&body, method, &caller))
}

/// The correct verification, wrapped so that it misses what `fault` misses.
fn verify_with(fault: Fault, token: &str, state: &McpState) -> Result<Caller, AuthError> {
    let keys = state.keys.current();
    let config = &state.config;
    let now = SystemTime::now();
    // What the token says about itself, unverified: only the faults read this.
    let unverified = || -> Value {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    };
    match fault {
        Fault::NoResourceMetadata | Fault::TrailingSlashIssuer => {
            verify_access_token(token, &keys, config, now)
        }
        Fault::AcceptsAnyTyp => verify_signed_claims(token, &keys, config, now),
        Fault::IgnoresCnf => {
            let caller = verify_access_token(token, &keys, config, now);
            match caller {
                // The correct check refused it for `cnf` alone: take it anyway.
                Err(AuthError::InvalidToken(why)) if why.contains("DPoP-bound") => {
                    verify_signed_claims(token, &keys, config, now)
                }
                other => other,
            }
        }
        Fault::OnlyRs256 => {
            let mut only = JwkSet::new();
            for key in keys.keys() {
                if key.algorithm() == Some("RS256") {
                    only.push_key(key.clone());
                }
            }
            verify_access_token(token, &only, config, now)
        }
        Fault::SkipsAudience => {
            // Takes whatever audience the token names as its own.
            let aud = unverified()["aud"].as_str().unwrap_or_default().to_owned();
            let lenient = AuthConfig {
                resource: aud,
                ..config.clone_config()
            };
            verify_access_token(token, &keys, &lenient, now)
        }
        Fault::SkipsExpiry => {
            // Judges every token at the moment it was issued.
            let iat = unverified()["iat"].as_u64().unwrap_or_default();
            verify_access_token(token, &keys, config, UNIX_EPOCH + Duration::from_secs(iat))
        }
    }
}

fn refuse_with(fault: Fault, config: &AuthConfig, error: AuthError) -> HttpResponse {
    let response = refuse(config, error);
    if fault != Fault::NoResourceMetadata {
        return response;
    }
    // A bare `Bearer` challenge.
    HttpResponse::build(response.status())
        .insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#))
        .finish()
}

impl AuthConfig {
    fn clone_config(&self) -> AuthConfig {
        AuthConfig {
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            resource: self.resource.clone(),
            resource_metadata: self.resource_metadata.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

/// The MCP side, reduced to what the tests call.
fn answer(body: &Value, method: &str, caller: &Caller) -> Value {
    let result = match method {
        "initialize" => json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "warden-rust-example", "version": "1"}
        }),
        "tools/list" => json!({"tools": [
            {"name": "read_notes", "inputSchema": {"type": "object"}},
            {"name": "write_note", "inputSchema": {"type": "object"}}
        ]}),
        "tools/call" => {
            json!({"content": [{"type": "text", "text": format!("hello {}", caller.subject)}]})
        }
        _ => json!({}),
    };
    json!({"jsonrpc": "2.0", "id": body["id"], "result": result})
}

async fn metadata(state: web::Data<McpState>) -> HttpResponse {
    if state.fault != Some(Fault::TrailingSlashIssuer) {
        return protected_resource_metadata(&state.config);
    }
    let slashed = AuthConfig {
        issuer: format!("{}/", state.config.issuer),
        ..state.config.clone_config()
    };
    protected_resource_metadata(&slashed)
}

/// A running test MCP server.
pub struct McpServer {
    /// Its resource URI: `http://127.0.0.1:{port}/mcp`.
    pub uri: String,
    pub port: u16,
    handle: actix_web::dev::ServerHandle,
    state: web::Data<McpState>,
}

impl McpServer {
    /// Starts the server for Warden at `issuer`, with `scopes` registered for it.
    pub async fn start(issuer: &str, scopes: &[&str], fault: Option<Fault>) -> McpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let uri = format!("http://127.0.0.1:{port}/mcp");
        let config = AuthConfig {
            issuer: issuer.to_owned(),
            // Endpoints hang off the issuer without the slash of
            // WARDEN_ISSUER_TRAILING_SLASH.
            jwks_uri: format!("{}/jwks.json", issuer.trim_end_matches('/')),
            resource: uri.clone(),
            resource_metadata: format!(
                "http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
            ),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        let keys = WardenKeys::fetch(&config.jwks_uri).await.unwrap();
        let state = web::Data::new(McpState {
            config,
            keys,
            fault,
            seen: Default::default(),
        });
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/mcp", web::post().to(dispatch))
                .route(
                    "/.well-known/oauth-protected-resource/mcp",
                    web::get().to(metadata),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        // actix starts its workers when the spawned future first runs: wait for them, so a
        // test that then blocks its runtime (running the CLI) finds the server up.
        let probe = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");
        while reqwest::get(&probe).await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        McpServer {
            uri,
            port,
            handle,
            state,
        }
    }

    /// The bearer tokens received so far, in order.
    pub fn tokens_seen(&self) -> Vec<String> {
        self.state.seen.lock().unwrap().clone()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

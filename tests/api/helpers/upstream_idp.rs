//! A small upstream identity provider on a loopback port, for the "sign in with ..." tests:
//! an OpenID Connect provider (discovery, JWKS, ES256 ID tokens, PKCE S256, RFC 9207 `iss`)
//! or a GitHub-style OAuth 2.0 provider (fixed endpoint paths, no ID token, `/user`).
//! It records what the client sent, and `Fault` makes it misbehave in one precise way.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, WWW_AUTHENTICATE};
use actix_web::http::{Method, StatusCode};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwk::KeyPair;
use josekit::jws::{ES256, JwsSigner};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const KID: &str = "idp-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Oidc,
    Github,
}

#[derive(Clone, Debug)]
pub struct IdpUser {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    Down,          // every endpoint (incl. discovery and JWKS once started) answers 503
    Deny, // /authorize redirects back with error=access_denied&error_description=...&state=
    TokenError, // token endpoint answers 400 {"error":"invalid_grant"}
    BadSignature, // id_token signed with a key NOT in the JWKS (same kid)
    WrongAudience, // id_token aud = "someone-else"
    WrongIssuer, // id_token iss = issuer + "/evil"
    Expired, // id_token exp = now - 600, iat = now - 1200
    BadNonce, // id_token nonce = "not-the-nonce"
    NoIdToken, // token response without id_token
    AlgNone, // id_token with header {"alg":"none"} and empty signature
    WrongState, // /authorize redirects back with a different state value
    ForeignAzp, // id_token aud = our client id alone, azp = "someone-else"
    ExtraAudience, // id_token aud = [our client id, "someone-else"], azp = our client id
    NotYetValid, // id_token nbf = now + 300 (beyond any clock-skew leeway)
    IssuedLongAgo, // id_token iat = now - 900, exp = now + 300 (still unexpired)
    NoIss, // /authorize redirects back without the RFC 9207 `iss` parameter
}

type Requests = Arc<Mutex<Vec<HashMap<String, String>>>>;
type TokenRequests = Arc<Mutex<Vec<(HashMap<String, String>, String)>>>;

pub struct Idp {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub kind: Kind,
    pub user: Arc<Mutex<IdpUser>>,
    pub fault: Arc<Mutex<Fault>>,
    /// Members laid over the discovery document (`set_discovery`).
    pub discovery_extra: Arc<Mutex<serde_json::Map<String, Value>>>,
    /// Every /authorize query the provider saw (as received, parsed into a map), so tests can
    /// assert PKCE (code_challenge_method=S256), state, nonce, scope, redirect_uri were sent.
    pub authorize_requests: Requests,
    /// Every token request's form (parsed) plus how the client authenticated: "basic",
    /// "post", or "none" when it sent no secret at all.
    pub token_requests: TokenRequests,
    handle: ServerHandle,
}

/// What an authorization code stands for until it is redeemed.
struct Grant {
    redirect_uri: String,
    code_challenge: Option<String>,
    nonce: Option<String>,
    scope: Option<String>,
    user: IdpUser,
}

/// Everything the handlers share: the `Idp`'s public fields plus codes, tokens and keys.
struct Shared {
    kind: Kind,
    issuer: String,
    client_id: String,
    client_secret: String,
    user: Arc<Mutex<IdpUser>>,
    fault: Arc<Mutex<Fault>>,
    discovery_extra: Arc<Mutex<serde_json::Map<String, Value>>>,
    authorize_requests: Requests,
    token_requests: TokenRequests,
    codes: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashMap<String, IdpUser>>,
    signer: Box<dyn JwsSigner>,
    /// Signs for `Fault::BadSignature`: its public half is never published.
    rogue_signer: Box<dyn JwsSigner>,
    jwks: Value,
}

impl Idp {
    pub async fn start(kind: Kind, user: IdpUser) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let pair = ES256.generate_key_pair().unwrap();
        let rogue = ES256.generate_key_pair().unwrap();
        // josekit's public-key export does not carry these members: set them here.
        let mut public = pair.to_jwk_public_key();
        public.set_key_id(KID);
        public.set_key_use("sig");
        public.set_algorithm("ES256");
        let shared = web::Data::new(Shared {
            kind,
            issuer: issuer.clone(),
            client_id: format!("upstream-{}", random_token()),
            client_secret: random_token(),
            user: Arc::new(Mutex::new(user)),
            fault: Arc::new(Mutex::new(Fault::None)),
            discovery_extra: Arc::default(),
            authorize_requests: Arc::default(),
            token_requests: Arc::default(),
            codes: Mutex::default(),
            access_tokens: Mutex::default(),
            signer: Box::new(ES256.signer_from_der(pair.to_der_private_key()).unwrap()),
            rogue_signer: Box::new(ES256.signer_from_der(rogue.to_der_private_key()).unwrap()),
            jwks: json!({ "keys": [serde_json::to_value(public.as_ref()).unwrap()] }),
        });
        let data = shared.clone();
        // One catch-all handler: routing by (method, path) in `dispatch` keeps `Fault::Down`
        // in one place and lets the two kinds use different paths.
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(dispatch))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Idp {
            issuer,
            client_id: shared.client_id.clone(),
            client_secret: shared.client_secret.clone(),
            kind,
            user: shared.user.clone(),
            fault: shared.fault.clone(),
            discovery_extra: shared.discovery_extra.clone(),
            authorize_requests: shared.authorize_requests.clone(),
            token_requests: shared.token_requests.clone(),
            handle,
        }
    }

    pub fn set_fault(&self, f: Fault) {
        *self.fault.lock().unwrap() = f;
    }

    pub fn set_user(&self, u: IdpUser) {
        *self.user.lock().unwrap() = u;
    }

    /// Lays `members` over the discovery document (a `null` removes one), e.g.
    /// `{"authorization_response_iss_parameter_supported": true}`. Warden caches the
    /// document it got (5 min without `Cache-Control`): set this before the first sign-in,
    /// or after one that Warden refused (a refused document is not kept).
    pub fn set_discovery(&self, members: Value) {
        let mut extra = self.discovery_extra.lock().unwrap();
        for (k, v) in members.as_object().unwrap() {
            extra.insert(k.clone(), v.clone());
        }
    }

    pub fn authorization_endpoint(&self) -> String {
        format!("{}{}", self.issuer, paths(self.kind).0)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}{}", self.issuer, paths(self.kind).1)
    }

    pub fn userinfo_endpoint(&self) -> String {
        format!("{}{}", self.issuer, paths(self.kind).2)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        // `stop` sends the command when called; the returned future only awaits completion,
        // which a synchronous `drop` cannot do (and need not).
        drop(self.handle.stop(false));
    }
}

/// (authorize, token, userinfo) paths of each kind.
fn paths(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Oidc => ("/authorize", "/token", "/userinfo"),
        Kind::Github => (
            "/login/oauth/authorize",
            "/login/oauth/access_token",
            "/user",
        ),
    }
}

async fn dispatch(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    if s.fault() == Fault::Down {
        return text(StatusCode::SERVICE_UNAVAILABLE, "upstream is down");
    }
    let (authorize, token, userinfo) = paths(s.kind);
    let path = req.path();
    let (get, post) = (req.method() == Method::GET, req.method() == Method::POST);
    match s.kind {
        Kind::Oidc if get && path == "/.well-known/openid-configuration" => {
            HttpResponse::Ok().json(s.discovery())
        }
        Kind::Oidc if get && path == "/jwks" => HttpResponse::Ok().json(&s.jwks),
        _ if get && path == authorize => s.authorize(&req),
        _ if post && path == token => s.token(&req, &body),
        _ if get && path == userinfo => s.userinfo(&req),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

impl Shared {
    fn fault(&self) -> Fault {
        *self.fault.lock().unwrap()
    }

    fn discovery(&self) -> Value {
        let (authorize, token, userinfo) = paths(self.kind);
        let i = &self.issuer;
        let mut document = json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}{authorize}"),
            "token_endpoint": format!("{i}{token}"),
            "userinfo_endpoint": format!("{i}{userinfo}"),
            "jwks_uri": format!("{i}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        });
        for (k, v) in self.discovery_extra.lock().unwrap().iter() {
            match v {
                Value::Null => document.as_object_mut().unwrap().remove(k),
                _ => document
                    .as_object_mut()
                    .unwrap()
                    .insert(k.clone(), v.clone()),
            };
        }
        document
    }

    fn authorize(&self, req: &HttpRequest) -> HttpResponse {
        let q = form(req.query_string().as_bytes());
        self.authorize_requests.lock().unwrap().push(q.clone());
        // Without a known client and a redirect URI there is nowhere safe to send an error
        // (RFC 6749 §4.1.2.1): answer the browser directly.
        if q.get("client_id") != Some(&self.client_id) {
            return text(StatusCode::BAD_REQUEST, "unknown client_id");
        }
        let Some(Ok(mut back)) = q.get("redirect_uri").map(|u| url::Url::parse(u)) else {
            return text(
                StatusCode::BAD_REQUEST,
                "redirect_uri is missing or invalid",
            );
        };
        let fault = self.fault();
        let oidc = self.kind == Kind::Oidc;
        let challenge = q.get("code_challenge");
        let s256 = q.get("code_challenge_method").map(String::as_str) == Some("S256");
        let error = if q.get("response_type").map(String::as_str) != Some("code") {
            Some(("unsupported_response_type", "response_type must be code"))
        } else if (oidc || challenge.is_some()) && (challenge.is_none() || !s256) {
            // OIDC: PKCE S256 is required. GitHub: optional, but S256 when present.
            Some((
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            ))
        } else if fault == Fault::Deny {
            Some(("access_denied", "The user declined to sign in"))
        } else {
            None
        };
        // WrongState still issues a redeemable code: only the state differs, so a client
        // that skipped its state check would really be signed in and the test would notice.
        let state = match fault {
            Fault::WrongState => Some("not-the-state"),
            _ => q.get("state").map(String::as_str),
        };
        {
            let mut pairs = back.query_pairs_mut();
            match error {
                Some((code, description)) => {
                    pairs.append_pair("error", code);
                    pairs.append_pair("error_description", description);
                }
                None => {
                    let code = random_token();
                    let grant = Grant {
                        redirect_uri: q["redirect_uri"].clone(),
                        code_challenge: challenge.cloned(),
                        nonce: q.get("nonce").cloned(),
                        scope: q.get("scope").cloned(),
                        user: self.user.lock().unwrap().clone(),
                    };
                    self.codes.lock().unwrap().insert(code.clone(), grant);
                    pairs.append_pair("code", &code);
                }
            }
            if let Some(state) = state {
                pairs.append_pair("state", state);
            }
            if oidc && fault != Fault::NoIss {
                pairs.append_pair("iss", &self.issuer); // RFC 9207
            }
        }
        HttpResponse::Found()
            .insert_header((LOCATION, back.to_string()))
            .finish()
    }

    fn token(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let f = form(body);
        let basic = header_credentials(req, "Basic").and_then(|b64| {
            let decoded = String::from_utf8(STANDARD.decode(b64).ok()?).ok()?;
            let (id, secret) = decoded.split_once(':')?;
            // RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
            Some((form_decode(id), form_decode(secret)))
        });
        let (id, secret, method) = match basic {
            Some((id, secret)) => (Some(id), Some(secret), "basic"),
            None if f.contains_key("client_secret") => (
                f.get("client_id").cloned(),
                f.get("client_secret").cloned(),
                "post",
            ),
            None => (f.get("client_id").cloned(), None, "none"),
        };
        self.token_requests
            .lock()
            .unwrap()
            .push((f.clone(), method.to_owned()));
        if method == "basic" && f.contains_key("client_secret") {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
        }
        if self.fault() == Fault::TokenError {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        if id.as_ref() != Some(&self.client_id) || secret.as_ref() != Some(&self.client_secret) {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
            let challenge = "Basic realm=\"upstream\"".parse().unwrap();
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
            return response;
        }
        if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
        }
        // Removed before the other checks: a code is spent even by a failed attempt.
        let grant = f
            .get("code")
            .and_then(|code| self.codes.lock().unwrap().remove(code));
        let Some(grant) = grant else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        };
        let pkce_ok = match &grant.code_challenge {
            None => true,
            Some(challenge) => f.get("code_verifier").is_some_and(|v| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == *challenge
            }),
        };
        if f.get("redirect_uri") != Some(&grant.redirect_uri) || !pkce_ok {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        let access_token = random_token();
        let mut answer = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
        });
        if let Some(scope) = &grant.scope {
            answer["scope"] = json!(scope);
        }
        if self.kind == Kind::Oidc && self.fault() != Fault::NoIdToken {
            answer["id_token"] = json!(self.id_token(&grant));
        }
        self.access_tokens
            .lock()
            .unwrap()
            .insert(access_token, grant.user);
        // JSON whatever the Accept header says (GitHub needs `Accept: application/json`).
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(answer)
    }

    fn id_token(&self, grant: &Grant) -> String {
        let fault = self.fault();
        // A real provider dates its tokens by its own clock, not Warden's: the wall clock,
        // which Warden's frozen test clock trails by less than its 60 s allowance for skew.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (iat, exp) = match fault {
            Fault::Expired => (now - 1200, now - 600),
            Fault::IssuedLongAgo => (now - 900, now + 300),
            _ => (now, now + 300),
        };
        let mut claims = json!({
            "iss": match fault {
                Fault::WrongIssuer => format!("{}/evil", self.issuer),
                _ => self.issuer.clone(),
            },
            "sub": grant.user.sub,
            "aud": match fault {
                Fault::WrongAudience => json!("someone-else"),
                Fault::ExtraAudience => json!([self.client_id, "someone-else"]),
                _ => json!(self.client_id),
            },
            "iat": iat,
            "exp": exp,
        });
        match fault {
            Fault::ForeignAzp => claims["azp"] = json!("someone-else"),
            Fault::ExtraAudience => claims["azp"] = json!(self.client_id),
            Fault::NotYetValid => claims["nbf"] = json!(now + 300),
            _ => {}
        }
        let nonce = match fault {
            Fault::BadNonce => Some("not-the-nonce"),
            _ => grant.nonce.as_deref(),
        };
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        add_profile(&mut claims, &grant.user);
        let header = match fault {
            Fault::AlgNone => json!({ "alg": "none" }),
            _ => json!({ "alg": "ES256", "typ": "JWT", "kid": KID }),
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match fault {
            Fault::AlgNone => Vec::new(),
            Fault::BadSignature => self.rogue_signer.sign(input.as_bytes()).unwrap(),
            _ => self.signer.sign(input.as_bytes()).unwrap(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn userinfo(&self, req: &HttpRequest) -> HttpResponse {
        let user = header_credentials(req, "Bearer")
            .and_then(|token| self.access_tokens.lock().unwrap().get(token).cloned());
        let Some(user) = user else {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
            let challenge = "Bearer error=\"invalid_token\"".parse().unwrap();
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
            return response;
        };
        match self.kind {
            Kind::Oidc => {
                let mut claims = json!({ "sub": user.sub });
                add_profile(&mut claims, &user);
                HttpResponse::Ok().json(claims)
            }
            // GitHub's numeric id, and `null` for a private email or an unset name, as the
            // real API answers; no `email_verified` (GitHub has none here).
            Kind::Github => {
                let id = match user.sub.parse::<u64>() {
                    Ok(n) if user.sub.bytes().all(|b| b.is_ascii_digit()) => json!(n),
                    _ => json!(user.sub),
                };
                HttpResponse::Ok().json(json!({
                    "id": id,
                    "login": format!("octo-{}", user.sub),
                    "name": user.name,
                    "email": user.email,
                }))
            }
        }
    }
}

/// `email` (with `email_verified`) and `name`, when the user has them.
fn add_profile(claims: &mut Value, user: &IdpUser) {
    if let Some(email) = &user.email {
        claims["email"] = json!(email);
        claims["email_verified"] = json!(user.email_verified);
    }
    if let Some(name) = &user.name {
        claims["name"] = json!(name);
    }
}

/// The credentials of an `Authorization: <scheme> <credentials>` header (scheme in any case).
fn header_credentials<'r>(req: &'r HttpRequest, scheme: &str) -> Option<&'r str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then_some(credentials.trim())
}

/// A query string or form body as a map (the last value wins for repeated names).
fn form(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// One form-urlencoded value (`+` is a space, `%XX` a byte).
fn form_decode(value: &str) -> String {
    let pair = format!("v={value}");
    form(pair.as_bytes()).remove("v").unwrap_or_default()
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain")
        .body(body)
}

fn oauth_error(status: StatusCode, error: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error }))
}

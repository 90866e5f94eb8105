//! The probes themselves: mint each test token, send the MCP `initialize` POST through the
//! SSRF-safe fetcher and judge the answer.

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

use super::challenge::{self, BearerChallenge};
use super::metadata;
use super::{CheckPoint, CheckReport, Explanation, Finding};
use crate::clock::Clock;
use crate::crypto::keys::{self, JwtType, KeySet};
use crate::domain::Resource;
use crate::fetch::{FetchError, Fetcher};
use crate::oauth::access_token::AccessTokenClaims;
use crate::settings::Settings;

/// `sub` and `client_id` of every token the check mints.
pub const CHECK_CLIENT: &str = "warden-resource-check";
/// Seconds a check token lives: long enough for one request, useless soon after.
const CHECK_TOKEN_TTL: i64 = 5;
/// How long ago the expired token expired: past any clock-skew leeway a server might
/// allow (five minutes is a common default).
const EXPIRED_AGO: i64 = 600;
/// The audience of the wrong-audience token: no resource anyone registers.
const OTHER_AUDIENCE: &str = "https://another-resource.invalid/mcp";
/// The largest metadata document read.
const MAX_METADATA_BYTES: usize = 64 * 1024;
const INITIALIZE: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","#,
    r#""capabilities":{},"clientInfo":{"name":"warden-resource-check","version":""#,
    env!("CARGO_PKG_VERSION"),
    r#""}}}"#
);

/// What the check needs from Warden: its settings, keys, fetcher and clock.
pub struct Prober<'a> {
    pub settings: &'a Settings,
    pub keys: &'a KeySet,
    pub fetcher: &'a Fetcher,
    pub clock: &'a dyn Clock,
}

/// How the server answered one request.
enum Reply {
    Answered { status: u16, headers: HeaderMap },
    Redirect { status: u16, location: String },
    Refused(String),
    Unreachable(String),
}

impl Reply {
    fn challenge(&self) -> Option<BearerChallenge> {
        match self {
            Reply::Answered { headers, .. } => challenge::bearer(
                headers
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            ),
            _ => None,
        }
    }
}

/// Runs every point against `resource`. Errors are Warden's own (no signing key); whatever
/// the server does becomes a finding.
pub async fn run(p: &Prober<'_>, resource: &Resource) -> anyhow::Result<CheckReport> {
    let started = p.clock.now();
    let mut findings = Vec::new();
    let reply = p.initialize(&resource.uri, None).await;
    let (first, metadata_url) = judge_challenge(&reply, resource, p.settings);
    findings.push(first);
    if !matches!(reply, Reply::Answered { .. }) {
        for point in [
            CheckPoint::Metadata,
            CheckPoint::Audience,
            CheckPoint::Expired,
            CheckPoint::UnknownKey,
            CheckPoint::Typ,
            CheckPoint::ValidToken,
            CheckPoint::InsufficientScope,
        ] {
            findings.push(Finding::skip(
                point,
                "not run: the server did not answer the first request",
            ));
        }
        return Ok(CheckReport::new(
            resource.id.clone(),
            resource.uri.clone(),
            started,
            findings,
        ));
    }
    findings.push(p.metadata(resource, metadata_url).await);

    let token = p.sign(&p.claims(OTHER_AUDIENCE, default_scope(resource)))?;
    findings.push(judge_refusal(
        CheckPoint::Audience,
        p.initialize(&resource.uri, Some(&token)).await,
        accepted_other_audience(resource),
    ));

    let now = p.clock.now();
    let mut expired = p.claims(&resource.uri, default_scope(resource));
    expired.iat = now - EXPIRED_AGO - CHECK_TOKEN_TTL;
    expired.exp = now - EXPIRED_AGO;
    let token = p.sign(&expired)?;
    findings.push(judge_refusal(
        CheckPoint::Expired,
        p.initialize(&resource.uri, Some(&token)).await,
        accepted_expired(),
    ));

    let claims = p.claims(&resource.uri, default_scope(resource));
    let alg = p.alg()?;
    let token =
        tokio::task::spawn_blocking(move || keys::sign_with_unknown_key(alg, &claims)).await??;
    findings.push(judge_refusal(
        CheckPoint::UnknownKey,
        p.initialize(&resource.uri, Some(&token)).await,
        accepted_unknown_key(p.settings),
    ));

    let claims = p.claims(&resource.uri, default_scope(resource));
    let token = p
        .keys
        .sign_with_foreign_typ(p.clock.now(), "JWT", &claims)?;
    findings.push(judge_refusal(
        CheckPoint::Typ,
        p.initialize(&resource.uri, Some(&token)).await,
        accepted_wrong_typ(),
    ));

    let token = p.sign(&p.claims(&resource.uri, default_scope(resource)))?;
    let reply = p.initialize(&resource.uri, Some(&token)).await;
    let valid = judge_valid(&reply, resource, p.settings, p.alg()?.as_str());
    let accepted = valid.verdict == super::Verdict::Pass;
    findings.push(valid);
    p.end_session(&resource.uri, &token, &reply).await;

    findings.push(if accepted {
        let token = p.sign(&p.claims(&resource.uri, String::new()))?;
        let reply = p.initialize(&resource.uri, Some(&token)).await;
        p.end_session(&resource.uri, &token, &reply).await;
        judge_scope(&reply)
    } else {
        Finding::skip(
            CheckPoint::InsufficientScope,
            "not run: a valid token was not accepted",
        )
    });
    Ok(CheckReport::new(
        resource.id.clone(),
        resource.uri.clone(),
        started,
        findings,
    ))
}

/// The scopes a client gets when it asks for none; all accepted ones if there are no
/// defaults, so the valid token is one a real client could hold.
fn default_scope(resource: &Resource) -> String {
    if resource.default_scopes.is_empty() {
        resource.scopes.to_scope_string()
    } else {
        resource.default_scopes.to_scope_string()
    }
}

impl Prober<'_> {
    /// A token's claims: valid for `CHECK_TOKEN_TTL` seconds. Its `gid` is a fresh random
    /// id that is no grant, so introspection reports it inactive.
    fn claims(&self, aud: &str, scope: String) -> AccessTokenClaims {
        let now = self.clock.now();
        AccessTokenClaims {
            iss: self.settings.issuer.as_str().to_owned(),
            sub: CHECK_CLIENT.into(),
            aud: aud.to_owned(),
            client_id: CHECK_CLIENT.into(),
            scope,
            iat: now,
            exp: now + CHECK_TOKEN_TTL,
            jti: uuid::Uuid::new_v4().to_string(),
            gid: uuid::Uuid::new_v4().to_string(),
            act: None,
            may_act: None,
        }
    }

    fn sign(&self, claims: &AccessTokenClaims) -> anyhow::Result<String> {
        self.keys
            .sign(self.clock.now(), JwtType::AccessToken, claims)
    }

    fn alg(&self) -> anyhow::Result<keys::SigningAlg> {
        self.keys
            .signing_key(self.clock.now())
            .map(|k| k.alg)
            .ok_or_else(|| anyhow::anyhow!("no active signing key"))
    }

    /// POSTs an MCP `initialize`, as a client's first request (MCP Streamable HTTP).
    async fn initialize(&self, uri: &str, token: Option<&str>) -> Reply {
        let Ok(url) = Url::parse(uri) else {
            return Reply::Refused(format!("{uri:?} is not a URL"));
        };
        let mut request = reqwest::Request::new(reqwest::Method::POST, url);
        let headers = request.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        if let Some(token) = token
            && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
        {
            headers.insert("authorization", value);
        }
        *request.body_mut() = Some(INITIALIZE.into());
        reply(self.fetcher.send_for_headers(request).await)
    }

    /// Ends the MCP session an accepted `initialize` opened, so checks leave nothing behind.
    async fn end_session(&self, uri: &str, token: &str, reply: &Reply) {
        let Reply::Answered { headers, .. } = reply else {
            return;
        };
        let (Some(session), Ok(url)) = (headers.get("mcp-session-id"), Url::parse(uri)) else {
            return;
        };
        let mut request = reqwest::Request::new(reqwest::Method::DELETE, url);
        request
            .headers_mut()
            .insert("mcp-session-id", session.clone());
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            request.headers_mut().insert("authorization", value);
        }
        // Best effort: a server that keeps the session only wastes its own memory.
        let _ = self.fetcher.send_for_headers(request).await;
    }

    /// Point 2: fetch the metadata the challenge named, or where RFC 9728 §3.1 puts it.
    async fn metadata(&self, resource: &Resource, named: Option<String>) -> Finding {
        let point = CheckPoint::Metadata;
        let from_challenge = named.is_some();
        let candidates = named
            .map(|u| vec![u])
            .unwrap_or_else(|| metadata::well_known_urls(&resource.uri));
        let mut tried = Vec::new();
        for url in &candidates {
            let Ok(parsed) = Url::parse(url) else {
                tried.push(format!("{url} is not a URL"));
                continue;
            };
            let request = reqwest::Request::new(reqwest::Method::GET, parsed);
            match self.fetcher.send(request, MAX_METADATA_BYTES).await {
                Ok(r) if r.status == 200 => {
                    let Ok(document) = serde_json::from_slice::<serde_json::Value>(&r.body) else {
                        return Finding::fail(
                            point,
                            format!("the metadata at {url} is not JSON"),
                            Explanation {
                                wrong: "clients parse the protected resource metadata as JSON (RFC 9728 §3.2) and stop when they cannot.".into(),
                                cause: "the URL serves an HTML page or an error page instead of the document.".into(),
                                fix: format!("serve the JSON document at {url} with Content-Type application/json."),
                            },
                        );
                    };
                    let mut finding =
                        metadata::judge(&document, url, resource, self.settings.issuer.as_str());
                    if !from_challenge && finding.verdict == super::Verdict::Pass {
                        finding.summary.push_str(
                            " (found at the well-known URL: the challenge named no document)",
                        );
                    }
                    return finding;
                }
                Ok(r) if (300..400).contains(&r.status) => {
                    return redirect_failure(point, url, r.status, &location(&r.headers));
                }
                Ok(r) => tried.push(format!("{url} answered {}", r.status)),
                Err(e) => tried.push(format!("{url}: {e}")),
            }
        }
        Finding::fail(
            point,
            format!(
                "no protected resource metadata could be read ({})",
                tried.join("; ")
            ),
            Explanation {
                wrong: "clients read this document (RFC 9728) to learn which authorization server issues tokens for the server; without it they cannot start.".into(),
                cause: if from_challenge {
                    "the challenge's resource_metadata URL points to a path the server does not serve, or the server is not reachable at it.".into()
                } else {
                    "the server serves no metadata at the well-known URL and names none in its challenge.".into()
                },
                fix: format!(
                    "serve the document at {} (or point resource_metadata at Warden's hosted copy, {}).",
                    metadata::well_known_urls(&resource.uri).first().cloned().unwrap_or_default(),
                    hosted_metadata(self.settings, resource)
                ),
            },
        )
    }
}

fn hosted_metadata(settings: &Settings, resource: &Resource) -> String {
    settings.issuer.endpoint(&format!(
        "{}/{}",
        crate::oauth::metadata::paths::RESOURCE_METADATA,
        resource.id
    ))
}

fn reply(result: Result<crate::fetch::Fetched, FetchError>) -> Reply {
    match result {
        Ok(r) if (300..400).contains(&r.status) => Reply::Redirect {
            status: r.status,
            location: location(&r.headers),
        },
        Ok(r) => Reply::Answered {
            status: r.status,
            headers: r.headers,
        },
        Err(FetchError::Refused(m)) => Reply::Refused(m),
        Err(FetchError::Failed(m)) => Reply::Unreachable(m),
    }
}

fn location(headers: &HeaderMap) -> String {
    headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(no Location header)")
        .to_owned()
}

fn redirect_failure(point: CheckPoint, url: &str, status: u16, location: &str) -> Finding {
    Finding::fail(
        point,
        format!("{url} redirects ({status}) to {location}"),
        Explanation {
            wrong: "Warden never follows redirects, and MCP clients do not resend a POST with its token to another URL; a redirect also hides which URL tokens are meant for.".into(),
            cause: "the registered URL differs from where the server answers (a trailing slash, http instead of https, another path), or a login page sits in front of the server.".into(),
            fix: format!("register the URL the server really answers at (perhaps {location}), or make it answer at {url} without a redirect."),
        },
    )
}

/// Why nothing usable came back: the same words for every point.
fn no_answer(point: CheckPoint, uri: &str, reply: &Reply) -> Option<Finding> {
    match reply {
        Reply::Answered { .. } => None,
        Reply::Redirect { status, location } => {
            Some(redirect_failure(point, uri, *status, location))
        }
        Reply::Refused(m) => Some(Finding::fail(
            point,
            format!("Warden will not connect to {uri}: {m}"),
            Explanation {
                wrong: "Warden only connects to public https addresses, so that nobody can aim it at internal services (server-side request forgery).".into(),
                cause: "the resource is registered with plain http, a loopback or a private address.".into(),
                fix: "register the server's public https URL; for a server on this machine during development only, run Warden (or this command) with WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1.".into(),
            },
        )),
        Reply::Unreachable(m) => Some(Finding::fail(
            point,
            format!("no answer from {uri}: {m}"),
            Explanation {
                wrong: "Warden could not reach the MCP server, so clients probably cannot either.".into(),
                cause: "the server is not running, listens on another host, port or path, is too slow (5 s limit) or a firewall blocks Warden.".into(),
                fix: "start the server and make sure the registered URI is where it listens, reachable from Warden.".into(),
            },
        )),
    }
}

/// Point 1: 401 with `WWW-Authenticate: Bearer … resource_metadata="…"`. Returns the
/// metadata URL the challenge names, if any.
fn judge_challenge(
    reply: &Reply,
    resource: &Resource,
    settings: &Settings,
) -> (Finding, Option<String>) {
    let point = CheckPoint::Challenge;
    if let Some(f) = no_answer(point, &resource.uri, reply) {
        return (f, None);
    }
    let Reply::Answered { status, .. } = reply else {
        return (Finding::skip(point, "no answer"), None);
    };
    let example = format!(
        "WWW-Authenticate: Bearer resource_metadata=\"{}\"",
        hosted_metadata(settings, resource)
    );
    if *status != 401 {
        let unprotected = (200..300).contains(status);
        return (
            Finding::fail(
                point,
                format!("an initialize request without a token answered {status}, not 401"),
                Explanation {
                    wrong: if unprotected {
                        "the server serves MCP requests without any token: it is not protected.".into()
                    } else {
                        "MCP clients start authorization only when the server answers 401 (RFC 6750 §3, MCP authorization spec).".into()
                    },
                    cause: "the token check is not in front of the MCP endpoint (it guards other paths only, or is switched off).".into(),
                    fix: format!("answer every MCP request without a valid token with 401 and {example}."),
                },
            ),
            None,
        );
    }
    let Some(bearer) = reply.challenge() else {
        return (
            Finding::fail(
                point,
                "401 without a WWW-Authenticate: Bearer challenge",
                Explanation {
                    wrong: "RFC 6750 §3 requires a WWW-Authenticate: Bearer header with a 401; clients use it to learn that OAuth is expected and where its metadata is.".into(),
                    cause: "the server or a proxy in front of it drops the header, or the server answers a bare 401.".into(),
                    fix: format!("send {example} with every 401."),
                },
            ),
            None,
        );
    };
    let Some(url) = bearer.param("resource_metadata").map(str::to_owned) else {
        return (
            Finding::fail(
                point,
                "the Bearer challenge has no resource_metadata",
                Explanation {
                    wrong: "MCP clients find the authorization server through the challenge's resource_metadata URL (RFC 9728 §5.1); without it some clients stop and others have to guess a well-known URL.".into(),
                    cause: "the server's auth middleware was set up without its protected-resource-metadata option.".into(),
                    fix: format!("add resource_metadata to the challenge: {example} (Warden hosts that document), or your server's own /.well-known/oauth-protected-resource URL."),
                },
            ),
            None,
        );
    };
    if Url::parse(&url).is_err() {
        return (
            Finding::fail(
                point,
                format!("resource_metadata {url:?} is not an absolute URL"),
                Explanation {
                    wrong: "clients fetch resource_metadata as given: it must be an absolute https URL (RFC 9728 §5.1).".into(),
                    cause: "the server writes a relative path or an unquoted value.".into(),
                    fix: format!("send {example}."),
                },
            ),
            None,
        );
    }
    (
        Finding::pass(
            point,
            format!("401 with a Bearer challenge naming resource_metadata {url}"),
        ),
        Some(url),
    )
}

/// Points 3 and 4: a bad token must be refused with 401.
fn judge_refusal(point: CheckPoint, reply: Reply, accepted: Explanation) -> Finding {
    if let Some(f) = no_answer(point, "the server", &reply) {
        return f;
    }
    let Reply::Answered { status, .. } = reply else {
        return Finding::skip(point, "no answer");
    };
    match status {
        401 => Finding::pass(point, "refused with 401"),
        403 => Finding::warn(
            point,
            "refused, but with 403 instead of 401",
            Explanation {
                wrong: "RFC 6750 §3.1: a token that is invalid, expired or not for this server is invalid_token with 401; 403 means a valid token without enough scope, so clients ask for more scope instead of a new token.".into(),
                cause: "the server maps every authentication failure to 403.".into(),
                fix: "answer 401 with WWW-Authenticate: Bearer error=\"invalid_token\" for tokens that fail verification.".into(),
            },
        ),
        s if s >= 500 => Finding::fail(
            point,
            format!("answered {s} (a server error) instead of 401"),
            Explanation {
                wrong: "a bad token makes the server fail instead of refusing it; clients cannot tell that they need a new token.".into(),
                cause: "the verification error is not handled (an exception turns into a 500).".into(),
                fix: "catch verification errors and answer 401 with WWW-Authenticate: Bearer error=\"invalid_token\".".into(),
            },
        ),
        s => Finding::fail(point, format!("accepted: answered {s}, not 401"), accepted),
    }
}

fn accepted_other_audience(resource: &Resource) -> Explanation {
    Explanation {
        wrong: format!("the server accepted a token Warden issued for another resource ({OTHER_AUDIENCE}): anyone holding a token for any MCP server behind Warden can use this one (RFC 8707, RFC 9068 §4 require checking aud)."),
        cause: "the JWT verification does not check the audience (jsonwebtoken with validate_aud off, PyJWT with verify_aud=False, a verifier created without audience).".into(),
        fix: format!("refuse tokens whose aud is not exactly {}.", resource.uri),
    }
}

fn accepted_expired() -> Explanation {
    Explanation {
        wrong: format!("the server accepted a token that expired {} minutes ago: a stolen or revoked token works forever.", EXPIRED_AGO / 60),
        cause: "expiry is not checked (exp validation switched off) or the allowed clock skew is very large.".into(),
        fix: "refuse tokens whose exp is in the past, with at most a minute of leeway.".into(),
    }
}

fn accepted_unknown_key(settings: &Settings) -> Explanation {
    Explanation {
        wrong: "the server accepted a token signed by a key that is not in Warden's JWKS: anyone can forge tokens for it.".into(),
        cause: "the signature is not verified (decoded without verification, alg \"none\" allowed, or the key taken from the token's own header).".into(),
        fix: format!(
            "verify every token's signature with a key from {} chosen by its kid, and refuse unknown kids.",
            settings
                .issuer
                .endpoint(crate::oauth::metadata::paths::JWKS)
        ),
    }
}

fn accepted_wrong_typ() -> Explanation {
    Explanation {
        wrong: "the server accepted a JWT whose typ header is \"JWT\". RFC 9068 §4 requires resource servers to check that typ is \"at+jwt\", so that other JWTs signed by the same issuer (ID tokens, logout tokens, assertions) cannot be replayed as access tokens.".into(),
        cause: "the typ header is not checked; most JWT libraries and FastMCP's JWTVerifier do not check it unless told to.".into(),
        fix: "refuse tokens whose header typ is not \"at+jwt\" (or \"application/at+jwt\").".into(),
    }
}

/// Point 5: a valid token must get through.
fn judge_valid(reply: &Reply, resource: &Resource, settings: &Settings, alg: &str) -> Finding {
    let point = CheckPoint::ValidToken;
    if let Some(f) = no_answer(point, &resource.uri, reply) {
        return f;
    }
    let Reply::Answered { status, .. } = reply else {
        return Finding::skip(point, "no answer");
    };
    let said = reply
        .challenge()
        .and_then(|c| c.param("error_description").map(str::to_owned))
        .map(|d| format!(" (the server says: {d})"))
        .unwrap_or_default();
    let scope = default_scope(resource);
    match *status {
        s if (200..300).contains(&s) => Finding::pass(
            point,
            format!("a valid {alg} token with scope {scope:?} was accepted ({s})"),
        ),
        401 => Finding::fail(
            point,
            format!("a valid {alg} token for this resource was refused with 401{said}"),
            Explanation {
                wrong: "clients obtain a token from Warden and are still refused: they loop through authorization or give up with a bare 401.".into(),
                cause: format!(
                    "{}it expects another issuer than {:?} or another audience than {:?}, or its clock is wrong.",
                    if alg == "RS256" {
                        format!("the server may not accept {alg}, the algorithm Warden signs with (see its JWKS); or ")
                    } else {
                        format!("the server may accept only RS256 (FastMCP's JWTVerifier default) while Warden signs with {alg}, as its JWKS says; or ")
                    },
                    settings.issuer.as_str(),
                    resource.uri
                ),
                fix: format!(
                    "configure the verifier with algorithm {alg} (FastMCP: JWTVerifier(algorithm=\"{alg}\")), issuer {:?}, audience {:?} and Warden's JWKS {}.",
                    settings.issuer.as_str(),
                    resource.uri,
                    settings.issuer.endpoint(crate::oauth::metadata::paths::JWKS)
                ),
            },
        ),
        403 => Finding::fail(
            point,
            format!("a valid token with the default scopes {scope:?} was refused with 403{said}"),
            Explanation {
                wrong: "a client that asks for no particular scope gets the resource's default scopes, and the server refuses even to start a session with them.".into(),
                cause: "the server requires a scope for initialize that the registry does not grant by default.".into(),
                fix: "include the scope the server needs in the resource's default scopes in Warden, or require scopes per tool rather than for initialize.".into(),
            },
        ),
        s if s >= 500 => Finding::fail(
            point,
            format!("a valid token got {s} (a server error)"),
            Explanation {
                wrong: "the server fails on a request with a valid token.".into(),
                cause: "an error in the server after authentication (its logs say which).".into(),
                fix: "look at the MCP server's logs for this request.".into(),
            },
        ),
        s => Finding::pass(
            point,
            format!("a valid token was not refused (answered {s}; only 401 and 403 are refusals)"),
        ),
    }
}

/// Point 6 (a warning at most): a token without scope should get 403 `insufficient_scope`
/// naming the scope needed, so clients can step up (RFC 6750 §3.1).
fn judge_scope(reply: &Reply) -> Finding {
    let point = CheckPoint::InsufficientScope;
    let step_up = Explanation {
        wrong: "a token without the needed scope should get 403 with WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"…\", so that clients can ask the user for more (RFC 6750 §3.1, MCP scope step-up).".into(),
        cause: "the server checks no scope for this request, or reports a missing scope another way.".into(),
        fix: "check the scope each tool needs and answer 403 with error=\"insufficient_scope\" and the scope in the challenge.".into(),
    };
    let Reply::Answered { status, .. } = reply else {
        return Finding::skip(point, "not run: no answer");
    };
    let challenge = reply.challenge();
    let error = challenge.as_ref().and_then(|c| c.param("error"));
    let scope = challenge.as_ref().and_then(|c| c.param("scope"));
    match (*status, error, scope) {
        (403, Some("insufficient_scope"), Some(scope)) => Finding::pass(
            point,
            format!("a token without scope got 403 insufficient_scope asking for {scope:?}"),
        ),
        (s, _, _) if (200..300).contains(&s) => Finding::warn(
            point,
            format!("a token without any scope was accepted ({s}): scopes do not guard initialize"),
            step_up,
        ),
        (s, e, sc) => Finding::warn(
            point,
            format!(
                "a token without scope got {s} (error {}, scope {})",
                e.unwrap_or("absent"),
                sc.unwrap_or("absent")
            ),
            step_up,
        ),
    }
}

//! The probes themselves: mint each test token (RFC 9068 §2 claims, RFC 8707 audience) and
//! send the MCP `initialize` POST through the SSRF-safe fetcher; `judge` reads the answers.

use reqwest::header::HeaderValue;
use url::Url;

use super::judge::{
    EXPIRED_AGO, OTHER_AUDIENCE, Reply, accepted_expired, accepted_other_audience,
    accepted_unknown_key, accepted_wrong_typ, default_scope, hosted_metadata, judge_challenge,
    judge_dpop_as_bearer, judge_refusal, judge_scope, judge_valid, location, redirect_failure,
    reply,
};
use super::metadata;
use super::{CheckPoint, CheckReport, Explanation, Finding};
use crate::clock::Clock;
use crate::crypto::keys::{self, JwtType, KeySet};
use crate::crypto::random;
use crate::domain::Resource;
use crate::fetch::Fetcher;
use crate::oauth::access_token::{AccessTokenClaims, Confirmation};
use crate::settings::Settings;

/// `sub` and `client_id` of every token the check mints.
pub const CHECK_CLIENT: &str = "warden-resource-check";
/// Seconds a check token lives: long enough for one request, useless soon after.
const CHECK_TOKEN_TTL: i64 = 5;
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
            CheckPoint::DpopAsBearer,
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

    // The same valid token, but bound to a key the check does not even hold: only a server
    // that ignores `cnf` lets it through as a Bearer token.
    findings.push(if accepted {
        let mut bound = p.claims(&resource.uri, default_scope(resource));
        bound.cnf = Some(Confirmation {
            jkt: random::token(),
        });
        let token = p.sign(&bound)?;
        let reply = p.initialize(&resource.uri, Some(&token)).await;
        p.end_session(&resource.uri, &token, &reply).await;
        judge_dpop_as_bearer(reply, resource)
    } else {
        Finding::skip(
            CheckPoint::DpopAsBearer,
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
            cnf: None,
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
        reply(
            self.fetcher
                .send_for_headers(crate::fetch::FetchKind::ResourceCheck, request)
                .await,
        )
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
        let _ = self
            .fetcher
            .send_for_headers(crate::fetch::FetchKind::ResourceCheck, request)
            .await;
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
            match self
                .fetcher
                .send(
                    crate::fetch::FetchKind::ResourceCheck,
                    request,
                    MAX_METADATA_BYTES,
                )
                .await
            {
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

//! Judging the MCP server's answers: one `Finding` per point, each failure with what is
//! wrong, its likely cause and the fix. Pure functions over the status and headers.
//!
//! RFC 6750 §3 (401 with a `Bearer` challenge; §3.1 `invalid_token` is 401,
//! `insufficient_scope` 403), RFC 9728 §5.1 (`resource_metadata`), RFC 9068 §4 (what a
//! resource server must check), RFC 8707 §2 (the audience is the resource).

use reqwest::header::HeaderMap;
use url::Url;

use super::challenge::{self, BearerChallenge};
use super::{CheckPoint, Explanation, Finding};
use crate::domain::Resource;
use crate::fetch::FetchError;
use crate::settings::Settings;

/// How long ago the expired token expired: past any clock-skew leeway a server might
/// allow (five minutes is a common default).
pub(super) const EXPIRED_AGO: i64 = 600;
/// The audience of the wrong-audience token: no resource anyone registers.
pub(super) const OTHER_AUDIENCE: &str = "https://another-resource.invalid/mcp";

/// How the server answered one request.
pub(super) enum Reply {
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

/// The scopes a client gets when it asks for none; all accepted ones if there are no
/// defaults, so the valid token is one a real client could hold.
pub(super) fn default_scope(resource: &Resource) -> String {
    if resource.default_scopes.is_empty() {
        resource.scopes.to_scope_string()
    } else {
        resource.default_scopes.to_scope_string()
    }
}

pub(super) fn hosted_metadata(settings: &Settings, resource: &Resource) -> String {
    settings.issuer.endpoint(&format!(
        "{}/{}",
        crate::oauth::metadata::paths::RESOURCE_METADATA,
        resource.id
    ))
}

pub(super) fn reply(result: Result<crate::fetch::Fetched, FetchError>) -> Reply {
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
        Err(FetchError::Failed(_, m)) => Reply::Unreachable(m),
    }
}

pub(super) fn location(headers: &HeaderMap) -> String {
    headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(no Location header)")
        .to_owned()
}

pub(super) fn redirect_failure(
    point: CheckPoint,
    url: &str,
    status: u16,
    location: &str,
) -> Finding {
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
pub(super) fn no_answer(point: CheckPoint, uri: &str, reply: &Reply) -> Option<Finding> {
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
pub(super) fn judge_challenge(
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
pub(super) fn judge_refusal(point: CheckPoint, reply: Reply, accepted: Explanation) -> Finding {
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

pub(super) fn accepted_other_audience(resource: &Resource) -> Explanation {
    Explanation {
        wrong: format!("the server accepted a token Warden issued for another resource ({OTHER_AUDIENCE}): anyone holding a token for any MCP server behind Warden can use this one (RFC 8707, RFC 9068 §4 require checking aud)."),
        cause: "the JWT verification does not check the audience (jsonwebtoken with validate_aud off, PyJWT with verify_aud=False, a verifier created without audience).".into(),
        fix: format!("refuse tokens whose aud is not exactly {}.", resource.uri),
    }
}

pub(super) fn accepted_expired() -> Explanation {
    Explanation {
        wrong: format!("the server accepted a token that expired {} minutes ago: a stolen or revoked token works forever.", EXPIRED_AGO / 60),
        cause: "expiry is not checked (exp validation switched off) or the allowed clock skew is very large.".into(),
        fix: "refuse tokens whose exp is in the past, with at most a minute of leeway.".into(),
    }
}

pub(super) fn accepted_unknown_key(settings: &Settings) -> Explanation {
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

pub(super) fn accepted_wrong_typ() -> Explanation {
    Explanation {
        wrong: "the server accepted a JWT whose typ header is \"JWT\". RFC 9068 §4 requires resource servers to check that typ is \"at+jwt\", so that other JWTs signed by the same issuer (ID tokens, logout tokens, assertions) cannot be replayed as access tokens.".into(),
        cause: "the typ header is not checked; most JWT libraries and FastMCP's JWTVerifier do not check it unless told to.".into(),
        fix: "refuse tokens whose header typ is not \"at+jwt\" (or \"application/at+jwt\").".into(),
    }
}

/// Point 5: a valid token must get through.
pub(super) fn judge_valid(
    reply: &Reply,
    resource: &Resource,
    settings: &Settings,
    alg: &str,
) -> Finding {
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

/// Point 7: a DPoP-bound token presented as `Bearer` must be refused (RFC 9449 §7.1). Failing
/// that is a failure when the resource requires DPoP, since then every token of it is bound
/// and the binding is its only protection; a warning otherwise.
pub(super) fn judge_dpop_as_bearer(reply: Reply, resource: &Resource) -> Finding {
    let point = CheckPoint::DpopAsBearer;
    let explanation = || {
        Explanation {
        wrong: "the server accepted a DPoP-bound token (it carries cnf.jkt) sent as a plain Bearer token: whoever steals such a token can use it without the client's key, which is the theft DPoP exists to stop (RFC 9449 §7.1).".into(),
        cause: "the server verifies the JWT but ignores its cnf claim, as servers written for bearer tokens only do.".into(),
        fix: "refuse with 401 every token that has a cnf claim unless it comes as Authorization: DPoP with a valid proof of that key (RFC 9449 §7); a server that supports no DPoP refuses every token with cnf.".into(),
    }
    };
    match judge_refusal(point, reply, explanation()) {
        f if f.verdict == super::Verdict::Fail
            && !resource.require_dpop
            && f.summary.starts_with("accepted") =>
        {
            Finding::warn(
                point,
                format!(
                    "{} (the resource does not require DPoP, but Warden binds the tokens of clients that send a proof)",
                    f.summary
                ),
                explanation(),
            )
        }
        f => f,
    }
}

/// Point 6 (a warning at most): a token without scope should get 403 `insufficient_scope`
/// naming the scope needed, so clients can step up (RFC 6750 §3.1).
pub(super) fn judge_scope(reply: &Reply) -> Finding {
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
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::oauth::resource_check::Verdict;

    fn answered(status: u16, challenge: Option<&str>) -> Reply {
        let mut headers = HeaderMap::new();
        if let Some(c) = challenge {
            headers.insert("www-authenticate", HeaderValue::from_str(c).unwrap());
        }
        Reply::Answered { status, headers }
    }

    fn refusal(reply: Reply) -> (Verdict, String) {
        let f = judge_refusal(CheckPoint::Typ, reply, accepted_wrong_typ());
        (f.verdict, f.summary)
    }

    #[test]
    fn a_bad_token_passes_only_with_401_and_403_is_a_warning() {
        assert_eq!(refusal(answered(401, None)).0, Verdict::Pass);
        assert_eq!(refusal(answered(403, None)).0, Verdict::Warn);
        let (v, s) = refusal(answered(200, None));
        assert_eq!(
            (v, s.as_str()),
            (Verdict::Fail, "accepted: answered 200, not 401")
        );
        let (v, s) = refusal(answered(400, None));
        assert_eq!(
            (v, s.as_str()),
            (Verdict::Fail, "accepted: answered 400, not 401")
        );
        let (v, s) = refusal(answered(502, None));
        assert_eq!(v, Verdict::Fail);
        assert!(s.contains("server error"), "{s}");
        let (v, s) = refusal(Reply::Redirect {
            status: 307,
            location: "https://x.example/login".into(),
        });
        assert_eq!(v, Verdict::Fail);
        assert!(
            s.contains("redirects (307) to https://x.example/login"),
            "{s}"
        );
    }

    #[test]
    fn a_missing_scope_is_a_pass_only_with_403_insufficient_scope_and_a_scope() {
        let ok = answered(
            403,
            Some(r#"Bearer error="insufficient_scope", scope="mcp:read""#),
        );
        assert_eq!(judge_scope(&ok).verdict, Verdict::Pass);
        for reply in [
            answered(403, Some(r#"Bearer error="insufficient_scope""#)),
            answered(403, None),
            answered(401, Some(r#"Bearer error="invalid_token""#)),
            answered(200, None),
        ] {
            assert_eq!(judge_scope(&reply).verdict, Verdict::Warn);
        }
    }
}

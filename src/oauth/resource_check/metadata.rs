//! Judging an MCP server's protected resource metadata (RFC 9728 §2, §3.3) against the
//! registry: `resource` names this resource, `authorization_servers` lists Warden's issuer
//! exactly (clients compare issuers as strings, RFC 8414 §3.3), `scopes_supported` agrees.

use serde_json::Value;
use url::Url;

use super::{CheckPoint, Explanation, Finding};
use crate::domain::Resource;
use crate::oauth::resource::canonicalize;

/// RFC 9728 §3.1: where a client looks when the challenge names no document: the
/// well-known path inserted between host and path, then (for a resource with a path) the
/// root document that MCP clients also try.
pub fn well_known_urls(resource: &str) -> Vec<String> {
    let Ok(url) = Url::parse(resource) else {
        return Vec::new();
    };
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let mut urls = vec![format!(
        "{origin}/.well-known/oauth-protected-resource{path}"
    )];
    if !path.is_empty() {
        urls.push(format!("{origin}/.well-known/oauth-protected-resource"));
    }
    urls
}

/// The finding of point 2 for the document fetched from `url`.
pub fn judge(document: &Value, url: &str, resource: &Resource, issuer: &str) -> Finding {
    let point = CheckPoint::Metadata;
    let Some(named) = document.get("resource").and_then(Value::as_str) else {
        return Finding::fail(
            point,
            format!("the metadata at {url} has no \"resource\" member"),
            Explanation {
                wrong: "RFC 9728 §2 requires \"resource\": clients check it names the server they called, and stop when it is missing.".into(),
                cause: "the document is not protected resource metadata (perhaps another JSON document at that URL).".into(),
                fix: format!("serve {{\"resource\": \"{}\", \"authorization_servers\": [\"{issuer}\"], ...}} at {url}.", resource.uri),
            },
        );
    };
    if named != resource.uri && canonicalize(named).ok().as_deref() != Some(&resource.uri) {
        return Finding::fail(
            point,
            format!("the metadata names resource {named:?}, not {:?}", resource.uri),
            Explanation {
                wrong: "RFC 9728 §3.3: a client must stop when the metadata names another resource than the one it called, and tokens are issued for the registered URI only (RFC 8707).".into(),
                cause: "the MCP server is configured with another public URL than the one registered in Warden (a different host, port or path).".into(),
                fix: format!("make the two agree: set the server's resource URL to {}, or register the resource in Warden under {named}.", resource.uri),
            },
        );
    }
    let servers: Vec<&str> = document
        .get("authorization_servers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !servers.contains(&issuer) {
        let slashed = servers
            .iter()
            .find(|s| s.trim_end_matches('/') == issuer.trim_end_matches('/'));
        return Finding::fail(
            point,
            match slashed {
                Some(s) => format!(
                    "authorization_servers lists {s:?}, which differs from Warden's issuer {issuer:?} only by a trailing slash"
                ),
                None => format!(
                    "authorization_servers is {servers:?} and does not list Warden's issuer {issuer:?}"
                ),
            },
            match slashed {
                // WARDEN_ISSUER_TRAILING_SLASH is on and the server writes the issuer
                // without it.
                Some(_) if issuer.ends_with('/') => Explanation {
                    wrong: "clients compare the issuer as an exact string (RFC 8414 §3.3): Warden's issuer ends with a slash, the server's entry does not, so the official Python SDK stops with \"Authorization server metadata issuer mismatch\".".into(),
                    cause: "Warden runs with WARDEN_ISSUER_TRAILING_SLASH=1 (for servers whose URL type adds the slash), and this server writes the issuer as configured, without it.".into(),
                    fix: format!("list exactly \"{issuer}\" in authorization_servers, or turn WARDEN_ISSUER_TRAILING_SLASH off if no server behind Warden needs it."),
                },
                Some(_) => Explanation {
                    wrong: "clients compare the issuer as an exact string (RFC 8414 §3.3): the official Python SDK stops with \"Authorization server metadata issuer mismatch\", while the TypeScript SDK gets through, so the server works with one client and not another.".into(),
                    cause: "FastMCP's RemoteAuthProvider builds this entry with pydantic's AnyHttpUrl, which adds a \"/\" to a URL without a path.".into(),
                    fix: "give Warden an issuer with a path (e.g. https://auth.example.com/warden), which AnyHttpUrl leaves alone, or set WARDEN_ISSUER_TRAILING_SLASH=1 so Warden's issuer ends with the slash too; or build the document without AnyHttpUrl.".into(),
                },
                None => Explanation {
                    wrong: "clients discover where to get tokens from authorization_servers; without Warden's issuer they go elsewhere or stop.".into(),
                    cause: "the MCP server is configured with another authorization server URL (an old one, or Warden's address as seen from inside a network rather than its public issuer).".into(),
                    fix: format!("list exactly \"{issuer}\" (Warden's WARDEN_ISSUER) in authorization_servers."),
                },
            },
        );
    }
    if let Some(listed) = document.get("scopes_supported") {
        let listed: Vec<&str> = listed
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let missing: Vec<&str> = resource
            .scopes
            .iter()
            .filter(|s| !listed.contains(s))
            .collect();
        let extra: Vec<&str> = listed
            .iter()
            .copied()
            .filter(|s| !resource.scopes.contains(s))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Finding::fail(
                point,
                format!(
                    "scopes_supported differs from the registry: missing {missing:?}, not registered {extra:?}"
                ),
                Explanation {
                    wrong: "clients ask for the scopes the metadata lists; Warden refuses scopes the resource does not accept, and users never get the ones left out.".into(),
                    cause: "scopes were added or renamed on one side only.".into(),
                    fix: format!(
                        "list exactly the registered scopes ({}) in scopes_supported, or change the resource's scopes in Warden.",
                        resource.scopes.to_scope_string()
                    ),
                },
            );
        }
    }
    Finding::pass(
        point,
        format!("{url} names this resource and lists Warden's issuer"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::ScopeSet;
    use crate::oauth::resource_check::Verdict;

    fn resource() -> Resource {
        Resource {
            id: "r".into(),
            uri: "https://mcp.example.com/mcp".into(),
            name: "n".into(),
            description: String::new(),
            scopes: ScopeSet::from_stored("mcp:read mcp:write"),
            default_scopes: ScopeSet::from_stored("mcp:read"),
            access_token_ttl: None,
            allowed_clients: None,
            enabled: true,
            builtin: false,
            require_dpop: false,
            created_at: 0,
            updated_at: 0,
            last_check: None,
        }
    }

    const ISSUER: &str = "https://auth.example.com";

    fn verdict(doc: Value) -> (Verdict, String) {
        let f = judge(&doc, "https://x/prm", &resource(), ISSUER);
        (f.verdict, f.summary)
    }

    #[test]
    fn well_known_urls_insert_the_path_then_fall_back_to_the_root() {
        assert_eq!(
            well_known_urls("https://mcp.example.com/mcp"),
            [
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            well_known_urls("http://127.0.0.1:9000"),
            ["http://127.0.0.1:9000/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn a_matching_document_passes_and_each_difference_fails_with_its_reason() {
        let good = json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": [ISSUER], "scopes_supported": ["mcp:write", "mcp:read"]});
        assert_eq!(verdict(good).0, Verdict::Pass);
        let no_scopes = json!({"resource": "https://MCP.example.com/mcp", "authorization_servers": ["https://other", ISSUER]});
        assert_eq!(verdict(no_scopes).0, Verdict::Pass);
        let (v, s) = verdict(
            json!({"resource": "https://mcp.example.com/other", "authorization_servers": [ISSUER]}),
        );
        assert_eq!(v, Verdict::Fail);
        assert!(s.contains("/other"), "{s}");
        let (v, s) = verdict(
            json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": ["https://auth.example.com/"]}),
        );
        assert_eq!(v, Verdict::Fail);
        assert!(s.contains("only by a trailing slash"), "{s}");
        let (v, s) = verdict(
            json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": ["https://elsewhere"]}),
        );
        assert_eq!(v, Verdict::Fail);
        assert!(s.contains("does not list"), "{s}");
        let (v, s) = verdict(
            json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": [ISSUER], "scopes_supported": ["mcp:read", "admin"]}),
        );
        assert_eq!(v, Verdict::Fail);
        assert!(s.contains("mcp:write") && s.contains("admin"), "{s}");
        assert_eq!(verdict(json!([])).0, Verdict::Fail);
    }

    #[test]
    fn the_trailing_slash_failure_names_fastmcp_and_the_setting() {
        let f = judge(
            &json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": ["https://auth.example.com/"]}),
            "u",
            &resource(),
            ISSUER,
        );
        let e = f.explanation.unwrap();
        assert!(e.cause.contains("FastMCP") && e.cause.contains("AnyHttpUrl"));
        assert!(e.fix.contains("WARDEN_ISSUER_TRAILING_SLASH=1"));
        let f = judge(
            &json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": [ISSUER]}),
            "u",
            &resource(),
            "https://auth.example.com/",
        );
        let e = f.explanation.unwrap();
        assert!(
            e.cause.contains("WARDEN_ISSUER_TRAILING_SLASH=1 (for"),
            "{e:?}"
        );
    }
}

//! Resource indicators (RFC 8707 §2) and their canonical form.
//!
//! A resource is an absolute URI without a fragment. We store and compare a canonical form
//! (lowercase scheme and host, default port removed, a lone `/` path equal to no path),
//! because MCP clients send `https://host/` for a server registered as `https://host`.

use url::Url;

/// The longest resource URI we accept.
pub const MAX_RESOURCE_LEN: usize = 2048;

/// Returns the canonical form of `value`, or why it is not a usable resource indicator.
pub fn canonicalize(value: &str) -> Result<String, String> {
    if value.len() > MAX_RESOURCE_LEN {
        return Err(format!(
            "a resource URI must be at most {MAX_RESOURCE_LEN} characters"
        ));
    }
    // Messages reach error pages: they repeat only an excerpt of the value.
    let quoted = || crate::oauth::params::excerpt(value);
    let url =
        Url::parse(value).map_err(|e| format!("{} is not an absolute URI ({e})", quoted()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("{} must be an http(s) URI", quoted()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{} has no host", quoted()));
    }
    if url.fragment().is_some() || value.contains('#') {
        return Err(format!(
            "{} must not contain a fragment (RFC 8707 §2)",
            quoted()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{} must not contain credentials", quoted()));
    }
    let mut canonical = url.to_string();
    if url.path() == "/" && url.query().is_none() {
        canonical.pop();
    }
    Ok(canonical)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_match_what_clients_send() {
        assert_eq!(
            canonicalize("HTTPS://MCP.Example.COM/").unwrap(),
            "https://mcp.example.com"
        );
        assert_eq!(
            canonicalize("https://mcp.example.com:443").unwrap(),
            "https://mcp.example.com"
        );
        assert_eq!(
            canonicalize("http://localhost:80/mcp").unwrap(),
            "http://localhost/mcp"
        );
        assert_eq!(
            canonicalize("https://mcp.example.com/MCP").unwrap(),
            "https://mcp.example.com/MCP"
        );
        assert_eq!(
            canonicalize("https://h:8443/a/").unwrap(),
            "https://h:8443/a/"
        );
    }

    #[test]
    fn relative_fragment_and_odd_uris_are_rejected() {
        for bad in [
            "/mcp",
            "mcp.example.com",
            "https://mcp.example.com/#frag",
            "https://mcp.example.com#",
            "ftp://mcp.example.com",
            "https://user:pw@mcp.example.com",
            "urn:example:thing",
        ] {
            assert!(canonicalize(bad).is_err(), "{bad}");
        }
    }
}

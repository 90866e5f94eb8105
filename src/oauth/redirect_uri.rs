//! Redirect URI matching (OAuth 2.1 §4.1.1, RFC 8252 §7.3): exact string comparison with
//! the registered URIs; the one exception is a loopback redirect (127.0.0.1, [::1] or
//! localhost over http), whose port may differ because native apps pick a free port.

use url::{Host, Url};

fn loopback(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d == "localhost",
            None => false,
        }
}

/// Is `uri` a loopback redirect (RFC 8252 §7.3)?
pub fn is_loopback(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| loopback(&u))
}

/// Does `uri` return to a native app (RFC 8252 §7.1, §7.3): a loopback address or a
/// private-use URI scheme? Any program on the device can listen there, so the redirect
/// proves nothing about who receives the code (§8.6).
pub fn is_native(uri: &str) -> bool {
    match Url::parse(uri) {
        // https to this machine is on the device as well, even if no port may change.
        Ok(u) => {
            !matches!(u.scheme(), "http" | "https")
                || match u.host() {
                    Some(Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(Host::Domain(d)) => d == "localhost",
                    None => true,
                }
        }
        // Not a URL at all: never treat it as one a website has claimed.
        Err(_) => true,
    }
}

/// The registered URI that `requested` matches, if any.
pub fn find_match<'a>(requested: &str, registered: &'a [String]) -> Option<&'a String> {
    if let Some(exact) = registered.iter().find(|r| *r == requested) {
        return Some(exact);
    }
    let wanted = Url::parse(requested).ok().filter(loopback)?;
    if requested.contains('#') {
        return None;
    }
    registered.iter().find(|candidate| {
        let Ok(c) = Url::parse(candidate) else {
            return false;
        };
        loopback(&c)
            && c.username().is_empty()
            && wanted.username().is_empty()
            && strip_port(candidate) == strip_port(requested)
    })
}

/// The URI with the port removed from its authority, compared as raw text so that case,
/// trailing slashes and queries must still agree byte for byte.
fn strip_port(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return uri.to_owned();
    };
    let rest = &uri[scheme_end..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host = match authority.rfind(':') {
        Some(colon)
            if !authority[colon..].contains(']')
                && authority[colon + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            &authority[..colon]
        }
        _ => authority,
    };
    format!("{}{}{}", &uri[..scheme_end], host, &rest[authority_len..])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn reg(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_exact_matches_count() {
        let r = reg(&["https://app.example.com/cb"]);
        assert!(find_match("https://app.example.com/cb", &r).is_some());
        for near in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "https://app.example.com/cb?x=1",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb#f",
            "http://app.example.com/cb",
        ] {
            assert!(find_match(near, &r).is_none(), "{near}");
        }
    }

    #[test]
    fn native_redirects_are_loopback_or_private_use_schemes() {
        for native in [
            "http://127.0.0.1:9999/cb",
            "http://[::1]/cb",
            "http://localhost:1234/cb",
            "com.example.app:/oauth",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "https://127.0.0.1/cb",
        ] {
            assert!(is_native(native), "{native}");
        }
        for web in ["https://app.example.com/cb", "http://app.example.com/cb"] {
            assert!(!is_native(web), "{web}");
        }
        assert!(is_loopback("http://127.0.0.1:1/cb"));
        assert!(!is_loopback("com.example.app:/oauth"));
    }

    #[test]
    fn loopback_redirects_may_change_port_only() {
        let r = reg(&[
            "http://127.0.0.1:3000/callback",
            "http://localhost/cb",
            "http://[::1]:1/x",
        ]);
        assert!(find_match("http://127.0.0.1:51234/callback", &r).is_some());
        assert!(find_match("http://127.0.0.1/callback", &r).is_some());
        assert!(find_match("http://localhost:8765/cb", &r).is_some());
        assert!(find_match("http://[::1]:9/x", &r).is_some());
        assert!(find_match("http://127.0.0.1:51234/callback/", &r).is_none());
        assert!(find_match("http://127.0.0.1:51234/other", &r).is_none());
        assert!(find_match("http://127.0.0.1:5/callback?q", &r).is_none());
        assert!(
            find_match("http://localhost:1/callback", &r).is_none(),
            "host must match too"
        );
        assert!(find_match("https://127.0.0.1:5/callback", &r).is_none());
    }
}

//! Redirect URIs: which may be registered (OAuth 2.1 §2.3.1, RFC 8252 §7), and how a
//! requested one matches (OAuth 2.1 §4.1.1, RFC 8252 §7.3): exact string comparison with
//! the registered URIs; the one exception is a loopback redirect (127.0.0.1, [::1] or
//! localhost over http), whose port may differ because native apps pick a free port.

use url::Url;

use crate::domain::RedirectUri;
use crate::net::is_loopback_host;

fn loopback(url: &Url) -> bool {
    url.scheme() == "http" && is_loopback_host(url)
}

/// Is `uri` a loopback redirect (RFC 8252 §7.3): plain http to this machine?
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
            !matches!(u.scheme(), "http" | "https") || u.host().is_none() || is_loopback_host(&u)
        }
        // Not a URL at all: never treat it as one a website has claimed.
        Err(_) => true,
    }
}

/// May `uri` be registered (OAuth 2.1 §2.3.1, RFC 8252 §7)? Absolute, no fragment, no
/// user information; https, http on a loopback host, or a private-use scheme for native
/// apps; never script-bearing schemes.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    // Metadata documents bring these to the /authorize error page: an excerpt only.
    let quoted = crate::oauth::params::excerpt(uri);
    let parsed = Url::parse(uri).map_err(|e| format!("{quoted} is not an absolute URI ({e})"))?;
    if uri.contains('#') {
        return Err(format!("{quoted} must not contain a fragment"));
    }
    // `https://app.example@evil.example/cb` goes to evil.example: userinfo only misleads.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{quoted} must not contain user information"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&parsed) => Ok(()),
        "http" => Err(format!(
            "{quoted}: plain http is allowed only for loopback hosts"
        )),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => {
            Err(format!("{quoted} uses a forbidden scheme"))
        }
        // RFC 8252 §7.1: private-use schemes are reverse domain names, so contain a dot.
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "{quoted}: the scheme is not https, loopback http or a reverse-domain private-use scheme"
        )),
    }
}

/// The registered URI that `requested` matches, if any.
pub fn find_match<'a>(requested: &str, registered: &'a [RedirectUri]) -> Option<&'a RedirectUri> {
    if let Some(exact) = registered.iter().find(|r| r.as_str() == requested) {
        return Some(exact);
    }
    let wanted = Url::parse(requested).ok().filter(loopback)?;
    if requested.contains('#') {
        return None;
    }
    registered.iter().find(|candidate| {
        let Ok(c) = Url::parse(candidate.as_str()) else {
            return false;
        };
        loopback(&c)
            && c.username().is_empty()
            && wanted.username().is_empty()
            && strip_port(candidate.as_str()) == strip_port(requested)
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

    fn reg(uris: &[&str]) -> Vec<RedirectUri> {
        uris.iter()
            .map(|s| RedirectUri::new((*s).to_owned()))
            .collect()
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

//! Trust policies for the hosts of client metadata documents
//! (draft-ietf-oauth-client-id-metadata-document, security considerations: the server
//! decides which hosts it trusts). A blocked domain covers its subdomains, since whoever
//! controls `evil.example` controls `www.evil.example`; trust is exact, unless the admin
//! writes `*.example.com`, because trusting a parent says nothing about who runs a child.
//!
//! Hosts are compared in one form (lowercase, IDNA/punycode as the `url` crate writes
//! them, no trailing dot), so `EVIL.example.` and `evil.example` are the same host.

use std::net::Ipv6Addr;

use url::Host;

use crate::store::Store;

/// What an admin decided about a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainTrust {
    /// The consent page shows no warning for its clients.
    Trusted,
    /// Its clients are refused, before anything is fetched.
    Blocked,
}

impl DomainTrust {
    pub fn parse(value: &str) -> Option<DomainTrust> {
        match value {
            "trusted" => Some(DomainTrust::Trusted),
            "blocked" => Some(DomainTrust::Blocked),
            _ => None,
        }
    }
}

/// The comparable form of a host, or `None` when it is not one.
pub fn normalise_host(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() || trimmed.len() > 253 {
        return None;
    }
    let host = match trimmed.parse::<Ipv6Addr>() {
        Ok(v6) => Host::Ipv6(v6),
        Err(_) => Host::parse(trimmed).ok()?,
    };
    match host {
        Host::Domain(name) => {
            let labels_ok = name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
            labels_ok.then_some(name)
        }
        ip => Some(ip.to_string()),
    }
}

/// The comparable form of a policy entry: a host, or `*.` and a domain name.
pub fn normalise_entry(raw: &str) -> Option<String> {
    match raw.trim().strip_prefix("*.") {
        Some(parent) => {
            let parent = normalise_host(parent)?;
            is_domain_name(&parent).then(|| format!("*.{parent}"))
        }
        None => normalise_host(raw),
    }
}

fn is_domain_name(host: &str) -> bool {
    matches!(Host::parse(host), Ok(Host::Domain(_)))
}

/// The policy that applies to `host` among `entries` (domain, policy as stored). Blocked
/// wins over trusted; entries that do not normalise are ignored.
pub fn trust_of<'a>(
    host: &str,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<DomainTrust> {
    let host = normalise_host(host)?;
    let domain = is_domain_name(&host);
    let under = |parent: &str| domain && host.ends_with(&format!(".{parent}"));
    let mut found = None;
    for (entry, policy) in entries {
        let (Some(entry), Some(policy)) = (normalise_entry(entry), DomainTrust::parse(policy))
        else {
            continue;
        };
        let applies = match (entry.strip_prefix("*."), policy) {
            (Some(parent), _) => under(parent),
            (None, DomainTrust::Blocked) => entry == host || under(&entry),
            (None, DomainTrust::Trusted) => entry == host,
        };
        if applies {
            if policy == DomainTrust::Blocked {
                return Some(DomainTrust::Blocked);
            }
            found = Some(policy);
        }
    }
    found
}

/// The policy for `host` from the admin's table (small: read whole, matched here).
pub async fn trust_for(store: &Store, host: &str) -> Result<Option<DomainTrust>, sqlx::Error> {
    let rows = store.metadata_domains().await?;
    Ok(trust_of(
        host,
        rows.iter().map(|r| (r.domain.as_str(), r.policy.as_str())),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hosts_normalise_case_trailing_dots_and_idna() {
        assert_eq!(normalise_host("Evil.Example.").unwrap(), "evil.example");
        assert_eq!(
            normalise_host("BÜCHER.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(normalise_host("::1").unwrap(), "[::1]");
        assert_eq!(normalise_host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(normalise_entry("*.Example.COM").unwrap(), "*.example.com");
        for bad in ["", ".", "a..b", "a b", "*.*.x", "x/y", "*.127.0.0.1"] {
            assert!(normalise_entry(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_block_covers_subdomains_and_trust_is_exact_unless_wildcarded() {
        let entries = [
            ("evil.example", "blocked"),
            ("good.example", "trusted"),
            ("*.apps.example", "trusted"),
        ];
        let trust = |h: &str| trust_of(h, entries.iter().copied());
        for host in [
            "evil.example",
            "evil.example.",
            "www.evil.example",
            "A.EVIL.example",
        ] {
            assert_eq!(trust(host), Some(DomainTrust::Blocked), "{host}");
        }
        assert_eq!(trust("notevil.example"), None);
        assert_eq!(trust("good.example."), Some(DomainTrust::Trusted));
        assert_eq!(trust("www.good.example"), None);
        assert_eq!(trust("x.apps.example"), Some(DomainTrust::Trusted));
        assert_eq!(trust("apps.example"), None);
        let both = [("example.com", "blocked"), ("*.example.com", "trusted")];
        assert_eq!(
            trust_of("a.example.com", both.iter().copied()),
            Some(DomainTrust::Blocked)
        );
    }
}

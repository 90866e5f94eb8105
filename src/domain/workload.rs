//! Workload identity federation (SEP-1933 over RFC 7523 §2.1): the rules that turn a
//! platform-issued workload JWT (a Kubernetes service-account token, a SPIFFE JWT-SVID, a
//! CI provider's OIDC token) into one Warden client, with no secret anywhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `sub` pattern: exact, or a glob where `*` stands for any run of characters (`/` and
/// `:` included: `repo:acme/api:ref:refs/heads/*` must match every branch name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubjectPattern(String);

impl SubjectPattern {
    /// At most this long, so matching stays cheap whatever an admin types.
    pub const MAX_LEN: usize = 512;

    pub fn parse(pattern: &str) -> Result<SubjectPattern, &'static str> {
        if pattern.is_empty() || pattern.len() > Self::MAX_LEN {
            return Err("must be 1 to 512 characters");
        }
        if pattern.chars().all(|c| c == '*') {
            // A rule for every workload of an issuer is a shared secret in disguise: name
            // at least part of the subject.
            return Err("must name part of the subject, not only `*`");
        }
        if pattern.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(SubjectPattern(pattern.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_glob(&self) -> bool {
        self.0.contains('*')
    }

    /// Linear-time glob match: the literal pieces between stars must occur in order, the
    /// first anchored at the start and the last at the end.
    pub fn matches(&self, subject: &str) -> bool {
        let mut pieces = self.0.split('*');
        let first = pieces.next().unwrap_or_default();
        let Some(mut rest) = subject.strip_prefix(first) else {
            return false;
        };
        let middle: Vec<&str> = pieces.collect();
        let Some((last, middle)) = middle.split_last() else {
            return rest.is_empty();
        };
        for piece in middle {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

/// Claims beyond `iss`, `aud` and `sub` that must be present with exactly these values
/// (a string claim equal to the string; any other JSON value equal as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequiredClaims(BTreeMap<String, Value>);

impl RequiredClaims {
    pub fn new(claims: BTreeMap<String, Value>) -> RequiredClaims {
        RequiredClaims(claims)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn satisfied_by(&self, claims: &serde_json::Map<String, Value>) -> bool {
        self.0
            .iter()
            .all(|(name, want)| claims.get(name) == Some(want))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> SubjectPattern {
        SubjectPattern::parse(s).unwrap()
    }

    #[test]
    fn exact_patterns_match_only_themselves() {
        let exact = p("system:serviceaccount:agents:reporter");
        assert!(!exact.is_glob());
        assert!(exact.matches("system:serviceaccount:agents:reporter"));
        assert!(!exact.matches("system:serviceaccount:agents:reporter2"));
        assert!(!exact.matches("system:serviceaccount:agents:reporte"));
    }

    #[test]
    fn globs_match_runs_of_any_characters_anchored_at_both_ends() {
        let branch = p("repo:acme/api:ref:refs/heads/*");
        assert!(branch.matches("repo:acme/api:ref:refs/heads/main"));
        assert!(branch.matches("repo:acme/api:ref:refs/heads/feature/x"));
        assert!(!branch.matches("repo:acme/api2:ref:refs/heads/main"));
        assert!(!branch.matches("xrepo:acme/api:ref:refs/heads/main"));
        let middle = p("spiffe://corp/*/reporter");
        assert!(middle.matches("spiffe://corp/ns/agents/reporter"));
        assert!(!middle.matches("spiffe://corp/ns/agents/reporter/evil"));
        assert!(!middle.matches("spiffe://corp/reporter"));
        let two = p("a*b*c");
        assert!(two.matches("abc") && two.matches("axxbyyc") && !two.matches("acb"));
        // The end anchor may not reuse characters the middle consumed.
        assert!(!p("ab*ba").matches("aba"));
    }

    #[test]
    fn empty_star_only_long_or_control_patterns_are_refused() {
        for bad in ["", "*", "**", "a\nb"] {
            assert!(SubjectPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SubjectPattern::parse(&"a".repeat(513)).is_err());
    }

    #[test]
    fn required_claims_must_be_present_and_equal() {
        let rule = RequiredClaims::new(BTreeMap::from([
            ("repository".to_owned(), Value::from("acme/api")),
            (
                "runner_environment".to_owned(),
                Value::from("github-hosted"),
            ),
        ]));
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert!(rule.satisfied_by(&claims(serde_json::json!({
            "repository": "acme/api", "runner_environment": "github-hosted", "x": 1
        }))));
        assert!(!rule.satisfied_by(&claims(serde_json::json!({"repository": "acme/api"}))));
        assert!(!rule.satisfied_by(&claims(serde_json::json!({
            "repository": ["acme/api"], "runner_environment": "github-hosted"
        }))));
        assert!(RequiredClaims::default().satisfied_by(&claims(serde_json::json!({}))));
    }
}

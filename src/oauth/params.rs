//! Form parameters (RFC 6749 §3.1, §3.2; Appendix B): parameters sent without a value are
//! treated as omitted, and a parameter MUST NOT be included more than once, except
//! `resource` and `audience`, which RFC 8707 §2 and RFC 8693 §2.1 allow to repeat.

/// The most bytes a form body may have (token, introspection, revocation requests).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

const REPEATABLE: [&str; 2] = ["resource", "audience"];

#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` bytes; the error names the duplicated
    /// parameter.
    pub fn parse(body: &[u8]) -> Result<Params, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if !REPEATABLE.contains(&name.as_ref()) && pairs.iter().any(|(n, _)| *n == name) {
                return Err(format!("the {name} parameter is repeated"));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Params(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter in the order sent (a form carried through a re-authentication).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// A required parameter, or the `invalid_request` description for its absence.
    pub fn require(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("the {name} parameter is required"))
    }
}

// Messages quote request values the one way the domain layer does.
pub use crate::domain::{EXCERPT_CHARS, excerpt};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_quoted_and_short() {
        assert_eq!(excerpt("abc"), "\"abc\"");
        assert_eq!(excerpt("a\nb"), "\"a?b\"");
        let long = excerpt(&"x".repeat(500));
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 3);
        assert!(long.ends_with("…\""));
    }

    #[test]
    fn duplicates_are_rejected_except_resource_and_audience() {
        assert!(
            Params::parse(b"scope=a&scope=b")
                .unwrap_err()
                .contains("scope")
        );
        let p = Params::parse(b"resource=a&resource=b&audience=c&audience=d").unwrap();
        assert_eq!(p.get_all("resource").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn empty_values_count_as_absent_and_encoding_is_decoded() {
        let p = Params::parse(b"scope=&grant_type=client_credentials&x=a%20b+c").unwrap();
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("x"), Some("a b c"));
        assert!(p.require("scope").is_err());
    }
}

//! Scopes (RFC 6749 §3.3): space-delimited lists of scope tokens.
//!
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: printable ASCII without space, `"`
//! or `\`. Order does not matter and duplicates collapse.

use std::collections::BTreeSet;

/// The longest scope name we store; RFC 6749 sets no limit, databases and UIs need one.
pub const MAX_SCOPE_LEN: usize = 128;

/// Checks one scope token; the error says what is wrong, for admins and clients alike.
pub fn validate_token(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a scope name must not be empty".into());
    }
    if name.len() > MAX_SCOPE_LEN {
        return Err(format!(
            "a scope name must be at most {MAX_SCOPE_LEN} characters"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
    {
        return Err(format!(
            "scope {} contains {bad:?}; RFC 6749 scope tokens are printable ASCII without space, '\"' or '\\'",
            crate::domain::excerpt(name)
        ));
    }
    Ok(())
}

/// A set of scopes, kept sorted so the `scope` we emit is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses a `scope` parameter. Runs of spaces are tolerated (clients join lists
    /// carelessly); any other separator or character is an error.
    pub fn parse(value: &str) -> Result<ScopeSet, String> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            validate_token(token)?;
            set.insert(token.to_owned());
        }
        Ok(ScopeSet(set))
    }

    /// Builds a set from stored, already-validated names.
    pub fn from_stored(value: &str) -> ScopeSet {
        ScopeSet(
            value
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The members of `self` not in `other`.
    pub fn difference<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// The space-delimited form, as the `scope` claim and response member carry it.
    pub fn to_scope_string(&self) -> String {
        self.0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl FromIterator<String> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        for good in ["mcp:read", "mcp:tools:deploy", "a", "!#[]~", "https://x/y"] {
            assert!(validate_token(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "with space",
            "quote\"",
            "back\\slash",
            "tab\t",
            "é",
            &"x".repeat(129),
        ] {
            assert!(validate_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parsing_collapses_duplicates_and_sorts() {
        let set = ScopeSet::parse("mcp:write  mcp:read mcp:write").unwrap();
        assert_eq!(set.to_scope_string(), "mcp:read mcp:write");
        assert!(ScopeSet::parse("").unwrap().is_empty());
        assert!(ScopeSet::parse("a\tb").is_err());
    }
}

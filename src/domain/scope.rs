//! Scopes (RFC 6749 §3.3): space-delimited lists of scope tokens.
//!
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: printable ASCII without space, `"`
//! or `\`. Order does not matter and duplicates collapse.

use std::collections::{BTreeMap, BTreeSet};

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

    /// The set without `name`.
    pub fn without(mut self, name: &str) -> ScopeSet {
        self.0.remove(name);
        self
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

/// At most this many scopes one scope implies directly.
pub const MAX_DIRECT_IMPLICATIONS: usize = 16;
/// At most this many links in a chain of implications (`a` ⇒ `b` ⇒ `c` is two).
pub const MAX_IMPLICATION_DEPTH: usize = 8;
/// At most this many scopes one scope implies, directly or not.
pub const MAX_IMPLIED: usize = 64;

/// The scope hierarchy (SEP-835): which scopes each scope implies directly, as the
/// catalogue stores it. Acyclic and bounded (`check`), so every closure is finite and small.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Implications(BTreeMap<String, BTreeSet<String>>);

impl Implications {
    /// From stored `(scope, implies)` edges.
    pub fn from_edges(edges: impl IntoIterator<Item = (String, String)>) -> Implications {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (scope, implies) in edges {
            map.entry(scope).or_default().insert(implies);
        }
        Implications(map)
    }

    /// What `name` implies directly.
    pub fn direct(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The scopes that imply `name` directly.
    pub fn implied_by(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, implied)| implied.contains(name))
            .map(|(scope, _)| scope.clone())
            .collect()
    }

    /// Everything `name` implies, directly or through others, without `name` itself.
    pub fn included_in(&self, name: &str) -> ScopeSet {
        let mut found = BTreeSet::new();
        let mut todo: Vec<&str> = vec![name];
        while let Some(next) = todo.pop() {
            for implied in self.0.get(next).into_iter().flatten() {
                if implied != name && found.insert(implied.clone()) {
                    todo.push(implied);
                }
            }
        }
        ScopeSet(found)
    }

    /// `set` with everything its members imply: what a token holding `set` may do.
    pub fn closure(&self, set: &ScopeSet) -> ScopeSet {
        let mut all = set.0.clone();
        for name in set.iter() {
            all.extend(self.included_in(name).0);
        }
        ScopeSet(all)
    }

    /// The members of `set` that no other member implies: what a person reads, each with
    /// what it includes, so nothing is listed twice.
    pub fn broadest(&self, set: &ScopeSet) -> Vec<(String, ScopeSet)> {
        let included: Vec<(&str, ScopeSet)> =
            set.iter().map(|n| (n, self.included_in(n))).collect();
        included
            .iter()
            .filter(|(name, _)| {
                !included
                    .iter()
                    .any(|(other, inc)| other != name && inc.contains(name))
            })
            .map(|(name, inc)| ((*name).to_owned(), inc.clone()))
            .collect()
    }

    /// These implications with `name`'s direct ones replaced by `implies`.
    pub fn with(&self, name: &str, implies: &[String]) -> Implications {
        let mut map = self.0.clone();
        map.remove(name);
        if !implies.is_empty() {
            map.insert(name.to_owned(), implies.iter().cloned().collect());
        }
        Implications(map)
    }

    /// Refuses a hierarchy with a cycle, a chain longer than `MAX_IMPLICATION_DEPTH`, a
    /// scope implying more than `MAX_DIRECT_IMPLICATIONS` directly or `MAX_IMPLIED` in
    /// all. The message names the scopes, for the admin who made the change.
    pub fn check(&self) -> Result<(), String> {
        let mut longest = BTreeMap::new();
        for (name, direct) in &self.0 {
            if direct.len() > MAX_DIRECT_IMPLICATIONS {
                return Err(format!(
                    "{name} implies {} scopes directly; at most {MAX_DIRECT_IMPLICATIONS}",
                    direct.len()
                ));
            }
            let mut path = Vec::new();
            if self.chain(name, &mut path, &mut longest)? > MAX_IMPLICATION_DEPTH {
                return Err(format!(
                    "a chain of implications from {name} is longer than {MAX_IMPLICATION_DEPTH}"
                ));
            }
            let all = self.included_in(name);
            if all.0.len() > MAX_IMPLIED {
                return Err(format!(
                    "{name} implies {} scopes in all; at most {MAX_IMPLIED}",
                    all.0.len()
                ));
            }
        }
        Ok(())
    }

    /// The longest chain of implications from `name` (memoised in `longest`, so each scope
    /// is walked once); a scope met again on `path` is a cycle.
    fn chain<'a>(
        &'a self,
        name: &'a str,
        path: &mut Vec<&'a str>,
        longest: &mut BTreeMap<&'a str, usize>,
    ) -> Result<usize, String> {
        if let Some(at) = path.iter().position(|p| *p == name) {
            let mut cycle: Vec<&str> = path[at..].to_vec();
            cycle.push(name);
            return Err(format!(
                "implications may not form a cycle: {}",
                cycle.join(" ⇒ ")
            ));
        }
        if let Some(&known) = longest.get(name) {
            return Ok(known);
        }
        path.push(name);
        let mut deepest = 0;
        for next in self.0.get(name).into_iter().flatten() {
            deepest = deepest.max(1 + self.chain(next, path, longest)?);
        }
        path.pop();
        longest.insert(name, deepest);
        Ok(deepest)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn edges(list: &[(&str, &str)]) -> Implications {
        Implications::from_edges(list.iter().map(|(a, b)| ((*a).into(), (*b).into())))
    }

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn the_closure_adds_what_each_scope_implies_transitively() {
        let imp = edges(&[("mcp:admin", "mcp:write"), ("mcp:write", "mcp:read")]);
        assert_eq!(
            imp.closure(&set("mcp:admin")).to_scope_string(),
            "mcp:admin mcp:read mcp:write"
        );
        assert_eq!(imp.closure(&set("mcp:read")).to_scope_string(), "mcp:read");
        assert_eq!(
            imp.closure(&set("other mcp:write")).to_scope_string(),
            "mcp:read mcp:write other"
        );
        assert!(imp.closure(&ScopeSet::default()).is_empty());
    }

    #[test]
    fn the_broadest_scopes_are_listed_once_with_what_they_include() {
        let imp = edges(&[("mcp:admin", "mcp:write"), ("mcp:write", "mcp:read")]);
        let shown = imp.broadest(&set("mcp:read mcp:write mcp:admin other"));
        let names: Vec<_> = shown.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["mcp:admin", "other"]);
        assert_eq!(shown[0].1.to_scope_string(), "mcp:read mcp:write");
        assert!(shown[1].1.is_empty());
    }

    #[test]
    fn cycles_long_chains_and_wide_scopes_are_refused() {
        let cycle = edges(&[("a", "b"), ("b", "c")]).with("c", &["a".into()]);
        let e = cycle.check().unwrap_err();
        assert!(
            e.contains("cycle") && e.contains('a') && e.contains('c'),
            "{e}"
        );
        assert!(edges(&[("a", "a")]).check().unwrap_err().contains("cycle"));

        let chain: Vec<(String, String)> = (0..9)
            .map(|i| (format!("s{i}"), format!("s{}", i + 1)))
            .collect();
        let long = Implications::from_edges(chain);
        assert!(long.check().unwrap_err().contains("chain"));
        let ok: Vec<(String, String)> = (0..8)
            .map(|i| (format!("s{i}"), format!("s{}", i + 1)))
            .collect();
        assert!(Implications::from_edges(ok).check().is_ok());

        let wide: Vec<String> = (0..17).map(|i| format!("w{i}")).collect();
        let e = Implications::default()
            .with("x", &wide)
            .check()
            .unwrap_err();
        assert!(e.contains("directly"), "{e}");
    }

    #[test]
    fn a_diamond_is_no_cycle_but_too_much_in_all_is_refused() {
        let diamond = edges(&[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
        assert!(diamond.check().is_ok());
        assert_eq!(diamond.included_in("a").to_scope_string(), "b c d");

        let mut wide = Vec::new();
        for i in 0..16 {
            wide.push(("x".to_owned(), format!("m{i}")));
            for j in 0..4 {
                wide.push((format!("m{i}"), format!("m{i}-{j}")));
            }
        }
        let e = Implications::from_edges(wide).check().unwrap_err();
        assert!(e.contains("80 scopes in all"), "{e}");
    }

    #[test]
    fn replacing_a_scopes_implications_keeps_the_others() {
        let imp = edges(&[("a", "b"), ("c", "d")]);
        assert_eq!(imp.with("a", &[]).direct("a"), Vec::<String>::new());
        assert_eq!(imp.with("a", &[]).direct("c"), ["d"]);
        assert_eq!(imp.implied_by("d"), ["c"]);
    }

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

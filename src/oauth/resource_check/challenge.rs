//! Reading a `WWW-Authenticate` answer: the `Bearer` challenge of RFC 6750 §3 and its
//! parameters (`error`, `scope`, and RFC 9728 §5.1's `resource_metadata`).
//!
//! RFC 9110 §11.6.1 lets one header carry several challenges (`Basic realm="a", Bearer
//! error="invalid_token"`) and lets the header repeat; each auth-param is `name=token` or
//! `name="quoted string"`. The parser is lenient: it is a diagnostic reading what a server
//! sends, not a gate.

use std::collections::HashMap;

/// One `Bearer` challenge's parameters, names lowercased.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    pub params: HashMap<String, String>,
}

impl BearerChallenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// The first `Bearer` challenge among all `WWW-Authenticate` values, if any.
pub fn bearer<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<BearerChallenge> {
    values
        .into_iter()
        .flat_map(challenges)
        .find(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, params)| BearerChallenge { params })
}

/// Every challenge of one header value: its scheme and parameters.
fn challenges(value: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut out: Vec<(String, HashMap<String, String>)> = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return out;
        }
        let (word, after) = take_token(rest);
        if word.is_empty() {
            // Not a token: skip one character rather than loop forever.
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
            continue;
        }
        let after_space = after.trim_start_matches([' ', '\t']);
        match after_space.strip_prefix('=') {
            // `name=value` belongs to the challenge being read (a token68 of `=` padding
            // only, as in `Basic abc==`, has an empty value and is harmless here).
            Some(value_part) if !out.is_empty() => {
                let value_part = value_part.trim_start_matches([' ', '\t']);
                let (value, after_value) = take_value(value_part);
                if let Some((_, params)) = out.last_mut() {
                    params.insert(word.to_ascii_lowercase(), value);
                }
                rest = after_value;
            }
            Some(value_part) => rest = take_value(value_part).1,
            None => {
                out.push((word.to_owned(), HashMap::new()));
                rest = after;
            }
        }
    }
}

/// RFC 9110 §5.6.2 `token`.
fn take_token(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// A token or a quoted string (RFC 9110 §5.6.4, with `\` escapes).
fn take_value(s: &str) -> (String, &str) {
    let Some(quoted) = s.strip_prefix('"') else {
        let (token, rest) = take_token(s);
        return (token.to_owned(), rest);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_with_quoted_and_token_parameters_is_read() {
        let c = bearer([
            r#"Bearer realm="mcp", error=invalid_token, resource_metadata="https://m.example/.well-known/oauth-protected-resource/mcp""#,
        ])
        .unwrap();
        assert_eq!(c.param("realm"), Some("mcp"));
        assert_eq!(c.param("error"), Some("invalid_token"));
        assert_eq!(
            c.param("resource_metadata"),
            Some("https://m.example/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn the_bearer_challenge_is_found_among_others_and_across_repeated_headers() {
        let c =
            bearer([r#"Basic realm="x", Bearer error="insufficient_scope", scope="a b""#]).unwrap();
        assert_eq!(c.param("scope"), Some("a b"));
        assert_eq!(c.param("realm"), None, "Basic's realm is not Bearer's");
        let c = bearer([r#"Basic realm="x""#, r#"bearer scope="c""#]).unwrap();
        assert_eq!(c.param("scope"), Some("c"));
        assert_eq!(bearer(["Basic realm=\"x\""]), None);
        assert_eq!(bearer([""]), None);
    }

    #[test]
    fn a_bare_bearer_and_escapes_and_garbage_do_not_confuse_it() {
        assert_eq!(bearer(["Bearer"]).unwrap().params.len(), 0);
        let c = bearer([r#"Bearer error_description="say \"no\"", ,, error=x"#]).unwrap();
        assert_eq!(c.param("error_description"), Some(r#"say "no""#));
        assert_eq!(c.param("error"), Some("x"));
        assert!(bearer(["=== \u{e9}\"unterminated"]).is_none());
    }
}

//! Scope strings (RFC 6749 §3.3): parsing then printing then parsing gives the same set.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = std::str::from_utf8(data)
        && let Ok(set) = warden::oauth::scope::ScopeSet::parse(value)
    {
        let printed = set.to_scope_string();
        let again = warden::oauth::scope::ScopeSet::parse(&printed).unwrap_or_default();
        assert_eq!(again.to_scope_string(), printed);
    }
});

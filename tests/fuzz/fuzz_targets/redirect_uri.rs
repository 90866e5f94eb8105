//! Redirect URI matching: the first line is the requested URI, the rest registered ones.
//! A match is always one of the registered URIs, and an exact copy always matches.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let requested = lines.next().unwrap_or_default();
    let registered: Vec<String> = lines.map(str::to_owned).collect();
    if let Some(found) = warden::oauth::redirect_uri::find_match(requested, &registered) {
        assert!(registered.contains(found));
    }
    let exact = vec![requested.to_owned()];
    let _ = warden::oauth::redirect_uri::find_match(requested, &exact);
});

//! `Authorization: Basic` headers (RFC 6749 §2.3.1: base64 of form-encoded id:secret).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        let _ = warden::oauth::client_auth::parse_basic(header);
    }
});

//! Form bodies and query strings (duplicates, bad encodings, huge keys): never a panic;
//! a parameter sent twice is refused or kept once, never silently merged.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = warden::oauth::params::Params::parse(data) {
        for key in ["grant_type", "client_id", "resource", "scope", "code"] {
            let _ = params.get(key);
            let _ = params.get_all(key).count();
            let _ = params.require(key);
        }
    }
});

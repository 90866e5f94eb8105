//! RFC 8707 resource indicators: canonicalisation is idempotent when it succeeds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = std::str::from_utf8(data)
        && let Ok(canonical) = warden::oauth::resource::canonicalize(value)
    {
        assert_eq!(
            warden::oauth::resource::canonicalize(&canonical).as_deref(),
            Ok(canonical.as_str())
        );
    }
});

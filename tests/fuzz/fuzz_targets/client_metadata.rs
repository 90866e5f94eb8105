//! Client metadata: Client ID Metadata Documents (fetched JSON) and RFC 7591
//! registration documents.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ =
        warden::oauth::cimd::validate("https://app.example.com/client.json", data, 1_800_000_000);
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = warden::oauth::registration::check_metadata(&doc);
    }
});

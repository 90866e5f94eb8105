//! Reading the tokens Warden issues.

use serde_json::Value;

/// The claims of a JWT, unverified: for looking at what Warden put in a token.
pub fn decode_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The `access_token` of a token response.
pub fn access(token: &Value) -> &str {
    token["access_token"].as_str().unwrap()
}

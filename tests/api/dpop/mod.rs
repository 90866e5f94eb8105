//! DPoP at the token endpoint (RFC 9449): proofs on every grant, bound tokens, nonces,
//! refresh-token binding for public clients, and every malformed or replayed proof.

mod bad_proofs;
mod issuance;
mod nonces;
mod refresh;

use serde_json::Value;

use crate::helpers::dpop::DpopKey;
use crate::helpers::{TestApp, TestClient};

/// A client_credentials request for the usual resource, with `proofs` as DPoP headers.
pub async fn cc_with(app: &TestApp, agent: &TestClient, proofs: &[&str]) -> reqwest::Response {
    app.token_with_proofs(
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://mcp.example.com/mcp"),
        ],
        agent,
        proofs,
    )
    .await
}

/// A successful DPoP token response: 200, `token_type` DPoP, `cnf.jkt` of `key` in the
/// token, and a `DPoP-Nonce` header. Returns the body.
pub async fn assert_bound(response: reqwest::Response, key: &DpopKey) -> Value {
    let status = response.status();
    let nonce = response.headers().get("dpop-nonce").cloned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let claims = crate::helpers::tokens::decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["jkt"], key.jkt(), "{claims}");
    assert!(nonce.is_some(), "a DPoP token response carries DPoP-Nonce");
    body
}

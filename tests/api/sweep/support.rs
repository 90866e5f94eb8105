//! What the sweep's files share: token requests as any kind of client, the code flow up to
//! a token response, `private_key_jwt` clients and hand-made JWTs, self-registered public
//! clients, and numbers read from the test's database behind Warden's back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{JwsHeader, JwsSigner};
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};

use crate::helpers::assertions::{SigningKey, claims, now, sign_es256};
use crate::helpers::browser::{
    Browser, Interactive, REDIRECT, authorize, authorize_url, pkce, redeem,
};
use crate::helpers::clients::register;
use crate::helpers::{TestApp, TestClient, assert_oauth_error};

/// A second resource the interactive clients may use (they list none, so any is open).
pub(super) const OTHER_RESOURCE: &str = "https://other.example.com";

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// ---------------------------------------------------------------------------------------
// The token endpoint.

/// A POST to /token as `client`: Basic for a confidential client, `client_id` in the body
/// for a public one.
pub(super) async fn token_request(
    app: &TestApp,
    client: &TestClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = form.to_vec();
    if client.client_secret.is_empty() {
        form.push(("client_id", &client.client_id));
        app.post_form("/token", &form, None).await
    } else {
        app.post_form("/token", &form, Some(client)).await
    }
}

/// A code for `client` (alice signs in and consents when asked).
pub(super) async fn code_for(
    app: &TestApp,
    client: &TestClient,
    browser: &mut Browser,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let url = authorize_url(app, client, challenge, extra);
    authorize(app, browser, &url, "alice").await["code"].clone()
}

/// A refresh_token request as `client` with `extra` fields.
pub(super) async fn refresh(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    token_request(app, client, &form).await
}

/// A 200 token response's body (asserting the status, JSON and `no-store`).
pub(super) async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A fresh code for `client`, redeemed: the token response.
pub(super) async fn tokens(
    app: &TestApp,
    client: &TestClient,
    browser: &mut Browser,
    extra: &[(&str, &str)],
) -> Value {
    let p = pkce();
    let code = code_for(app, client, browser, &p.challenge, extra).await;
    ok_json(redeem(app, client, &code, &p.verifier).await).await
}

pub(super) fn refresh_token(token: &Value) -> &str {
    token["refresh_token"].as_str().unwrap()
}

pub(super) async fn is_active(app: &TestApp, server: &TestClient, token: &str) -> bool {
    app.introspect(server, token).await["active"] == true
}

/// An RFC 6749 §5.2 error that is JSON with `no-store`; returns the body.
pub(super) async fn json_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{code}: {content_type}"
    );
    assert_oauth_error(response, status, code).await
}

// ---------------------------------------------------------------------------------------
// Clients.

/// Another interactive client on `setup`'s registry: confidential unless `public`.
pub(super) async fn another_ide(
    app: &TestApp,
    setup: &Interactive,
    name: &str,
    public: bool,
) -> TestClient {
    let mut body = json!({"name": name, "grant_types": ["authorization_code", "refresh_token"],
                          "redirect_uris": [REDIRECT]});
    if public {
        body["token_endpoint_auth_method"] = "none".into();
    }
    app.create_client(&setup.admin_token, body).await
}

/// A public client registered through RFC 7591 with these redirect URIs.
pub(super) async fn register_public(app: &TestApp, redirect_uris: &[&str]) -> TestClient {
    let body = register(
        app,
        &json!({"client_name": "Self-registered", "redirect_uris": redirect_uris,
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none"}),
    )
    .await;
    TestClient::from_view(&body)
}

// ---------------------------------------------------------------------------------------
// private_key_jwt clients (dynamic registration with an inline JWK Set) and JWTs.

/// Registers a native private_key_jwt client with these public keys; returns its id.
pub(super) async fn register_jwt_client(app: &TestApp, keys: &[&SigningKey]) -> String {
    let body = json!({
        "client_name": "JWT App",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "application_type": "native",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>()},
    });
    register(app, &body).await["client_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Good assertion claims for `client_id`: aud the issuer, a minute to live, a fresh jti.
pub(super) fn assertion_claims(app: &TestApp, client_id: &str) -> JwtPayload {
    let now = now(app);
    claims(client_id, &app.issuer, Some(now + 60), now)
}

/// A JWT of `payload` signed by `signer`, with `typ` JWT and `kid`.
pub(super) fn sign_with(signer: &dyn JwsSigner, kid: &str, payload: &JwtPayload) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    josekit::jwt::encode_with_signer(payload, &header, signer).unwrap()
}

/// A JWT put together by hand: any header, the claims, any signature bytes.
pub(super) fn assemble(header: &Value, payload: &JwtPayload, signature: &[u8]) -> String {
    let claims = Value::Object(payload.claims_set().clone());
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A token request authenticated by `assertion` alone (RFC 7523 §2.2).
pub(super) async fn with_assertion(
    app: &TestApp,
    form: &[(&str, &str)],
    assertion: &str,
) -> reqwest::Response {
    let mut form = form.to_vec();
    form.push(("client_assertion_type", ASSERTION_TYPE));
    form.push(("client_assertion", assertion));
    app.post_form("/token", &form, None).await
}

/// alice authorizes the private_key_jwt client and it redeems the code: a token response.
pub(super) async fn jwt_client_tokens(
    app: &TestApp,
    browser: &mut Browser,
    client_id: &str,
    key: &SigningKey,
) -> Value {
    let client = crate::helpers::clients::public(client_id);
    let p = pkce();
    let code = code_for(app, &client, browser, &p.challenge, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", p.verifier.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let assertion = sign_es256(key, &assertion_claims(app, client_id));
    ok_json(with_assertion(app, &form, &assertion).await).await
}

// ---------------------------------------------------------------------------------------
// The database behind Warden's back.

pub(super) use crate::helpers::scalar;

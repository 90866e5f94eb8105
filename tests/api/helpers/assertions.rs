//! Client keys and `private_key_jwt` assertions (RFC 7523 §2.2).

use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::browser::REDIRECT;

/// The server's clock: the test clock, which stands still unless advanced.
pub fn now(app: &TestApp) -> i64 {
    warden::clock::Clock::now(&*app.clock)
}

/// A client's key pair: the private JWK signs, the public half is published.
pub struct SigningKey {
    pub private: Jwk,
    pub public: Value,
    pub kid: String,
}

/// A fresh P-256 key pair named `kid`.
pub fn es256_key(kid: &str) -> SigningKey {
    ec_key(EcCurve::P256, kid)
}

/// A fresh key pair on `curve`, the public half as a JWK, both named `kid`.
pub fn ec_key(curve: EcCurve, kid: &str) -> SigningKey {
    let mut private = Jwk::generate_ec_key(curve).unwrap();
    private.set_key_id(kid);
    let mut public = private.to_public_key().unwrap();
    public.set_key_id(kid);
    SigningKey {
        private,
        public: serde_json::to_value(public.as_ref()).unwrap(),
        kid: kid.to_owned(),
    }
}

/// Assertion claims for `client_id`: `exp` as given (none when `None`), a fresh `jti`.
pub fn claims(client_id: &str, aud: &str, exp: Option<i64>, now: i64) -> JwtPayload {
    let mut payload = JwtPayload::new();
    payload.set_issuer(client_id);
    payload.set_subject(client_id);
    payload.set_audience(vec![aud]);
    payload.set_jwt_id(warden::crypto::random::token());
    payload.set_claim("iat", Some(json!(now))).unwrap();
    if let Some(exp) = exp {
        payload.set_claim("exp", Some(json!(exp))).unwrap();
    }
    payload
}

pub fn sign_es256(key: &SigningKey, payload: &JwtPayload) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(&key.kid);
    let signer = ES256.signer_from_jwk(&key.private).unwrap();
    josekit::jwt::encode_with_signer(payload, &header, &signer).unwrap()
}

/// Redeems `code` authenticating with `assertion` (RFC 7523 §2.2).
pub async fn redeem_with_assertion(
    app: &TestApp,
    client_id: &str,
    code: &str,
    verifier: &str,
    assertion: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ];
    app.post_form("/token", &form, None).await
}

//! Hostile-input sweep, security.md §5 F (cases 62–65): client authentication with
//! `private_key_jwt` assertions: one assertion replayed in parallel, claims that do not
//! fit, algorithm confusion, and a zero ECDSA signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jws::{ES512, HS256};
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};

use super::support::{
    assemble, assertion_claims, json_error, jwt_client_tokens, ok_json, refresh_token,
    register_jwt_client, sign_with, with_assertion,
};
use crate::helpers::assertions::{ec_key, sign_es256};
use crate::helpers::browser::{Browser, interactive};
use crate::helpers::spawn_app;

#[tokio::test]
async fn client_assertions_are_single_use_exact_and_asymmetric() {
    let app = spawn_app().await;
    interactive(&app, true).await;
    let key = ec_key(EcCurve::P256, "p256");
    let big = ec_key(EcCurve::P521, "p521");
    let client_id = register_jwt_client(&app, &[&key, &big]).await;
    let mut browser = Browser::new();
    let first = jwt_client_tokens(&app, &mut browser, &client_id, &key).await;
    let rt = refresh_token(&first).to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];

    // Case 62 (assertion-jti-replay): 20 parallel requests with one assertion: exactly one
    // authenticates (the jti is claimed by a unique key, not read then inserted); the
    // others, and a later replay, are 401 invalid_client.
    let assertion = sign_es256(&key, &assertion_claims(&app, &client_id));
    let attempts = (0..20).map(|_| with_assertion(&app, &form, &assertion));
    let mut rotated = Vec::new();
    for response in futures_util::future::join_all(attempts).await {
        if response.status() == 200 {
            rotated.push(response.json::<Value>().await.unwrap());
        } else {
            json_error(response, 401, "invalid_client").await;
        }
    }
    assert_eq!(
        rotated.len(),
        1,
        "one assertion authenticated more than once"
    );
    let rt = refresh_token(&rotated[0]).to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    json_error(
        with_assertion(&app, &form, &assertion).await,
        401,
        "invalid_client",
    )
    .await;

    // Case 63 (assertion-claims), the cases authenticated elsewhere
    // (self_registration::a_private_key_jwt_client_authenticates_once_per_valid_assertion:
    // expired 5 minutes, wrong aud, exp an hour ahead, no exp) plus sub missing or not iss.
    let mut no_sub = assertion_claims(&app, &client_id);
    no_sub.set_subject("");
    let mut other_sub = assertion_claims(&app, &client_id);
    other_sub.set_subject("someone-else");
    let mut no_sub_at_all = Value::Object(assertion_claims(&app, &client_id).claims_set().clone());
    no_sub_at_all.as_object_mut().unwrap().remove("sub");
    let no_sub_at_all = JwtPayload::from_map(no_sub_at_all.as_object().unwrap().clone()).unwrap();
    let mut rejected: Vec<(&str, String)> = vec![
        ("empty sub", sign_es256(&key, &no_sub)),
        ("no sub", sign_es256(&key, &no_sub_at_all)),
        ("sub not iss", sign_es256(&key, &other_sub)),
    ];

    // Case 64 (assertion-alg-allowlist): a correctly signed ES512 assertion (an algorithm
    // the metadata does not list, with a registered P-521 key), alg none in any spelling,
    // and HS256 keyed with the client's own public key in every form it could be read.
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let advertised = metadata["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!advertised.contains(&json!("ES512")), "{advertised:?}");
    assert!(
        !advertised
            .iter()
            .any(|a| a == "none" || a.as_str().unwrap().starts_with("HS"))
    );
    let claims = || assertion_claims(&app, &client_id);
    rejected.push((
        "ES512",
        sign_with(
            &ES512.signer_from_jwk(&big.private).unwrap(),
            &big.kid,
            &claims(),
        ),
    ));
    for none in ["none", "None", "NONE"] {
        rejected.push((
            "alg none",
            assemble(&json!({"alg": none, "kid": key.kid}), &claims(), b""),
        ));
    }
    let pair = EcKeyPair::from_jwk(&key.private).unwrap();
    let jwk_json = key.public.to_string();
    let point = {
        let x = URL_SAFE_NO_PAD
            .decode(key.public["x"].as_str().unwrap())
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode(key.public["y"].as_str().unwrap())
            .unwrap();
        [vec![4u8], x, y].concat()
    };
    for (why, secret) in [
        ("HS256 keyed with the public JWK", jwk_json.into_bytes()),
        ("HS256 keyed with the public PEM", pair.to_pem_public_key()),
        ("HS256 keyed with the public DER", pair.to_der_public_key()),
        ("HS256 keyed with the public point", point),
    ] {
        let signer = HS256.signer_from_bytes(&secret).unwrap();
        rejected.push((why, sign_with(&signer, &key.kid, &claims())));
    }

    // Case 65 (ecdsa-zero-signature): ES256 with r = s = 0 (CVE-2022-21449), and with an
    // empty or truncated signature.
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": key.kid});
    rejected.push(("r = s = 0", assemble(&header, &claims(), &[0u8; 64])));
    rejected.push(("empty signature", assemble(&header, &claims(), b"")));
    let good = sign_es256(&key, &claims());
    let cut = good[..good.rfind('.').unwrap() + 44].to_owned();
    rejected.push(("truncated signature", cut));

    for (why, assertion) in &rejected {
        let response = with_assertion(&app, &form, assertion).await;
        assert_eq!(response.status(), 401, "{why}");
        let body = json_error(response, 401, "invalid_client").await;
        assert!(body.get("access_token").is_none(), "{why}: {body}");
    }
    // None of them spent the refresh token: a good assertion still refreshes with it.
    let fresh = sign_es256(&key, &claims());
    ok_json(with_assertion(&app, &form, &fresh).await).await;
}

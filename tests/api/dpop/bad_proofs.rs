//! Every malformed, misdirected, stale or replayed proof is `invalid_dpop_proof` (RFC 9449
//! §4.3, §5) and changes nothing: no token, no grant, no remembered proof id.

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::dpop::{assert_bound, cc_with};
use crate::helpers::assertions::now;
use crate::helpers::dpop::{DpopKey, Proof, b64};
use crate::helpers::{TestApp, TestClient, assert_oauth_error, setup, spawn_app};

fn without(object: &mut Value, member: &str) {
    object.as_object_mut().unwrap().remove(member);
}

/// A compact JWS with whatever header, claims and signature bytes.
fn raw(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(claims.to_string()),
        b64(signature)
    )
}

/// Asserts `invalid_dpop_proof` and that nothing was stored; returns the description.
async fn assert_refused(app: &TestApp, agent: &TestClient, proofs: &[&str], case: &str) -> String {
    let grants = app.grant_count().await;
    let response = cc_with(app, agent, proofs).await;
    assert_eq!(response.status(), 400, "{case}");
    let body = assert_oauth_error(response, 400, "invalid_dpop_proof").await;
    assert!(!body.to_string().contains("access_token"), "{case}: {body}");
    assert_eq!(app.grant_count().await, grants, "{case}: a grant was made");
    assert_eq!(
        app.remembered_proofs().await,
        0,
        "{case}: a proof id was kept"
    );
    body["error_description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_malformed_proof_is_invalid_dpop_proof_and_nothing_is_stored() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let other = DpopKey::es256();
    let htu = app.token_endpoint();
    let now = now(&app);
    let nonce = app.dpop_nonce();
    let good = || Proof::new(&key, &htu, now, Some(&nonce));
    let with = |change: &dyn Fn(&mut Proof)| {
        let mut proof = good();
        change(&mut proof);
        key.build(proof)
    };

    let mut cases: Vec<(&str, &str, String)> = vec![
        ("typ JWT", "typ", with(&|p| p.header["typ"] = "JWT".into())),
        ("no typ", "typ", with(&|p| without(&mut p.header, "typ"))),
        (
            "alg ES512",
            "algorithm",
            with(&|p| p.header["alg"] = "ES512".into()),
        ),
        (
            "private jwk",
            "public key",
            with(&|p| p.header["jwk"] = serde_json::to_value(key.private.as_ref()).unwrap()),
        ),
        (
            "no jwk",
            "carry its public key",
            with(&|p| without(&mut p.header, "jwk")),
        ),
        (
            "jwk of another key",
            "signature",
            with(&|p| p.header["jwk"] = other.public()),
        ),
        ("htm GET", "htm", with(&|p| p.claims["htm"] = "GET".into())),
        ("no htm", "htm", with(&|p| without(&mut p.claims, "htm"))),
        (
            "htu with a query",
            "htu",
            with(&|p| p.claims["htu"] = format!("{htu}?grant=1").into()),
        ),
        (
            "htu with a fragment",
            "htu",
            with(&|p| p.claims["htu"] = format!("{htu}#f").into()),
        ),
        (
            "htu of another server",
            "htu",
            with(&|p| p.claims["htu"] = "https://evil.example/token".into()),
        ),
        (
            "htu of another endpoint",
            "htu",
            with(&|p| p.claims["htu"] = htu.replace("/token", "/introspect").into()),
        ),
        (
            "iat 61 s old",
            "iat",
            with(&|p| p.claims["iat"] = (now - 61).into()),
        ),
        (
            "iat 6 s ahead",
            "iat",
            with(&|p| p.claims["iat"] = (now + 6).into()),
        ),
        (
            "iat a string",
            "iat",
            with(&|p| p.claims["iat"] = now.to_string().into()),
        ),
        ("no jti", "jti", with(&|p| without(&mut p.claims, "jti"))),
        ("empty jti", "jti", with(&|p| p.claims["jti"] = "".into())),
        (
            "jti over 256 bytes",
            "jti",
            with(&|p| p.claims["jti"] = "j".repeat(257).into()),
        ),
        (
            "nonce a number",
            "nonce",
            with(&|p| p.claims["nonce"] = 7.into()),
        ),
        ("claims not JSON", "claims", {
            let header = b64(good().header.to_string());
            key.sign(&format!("{header}.{}", b64("not json")))
        }),
        ("two parts", "compact", "e30.e30".into()),
        ("not base64", "header", "@@@.e30.e30".into()),
    ];

    // `none`, an HMAC keyed with public key material, and a signature that does not verify.
    let proof = good();
    let mut header = proof.header.clone();
    header["alg"] = "none".into();
    cases.push(("alg none", "algorithm", raw(&header, &proof.claims, b"")));
    header["alg"] = "HS256".into();
    let input = format!(
        "{}.{}",
        b64(header.to_string()),
        b64(proof.claims.to_string())
    );
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key.public()["x"].as_str().unwrap().as_bytes())
            .unwrap();
    mac.update(input.as_bytes());
    cases.push((
        "alg HS256 keyed with the public key",
        "algorithm",
        format!("{input}.{}", b64(mac.finalize().into_bytes())),
    ));
    let signed = key.build(good());
    let mut tampered = good();
    tampered.claims["jti"] = "another".into();
    let mut parts: Vec<&str> = signed.split('.').collect();
    let swapped = b64(tampered.claims.to_string());
    parts[1] = &swapped;
    cases.push(("claims changed after signing", "signature", parts.join(".")));

    // Key types and sizes we do not verify.
    let unsupported: [(&str, Value); 5] = [
        ("kty oct", json!({"kty": "oct", "alg": "HS256"})),
        (
            "kty unknown",
            json!({"kty": "XYZ", "crv": "P-256", "x": "AA", "y": "AA"}),
        ),
        (
            "curve P-256 for ES384",
            json!({"kty": "EC", "crv": "P-256"}),
        ),
        (
            "OKP X25519",
            json!({"kty": "OKP", "crv": "X25519", "x": "AA"}),
        ),
        (
            "RSA under 2048 bits",
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        ),
    ];
    for (case, jwk) in unsupported {
        let mut p = good();
        let mut public = key.public();
        for (name, value) in jwk.as_object().unwrap() {
            public[name] = value.clone();
        }
        if case == "curve P-256 for ES384" {
            p.header["alg"] = "ES384".into();
        }
        if case == "RSA under 2048 bits" {
            p.header["alg"] = "RS256".into();
        }
        p.header["jwk"] = public;
        cases.push((case, "key type", key.build(p)));
    }
    // josekit will not sign with a 1024-bit key; Warden refuses it before any
    // signature check, so a junk signature serves.
    let small_rsa = josekit::jwk::Jwk::generate_rsa_key(1024).unwrap();
    let mut p = good();
    p.header["alg"] = "RS256".into();
    p.header["jwk"] = serde_json::to_value(small_rsa.to_public_key().unwrap().as_ref()).unwrap();
    cases.push((
        "a real 1024-bit RSA key",
        "key type",
        raw(&p.header, &p.claims, &[1; 128]),
    ));

    for (case, reason, proof) in &cases {
        let description = assert_refused(&app, &s.agent, &[proof], case).await;
        assert!(description.contains(reason), "{case}: {description}");
    }
    // The same request with a good proof works: the refusals were about the proofs.
    assert_bound(cc_with(&app, &s.agent, &[&key.build(good())]).await, &key).await;
}

#[tokio::test]
async fn a_proof_over_8_kb_is_refused_even_when_correctly_signed() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let mut proof = Proof::new(
        &key,
        &app.token_endpoint(),
        now(&app),
        Some(&app.dpop_nonce()),
    );
    proof.claims["padding"] = "p".repeat(8 * 1024).into();
    assert_refused(&app, &s.agent, &[&key.build(proof)], "over 8 KB").await;
}

#[tokio::test]
async fn two_dpop_headers_are_refused_even_when_both_are_valid() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let (one, two) = (app.token_proof(&key), app.token_proof(&key));
    assert_refused(&app, &s.agent, &[&one, &two], "two DPoP headers").await;
    // Neither was spent: each still works alone.
    assert_bound(cc_with(&app, &s.agent, &[&one]).await, &key).await;
}

#[tokio::test]
async fn a_replayed_proof_is_refused_and_nothing_is_issued() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let proof = app.token_proof(&key);
    assert_bound(cc_with(&app, &s.agent, &[&proof]).await, &key).await;
    let response = cc_with(&app, &s.agent, &[&proof]).await;
    assert_oauth_error(response, 400, "invalid_dpop_proof").await;
    assert_eq!(app.remembered_proofs().await, 1);

    // Remembered until the proof could no longer pass the iat window, then forgotten.
    app.clock.advance(66);
    let later = crate::helpers::assertions::now(&app);
    app.state.store.purge_expired(later).await.unwrap();
    assert_eq!(app.remembered_proofs().await, 0);
}

#[tokio::test]
async fn a_proof_by_another_client_for_the_same_key_is_a_replay_too() {
    // The replay key is the key and jti, not the client: a proof stolen from one client's
    // request is no good for another's.
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let proof = app.token_proof(&key);
    assert_bound(cc_with(&app, &s.agent, &[&proof]).await, &key).await;
    let other = app
        .create_client(
            &s.admin_token,
            json!({"name": "agent 2", "grant_types": ["client_credentials"], "resources": [s.resource_uri]}),
        )
        .await;
    assert_oauth_error(
        cc_with(&app, &other, &[&proof]).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
}

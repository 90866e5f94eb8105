//! Hostile-input sweep, security.md §5 L (cases 104–112): JWTs, JWKS and signing keys.
//!
//! Warden issues no ID tokens, so `id_token_hint` (cases 106, 109) has no counterpart; the
//! places that accept a Warden token are introspection, the admin API's bearer check,
//! token exchange (`subject_token`) and revocation, and each is sent every forgery.
//!
//! Case 111 (keys persist across restarts) is `startup::a_restart_reuses_the_stored_key`
//! and `restart::sigterm_and_restart_under_load_lose_no_accepted_request`.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, HS256, JwsSigner, JwsVerifier};
use reqwest::Method;
use serde_json::{Value, json};
use warden::clock::Clock;
use warden::crypto::keys;

use crate::helpers::browser::{Browser, authorize, authorize_url, interactive, pkce, redeem};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::{
    TestApp, TestClient, TestDb, assert_oauth_error, setup, spawn_app_on, spawn_app_with,
    stdout_json,
};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The decoded header and payload of a compact JWS, and its signature part.
fn split(jwt: &str) -> (Value, Value, String) {
    let mut parts = jwt.split('.');
    let mut decode =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let (header, payload) = (decode(), decode());
    (header, payload, jwt.rsplit('.').next().unwrap().to_owned())
}

/// A compact JWS over `header` and `payload`, signed by `signer`.
fn signed(header: &Value, payload: &Value, signer: &dyn JwsSigner) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn jwks(app: &TestApp) -> Value {
    app.get_json("/jwks.json").await
}

fn kids(set: &Value) -> Vec<String> {
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(jwt: &str) -> String {
    split(jwt).0["kid"].as_str().unwrap().to_owned()
}

/// Verifies `jwt` with the published key its `kid` names, as a resource server would.
fn verifies_against(set: &Value, jwt: &str) -> bool {
    let kid = kid_of(jwt);
    let Some(key) = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
    else {
        return false;
    };
    let jwk = Jwk::from_bytes(key.to_string().as_bytes()).unwrap();
    let verifier: Box<dyn JwsVerifier> = match jwk.algorithm() {
        Some("ES256") => Box::new(ES256.verifier_from_jwk(&jwk).unwrap()),
        other => panic!("unexpected algorithm {other:?}"),
    };
    josekit::jwt::decode_with_verifier(jwt, &*verifier).is_ok()
}

fn now(app: &TestApp) -> i64 {
    app.clock.now()
}

/// Exchanges `subject` as `exchanger` for a token to `resource`.
async fn exchange(app: &TestApp, exchanger: &TestClient, subject: &str) -> reqwest::Response {
    app.post_form(
        "/token",
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("resource", "https://api.example.com"),
        ],
        Some(exchanger),
    )
    .await
}

/// Alice's access token for `client` (mcp:read), through `browser`.
async fn user_token(app: &TestApp, client: &TestClient, browser: &mut Browser) -> String {
    let p = pkce();
    let url = authorize_url(app, client, &p.challenge, &[("scope", "mcp:read")]);
    let code = authorize(app, browser, &url, "alice").await["code"].clone();
    let response = redeem(app, client, &code, &p.verifier).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused_everywhere_and_fetch_nothing() {
    const B: &str = "https://api.example.com";
    // The loopback setting is on so that a fetch of an attacker's `jku`/`x5u` would
    // succeed if Warden ever made one: the document server must see no request at all.
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1")]).await;
    let s = setup(&app).await;
    app.create_resource(
        &s.admin_token,
        json!({"uri": B, "name": "Example API", "scopes": ["mcp:read"]}),
    )
    .await;
    let exchanger = app
        .create_client(
            &s.admin_token,
            json!({"name": "mcp server S", "grant_types": [TOKEN_EXCHANGE], "served_resources": [s.resource_uri]}),
        )
        .await;
    let a_id = s.resource["id"].as_str().unwrap();
    let (status, body) = app
        .admin_call(
            &s.admin_token,
            Method::PUT,
            &format!("/resources/{a_id}/downstreams"),
            Some(json!([{"target": B}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let real = app.client_credentials(&s.agent, None, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app
        .client_credentials(&s.agent, None, Some("mcp:write"))
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (header, payload, signature) = split(&real);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let published = jwks(&app).await;
    let public_jwk = published["keys"][0].to_string();
    let mut attacker = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    attacker.set_key_id("attacker");
    attacker.set_algorithm("ES256");
    let attacker_public: Value =
        serde_json::to_value(attacker.to_public_key().unwrap().as_ref()).unwrap();
    docs.serve("/jwks.json", Doc::json(&json!({"keys": [attacker_public]})));
    docs.serve(
        "/cert.pem",
        Doc::raw("application/pem-certificate-chain", "junk"),
    );
    let by_attacker = ES256.signer_from_jwk(&attacker).unwrap();
    let with = |base: &Value, changes: Value| {
        let mut v = base.clone();
        for (k, x) in changes.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        v
    };
    let admin_payload = with(
        &payload,
        json!({"aud": format!("{}/admin", app.issuer), "scope": "warden:admin"}),
    );

    let mut forged: Vec<(&str, String)> = Vec::new();
    // Case 106 (alg-none-and-confusion): (a) alg none, in any spelling, with or without
    // the original signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = with(&header, json!({ "alg": alg }));
        forged.push(("alg none", format!("{}.{}.", b64(&h), b64(&payload))));
        forged.push((
            "alg none, signature kept",
            format!("{}.{}.{signature}", b64(&h), b64(&payload)),
        ));
        forged.push((
            "alg none, admin audience",
            format!("{}.{}.", b64(&h), b64(&admin_payload)),
        ));
    }
    // (b) HS256 keyed with the published public key (as JSON, and the whole JWKS).
    let hs = with(&header, json!({"alg": "HS256"}));
    for secret in [public_jwk.clone(), published.to_string()] {
        let signer = HS256.signer_from_bytes(secret.as_bytes()).unwrap();
        forged.push(("HS256 with the public key", signed(&hs, &payload, &signer)));
        forged.push((
            "HS256, admin audience",
            signed(&hs, &admin_payload, &signer),
        ));
    }
    // (c) A real signature over a changed payload, or spliced from another real token.
    for changes in [
        json!({"scope": "mcp:read mcp:write"}),
        json!({"exp": payload["exp"].as_i64().unwrap() + 86_400}),
        json!({"aud": format!("{}/admin", app.issuer), "scope": "warden:admin"}),
        json!({"sub": s.server.client_id, "client_id": s.server.client_id}),
        json!({"gid": "another-grant"}),
    ] {
        let p = with(&payload, changes);
        forged.push((
            "changed payload",
            format!("{}.{}.{signature}", b64(&header), b64(&p)),
        ));
    }
    let (_, _, other_signature) = split(&other);
    forged.push((
        "spliced signature",
        format!("{}.{}.{other_signature}", b64(&header), b64(&payload)),
    ));
    forged.push((
        "typ changed",
        format!(
            "{}.{}.{signature}",
            b64(&with(&header, json!({"typ": "JWT"}))),
            b64(&payload)
        ),
    ));
    // Case 107 (kid-confusion): the attacker's signature under kids that are unknown,
    // path-like, SQL-like, empty, or missing. (Warden has no encryption keys whose kid
    // could be borrowed: the only other key is the master key, which has no kid.)
    for bad_kid in [
        json!("unknown-kid"),
        json!("../../etc/passwd"),
        json!("' OR 1=1--"),
        json!(""),
        json!(format!("{kid}\u{0}")),
        json!(7),
        Value::Null,
    ] {
        let h = with(&header, json!({ "kid": bad_kid }));
        forged.push(("kid confusion", signed(&h, &payload, &by_attacker)));
    }
    // Case 108 (header-key-injection): the attacker's key embedded, or pointed at.
    for extra in [
        json!({"jwk": attacker_public}),
        json!({"jwk": attacker_public, "kid": "attacker"}),
        json!({"jku": docs.url("/jwks.json")}),
        json!({"jku": docs.url("/jwks.json"), "kid": "attacker"}),
        json!({"x5u": docs.url("/cert.pem")}),
        json!({"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
    ] {
        let h = with(&header, extra);
        forged.push(("injected key", signed(&h, &payload, &by_attacker)));
        forged.push((
            "injected key, admin audience",
            signed(&h, &admin_payload, &by_attacker),
        ));
    }

    // Controls: the real tokens are accepted where the forgeries are sent.
    assert_eq!(app.introspect(&s.server, &real).await["active"], true);
    let (status, _) = app
        .admin_call(&s.admin_token, Method::GET, "/clients", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(exchange(&app, &exchanger, &real).await.status(), 200);

    for (why, token) in &forged {
        assert_eq!(
            app.introspect(&s.server, token).await,
            json!({"active": false}),
            "{why}: {token}"
        );
        let (status, body) = app.admin_call(token, Method::GET, "/clients", None).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"], "invalid_token", "{why}: {body}");
        assert_oauth_error(
            exchange(&app, &exchanger, token).await,
            400,
            "invalid_request",
        )
        .await;
        // Revoking a forgery of the agent's own token must not touch the real grant.
        let response = app
            .post_form("/revoke", &[("token", token)], Some(&s.agent))
            .await;
        assert_eq!(response.status(), 200, "{why}");
    }
    assert_eq!(
        app.introspect(&s.server, &real).await["active"],
        true,
        "no forgery revoked the real grant"
    );
    assert_eq!(docs.hits(), 0, "no jku, x5u or anything else was fetched");
}

#[tokio::test]
async fn the_jwks_publishes_only_public_signing_keys_with_unique_ids() {
    // Case 104 (jwks-public-only), for every algorithm Warden signs with, with two keys
    // published (one rotated in).
    for alg in ["ES256", "EdDSA", "RS256"] {
        let app = spawn_app_with(&[("WARDEN_SIGNING_ALG", alg)]).await;
        let now = now(&app);
        let rotated =
            keys::generate(app.state.settings.signing_alg, &app.state.master_key).unwrap();
        app.state
            .store
            .insert_rotated_signing_key(
                &rotated.row(now, now + 600),
                &warden::domain::AuditEvent::new(
                    warden::domain::AuditKind::KeyRotated,
                    warden::domain::Actor::cli(),
                    now,
                ),
            )
            .await
            .unwrap();
        warden::startup::reload_keys(&app.state).await.unwrap();
        let response = app.get("/jwks.json").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/jwk-set+json"
        );
        let set: Value = response.json().await.unwrap();
        assert_eq!(set.as_object().unwrap().len(), 1, "only keys: {set}");
        let published = set["keys"].as_array().unwrap();
        assert_eq!(published.len(), 2, "{set}");
        let mut seen = HashSet::new();
        for key in published {
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(key.get(private).is_none(), "{alg}: {private} in {key}");
            }
            assert_ne!(key["kty"], "oct", "{key}");
            assert_eq!(key["use"], "sig", "{key}");
            assert_eq!(key["alg"], alg, "{key}");
            let kid = key["kid"].as_str().unwrap();
            assert!(!kid.is_empty());
            assert!(seen.insert(kid.to_owned()), "duplicate kid {kid}");
            // It parses as a public key of its type.
            let jwk = Jwk::from_bytes(key.to_string().as_bytes()).unwrap();
            assert!(jwk.parameter("d").is_none());
        }
        assert!(seen.contains(&rotated.kid));
    }
}

#[tokio::test]
async fn the_jwks_cache_lifetime_fits_inside_the_key_activation_delay_and_has_an_etag() {
    // Case 112 (jwks-cache-headers): a resource server that caches the JWKS for max-age
    // must see a rotated-in key before it signs, i.e. max-age <= the activation delay,
    // whatever the delay is set to; and an ETag lets it revalidate cheaply.
    let mut problems: Vec<String> = Vec::new();
    for delay in ["600", "60"] {
        let app = spawn_app_with(&[("WARDEN_KEY_ACTIVATION_DELAY", delay)]).await;
        let response = app.get("/jwks.json").await;
        assert_eq!(response.status(), 200);
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        let max_age: i64 = cache
            .split(',')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("max-age="))
            .unwrap_or_else(|| panic!("no max-age in {cache}"))
            .parse()
            .unwrap();
        assert!(max_age > 0, "{cache}");
        // max-age never outlasts the activation delay (the settings accept any delay down
        // to the key refresh interval); it was a constant 300 before this sweep.
        if max_age > delay.parse::<i64>().unwrap() {
            problems.push(format!(
                "WARDEN_KEY_ACTIVATION_DELAY={delay}: Cache-Control {cache:?} lets a resource server keep a JWKS without the next key after that key starts signing"
            ));
        }
        // An ETag, so a client can revalidate.
        match response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
        {
            None => problems.push(format!("delay {delay}: the JWKS response has no ETag")),
            Some(etag) => {
                assert!(etag.starts_with('"') || etag.starts_with("W/\""), "{etag}");
                let again = app
                    .http
                    .get(app.url("/jwks.json"))
                    .header("if-none-match", &etag)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(again.status(), 304, "a matching ETag revalidates");
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_old_ones_stay_valid_to_their_end() {
    let app = spawn_app_with(&[
        ("WARDEN_ACCESS_TOKEN_TTL", "900"),
        ("WARDEN_ACCESS_TOKEN_MAX_TTL", "3600"),
        // The test reloads keys itself, at the times it sets.
        ("WARDEN_KEY_REFRESH_INTERVAL", "600"),
    ])
    .await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let at1 = user_token(&app, &setup.client, &mut browser).await;
    let issued_at = now(&app);

    // Case 105 (at-shape): a user's token from the code flow (client credentials tokens:
    // client_credentials::an_agent_gets_an_audience_bound_jwt_that_verifies_against_the_jwks).
    let set = jwks(&app).await;
    let (header, claims, _) = split(&at1);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["alg"], set["keys"][0]["alg"]);
    assert!(verifies_against(&set, &at1));
    assert_eq!(claims["iss"], app.issuer);
    assert_eq!(claims["aud"], "https://mcp.example.com");
    assert_eq!(claims["sub"], app.user_id("alice").await);
    assert_eq!(claims["client_id"], setup.client.client_id);
    assert_eq!(claims["scope"], "mcp:read");
    let iat = claims["iat"].as_i64().unwrap();
    assert!((issued_at - iat).abs() <= 5, "{claims}");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - iat,
        900,
        "the configured TTL"
    );
    assert!(
        claims["jti"].as_str().is_some_and(|j| j.len() >= 16),
        "{claims}"
    );
    assert!(claims["gid"].is_string(), "{claims}");
    let again = user_token(&app, &setup.client, &mut browser).await;
    assert_ne!(split(&again).1["jti"], claims["jti"], "jti is unique");

    // Case 109 (key-rotation-overlap): rotate as an operator does.
    let k1 = kid_of(&at1);
    let rotated = stdout_json(&app.cli(&["keys", "rotate"]));
    let k2 = rotated["kid"].as_str().unwrap().to_owned();
    let activate_at = rotated["activate_at"].as_i64().unwrap();
    warden::startup::reload_keys(&app.state).await.unwrap();
    assert_eq!(kids(&jwks(&app).await), vec![k1.clone(), k2.clone()]);
    assert_eq!(
        kid_of(&user_token(&app, &setup.client, &mut browser).await),
        k1,
        "not signing yet"
    );
    app.clock.advance(activate_at - now(&app));
    warden::startup::reload_keys(&app.state).await.unwrap();
    let at2 = user_token(&app, &setup.client, &mut browser).await;
    assert_eq!(kid_of(&at2), k2);
    let set = jwks(&app).await;
    assert!(verifies_against(&set, &at2));
    assert!(verifies_against(&set, &at1), "the old token still verifies");
    assert_eq!(app.introspect(&setup.server, &at1).await["active"], true);
    assert_eq!(app.introspect(&setup.server, &at2).await["active"], true);
    // The old key outlives the last token it signed by the JWKS cache lifetime (300 s).
    let at1_exp = claims["exp"].as_i64().unwrap();
    app.clock.advance(at1_exp - 1 - now(&app));
    warden::startup::reload_keys(&app.state).await.unwrap();
    assert_eq!(app.introspect(&setup.server, &at1).await["active"], true);
    app.clock.advance(1);
    assert_eq!(
        app.introspect(&setup.server, &at1).await["active"],
        false,
        "expired"
    );
    assert!(kids(&jwks(&app).await).contains(&k1));
    // K1 may have signed until K2 activated; those tokens live at most the maximum TTL.
    app.clock.advance(activate_at + 3600 + 290 - now(&app));
    warden::startup::reload_keys(&app.state).await.unwrap();
    assert!(
        kids(&jwks(&app).await).contains(&k1),
        "kept for the max TTL plus 300 s"
    );
    app.clock.advance(20);
    warden::startup::reload_keys(&app.state).await.unwrap();
    assert_eq!(kids(&jwks(&app).await), vec![k2.clone()], "then withdrawn");
}

#[tokio::test]
async fn every_node_publishes_a_rotated_key_before_any_node_signs_with_it() {
    // Case 110 (key-publish-before-use): two nodes on one database re-read keys every
    // second; a key rotated in by the CLI activates 3 s later by the wall clock, which the
    // nodes' test clocks follow here. In real time, each node's JWKS is fetched before each
    // token is issued: a token's kid must be in both.
    let db = TestDb::new().await;
    let settings = [
        ("WARDEN_KEY_REFRESH_INTERVAL", "1"),
        ("WARDEN_KEY_ACTIVATION_DELAY", "3"),
    ];
    let a = spawn_app_on(db.clone(), &settings).await;
    let mut b_settings = settings.to_vec();
    b_settings.push(("WARDEN_ISSUER", &a.issuer));
    let b = spawn_app_on(db.clone(), &b_settings).await;
    let s = setup(&a).await;
    let rotated = stdout_json(&a.cli(&["keys", "rotate"]));
    let k2 = rotated["kid"].as_str().unwrap().to_owned();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut signed_with_k2 = [false, false];
    while signed_with_k2 != [true, true] {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated key never signed on both nodes"
        );
        a.catch_up_with_wall_clock();
        b.catch_up_with_wall_clock();
        let published = [kids(&jwks(&a).await), kids(&jwks(&b).await)];
        for (i, node) in [&a, &b].into_iter().enumerate() {
            let token = node.client_credentials(&s.agent, None, None).await;
            let kid = kid_of(token["access_token"].as_str().unwrap());
            for (j, set) in published.iter().enumerate() {
                assert!(
                    set.contains(&kid),
                    "node {i} signed with {kid}, which node {j} did not publish: {set:?}"
                );
            }
            if kid == k2 {
                signed_with_k2[i] = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! Hostile-input sweep, security.md §5 I (cases 86–90): revocation and introspection. What
//! another client's revocation changes, who may introspect, what an inactive token
//! reveals, and revocations across a restart. Case 86 is
//! `authorization_code::revoking_a_refresh_token_ends_its_grant_and_access_tokens`.

use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::JwtPayload;
use serde_json::json;

use super::support::{
    another_ide, assemble, is_active, json_error, ok_json, refresh, refresh_token, tokens,
};
use crate::helpers::assertions::ec_key;
use crate::helpers::browser::{Browser, REDIRECT, interactive};
use crate::helpers::tokens::access;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestClient, setup, spawn_app, spawn_app_on};

#[tokio::test]
async fn another_clients_revocation_changes_nothing_and_introspection_needs_a_real_client() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let other = another_ide(&app, &setup, "Other IDE", false).await;
    let public = another_ide(&app, &setup, "public IDE", true).await;
    let mut browser = Browser::new();
    let token = tokens(&app, &setup.client, &mut browser, &[]).await;
    let (at, rt) = (access(&token), refresh_token(&token));

    // Case 87 (revoke-other-clients-token): another confidential client, and a public client
    // naming itself, revoke A's access and refresh tokens (with and without hints, right and
    // wrong): 200 each time, nothing learnt, and A's tokens live on.
    let attempts: [(&TestClient, &[(&str, &str)]); 6] = [
        (&other, &[("token", at)]),
        (
            &other,
            &[("token", at), ("token_type_hint", "access_token")],
        ),
        (
            &other,
            &[("token", rt), ("token_type_hint", "refresh_token")],
        ),
        (
            &other,
            &[("token", rt), ("token_type_hint", "access_token")],
        ),
        (&public, &[("token", rt)]),
        (&public, &[("token", at)]),
    ];
    for (caller, form) in attempts {
        let mut form = form.to_vec();
        let basic = if caller.client_secret.is_empty() {
            form.push(("client_id", &caller.client_id));
            None
        } else {
            Some(caller)
        };
        let response = app.post_form("/revoke", &form, basic).await;
        assert_eq!(response.status(), 200, "{form:?}");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    assert!(is_active(&app, &setup.server, at).await);
    // An unknown or malformed token is 200 as well (RFC 7009 §2.2).
    for junk in ["unknown", "a.b.c", &"x".repeat(43)] {
        let response = app
            .post_form("/revoke", &[("token", junk)], Some(&other))
            .await;
        assert_eq!(response.status(), 200, "{junk}");
    }
    let rotated = ok_json(refresh(&app, &setup.client, rt, &[]).await).await;
    assert!(is_active(&app, &setup.server, access(&rotated)).await);

    // Case 88 (introspection-requires-auth-and-audience): a wrong secret is 401 like no
    // credentials at all (introspection::introspection_requires_client_authentication_...);
    // the resource's own server sees the claims (introspection::the_resource_server_...).
    let wrong = TestClient {
        client_secret: format!("{}x", &setup.server.client_secret[..42]),
        ..setup.server.clone()
    };
    let response = app
        .post_form("/introspect", &[("token", access(&rotated))], Some(&wrong))
        .await;
    json_error(response, 401, "invalid_client").await;
    // A public client proves nothing by naming itself: the admin API refuses to let one
    // serve a resource, and /introspect refuses every public caller.
    let (status, body) = app
        .admin_call(
            &setup.admin_token,
            reqwest::Method::POST,
            "/clients",
            Some(
                json!({"name": "public resource server", "grant_types": ["authorization_code"],
                   "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                   "served_resources": [setup.resource_uri]}),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "served_resources");
    let response = app
        .post_form(
            "/introspect",
            &[
                ("token", access(&rotated)),
                ("client_id", public.client_id.as_str()),
            ],
            None,
        )
        .await;
    json_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn inactive_tokens_introspect_as_bare_active_false_and_revocations_survive_a_restart() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let second_agent = app
        .create_client(
            &s.admin_token,
            json!({"name": "second agent", "grant_types": ["client_credentials"], "resources": [s.resource_uri]}),
        )
        .await;
    let revoked = access(&app.client_credentials(&s.agent, None, None).await).to_owned();
    let live = access(&app.client_credentials(&second_agent, None, None).await).to_owned();
    let response = app
        .post_form("/revoke", &[("token", &revoked)], Some(&s.agent))
        .await;
    assert_eq!(response.status(), 200);

    // Case 89 (introspection-inactive-minimal): revoked, malformed, forged and other-issuer
    // tokens all answer exactly {"active": false}, nothing more. (The timing half of the
    // case is not asserted: a timing test would be flaky on a shared CI machine.)
    let kid = josekit::jwt::decode_header(&live)
        .unwrap()
        .claim("kid")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = ec_key(EcCurve::P256, &kid);
    let mut claims =
        JwtPayload::from_map(decode_claims(&live).as_object().unwrap().clone()).unwrap();
    let mut at_header = JwsHeader::new();
    at_header.set_token_type("at+jwt");
    at_header.set_key_id(&kid);
    let signer = ES256.signer_from_jwk(&stranger.private).unwrap();
    let our_claims_their_key =
        josekit::jwt::encode_with_signer(&claims, &at_header, &signer).unwrap();
    claims.set_issuer("https://other-issuer.example.com");
    let other_issuer = josekit::jwt::encode_with_signer(&claims, &at_header, &signer).unwrap();
    let unsigned = assemble(
        &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
        &JwtPayload::from_map(decode_claims(&live).as_object().unwrap().clone()).unwrap(),
        b"",
    );
    let mut flipped = live.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for (why, token) in [
        ("revoked", revoked.as_str()),
        ("malformed", "not-a-token"),
        ("three segments of junk", "a.b.c"),
        ("a flipped signature", &flipped),
        (
            "our claims, another key under our kid",
            &our_claims_their_key,
        ),
        ("another issuer", &other_issuer),
        ("alg none", &unsigned),
    ] {
        assert_eq!(
            app.introspect(&s.server, token).await,
            json!({"active": false}),
            "{why}"
        );
    }
    assert!(is_active(&app, &s.server, &live).await);

    // Case 90 (revocation-survives-restart): stop the server, start a new one on the same
    // database and issuer: the revoked token is still inactive, the live one still active
    // (so the answer is the stored revocation, not a changed key or issuer).
    let (db, issuer) = (app.db.clone(), app.issuer.clone());
    app.stop().await;
    drop(app);
    let restarted = spawn_app_on(db, &[("WARDEN_ISSUER", issuer.as_str())]).await;
    assert_eq!(restarted.issuer, issuer);
    assert_eq!(
        restarted.introspect(&s.server, &revoked).await,
        json!({"active": false})
    );
    assert!(is_active(&restarted, &s.server, &live).await);

    // And the expired half of case 89: past its lifetime the live token is bare inactive.
    restarted.clock.advance(601);
    assert_eq!(
        restarted.introspect(&s.server, &live).await,
        json!({"active": false})
    );
}

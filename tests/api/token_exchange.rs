//! Token exchange (RFC 8693): an MCP server trades the user's token it received for a
//! token to a downstream resource. Delegation (`act`, nested), the confused-deputy check,
//! downstream links with scope maps and impersonation, revocation through the user's
//! grant, the audit log, and subject tokens from trusted external issuers.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, HS256, JwsHeader};
use josekit::jwt::JwtPayload;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::exchange::{
    A, ACCESS_TOKEN_TYPE, B, TOKEN_EXCHANGE, admin, arrange, exchange, issued, link, registry,
    user_token,
};
use crate::helpers::tokens::access;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, setup, spawn_app, spawn_app_with};

const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A tool the API calls in turn.
const C: &str = "https://tools.example.com";

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");

// ---------------------------------------------------------------------------------------
// The arrangement every test starts from.

/// The (unverified) claims of a JWT.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn scopes(value: &Value) -> BTreeSet<String> {
    value
        .as_str()
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect()
}

fn now(app: &TestApp) -> i64 {
    warden::clock::Clock::now(&*app.clock)
}

// ---------------------------------------------------------------------------------------
// Delegation.

#[tokio::test]
async fn an_mcp_server_exchanges_the_users_token_for_a_delegated_token_to_its_downstream_api() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let body = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "mcp:read");
    assert!(body["expires_in"].as_i64().unwrap() <= subject["expires_in"].as_i64().unwrap());

    let token = access(&body);
    let c = claims(token);
    assert_eq!(c["iss"], app.issuer);
    assert_eq!(c["sub"], fx.user_id, "the user stays the subject");
    assert_eq!(c["aud"], B);
    assert_eq!(c["client_id"], fx.s.client_id);
    assert_eq!(c["scope"], "mcp:read");
    assert_eq!(
        c["act"],
        json!({"sub": fx.s.client_id, "client_id": fx.s.client_id}),
        "RFC 8693 §4.1: the caller acts for the user"
    );
    assert!(c["exp"].as_i64().unwrap() <= claims(access(&subject))["exp"].as_i64().unwrap());

    let seen = app.introspect(&fx.b_server, token).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["sub"], fx.user_id);
    assert_eq!(seen["aud"], B);
    assert_eq!(seen["client_id"], fx.s.client_id);
    assert_eq!(seen["scope"], "mcp:read");
    assert_eq!(seen["act"]["sub"], fx.s.client_id);
    // A's server learns nothing of a token for B.
    assert_eq!(app.introspect(&fx.a_server, token).await["active"], false);

    // The target may be named with audience, or with both parameters when they agree;
    // the jwt token type names our access tokens too. No scope: everything that reaches B.
    let by_audience = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("audience", B), ("subject_token_type", JWT_TYPE)],
        )
        .await,
    )
    .await;
    assert_eq!(
        scopes(&by_audience["scope"]),
        scopes(&json!("mcp:read mcp:write"))
    );
    issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("audience", "https://api.example.com/")],
        )
        .await,
    )
    .await;

    // The new token never outlives the subject token.
    app.clock.advance(500);
    let before = now(&app);
    let late = issued(exchange(&app, &fx.s, access(&subject), &[("resource", B)]).await).await;
    let subject_exp = claims(access(&subject))["exp"].as_i64().unwrap();
    assert!(
        late["expires_in"].as_i64().unwrap() <= subject_exp - before,
        "{late}"
    );
    assert!(late["expires_in"].as_i64().unwrap() <= 100, "{late}");
    assert!(claims(access(&late))["exp"].as_i64().unwrap() <= subject_exp);
}

#[tokio::test]
async fn a_delegated_token_exchanged_again_nests_the_act_claim() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    app.create_resource(
        &fx.admin_token,
        json!({"uri": C, "name": "Tools", "scopes": ["mcp:read"]}),
    )
    .await;
    let s2 = app
        .create_client(
            &fx.admin_token,
            json!({"name": "api server S2", "grant_types": [TOKEN_EXCHANGE], "served_resources": [B]}),
        )
        .await;
    let c_server = app
        .create_client(
            &fx.admin_token,
            json!({"name": "tools server", "grant_types": ["client_credentials"], "served_resources": [C]}),
        )
        .await;
    link(&app, &fx.admin_token, B, json!([{"target": C}])).await;

    let first = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    let second = issued(exchange(&app, &s2, access(&first), &[("resource", C)]).await).await;
    assert_eq!(second["scope"], "mcp:read");
    let c = claims(access(&second));
    assert_eq!(c["sub"], fx.user_id);
    assert_eq!(c["aud"], C);
    assert_eq!(c["client_id"], s2.client_id);
    assert_eq!(
        c["act"],
        json!({"sub": s2.client_id, "client_id": s2.client_id,
               "act": {"sub": fx.s.client_id, "client_id": fx.s.client_id}}),
        "RFC 8693 §4.1: the current actor outermost, the earlier one nested"
    );
    let seen = app.introspect(&c_server, access(&second)).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["act"]["act"]["sub"], fx.s.client_id);

    // S cannot take the same step: it does not serve B.
    assert_oauth_error(
        exchange(&app, &fx.s, access(&first), &[("resource", C)]).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_client_that_does_not_serve_the_tokens_audience_cannot_exchange_it() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let other = "https://other.example.com";
    app.create_resource(
        &fx.admin_token,
        json!({"uri": other, "name": "Other MCP", "scopes": ["mcp:read", "mcp:write"]}),
    )
    .await;
    link(&app, &fx.admin_token, other, json!([{"target": B}])).await;
    let deputy = app
        .create_client(
            &fx.admin_token,
            json!({"name": "other server", "grant_types": [TOKEN_EXCHANGE], "served_resources": [other]}),
        )
        .await;
    let body = assert_oauth_error(
        exchange(
            &app,
            &deputy,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("serve"),
        "{body}"
    );
    // A client serving nothing at all fares no better.
    let nobody = app
        .create_client(
            &fx.admin_token,
            json!({"name": "nobody", "grant_types": [TOKEN_EXCHANGE]}),
        )
        .await;
    assert_oauth_error(
        exchange(&app, &nobody, access(&subject), &[("resource", B)]).await,
        400,
        "invalid_request",
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Targets and scopes.

#[tokio::test]
async fn the_target_must_be_one_registered_enabled_downstream_of_the_subjects_audience() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    app.create_resource(
        &fx.admin_token,
        json!({"uri": C, "name": "Tools", "scopes": ["mcp:read"]}),
    )
    .await;
    let admin_api = format!("{}/admin", app.issuer);
    let token = access(&subject);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("registered but not linked", vec![("resource", C)]),
        ("unknown", vec![("resource", "https://unknown.example.com")]),
        (
            "unknown, by audience",
            vec![("audience", "https://unknown.example.com")],
        ),
        ("two targets", vec![("resource", B), ("audience", C)]),
        ("two resources", vec![("resource", B), ("resource", C)]),
        ("no target", vec![]),
        ("not a URI", vec![("resource", "api.example.com")]),
        ("the subject's own audience", vec![("resource", A)]),
        ("the admin API", vec![("resource", &admin_api)]),
    ];
    for (case, extra) in &cases {
        let response = exchange(&app, &fx.s, token, extra).await;
        assert_eq!(response.status(), 400, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_target", "{case}: {body}");
    }

    // A disabled target is no target, even while linked.
    let b_id = app.resource_id(B).await;
    issued(exchange(&app, &fx.s, token, &[("resource", B)]).await).await;
    let (status, _) = admin(
        &app,
        &fx.admin_token,
        Method::POST,
        &format!("/resources/{b_id}/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_oauth_error(
        exchange(&app, &fx.s, token, &[("resource", B)]).await,
        400,
        "invalid_target",
    )
    .await;
}

#[tokio::test]
async fn scopes_only_narrow_unless_the_link_maps_them() {
    let app = spawn_app().await;
    let fx = registry(&app).await;
    let narrow = user_token(&app, &fx.ide, "mcp:read").await;
    let token = access(&narrow);

    for scope in ["mcp:write", "mcp:read mcp:write", "api:read"] {
        let body = assert_oauth_error(
            exchange(&app, &fx.s, token, &[("resource", B), ("scope", scope)]).await,
            400,
            "invalid_scope",
        )
        .await;
        assert!(body["error_description"].is_string(), "{scope}: {body}");
    }
    let same = issued(exchange(&app, &fx.s, token, &[("resource", B)]).await).await;
    assert_eq!(same["scope"], "mcp:read");

    // A mapping from a scope the subject lacks gives nothing.
    link(
        &app,
        &fx.admin_token,
        A,
        json!([{"target": B, "scope_map": {"mcp:write": ["api:read"]}}]),
    )
    .await;
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            token,
            &[("resource", B), ("scope", "api:read")],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;

    // Mapped from one the subject carries: allowed, and part of the default.
    let stored = link(
        &app,
        &fx.admin_token,
        A,
        json!([{"target": B, "scope_map": {"mcp:read": ["api:read"]}}]),
    )
    .await;
    assert_eq!(
        stored["items"][0]["scope_map"],
        json!({"mcp:read": ["api:read"]})
    );
    let mapped = issued(
        exchange(
            &app,
            &fx.s,
            token,
            &[("resource", B), ("scope", "api:read")],
        )
        .await,
    )
    .await;
    assert_eq!(mapped["scope"], "api:read");
    assert_eq!(claims(access(&mapped))["scope"], "api:read");
    let both = issued(exchange(&app, &fx.s, token, &[("resource", B)]).await).await;
    assert_eq!(scopes(&both["scope"]), scopes(&json!("mcp:read api:read")));
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            token,
            &[("resource", B), ("scope", "api:read mcp:write")],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;

    // A target that accepts none of the subject's scopes: nothing to issue.
    app.create_resource(
        &fx.admin_token,
        json!({"uri": C, "name": "Write-only tools", "scopes": ["mcp:write"]}),
    )
    .await;
    link(
        &app,
        &fx.admin_token,
        A,
        json!([{"target": B}, {"target": C}]),
    )
    .await;
    assert_oauth_error(
        exchange(&app, &fx.s, token, &[("resource", C)]).await,
        400,
        "invalid_scope",
    )
    .await;
}

#[tokio::test]
async fn downstream_links_are_validated_and_read_back() {
    let app = spawn_app().await;
    let fx = registry(&app).await;
    let a_id = app.resource_id(A).await;
    let path = format!("/resources/{a_id}/downstreams");
    let bad = [
        (json!([{"target": "https://unknown.example.com"}]), "target"),
        (json!([{"target": A}]), "target"),
        (
            json!([{"target": B}, {"target": "https://api.example.com/"}]),
            "target",
        ),
        (
            json!([{"target": B, "scope_map": {"api:read": ["api:read"]}}]),
            "scope_map",
        ),
        (
            json!([{"target": B, "scope_map": {"mcp:read": ["warden:admin"]}}]),
            "scope_map",
        ),
        (
            json!([{"target": B, "impersonation_clients": ["no-such-client"]}]),
            "impersonation_clients",
        ),
        (
            json!([{"target": format!("{}/admin", app.issuer)}]),
            "target",
        ),
    ];
    for (body, field) in bad {
        let (status, answer) = admin(
            &app,
            &fx.admin_token,
            Method::PUT,
            &path,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(answer.to_string().contains(field), "{body}: {answer}");
    }
    let (status, read) = admin(&app, &fx.admin_token, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        read["items"],
        json!([{"target": B, "scope_map": {}, "impersonation_clients": []}]),
        "a refused PUT changes nothing"
    );
    link(&app, &fx.admin_token, A, json!([])).await;
    let (_, read) = admin(&app, &fx.admin_token, Method::GET, &path, None).await;
    assert_eq!(read["items"], json!([]));
    let (status, _) = admin(
        &app,
        &fx.admin_token,
        Method::GET,
        "/resources/nope/downstreams",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = admin(&app, &fx.s.client_secret, Method::GET, &path, None).await;
    assert_eq!(status, 401);
}

// ---------------------------------------------------------------------------------------
// Bad subjects and bad callers.

#[tokio::test]
async fn revoked_expired_forged_foreign_or_missing_subject_tokens_are_invalid_requests() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let token = access(&subject);

    // Forged: the payload widened, the signature kept.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged_claims = claims(token);
    forged_claims["scope"] = "mcp:read mcp:write api:read".into();
    parts[1] = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    let forged = parts.join(".");
    // Foreign: a token from another Warden, for a resource of the same name.
    let elsewhere = spawn_app().await;
    let other = setup(&elsewhere).await;
    let foreign = elsewhere
        .client_credentials(&other.agent, Some("https://mcp.example.com/mcp"), None)
        .await;
    // HMAC over our own issuer's name.
    let mut payload = JwtPayload::new();
    payload.set_issuer(&app.issuer);
    payload.set_subject(&fx.user_id);
    payload.set_audience(vec![A]);
    payload
        .set_claim("exp", Some(json!(now(&app) + 300)))
        .unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    let hmac = josekit::jwt::encode_with_signer(
        &payload,
        &header,
        &HS256
            .signer_from_bytes(b"0123456789abcdef0123456789abcdef")
            .unwrap(),
    )
    .unwrap();

    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("garbage", vec![("subject_token", "not-a-token")]),
        ("three dots of garbage", vec![("subject_token", "a.b.c")]),
        ("forged", vec![("subject_token", &forged)]),
        ("foreign", vec![("subject_token", access(&foreign))]),
        ("hmac", vec![("subject_token", &hmac)]),
        ("missing", vec![("subject_token", "")]),
        ("no type", vec![("subject_token_type", "")]),
        (
            "unsupported type",
            vec![(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            )],
        ),
        (
            "saml",
            vec![(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:saml2",
            )],
        ),
        (
            "refresh token requested",
            vec![(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            )],
        ),
        ("actor token without a type", vec![("actor_token", token)]),
    ];
    for (case, mut extra) in cases {
        extra.push(("resource", B));
        let response = exchange(&app, &fx.s, token, &extra).await;
        assert_eq!(response.status(), 400, "{case}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{case}: {body}");
    }
    // The refresh token is not an access token, whatever its type says.
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            subject["refresh_token"].as_str().unwrap(),
            &[("resource", B)],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;

    // The subject itself was fine all along.
    issued(exchange(&app, &fx.s, token, &[("resource", B)]).await).await;

    // Revoked by the client it was issued to (RFC 7009).
    let response = app
        .post_form("/revoke", &[("token", token)], Some(&fx.ide))
        .await;
    assert_eq!(response.status(), 200);
    let body = assert_oauth_error(
        exchange(&app, &fx.s, token, &[("resource", B)]).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    // Revoked by an admin.
    let second = user_token(&app, &fx.ide, "mcp:read").await;
    issued(exchange(&app, &fx.s, access(&second), &[("resource", B)]).await).await;
    let gid = claims(access(&second))["gid"].as_str().unwrap().to_owned();
    let (status, _) = admin(
        &app,
        &fx.admin_token,
        Method::POST,
        &format!("/grants/{gid}/revoke"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_oauth_error(
        exchange(&app, &fx.s, access(&second), &[("resource", B)]).await,
        400,
        "invalid_request",
    )
    .await;

    // Expired.
    let third = user_token(&app, &fx.ide, "mcp:read").await;
    issued(exchange(&app, &fx.s, access(&third), &[("resource", B)]).await).await;
    app.clock.advance(601);
    assert_oauth_error(
        exchange(&app, &fx.s, access(&third), &[("resource", B)]).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn only_authenticated_confidential_clients_with_the_grant_type_may_exchange() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let token = access(&subject);
    // A's own server, without the grant type; the IDE, neither.
    for caller in [&fx.a_server, &fx.ide] {
        assert_oauth_error(
            exchange(&app, caller, token, &[("resource", B)]).await,
            400,
            "unauthorized_client",
        )
        .await;
    }
    let wrong = TestClient {
        client_id: fx.s.client_id.clone(),
        client_secret: "not-the-secret".into(),
    };
    let response = exchange(&app, &wrong, token, &[("resource", B)]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let unknown = TestClient {
        client_id: "no-such-client".into(),
        client_secret: "whatever".into(),
    };
    assert_oauth_error(
        exchange(&app, &unknown, token, &[("resource", B)]).await,
        401,
        "invalid_client",
    )
    .await;
    // No credentials at all.
    let form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", token),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("resource", B),
        ("client_id", fx.s.client_id.as_str()),
    ];
    let response = app.post_form("/token", &form, None).await;
    assert!(
        matches!(response.status().as_u16(), 400 | 401),
        "{}",
        response.status()
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        matches!(
            body["error"].as_str(),
            Some("invalid_client" | "unauthorized_client")
        ),
        "{body}"
    );

    // A public client cannot even be given the grant type.
    let (status, body) = admin(
        &app,
        &fx.admin_token,
        Method::POST,
        "/clients",
        Some(
            json!({"name": "public exchanger", "grant_types": [TOKEN_EXCHANGE],
                    "served_resources": [A], "token_endpoint_auth_method": "none"}),
        ),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    // Taking the grant type away stops the client.
    let (status, body) = admin(
        &app,
        &fx.admin_token,
        Method::PATCH,
        &format!("/clients/{}", fx.s.client_id),
        Some(json!({"grant_types": ["client_credentials"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_oauth_error(
        exchange(&app, &fx.s, token, &[("resource", B)]).await,
        400,
        "unauthorized_client",
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Impersonation, revocation, audit.

#[tokio::test]
async fn a_client_allowed_to_impersonate_gets_a_token_without_act() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let delegate = app
        .create_client(
            &fx.admin_token,
            json!({"name": "another server of A", "grant_types": [TOKEN_EXCHANGE], "served_resources": [A]}),
        )
        .await;
    let stored = link(
        &app,
        &fx.admin_token,
        A,
        json!([{"target": B, "impersonation_clients": [fx.s.client_id]}]),
    )
    .await;
    assert_eq!(
        stored["items"][0]["impersonation_clients"],
        json!([fx.s.client_id])
    );

    let body = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    let c = claims(access(&body));
    assert!(c.get("act").is_none(), "{c}");
    assert_eq!(c["sub"], fx.user_id);
    assert_eq!(c["aud"], B);
    assert_eq!(c["client_id"], fx.s.client_id);
    let seen = app.introspect(&fx.b_server, access(&body)).await;
    assert_eq!(seen["active"], true);
    assert!(seen.get("act").is_none(), "{seen}");

    // Only the listed client impersonates; another still delegates.
    let other = issued(exchange(&app, &delegate, access(&subject), &[("resource", B)]).await).await;
    assert_eq!(claims(access(&other))["act"]["sub"], delegate.client_id);
}

#[tokio::test]
async fn revoking_the_users_grant_deactivates_the_exchanged_token() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let body = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    let exchanged = access(&body);
    assert_eq!(
        app.introspect(&fx.b_server, exchanged).await["active"],
        true
    );
    // The grant shows up under the client the user authorized.
    let gid = claims(access(&subject))["gid"].as_str().unwrap().to_owned();
    let (status, grants) = admin(
        &app,
        &fx.admin_token,
        Method::GET,
        &format!("/clients/{}/grants", fx.ide.client_id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        grants["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == gid.as_str()),
        "{grants}"
    );
    let (status, revoked) = admin(
        &app,
        &fx.admin_token,
        Method::POST,
        &format!("/grants/{gid}/revoke"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(
        app.introspect(&fx.b_server, exchanged).await["active"],
        false
    );
    assert_eq!(
        app.introspect(&fx.a_server, access(&subject)).await["active"],
        false
    );
    // Nor can the dead token be exchanged onward.
    assert_oauth_error(
        exchange(&app, &fx.s, access(&subject), &[("resource", B)]).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn every_exchange_issued_or_refused_is_in_the_audit_log() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let token = access(&subject);
    issued(
        exchange(
            &app,
            &fx.s,
            token,
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            token,
            &[("resource", B), ("scope", "api:read")],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;
    assert_oauth_error(
        exchange(&app, &fx.s, token, &[("resource", C)]).await,
        400,
        "invalid_target",
    )
    .await;
    assert_oauth_error(
        exchange(&app, &fx.s, "garbage", &[("resource", B)]).await,
        400,
        "invalid_request",
    )
    .await;

    let (status, page) = admin(&app, &fx.admin_token, Method::GET, "/exchanges", None).await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{page}");
    assert!(page.get("next").is_none_or(Value::is_null), "{page}");
    for item in items {
        assert_eq!(item["client_id"], fx.s.client_id, "{item}");
    }
    let find = |outcome: &str, reason: &str| -> Value {
        items
            .iter()
            .find(|i| i["outcome"] == outcome && i["reason"].as_str().unwrap().starts_with(reason))
            .unwrap_or_else(|| panic!("no {outcome} {reason} entry in {page}"))
            .clone()
    };
    let ok = find("issued", "");
    assert_eq!(ok["subject"], fx.user_id);
    assert_eq!(ok["source"], A);
    assert_eq!(ok["target"], B);
    assert_eq!(ok["scope"], "mcp:read");
    assert_eq!(ok["actor"], fx.s.client_id);
    assert_eq!(ok["reason"], "");
    let scope = find("refused", "invalid_scope");
    assert_eq!(scope["subject"], fx.user_id);
    assert_eq!(scope["source"], A);
    assert_eq!(scope["target"], B);
    let target = find("refused", "invalid_target");
    assert_eq!(target["target"], C);
    let subject_refused = find("refused", "invalid_request");
    assert!(
        subject_refused["reason"].as_str().unwrap().len() > "invalid_request".len(),
        "the reason says why: {subject_refused}"
    );

    // Pages of one, newest first, covering everything exactly once.
    let mut seen = Vec::new();
    let mut path = "/exchanges?limit=1".to_owned();
    loop {
        let (status, page) = admin(&app, &fx.admin_token, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        match page.get("next").and_then(Value::as_str) {
            Some(next) => path = format!("/exchanges?limit=1&before={next}"),
            None => break,
        }
        assert!(seen.len() <= 4, "{seen:?}");
    }
    assert_eq!(seen, *items);
    let (status, _) = admin(
        &app,
        &fx.admin_token,
        Method::GET,
        "/exchanges?limit=0",
        None,
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = admin(&app, token, Method::GET, "/exchanges", None).await;
    assert!(matches!(status, 401 | 403), "{status}");
}

#[tokio::test]
async fn disabling_the_target_or_disabling_or_deleting_the_caller_ends_exchanged_tokens() {
    // README: disabling or deleting the client, or disabling the resource, makes its tokens
    // introspect inactive. An exchanged token's client is the caller and its audience the
    // target, so that must hold for them too.
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let mut callers = vec![fx.s.clone()];
    for name in ["to be disabled", "to be deleted"] {
        callers.push(
            app.create_client(
                &fx.admin_token,
                json!({"name": name, "grant_types": [TOKEN_EXCHANGE], "served_resources": [A]}),
            )
            .await,
        );
    }
    let b_id = app.resource_id(B).await;
    let steps = [
        (
            "disabling the target",
            Method::POST,
            format!("/resources/{b_id}/disable"),
            200,
        ),
        (
            "disabling the caller",
            Method::POST,
            format!("/clients/{}/disable", callers[1].client_id),
            200,
        ),
        (
            "deleting the caller",
            Method::DELETE,
            format!("/clients/{}", callers[2].client_id),
            204,
        ),
    ];
    let mut still_active = Vec::new();
    for ((what, method, path, expected), caller) in steps.into_iter().zip(&callers) {
        let body = issued(exchange(&app, caller, access(&subject), &[("resource", B)]).await).await;
        let token = access(&body);
        assert_eq!(app.introspect(&fx.b_server, token).await["active"], true);
        let (status, answer) = admin(&app, &fx.admin_token, method, &path, None).await;
        assert_eq!(status, expected, "{what}: {answer}");
        if app.introspect(&fx.b_server, token).await["active"] != false {
            still_active.push(what);
        }
        let enable = format!("/resources/{b_id}/enable");
        let (status, _) = admin(&app, &fx.admin_token, Method::POST, &enable, None).await;
        assert_eq!(status, 200);
    }
    assert!(
        still_active.is_empty(),
        "the exchanged token still introspects active after {still_active:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Trusted external issuers.

struct IssuerKey {
    private: Jwk,
    public: Value,
    kid: String,
}

fn es256_key(kid: &str) -> IssuerKey {
    let mut private = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    private.set_key_id(kid);
    let mut public = private.to_public_key().unwrap();
    public.set_key_id(kid);
    IssuerKey {
        private,
        public: serde_json::to_value(public.as_ref()).unwrap(),
        kid: kid.to_owned(),
    }
}

/// Claims of an external access token: `iss`, `aud`, `sub`, `exp`, `iat`, `scope`.
fn external_claims(iss: &str, aud: &str, sub: &str, exp: i64, now: i64) -> JwtPayload {
    let mut payload = JwtPayload::new();
    payload.set_issuer(iss);
    payload.set_audience(vec![aud]);
    payload.set_subject(sub);
    payload.set_claim("exp", Some(json!(exp))).unwrap();
    payload.set_claim("iat", Some(json!(now))).unwrap();
    payload.set_claim("scope", Some(json!("mcp:read"))).unwrap();
    payload
}

fn sign(key: &IssuerKey, payload: &JwtPayload) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(&key.kid);
    let signer = ES256.signer_from_jwk(&key.private).unwrap();
    josekit::jwt::encode_with_signer(payload, &header, &signer).unwrap()
}

/// An unsigned JWT (`alg: none`), crafted by hand.
fn unsigned(kid: &str, payload: &JwtPayload) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

async fn trust(app: &TestApp, admin_token: &str, issuer: &str, jwks_uri: &str, subject: &str) {
    let (status, body) = admin(
        app,
        admin_token,
        Method::POST,
        "/trusted-issuers",
        Some(
            json!({"issuer": issuer, "jwks_uri": jwks_uri, "audience": A,
                    "algorithms": ["ES256"], "subject": subject}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["audience"], A);
    assert_eq!(body["subject"], subject);
}

#[tokio::test]
async fn a_jwt_from_a_trusted_external_issuer_is_exchanged_and_anything_else_is_refused() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let fx = registry(&app).await;
    let key = es256_key("idp-1");
    docs.serve("/jwks.json", Doc::json(&json!({"keys": [key.public]})));
    let issuer = docs.url("/idp");
    trust(
        &app,
        &fx.admin_token,
        &issuer,
        &docs.url("/jwks.json"),
        "keep",
    )
    .await;
    let (status, listed) =
        admin(&app, &fx.admin_token, Method::GET, "/trusted-issuers", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["issuer"], issuer.as_str());
    let t = now(&app);

    let good = sign(&key, &external_claims(&issuer, A, "ext-user", t + 300, t));
    let body = issued(
        exchange(
            &app,
            &fx.s,
            &good,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "mcp:read");
    assert!(body["expires_in"].as_i64().unwrap() <= 300, "{body}");
    let c = claims(access(&body));
    // Kept, but namespaced by its issuer: it cannot pass for a Warden user id.
    assert_eq!(c["sub"], format!("{issuer}#ext-user"));
    assert_eq!(c["aud"], B);
    assert_eq!(c["iss"], app.issuer);
    assert_eq!(c["act"]["sub"], fx.s.client_id);
    let seen = app.introspect(&fx.b_server, access(&body)).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["sub"], format!("{issuer}#ext-user"));
    // An issuer that names a Warden user's id as its subject does not get that user.
    let posing = sign(&key, &external_claims(&issuer, A, &fx.user_id, t + 300, t));
    let body = issued(
        exchange(
            &app,
            &fx.s,
            &posing,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
    )
    .await;
    assert_eq!(
        claims(access(&body))["sub"],
        format!("{issuer}#{}", fx.user_id)
    );
    // The access_token type works for an external JWT too.
    issued(exchange(&app, &fx.s, &good, &[("resource", B)]).await).await;
    // Scopes only narrow for it too.
    let wide = assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            &good,
            &[
                ("subject_token_type", JWT_TYPE),
                ("resource", B),
                ("scope", "mcp:write"),
            ],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;
    assert!(wide["error_description"].is_string());
    // And the confused-deputy check holds: the token is for A, not B.
    let b_exchanger = app
        .create_client(
            &fx.admin_token,
            json!({"name": "B's exchanger", "grant_types": [TOKEN_EXCHANGE], "served_resources": [B]}),
        )
        .await;
    assert_oauth_error(
        exchange(
            &app,
            &b_exchanger,
            &good,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;

    let impostor = es256_key("idp-1");
    let stranger = es256_key("elsewhere");
    let mut no_sub = external_claims(&issuer, A, "x", t + 300, t);
    no_sub.set_subject("");
    let mut someone_else = external_claims(&issuer, A, "ext-user", t + 300, t);
    someone_else
        .set_claim("may_act", Some(json!({"client_id": "someone-else"})))
        .unwrap();
    let mut not_yet = external_claims(&issuer, A, "ext-user", t + 600, t);
    not_yet.set_claim("nbf", Some(json!(t + 300))).unwrap();
    let mut hmac_header = JwsHeader::new();
    hmac_header.set_token_type("JWT");
    hmac_header.set_key_id("idp-1");
    let hmac = josekit::jwt::encode_with_signer(
        &external_claims(&issuer, A, "ext-user", t + 300, t),
        &hmac_header,
        &HS256
            .signer_from_bytes(key.public.to_string().as_bytes())
            .unwrap(),
    )
    .unwrap();
    let cases: Vec<(&str, String)> = vec![
        (
            "another key, same kid",
            sign(
                &impostor,
                &external_claims(&issuer, A, "ext-user", t + 300, t),
            ),
        ),
        (
            "another key, its own kid",
            sign(
                &stranger,
                &external_claims(&issuer, A, "ext-user", t + 300, t),
            ),
        ),
        (
            "wrong audience",
            sign(&key, &external_claims(&issuer, B, "ext-user", t + 300, t)),
        ),
        (
            "alg none",
            unsigned(
                "idp-1",
                &external_claims(&issuer, A, "ext-user", t + 300, t),
            ),
        ),
        ("HMAC with the public key", hmac),
        (
            "expired",
            sign(
                &key,
                &external_claims(&issuer, A, "ext-user", t - 120, t - 600),
            ),
        ),
        (
            "expired within the skew",
            sign(
                &key,
                &external_claims(&issuer, A, "ext-user", t - 10, t - 600),
            ),
        ),
        ("not yet valid", sign(&key, &not_yet)),
        ("no subject", sign(&key, &no_sub)),
        (
            "unregistered issuer",
            sign(
                &key,
                &external_claims(&docs.url("/other"), A, "ext-user", t + 300, t),
            ),
        ),
        (
            "posing as Warden",
            sign(
                &key,
                &external_claims(&app.issuer, A, "ext-user", t + 300, t),
            ),
        ),
        ("may_act names another client", sign(&key, &someone_else)),
    ];
    for (case, token) in &cases {
        let response = exchange(
            &app,
            &fx.s,
            token,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await;
        assert_eq!(response.status(), 400, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{case}: {body}");
    }

    // may_act naming the caller is honoured; an act already in the token is nested.
    let mut chained = external_claims(&issuer, A, "ext-user", t + 300, t);
    chained
        .set_claim("may_act", Some(json!({"client_id": fx.s.client_id})))
        .unwrap();
    chained
        .set_claim("act", Some(json!({"sub": "upstream-agent"})))
        .unwrap();
    let body = issued(
        exchange(
            &app,
            &fx.s,
            &sign(&key, &chained),
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
    )
    .await;
    assert_eq!(
        claims(access(&body))["act"],
        json!({"sub": fx.s.client_id, "client_id": fx.s.client_id, "act": {"sub": "upstream-agent"}})
    );

    // `username` mode: the external sub names a Warden user, who becomes the subject.
    let corp = docs.url("/corp");
    trust(
        &app,
        &fx.admin_token,
        &corp,
        &docs.url("/jwks.json"),
        "username",
    )
    .await;
    let alice = sign(&key, &external_claims(&corp, A, "alice", t + 300, t));
    let body = issued(
        exchange(
            &app,
            &fx.s,
            &alice,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
    )
    .await;
    assert_eq!(claims(access(&body))["sub"], fx.user_id);
    let nobody = sign(&key, &external_claims(&corp, A, "mallory", t + 300, t));
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            &nobody,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;

    // Registering an issuer twice conflicts; a bad issuer registration is refused.
    let (status, _) = admin(
        &app,
        &fx.admin_token,
        Method::POST,
        "/trusted-issuers",
        Some(json!({"issuer": corp, "jwks_uri": docs.url("/jwks.json"), "audience": A})),
    )
    .await;
    assert_eq!(status, 409);
    for bad in [
        json!({"issuer": "http://idp.example.com", "jwks_uri": docs.url("/jwks.json"), "audience": A}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": docs.url("/jwks.json"), "audience": A, "algorithms": ["none"]}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": docs.url("/jwks.json"), "audience": A, "algorithms": ["HS256"]}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": docs.url("/jwks.json"), "audience": A, "subject": "email"}),
    ] {
        let (status, body) = admin(
            &app,
            &fx.admin_token,
            Method::POST,
            "/trusted-issuers",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
}

/// Items of the exchange audit log, newest first.
async fn audit_log(app: &TestApp, admin_token: &str) -> Vec<Value> {
    let (status, page) = admin(app, admin_token, Method::GET, "/exchanges?limit=100", None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// `exchange` with owned parameter values.
async fn send(
    app: &TestApp,
    caller: &TestClient,
    subject: &str,
    extra: &[(&'static str, String)],
) -> reqwest::Response {
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    exchange(app, caller, subject, &extra).await
}

#[tokio::test]
async fn an_actor_token_must_be_the_callers_own_or_named_by_the_subjects_may_act() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let (fx, subject) = arrange(&app).await;
    // T serves A and may exchange; it also holds client tokens of its own for A.
    let t = app
        .create_client(
            &fx.admin_token,
            json!({"name": "mcp server T", "grant_types": [TOKEN_EXCHANGE, "client_credentials"],
                   "served_resources": [A], "resources": [A]}),
        )
        .await;
    let other = app
        .create_client(
            &fx.admin_token,
            json!({"name": "another client", "grant_types": ["client_credentials"], "resources": [A]}),
        )
        .await;
    let own = app.client_credentials(&t, Some(A), None).await;
    let others = app.client_credentials(&other, Some(A), None).await;
    let with_actor = |actor: &str| {
        vec![
            ("resource", B.to_owned()),
            ("actor_token", actor.to_owned()),
            ("actor_token_type", ACCESS_TOKEN_TYPE.to_owned()),
        ]
    };

    // A live token issued to another client does not make that client the actor: T cannot
    // write it into act, and the audit log never names it.
    let refused = assert_oauth_error(
        send(&app, &t, access(&subject), &with_actor(access(&others))).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(refused["error_description"].is_string(), "{refused}");
    let log = audit_log(&app, &fx.admin_token).await;
    assert!(
        log.iter().all(|i| i["outcome"] != "issued"),
        "nothing was issued: {log:?}"
    );
    assert!(
        log.iter().all(|i| i["actor"] != other.client_id.as_str()),
        "the audit log names a client that never acted: {log:?}"
    );
    // Nor does a token issued to T for a user make the user T's actor.
    let exchanged = issued(exchange(&app, &t, access(&subject), &[("resource", B)]).await).await;
    assert_oauth_error(
        send(&app, &t, access(&subject), &with_actor(access(&exchanged))).await,
        400,
        "invalid_request",
    )
    .await;

    // T's own client token names T: delegation as before.
    let body = issued(send(&app, &t, access(&subject), &with_actor(access(&own))).await).await;
    assert_eq!(
        claims(access(&body))["act"],
        json!({"sub": t.client_id, "client_id": t.client_id})
    );
    let log = audit_log(&app, &fx.admin_token).await;
    assert!(
        log.iter()
            .all(|i| i["outcome"] != "issued" || i["actor"] == t.client_id.as_str()),
        "{log:?}"
    );

    // RFC 8693 §4.4: a subject token whose may_act names the other client lets its token act.
    let key = es256_key("idp-1");
    docs.serve("/jwks.json", Doc::json(&json!({"keys": [key.public]})));
    let idp = docs.url("/idp");
    trust(&app, &fx.admin_token, &idp, &docs.url("/jwks.json"), "keep").await;
    let at = now(&app);
    let external = |may_act: Value| {
        let mut payload = external_claims(&idp, A, "ext-user", at + 300, at);
        payload.set_claim("may_act", Some(may_act)).unwrap();
        sign(&key, &payload)
    };
    let jwt = |mut extra: Vec<(&'static str, String)>| {
        extra.push(("subject_token_type", JWT_TYPE.to_owned()));
        extra
    };
    let names_other = external(json!({"sub": other.client_id, "iss": app.issuer}));
    let body = issued(send(&app, &t, &names_other, &jwt(with_actor(access(&others)))).await).await;
    let c = claims(access(&body));
    assert_eq!(c["sub"], format!("{idp}#ext-user"));
    assert_eq!(
        c["act"],
        json!({"sub": other.client_id, "client_id": t.client_id})
    );
    // The same subject does not let T act itself, with or without its own token...
    for extra in [
        jwt(vec![("resource", B.to_owned())]),
        jwt(with_actor(access(&own))),
    ] {
        assert_oauth_error(
            send(&app, &t, &names_other, &extra).await,
            400,
            "invalid_request",
        )
        .await;
    }
    // ...and may_act's iss and client_id, when present, must match the actor's too.
    for may_act in [
        json!({"sub": other.client_id, "iss": idp}),
        json!({"sub": other.client_id, "client_id": t.client_id}),
        json!({"iss": app.issuer}),
    ] {
        assert_oauth_error(
            send(
                &app,
                &t,
                &external(may_act),
                &jwt(with_actor(access(&others))),
            )
            .await,
            400,
            "invalid_request",
        )
        .await;
    }
    let log = audit_log(&app, &fx.admin_token).await;
    let named: Vec<&Value> = log
        .iter()
        .filter(|i| i["actor"] == other.client_id.as_str())
        .collect();
    assert_eq!(
        named.len(),
        1,
        "only the exchange may_act allowed names the other client: {log:?}"
    );
    assert_eq!(named[0]["outcome"], "issued", "{log:?}");
    assert_eq!(named[0]["subject"], format!("{idp}#ext-user"), "{log:?}");
}

// ---------------------------------------------------------------------------------------
// Discovery.

#[tokio::test]
async fn the_metadata_advertises_the_token_exchange_grant() {
    let app = spawn_app().await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let grants: Vec<&str> = metadata["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(grants.contains(&TOKEN_EXCHANGE), "{grants:?}");
}

#[tokio::test]
async fn disabling_a_user_ends_tokens_exchanged_for_them_including_from_external_tokens() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let fx = registry(&app).await;
    let key = es256_key("corp-1");
    docs.serve("/jwks.json", Doc::json(&json!({"keys": [key.public]})));
    let corp = docs.url("/corp");
    trust(
        &app,
        &fx.admin_token,
        &corp,
        &docs.url("/jwks.json"),
        "username",
    )
    .await;
    let t = now(&app);
    let external = sign(&key, &external_claims(&corp, A, "alice", t + 300, t));
    let from_external = issued(
        exchange(
            &app,
            &fx.s,
            &external,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
    )
    .await;
    assert_eq!(claims(access(&from_external))["sub"], fx.user_id);
    let subject = user_token(&app, &fx.ide, "mcp:read").await;
    let from_internal =
        issued(exchange(&app, &fx.s, access(&subject), &[("resource", B)]).await).await;

    let (status, view) = admin(
        &app,
        &fx.admin_token,
        Method::POST,
        &format!("/users/{}/disable", fx.user_id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        app.introspect(&fx.b_server, access(&from_internal)).await["active"],
        false,
        "exchanged from the user's own token"
    );
    // New exchanges for the disabled user are refused...
    assert_oauth_error(
        exchange(
            &app,
            &fx.s,
            &external,
            &[("subject_token_type", JWT_TYPE), ("resource", B)],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    // ...and the one already issued, whose sub is the user, ends like every other token of theirs.
    assert_eq!(
        app.introspect(&fx.b_server, access(&from_external)).await["active"],
        false,
        "exchanged from an external token mapped to the user (subject \"username\")"
    );
}

#[tokio::test]
async fn the_mcp_server_revoking_its_exchanged_token_leaves_the_users_grant_alone() {
    let app = spawn_app().await;
    let (fx, subject) = arrange(&app).await;
    let body = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    let exchanged = access(&body);
    let response = app
        .post_form("/revoke", &[("token", exchanged)], Some(&fx.s))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.introspect(&fx.b_server, exchanged).await["active"],
        false
    );
    // The user's own token, and what the IDE can still do with it, are untouched.
    let again = issued(
        exchange(
            &app,
            &fx.s,
            access(&subject),
            &[("resource", B), ("scope", "mcp:read")],
        )
        .await,
    )
    .await;
    assert_eq!(
        app.introspect(&fx.b_server, access(&again)).await["active"],
        true
    );
}

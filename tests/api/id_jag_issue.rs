//! Warden as the enterprise IdP: token exchange for an ID-JAG
//! (draft-ietf-oauth-identity-assertion-authz-grant §4.3), under admin policy, with an ID
//! token or access token Warden issued to the requesting client as the subject token.

use serde_json::{Value, json};
use warden::clock::Clock;

use crate::helpers::browser::{Browser, authorize, authorize_url, pkce, redeem};
use crate::helpers::{TestApp, TestClient, assert_oauth_error, scalar, spawn_app};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The other authorization server and its MCP server.
const OTHER_AS: &str = "https://as.partner.example";
const OTHER_MCP: &str = "https://mcp.partner.example/mcp";

struct Arranged {
    admin_token: String,
    app_client: TestClient,
    other_client: TestClient,
}

fn header(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// A resource at Warden, alice, and two confidential clients that sign users in and may
/// use token exchange; the first may obtain ID-JAGs for `OTHER_MCP` at `OTHER_AS`.
async fn arrange(app: &TestApp) -> Arranged {
    let admin_token = app.admin_token().await;
    app.create_resource(
        &admin_token,
        json!({"uri": "https://mcp.example.com", "name": "Example MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let client = |name: &str| {
        json!({"name": name, "grant_types": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
               "redirect_uris": [crate::helpers::browser::REDIRECT]})
    };
    let app_client = app
        .create_client(&admin_token, client("Enterprise app"))
        .await;
    let other_client = app.create_client(&admin_token, client("Other app")).await;
    let (status, _) = app
        .admin_call(
            &admin_token,
            reqwest::Method::POST,
            "/users",
            Some(json!({"username": "alice", "password": crate::helpers::browser::PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    for client in [&app_client, &other_client] {
        allow(
            app,
            &client.client_id,
            OTHER_MCP,
            &["files:read", "files:write"],
        )
        .await;
    }
    Arranged {
        admin_token,
        app_client,
        other_client,
    }
}

async fn allow(app: &TestApp, client_id: &str, resource: &str, scopes: &[&str]) {
    warden::admin::id_jag::allow(
        &app.state.store,
        warden::admin::id_jag::NewPolicy {
            client_id: client_id.to_owned(),
            audience: OTHER_AS.to_owned(),
            resource: resource.to_owned(),
            remote_client_id: format!("remote-{client_id}"),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            include_email: false,
        },
        app.clock.now(),
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
}

/// alice signs in to `client` with `openid`: its token response.
async fn sign_in(app: &TestApp, client: &TestClient) -> Value {
    let p = pkce();
    let url = authorize_url(
        app,
        client,
        &p.challenge,
        &[("scope", "openid mcp:read"), ("nonce", "abc")],
    );
    let q = authorize(app, &mut Browser::new(), &url, "alice").await;
    redeem(app, client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap()
}

async fn ask(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("requested_token_type", ID_JAG),
        ("audience", OTHER_AS),
        ("resource", OTHER_MCP),
    ];
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        if !v.is_empty() {
            form.push((k, v));
        }
    }
    app.post_form("/token", &form, Some(client)).await
}

async fn audited(app: &TestApp, outcome: &str) -> i64 {
    scalar(
        &app.db,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'id_jag.issued' AND outcome = '{outcome}'"
        ),
    )
    .await
}

#[tokio::test]
async fn an_id_token_buys_an_id_jag_for_the_other_server_as_the_policy_says() {
    let app = spawn_app().await;
    let a = arrange(&app).await;
    let signed_in_at = app.clock.now();
    let tokens = sign_in(&app, &a.app_client).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let grants = app.grant_count().await;

    let response = ask(
        &app,
        &a.app_client,
        &[
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN),
            ("scope", "files:read"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["issued_token_type"], ID_JAG);
    assert_eq!(body["token_type"], "N_A");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "files:read");
    assert!(body.get("refresh_token").is_none());

    let jag = body["access_token"].as_str().unwrap();
    assert_eq!(header(jag)["typ"], "oauth-id-jag+jwt");
    let jwks = app.get_json("/jwks.json").await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header(jag)["kid"])
        .unwrap();
    let jwk = josekit::jwk::Jwk::from_bytes(jwk.to_string().as_bytes()).unwrap();
    let verifier = josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap();
    let (payload, _) = josekit::jwt::decode_with_verifier(jag, &verifier).unwrap();
    let claims: Value = serde_json::from_str(&payload.to_string()).unwrap();
    assert_eq!(claims["iss"], app.issuer);
    assert_eq!(claims["sub"], app.user_id("alice").await);
    assert_eq!(claims["aud"], OTHER_AS);
    assert_eq!(
        claims["client_id"],
        format!("remote-{}", a.app_client.client_id),
        "the client's id at the other server"
    );
    assert_eq!(claims["resource"], OTHER_MCP);
    assert_eq!(claims["scope"], "files:read");
    assert_eq!(claims["auth_time"], signed_in_at);
    assert_eq!(
        claims["exp"].as_i64().unwrap(),
        claims["iat"].as_i64().unwrap() + 300
    );
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    assert!(claims.get("email").is_none());

    // Not an access token anywhere: Warden's own introspection refuses it.
    assert_eq!(app.introspect(&a.app_client, jag).await["active"], false);
    assert_eq!(app.grant_count().await, grants, "an ID-JAG stores no grant");
    assert_eq!(audited(&app, "success").await, 1);
}

#[tokio::test]
async fn an_access_token_also_serves_and_the_cli_sets_the_policy() {
    let app = spawn_app().await;
    let a = arrange(&app).await;
    let tokens = sign_in(&app, &a.app_client).await;
    let access = tokens["access_token"].as_str().unwrap();
    let other_mcp = "https://wiki.partner.example";
    let out = app.cli(&[
        "idjag",
        "allow",
        "--client",
        &a.app_client.client_id,
        "--audience",
        OTHER_AS,
        "--resource",
        other_mcp,
        "--remote-client-id",
        "wiki-app",
        "--scopes",
        "wiki:read",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = crate::helpers::stdout_json(&app.cli(&["idjag", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 3);

    // Two resources at that audience now: the request must name one.
    let unnamed = ask(
        &app,
        &a.app_client,
        &[
            ("subject_token", access),
            ("subject_token_type", ACCESS_TOKEN),
            ("resource", ""),
        ],
    )
    .await;
    assert_oauth_error(unnamed, 400, "invalid_target").await;
    let named = ask(
        &app,
        &a.app_client,
        &[
            ("subject_token", access),
            ("subject_token_type", ACCESS_TOKEN),
            ("resource", "https://wiki.partner.example/"),
        ],
    )
    .await;
    assert_eq!(named.status(), 200);
    let body: Value = named.json().await.unwrap();
    let claims = crate::helpers::tokens::decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], "wiki-app");
    assert_eq!(claims["resource"], other_mcp);
    assert_eq!(
        claims["scope"], "wiki:read",
        "all of the policy's, when none is asked"
    );
    assert!(
        claims.get("auth_time").is_none(),
        "an access token does not say when"
    );
}

#[tokio::test]
async fn refusals_get_their_rfc_error_store_nothing_and_are_audited() {
    let app = spawn_app().await;
    let a = arrange(&app).await;
    let tokens = sign_in(&app, &a.app_client).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let with = |extra: &[(&'static str, &'static str)]| extra.to_vec();
    let grants = app.grant_count().await;
    let subject: [(&str, &str); 2] = [
        ("subject_token", &id_token),
        ("subject_token_type", ID_TOKEN),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            with(&[("audience", "https://as.elsewhere.example")]),
            "invalid_target",
        ),
        (with(&[("audience", "")]), "invalid_request"),
        (
            with(&[("resource", "https://mcp.partner.example/other")]),
            "invalid_target",
        ),
        (with(&[("resource", "not a uri")]), "invalid_target"),
        (
            with(&[("scope", "files:read files:admin")]),
            "invalid_scope",
        ),
        (
            with(&[(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:saml2",
            )]),
            "invalid_request",
        ),
        (
            with(&[("subject_token", "eyJhbGciOiJub25lIn0.e30.")]),
            "invalid_request",
        ),
        (with(&[("subject_token", "")]), "invalid_request"),
        (
            with(&[("actor_token", "x"), ("actor_token_type", ACCESS_TOKEN)]),
            "invalid_request",
        ),
    ];
    let count = cases.len() as i64;
    for (extra, code) in cases {
        let mut form = subject.to_vec();
        for (k, v) in &extra {
            form.retain(|(name, _)| name != k);
            form.push((k, v));
        }
        assert_oauth_error(ask(&app, &a.app_client, &form).await, 400, code).await;
    }
    // Duplicated audience: which server would the ID-JAG be for?
    let twice_form = [
        ("grant_type", TOKEN_EXCHANGE),
        ("requested_token_type", ID_JAG),
        ("audience", OTHER_AS),
        ("audience", "https://as.elsewhere.example"),
        ("resource", OTHER_MCP),
        subject[0],
        subject[1],
    ];
    let twice = app
        .post_form("/token", &twice_form, Some(&a.app_client))
        .await;
    assert_oauth_error(twice, 400, "invalid_request").await;

    // The other client presents alice's ID token issued to the first: refused, though it
    // has a policy of its own.
    let stolen = ask(&app, &a.other_client, &subject).await;
    assert_oauth_error(stolen, 400, "invalid_request").await;
    // And the other client's own access token is not alice's ID token at the first one.
    let other_tokens = sign_in(&app, &a.other_client).await;
    let foreign = ask(
        &app,
        &a.app_client,
        &[
            (
                "subject_token",
                other_tokens["access_token"].as_str().unwrap(),
            ),
            ("subject_token_type", ACCESS_TOKEN),
        ],
    )
    .await;
    assert_oauth_error(foreign, 400, "invalid_request").await;

    assert_eq!(
        app.grant_count().await,
        grants + 1,
        "only the other client's sign-in"
    );
    assert_eq!(audited(&app, "success").await, 0);
    assert_eq!(audited(&app, "failure").await, count + 3);
    let _ = &a.admin_token;
}

#[tokio::test]
async fn no_policy_an_expired_subject_and_a_revoked_grant_are_refused() {
    let app = spawn_app().await;
    let a = arrange(&app).await;
    let tokens = sign_in(&app, &a.app_client).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let subject = [
        ("subject_token", id_token),
        ("subject_token_type", ID_TOKEN),
    ];
    assert_eq!(ask(&app, &a.app_client, &subject).await.status(), 200);

    // The admin takes the policy away: invalid_target.
    let policies = warden::admin::id_jag::list(&app.state.store).await.unwrap();
    let mine = policies
        .iter()
        .find(|p| p.client_id == a.app_client.client_id)
        .unwrap();
    let out = app.cli(&["idjag", "deny", &mine.id]);
    assert!(out.status.success());
    assert_oauth_error(
        ask(&app, &a.app_client, &subject).await,
        400,
        "invalid_target",
    )
    .await;
    allow(&app, &a.app_client.client_id, OTHER_MCP, &["files:read"]).await;
    assert_eq!(ask(&app, &a.app_client, &subject).await.status(), 200);

    // Revoking alice's grant (the refresh token at /revoke) ends its ID token's use here.
    let revoke = [
        ("token", tokens["refresh_token"].as_str().unwrap()),
        ("token_type_hint", "refresh_token"),
    ];
    assert_eq!(
        app.post_form("/revoke", &revoke, Some(&a.app_client))
            .await
            .status(),
        200
    );
    assert_oauth_error(
        ask(&app, &a.app_client, &subject).await,
        400,
        "invalid_request",
    )
    .await;

    // A fresh sign-in works again, until its ID token expires.
    let fresh = sign_in(&app, &a.app_client).await;
    let fresh_subject = [
        ("subject_token", fresh["id_token"].as_str().unwrap()),
        ("subject_token_type", ID_TOKEN),
    ];
    assert_eq!(ask(&app, &a.app_client, &fresh_subject).await.status(), 200);
    app.clock.advance(601);
    assert_oauth_error(
        ask(&app, &a.app_client, &fresh_subject).await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(audited(&app, "success").await, 3);
}

#[tokio::test]
async fn the_admin_api_sets_lists_and_removes_policies_and_refuses_bad_ones() {
    let app = spawn_app().await;
    let a = arrange(&app).await;
    let token = &a.admin_token;
    let good = json!({"client_id": a.app_client.client_id, "audience": OTHER_AS,
                      "resource": "https://crm.partner.example", "remote_client_id": "crm-app",
                      "scopes": ["crm:read"], "include_email": true});
    let stored = || async {
        warden::admin::id_jag::list(&app.state.store)
            .await
            .unwrap()
            .len()
    };
    assert_eq!(stored().await, 2);
    let mut bad_cases = Vec::new();
    for (field, value) in [
        ("client_id", json!("no-such-client")),
        ("audience", json!("not a url")),
        ("resource", json!("ftp://crm.partner.example")),
        ("remote_client_id", json!("")),
        ("remote_client_id", json!("x".repeat(256))),
        ("scopes", json!(["bad scope\""])),
    ] {
        let mut body = good.clone();
        body[field] = value;
        bad_cases.push((field, body));
    }
    for (field, body) in bad_cases {
        let (status, error) = app
            .admin_call(token, reqwest::Method::POST, "/id-jag-policies", Some(body))
            .await;
        assert_eq!(status, 422, "{field}: {error}");
    }
    let mut unknown = good.clone();
    unknown["extra"] = json!(1);
    let (status, _) = app
        .admin_call(
            token,
            reqwest::Method::POST,
            "/id-jag-policies",
            Some(unknown),
        )
        .await;
    assert_eq!(status, 422, "an unknown field is refused");
    assert_eq!(stored().await, 2, "nothing stored");

    let (status, created) = app
        .admin_call(
            token,
            reqwest::Method::POST,
            "/id-jag-policies",
            Some(good.clone()),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(created["resource"], "https://crm.partner.example");
    assert_eq!(created["scopes"], "crm:read");
    // The same client, audience and resource again: replaced, not added.
    let mut again = good.clone();
    again["scopes"] = json!(["crm:read", "crm:write"]);
    let (status, replaced) = app
        .admin_call(
            token,
            reqwest::Method::POST,
            "/id-jag-policies",
            Some(again),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["scopes"], "crm:read crm:write");
    let (status, listed) = app
        .admin_call(token, reqwest::Method::GET, "/id-jag-policies", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);

    let path = format!("/id-jag-policies/{}", created["id"].as_str().unwrap());
    let (status, _) = app
        .admin_call(token, reqwest::Method::DELETE, &path, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin_call(token, reqwest::Method::DELETE, &path, None)
        .await;
    assert_eq!(status, 404);
    let changes = scalar(
        &app.db,
        "SELECT COUNT(*) FROM audit_events WHERE kind IN ('id_jag.policy_set', 'id_jag.policy_deleted')",
    )
    .await;
    assert_eq!(
        changes,
        2 + 2 + 1,
        "arrange's two, the API's two sets and one deletion"
    );
}

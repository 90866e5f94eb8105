//! Enterprise-Managed Authorization, accepting side: ID-JAGs (Identity Assertion JWT
//! Authorization Grants) from a trusted enterprise IdP, exchanged with the jwt-bearer grant
//! (RFC 7523 §2.1). The IdP's key signs in the test; its JWKS is served on loopback. Every
//! hostile variant gets its RFC error and leaves no grant, no used jti and no audit row.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, HS256, JwsHeader};
use josekit::jwt::JwtPayload;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::{
    TestApp, TestClient, assert_oauth_error, scalar, spawn_app, spawn_app_with, stdout_json,
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const MCP: &str = "https://mcp.example.com/mcp";
const OTHER: &str = "https://other.example.com/mcp";
const PASSWORD: &str = "correct horse battery staple";
const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");

/// A hostile request: its name, the assertion, extra form fields, the status and error.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16, &'a str);

struct World {
    app: TestApp,
    docs: DocServer,
    admin: String,
    key: Jwk,
    idp: String,
    /// A confidential client with the jwt-bearer grant for MCP.
    agent: TestClient,
    /// Another client with the grant (for client_id mismatches).
    other_agent: TestClient,
    alice: String,
}

fn es256_key(kid: &str) -> Jwk {
    let mut private = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    private.set_key_id(kid);
    private
}

async fn world(email_rule: &str) -> World {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let admin = app.admin_token().await;
    app.create_resource(
        &admin,
        json!({"uri": MCP, "name": "Example MCP", "scopes": ["mcp:read", "mcp:write"]}),
    )
    .await;
    app.create_resource(
        &admin,
        json!({"uri": OTHER, "name": "Other MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let agent = app
        .create_client(
            &admin,
            json!({"name": "enterprise agent", "grant_types": [JWT_BEARER], "resources": [MCP]}),
        )
        .await;
    let other_agent = app
        .create_client(
            &admin,
            json!({"name": "other agent", "grant_types": [JWT_BEARER], "resources": [MCP]}),
        )
        .await;
    let key = es256_key("idp-1");
    let mut public = key.to_public_key().unwrap();
    public.set_key_id("idp-1");
    docs.serve(
        "/jwks.json",
        Doc::json(&json!({"keys": [serde_json::to_value(public.as_ref()).unwrap()]})),
    );
    let idp = docs.url("/idp");
    let (status, body) = app
        .admin_call(
            &admin,
            Method::POST,
            "/id-jag-issuers",
            Some(json!({"issuer": idp, "jwks_uri": docs.url("/jwks.json"),
                        "algorithms": ["ES256"], "email_rule": email_rule})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email_rule"], email_rule);
    let (status, user) = app
        .admin_call(
            &admin,
            Method::POST,
            "/users",
            Some(json!({"username": "alice@corp.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    World {
        alice: user["id"].as_str().unwrap().to_owned(),
        app,
        docs,
        admin,
        key,
        idp,
        agent,
        other_agent,
    }
}

fn now(app: &TestApp) -> i64 {
    warden::clock::Clock::now(&*app.clock)
}

/// The claims of a good ID-JAG for `w.agent` and alice (by verified email).
fn claims(w: &World) -> Value {
    let t = now(&w.app);
    json!({
        "iss": w.idp,
        "sub": "00u-alice",
        "aud": w.app.issuer,
        "client_id": w.agent.client_id,
        "resource": MCP,
        "scope": "mcp:read mcp:write",
        "email": "alice@corp.example",
        "email_verified": true,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": t,
        "exp": t + 300,
    })
}

fn sign_with(key: &Jwk, typ: &str, claims: &Value) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(key.key_id().unwrap());
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    let signer = ES256.signer_from_jwk(key).unwrap();
    josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
}

fn sign(w: &World, claims: &Value) -> String {
    sign_with(&w.key, "oauth-id-jag+jwt", claims)
}

async fn present(
    w: &World,
    client: &TestClient,
    assertion: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", JWT_BEARER), ("assertion", assertion)];
    form.extend_from_slice(extra);
    w.app.post_form("/token", &form, Some(client)).await
}

/// Rows an accepted ID-JAG writes: grants, used jtis, subject links, users, audit events.
async fn written(w: &World) -> [i64; 4] {
    let db = &w.app.db;
    [
        scalar(
            db,
            "SELECT COUNT(*) FROM grants WHERE kind <> 'client_credentials'",
        )
        .await,
        scalar(db, "SELECT COUNT(*) FROM id_jag_jtis").await,
        scalar(db, "SELECT COUNT(*) FROM id_jag_subjects").await,
        scalar(
            db,
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'id_jag.accepted'",
        )
        .await,
    ]
}

fn token_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn an_id_jag_from_a_trusted_idp_gets_an_audience_bound_token_under_a_revocable_user_grant() {
    let w = world("link").await;
    let metadata = w
        .app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(JWT_BEARER))
    );
    assert_eq!(
        metadata["authorization_grant_profiles_supported"],
        json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );

    let assertion = sign(&w, &claims(&w));
    // Basic authentication, with resource and scope in the form.
    let response = present(
        &w,
        &w.agent,
        &assertion,
        &[("resource", MCP), ("scope", "mcp:read")],
    )
    .await;
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "mcp:read", "requested ∩ ID-JAG ∩ registry");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let token = body["access_token"].as_str().unwrap();
    let c = token_claims(token);
    assert_eq!(c["aud"], MCP);
    assert_eq!(c["sub"], w.alice, "linked by verified email");
    assert_eq!(c["client_id"], w.agent.client_id);
    assert_eq!(c["iss"], w.app.issuer);
    assert_eq!(written(&w).await, [1, 1, 1, 1]);

    // The grant is alice's, as the account page lists it.
    let grants = w.app.state.store.user_grants(&w.alice).await.unwrap();
    assert_eq!(grants.len(), 1);
    // The audit trail names the IdP and the grant.
    let (status, events) = w
        .app
        .admin_call(&w.admin, Method::GET, "/audit?kind=id_jag.accepted", None)
        .await;
    assert_eq!(status, 200);
    let event = &events["items"][0];
    assert_eq!(event["subject"], w.alice, "{event}");
    assert_eq!(event["details"]["idp"], w.idp.as_str(), "{event}");
    let grant_id = event["grant_id"].as_str().unwrap().to_owned();

    // No resource or scope in the request: the ID-JAG's, within the registry. The link made
    // above now maps the sub, even without an email.
    let mut second = claims(&w);
    second.as_object_mut().unwrap().remove("email");
    // This time as the Python SDK sends it by default: client_secret_post, client_id in
    // the form.
    let assertion = sign(&w, &second);
    let form = [
        ("grant_type", JWT_BEARER),
        ("assertion", assertion.as_str()),
        ("client_id", w.agent.client_id.as_str()),
        ("client_secret", w.agent.client_secret.as_str()),
    ];
    let body: Value = w
        .app
        .post_form("/token", &form, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "mcp:read mcp:write", "{body}");
    assert_eq!(
        token_claims(body["access_token"].as_str().unwrap())["sub"],
        w.alice
    );
    assert_eq!(
        written(&w).await[0],
        1,
        "one grant per user, client and resource"
    );

    // Revoking the grant ends the tokens.
    let server = w
        .app
        .create_client(
            &w.admin,
            json!({"name": "mcp server", "grant_types": ["client_credentials"], "served_resources": [MCP]}),
        )
        .await;
    assert_eq!(w.app.introspect(&server, token).await["active"], true);
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            &format!("/grants/{grant_id}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(w.app.introspect(&server, token).await["active"], false);
}

#[tokio::test]
async fn the_idps_email_rule_links_creates_or_refuses_an_unlinked_subject() {
    // create: a new user, passwordless, named by the verified email.
    let w = world("create").await;
    let mut c = claims(&w);
    c["sub"] = json!("00u-bob");
    c["email"] = json!("bob@corp.example");
    let body: Value = present(&w, &w.agent, &sign(&w, &c), &[])
        .await
        .json()
        .await
        .unwrap();
    let bob = w.app.user_id("bob@corp.example").await;
    assert_eq!(
        token_claims(body["access_token"].as_str().unwrap())["sub"],
        bob,
        "{body}"
    );

    // An unverified email is no email: nothing links, nothing is created.
    let before = written(&w).await;
    let mut c = claims(&w);
    c["sub"] = json!("00u-carol");
    c["email"] = json!("carol@corp.example");
    c["email_verified"] = json!(false);
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &c), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, before);
    assert!(
        w.app
            .state
            .store
            .user_by_name("carol@corp.example")
            .await
            .unwrap()
            .is_none()
    );

    // refuse: only linked subjects.
    let w = world("refuse").await;
    let c = claims(&w);
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &c), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, [0, 0, 0, 0]);

    // link: an email with no user is refused, and no user is created.
    let w = world("link").await;
    let mut c = claims(&w);
    c["email"] = json!("nobody@corp.example");
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &c), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, [0, 0, 0, 0]);
    assert!(
        w.app
            .state
            .store
            .user_by_name("nobody@corp.example")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn every_hostile_id_jag_gets_its_rfc_error_and_stores_nothing() {
    let w = world("link").await;
    let t = now(&w.app);
    let with = |name: &str, value: Value| {
        let mut c = claims(&w);
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = claims(&w);
        c.as_object_mut().unwrap().remove(name);
        c
    };
    let stranger = es256_key("idp-1");
    let hmac = {
        let mut header = JwsHeader::new();
        header.set_token_type("oauth-id-jag+jwt");
        let payload = JwtPayload::from_map(claims(&w).as_object().unwrap().clone()).unwrap();
        let signer = HS256
            .signer_from_bytes(b"a shared secret that is long enough!")
            .unwrap();
        josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
    };
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "oauth-id-jag+jwt"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&w).to_string())
    );
    let cases: Vec<Case> = vec![
        (
            "wrong typ",
            sign_with(&w.key, "JWT", &claims(&w)),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "no typ",
            sign_with(&w.key, "", &claims(&w)),
            vec![],
            400,
            "invalid_grant",
        ),
        ("alg none", none, vec![], 400, "invalid_grant"),
        ("alg HS256", hmac, vec![], 400, "invalid_grant"),
        (
            "another key",
            sign_with(&stranger, "oauth-id-jag+jwt", &claims(&w)),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "untrusted iss",
            sign(&w, &with("iss", json!("https://evil.example.com"))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "no iss",
            sign(&w, &without("iss")),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "aud as an array",
            sign(&w, &with("aud", json!([w.app.issuer]))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "aud another AS",
            sign(&w, &with("aud", json!("https://as.example.com"))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "client_id mismatch",
            sign(&w, &with("client_id", json!(w.other_agent.client_id))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "no client_id",
            sign(&w, &without("client_id")),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "expired",
            sign(&w, &with("exp", json!(t - 120))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "iat in the future",
            sign(&w, &with("iat", json!(t + 600))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "iat too old",
            sign(&w, &with("iat", json!(t - 3600))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "lives too long",
            sign(&w, &with("exp", json!(t + 86_400))),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "no jti",
            sign(&w, &without("jti")),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "no sub",
            sign(&w, &without("sub")),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "unknown resource",
            sign(&w, &with("resource", json!("https://nowhere.example.com"))),
            vec![],
            400,
            "invalid_target",
        ),
        (
            "resource not the client's",
            sign(&w, &with("resource", json!(OTHER))),
            vec![],
            400,
            "invalid_target",
        ),
        (
            "no resource",
            sign(&w, &without("resource")),
            vec![],
            400,
            "invalid_target",
        ),
        (
            "request names another resource",
            sign(&w, &claims(&w)),
            vec![("resource", OTHER)],
            400,
            "invalid_target",
        ),
        (
            "two resources",
            sign(&w, &claims(&w)),
            vec![("resource", MCP), ("resource", OTHER)],
            400,
            "invalid_target",
        ),
        (
            "scope outside the registry",
            sign(&w, &claims(&w)),
            vec![("scope", "admin:all")],
            400,
            "invalid_scope",
        ),
        (
            "no scope in common",
            sign(&w, &with("scope", json!("profile"))),
            vec![],
            400,
            "invalid_scope",
        ),
        (
            "oversized",
            "a".repeat(9 * 1024),
            vec![],
            400,
            "invalid_grant",
        ),
        (
            "not a JWT",
            "not-a-jwt".into(),
            vec![],
            400,
            "invalid_grant",
        ),
    ];
    for (name, assertion, extra, status, code) in cases {
        let body = assert_oauth_error(
            present(&w, &w.agent, &assertion, &extra).await,
            status,
            code,
        )
        .await;
        assert_eq!(
            written(&w).await,
            [0, 0, 0, 0],
            "{name} stored something: {body}"
        );
    }
    // A client without the grant, or with wrong credentials.
    let cc = w
        .app
        .create_client(
            &w.admin,
            json!({"name": "cc", "grant_types": ["client_credentials"], "resources": [MCP]}),
        )
        .await;
    assert_oauth_error(
        present(&w, &cc, &sign(&w, &claims(&w)), &[]).await,
        400,
        "unauthorized_client",
    )
    .await;
    let wrong = TestClient {
        client_id: w.agent.client_id.clone(),
        client_secret: "wrong".into(),
    };
    assert_oauth_error(
        present(&w, &wrong, &sign(&w, &claims(&w)), &[]).await,
        401,
        "invalid_client",
    )
    .await;
    // No assertion, or two.
    assert_oauth_error(present(&w, &w.agent, "", &[]).await, 400, "invalid_request").await;
    let a = sign(&w, &claims(&w));
    assert_oauth_error(
        present(&w, &w.agent, &a, &[("assertion", &a)]).await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(written(&w).await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn a_replayed_jti_a_disabled_user_and_an_unreachable_jwks_are_refused() {
    let w = world("link").await;
    let assertion = sign(&w, &claims(&w));
    let first = present(&w, &w.agent, &assertion, &[]).await;
    assert_eq!(first.status(), 200);
    let after_first = written(&w).await;
    // Replay of the same ID-JAG, and of its jti in a fresh one.
    assert_oauth_error(
        present(&w, &w.agent, &assertion, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    let mut same_jti = claims(&w);
    same_jti["jti"] = token_claims(&assertion)["jti"].clone();
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &same_jti), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, after_first);

    // Alice disabled in Warden: her IdP still vouches for her, Warden refuses.
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            &format!("/users/{}/disable", w.alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &claims(&w)), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, after_first);
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            &format!("/users/{}/enable", w.alice),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // The IdP's JWKS unreachable: 503 temporarily_unavailable, not 500.
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            "/id-jag-issuers",
            Some(json!({"issuer": "https://down.example.com", "jwks_uri": "http://127.0.0.1:9/jwks.json"})),
        )
        .await;
    assert_eq!(status, 201);
    let mut down = claims(&w);
    down["iss"] = json!("https://down.example.com");
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &down), &[]).await,
        503,
        "temporarily_unavailable",
    )
    .await;
    assert_eq!(written(&w).await, after_first);
    drop(w.docs);
}

#[tokio::test]
async fn the_admin_api_refuses_bad_idps_and_deleting_one_ends_its_trust() {
    let w = world("link").await;
    for bad in [
        json!({"issuer": "http://idp.example.com", "jwks_uri": w.docs.url("/jwks.json")}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": "ftp://idp.example.com/k"}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": w.docs.url("/jwks.json"), "algorithms": ["none"]}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": w.docs.url("/jwks.json"), "algorithms": ["HS256"]}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": w.docs.url("/jwks.json"), "email_rule": "trust"}),
        json!({"issuer": "https://idp.example.com", "jwks_uri": w.docs.url("/jwks.json"), "extra": 1}),
    ] {
        let (status, body) = w
            .app
            .admin_call(&w.admin, Method::POST, "/id-jag-issuers", Some(bad.clone()))
            .await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
    }
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            "/id-jag-issuers",
            Some(json!({"issuer": w.idp, "jwks_uri": w.docs.url("/jwks.json")})),
        )
        .await;
    assert_eq!(status, 409, "the same issuer twice");
    let (_, listed) = w
        .app
        .admin_call(&w.admin, Method::GET, "/id-jag-issuers", None)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::DELETE,
            &format!("/id-jag-issuers/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &claims(&w)), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn warden_idp_adds_lists_and_deletes_an_id_jag_identity_provider() {
    let app = spawn_app().await;
    let added = app.cli(&[
        "idp",
        "add",
        "--issuer",
        "https://idp.corp.example",
        "--jwks-uri",
        "https://idp.corp.example/keys",
        "--alg",
        "RS256",
        "--email",
        "create",
    ]);
    assert!(added.status.success(), "{added:?}");
    let view = stdout_json(&added);
    assert_eq!(view["email_rule"], "create");
    assert_eq!(view["algorithms"], json!(["RS256"]));
    let refused = app.cli(&[
        "idp",
        "add",
        "--issuer",
        "https://other.corp.example",
        "--jwks-uri",
        "https://other.corp.example/keys",
        "--alg",
        "HS256",
    ]);
    assert!(!refused.status.success(), "HMAC is never accepted");
    let listed = stdout_json(&app.cli(&["idp", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let id = view["id"].as_str().unwrap();
    // A subject the IdP names by no email is linked by hand, once.
    let user = app.cli_with_stdin(&["user", "add", "bob", "--password-stdin"], PASSWORD);
    assert!(user.status.success(), "{user:?}");
    let link = ["idp", "link", id, "--subject", "00u-bob", "--user", "bob"];
    let linked = app.cli(&link);
    assert!(linked.status.success(), "{linked:?}");
    assert_eq!(stdout_json(&linked)["username"], "bob");
    assert!(!app.cli(&link).status.success(), "linked already");
    assert!(app.cli(&["idp", "delete", id]).status.success());
    assert_eq!(stdout_json(&app.cli(&["idp", "list"])), json!([]));
    assert!(!app.cli(&["idp", "delete", id]).status.success());
}

#[tokio::test]
async fn an_id_jag_with_a_dpop_proof_gets_a_dpop_bound_token() {
    let w = world("link").await;
    let key = crate::helpers::dpop::DpopKey::es256();
    let assertion = sign(&w, &claims(&w));
    let form = [
        ("grant_type", JWT_BEARER),
        ("assertion", assertion.as_str()),
    ];
    let response = w
        .app
        .token_with_proofs(&form, &w.agent, &[&w.app.token_proof(&key)])
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let c = token_claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["cnf"]["jkt"], key.jkt(), "{c}");
    assert_eq!(c["sub"], w.alice);
}

#[tokio::test]
async fn an_idp_enabled_for_refresh_tokens_gives_one_and_deleting_the_idp_revokes_its_grants() {
    let w = world("link").await;
    // The world's IdP gives no refresh token (the first test); this one is re-added with them.
    let (_, listed) = w
        .app
        .admin_call(&w.admin, Method::GET, "/id-jag-issuers", None)
        .await;
    assert_eq!(listed["items"][0]["refresh_tokens"], false, "{listed}");
    let old = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/id-jag-issuers/{old}");
    let (status, _) = w
        .app
        .admin_call(&w.admin, Method::DELETE, &path, None)
        .await;
    assert_eq!(status, 204);
    let (status, idp) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            "/id-jag-issuers",
            Some(
                json!({"issuer": w.idp, "jwks_uri": w.docs.url("/jwks.json"),
                        "algorithms": ["ES256"], "email_rule": "link", "refresh_tokens": true}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{idp}");
    assert_eq!(idp["refresh_tokens"], true);
    let agent = w
        .app
        .create_client(
            &w.admin,
            json!({"name": "refreshing agent", "grant_types": [JWT_BEARER, "refresh_token"],
                   "resources": [MCP]}),
        )
        .await;
    let mut jag = claims(&w);
    jag["client_id"] = json!(agent.client_id);
    let body: Value = present(&w, &agent, &sign(&w, &jag), &[])
        .await
        .json()
        .await
        .unwrap();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();

    // The refresh token works like any other: a rotated successor and a new access token.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let refreshed: Value = w
        .app
        .post_form("/token", &form, Some(&agent))
        .await
        .json()
        .await
        .unwrap();
    let next = refreshed["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_eq!(refreshed["scope"], "mcp:read mcp:write", "{refreshed}");

    // The admin stops trusting the IdP: what its ID-JAGs made goes with it.
    let server = w
        .app
        .create_client(
            &w.admin,
            json!({"name": "mcp server", "grant_types": ["client_credentials"], "served_resources": [MCP]}),
        )
        .await;
    assert_eq!(w.app.introspect(&server, &access).await["active"], true);
    let path = format!("/id-jag-issuers/{}", idp["id"].as_str().unwrap());
    let (status, _) = w
        .app
        .admin_call(&w.admin, Method::DELETE, &path, None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(w.app.introspect(&server, &access).await["active"], false);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", next.as_str()),
    ];
    assert_oauth_error(
        w.app.post_form("/token", &form, Some(&agent)).await,
        400,
        "invalid_grant",
    )
    .await;
    let (_, events) = w
        .app
        .admin_call(&w.admin, Method::GET, "/audit?kind=grant.revoked", None)
        .await;
    assert_eq!(
        events["items"][0]["details"]["via"], "id_jag_issuer_deleted",
        "{events}"
    );
}

#[tokio::test]
async fn an_admin_links_a_subject_the_idp_names_by_no_email_and_its_id_jags_map_to_that_user() {
    let w = world("refuse").await;
    let (_, listed) = w
        .app
        .admin_call(&w.admin, Method::GET, "/id-jag-issuers", None)
        .await;
    let idp = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let mut jag = claims(&w);
    jag.as_object_mut().unwrap().remove("email");
    // Unlinked and without an email: refused, and nothing written.
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &jag), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(written(&w).await, [0, 0, 0, 0]);

    let links = format!("/id-jag-issuers/{idp}/links");
    for (bad, status) in [
        (
            json!({"subject": "", "username": "alice@corp.example"}),
            422,
        ),
        (
            json!({"subject": "a\u{0}b", "username": "alice@corp.example"}),
            422,
        ),
        (
            json!({"subject": "x".repeat(256), "username": "alice@corp.example"}),
            422,
        ),
        (json!({"subject": "00u-alice", "username": "nobody"}), 422),
        (
            json!({"subject": "00u-alice", "username": "alice@corp.example", "extra": 1}),
            422,
        ),
    ] {
        let (got, body) = w
            .app
            .admin_call(&w.admin, Method::POST, &links, Some(bad.clone()))
            .await;
        assert_eq!(got, status, "{bad}: {body}");
    }
    let (status, _) = w
        .app
        .admin_call(
            &w.admin,
            Method::POST,
            "/id-jag-issuers/no-such-idp/links",
            Some(json!({"subject": "00u-alice", "username": "alice@corp.example"})),
        )
        .await;
    assert_eq!(status, 404);
    let link = json!({"subject": "00u-alice", "username": "alice@corp.example"});
    let (status, view) = w
        .app
        .admin_call(&w.admin, Method::POST, &links, Some(link.clone()))
        .await;
    assert_eq!(status, 201, "{view}");
    assert_eq!(view["user_id"], w.alice);
    let (status, _) = w
        .app
        .admin_call(&w.admin, Method::POST, &links, Some(link))
        .await;
    assert_eq!(status, 409, "one subject, one user");

    let body: Value = present(&w, &w.agent, &sign(&w, &claims(&w)), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        token_claims(body["access_token"].as_str().unwrap())["sub"],
        w.alice,
        "{body}"
    );
    let (_, events) = w
        .app
        .admin_call(
            &w.admin,
            Method::GET,
            "/audit?kind=id_jag_subject.linked",
            None,
        )
        .await;
    assert_eq!(events["items"][0]["subject"], w.alice, "{events}");
}

#[tokio::test]
async fn an_id_jag_for_a_disabled_resource_is_invalid_target_and_stores_nothing() {
    let w = world("link").await;
    let (_, listed) = w
        .app
        .admin_call(&w.admin, Method::GET, "/resources", None)
        .await;
    let id = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uri"] == MCP)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/resources/{id}/disable");
    let (status, _) = w.app.admin_call(&w.admin, Method::POST, &path, None).await;
    assert_eq!(status, 200);
    assert_oauth_error(
        present(&w, &w.agent, &sign(&w, &claims(&w)), &[]).await,
        400,
        "invalid_target",
    )
    .await;
    assert_eq!(written(&w).await, [0, 0, 0, 0]);
}

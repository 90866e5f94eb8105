//! Hostile-input sweep, security.md §5 D–F, H, I (cases 39–65, 77–90): the token endpoint
//! (codes, refresh, client authentication), token exchange, revocation and introspection.
//!
//! Cases covered fully by an earlier module are not repeated here; the index names those
//! tests. What is here fills the gaps: the code's bindings and single use under replay and
//! concurrency, verifier bounds, refresh rotation and family revocation, `private_key_jwt`
//! assertions (parallel replay, claims, algorithm confusion, a zero ECDSA signature),
//! delegation chains, and what revocation and introspection reveal, across a restart.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{ES256, ES512, HS256, JwsHeader, JwsSigner};
use josekit::jwt::JwtPayload;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

use crate::browser::{
    Browser, Interactive, REDIRECT, authorize, authorize_url, interactive, pkce, redeem,
};
use crate::client_credentials::decode_claims;
use crate::helpers::{
    TestApp, TestClient, TestDb, assert_oauth_error, setup, spawn_app, spawn_app_on, spawn_app_with,
};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// A second resource the interactive clients may use (they list none, so any is open).
const OTHER_RESOURCE: &str = "https://other.example.com";

// ---------------------------------------------------------------------------------------
// Helpers.

fn now(app: &TestApp) -> i64 {
    warden::clock::Clock::now(&*app.clock)
}

/// A POST to /token as `client`: Basic for a confidential client, `client_id` in the body
/// for a public one.
async fn token_request(
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
async fn code_for(
    app: &TestApp,
    client: &TestClient,
    browser: &mut Browser,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let url = authorize_url(app, client, challenge, extra);
    authorize(app, browser, &url, "alice").await["code"].clone()
}

/// An authorization_code request: `code`, the verifier when given, and `extra` fields.
async fn redeem_with(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    form.extend_from_slice(extra);
    token_request(app, client, &form).await
}

/// A refresh_token request as `client` with `extra` fields.
async fn refresh(
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
async fn ok_json(response: reqwest::Response) -> Value {
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A fresh code for `client`, redeemed: the token response.
async fn tokens(
    app: &TestApp,
    client: &TestClient,
    browser: &mut Browser,
    extra: &[(&str, &str)],
) -> Value {
    let p = pkce();
    let code = code_for(app, client, browser, &p.challenge, extra).await;
    ok_json(redeem(app, client, &code, &p.verifier).await).await
}

fn access(token: &Value) -> &str {
    token["access_token"].as_str().unwrap()
}

fn refresh_token(token: &Value) -> &str {
    token["refresh_token"].as_str().unwrap()
}

async fn is_active(app: &TestApp, server: &TestClient, token: &str) -> bool {
    app.introspect(server, token).await["active"] == true
}

/// An RFC 6749 §5.2 error that is JSON with `no-store`; returns the body.
async fn json_error(response: reqwest::Response, status: u16, code: &str) -> Value {
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

/// A PKCE challenge for any verifier, well formed or not.
fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// One number from this test's database, read behind Warden's back.
async fn scalar(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match &db.postgres {
        Some((admin_url, name)) => {
            let url = crate::helpers::with_database(admin_url, name);
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        None => {
            let url = format!("sqlite:{}", db.data_dir.path().join("warden.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}

/// Runs a statement against this test's database; the database's refusal, if any.
async fn try_exec(db: &TestDb, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let result = match &db.postgres {
        Some((admin_url, name)) => {
            let url = crate::helpers::with_database(admin_url, name);
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .map(|_| ())
        }
        None => {
            let url = format!("sqlite:{}", db.data_dir.path().join("warden.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .map(|_| ())
        }
    };
    result.map_err(|e| e.to_string())
}

async fn admin_ok(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) {
    let (status, answer) = app.admin_call(token, method, path, body).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
}

async fn resource_id(app: &TestApp, uri: &str) -> String {
    app.state
        .store
        .resource_by_uri(uri)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Another interactive client on `setup`'s registry: confidential unless `public`.
async fn another_ide(app: &TestApp, setup: &Interactive, name: &str, public: bool) -> TestClient {
    let mut body = json!({"name": name, "grant_types": ["authorization_code", "refresh_token"],
                          "redirect_uris": [REDIRECT]});
    if public {
        body["token_endpoint_auth_method"] = "none".into();
    }
    app.create_client(&setup.admin_token, body).await
}

// ---------------------------------------------------------------------------------------
// D. PKCE at the token endpoint.

#[tokio::test]
async fn the_code_verifier_must_be_sent_well_formed_and_no_code_exists_without_a_challenge() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let public = another_ide(&app, &setup, "public IDE", true).await;
    let mut browser = Browser::new();

    // Case 41 (verifier-bounds): verifiers that hash to the challenge but break RFC 7636
    // §4.1 (43 to 128 unreserved characters) are refused; 128 characters is still fine.
    let base = pkce().verifier;
    let long = base.repeat(3);
    for (why, verifier) in [
        ("42 characters", base[..42].to_owned()),
        ("129 characters", long[..129].to_owned()),
        ("a space", format!("{} {}", &base[..21], &base[21..])),
        ("a percent sign", format!("{}%41", &base[..40])),
    ] {
        let code = code_for(
            &app,
            &setup.client,
            &mut browser,
            &challenge_of(&verifier),
            &[],
        )
        .await;
        let response = redeem(&app, &setup.client, &code, &verifier).await;
        let body = json_error(response, 400, "invalid_grant").await;
        assert!(body.get("access_token").is_none(), "{why}: {body}");
    }
    let edge = long[..128].to_owned();
    let code = code_for(&app, &setup.client, &mut browser, &challenge_of(&edge), &[]).await;
    ok_json(redeem(&app, &setup.client, &code, &edge).await).await;

    // Case 42 (pkce-downgrade): PKCE is always required, so no code without a challenge can
    // exist. The authorization request without one is refused for a confidential and a
    // public client alike (no code in the redirect)...
    for client in [&setup.client, &public] {
        let url = authorize_url(
            &app,
            client,
            "unused",
            &[("code_challenge", ""), ("code_challenge_method", "")],
        );
        let response = Browser::new().get(&url).await;
        assert_eq!(response.status(), 303);
        let q = crate::browser::query(&crate::browser::location(&response));
        assert_eq!(q["error"], "invalid_request", "{q:?}");
        assert!(!q.contains_key("code"), "{q:?}");
    }
    // ...and the database itself refuses to hold a code without one (the same row with a
    // challenge is accepted, so the NULL is what is refused).
    let insert = |code_hash: &str, challenge: &str| {
        format!(
            "INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, \
             redirect_uri_sent, code_challenge, resource, scope, user_id, created_at, expires_at) \
             SELECT '{code_hash}', id, client_id, '{REDIRECT}', TRUE, {challenge}, resource, scope, \
             subject, 0, 0 FROM grants WHERE kind = 'authorization_code'"
        )
    };
    let refused = try_exec(&app.db, &insert("sweep-no-challenge", "NULL")).await;
    let why = refused.expect_err("a code row without a challenge was stored");
    assert!(why.to_ascii_lowercase().contains("null"), "{why}");
    try_exec(&app.db, &insert("sweep-with-challenge", "'x'"))
        .await
        .unwrap();

    // Case 39 (verifier-missing): refused, and the code is not spent by it.
    let p = pkce();
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let missing = redeem_with(
        &app,
        &setup.client,
        &code,
        None,
        &[("redirect_uri", REDIRECT)],
    )
    .await;
    let missing_status = missing.status().as_u16();
    let missing_body: Value = missing.json().await.unwrap();
    ok_json(redeem(&app, &setup.client, &code, &p.verifier).await).await;
    // The catalogue (and design-anchors §3.6, and the OIDF module
    // ensure-pkce-code-verifier-required, CheckErrorFromTokenEndpointResponseErrorInvalidGrant)
    // want invalid_grant for a token request without code_verifier.
    assert_eq!(
        (missing_status, missing_body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{missing_body}"
    );
}

// ---------------------------------------------------------------------------------------
// E. Codes.

#[tokio::test]
async fn a_code_is_bound_to_its_client_redirect_uri_and_resource_and_works_once() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let other = another_ide(&app, &setup, "Other IDE", false).await;
    app.create_resource(
        &setup.admin_token,
        json!({"uri": OTHER_RESOURCE, "name": "Other MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let mut browser = Browser::new();

    // Case 47 (code-bound-to-client): client B, with valid credentials, cannot redeem A's
    // code, and the attempt leaves it usable by A.
    let p = pkce();
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    json_error(
        redeem(&app, &other, &code, &p.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    let token = ok_json(redeem(&app, &setup.client, &code, &p.verifier).await).await;
    assert_eq!(
        app.introspect(&setup.server, access(&token)).await["client_id"],
        setup.client.client_id
    );

    // Case 48 (code-bound-to-redirect): another redirect URI than the authorization's, even
    // one registered for the client, is invalid_grant.
    for uri in [
        "https://app.example.com/other",
        "https://app.example.com/cb",
    ] {
        let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
        let response = redeem_with(
            &app,
            &setup.client,
            &code,
            Some(&p.verifier),
            &[("redirect_uri", uri)],
        )
        .await;
        json_error(response, 400, "invalid_grant").await;
    }
    // Omitting redirect_uri is accepted when the authorization request omitted it too (a
    // client with one registered URI)...
    let single = app
        .create_client(
            &setup.admin_token,
            json!({"name": "single", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT]}),
        )
        .await;
    let code = code_for(
        &app,
        &single,
        &mut browser,
        &p.challenge,
        &[("redirect_uri", "")],
    )
    .await;
    ok_json(redeem_with(&app, &single, &code, Some(&p.verifier), &[]).await).await;
    // ...but Warden's policy (design-anchors §3.6, RFC 6749 §4.1.3) is that a redirect_uri
    // sent at /authorize must be repeated at /token.
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let omitted = redeem_with(&app, &setup.client, &code, Some(&p.verifier), &[]).await;
    json_error(omitted, 400, "invalid_grant").await;

    // Case 49 (code-bound-to-resource): authorized for R1, the token request names R2 (a
    // registered resource the client may use): invalid_target. Naming R1 gets aud R1.
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let moved = redeem_with(
        &app,
        &setup.client,
        &code,
        Some(&p.verifier),
        &[("redirect_uri", REDIRECT), ("resource", OTHER_RESOURCE)],
    )
    .await;
    json_error(moved, 400, "invalid_target").await;
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let bound = redeem_with(
        &app,
        &setup.client,
        &code,
        Some(&p.verifier),
        &[
            ("redirect_uri", REDIRECT),
            ("resource", &setup.resource_uri),
        ],
    )
    .await;
    let bound = ok_json(bound).await;
    assert_eq!(decode_claims(access(&bound))["aud"], setup.resource_uri);

    // Case 43 (code-single-use-revokes): a code redeemed once, replayed after 1 s and after
    // 30 s (within its 60 s life): invalid_grant, and what it issued is revoked.
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let first = ok_json(redeem(&app, &setup.client, &code, &p.verifier).await).await;
    assert!(is_active(&app, &setup.server, access(&first)).await);
    app.clock.advance(1);
    json_error(
        redeem(&app, &setup.client, &code, &p.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        app.introspect(&setup.server, access(&first)).await,
        json!({"active": false})
    );
    json_error(
        refresh(&app, &setup.client, refresh_token(&first), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    app.clock.advance(29);
    json_error(
        redeem(&app, &setup.client, &code, &p.verifier).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(!is_active(&app, &setup.server, access(&first)).await);
}

#[tokio::test]
async fn an_invalid_redemption_or_replay_of_a_code_spends_and_revokes_nothing() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let public = another_ide(&app, &setup, "public IDE", true).await;
    let mut browser = Browser::new();

    // Case 40 (verifier-wrong): a different, well-formed verifier is invalid_grant, and the
    // code is not consumed: the right verifier still redeems it, and the user's grant (with
    // a token from an earlier authorization, the same grant) is untouched. Whoever holds
    // only the code can neither burn it nor turn the client's redemption into a "replay".
    let earlier = tokens(&app, &public, &mut browser, &[]).await;
    let p = pkce();
    let code = code_for(&app, &public, &mut browser, &p.challenge, &[]).await;
    let wrong = redeem(&app, &public, &code, &pkce().verifier).await;
    json_error(wrong, 400, "invalid_grant").await;
    let right = ok_json(redeem(&app, &public, &code, &p.verifier).await).await;
    assert!(is_active(&app, &setup.server, access(&right)).await);
    assert!(is_active(&app, &setup.server, access(&earlier)).await);

    // Case 44 (invalid-replay-does-not-revoke): the code of a confidential client, replayed
    // without client authentication, is refused before anything else happens.
    let p = pkce();
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let first = ok_json(redeem(&app, &setup.client, &code, &p.verifier).await).await;
    let bare = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", p.verifier.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    json_error(
        app.post_form("/token", &bare, None).await,
        401,
        "invalid_client",
    )
    .await;
    let named = [&bare[..], &[("client_id", setup.client.client_id.as_str())]].concat();
    json_error(
        app.post_form("/token", &named, None).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(is_active(&app, &setup.server, access(&first)).await);
    ok_json(refresh(&app, &setup.client, refresh_token(&first), &[]).await).await;

    // A public client's used code replayed without a verifier: refused, nothing revoked.
    let q = code_for(&app, &public, &mut browser, &p.challenge, &[]).await;
    let public_first = ok_json(redeem(&app, &public, &q, &p.verifier).await).await;
    let no_verifier = redeem_with(&app, &public, &q, None, &[("redirect_uri", REDIRECT)]).await;
    assert_eq!(no_verifier.status(), 400);
    assert!(is_active(&app, &setup.server, access(&public_first)).await);

    // The same code replayed with a wrong verifier, by anyone who knows the code and the
    // public client's id: invalid_grant, and the tokens the code issued stay active.
    let wrong = redeem(&app, &public, &q, &pkce().verifier).await;
    json_error(wrong, 400, "invalid_grant").await;
    assert!(is_active(&app, &setup.server, access(&public_first)).await);
    ok_json(refresh(&app, &public, refresh_token(&public_first), &[]).await).await;
}

#[tokio::test]
async fn fifty_parallel_redemptions_of_one_code_issue_exactly_one_token_family() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let code = code_for(&app, &setup.client, &mut browser, &p.challenge, &[]).await;
    let client_id = &setup.client.client_id;

    // Case 45 (concurrent-code-redemption): 50 redemptions at once.
    let attempts = (0..50).map(|_| redeem(&app, &setup.client, &code, &p.verifier));
    let mut issued = Vec::new();
    for response in futures_util::future::join_all(attempts).await {
        if response.status() == 200 {
            issued.push(response.json::<Value>().await.unwrap());
        } else {
            json_error(response, 400, "invalid_grant").await;
        }
    }
    assert!(
        issued.len() <= 1,
        "{} token responses for one code",
        issued.len()
    );
    // One grant, and at most one refresh token in it (row counts).
    let grants = scalar(
        &app.db,
        &format!("SELECT COUNT(*) FROM grants WHERE client_id = '{client_id}'"),
    )
    .await;
    assert_eq!(grants, 1);
    let refresh_rows = scalar(
        &app.db,
        &format!("SELECT COUNT(*) FROM refresh_tokens WHERE client_id = '{client_id}'"),
    )
    .await;
    assert_eq!(refresh_rows, 1, "one token family");
    // The 49 others redeemed the spent code with the right verifier: replays (case 43), so
    // what the winner got is revoked with the grant.
    for token in &issued {
        assert!(!is_active(&app, &setup.server, access(token)).await);
        json_error(
            refresh(&app, &setup.client, refresh_token(token), &[]).await,
            400,
            "invalid_grant",
        )
        .await;
    }
}

#[tokio::test]
async fn token_responses_are_uncached_json_and_only_supported_grants_are_served() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let before = app.grant_count().await;

    // Case 51 (token-response-headers): a success is JSON with no-store...
    let ok = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&s.agent),
        )
        .await;
    let content_type = ok.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body = ok_json(ok).await;
    assert!(body["access_token"].is_string());
    let before = before + 1;

    // Case 50 (grant-type-password-and-implicit): password, implicit and unknown grant
    // types are unsupported_grant_type (400), before any credential is looked at.
    let mut descriptions = Vec::new();
    let unsupported: [&[(&str, &str)]; 6] = [
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "correct horse battery staple"),
        ],
        &[("grant_type", "implicit")],
        &[("grant_type", "token")],
        &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
        &[("grant_type", "CLIENT_CREDENTIALS")],
        &[("grant_type", "client_credentials\r\nX-Injected: 1")],
    ];
    for form in unsupported {
        let response = app.post_form("/token", form, Some(&s.agent)).await;
        let body = json_error(response, 400, "unsupported_grant_type").await;
        descriptions.push(body["error_description"].as_str().unwrap().to_owned());
        let response = app.post_form("/token", form, None).await;
        json_error(response, 400, "unsupported_grant_type").await;
    }

    // Case 51 again, for errors: every one JSON and no-store; 400 except invalid_client,
    // which is 401 with a WWW-Authenticate challenge when Basic was attempted (RFC 6749
    // §5.2) and 401 without Basic too.
    let wrong = TestClient {
        client_secret: format!("{}x", &s.agent.client_secret[..42]),
        ..s.agent.clone()
    };
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&wrong),
        )
        .await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Basic"), "{challenge}");
    descriptions.push(
        json_error(response, 401, "invalid_client").await["error_description"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let posted = [
        ("grant_type", "client_credentials"),
        ("client_id", wrong.client_id.as_str()),
        ("client_secret", wrong.client_secret.as_str()),
    ];
    json_error(
        app.post_form("/token", &posted, None).await,
        401,
        "invalid_client",
    )
    .await;
    let errors: [(&[(&str, &str)], &str); 4] = [
        (&[("scope", "mcp:read")], "invalid_request"),
        (
            &[("grant_type", "client_credentials"), ("scope", "mcp:admin")],
            "invalid_scope",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("resource", "not a uri"),
            ],
            "invalid_target",
        ),
        (
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
            "unauthorized_client",
        ),
    ];
    for (form, code) in errors {
        let response = app.post_form("/token", form, Some(&s.agent)).await;
        let body = json_error(response, 400, code).await;
        descriptions.push(body["error_description"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        app.grant_count().await,
        before,
        "no refused request wrote a grant"
    );

    // security.md §4: every error_description is ASCII %x20-21 / %x23-5B / %x5D-7E (RFC 6749
    // §5.2), so no CR/LF, '"' or '\' can reach a client's logs or parser.
    let bad: Vec<&String> = descriptions
        .iter()
        .filter(|d| {
            !d.bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        })
        .collect();
    // Descriptions that quote the request with Rust's `{:?}` (grant_type in
    // oauth/token/mod.rs, resource in oauth/resource.rs) are mapped into the RFC's set.
    assert!(
        bad.is_empty(),
        "error_description outside RFC 6749 §5.2: {bad:?}"
    );
}

#[tokio::test]
async fn refresh_and_access_tokens_are_unique_url_safe_and_carry_256_random_bits() {
    // Case 52 (token-entropy-and-charset): a few hundred tokens of each kind instead of the
    // catalogue's 10,000, which is too slow for CI; the checks are the same (no collision,
    // the RFC 6749 A.12/A.17 character sets) plus a statistical check of the randomness.
    const N: usize = 300;
    let app = spawn_app_with(&[("WARDEN_TOKEN_RATE_LIMIT", "0")]).await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let first = tokens(&app, &setup.client, &mut browser, &[]).await;
    let mut refresh_tokens = vec![refresh_token(&first).to_owned()];
    let mut access_tokens = vec![access(&first).to_owned()];
    for _ in 0..N {
        let last = refresh_tokens.last().unwrap().clone();
        let next = ok_json(refresh(&app, &setup.client, &last, &[]).await).await;
        refresh_tokens.push(refresh_token(&next).to_owned());
        access_tokens.push(access(&next).to_owned());
    }
    for _ in 0..N {
        let body = app
            .client_credentials(&setup.server, Some(&setup.resource_uri), None)
            .await;
        access_tokens.push(access(&body).to_owned());
    }

    // Refresh tokens: 43 base64url characters (a subset of A.17's VSCHAR), 32 random bytes.
    let unique: HashSet<&String> = refresh_tokens.iter().collect();
    assert_eq!(
        unique.len(),
        refresh_tokens.len(),
        "a refresh token repeated"
    );
    let mut bytes = Vec::new();
    for token in &refresh_tokens {
        assert_eq!(token.len(), 43, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{token}"
        );
        let raw = URL_SAFE_NO_PAD.decode(token).unwrap();
        assert_eq!(raw.len(), 32, "256 bits");
        bytes.extend(raw);
    }
    // 301 × 32 bytes: every byte value appears (a missing one has odds below 1e-16 for
    // random data) and the bits are balanced within 1 % (over ten standard deviations).
    let values: HashSet<u8> = bytes.iter().copied().collect();
    assert_eq!(values.len(), 256, "refresh tokens do not look random");
    let ones: u32 = bytes.iter().map(|b| b.count_ones()).sum();
    let share = f64::from(ones) / (bytes.len() * 8) as f64;
    assert!((0.49..=0.51).contains(&share), "share of one bits {share}");

    // Access tokens: JWTs, so base64url segments and dots (A.12 VSCHAR), each distinct,
    // each with its own jti.
    let unique: HashSet<&String> = access_tokens.iter().collect();
    assert_eq!(
        unique.len(),
        access_tokens.len(),
        "an access token repeated"
    );
    let mut jtis = HashSet::new();
    for token in &access_tokens {
        assert_eq!(token.matches('.').count(), 2, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "{token}"
        );
        let jti = decode_claims(token)["jti"].as_str().unwrap().to_owned();
        assert!(jti.len() >= 32, "{jti}");
        assert!(jtis.insert(jti), "a jti repeated");
    }
}

// ---------------------------------------------------------------------------------------
// E. Refresh tokens.

#[tokio::test]
async fn a_rotated_refresh_token_presented_again_revokes_the_whole_family() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let first = tokens(
        &app,
        &setup.client,
        &mut browser,
        &[("scope", "mcp:read mcp:write")],
    )
    .await;
    let rt1 = refresh_token(&first);

    // Case 53 (refresh-rotation-public): the public client refreshes with RT1 and gets a new
    // pair. Case 58 (refresh-no-scope-widening), its allowed half: the same scope, in
    // another order, is fine.
    let second =
        ok_json(refresh(&app, &setup.client, rt1, &[("scope", "mcp:write mcp:read")]).await).await;
    let rt2 = refresh_token(&second);
    assert_ne!(rt2, rt1);
    assert_ne!(access(&second), access(&first));
    assert!(is_active(&app, &setup.server, access(&second)).await);

    // Case 54 (refresh-reuse-detection): RT1 again, outside the grace window: invalid_grant,
    // and the whole family goes: RT2 no longer refreshes, AT1 and AT2 are inactive.
    app.clock.advance(11);
    json_error(
        refresh(&app, &setup.client, rt1, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    json_error(
        refresh(&app, &setup.client, rt2, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    for token in [&first, &second] {
        assert_eq!(
            app.introspect(&setup.server, access(token)).await,
            json!({"active": false})
        );
    }
}

// ---------------------------------------------------------------------------------------
// private_key_jwt clients (dynamic registration with an inline JWK Set).

struct ClientKey {
    private: Jwk,
    public: Value,
    kid: String,
}

fn ec_key(curve: EcCurve, kid: &str) -> ClientKey {
    let mut private = Jwk::generate_ec_key(curve).unwrap();
    private.set_key_id(kid);
    let mut public = private.to_public_key().unwrap();
    public.set_key_id(kid);
    ClientKey {
        private,
        public: serde_json::to_value(public.as_ref()).unwrap(),
        kid: kid.to_owned(),
    }
}

/// Registers a native private_key_jwt client with these public keys; returns its id.
async fn register_jwt_client(app: &TestApp, keys: &[&ClientKey]) -> String {
    let body = json!({
        "client_name": "JWT App",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "application_type": "native",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>()},
    });
    let response = app
        .http
        .post(format!("{}/register", app.issuer))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let registered: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{registered}");
    registered["client_id"].as_str().unwrap().to_owned()
}

/// Good assertion claims for `client_id`: aud the issuer, a minute to live, a fresh jti.
fn assertion_claims(app: &TestApp, client_id: &str) -> JwtPayload {
    let now = now(app);
    let mut payload = JwtPayload::new();
    payload.set_issuer(client_id);
    payload.set_subject(client_id);
    payload.set_audience(vec![app.issuer.as_str()]);
    payload.set_jwt_id(warden::crypto::random::token());
    payload.set_claim("iat", Some(json!(now))).unwrap();
    payload.set_claim("exp", Some(json!(now + 60))).unwrap();
    payload
}

fn sign_with(signer: &dyn JwsSigner, kid: &str, payload: &JwtPayload) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    josekit::jwt::encode_with_signer(payload, &header, signer).unwrap()
}

fn sign_es256(key: &ClientKey, payload: &JwtPayload) -> String {
    sign_with(
        &ES256.signer_from_jwk(&key.private).unwrap(),
        &key.kid,
        payload,
    )
}

/// A JWT put together by hand: any header, the claims, any signature bytes.
fn assemble(header: &Value, payload: &JwtPayload, signature: &[u8]) -> String {
    let claims = Value::Object(payload.claims_set().clone());
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A token request authenticated by `assertion` alone (RFC 7523 §2.2).
async fn with_assertion(
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
async fn jwt_client_tokens(
    app: &TestApp,
    browser: &mut Browser,
    client_id: &str,
    key: &ClientKey,
) -> Value {
    let client = TestClient {
        client_id: client_id.to_owned(),
        client_secret: String::new(),
    };
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

#[tokio::test]
async fn a_refresh_needs_client_authentication_a_live_client_and_resource_and_recent_use() {
    let app = spawn_app_with(&[("WARDEN_REFRESH_TOKEN_TTL", "1h")]).await;
    let setup = interactive(&app, false).await;
    app.create_resource(
        &setup.admin_token,
        json!({"uri": OTHER_RESOURCE, "name": "Other MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let mut browser = Browser::new();

    // Case 61 (refresh-idle-expiry): WARDEN_REFRESH_TOKEN_TTL is an idle limit, since every
    // refresh rotates to a token with a fresh lifetime: used just within the hour, a token
    // works (twice, so the family outlives one lifetime); unused for the hour, it is
    // invalid_grant.
    let first = tokens(&app, &setup.client, &mut browser, &[]).await;
    app.clock.advance(3599);
    let second = ok_json(refresh(&app, &setup.client, refresh_token(&first), &[]).await).await;
    app.clock.advance(3599);
    let third = ok_json(refresh(&app, &setup.client, refresh_token(&second), &[]).await).await;
    app.clock.advance(3600);
    json_error(
        refresh(&app, &setup.client, refresh_token(&third), &[]).await,
        400,
        "invalid_grant",
    )
    .await;

    // The admin token of the setup has expired meanwhile.
    let admin_token = app.admin_token().await;

    // Case 59 (refresh-confidential-requires-auth): a confidential client's refresh without
    // its secret, or with a wrong one, is 401 invalid_client; the token is not spent.
    let token = tokens(&app, &setup.client, &mut browser, &[]).await;
    let rt = refresh_token(&token);
    let named_only = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", setup.client.client_id.as_str()),
    ];
    json_error(
        app.post_form("/token", &named_only, None).await,
        401,
        "invalid_client",
    )
    .await;
    let wrong = TestClient {
        client_secret: format!("{}x", &setup.client.client_secret[..42]),
        ..setup.client.clone()
    };
    json_error(refresh(&app, &wrong, rt, &[]).await, 401, "invalid_client").await;
    let token = ok_json(refresh(&app, &setup.client, rt, &[]).await).await;
    // The same for a private_key_jwt client: no client_assertion (only its id, or a
    // client_secret it never had) is invalid_client; a fresh assertion refreshes.
    let key = ec_key(EcCurve::P256, "jwt-1");
    let jwt_client = register_jwt_client(&app, &[&key]).await;
    let jwt_tokens = jwt_client_tokens(&app, &mut browser, &jwt_client, &key).await;
    let jwt_rt = refresh_token(&jwt_tokens);
    let bare = [
        ("grant_type", "refresh_token"),
        ("refresh_token", jwt_rt),
        ("client_id", jwt_client.as_str()),
    ];
    json_error(
        app.post_form("/token", &bare, None).await,
        401,
        "invalid_client",
    )
    .await;
    let made_up = pkce().verifier;
    let posing = [&bare[..], &[("client_secret", made_up.as_str())]].concat();
    json_error(
        app.post_form("/token", &posing, None).await,
        401,
        "invalid_client",
    )
    .await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", jwt_rt)];
    let assertion = sign_es256(&key, &assertion_claims(&app, &jwt_client));
    ok_json(with_assertion(&app, &form, &assertion).await).await;

    // Case 60 (refresh-after-user-disabled), the client and resource halves (the user half
    // is authorization_errors::disabling_a_user_ends_their_sessions_and_their_tokens):
    // a disabled client cannot authenticate (401 invalid_client)...
    let client_path = format!("/clients/{}", setup.client.client_id);
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("{client_path}/disable"),
        None,
    )
    .await;
    json_error(
        refresh(&app, &setup.client, refresh_token(&token), &[]).await,
        401,
        "invalid_client",
    )
    .await;
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("{client_path}/enable"),
        None,
    )
    .await;
    // ...a disabled resource gives invalid_grant...
    let token = tokens(&app, &setup.client, &mut browser, &[]).await;
    let a_id = resource_id(&app, &setup.resource_uri).await;
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("/resources/{a_id}/disable"),
        None,
    )
    .await;
    json_error(
        refresh(&app, &setup.client, refresh_token(&token), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(!is_active(&app, &setup.server, access(&token)).await);
    admin_ok(
        &app,
        &admin_token,
        Method::POST,
        &format!("/resources/{a_id}/enable"),
        None,
    )
    .await;
    // ...and so does a deleted one.
    let other = tokens(
        &app,
        &setup.client,
        &mut browser,
        &[("resource", OTHER_RESOURCE)],
    )
    .await;
    assert_eq!(decode_claims(access(&other))["aud"], OTHER_RESOURCE);
    let other_id = resource_id(&app, OTHER_RESOURCE).await;
    admin_ok(
        &app,
        &admin_token,
        Method::DELETE,
        &format!("/resources/{other_id}"),
        None,
    )
    .await;
    json_error(
        refresh(&app, &setup.client, refresh_token(&other), &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    // A resource registered again under the deleted one's URI is a new registration the
    // user never consented to: the old grant must stay dead.
    app.create_resource(
        &admin_token,
        json!({"uri": OTHER_RESOURCE, "name": "Another MCP at that URI", "scopes": ["mcp:read"]}),
    )
    .await;
    let revived = refresh(&app, &setup.client, refresh_token(&other), &[]).await;
    let status = revived.status().as_u16();
    let body = revived.text().await.unwrap();
    // Deleting a resource revokes its grants: the grant status joins resources by URI, so
    // without that, registering the URI again would revive every refresh token issued for
    // the deleted resource (found by this sweep).
    assert_eq!(
        status, 400,
        "a refresh token of a deleted resource revived: {body}"
    );
}

// ---------------------------------------------------------------------------------------
// F. Client authentication with private_key_jwt.

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

// ---------------------------------------------------------------------------------------
// H. Token exchange.

/// A token exchange request by `caller` for `subject` with `extra` parameters.
async fn exchange(
    app: &TestApp,
    caller: &TestClient,
    subject: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    form.extend_from_slice(extra);
    token_request(app, caller, &form).await
}

/// How deep an `act` claim nests.
fn act_depth(act: &Value) -> usize {
    match act.get("act") {
        Some(inner) => 1 + act_depth(inner),
        None => usize::from(act.is_object()),
    }
}

#[tokio::test]
async fn token_exchange_refuses_broken_subjects_public_callers_and_overlong_chains() {
    const B: &str = "https://api.example.com";
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let a = setup.resource_uri.clone();
    app.create_resource(
        &setup.admin_token,
        json!({"uri": B, "name": "Example API", "scopes": ["mcp:read", "mcp:write"]}),
    )
    .await;
    // S serves both resources, and each is a downstream of the other, so S can chain.
    let s = app
        .create_client(
            &setup.admin_token,
            json!({"name": "mcp server S", "grant_types": [TOKEN_EXCHANGE], "served_resources": [a, B]}),
        )
        .await;
    for (source, target) in [(a.as_str(), B), (B, a.as_str())] {
        let id = resource_id(&app, source).await;
        admin_ok(
            &app,
            &setup.admin_token,
            Method::PUT,
            &format!("/resources/{id}/downstreams"),
            Some(json!([{"target": target}])),
        )
        .await;
    }
    let public = another_ide(&app, &setup, "public IDE", true).await;
    let mut browser = Browser::new();
    let user = tokens(
        &app,
        &setup.client,
        &mut browser,
        &[("scope", "mcp:read mcp:write")],
    )
    .await;
    let subject = access(&user);

    // Case 78 (tx-missing-or-garbled-subject), the forms token_exchange.rs does not send:
    // an empty subject_token, and a JWT truncated three ways. Never a token.
    let dot = subject.rfind('.').unwrap();
    for (why, broken) in [
        ("empty", ""),
        ("no signature segment", &subject[..dot]),
        ("empty signature", &subject[..=dot]),
        ("signature cut short", &subject[..subject.len() - 10]),
    ] {
        let response = exchange(&app, &s, broken, &[("resource", B)]).await;
        let body = json_error(response, 400, "invalid_request").await;
        assert!(body.get("access_token").is_none(), "{why}: {body}");
    }

    // Case 81 (tx-unregistered-target): audience=unknown (not even a URI).
    json_error(
        exchange(&app, &s, subject, &[("audience", "unknown")]).await,
        400,
        "invalid_target",
    )
    .await;

    // Case 83 (tx-public-client-not-holder): a public client, naming itself, may not
    // exchange the user's token (it cannot hold the grant type; a request is refused).
    json_error(
        exchange(&app, &public, subject, &[("resource", B)]).await,
        400,
        "unauthorized_client",
    )
    .await;

    // Case 85 (tx-delegation-chain): an actor_token names the actor in act...
    let agent = app
        .create_client(
            &setup.admin_token,
            json!({"name": "agent", "grant_types": ["client_credentials"], "resources": [a]}),
        )
        .await;
    let actor = app.client_credentials(&agent, Some(&a), None).await;
    let acted = ok_json(
        exchange(
            &app,
            &s,
            subject,
            &[
                ("resource", B),
                ("actor_token", access(&actor)),
                ("actor_token_type", ACCESS_TOKEN_TYPE),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        decode_claims(access(&acted))["act"],
        json!({"sub": agent.client_id, "client_id": s.client_id})
    );
    // ...each exchange of an exchanged token nests one more act, and the chain stops at
    // five actors (MAX_ACT_DEPTH): the sixth exchange is refused.
    let mut current = subject.to_owned();
    for depth in 1..=5 {
        let target = if depth % 2 == 1 { B } else { a.as_str() };
        let next = ok_json(exchange(&app, &s, &current, &[("resource", target)]).await).await;
        let claims = decode_claims(access(&next));
        assert_eq!(claims["aud"], target);
        assert_eq!(act_depth(&claims["act"]), depth, "{claims}");
        current = access(&next).to_owned();
    }
    let body = json_error(
        exchange(&app, &s, &current, &[("resource", &a)]).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("chain"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------
// I. Revocation and introspection.

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

//! Hostile-input sweep, security.md §5 D–E (cases 39–52): PKCE verifiers at the token
//! endpoint and authorization codes: a code's bindings, its single use under replay and
//! concurrency, the token response, and the randomness of what is issued.
//!
//! Cases covered fully by an earlier module are not repeated here (46, code expiry, is
//! `authorization_errors::a_code_expires_after_sixty_seconds`); the index names those tests.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::support::{
    OTHER_RESOURCE, another_ide, code_for, is_active, json_error, ok_json, refresh, refresh_token,
    scalar, token_request, tokens,
};
use crate::helpers::browser::challenge_of;
use crate::helpers::browser::{Browser, REDIRECT, authorize_url, interactive, pkce, redeem};
use crate::helpers::tokens::access;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, TestClient, TestDb, setup, spawn_app, spawn_app_with};

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
        let q = crate::helpers::browser::query(&crate::helpers::browser::location(&response));
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
        &[(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:saml2-bearer",
        )],
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

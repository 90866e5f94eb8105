//! The browser flow: OAuth 2.1 §4.1 authorization code with PKCE (RFC 7636), RFC 8707
//! resources, RFC 9207 `iss`, sign-in, consent, and refresh (§4.3).

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RefreshToken, Scope, TokenResponse, TokenUrl,
};

use crate::helpers::browser::{
    Browser, REDIRECT, authorize, authorize_url, interactive, pkce, redeem,
};
use crate::helpers::{Oauth2Http, assert_oauth_error, spawn_app};

#[tokio::test]
async fn the_oauth2_crate_runs_the_whole_flow_with_pkce_and_refresh() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let client = BasicClient::new(ClientId::new(setup.client.client_id.clone()))
        .set_client_secret(ClientSecret::new(setup.client.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(format!("{}/authorize", app.issuer)).unwrap())
        .set_token_uri(TokenUrl::new(format!("{}/token", app.issuer)).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("mcp:read".into()))
        .add_scope(Scope::new("mcp:write".into()))
        .add_extra_param("resource", &setup.resource_uri)
        .set_pkce_challenge(challenge)
        .url();

    let mut browser = Browser::new();
    let response = authorize(&app, &mut browser, url.as_str(), &setup.username).await;
    assert_eq!(response["state"], *csrf.secret());
    assert_eq!(response["iss"], app.issuer, "RFC 9207");

    let http = Oauth2Http(app.http.clone());
    let token = client
        .exchange_code(AuthorizationCode::new(response["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let scopes: Vec<_> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["mcp:read", "mcp:write"]);
    let access = token.access_token().secret();
    let introspected = app.introspect(&setup.server, access).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["aud"], "https://mcp.example.com");
    assert_eq!(introspected["client_id"], setup.client.client_id);
    assert_eq!(introspected["sub"], app.user_id("alice").await);

    // Refresh rotates: a new refresh token each time, narrowing allowed.
    let first_refresh = token.refresh_token().unwrap().clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .add_scope(Scope::new("mcp:read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(refreshed.scopes().unwrap()[0].as_str(), "mcp:read");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        first_refresh.secret()
    );
    let second_refresh = refreshed.refresh_token().unwrap().clone();
    // The rotated token, presented again after the grace window, revokes the grant: every
    // token of it dies.
    app.clock.advance(11);
    let reuse = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await;
    assert!(reuse.is_err());
    let after = client
        .exchange_refresh_token(&RefreshToken::new(second_refresh.secret().clone()))
        .request_async(&http)
        .await;
    assert!(
        after.is_err(),
        "the grant is revoked, so its newest refresh token is dead too"
    );
    assert_eq!(
        app.introspect(&setup.server, refreshed.access_token().secret())
            .await["active"],
        false
    );
}

#[tokio::test]
async fn consent_is_remembered_stepped_up_and_forced_by_prompt_consent() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let read = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let first = authorize(&app, &mut browser, &read, &setup.username).await;
    assert!(first.contains_key("code"));

    // Within what was granted: straight back to the client, no page.
    let again = browser.get(&read).await;
    assert_eq!(again.status(), 303);
    assert!(crate::helpers::browser::location(&again).starts_with(REDIRECT));

    // More than was granted: the consent page shows only what is new.
    let both = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let response = browser.get(&both).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let new_part = &html[..html
        .find("You already allowed")
        .expect("granted scopes are listed")];
    assert!(
        new_part.contains("mcp:write")
            && !new_part.contains("<code class=\"mono small\">mcp:read</code>")
    );

    let forced = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read"), ("prompt", "consent")],
    );
    assert_eq!(
        browser.get(&forced).await.status(),
        200,
        "prompt=consent always asks"
    );
}

#[tokio::test]
async fn deny_redirects_access_denied_with_state_and_iss() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let first = browser.get(&url).await;
    let login = browser.follow(&app, first).await;
    let consent = crate::helpers::browser::sign_in(
        &app,
        &mut browser,
        login,
        "alice",
        crate::helpers::browser::PASSWORD,
    )
    .await;
    let response =
        crate::helpers::browser::answer_consent(&app, &mut browser, consent, false).await;
    assert_eq!(response.status(), 303);
    let q = crate::helpers::browser::query(&crate::helpers::browser::location(&response));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "xyz-state");
    assert_eq!(q["iss"], app.issuer);
    assert_eq!(
        app.grant_count().await,
        1,
        "the admin's grant only: no user grant"
    );
}

#[tokio::test]
async fn a_public_client_redeems_with_pkce_alone_and_a_code_works_once() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let response = redeem(&app, &setup.client, &q["code"], &p.verifier).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token: serde_json::Value = response.json().await.unwrap();
    assert_eq!(token["scope"], "mcp:read");
    assert!(token["refresh_token"].is_string());
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);

    // Replay: invalid_grant, and the tokens issued from the code are revoked.
    let replay = redeem(&app, &setup.client, &q["code"], &p.verifier).await;
    assert_oauth_error(replay, 400, "invalid_grant").await;
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token["refresh_token"].as_str().unwrap()),
        ("client_id", setup.client.client_id.as_str()),
    ];
    assert_oauth_error(
        app.post_form("/token", &refresh, None).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn two_concurrent_redemptions_of_one_code_give_one_token() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let q = authorize(
        &app,
        &mut browser,
        &authorize_url(&app, &setup.client, &p.challenge, &[]),
        &setup.username,
    )
    .await;
    let code = q["code"].clone();
    let attempts = (0..6).map(|_| redeem(&app, &setup.client, &code, &p.verifier));
    let results = futures_util::future::join_all(attempts).await;
    let successes = results.iter().filter(|r| r.status() == 200).count();
    // Exactly one redemption spends the code, in the transaction that records its tokens,
    // so it always gets them; the others are replays, which then revoke the grant.
    assert_eq!(successes, 1, "{successes} token responses for one code");
    for r in results.into_iter().filter(|r| r.status() != 200) {
        assert_oauth_error(r, 400, "invalid_grant").await;
    }

    // The atomic consume itself: of concurrent consumers, exactly one gets the code.
    let code = authorize(
        &app,
        &mut browser,
        &authorize_url(&app, &setup.client, &p.challenge, &[]),
        &setup.username,
    )
    .await;
    let hash = warden::crypto::random::sha256_b64(&code["code"]);
    let now = warden::clock::Clock::now(&*app.clock);
    let row = app
        .state
        .store
        .authorization_code_for_issue(&hash)
        .await
        .unwrap()
        .unwrap();
    let consumers = (0..8).map(|_| {
        app.state.store.record_issue(
            &row.code.grant_id,
            now,
            Some(warden::store::authorization::Spend::Code {
                code_hash: &hash,
                client_id: &setup.client.client_id,
            }),
            None,
            false,
        )
    });
    let won = futures_util::future::join_all(consumers)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant_and_access_tokens() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let token: serde_json::Value = redeem(&app, &setup.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh = token["refresh_token"].as_str().unwrap();
    let access = token["access_token"].as_str().unwrap();
    let form = [("token", refresh), ("token_type_hint", "refresh_token")];
    // Another client cannot revoke it; its owner can.
    assert_eq!(
        app.post_form("/revoke", &form, Some(&setup.server))
            .await
            .status(),
        200
    );
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);
    assert_eq!(
        app.post_form("/revoke", &form, Some(&setup.client))
            .await
            .status(),
        200
    );
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);
    let again = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    assert_oauth_error(
        app.post_form("/token", &again, Some(&setup.client)).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_request_without_resource_or_scope_gets_the_only_resource_and_its_defaults() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let token = app.admin_token().await;
    // A self-service-style client that lists no resource.
    let open = app
        .create_client(
            &token,
            serde_json::json!({"name": "open", "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none",
                               "redirect_uris": [REDIRECT]}),
        )
        .await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &open, &p.challenge, &[("resource", "")]);
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let token: serde_json::Value = redeem(&app, &open, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["scope"], "mcp:read");
    assert_eq!(
        app.introspect(&setup.server, token["access_token"].as_str().unwrap())
            .await["aud"],
        setup.resource_uri
    );
}

#[tokio::test]
async fn parallel_refreshes_within_the_grace_window_keep_the_grant() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let q = authorize(&app, &mut browser, &url, &setup.username).await;
    let token: serde_json::Value = redeem(&app, &setup.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh = token["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", setup.client.client_id.as_str()),
    ];
    // Three requests in flight refresh with the same token, as the TypeScript SDK does.
    let attempts = (0..3).map(|_| app.post_form("/token", &form, None));
    let results = futures_util::future::join_all(attempts).await;
    let mut access = Vec::new();
    for r in results {
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        access.push(body["access_token"].as_str().unwrap().to_owned());
    }
    for a in &access {
        assert_eq!(app.introspect(&setup.server, a).await["active"], true);
    }
    // Past the window, the same token is a replay and ends the grant.
    app.clock.advance(11);
    assert_oauth_error(
        app.post_form("/token", &form, None).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        app.introspect(&setup.server, &access[0]).await["active"],
        false
    );
}

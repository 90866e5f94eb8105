//! The browser flow when something is wrong: bad authorization requests (pages before the
//! redirect URI is trusted, redirects with `error`, `state` and `iss` after), bad token and
//! refresh requests, CSRF, other users' requests, sign-in failures and throttling, page
//! headers, the account page, sign-out and disabled users.

use crate::helpers::browser::challenge_of;
use crate::helpers::browser::{
    Browser, Interactive, PASSWORD, REDIRECT, answer_consent, authorize, authorize_url, hidden,
    interactive, location, pkce, query, redeem, sign_in,
};
use crate::helpers::pages::{assert_error_page, assert_error_redirect, try_sign_in};
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app};

/// A code for `setup`'s client, with `extra` parameters on the authorization request.
async fn code_for(
    app: &TestApp,
    setup: &Interactive,
    browser: &mut Browser,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let url = authorize_url(app, &setup.client, challenge, extra);
    authorize(app, browser, &url, &setup.username).await["code"].clone()
}

/// An authorization_code request to /token as `client` (Basic) with these extra fields.
async fn exchange(
    app: &TestApp,
    client: &TestClient,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", "authorization_code")];
    form.extend_from_slice(fields);
    app.post_form("/token", &form, Some(client)).await
}

/// A refresh_token request to /token as `client` (Basic) with these extra fields.
async fn refresh(
    app: &TestApp,
    client: &TestClient,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(fields);
    app.post_form("/token", &form, Some(client)).await
}

/// A whole flow for `setup`'s client: the token response of a fresh code.
async fn tokens(
    app: &TestApp,
    setup: &Interactive,
    browser: &mut Browser,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let p = pkce();
    let code = code_for(app, setup, browser, &p.challenge, extra).await;
    let response = redeem(app, &setup.client, &code, &p.verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Takes `browser` from a fresh authorization request to alice's consent page; returns the
/// page's HTML.
async fn consent_page_html(app: &TestApp, setup: &Interactive, browser: &mut Browser) -> String {
    let p = pkce();
    let first = browser
        .get(&authorize_url(app, &setup.client, &p.challenge, &[]))
        .await;
    let login = browser.follow(app, first).await;
    let consent = sign_in(app, browser, login, &setup.username, PASSWORD).await;
    assert_eq!(consent.status(), 200);
    consent.text().await.unwrap()
}

/// A user's id, from the admin API.
async fn user_id(app: &TestApp, admin_token: &str, username: &str) -> String {
    let (status, page) = app
        .admin_call(admin_token, reqwest::Method::GET, "/users", None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("no {username} in {page}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_unknown_or_missing_client_gets_an_error_page_not_a_redirect() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();
    for client_id in ["no-such-client", ""] {
        let url = authorize_url(
            &app,
            &setup.client,
            &p.challenge,
            &[("client_id", client_id)],
        );
        let mut browser = Browser::new();
        assert_error_page(browser.get(&url).await, 400).await;
    }
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_registered_exactly_gets_an_error_page() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();
    for near in [
        "https://app.example.com/cb/",
        "https://APP.example.com/cb",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/other",
        "https://evil.example.com/cb",
    ] {
        let url = authorize_url(&app, &setup.client, &p.challenge, &[("redirect_uri", near)]);
        let mut browser = Browser::new();
        let html = assert_error_page(browser.get(&url).await, 400).await;
        assert!(html.contains("Invalid redirect address"), "{near}: {html}");
    }
    // The registered one, exactly, is fine (to the login page).
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("redirect_uri", "https://app.example.com/cb")],
    );
    let response = Browser::new().get(&url).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("/login?request="));
}

#[tokio::test]
async fn a_repeated_parameter_gets_an_error_page_not_a_redirect() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let mut browser = Browser::new();
    let html = assert_error_page(browser.get(&format!("{url}&scope=mcp%3Awrite")).await, 400).await;
    assert!(html.contains("scope"), "{html}");
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_redirect_with_state_and_iss() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge", "")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            &[("request_uri", "urn:ietf:params:oauth:request_uri:abc")],
            "request_uri_not_supported",
        ),
        (&[("scope", "mcp:admin")], "invalid_scope"),
        (
            &[("resource", "https://unknown.example.com")],
            "invalid_target",
        ),
        (&[("prompt", "none")], "login_required"),
    ];
    for (extra, code) in cases {
        let url = authorize_url(&app, &setup.client, &p.challenge, extra);
        let mut browser = Browser::new();
        let response = browser.get(&url).await;
        assert_error_redirect(&app, &response, code);
    }
    assert_eq!(app.grant_count().await, 1, "the admin's grant only");
}

#[tokio::test]
async fn a_loopback_redirect_may_change_its_port_but_nothing_else() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    // Any port but the server's own, so that the browser does not follow the redirect.
    let port = if app.port == 51234 { 51235 } else { 51234 };
    let moved = format!("http://127.0.0.1:{port}/callback");

    // With a trailing slash it is another URI: an error page.
    let p = pkce();
    let slash = format!("{moved}/");
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("redirect_uri", &slash)],
    );
    assert_error_page(Browser::new().get(&url).await, 400).await;

    // The port alone may differ: the code goes back to exactly that URI.
    let mut browser = Browser::new();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("redirect_uri", &moved)],
    );
    let first = browser.get(&url).await;
    let login = browser.follow(&app, first).await;
    let consent = sign_in(&app, &mut browser, login, &setup.username, PASSWORD).await;
    let response = answer_consent(&app, &mut browser, consent, true).await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(target.starts_with(&format!("{moved}?")), "{target}");
    let q = query(&target);
    assert_eq!(q["state"], "xyz-state");
    assert_eq!(q["iss"], app.issuer);

    // Redeeming names the URI the authorization used, not the registered one.
    let refused = exchange(
        &app,
        &setup.client,
        &[
            ("code", &q["code"]),
            ("code_verifier", &p.verifier),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_oauth_error(refused, 400, "invalid_grant").await;

    // Consent is remembered now: straight back to the moved URI with a new code.
    let response = browser.get(&url).await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(target.starts_with(&format!("{moved}?")), "{target}");
    let q = query(&target);
    let response = exchange(
        &app,
        &setup.client,
        &[
            ("code", &q["code"]),
            ("code_verifier", &p.verifier),
            ("redirect_uri", &moved),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let token: serde_json::Value = response.json().await.unwrap();
    assert!(token["access_token"].is_string());
}

#[tokio::test]
async fn a_wrong_malformed_or_missing_code_verifier_is_refused() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();

    // Wrong: another verifier.
    let p = pkce();
    let code = code_for(&app, &setup, &mut browser, &p.challenge, &[]).await;
    let wrong = redeem(&app, &setup.client, &code, &pkce().verifier).await;
    assert_oauth_error(wrong, 400, "invalid_grant").await;
    // Someone holding only the code cannot burn it: the right verifier still redeems it.
    let kept = redeem(&app, &setup.client, &code, &p.verifier).await;
    assert_eq!(kept.status(), 200);

    // Malformed, though it hashes to the challenge: 42 characters, or a '!' in it.
    let base = pkce().verifier;
    for verifier in [base[..42].to_owned(), format!("{}!", &base[..42])] {
        let challenge = challenge_of(&verifier);
        let code = code_for(&app, &setup, &mut browser, &challenge, &[]).await;
        let response = redeem(&app, &setup.client, &code, &verifier).await;
        assert_oauth_error(response, 400, "invalid_grant").await;
    }

    // Missing.
    let p = pkce();
    let code = code_for(&app, &setup, &mut browser, &p.challenge, &[]).await;
    let missing = exchange(
        &app,
        &setup.client,
        &[("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert_oauth_error(missing, 400, "invalid_grant").await;
}

#[tokio::test]
async fn the_token_request_must_repeat_the_redirect_uri_and_resource_of_the_authorization() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();

    let p = pkce();
    let code = code_for(&app, &setup, &mut browser, &p.challenge, &[]).await;
    let other_uri = exchange(
        &app,
        &setup.client,
        &[
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("redirect_uri", "https://app.example.com/cb"),
        ],
    )
    .await;
    assert_oauth_error(other_uri, 400, "invalid_grant").await;
    // A refused request spends nothing.
    let kept = redeem(&app, &setup.client, &code, &p.verifier).await;
    assert_eq!(kept.status(), 200);

    let code = code_for(&app, &setup, &mut browser, &p.challenge, &[]).await;
    let other_resource = exchange(
        &app,
        &setup.client,
        &[
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("redirect_uri", REDIRECT),
            ("resource", "https://other.example.com"),
        ],
    )
    .await;
    assert_oauth_error(other_resource, 400, "invalid_target").await;
    let kept = redeem(&app, &setup.client, &code, &p.verifier).await;
    assert_eq!(kept.status(), 200);
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let code = code_for(&app, &setup, &mut browser, &p.challenge, &[]).await;
    app.clock.advance(61);
    let late = redeem(&app, &setup.client, &code, &p.verifier).await;
    assert_oauth_error(late, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_may_not_broaden_the_scope_or_change_the_resource() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let token = tokens(&app, &setup, &mut browser, &[("scope", "mcp:read")]).await;
    assert_eq!(token["scope"], "mcp:read");
    let refresh_token = token["refresh_token"].as_str().unwrap();
    let broader = refresh(
        &app,
        &setup.client,
        refresh_token,
        &[("scope", "mcp:read mcp:write")],
    )
    .await;
    assert_oauth_error(broader, 400, "invalid_scope").await;

    let token = tokens(&app, &setup, &mut browser, &[("scope", "mcp:read")]).await;
    let moved = refresh(
        &app,
        &setup.client,
        token["refresh_token"].as_str().unwrap(),
        &[("resource", "https://other.example.com")],
    )
    .await;
    assert_oauth_error(moved, 400, "invalid_target").await;
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_own_client_and_only_if_it_exists() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let other = app
        .create_client(
            &setup.admin_token,
            serde_json::json!({"name": "Other IDE", "grant_types": ["authorization_code", "refresh_token"],
                               "redirect_uris": [REDIRECT]}),
        )
        .await;
    let mut browser = Browser::new();
    let token = tokens(&app, &setup, &mut browser, &[]).await;
    let refresh_token = token["refresh_token"].as_str().unwrap();

    let stolen = refresh(&app, &other, refresh_token, &[]).await;
    assert_oauth_error(stolen, 400, "invalid_grant").await;
    let unknown = refresh(&app, &setup.client, &pkce().verifier, &[]).await;
    assert_oauth_error(unknown, 400, "invalid_grant").await;

    // Neither attempt spent the token: its own client still refreshes with it.
    let own = refresh(&app, &setup.client, refresh_token, &[]).await;
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn consent_without_the_right_csrf_token_is_refused_and_grants_nothing() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let html = consent_page_html(&app, &setup, &mut browser).await;
    let request = hidden(&html, "request");
    let consent = format!("{}/consent", app.issuer);

    let missing = browser
        .post(&consent, &[("request", &request), ("decision", "approve")])
        .await;
    assert_error_page(missing, 403).await;
    let wrong_csrf = pkce().verifier;
    let wrong = browser
        .post(
            &consent,
            &[
                ("csrf", &wrong_csrf),
                ("request", &request),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_error_page(wrong, 403).await;
    assert_eq!(app.grant_count().await, 1, "the admin's grant only");
}

#[tokio::test]
async fn a_user_cannot_answer_the_consent_of_another_users_request() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut alice = Browser::new();
    let html = consent_page_html(&app, &setup, &mut alice).await;
    let request = hidden(&html, "request");

    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({"username": "bob", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    let mut bob = Browser::new();
    let login = bob.get(&format!("{}/login", app.issuer)).await;
    let account = sign_in(&app, &mut bob, login, "bob", PASSWORD).await;
    assert_eq!(account.status(), 200);
    let bob_csrf = hidden(&account.text().await.unwrap(), "csrf");

    let response = bob
        .post(
            &format!("{}/consent", app.issuer),
            &[
                ("csrf", bob_csrf.as_str()),
                ("request", &request),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_error_page(response, 400).await;
    assert_eq!(app.grant_count().await, 1, "the admin's grant only");

    // Alice's request is untouched: she can still answer it.
    let response = alice
        .post(
            &format!("{}/consent", app.issuer),
            &[
                ("csrf", hidden(&html, "csrf").as_str()),
                ("request", &request),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(query(&location(&response)).contains_key("code"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    for (username, password) in [
        (setup.username.as_str(), "not the password"),
        ("mallory", PASSWORD),
    ] {
        let mut browser = Browser::new();
        let response = try_sign_in(&app.issuer, &mut browser, username, password).await;
        assert_eq!(response.status(), 401, "{username}");
        assert!(!browser.cookies.contains_key("warden-session"));
        let html = response.text().await.unwrap();
        assert!(html.contains("Wrong username or password."), "{html}");
    }
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    for _ in 0..5 {
        let response = try_sign_in(
            &app.issuer,
            &mut browser,
            &setup.username,
            "not the password",
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    let locked = try_sign_in(&app.issuer, &mut browser, &setup.username, PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    assert!(!browser.cookies.contains_key("warden-session"));

    app.clock.advance(15 * 60 + 1);
    let later = try_sign_in(&app.issuer, &mut browser, &setup.username, PASSWORD).await;
    assert_eq!(later.status(), 303);
    assert!(browser.cookies.contains_key("warden-session"));
}

#[tokio::test]
async fn a_sign_in_without_the_login_csrf_cookie_or_field_is_refused() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let login = format!("{}/login", app.issuer);
    let mut browser = Browser::new();
    let page = browser.get(&login).await;
    let csrf = hidden(&page.text().await.unwrap(), "csrf");

    // The field but not the cookie (another browser).
    let mut stranger = Browser::new();
    let response = stranger
        .post(
            &login,
            &[
                ("csrf", csrf.as_str()),
                ("username", &setup.username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(!stranger.cookies.contains_key("warden-session"));

    // The cookie but not the field.
    let response = browser
        .post(
            &login,
            &[
                ("username", setup.username.as_str()),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(!browser.cookies.contains_key("warden-session"));
}

#[tokio::test]
async fn an_oversized_sign_in_form_gets_an_error_page_and_the_server_carries_on() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let huge = "x".repeat(1024 * 1024);
    let response = try_sign_in(&app.issuer, &mut browser, &setup.username, &huge).await;
    assert_error_page(response, 400).await;

    let mut browser = Browser::new();
    let response = try_sign_in(&app.issuer, &mut browser, &setup.username, PASSWORD).await;
    assert_eq!(response.status(), 303, "the server still answers");
}

#[tokio::test]
async fn login_and_consent_pages_forbid_framing_referrers_and_caching() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let p = pkce();
    let first = browser
        .get(&authorize_url(&app, &setup.client, &p.challenge, &[]))
        .await;
    let login = browser.follow(&app, first).await;
    assert_eq!(login.status(), 200);
    let check = |response: &reqwest::Response| {
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
    };
    check(&login);
    let consent = sign_in(&app, &mut browser, login, &setup.username, PASSWORD).await;
    assert_eq!(consent.status(), 200);
    assert!(consent.url().path().ends_with("/authorize/continue"));
    check(&consent);
}

#[tokio::test]
async fn the_account_page_lists_and_revokes_an_authorization() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let token = tokens(&app, &setup, &mut browser, &[]).await;
    let access = token["access_token"].as_str().unwrap();
    let refresh_token = token["refresh_token"].as_str().unwrap();

    let page = browser.get(&format!("{}/account", app.issuer)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Example IDE"), "{html}");
    let csrf = hidden(&html, "csrf");
    let marker = "/account/grants/";
    let start = html.find(marker).expect("a revoke form") + marker.len();
    let id = &html[start..start + html[start..].find("/revoke").unwrap()];
    let revoke = format!("{}/account/grants/{id}/revoke", app.issuer);

    let wrong_csrf = pkce().verifier;
    let forged = browser.post(&revoke, &[("csrf", &wrong_csrf)]).await;
    assert_error_page(forged, 403).await;
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);

    let response = browser.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account?notice=revoked");
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);
    let dead = refresh(&app, &setup.client, refresh_token, &[]).await;
    assert_oauth_error(dead, 400, "invalid_grant").await;
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", app.issuer)).await;
    let account = sign_in(&app, &mut browser, login, &setup.username, PASSWORD).await;
    assert_eq!(account.status(), 200);
    let csrf = hidden(&account.text().await.unwrap(), "csrf");
    let session = browser.cookies["warden-session"].clone();

    let response = browser
        .post(&format!("{}/logout", app.issuer), &[("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("/login"));
    let response = browser.get(&format!("{}/account", app.issuer)).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("/login"));

    // The old cookie, replayed, is dead on the server too.
    browser.cookies.insert("warden-session".into(), session);
    let response = browser.get(&format!("{}/account", app.issuer)).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("/login"));
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_their_tokens() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let token = tokens(&app, &setup, &mut browser, &[]).await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);
    let account = browser.get(&format!("{}/account", app.issuer)).await;
    assert_eq!(account.status(), 200);

    let id = user_id(&app, &setup.admin_token, &setup.username).await;
    let (status, view) = app
        .admin_call(
            &setup.admin_token,
            reqwest::Method::POST,
            &format!("/users/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["disabled"], true);

    let response = browser.get(&format!("{}/account", app.issuer)).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).ends_with("/login"));
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);
    let dead = refresh(
        &app,
        &setup.client,
        token["refresh_token"].as_str().unwrap(),
        &[],
    )
    .await;
    assert_oauth_error(dead, 400, "invalid_grant").await;
    let refused = try_sign_in(&app.issuer, &mut Browser::new(), &setup.username, PASSWORD).await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn a_refused_refresh_request_does_not_spend_the_refresh_token_or_revoke_the_grant() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut browser = Browser::new();
    let token = tokens(&app, &setup, &mut browser, &[("scope", "mcp:read")]).await;
    let access = token["access_token"].as_str().unwrap();
    let refresh_token = token["refresh_token"].as_str().unwrap();
    let broader = refresh(
        &app,
        &setup.client,
        refresh_token,
        &[("scope", "mcp:read mcp:write")],
    )
    .await;
    assert_oauth_error(broader, 400, "invalid_scope").await;

    // No new token was issued, so the old one is still the client's current one: using it
    // again is not a replay and must neither fail nor revoke the user's authorization.
    let retry = refresh(&app, &setup.client, refresh_token, &[]).await;
    assert_eq!(
        retry.status(),
        200,
        "{}",
        retry.text().await.unwrap_or_default()
    );
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);
}

//! The device authorization grant (RFC 8628): `/device_authorization`, the verification
//! page at `/device` (sign-in, the code, the browser flow's consent page), polling at
//! `/token` (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`), and
//! the grant it makes behaving like any other.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use serde_json::{Value, json};

use crate::helpers::browser::{Browser, PASSWORD, hidden, sign_in};
use crate::helpers::{Oauth2Http, TestApp, TestClient, assert_oauth_error, scalar, spawn_app};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const RESOURCE: &str = "https://mcp.example.com";

struct Device {
    admin_token: String,
    client: TestClient,
    server: TestClient,
}

/// A resource, the user alice, an MCP server that may introspect, and a device client
/// (public unless `confidential`) with the device and refresh grants.
async fn device_setup(app: &TestApp, confidential: bool) -> Device {
    let admin_token = app.admin_token().await;
    app.create_resource(
        &admin_token,
        json!({"uri": RESOURCE, "name": "Example MCP", "scopes": ["mcp:read", "mcp:write"]}),
    )
    .await;
    let mut body = json!({"name": "Device CLI", "grant_types": [DEVICE_GRANT, "refresh_token"]});
    if !confidential {
        body["token_endpoint_auth_method"] = "none".into();
    }
    let client = app.create_client(&admin_token, body).await;
    let server = app
        .create_client(
            &admin_token,
            json!({"name": "mcp server", "grant_types": ["client_credentials"], "served_resources": [RESOURCE]}),
        )
        .await;
    for user in ["alice", "bob"] {
        let (status, _) = app
            .admin_call(
                &admin_token,
                reqwest::Method::POST,
                "/users",
                Some(json!({"username": user, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 201);
    }
    Device {
        admin_token,
        client,
        server,
    }
}

/// POST /device_authorization as `client` (Basic when it has a secret, else client_id).
async fn device_authorization(
    app: &TestApp,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = extra.to_vec();
    let basic = (!client.client_secret.is_empty()).then_some(client);
    if basic.is_none() {
        form.push(("client_id", &client.client_id));
    }
    app.post_form("/device_authorization", &form, basic).await
}

/// A device authorization that succeeded; the JSON answer.
async fn start(app: &TestApp, client: &TestClient) -> Value {
    let response = device_authorization(
        app,
        client,
        &[("resource", RESOURCE), ("scope", "mcp:read")],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// One poll at /token.
async fn poll(app: &TestApp, client: &TestClient, device_code: &str) -> reqwest::Response {
    let mut form = vec![("grant_type", DEVICE_GRANT), ("device_code", device_code)];
    let basic = (!client.client_secret.is_empty()).then_some(client);
    if basic.is_none() {
        form.push(("client_id", &client.client_id));
    }
    app.post_form("/token", &form, basic).await
}

/// `username` signs in through `/device` (from `start`, a `verification_uri_complete` or
/// the bare page); returns the code page's HTML.
async fn device_page(app: &TestApp, browser: &mut Browser, start: &str, username: &str) -> String {
    let first = browser.get(start).await;
    let mut response = browser.follow(app, first).await;
    if response.url().path().ends_with("/login") {
        response = sign_in(app, browser, response, username, PASSWORD).await;
    }
    assert_eq!(response.status(), 200);
    assert!(
        response.url().path().ends_with("/device"),
        "{}",
        response.url()
    );
    response.text().await.unwrap()
}

/// Posts `code` on the code page; returns the answer (the consent page, or the form again).
async fn enter_code(
    app: &TestApp,
    browser: &mut Browser,
    page: &str,
    code: &str,
) -> reqwest::Response {
    let csrf = hidden(page, "csrf");
    browser
        .post(
            &format!("{}/device", app.issuer),
            &[("csrf", &csrf), ("user_code", code)],
        )
        .await
}

/// Allows or denies on the device consent page; returns the final page's HTML.
async fn answer(app: &TestApp, browser: &mut Browser, consent: &str, allow: bool) -> String {
    let decision = if allow { "approve" } else { "deny" };
    let response = browser
        .post(
            &format!("{}/device/consent", app.issuer),
            &[
                ("csrf", &hidden(consent, "csrf")),
                ("request", &hidden(consent, "request")),
                ("decision", decision),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// alice approves (or denies) the device authorization whose user code is `code`.
async fn user_answers(app: &TestApp, code: &str, allow: bool) -> Browser {
    let mut browser = Browser::new();
    let page = device_page(
        app,
        &mut browser,
        &format!("{}/device", app.issuer),
        "alice",
    )
    .await;
    let consent = enter_code(app, &mut browser, &page, code).await;
    assert_eq!(consent.status(), 200);
    let consent = consent.text().await.unwrap();
    let done = answer(app, &mut browser, &consent, allow).await;
    assert!(done.contains("return to your device"), "{done}");
    browser
}

async fn device_rows(app: &TestApp) -> i64 {
    scalar(&app.db, "SELECT COUNT(*) FROM device_codes").await
}

#[tokio::test]
async fn the_oauth2_crate_polls_slows_down_and_gets_tokens_once_the_user_allows() {
    let app = spawn_app().await;
    let setup = device_setup(&app, false).await;
    let (issuer, client_id) = (&app.issuer, setup.client.client_id.clone());
    let http = Oauth2Http(app.http.clone());
    // docs:start device-oauth2
    let client = BasicClient::new(ClientId::new(client_id))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{issuer}/device_authorization")).unwrap(),
        )
        .set_token_uri(TokenUrl::new(format!("{issuer}/token")).unwrap());
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("mcp:read".into()))
        .add_extra_param("resource", "https://mcp.example.com")
        .request_async(&http)
        .await
        .unwrap();
    // docs:end device-oauth2
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9);
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "BCDFGHJKLMNPQRSTVWXZ".contains(c)
    }));
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/device", app.issuer)
    );
    let complete = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();
    assert_eq!(
        complete,
        format!("{}/device?user_code={user_code}", app.issuer)
    );
    assert_eq!(details.expires_in(), Duration::from_secs(600));
    assert_eq!(details.interval(), Duration::from_secs(5));
    // Only hashes are stored: of the device code, and of the user code without its dash.
    let sha = |v: &str| {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v))
    };
    let stored = format!(
        "SELECT COUNT(*) FROM device_codes WHERE device_code_hash = '{}' AND user_code_hash = '{}'",
        sha(details.device_code().secret()),
        sha(&user_code.replace('-', ""))
    );
    assert_eq!(scalar(&app.db, &stored).await, 1);

    // The client waits as told, except that its first wait is cut short (the test's clock
    // does not move): Warden answers slow_down and both sides grow the interval by 5 s.
    let waits: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let sleep = {
        let waits = waits.clone();
        let clock = app.clock.clone();
        move |d: Duration| {
            let first = {
                let mut w = waits.lock().unwrap();
                w.push(d);
                w.len() == 1
            };
            if !first {
                clock.advance(d.as_secs() as i64);
            }
            tokio::time::sleep(Duration::from_millis(30))
        }
    };
    let poller = client
        .exchange_device_access_token(&details)
        .request_async(&http, sleep, None);
    let user = async {
        // Before the user answers, the client has polled and been told to slow down.
        while waits.lock().unwrap().len() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut browser = Browser::new();
        let page = device_page(&app, &mut browser, &complete, "alice").await;
        assert!(
            page.contains(&format!("value=\"{user_code}\"")),
            "prefilled"
        );
        let consent = enter_code(&app, &mut browser, &page, &user_code.to_lowercase()).await;
        assert_eq!(consent.status(), 200);
        let consent = consent.text().await.unwrap();
        for shown in [
            "Device CLI",
            "Example MCP",
            RESOURCE,
            "mcp:read",
            "Signs in on",
        ] {
            assert!(consent.contains(shown), "{shown} on {consent}");
        }
        assert!(consent.contains("/device/consent"));
        answer(&app, &mut browser, &consent, true).await
    };
    let (token, done) = tokio::join!(poller, user);
    assert!(done.contains("return to your device"), "{done}");
    let token = token.unwrap();
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits[0], Duration::from_secs(5));
    assert_eq!(
        waits[1],
        Duration::from_secs(10),
        "slow_down grew the interval"
    );
    assert_eq!(
        scalar(&app.db, "SELECT poll_interval FROM device_codes").await,
        10,
        "the grown interval is persisted"
    );

    assert_eq!(token.scopes().unwrap()[0].as_str(), "mcp:read");
    assert!(token.refresh_token().is_some());
    let introspected = app
        .introspect(&setup.server, token.access_token().secret())
        .await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["aud"], RESOURCE);
    assert_eq!(introspected["client_id"], setup.client.client_id);
    assert_eq!(introspected["sub"], app.user_id("alice").await);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'consent.given'"
        )
        .await,
        1
    );

    // The device code is single use: presented again, it revokes what it bought.
    let again = poll(&app, &setup.client, details.device_code().secret()).await;
    assert_oauth_error(again, 400, "invalid_grant").await;
    let introspected = app
        .introspect(&setup.server, token.access_token().secret())
        .await;
    assert_eq!(introspected["active"], false);
}

#[tokio::test]
async fn a_confidential_client_hears_pending_then_slow_down_then_the_users_denial() {
    let app = spawn_app().await;
    let setup = device_setup(&app, true).await;
    let anonymous = TestClient {
        client_id: setup.client.client_id.clone(),
        client_secret: String::new(),
    };
    let refused = device_authorization(&app, &anonymous, &[("resource", RESOURCE)]).await;
    assert_oauth_error(refused, 401, "invalid_client").await;
    assert_eq!(device_rows(&app).await, 0);

    let grants_before = app.grant_count().await;
    let started = start(&app, &setup.client).await;
    let device_code = started["device_code"].as_str().unwrap();
    let pending = poll(&app, &setup.client, device_code).await;
    assert_oauth_error(pending, 400, "authorization_pending").await;
    // Too soon: slow_down, and the interval grows and stays grown (RFC 8628 §3.5).
    let fast = poll(&app, &setup.client, device_code).await;
    assert!(fast.headers().get("retry-after").is_none());
    assert_oauth_error(fast, 400, "slow_down").await;
    app.clock.advance(5);
    let still_fast = poll(&app, &setup.client, device_code).await;
    assert_oauth_error(still_fast, 400, "slow_down").await;
    assert_eq!(
        scalar(&app.db, "SELECT poll_interval FROM device_codes").await,
        15
    );
    app.clock.advance(15);
    let pending = poll(&app, &setup.client, device_code).await;
    assert_oauth_error(pending, 400, "authorization_pending").await;

    // Another client's credentials do not reach this code.
    let other = app
        .create_client(
            &setup.admin_token,
            json!({"name": "other", "grant_types": [DEVICE_GRANT]}),
        )
        .await;
    app.clock.advance(15);
    let foreign = poll(&app, &other, device_code).await;
    assert_oauth_error(foreign, 400, "invalid_grant").await;

    user_answers(&app, started["user_code"].as_str().unwrap(), false).await;
    app.clock.advance(15);
    let denied = poll(&app, &setup.client, device_code).await;
    assert_oauth_error(denied, 400, "access_denied").await;
    assert_eq!(
        app.grant_count().await,
        grants_before,
        "a denial makes no grant"
    );
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'consent.refused'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_expired_device_code_answers_expired_token_and_its_user_code_is_gone() {
    let app = spawn_app().await;
    let setup = device_setup(&app, false).await;
    let started = start(&app, &setup.client).await;
    app.clock.advance(601);
    let expired = poll(
        &app,
        &setup.client,
        started["device_code"].as_str().unwrap(),
    )
    .await;
    assert_oauth_error(expired, 400, "expired_token").await;

    let mut browser = Browser::new();
    let page = device_page(
        &app,
        &mut browser,
        &format!("{}/device", app.issuer),
        "alice",
    )
    .await;
    let answer = enter_code(
        &app,
        &mut browser,
        &page,
        started["user_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(answer.status(), 400);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("No device is waiting for that code")
    );
}

#[tokio::test]
async fn wrong_and_malformed_user_codes_get_a_clear_page_and_guessing_is_limited() {
    let app = spawn_app().await;
    let setup = device_setup(&app, false).await;
    let started = start(&app, &setup.client).await;
    let right = started["user_code"].as_str().unwrap();
    let mut browser = Browser::new();
    let page = device_page(
        &app,
        &mut browser,
        &format!("{}/device", app.issuer),
        "alice",
    )
    .await;

    // Input that cannot be a code is refused without a lookup, and does not count.
    for malformed in [
        "",
        "ABCD-EFGH",
        "BCDF-GHJ",
        "BCDF-GHJ1",
        &"B".repeat(5000),
        "BCDF-GH\u{0}K",
    ] {
        let answer = enter_code(&app, &mut browser, &page, malformed).await;
        assert_eq!(answer.status(), 400);
        let html = answer.text().await.unwrap();
        assert!(html.contains("That is not a code"), "{malformed:?}: {html}");
        assert!(
            !html.contains(&"B".repeat(100)),
            "an oversized input is not echoed"
        );
    }
    // Wrong codes: a clear page each time; the eleventh within the window is refused.
    let wrong = if right == "BCDF-GHJK" {
        "BCDF-GHJL"
    } else {
        "BCDF-GHJK"
    };
    for _ in 0..10 {
        let answer = enter_code(&app, &mut browser, &page, wrong).await;
        assert_eq!(answer.status(), 400);
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .contains("No device is waiting")
        );
    }
    let limited = enter_code(&app, &mut browser, &page, right).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "600");
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .contains("Too many wrong codes")
    );
    // The same address is limited for every user on it.
    let mut bob = Browser::new();
    let bobs = device_page(&app, &mut bob, &format!("{}/device", app.issuer), "bob").await;
    assert_eq!(enter_code(&app, &mut bob, &bobs, right).await.status(), 429);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM device_codes WHERE user_id IS NOT NULL"
        )
        .await,
        0,
        "no guess reached the code"
    );

    // A new window: the right code (any case, dashes optional) reaches the consent page,
    // and right codes do not count against anyone.
    app.clock.advance(601);
    let fresh = start(&app, &setup.client).await;
    let code = fresh["user_code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    for _ in 0..12 {
        let answer = enter_code(&app, &mut browser, &page, &code).await;
        assert_eq!(answer.status(), 200);
        assert!(answer.text().await.unwrap().contains("Device CLI"));
    }
    // Once alice entered it, the code is hers: bob cannot find it.
    let bobs_try = enter_code(&app, &mut bob, &bobs, &code).await;
    assert_eq!(bobs_try.status(), 400);
}

#[tokio::test]
async fn the_page_needs_a_session_and_its_forms_need_the_sessions_token() {
    let app = spawn_app().await;
    let setup = device_setup(&app, false).await;
    let started = start(&app, &setup.client).await;
    let mut browser = Browser::new();
    let first = browser.get(&format!("{}/device", app.issuer)).await;
    assert_eq!(first.status(), 303);
    assert!(crate::helpers::browser::location(&first).ends_with("/login?next=device"));
    let anonymous = browser
        .post(
            &format!("{}/device", app.issuer),
            &[
                ("csrf", "x"),
                ("user_code", started["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(anonymous.status(), 303);
    let page = device_page(
        &app,
        &mut browser,
        &format!("{}/device", app.issuer),
        "alice",
    )
    .await;
    assert!(page.contains("Connect a device"));
    let forged = browser
        .post(
            &format!("{}/device", app.issuer),
            &[
                ("csrf", "forged"),
                ("user_code", started["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    let consent = enter_code(
        &app,
        &mut browser,
        &page,
        started["user_code"].as_str().unwrap(),
    )
    .await
    .text()
    .await
    .unwrap();
    let forged_answer = browser
        .post(
            &format!("{}/device/consent", app.issuer),
            &[
                ("csrf", "forged"),
                ("request", &hidden(&consent, "request")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged_answer.status(), 403);
    app.clock.advance(5);
    let pending = poll(
        &app,
        &setup.client,
        started["device_code"].as_str().unwrap(),
    )
    .await;
    assert_oauth_error(pending, 400, "authorization_pending").await;
    // Answered once, the request is gone: a replayed answer changes nothing.
    answer(&app, &mut browser, &consent, false).await;
    let replay = browser
        .post(
            &format!("{}/device/consent", app.issuer),
            &[
                ("csrf", &hidden(&consent, "csrf")),
                ("request", &hidden(&consent, "request")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(replay.status(), 400);
    app.clock.advance(5);
    let denied = poll(
        &app,
        &setup.client,
        started["device_code"].as_str().unwrap(),
    )
    .await;
    assert_oauth_error(denied, 400, "access_denied").await;
}

#[tokio::test]
async fn clients_without_the_grant_and_bad_parameters_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let setup = device_setup(&app, false).await;
    let browser_only = app
        .create_client(
            &setup.admin_token,
            json!({"name": "IDE", "grant_types": ["authorization_code"],
                   "redirect_uris": ["http://127.0.0.1:7777/cb"], "token_endpoint_auth_method": "none"}),
        )
        .await;
    let refused = device_authorization(&app, &browser_only, &[("resource", RESOURCE)]).await;
    assert_oauth_error(refused, 400, "unauthorized_client").await;
    let polled = poll(&app, &browser_only, "whatever").await;
    assert_oauth_error(polled, 400, "unauthorized_client").await;

    let client = &setup.client;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("resource", "https://elsewhere.example.com")],
            "invalid_target",
        ),
        (&[("resource", "not a uri")], "invalid_target"),
        (
            &[("resource", RESOURCE), ("scope", "mcp:delete")],
            "invalid_scope",
        ),
        (
            &[
                ("resource", RESOURCE),
                ("scope", "mcp:read"),
                ("scope", "mcp:write"),
            ],
            "invalid_request",
        ),
    ];
    for (form, code) in cases {
        let response = device_authorization(&app, client, form).await;
        assert_oauth_error(response, 400, code).await;
    }
    let huge = "a".repeat(20_000);
    let response =
        device_authorization(&app, client, &[("resource", RESOURCE), ("scope", &huge)]).await;
    assert_oauth_error(response, 413, "invalid_request").await;
    assert_eq!(device_rows(&app).await, 0);

    let unknown = poll(&app, client, "not-a-device-code").await;
    assert_oauth_error(unknown, 400, "invalid_grant").await;
    let long = "d".repeat(300);
    let oversized = poll(&app, client, &long).await;
    assert_oauth_error(oversized, 400, "invalid_request").await;
    let missing = app
        .post_form(
            "/token",
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", &client.client_id),
            ],
            None,
        )
        .await;
    assert_oauth_error(missing, 400, "invalid_request").await;
}

#[tokio::test]
async fn revoking_the_grant_on_the_account_page_kills_the_device_token() {
    let app = spawn_app().await;
    let setup = device_setup(&app, false).await;
    let started = start(&app, &setup.client).await;
    let mut browser = user_answers(&app, started["user_code"].as_str().unwrap(), true).await;
    let issued = poll(
        &app,
        &setup.client,
        started["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(issued.status(), 200);
    let token: Value = issued.json().await.unwrap();
    assert_eq!(token["scope"], "mcp:read");
    let access = token["access_token"].as_str().unwrap();

    let account = browser.get(&format!("{}/account", app.issuer)).await;
    let html = account.text().await.unwrap();
    assert!(html.contains("Device CLI"), "{html}");
    let grant_id = scalar(
        &app.db,
        "SELECT COUNT(*) FROM grants WHERE kind = 'authorization_code'",
    )
    .await;
    assert_eq!(grant_id, 1);
    let start_at = html.find("/account/grants/").unwrap() + "/account/grants/".len();
    let id = &html[start_at..start_at + html[start_at..].find('/').unwrap()];
    let revoked = browser
        .post(
            &format!("{}/account/grants/{id}/revoke", app.issuer),
            &[("csrf", &hidden(&html, "csrf"))],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);
    let refresh = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", token["refresh_token"].as_str().unwrap()),
                ("client_id", &setup.client.client_id),
            ],
            None,
        )
        .await;
    assert_oauth_error(refresh, 400, "invalid_grant").await;
}

#[tokio::test]
async fn metadata_and_registration_offer_the_device_grant() {
    let app = spawn_app().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc = app.get_json(path).await;
        assert_eq!(
            doc["device_authorization_endpoint"],
            format!("{}/device_authorization", app.issuer)
        );
        assert!(
            doc["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(DEVICE_GRANT))
        );
    }
    // A CLI registers itself for the device grant alone: no redirect URIs needed.
    let registered = crate::helpers::clients::post_register(
        &app,
        &json!({"client_name": "cli", "grant_types": [DEVICE_GRANT],
                "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(registered.status(), 201);
    let view: Value = registered.json().await.unwrap();
    assert_eq!(view["grant_types"], json!([DEVICE_GRANT]));
}

#[tokio::test]
async fn a_dpop_proof_binds_the_device_grants_tokens_like_any_others() {
    let app = crate::helpers::spawn_app_with(&[("WARDEN_DPOP_NONCE", "off")]).await;
    let setup = device_setup(&app, false).await;
    let started = start(&app, &setup.client).await;
    user_answers(&app, started["user_code"].as_str().unwrap(), true).await;
    let key = crate::helpers::dpop::DpopKey::es256();
    let proof = key.proof(
        &app.token_endpoint(),
        crate::helpers::assertions::now(&app),
        None,
    );
    let response = app
        .http
        .post(format!("{}/token", app.base))
        .header("DPoP", proof)
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", started["device_code"].as_str().unwrap()),
            ("client_id", &setup.client.client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let introspected = app
        .introspect(&setup.server, body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["cnf"]["jkt"], key.jkt());
}

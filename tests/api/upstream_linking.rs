//! Which Warden account an upstream identity may reach: linking by email only through a
//! provider that vouches for the domain, only with a well-formed ASCII address, only to an
//! account whose username is that address (up to ASCII case), never a second subject onto
//! one account; plus the hardened round trip (RFC 9207 `iss`, https authorization
//! endpoint, the other browser's callback, a link whose session changed hands) and the
//! provider configuration rules that go with them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{Browser, PASSWORD, hidden, location, sign_in};
use crate::helpers::upstream::{
    LOOPBACK, add_provider, assert_failure_page, corp_user, has_session, press, via_provider,
};
use crate::helpers::upstream_idp::{Fault, Idp, IdpUser, Kind};
use crate::helpers::{TestApp, spawn_app_with};

fn verified(sub: &str, email: &str) -> IdpUser {
    IdpUser {
        sub: sub.into(),
        email: Some(email.into()),
        email_verified: true,
        name: None,
    }
}

async fn create_user(app: &TestApp, token: &str, username: &str) -> Value {
    let (status, user) = app
        .admin_call(
            token,
            Method::POST,
            "/users",
            Some(json!({"username": username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    user
}

/// Every username, in the admin API's order.
async fn usernames(app: &TestApp, token: &str) -> Vec<String> {
    let (status, users) = app.admin_call(token, Method::GET, "/users", None).await;
    assert_eq!(status, 200, "{users}");
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

/// The identities linked to `user` (id or name) as (provider, subject) pairs.
async fn identities(app: &TestApp, token: &str, user: &str) -> Vec<(String, String)> {
    let (status, body) = app
        .admin_call(
            token,
            Method::GET,
            &format!("/users/{user}/identities"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["provider_id"].as_str().unwrap().to_owned(),
                i["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A fresh browser signs in through `provider`; returns Warden's answer to the callback
/// and the browser.
async fn attempt(app: &TestApp, provider: &str) -> (reqwest::Response, Browser) {
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(app, &mut browser, page, provider).await;
    (landed, browser)
}

/// Who the browser is signed in as, from its account page.
async fn signed_in_as(app: &TestApp, browser: &mut Browser) -> String {
    let account = browser.get(&format!("{}/account", app.issuer)).await;
    assert_eq!(account.status(), 200);
    let html = account.text().await.unwrap();
    let start = html.find("Signed in as <strong>").unwrap() + "Signed in as <strong>".len();
    html[start..start + html[start..].find("</strong>").unwrap()].to_owned()
}

fn oidc_provider(id: &str, idp: &Idp, extra: Value) -> Value {
    let mut body = json!({"id": id, "kind": "oidc", "display_name": "Corp SSO",
        "issuer": idp.issuer, "client_id": idp.client_id, "client_secret": idp.client_secret});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

// 1. An email that is not an address never reaches the local account of that name.

#[tokio::test]
async fn an_email_claim_that_is_not_an_address_never_signs_in_as_that_local_user() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    create_user(&app, &token, "admin").await;
    // The attacker controls what their provider says: the "email" is a bare username.
    let attacker = verified("att-1", "admin");

    // A link-by-email provider without allowed domains, as rows from before that rule
    // (or written behind the admin API's back) are: it used to sign this browser in as
    // admin. Now it links no one by email.
    let idp = Idp::start(Kind::Oidc, attacker.clone()).await;
    add_provider(&app, &token, "legacy", &idp, json!({})).await;
    let mut row = app
        .state
        .store
        .upstream_provider("legacy")
        .await
        .unwrap()
        .unwrap();
    row.on_first_login = warden::domain::OnFirstLogin::LinkByEmail;
    row.allowed_domains = String::new();
    app.state
        .store
        .save_upstream_provider(
            &row,
            true,
            &warden::domain::AuditEvent::new(
                warden::domain::AuditKind::ProviderUpdated,
                warden::domain::Actor::cli(),
                0,
            ),
        )
        .await
        .unwrap();
    let (landed, browser) = attempt(&app, "legacy").await;
    assert_failure_page(landed, 403, "allowed domains").await;
    assert!(!has_session(&browser));

    // `*` vouches for every domain, but "admin" is in none: no link. The brief expected
    // link-by-email to make a new just-in-time account here; Warden refuses the sign-in
    // outright (403, as for an address outside listed domains) instead. Either way the
    // browser is not admin, which is what this test holds on to.
    for (id, rule) in [("any", "link-by-email"), ("only", "existing-only")] {
        let idp = Idp::start(Kind::Oidc, attacker.clone()).await;
        add_provider(
            &app,
            &token,
            id,
            &idp,
            json!({"on_first_login": rule, "allowed_domains": ["*"]}),
        )
        .await;
        let (landed, browser) = attempt(&app, id).await;
        assert_failure_page(landed, 403, "verified email address").await;
        assert!(!has_session(&browser), "{rule}");
    }

    assert!(identities(&app, &token, "admin").await.is_empty());
    assert_eq!(
        usernames(&app, &token).await,
        ["admin"],
        "no account was made"
    );

    // `*` does link a real, verified address to the account of that address.
    create_user(&app, &token, "dana@anywhere.example").await;
    let idp = Idp::start(Kind::Oidc, verified("d-1", "dana@anywhere.example")).await;
    add_provider(
        &app,
        &token,
        "every",
        &idp,
        json!({"on_first_login": "existing-only", "allowed_domains": ["*"]}),
    )
    .await;
    let (landed, mut browser) = attempt(&app, "every").await;
    assert_eq!(landed.status(), 303);
    assert_eq!(
        signed_in_as(&app, &mut browser).await,
        "dana@anywhere.example"
    );
    assert_eq!(
        identities(&app, &token, "dana@anywhere.example").await,
        [("every".to_owned(), "d-1".to_owned())]
    );
}

#[tokio::test]
async fn linking_by_email_needs_allowed_domains_and_a_lone_star() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let refused = [
        json!({"on_first_login": "link-by-email"}),
        json!({"on_first_login": "existing-only"}),
        json!({"on_first_login": "link-by-email", "allowed_domains": []}),
        json!({"on_first_login": "link-by-email", "allowed_domains": ["*", "corp.example"]}),
        json!({"allowed_domains": ["corp.example", "*"]}),
        json!({"allowed_domains": ["*.corp.example"]}),
    ];
    for extra in refused {
        let (status, body) = app
            .admin_call(
                &token,
                Method::POST,
                "/upstream-providers",
                Some(oidc_provider("corp", &idp, extra.clone())),
            )
            .await;
        assert_eq!(status, 422, "{extra}: {body}");
        assert_eq!(body["field"], "allowed_domains", "{extra}: {body}");
    }
    let (_, list) = app
        .admin_call(&token, Method::GET, "/upstream-providers", None)
        .await;
    assert_eq!(list["items"], json!([]), "{list}");

    // `create` needs no domains; `*` alone and real domains are accepted.
    add_provider(&app, &token, "plain", &idp, json!({})).await;
    let view = add_provider(
        &app,
        &token,
        "star",
        &idp,
        json!({"on_first_login": "link-by-email", "allowed_domains": ["*"]}),
    )
    .await;
    assert_eq!(view["allowed_domains"], json!(["*"]));
    let view = add_provider(
        &app,
        &token,
        "corp",
        &idp,
        json!({"on_first_login": "existing-only", "allowed_domains": ["corp.example"]}),
    )
    .await;
    assert_eq!(view["on_first_login"], "existing-only");

    // A replacement is held to the same rule.
    let (status, body) = app
        .admin_call(
            &token,
            Method::PUT,
            "/upstream-providers/plain",
            Some(oidc_provider(
                "plain",
                &idp,
                json!({"on_first_login": "link-by-email"}),
            )),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("allowed_domains")),
        "{body}"
    );
}

// 2. Unicode look-alikes never link.

#[tokio::test]
async fn a_kelvin_sign_address_does_not_reach_the_ascii_account() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    create_user(&app, &token, "kelvin@corp.example").await;
    // U+212A KELVIN SIGN: Unicode lowercasing makes it a `k`.
    let look_alike = verified("k-1", "\u{212A}elvin@corp.example");
    let idp = Idp::start(Kind::Oidc, look_alike.clone()).await;
    add_provider(
        &app,
        &token,
        "only",
        &idp,
        json!({"on_first_login": "existing-only", "allowed_domains": ["corp.example"]}),
    )
    .await;
    let (landed, browser) = attempt(&app, "only").await;
    assert_failure_page(landed, 403, "No Warden account").await;
    assert!(!has_session(&browser));

    // With link-by-email it is someone new: an account of its own, not kelvin's.
    let idp = Idp::start(Kind::Oidc, look_alike).await;
    add_provider(
        &app,
        &token,
        "corp",
        &idp,
        json!({"on_first_login": "link-by-email", "allowed_domains": ["corp.example"]}),
    )
    .await;
    let (landed, mut browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    let who = signed_in_as(&app, &mut browser).await;
    assert_ne!(who.to_ascii_lowercase(), "kelvin@corp.example");
    assert_eq!(who, "corp-k-1");
    assert!(
        identities(&app, &token, "kelvin@corp.example")
            .await
            .is_empty()
    );
    assert_eq!(
        identities(&app, &token, "corp-k-1").await,
        [("corp".to_owned(), "k-1".to_owned())]
    );
    assert_eq!(
        usernames(&app, &token).await,
        ["corp-k-1", "kelvin@corp.example"]
    );
}

// 3. Usernames that are addresses are one account whatever their ASCII case.

#[tokio::test]
async fn a_verified_email_links_to_the_account_of_that_address_in_another_case() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let bob = create_user(&app, &token, "Bob@corp.example").await;
    let idp = Idp::start(Kind::Oidc, verified("b-1", "bob@corp.example")).await;
    add_provider(
        &app,
        &token,
        "corp",
        &idp,
        json!({"on_first_login": "link-by-email", "allowed_domains": ["corp.example"]}),
    )
    .await;
    let (landed, mut browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    assert_eq!(signed_in_as(&app, &mut browser).await, "Bob@corp.example");
    let bob_id = bob["id"].as_str().unwrap();
    assert_eq!(
        identities(&app, &token, bob_id).await,
        [("corp".to_owned(), "b-1".to_owned())]
    );
    assert_eq!(usernames(&app, &token).await, ["Bob@corp.example"]);

    // And the same identity signs in as Bob again.
    let (landed, mut browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303);
    assert_eq!(signed_in_as(&app, &mut browser).await, "Bob@corp.example");
    assert_eq!(usernames(&app, &token).await, ["Bob@corp.example"]);
}

#[tokio::test]
async fn a_just_in_time_account_is_never_a_case_twin_of_an_existing_one() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    create_user(&app, &token, "Bob@corp.example").await;
    // `create` never links by email, and must not make `bob@corp.example` beside Bob either.
    let idp = Idp::start(Kind::Oidc, verified("b-2", "bob@corp.example")).await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    let (landed, mut browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    assert_eq!(signed_in_as(&app, &mut browser).await, "corp-b-2");
    assert!(
        identities(&app, &token, "Bob@corp.example")
            .await
            .is_empty()
    );
    assert_eq!(
        usernames(&app, &token).await,
        ["Bob@corp.example", "corp-b-2"]
    );
}

#[tokio::test]
async fn address_usernames_are_one_account_in_any_ascii_case() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let bob = create_user(&app, &token, "bob@corp.example").await;
    for twin in ["BOB@corp.example", "Bob@Corp.Example"] {
        let (status, body) = app
            .admin_call(
                &token,
                Method::POST,
                "/users",
                Some(json!({"username": twin, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 409, "{twin}: {body}");
    }
    assert_eq!(usernames(&app, &token).await, ["bob@corp.example"]);
    // The admin API finds bob in any case too.
    let (status, found) = app
        .admin_call(&token, Method::GET, "/users/BOB@Corp.Example", None)
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["id"], bob["id"]);

    // Password sign-in in another case is bob.
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", app.issuer)).await;
    let account = sign_in(&app, &mut browser, login, "BOB@Corp.Example", PASSWORD).await;
    assert_eq!(account.status(), 200);
    assert!(has_session(&browser));
    assert!(
        account
            .text()
            .await
            .unwrap()
            .contains("<strong>bob@corp.example</strong>")
    );
    let mut other = Browser::new();
    let login = other.get(&format!("{}/login", app.issuer)).await;
    let refused = sign_in(
        &app,
        &mut other,
        login,
        "BOB@Corp.Example",
        "not the password",
    )
    .await;
    assert_eq!(refused.status(), 401);
    assert!(!has_session(&other));

    // Usernames that are not addresses keep their exact case.
    create_user(&app, &token, "alice").await;
    let mut third = Browser::new();
    let login = third.get(&format!("{}/login", app.issuer)).await;
    let refused = sign_in(&app, &mut third, login, "Alice", PASSWORD).await;
    assert_eq!(refused.status(), 401);
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/users",
            Some(json!({"username": "Alice", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
}

// 4. A recycled address is not the same person.

#[tokio::test]
async fn a_second_subject_with_the_same_address_does_not_take_over_the_account() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    create_user(&app, &token, "carol@corp.example").await;
    let idp = Idp::start(Kind::Oidc, verified("s1", "carol@corp.example")).await;
    add_provider(
        &app,
        &token,
        "corp",
        &idp,
        json!({"on_first_login": "link-by-email", "allowed_domains": ["corp.example"]}),
    )
    .await;
    let (landed, mut browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    assert_eq!(signed_in_as(&app, &mut browser).await, "carol@corp.example");
    let linked = [("corp".to_owned(), "s1".to_owned())];
    assert_eq!(identities(&app, &token, "carol@corp.example").await, linked);

    // The provider gave carol's address to someone else (a new subject).
    idp.set_user(verified("s2", "carol@corp.example"));
    let (landed, browser) = attempt(&app, "corp").await;
    assert_failure_page(landed, 403, "linked to another").await;
    assert!(!has_session(&browser));
    assert_eq!(identities(&app, &token, "carol@corp.example").await, linked);
    assert_eq!(usernames(&app, &token).await, ["carol@corp.example"]);

    // The first subject still signs in as carol.
    idp.set_user(verified("s1", "carol@corp.example"));
    let (landed, mut browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303);
    assert_eq!(signed_in_as(&app, &mut browser).await, "carol@corp.example");
}

// 5. RFC 9207: a provider that promises `iss` must send it.

#[tokio::test]
async fn a_provider_that_promises_iss_must_send_it_on_the_callback() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    idp.set_discovery(json!({"authorization_response_iss_parameter_supported": true}));
    add_provider(&app, &token, "corp", &idp, json!({})).await;

    idp.set_fault(Fault::NoIss);
    let (landed, browser) = attempt(&app, "corp").await;
    assert_failure_page(landed, 400, "issuer").await;
    assert!(!has_session(&browser));
    assert!(usernames(&app, &token).await.is_empty());

    idp.set_fault(Fault::None);
    let (landed, browser) = attempt(&app, "corp").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    assert!(has_session(&browser));

    // One that does not promise it may leave it out.
    let quiet = Idp::start(Kind::Oidc, verified("q-1", "quinn@corp.example")).await;
    add_provider(&app, &token, "quiet", &quiet, json!({})).await;
    quiet.set_fault(Fault::NoIss);
    let (landed, browser) = attempt(&app, "quiet").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    assert!(has_session(&browser));
}

// 7. A provider's issuer is fixed.

#[tokio::test]
async fn a_providers_issuer_cannot_change_but_the_rest_can() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let base = json!({"id": "corp", "kind": "oidc", "display_name": "Corp",
                      "issuer": "https://idp.example", "client_id": "c", "client_secret": "s"});
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/upstream-providers",
            Some(base.clone()),
        )
        .await;
    assert_eq!(status, 201);
    for issuer in ["https://other.example", "https://idp.example/tenant"] {
        let mut moved = base.clone();
        moved["issuer"] = json!(issuer);
        moved["display_name"] = json!("Moved");
        let (status, body) = app
            .admin_call(&token, Method::PUT, "/upstream-providers/corp", Some(moved))
            .await;
        assert_eq!(status, 409, "{issuer}: {body}");
    }
    let (_, view) = app
        .admin_call(&token, Method::GET, "/upstream-providers/corp", None)
        .await;
    assert_eq!(view["issuer"], "https://idp.example");
    assert_eq!(view["display_name"], "Corp");

    let mut edited = base.clone();
    edited["display_name"] = json!("Corp SSO");
    edited["client_id"] = json!("c2");
    edited["allowed_domains"] = json!(["corp.example"]);
    edited["on_first_login"] = json!("existing-only");
    let (status, view) = app
        .admin_call(
            &token,
            Method::PUT,
            "/upstream-providers/corp",
            Some(edited),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["issuer"], "https://idp.example");
    assert_eq!(view["display_name"], "Corp SSO");
    assert_eq!(view["client_id"], "c2");
    assert_eq!(view["on_first_login"], "existing-only");
}

// 8a. The browser is only ever sent to an https authorization endpoint.

#[tokio::test]
async fn a_discovered_authorization_endpoint_must_be_https() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    idp.set_discovery(json!({"authorization_endpoint": "http://example.com/authorize"}));
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let response = press(&app, &mut browser, page, "corp").await;
    assert!(response.headers().get("location").is_none());
    // The page is generic on purpose (no oracle for what the provider answered); the
    // reason ("not an https URL") goes to the log.
    assert_failure_page(response, 502, "could not be reached").await;
    assert!(!browser.cookies.keys().any(|k| k.contains("upstream")));

    // The refused document was not kept: an https endpoint is used as soon as it is there.
    idp.set_discovery(json!({"authorization_endpoint": "https://example.com/authorize"}));
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let response = press(&app, &mut browser, page, "corp").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("https://example.com/authorize?"));
}

// 8b. A callback opened in another browser does not spend the real user's sign-in.

#[tokio::test]
async fn a_callback_in_another_browser_leaves_the_sign_in_to_the_browser_that_started_it() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    let login = format!("{}/login", app.issuer);

    let mut real = Browser::new();
    let page = real.get(&login).await;
    let redirect = press(&app, &mut real, page, "corp").await;
    let at_provider = real.get(&location(&redirect)).await;
    let callback_url = location(&at_provider);

    // The attacker's browser has a sign-in of its own under way (its own cookie), and one
    // with no cookie at all: both are turned away, and neither spends the state.
    let mut attacker = Browser::new();
    let page = attacker.get(&login).await;
    let own = press(&app, &mut attacker, page, "corp").await;
    assert_eq!(own.status(), 303);
    assert!(attacker.cookies.keys().any(|k| k.contains("upstream")));
    let landed = attacker.get(&callback_url).await;
    assert_failure_page(landed, 400, "another browser").await;
    assert!(!has_session(&attacker));
    let mut bare = Browser::new();
    let landed = bare.get(&callback_url).await;
    assert_failure_page(landed, 400, "another browser").await;
    assert!(!has_session(&bare));

    let done = real.get(&callback_url).await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    assert!(location(&done).ends_with("/account"));
    assert!(has_session(&real));
    assert_eq!(signed_in_as(&app, &mut real).await, "carol@corp.example");
    // Spent now, by its own browser.
    let mut replay = Browser {
        http: real.http.clone(),
        cookies: real.cookies.clone(),
    };
    replay.cookies.retain(|k, _| !k.contains("session"));
    let again = replay.get(&callback_url).await;
    assert_failure_page(again, 400, "already used").await;
}

// 8c. A link finishes only for the user who asked for it.

#[tokio::test]
async fn a_link_is_refused_when_the_browser_changed_hands_before_the_callback() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let idp = Idp::start(Kind::Oidc, verified("x-1", "someone@corp.example")).await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    create_user(&app, &token, "alice").await;
    create_user(&app, &token, "bob").await;
    let login = format!("{}/login", app.issuer);

    // Alice asks to link; the browser is at the provider.
    let mut browser = Browser::new();
    let page = browser.get(&login).await;
    let account = sign_in(&app, &mut browser, page, "alice", PASSWORD).await;
    assert_eq!(account.status(), 200);
    let html = account.text().await.unwrap();
    assert!(html.contains("name=\"link\""), "{html}");
    let session_csrf = hidden(&html, "csrf");
    let redirect = browser
        .post(
            &format!("{}/login/upstream/corp", app.issuer),
            &[("csrf", session_csrf.as_str()), ("link", "1")],
        )
        .await;
    assert_eq!(redirect.status(), 303);
    let at_provider = browser.get(&location(&redirect)).await;
    let callback_url = location(&at_provider);

    // Meanwhile alice signs out and bob signs in on the same browser.
    let out = browser
        .post(
            &format!("{}/logout", app.issuer),
            &[("csrf", session_csrf.as_str())],
        )
        .await;
    assert_eq!(out.status(), 303);
    assert!(!has_session(&browser));
    let page = browser.get(&login).await;
    let account = sign_in(&app, &mut browser, page, "bob", PASSWORD).await;
    assert_eq!(account.status(), 200);
    assert!(
        account
            .text()
            .await
            .unwrap()
            .contains("<strong>bob</strong>")
    );

    let landed = browser.get(&callback_url).await;
    assert_failure_page(landed, 403, "no longer signed in").await;
    assert!(identities(&app, &token, "alice").await.is_empty());
    assert!(identities(&app, &token, "bob").await.is_empty());
    assert_eq!(usernames(&app, &token).await, ["alice", "bob"]);
    // Bob is still bob; the refusal signed no one in as anyone else.
    assert_eq!(signed_in_as(&app, &mut browser).await, "bob");

    // Signed out entirely before the callback: refused the same way.
    let mut browser = Browser::new();
    let page = browser.get(&login).await;
    let account = sign_in(&app, &mut browser, page, "alice", PASSWORD).await;
    let html = account.text().await.unwrap();
    let session_csrf = hidden(&html, "csrf");
    let redirect = browser
        .post(
            &format!("{}/login/upstream/corp", app.issuer),
            &[("csrf", session_csrf.as_str()), ("link", "1")],
        )
        .await;
    let at_provider = browser.get(&location(&redirect)).await;
    browser
        .post(
            &format!("{}/logout", app.issuer),
            &[("csrf", session_csrf.as_str())],
        )
        .await;
    let landed = browser.get(&location(&at_provider)).await;
    assert_failure_page(landed, 403, "no longer signed in").await;
    assert!(!has_session(&browser));
    assert!(identities(&app, &token, "alice").await.is_empty());
}

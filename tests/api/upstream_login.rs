//! Sign-in through upstream identity providers, end to end through the browser flow,
//! against a real OIDC / GitHub-style provider on loopback (upstream_idp.rs).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, REDIRECT, answer_consent, authorize_url, hidden, interactive, location, pkce, query,
    redeem, sign_in,
};
use crate::helpers::tokens::decode_claims;
use crate::helpers::upstream::{
    LOOPBACK, add_provider, assert_failure_page, corp_user, has_session, press, via_provider,
};
use crate::helpers::upstream_idp::{Fault, Idp, IdpUser, Kind};
use crate::helpers::{spawn_app_with, stdout_json};

#[tokio::test]
async fn oidc_sign_in_creates_the_user_just_in_time_and_authorizes_an_mcp_client() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let setup = interactive(&app, false).await;
    let view = add_provider(&app, &setup.admin_token, "corp", &idp, json!({})).await;
    assert_eq!(
        view["redirect_uri"],
        format!("{}/login/upstream/corp/callback", app.issuer)
    );
    assert!(view.get("client_secret").is_none(), "{view}");
    assert!(!view.to_string().contains(&idp.client_secret));

    let mut browser = Browser::new();
    let p = pkce();
    let first = browser
        .get(&authorize_url(
            &app,
            &setup.client,
            &p.challenge,
            &[("scope", "mcp:read")],
        ))
        .await;
    let login = browser.follow(&app, first).await;
    let callback = via_provider(&app, &mut browser, login, "corp").await;

    // What Warden sent the provider: code flow, PKCE S256, state, nonce, openid scope.
    let sent = idp.authorize_requests.lock().unwrap()[0].clone();
    assert_eq!(sent["response_type"], "code");
    assert_eq!(sent["code_challenge_method"], "S256");
    assert_eq!(sent["code_challenge"].len(), 43);
    assert!(sent["state"].len() >= 32 && sent["nonce"].len() >= 32);
    assert!(sent["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(sent["redirect_uri"], view["redirect_uri"].as_str().unwrap());
    let (form, auth) = idp.token_requests.lock().unwrap()[0].clone();
    assert_eq!(auth, "basic");
    assert_eq!(form["code_verifier"].len(), 43);

    assert_eq!(callback.status(), 303);
    assert!(has_session(&browser));
    let consent = browser.follow(&app, callback).await;
    let done = answer_consent(&app, &mut browser, consent, true).await;
    let q = query(&location(&done));
    assert_eq!(q["iss"], app.issuer);
    let tokens: Value = redeem(&app, &setup.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();

    // The token carries Warden's own subject, the id of the user made just in time.
    let (status, user) = app
        .admin_call(
            &setup.admin_token,
            Method::GET,
            "/users/carol@corp.example",
            None,
        )
        .await;
    assert_eq!(status, 200, "{user}");
    let claims = decode_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], user["id"]);
    assert_ne!(claims["sub"], "u-123");
    let (_, identities) = app
        .admin_call(
            &setup.admin_token,
            Method::GET,
            &format!("/users/{}/identities", user["id"].as_str().unwrap()),
            None,
        )
        .await;
    let items = identities["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{identities}");
    assert_eq!(items[0]["provider_id"], "corp");
    assert_eq!(items[0]["subject"], "u-123");
    assert_eq!(items[0]["email"], "carol@corp.example");

    // A JIT account has no password: the password form does not let anyone in as it.
    let mut other = Browser::new();
    let login = other.get(&format!("{}/login", app.issuer)).await;
    let refused = sign_in(&app, &mut other, login, "carol@corp.example", "").await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn the_same_identity_signs_in_as_the_same_user_and_the_callback_is_single_use() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    let login_url = format!("{}/login", app.issuer);

    let mut first = Browser::new();
    let page = first.get(&login_url).await;
    let redirect = press(&app, &mut first, page, "corp").await;
    let at_provider = first.get(&location(&redirect)).await;
    let callback_url = location(&at_provider);
    let done = first.get(&callback_url).await;
    assert_eq!(done.status(), 303);
    assert!(location(&done).ends_with("/account"));

    // Replaying the callback (same browser, same URL) finds nothing to finish.
    let mut replay = Browser {
        http: first.http.clone(),
        cookies: first.cookies.clone(),
    };
    replay.cookies.retain(|k, _| !k.contains("session"));
    let again = replay.get(&callback_url).await;
    assert_failure_page(again, 400, "already used").await;
    assert!(!has_session(&replay));

    let mut second = Browser::new();
    let page = second.get(&login_url).await;
    let callback = via_provider(&app, &mut second, page, "corp").await;
    assert_eq!(callback.status(), 303);
    let (_, users) = app.admin_call(&token, Method::GET, "/users", None).await;
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["carol@corp.example"]);
    let account = second.get(&format!("{}/account", app.issuer)).await;
    let html = account.text().await.unwrap();
    assert!(html.contains("carol@corp.example"), "{html}");
    assert!(html.contains("corp"));
}

#[tokio::test]
async fn a_callback_in_another_browser_or_with_a_forged_state_gets_no_session() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;

    // An attacker's browser starts the flow and hands the callback URL to a victim.
    let mut attacker = Browser::new();
    let page = attacker.get(&format!("{}/login", app.issuer)).await;
    let redirect = press(&app, &mut attacker, page, "corp").await;
    let at_provider = attacker.get(&location(&redirect)).await;
    let mut victim = Browser::new();
    let landed = victim.get(&location(&at_provider)).await;
    assert_failure_page(landed, 400, "another browser").await;
    assert!(!has_session(&victim));

    // The provider answers with a state Warden never issued.
    idp.set_fault(Fault::WrongState);
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut browser, page, "corp").await;
    assert_failure_page(landed, 400, "Start again").await;
    assert!(!has_session(&browser));

    // A callback for one provider cannot finish another's sign-in (mix-up).
    idp.set_fault(Fault::None);
    let other = Idp::start(Kind::Oidc, corp_user()).await;
    add_provider(&app, &token, "other", &other, json!({})).await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let redirect = press(&app, &mut browser, page, "corp").await;
    let at_provider = browser.get(&location(&redirect)).await;
    let mixed = location(&at_provider).replace("/upstream/corp/", "/upstream/other/");
    let landed = browser.get(&mixed).await;
    assert_failure_page(landed, 400, "Start again").await;
    assert!(!has_session(&browser));
}

#[tokio::test]
async fn every_bad_answer_from_the_provider_is_a_page_and_no_session() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    let cases = [
        (Fault::Deny, 403, "did not sign you in"),
        (Fault::TokenError, 403, "refused"),
        (Fault::BadSignature, 400, "signature"),
        (Fault::AlgNone, 400, "algorithm"),
        (Fault::WrongAudience, 400, "another client"),
        (Fault::WrongIssuer, 400, "someone else"),
        (Fault::Expired, 400, "expired"),
        (Fault::BadNonce, 400, "nonce"),
        (Fault::NoIdToken, 400, "no ID token"),
        // Core §3.1.3.7: an `azp` must be Warden's client id even with Warden alone in
        // `aud`, and no other audience may share the token (even with `azp` = Warden).
        (Fault::ForeignAzp, 400, "another party (azp)"),
        (Fault::ExtraAudience, 400, "other audiences"),
        // `nbf` 300 s ahead (the leeway is 60 s); `iat` 900 s ago (at most 600 s).
        (Fault::NotYetValid, 400, "not valid yet"),
        (Fault::IssuedLongAgo, 400, "too long ago"),
    ];
    for (fault, status, needle) in cases {
        idp.set_fault(fault);
        let mut browser = Browser::new();
        let page = browser.get(&format!("{}/login", app.issuer)).await;
        let landed = via_provider(&app, &mut browser, page, "corp").await;
        assert_eq!(landed.status(), status, "{fault:?}");
        let html = landed.text().await.unwrap();
        assert!(html.contains(needle), "{fault:?}: {needle:?} not in {html}");
        assert!(!has_session(&browser), "{fault:?}");
        let account = browser.get(&format!("{}/account", app.issuer)).await;
        assert_eq!(account.status(), 303, "{fault:?}");
    }
    let (_, users) = app.admin_call(&token, Method::GET, "/users", None).await;
    assert_eq!(users["items"], json!([]), "no account was made");

    // The provider goes down while the browser is there: the code cannot be redeemed.
    idp.set_fault(Fault::None);
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let redirect = press(&app, &mut browser, page, "corp").await;
    let at_provider = browser.get(&location(&redirect)).await;
    idp.set_fault(Fault::Down);
    let landed = browser.get(&location(&at_provider)).await;
    assert_failure_page(landed, 502, "could not be reached").await;
    assert!(!has_session(&browser));
}

#[tokio::test]
async fn a_provider_that_is_down_from_the_start_gets_a_page() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    idp.set_fault(Fault::Down);
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let response = press(&app, &mut browser, page, "corp").await;
    assert_failure_page(response, 502, "could not be reached").await;
    assert!(!has_session(&browser));

    // And one that was never there at all.
    drop(idp);
    let gone = Idp::start(Kind::Oidc, corp_user()).await;
    let issuer = gone.issuer.clone();
    drop(gone);
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/upstream-providers",
            Some(json!({"id": "gone", "kind": "oidc", "display_name": "Gone",
                        "issuer": issuer, "client_id": "x", "client_secret": "y"})),
        )
        .await;
    assert_eq!(status, 201);
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let response = press(&app, &mut browser, page, "gone").await;
    assert_failure_page(response, 502, "could not be reached").await;
}

#[tokio::test]
async fn allowed_domains_admit_only_verified_addresses_of_those_domains() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(
        &app,
        &token,
        "corp",
        &idp,
        json!({"allowed_domains": ["corp.example"]}),
    )
    .await;
    let attempt = |idp: &Idp, user: IdpUser| {
        idp.set_user(user);
        let app = &app;
        async move {
            let mut browser = Browser::new();
            let page = browser.get(&format!("{}/login", app.issuer)).await;
            let landed = via_provider(app, &mut browser, page, "corp").await;
            (landed, has_session(&browser))
        }
    };
    let outsider = IdpUser {
        sub: "u-9".into(),
        email: Some("mallory@evil.example".into()),
        email_verified: true,
        name: None,
    };
    let (landed, session) = attempt(&idp, outsider).await;
    assert!(!session);
    assert_failure_page(landed, 403, "corp.example").await;
    let unverified = IdpUser {
        sub: "u-10".into(),
        email: Some("eve@corp.example".into()),
        email_verified: false,
        name: None,
    };
    let (landed, session) = attempt(&idp, unverified).await;
    assert!(!session);
    assert_failure_page(landed, 403, "verified").await;
    let (landed, session) = attempt(&idp, corp_user()).await;
    assert_eq!(landed.status(), 303);
    assert!(session);
}

#[tokio::test]
async fn a_github_style_provider_signs_in_with_its_numeric_user_id() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(
        Kind::Github,
        IdpUser {
            sub: "4242".into(),
            email: Some("dev@users.example".into()),
            email_verified: false,
            name: Some("Dev".into()),
        },
    )
    .await;
    let token = app.admin_token().await;
    let view = add_provider(
        &app,
        &token,
        "github",
        &idp,
        json!({"scopes": "read:user user:email", "token_auth_method": "client_secret_post"}),
    )
    .await;
    assert_eq!(view["subject_claim"], "id");
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut browser, page, "github").await;
    assert_eq!(landed.status(), 303, "{}", landed.text().await.unwrap());
    assert!(has_session(&browser));
    let (_, form_auth) = idp.token_requests.lock().unwrap()[0].clone();
    assert_eq!(form_auth, "post");
    // GitHub does not say the email is verified and the admin did not trust it: the
    // account is named after the provider and subject instead.
    let (status, user) = app
        .admin_call(&token, Method::GET, "/users/github-4242", None)
        .await;
    assert_eq!(status, 200, "{user}");
    let identities = stdout_json(&app.cli(&["user", "identities", "github-4242"]));
    assert_eq!(identities[0]["subject"], "4242");
    assert_eq!(identities[0]["email"], "dev@users.example");
}

#[tokio::test]
async fn first_sign_in_rules_link_by_verified_email_or_refuse_unknown_people() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(
        &app,
        &token,
        "corp",
        &idp,
        json!({"on_first_login": "existing-only", "allowed_domains": ["corp.example"]}),
    )
    .await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut browser, page, "corp").await;
    assert_failure_page(landed, 403, "No Warden account").await;
    assert!(!has_session(&browser));

    // The admin creates the account: the same sign-in now links to it.
    let (status, carol) = app
        .admin_call(
            &token,
            Method::POST,
            "/users",
            Some(json!({"username": "carol@corp.example", "password": "a long password"})),
        )
        .await;
    assert_eq!(status, 201);
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut browser, page, "corp").await;
    assert_eq!(landed.status(), 303);
    let identities = stdout_json(&app.cli(&["user", "identities", "carol@corp.example"]));
    assert_eq!(identities[0]["user_id"], carol["id"]);

    // An unverified address never links, even to an existing account (the domain rule,
    // which linking by email needs, already turns it away).
    idp.set_user(IdpUser {
        sub: "u-777".into(),
        email: Some("carol@corp.example".into()),
        email_verified: false,
        name: None,
    });
    let mut other = Browser::new();
    let page = other.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut other, page, "corp").await;
    assert_failure_page(landed, 403, "verified email addresses").await;
    assert!(!has_session(&other));
    let identities = stdout_json(&app.cli(&["user", "identities", "carol@corp.example"]));
    assert_eq!(identities.as_array().unwrap().len(), 1, "{identities}");

    // A disabled user cannot sign in upstream either.
    idp.set_user(corp_user());
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/users/carol@corp.example/disable",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut third = Browser::new();
    let page = third.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut third, page, "corp").await;
    assert_failure_page(landed, 403, "disabled").await;
    assert!(!has_session(&third));
}

#[tokio::test]
async fn a_signed_in_user_links_a_second_identity_and_an_admin_unlinks_it() {
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let setup = interactive(&app, false).await;
    add_provider(&app, &setup.admin_token, "corp", &idp, json!({})).await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/login", app.issuer)).await;
    let account = sign_in(
        &app,
        &mut browser,
        login,
        "alice",
        crate::helpers::browser::PASSWORD,
    )
    .await;
    let redirect = press(&app, &mut browser, account, "corp").await;
    assert_eq!(redirect.status(), 303);
    let at_provider = browser.get(&location(&redirect)).await;
    let back = browser.get(&location(&at_provider)).await;
    assert_eq!(back.status(), 303);
    assert!(location(&back).ends_with("/account"));

    let (_, identities) = app
        .admin_call(
            &setup.admin_token,
            Method::GET,
            "/users/alice/identities",
            None,
        )
        .await;
    assert_eq!(identities["items"][0]["subject"], "u-123", "{identities}");

    // Signing in with that identity is now signing in as alice.
    let mut fresh = Browser::new();
    let page = fresh.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut fresh, page, "corp").await;
    let account = fresh.follow(&app, landed).await;
    assert!(
        account
            .text()
            .await
            .unwrap()
            .contains("<strong>alice</strong>")
    );

    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            Method::DELETE,
            "/users/alice/identities/corp/u-123",
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            Method::DELETE,
            "/users/alice/identities/corp/u-123",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, identities) = app
        .admin_call(
            &setup.admin_token,
            Method::GET,
            "/users/alice/identities",
            None,
        )
        .await;
    assert_eq!(identities["items"], json!([]));
}

#[tokio::test]
async fn providers_are_validated_and_their_secrets_never_come_back() {
    let app = spawn_app_with(LOOPBACK).await;
    let token = app.admin_token().await;
    let base = json!({"id": "corp", "kind": "oidc", "display_name": "Corp",
                      "issuer": "https://idp.example", "client_id": "c", "client_secret": "s3cret-value"});
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases = [
        (json!({"id": "Bad Id"}), "id"),
        (json!({"kind": "saml"}), "kind"),
        (json!({"issuer": null}), "issuer"),
        (json!({"issuer": "http://idp.example"}), "issuer"),
        (json!({"token_endpoint": "https://idp.example/t"}), "issuer"),
        (json!({"client_secret": null}), "client_secret"),
        (json!({"scopes": "email profile"}), "scopes"),
        (json!({"on_first_login": "always"}), "on_first_login"),
        (
            json!({"allowed_domains": ["not a domain"]}),
            "allowed_domains",
        ),
        (
            json!({"kind": "oauth2", "issuer": null}),
            "authorization_endpoint",
        ),
    ];
    for (patch, field) in cases {
        let (status, body) = app
            .admin_call(
                &token,
                Method::POST,
                "/upstream-providers",
                Some(with(patch.clone())),
            )
            .await;
        assert_eq!(status, 422, "{patch}: {body}");
        assert_eq!(body["field"], field, "{patch}: {body}");
    }
    let (status, body) = app
        .admin_call(
            &token,
            Method::POST,
            "/upstream-providers",
            Some(with(json!({"secret": "x"}))),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("body")),
        "{body}"
    );

    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/upstream-providers",
            Some(base.clone()),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/upstream-providers",
            Some(base.clone()),
        )
        .await;
    assert_eq!(status, 409);
    // Replacing without a secret keeps the stored one (sealed, never shown).
    let (status, view) = app
        .admin_call(
            &token,
            Method::PUT,
            "/upstream-providers/corp",
            Some(with(
                json!({"client_secret": null, "display_name": "Corp SSO"}),
            )),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["display_name"], "Corp SSO");
    let (_, list) = app
        .admin_call(&token, Method::GET, "/upstream-providers", None)
        .await;
    assert!(!list.to_string().contains("s3cret-value"));
    let stored = app
        .state
        .store
        .upstream_provider("corp")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.client_secret_sealed.contains("s3cret-value"));

    // Disabled providers lose their button; deleted ones are gone.
    let (status, _) = app
        .admin_call(
            &token,
            Method::POST,
            "/upstream-providers/corp/disable",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let page = app
        .http
        .get(format!("{}/login", app.issuer))
        .send()
        .await
        .unwrap();
    assert!(!page.text().await.unwrap().contains("Corp SSO"));
    let (status, _) = app
        .admin_call(&token, Method::DELETE, "/upstream-providers/corp", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin_call(&token, Method::GET, "/upstream-providers/corp", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_cli_adds_providers_with_the_secret_on_standard_input() {
    use std::io::Write;
    let app = spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let mut child = crate::helpers::warden_command(&app.env)
        .args([
            "upstream",
            "add",
            "--id",
            "corp",
            "--kind",
            "oidc",
            "--name",
            "Corp SSO",
            "--issuer",
            &idp.issuer,
            "--client-id",
            &idp.client_id,
            "--client-secret-stdin",
            "--allowed-domain",
            "corp.example",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", idp.client_secret).unwrap();
    let output = child.wait_with_output().unwrap();
    let view = stdout_json(&output);
    assert_eq!(view["allowed_domains"], json!(["corp.example"]));
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&idp.client_secret));
    let list = stdout_json(&app.cli(&["upstream", "list"]));
    assert_eq!(list[0]["id"], "corp");

    // The secret the CLI sealed is the one the provider accepts.
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let landed = via_provider(&app, &mut browser, page, "corp").await;
    assert_eq!(landed.status(), 303);
    stdout_json(&app.cli(&["upstream", "disable", "corp"]));
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    assert!(!page.text().await.unwrap().contains("Corp SSO"));
    let out = app.cli(&["upstream", "delete", "nope"]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn password_sign_in_can_be_turned_off_in_favour_of_providers() {
    let app = spawn_app_with(&[
        ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1"),
        ("WARDEN_PASSWORD_LOGIN", "0"),
    ])
    .await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let setup = interactive(&app, false).await;
    add_provider(&app, &setup.admin_token, "corp", &idp, json!({})).await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.issuer)).await;
    let html = page.text().await.unwrap();
    assert!(!html.contains("name=\"password\""), "{html}");
    assert!(html.contains("Continue with Corp SSO"));
    let csrf = hidden(&html, "csrf");
    let refused = browser
        .post(
            &format!("{}/login", app.issuer),
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", crate::helpers::browser::PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert!(!has_session(&browser));
    let _ = REDIRECT;
}

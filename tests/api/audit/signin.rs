//! Sign-ins in the audit log: success, wrong password, disabled account, lock-out; and the
//! bound on what an anonymous flood of failed sign-ins can write.

use reqwest::Method;
use serde_json::json;

use super::{assert_no_secret, events};
use crate::helpers::browser::{Browser, PASSWORD, interactive};
use crate::helpers::pages::try_sign_in;
use crate::helpers::spawn_app;

const WRONG: &str = "not alice's password at all";

#[tokio::test]
async fn sign_ins_are_audited_with_the_user_and_address_and_never_the_password() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let alice = app.user_id("alice").await;
    let mut browser = Browser::new();
    let failed = try_sign_in(&app.issuer, &mut browser, "alice", WRONG).await;
    assert_eq!(failed.status(), 401);
    let signed_in = try_sign_in(&app.issuer, &mut browser, "alice", PASSWORD).await;
    assert_eq!(signed_in.status(), 303);

    let failures = events(&app, &setup.admin_token, "?kind=signin.failed").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f = &failures[0];
    assert_eq!(f["actor"], json!({"kind": "anonymous"}));
    assert_eq!(f["subject"], alice);
    assert_eq!(f["source"], "127.0.0.1");
    assert_eq!(f["outcome"], "failure");
    assert_eq!(f["reason"], "wrong password");
    let successes = events(&app, &setup.admin_token, "?kind=signin.succeeded").await;
    assert_eq!(successes.len(), 1, "{successes:?}");
    let s = &successes[0];
    assert_eq!(s["actor"], json!({"kind": "user", "id": alice}));
    assert_eq!(s["subject"], alice);
    assert_eq!(s["source"], "127.0.0.1");
    assert_eq!(s["outcome"], "success");

    // The right password for a disabled account is a failure, and says why.
    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            Method::POST,
            &format!("/users/{alice}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let refused = try_sign_in(&app.issuer, &mut Browser::new(), "alice", PASSWORD).await;
    assert_eq!(refused.status(), 401);
    let failures = events(&app, &setup.admin_token, "?kind=signin.failed").await;
    assert_eq!(failures[0]["reason"], "account disabled");

    let session = browser.cookies["warden-session"].clone();
    assert_no_secret(&app, &setup.admin_token, &[PASSWORD, WRONG, &session]).await;
}

/// The counter of sign-ins for usernames no account has, from `/metrics`.
async fn unknown_user_signins(app: &crate::helpers::TestApp) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("warden_signin_unknown_user_total "))
        .expect("the metric")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_flood_of_failed_sign_ins_writes_a_bounded_number_of_events() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let written = events(&app, &setup.admin_token, "").await.len();
    let counted = unknown_user_signins(&app).await;

    // Made-up usernames: counted, never stored (20 reach the hasher; the throttle answers
    // the rest).
    let mut browser = Browser::new();
    for i in 0..30 {
        let guess = try_sign_in(&app.issuer, &mut browser, &format!("nobody-{i}"), WRONG).await;
        assert!(matches!(guess.status().as_u16(), 401 | 429));
    }
    assert_eq!(events(&app, &setup.admin_token, "").await.len(), written);
    assert!(unknown_user_signins(&app).await >= counted + 30.0);

    // An existing account from another address: one event per failure the throttle lets
    // through (5 per account and address), then one lock-out however long it goes on.
    let mut browser = crate::helpers::browser::browser_from([127, 0, 0, 2]);
    for _ in 0..30 {
        let guess = try_sign_in(&app.issuer, &mut browser, "alice", WRONG).await;
        assert!(matches!(guess.status().as_u16(), 401 | 429));
    }
    let failures = events(&app, &setup.admin_token, "?kind=signin.failed").await;
    assert_eq!(failures.len(), 5, "{failures:?}");
    let locked = events(&app, &setup.admin_token, "?kind=signin.locked_out").await;
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(locked[0]["subject"], app.user_id("alice").await);
    assert_eq!(locked[0]["source"], "127.0.0.2");
    assert_eq!(locked[0]["outcome"], "failure");
    assert_eq!(
        events(&app, &setup.admin_token, "").await.len(),
        written + 6
    );
}

#[tokio::test]
async fn upstream_sign_ins_and_their_refusals_are_audited_with_the_provider() {
    use crate::helpers::upstream::{LOOPBACK, add_provider, corp_user, via_provider};
    use crate::helpers::upstream_idp::{Fault, Idp, Kind};
    let app = crate::helpers::spawn_app_with(LOOPBACK).await;
    let idp = Idp::start(Kind::Oidc, corp_user()).await;
    let token = app.admin_token().await;
    add_provider(&app, &token, "corp", &idp, json!({})).await;
    let login = format!("{}/login", app.issuer);

    let mut browser = Browser::new();
    let page = browser.get(&login).await;
    assert_eq!(
        via_provider(&app, &mut browser, page, "corp")
            .await
            .status(),
        303
    );
    let carol = app.user_id("carol@corp.example").await;
    let signed_in = events(&app, &token, "?kind=signin.upstream").await;
    assert_eq!(signed_in.len(), 1, "{signed_in:?}");
    assert_eq!(signed_in[0]["actor"], json!({"kind": "user", "id": carol}));
    assert_eq!(
        (&signed_in[0]["subject"], &signed_in[0]["details"]),
        (&json!(carol), &json!({"provider": "corp"}))
    );

    idp.set_fault(Fault::BadSignature);
    let mut browser = Browser::new();
    let page = browser.get(&login).await;
    assert_eq!(
        via_provider(&app, &mut browser, page, "corp")
            .await
            .status(),
        400
    );
    let refused = events(&app, &token, "?kind=signin.failed").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["actor"], json!({"kind": "anonymous"}));
    assert_eq!(refused[0]["details"], json!({"provider": "corp"}));
    assert!(
        refused[0]["reason"].as_str().unwrap().contains("signature"),
        "{refused:?}"
    );
}

//! Sign-in throttling cannot lock out the real user: the attack of 21 addresses × 5 wrong
//! guesses that used to lock an account for everyone for 15 minutes now locks out only
//! browsers that have never signed in to it; the user's own browser, which carries a
//! device cookie, signs in. Failures from that browser count against it alone.

use crate::helpers::browser::{Browser, PASSWORD, browser_from, interactive};
use crate::helpers::pages::try_sign_in;
use crate::helpers::spawn_app;

fn device(browser: &Browser) -> Option<&String> {
    browser.cookies.get("warden-device")
}

#[tokio::test]
async fn guesses_from_many_addresses_lock_out_strangers_but_not_the_users_own_browser() {
    let app = spawn_app().await;
    interactive(&app, false).await;
    let base = app.issuer.clone();

    // Alice signs in once from her browser: it becomes a trusted device for her account.
    let mut alice = Browser::new();
    let response = try_sign_in(&base, &mut alice, "alice", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let first_cookie = device(&alice)
        .cloned()
        .expect("a device cookie after sign-in");
    let set = response.headers().get_all("set-cookie");
    let device_line = set
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("warden-device="))
        .unwrap();
    assert!(device_line.contains("HttpOnly"), "{device_line}");
    assert!(device_line.contains("Max-Age="), "{device_line}");
    assert!(
        !first_cookie.contains("alice"),
        "the cookie names no account"
    );

    // The attack: 21 addresses, 5 wrong guesses each (105 > the account ceiling of 100).
    for n in 0..21u8 {
        let mut attacker = browser_from([127, 0, 3, 1 + n]);
        for _ in 0..5 {
            let response = try_sign_in(&base, &mut attacker, "alice", "guess").await;
            assert!(
                [401, 429].contains(&response.status().as_u16()),
                "{}",
                response.status()
            );
        }
    }
    // A browser that never signed in to alice is locked out, even with the right password...
    let response = try_sign_in(&base, &mut browser_from([127, 0, 4, 1]), "alice", PASSWORD).await;
    assert_eq!(response.status(), 429, "the account-wide ceiling holds");
    // ...but alice's own browser signs in, and gets a fresh device cookie.
    let response = try_sign_in(&base, &mut alice, "alice", PASSWORD).await;
    assert_eq!(response.status(), 303, "the real user is locked out");
    let renewed = device(&alice).cloned().unwrap();
    assert_ne!(renewed, first_cookie);

    // Failures from her browser count against it alone: five, then it waits like anyone.
    for _ in 0..5 {
        let response = try_sign_in(&base, &mut alice, "alice", "typo").await;
        assert_eq!(response.status(), 401);
    }
    let response = try_sign_in(&base, &mut alice, "alice", PASSWORD).await;
    assert_eq!(response.status(), 429);

    // Another of alice's browsers is not affected by the first one's lock.
    let mut laptop = Browser::new();
    laptop
        .cookies
        .insert("warden-device".into(), first_cookie.clone());
    let response = try_sign_in(&base, &mut laptop, "alice", PASSWORD).await;
    assert_eq!(
        response.status(),
        303,
        "an older device cookie still counts apart"
    );
}

#[tokio::test]
async fn a_device_cookie_proves_nothing_for_another_account_or_when_forged() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let (status, _) = app
        .admin_call(
            &setup.admin_token,
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({"username": "bob", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    let base = app.issuer.clone();
    let mut bobs = Browser::new();
    assert_eq!(
        try_sign_in(&base, &mut bobs, "bob", PASSWORD)
            .await
            .status(),
        303
    );
    let bobs_cookie = device(&bobs).cloned().unwrap();

    // Lock alice's account for strangers from 21 addresses.
    for n in 0..21u8 {
        let mut attacker = browser_from([127, 0, 5, 1 + n]);
        for _ in 0..5 {
            try_sign_in(&base, &mut attacker, "alice", "guess").await;
        }
    }
    // Bob's device cookie is not alice's: his browser is a stranger to her account.
    let mut with_bobs = browser_from([127, 0, 6, 1]);
    with_bobs
        .cookies
        .insert("warden-device".into(), bobs_cookie.clone());
    let response = try_sign_in(&base, &mut with_bobs, "alice", PASSWORD).await;
    assert_eq!(response.status(), 429);
    // Nor does a made-up or tampered one help.
    let (id, mac) = bobs_cookie.split_once('.').unwrap();
    for forged in [
        "x".repeat(87),
        format!("{id}.{}", mac.chars().rev().collect::<String>()),
        format!("{}.{mac}", id.chars().rev().collect::<String>()),
    ] {
        let mut browser = browser_from([127, 0, 6, 2]);
        browser.cookies.insert("warden-device".into(), forged);
        let response = try_sign_in(&base, &mut browser, "alice", PASSWORD).await;
        assert_eq!(response.status(), 429);
    }
}

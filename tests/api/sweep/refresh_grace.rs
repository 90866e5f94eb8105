//! Hostile-input sweep, security.md §5 E cases 55–56: the refresh grace window hands back
//! the same successor, never a second live refresh token.

use std::collections::HashSet;

use super::support::{refresh, scalar};
use crate::helpers::browser::{authorize, authorize_url, interactive, pkce, redeem};
use crate::helpers::{TestApp, TestClient, TestDb, assert_oauth_error, spawn_app, spawn_app_with};

/// Rows in `refresh_tokens`, counted behind Warden's back: how many family members exist.
async fn refresh_rows(db: &TestDb) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM refresh_tokens").await
}

/// A public client's first token response (access and refresh token) after consent.
async fn first_tokens(app: &TestApp) -> (crate::helpers::browser::Interactive, serde_json::Value) {
    let setup = interactive(app, true).await;
    let mut browser = crate::helpers::browser::Browser::new();
    let p = pkce();
    let url = authorize_url(app, &setup.client, &p.challenge, &[]);
    let q = authorize(app, &mut browser, &url, &setup.username).await;
    let response = redeem(app, &setup.client, &q["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);
    let token = response.json().await.unwrap();
    (setup, token)
}

/// The token response of a refresh with `token` (whatever its status).
async fn refreshed(app: &TestApp, client: &TestClient, token: &str) -> serde_json::Value {
    refresh(app, client, token, &[]).await.json().await.unwrap()
}

/// Each of `tokens` is refused as reuse: invalid_grant.
async fn assert_reuse(app: &TestApp, client: &TestClient, tokens: &[&str]) {
    for token in tokens {
        assert_oauth_error(refresh(app, client, token, &[]).await, 400, "invalid_grant").await;
    }
}

#[tokio::test]
async fn parallel_refreshes_share_one_successor_and_older_generations_are_reuse() {
    let app = spawn_app_with(&[("WARDEN_TOKEN_RATE_LIMIT", "0")]).await;
    let (setup, token) = first_tokens(&app).await;
    let first = token["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh_rows(&app.db).await, 1);

    // Case 56 (concurrent-refresh): 20 parallel refreshes with one token. Inside the grace
    // window every request is answered, all with the same successor: one new family member.
    let attempts = (0..20).map(|_| refresh(&app, &setup.client, &first, &[]));
    let mut successors = HashSet::new();
    let mut access = Vec::new();
    for response in futures_util::future::join_all(attempts).await {
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        successors.insert(body["refresh_token"].as_str().unwrap().to_owned());
        access.push(body["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(successors.len(), 1, "never two live successors");
    assert_eq!(
        refresh_rows(&app.db).await,
        2,
        "one rotated token, one successor"
    );
    let second = successors.into_iter().next().unwrap();
    assert_ne!(second, first);
    for a in &access {
        assert_eq!(app.introspect(&setup.server, a).await["active"], true);
    }

    // The immediate predecessor, again inside the window: still the same successor.
    let again = refreshed(&app, &setup.client, &first).await;
    assert_eq!(again["refresh_token"], second.as_str());
    // Another client cannot open the sealed successor: the token is simply not its own.
    let (status, other) = app
        .admin_call(
            &setup.admin_token,
            reqwest::Method::POST,
            "/clients",
            Some(
                serde_json::json!({"name": "other", "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": ["http://127.0.0.1:7777/callback"]}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    let other = TestClient::from_view(&other);
    assert_oauth_error(
        refresh(&app, &other, &first, &[]).await,
        400,
        "invalid_grant",
    )
    .await;

    // Case 55 (refresh-grace-only-predecessor): RT1 -> RT2 -> RT3, then RT1 inside the
    // window. RT1's successor is spent, so RT1 is a token two generations old: reuse, and
    // the whole family is revoked.
    let third = refreshed(&app, &setup.client, &second).await;
    let third_refresh = third["refresh_token"].as_str().unwrap();
    assert_ne!(third_refresh, second);
    assert_reuse(&app, &setup.client, &[&first, third_refresh]).await;
    let third_access = third["access_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(&setup.server, third_access).await["active"],
        false
    );
    assert_eq!(
        app.introspect(&setup.server, &access[0]).await["active"],
        false
    );
}

#[tokio::test]
async fn a_predecessor_back_after_its_successor_was_used_is_reuse_inside_the_window() {
    let app = spawn_app_with(&[("WARDEN_TOKEN_RATE_LIMIT", "0")]).await;
    let (setup, token) = first_tokens(&app).await;
    let first = token["refresh_token"].as_str().unwrap().to_owned();
    let second = refreshed(&app, &setup.client, &first).await;
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    let third = refreshed(&app, &setup.client, &second).await;
    // Case 55, the other generation: RT2 (immediate predecessor of RT3, within the window)
    // still gets RT3 back; RT1 (whose successor RT2 is spent) is reuse.
    let third_refresh = third["refresh_token"].as_str().unwrap();
    let again = refreshed(&app, &setup.client, &second).await;
    assert_eq!(again["refresh_token"], third_refresh);
    app.clock.advance(5);
    assert_reuse(&app, &setup.client, &[&first, third_refresh]).await;
}

#[tokio::test]
async fn without_a_grace_window_parallel_refreshes_leave_no_two_live_successors() {
    let app = spawn_app_with(&[
        ("WARDEN_TOKEN_RATE_LIMIT", "0"),
        ("WARDEN_REFRESH_GRACE", "0"),
    ])
    .await;
    let (setup, token) = first_tokens(&app).await;
    let first = token["refresh_token"].as_str().unwrap().to_owned();
    // Case 56 with WARDEN_REFRESH_GRACE=0: a second use racing the rotation is reuse, so at
    // most one request succeeds and, if any lost the race, the family is revoked.
    let attempts = (0..20).map(|_| refresh(&app, &setup.client, &first, &[]));
    let mut issued = Vec::new();
    for response in futures_util::future::join_all(attempts).await {
        if response.status() == 200 {
            let body: serde_json::Value = response.json().await.unwrap();
            issued.push(body["refresh_token"].as_str().unwrap().to_owned());
        } else {
            assert_oauth_error(response, 400, "invalid_grant").await;
        }
    }
    assert!(issued.len() <= 1, "{} successors", issued.len());
    let live =
        futures_util::future::join_all(issued.iter().map(|t| refresh(&app, &setup.client, t, &[])))
            .await
            .into_iter()
            .filter(|r| r.status() == 200)
            .count();
    assert_eq!(live, 0, "the race revoked the family");
}

#[tokio::test]
async fn a_token_rotated_by_a_version_without_sealed_successors_is_refused_without_revocation() {
    let app = spawn_app().await;
    let (setup, token) = first_tokens(&app).await;
    let first = token["refresh_token"].as_str().unwrap().to_owned();
    let second = refreshed(&app, &setup.client, &first).await;
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    // Case 125 (migration-compat), the part this change brings: during a rolling upgrade a
    // node without migration 0008's sealed successors rotates RT1; the client's racing
    // request reaches an upgraded node inside the window. It is refused, but it is no
    // evidence of theft, so the grant lives on.
    app.db
        .exec("UPDATE refresh_tokens SET successor_sealed = NULL")
        .await;
    assert_oauth_error(
        refresh(&app, &setup.client, &first, &[]).await,
        400,
        "invalid_grant",
    )
    .await;
    let third = refresh(&app, &setup.client, &second, &[]).await;
    assert_eq!(third.status(), 200, "the successor still works");
}

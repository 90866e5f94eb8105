//! The token hot path's cache of client and resource rows: what it saves, and its
//! staleness bound (WARDEN_CACHE_TTL) against disabling and revocation.

use reqwest::Method;

use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, setup, spawn_app, spawn_app_with};

async fn cc_status(app: &TestApp, agent: &crate::helpers::TestClient) -> u16 {
    app.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Some(agent),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn a_change_behind_this_node_is_seen_within_the_ttl_and_never_after() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    app.client_credentials(&s.agent, None, None).await;
    // Another node (or the CLI) disables the client: this node may serve its cached row
    // until the TTL (5 s) runs out, and not a second longer.
    app.db
        .exec(&format!(
            "UPDATE clients SET enabled = FALSE WHERE client_id = '{}'",
            s.agent.client_id
        ))
        .await;
    // On Postgres the node's change listener also clears the cache whenever it
    // (re)connects, which may fall in between: a fresher answer is allowed there, a staler
    // one never. SQLite has no listener, so there the cached answer is certain.
    if !app.db.is_postgres() {
        assert_eq!(
            cc_status(&app, &s.agent).await,
            200,
            "served from the cache"
        );
        app.clock.advance(4);
        assert_eq!(cc_status(&app, &s.agent).await, 200, "still within the TTL");
        app.clock.advance(1);
    } else {
        app.clock.advance(5);
    }
    assert_eq!(cc_status(&app, &s.agent).await, 401);
}

#[tokio::test]
async fn without_the_cache_every_request_reads_the_database() {
    let app = spawn_app_with(&[("WARDEN_CACHE_TTL", "0")]).await;
    let s = setup(&app).await;
    app.client_credentials(&s.agent, None, None).await;
    app.db
        .exec(&format!(
            "UPDATE clients SET enabled = FALSE WHERE client_id = '{}'",
            s.agent.client_id
        ))
        .await;
    assert_eq!(cc_status(&app, &s.agent).await, 401);
}

#[tokio::test]
async fn changes_through_this_node_take_effect_at_once() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let first = app.client_credentials(&s.agent, None, None).await;
    let gid = decode_claims(first["access_token"].as_str().unwrap())["gid"].clone();

    // Revoking the token (RFC 7009) revokes its grant: the next token is bound to a new one.
    let token = first["access_token"].as_str().unwrap();
    let revoked = app
        .post_form("/revoke", &[("token", token)], Some(&s.agent))
        .await;
    assert_eq!(revoked.status(), 200);
    let second = app.client_credentials(&s.agent, None, None).await;
    let gid2 = decode_claims(second["access_token"].as_str().unwrap())["gid"].clone();
    assert_ne!(gid, gid2);
    assert_eq!(
        app.introspect(&s.server, second["access_token"].as_str().unwrap())
            .await["active"],
        true
    );

    // An admin revokes the grant: the same.
    let (status, _) = app
        .admin_call(
            &s.admin_token,
            Method::POST,
            &format!("/grants/{}/revoke", gid2.as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let third = app.client_credentials(&s.agent, None, None).await;
    let gid3 = decode_claims(third["access_token"].as_str().unwrap())["gid"].clone();
    assert_ne!(gid2, gid3);

    // An admin disables the client or the resource: refused on the next request.
    let (status, _) = app
        .admin_call(
            &s.admin_token,
            Method::POST,
            &format!("/resources/{}/disable", s.resource["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cc_status(&app, &s.agent).await, 400);
    let (status, _) = app
        .admin_call(
            &s.admin_token,
            Method::POST,
            &format!("/resources/{}/enable", s.resource["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cc_status(&app, &s.agent).await, 200);
    let (status, _) = app
        .admin_call(
            &s.admin_token,
            Method::POST,
            &format!("/clients/{}/disable", s.agent.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cc_status(&app, &s.agent).await, 401);
}

/// Polls `check` for up to three seconds of real time (the test clocks stand still, so
/// only a notification, never the TTL, can make it true).
async fn soon(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..30 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_revocation_on_one_node_reaches_the_others_cache() {
    let db = crate::helpers::TestDb::new().await;
    let a = crate::helpers::spawn_app_on(db.clone(), &[]).await;
    let b = crate::helpers::spawn_app_on(db.clone(), &[("WARDEN_ISSUER", &a.issuer)]).await;
    let s = setup(&a).await;
    let token = a.client_credentials(&s.agent, None, None).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    // Both nodes now hold the grant as live in their caches.
    assert_eq!(a.introspect(&s.server, &token).await["active"], true);
    assert_eq!(b.introspect(&s.server, &token).await["active"], true);
    let revoked = a
        .post_form("/revoke", &[("token", &token)], Some(&s.agent))
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(a.introspect(&s.server, &token).await["active"], false);
    if db.is_postgres() {
        // NOTIFY: the other node forgets within milliseconds.
        assert!(
            soon(async || b.introspect(&s.server, &token).await["active"] == false).await,
            "node b still saw the revoked token as active"
        );
        // The CLI notifies as well.
        assert_eq!(cc_status(&b, &s.agent).await, 200);
        let out = b.cli(&["client", "disable", &s.agent.client_id]);
        assert!(out.status.success());
        assert!(soon(async || cc_status(&b, &s.agent).await == 401).await);
    } else {
        // One SQLite file has one server in production; here the TTL is the bound.
        b.clock.advance(5);
        assert_eq!(b.introspect(&s.server, &token).await["active"], false);
    }
}

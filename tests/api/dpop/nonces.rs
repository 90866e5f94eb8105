//! Server nonces (RFC 9449 §8): required by default, answered with `use_dpop_nonce` and a
//! `DPoP-Nonce` header, rotating by time window, and good on every node.

use crate::dpop::{assert_bound, cc_with};
use crate::helpers::assertions::now;
use crate::helpers::dpop::DpopKey;
use crate::helpers::{TestDb, assert_oauth_error, setup, spawn_app, spawn_app_on};

/// Asserts `use_dpop_nonce` with a nonce header; returns the nonce.
async fn assert_use_nonce(response: reqwest::Response) -> String {
    let nonce = response
        .headers()
        .get("dpop-nonce")
        .expect("use_dpop_nonce comes with DPoP-Nonce")
        .to_str()
        .unwrap()
        .to_owned();
    assert_oauth_error(response, 400, "use_dpop_nonce").await;
    nonce
}

#[tokio::test]
async fn a_proof_without_a_nonce_is_told_to_use_one_and_the_retry_works() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let grants = app.grant_count().await;
    let proof = key.proof(&app.token_endpoint(), now(&app), None);
    let nonce = assert_use_nonce(cc_with(&app, &s.agent, &[&proof]).await).await;
    assert_eq!(app.grant_count().await, grants, "nothing issued");
    assert_eq!(app.remembered_proofs().await, 0, "the proof was not spent");

    let retry = key.proof(&app.token_endpoint(), now(&app), Some(&nonce));
    let response = cc_with(&app, &s.agent, &[&retry]).await;
    assert_eq!(response.headers()["dpop-nonce"], nonce.as_str());
    assert_bound(response, &key).await;
}

#[tokio::test]
async fn a_stale_or_forged_nonce_is_told_to_use_a_fresh_one() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let old = app.dpop_nonce();
    app.clock.advance(2 * warden::oauth::dpop::nonce::WINDOW);
    let htu = app.token_endpoint();
    for nonce in [
        old.as_str(),
        "forged-nonce",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "",
    ] {
        let proof = key.proof(&htu, now(&app), Some(nonce));
        let fresh = assert_use_nonce(cc_with(&app, &s.agent, &[&proof]).await).await;
        assert_ne!(fresh, nonce);
        let retry = key.proof(&htu, now(&app), Some(&fresh));
        assert_bound(cc_with(&app, &s.agent, &[&retry]).await, &key).await;
    }
    assert_eq!(app.remembered_proofs().await, 4);
}

#[tokio::test]
async fn a_nonce_of_the_previous_window_still_works_and_a_fresh_one_comes_back() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let nonce = app.dpop_nonce();
    app.clock.advance(warden::oauth::dpop::nonce::WINDOW);
    let proof = key.proof(&app.token_endpoint(), now(&app), Some(&nonce));
    let response = cc_with(&app, &s.agent, &[&proof]).await;
    let next = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(next, nonce);
    assert_eq!(next, app.dpop_nonce());
    assert_bound(response, &key).await;
}

#[tokio::test]
async fn a_nonce_from_one_node_is_good_at_another() {
    let db = TestDb::new().await;
    let a = spawn_app_on(db.clone(), &[]).await;
    let b = spawn_app_on(db.clone(), &[("WARDEN_ISSUER", &a.issuer)]).await;
    let s = setup(&a).await;
    let key = DpopKey::es256();
    let proof = key.proof(&a.token_endpoint(), now(&a), None);
    let nonce = assert_use_nonce(cc_with(&a, &s.agent, &[&proof]).await).await;
    let retry = key.proof(&b.token_endpoint(), now(&b), Some(&nonce));
    assert_bound(cc_with(&b, &s.agent, &[&retry]).await, &key).await;
}

#[tokio::test]
async fn a_browser_client_may_send_a_proof_and_read_the_nonce_cross_origin() {
    let app = spawn_app().await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.token_endpoint())
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "dpop")
        .send()
        .await
        .unwrap();
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.split(", ").any(|h| h == "dpop"), "{allowed}");
    let s = setup(&app).await;
    let key = DpopKey::es256();
    let proof = key.proof(&app.token_endpoint(), now(&app), None);
    let response = app
        .http
        .post(app.token_endpoint())
        .header("origin", "http://localhost:6274")
        .header("dpop", proof)
        .basic_auth(&s.agent.client_id, Some(&s.agent.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://mcp.example.com/mcp"),
        ])
        .send()
        .await
        .unwrap();
    // Header names are case-insensitive (RFC 9110 §5.1); the list comes lower-cased.
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.split(", ").any(|h| h == "dpop-nonce"), "{exposed}");
    assert_use_nonce(response).await;
}

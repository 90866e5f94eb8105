//! Several Warden processes over one database behave as one server: nothing that matters
//! lives only in one process's memory (keys are re-read on an interval).

use crate::helpers::browser::{Browser, authorize_url, hidden, interactive, location, pkce, query};
use crate::helpers::{TestDb, assert_oauth_error, setup, spawn_app_on};

#[tokio::test]
async fn tokens_revocations_codes_sessions_and_keys_cross_nodes() {
    let db = TestDb::new().await;
    let a = spawn_app_on(db.clone(), &[("WARDEN_KEY_REFRESH_INTERVAL", "1")]).await;
    // Nodes behind one load balancer share one issuer.
    let b = spawn_app_on(
        db.clone(),
        &[
            ("WARDEN_KEY_REFRESH_INTERVAL", "1"),
            ("WARDEN_ISSUER", &a.issuer),
        ],
    )
    .await;

    // A token issued by one node introspects on the other; a revocation on one is seen by both.
    let s = setup(&a).await;
    let token = a.client_credentials(&s.agent, None, None).await;
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(b.introspect(&s.server, token).await["active"], true);
    assert_eq!(
        b.post_form("/revoke", &[("token", token)], Some(&s.agent))
            .await
            .status(),
        200
    );
    assert_eq!(a.introspect(&s.server, token).await["active"], false);

    // A key rotated through one node is published and then used by the other, no restart.
    let listed = a.cli(&["keys", "rotate", "--activate-in", "0"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let rotated: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let kid = rotated["kid"].as_str().unwrap();
    // The CLI dated the activation by the wall clock; the nodes' clocks stand still.
    a.catch_up_with_wall_clock();
    b.catch_up_with_wall_clock();
    // Both nodes re-read keys every second; under load (other tests beside this one) a
    // tick can come late, so wait for each to publish the key before using it across them.
    for (node, name) in [(&b, "b"), (&a, "a")] {
        let mut seen = false;
        for _ in 0..100 {
            let jwks = node.get_json("/jwks.json").await;
            if jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid)
            {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(seen, "node {name} never published the rotated key");
    }
    let fresh = b.client_credentials(&s.agent, None, None).await;
    let header = josekit::jwt::decode_header(fresh["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.claim("kid").unwrap(), kid);
    assert_eq!(
        a.introspect(&s.server, fresh["access_token"].as_str().unwrap())
            .await["active"],
        true
    );
}

#[tokio::test]
async fn a_browser_flow_may_hop_between_nodes_and_a_code_works_once_on_either() {
    let db = TestDb::new().await;
    let a = spawn_app_on(db.clone(), &[]).await;
    let b = spawn_app_on(db.clone(), &[("WARDEN_ISSUER", &a.issuer)]).await;
    let setup = interactive(&a, false).await;
    let mut browser = Browser::new();
    let p = pkce();

    // /authorize on a; sign in on b; consent on a.
    let start = browser
        .get(&authorize_url(&a, &setup.client, &p.challenge, &[]))
        .await;
    let login_path = location(&start);
    let login = browser.get(&b.url(&login_path)).await;
    let html = login.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("username", "alice".to_owned()),
        ("password", crate::helpers::browser::PASSWORD.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signed_in = browser.post(&b.url("/login"), &form).await;
    assert_eq!(signed_in.status(), 303);
    let consent = browser.get(&a.url(&location(&signed_in))).await;
    assert_eq!(consent.status(), 200, "the session made on b works on a");
    let response = crate::helpers::browser::answer_consent(&a, &mut browser, consent, true).await;
    let code = query(&location(&response))["code"].clone();

    // Redeemed on b, replayed on a.
    let first = crate::helpers::browser::redeem(&b, &setup.client, &code, &p.verifier).await;
    assert_eq!(first.status(), 200);
    let replay = crate::helpers::browser::redeem(&a, &setup.client, &code, &p.verifier).await;
    assert_oauth_error(replay, 400, "invalid_grant").await;
}

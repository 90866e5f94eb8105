//! Consents given and refused, grants revoked (by the user, an admin, the client) and
//! refresh-token reuse, each audited with its actor and without a secret.

use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_no_secret, events};
use crate::helpers::browser::{
    Browser, Interactive, PASSWORD, answer_consent, authorize, authorize_url, hidden, interactive,
    pkce, redeem, through_sign_in,
};
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, assert_oauth_error, spawn_app};

/// A consent and a code redeemed: the token response.
async fn tokens(app: &TestApp, setup: &Interactive, browser: &mut Browser) -> Value {
    let p = pkce();
    let url = authorize_url(app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let answer = authorize(app, browser, &url, "alice").await;
    let response = redeem(app, &setup.client, &answer["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn text(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn consents_revocations_and_refresh_token_reuse_are_audited_with_their_actor() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let admin = &setup.admin_token;
    let alice = app.user_id("alice").await;
    let client_id = setup.client.client_id.clone();
    let mut browser = Browser::new();
    let mut secrets = vec![PASSWORD.to_owned(), setup.client.client_secret.clone()];

    // Refused, then given.
    let p = pkce();
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:read")]);
    let consent = through_sign_in(&app, &mut browser, &url, "alice").await;
    let denied = answer_consent(&app, &mut browser, consent, false).await;
    assert_eq!(denied.status(), 303);
    let refused = events(&app, admin, "?kind=consent.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    let r = &refused[0];
    assert_eq!(r["actor"], json!({"kind": "user", "id": alice}));
    assert_eq!(
        (&r["subject"], &r["client_id"], &r["resource"]),
        (&json!(alice), &json!(client_id), &json!(setup.resource_uri))
    );
    assert_eq!(
        (&r["outcome"], &r["details"]["scope"]),
        (&json!("failure"), &json!("mcp:read"))
    );

    let first = tokens(&app, &setup, &mut browser).await;
    let grant = decode_claims(&text(&first, "access_token"))["gid"].clone();
    let given = events(&app, admin, "?kind=consent.given").await;
    assert_eq!(given.len(), 1, "{given:?}");
    let g = &given[0];
    assert_eq!(g["actor"], json!({"kind": "user", "id": alice}));
    assert_eq!(
        (&g["grant_id"], &g["client_id"]),
        (&grant, &json!(client_id))
    );
    assert_eq!(
        (&g["subject"], &g["outcome"]),
        (&json!(alice), &json!("success"))
    );

    // The rotated-out refresh token comes back: reuse, the grant revoked.
    let old = text(&first, "refresh_token");
    let refresh = |token: String| {
        let (app, client) = (&app, &setup.client);
        async move {
            let form = [("grant_type", "refresh_token"), ("refresh_token", &token)];
            app.post_form("/token", &form, Some(client)).await
        }
    };
    let rotated: Value = refresh(old.clone()).await.json().await.unwrap();
    // Past WARDEN_REFRESH_GRACE, when a parallel refresh would be forgiven.
    app.clock.advance(11);
    assert_oauth_error(refresh(old.clone()).await, 400, "invalid_grant").await;
    let reused = events(&app, admin, "?kind=refresh_token.reused").await;
    assert_eq!(reused.len(), 1, "{reused:?}");
    let u = &reused[0];
    assert_eq!(u["actor"], json!({"kind": "client", "id": client_id}));
    assert_eq!((&u["grant_id"], &u["subject"]), (&grant, &json!(alice)));
    assert_eq!(u["outcome"], "failure");
    // Presented again: the grant is already revoked, nothing new to record.
    assert_oauth_error(refresh(old.clone()).await, 400, "invalid_grant").await;
    assert_eq!(
        events(&app, admin, "?kind=refresh_token.reused")
            .await
            .len(),
        1
    );
    secrets.extend([
        old,
        text(&rotated, "refresh_token"),
        text(&first, "access_token"),
    ]);

    // The client revokes its token at /revoke (twice: one event).
    let second = tokens(&app, &setup, &mut browser).await;
    let access = text(&second, "access_token");
    let grant = decode_claims(&access)["gid"].clone();
    for _ in 0..2 {
        let form = [("token", access.as_str())];
        let response = app.post_form("/revoke", &form, Some(&setup.client)).await;
        assert_eq!(response.status(), 200);
    }
    let revoked = events(&app, admin, "?kind=grant.revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(
        revoked[0]["actor"],
        json!({"kind": "client", "id": client_id})
    );
    assert_eq!(
        (&revoked[0]["grant_id"], &revoked[0]["subject"]),
        (&grant, &json!(alice))
    );
    secrets.extend([access, text(&second, "refresh_token")]);

    // Alice revokes on her account page.
    let third = tokens(&app, &setup, &mut browser).await;
    let grant = decode_claims(&text(&third, "access_token"))["gid"].clone();
    let page = browser.get(&format!("{}/account", app.issuer)).await;
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let revoke = format!(
        "{}/account/grants/{}/revoke",
        app.issuer,
        grant.as_str().unwrap()
    );
    assert_eq!(
        browser.post(&revoke, &[("csrf", &csrf)]).await.status(),
        303
    );
    let revoked = events(&app, admin, &format!("?kind=grant.revoked&actor={alice}")).await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["actor"], json!({"kind": "user", "id": alice}));
    assert_eq!(revoked[0]["grant_id"], grant);

    // An admin revokes.
    let fourth = tokens(&app, &setup, &mut browser).await;
    let grant = decode_claims(&text(&fourth, "access_token"))["gid"].clone();
    let path = format!("/grants/{}/revoke", grant.as_str().unwrap());
    let (status, body) = app.admin_call(admin, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{body}");
    let admin_client = decode_claims(admin)["client_id"].clone();
    let actor = format!("admin_client:{}", admin_client.as_str().unwrap());
    let revoked = events(&app, admin, &format!("?kind=grant.revoked&actor={actor}")).await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(
        (&revoked[0]["grant_id"], &revoked[0]["subject"]),
        (&grant, &json!(alice))
    );
    assert_eq!(revoked[0]["actor"]["id"], admin_client);

    assert_eq!(events(&app, admin, "?kind=consent.given").await.len(), 4);
    secrets.push(browser.cookies["warden-session"].clone());
    // A JWT's header and claims are no secret; its signature is.
    let signatures: Vec<String> = secrets
        .iter()
        .filter(|s| s.starts_with("eyJ"))
        .map(|s| s.rsplit('.').next().unwrap().to_owned())
        .collect();
    secrets.extend(signatures);
    secrets.retain(|s| !s.starts_with("eyJ"));
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secret(&app, admin, &secrets).await;
}

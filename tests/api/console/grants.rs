//! Console: grants. A user's consent and a client's own grant, listed with their scopes;
//! revoked one at a time or all of a holder's, and the tokens stop.

use reqwest::StatusCode;

use crate::helpers::browser::{Browser, authorize, authorize_url, interactive, pkce, redeem};
use crate::helpers::console::console_admin;
use crate::helpers::spawn_app;

#[tokio::test]
async fn grants_are_listed_filtered_and_revoked_with_everything_they_bought() {
    let app = spawn_app().await;
    let s = interactive(&app, false).await;
    // Alice consents: a user grant with a refresh token.
    let p = pkce();
    let url = authorize_url(&app, &s.client, &p.challenge, &[("scope", "mcp:read")]);
    let mut browser = Browser::new();
    let q = authorize(&app, &mut browser, &url, &s.username).await;
    let tokens: serde_json::Value = redeem(&app, &s.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.introspect(&s.server, &access).await["active"], true);
    // The MCP server's own client_credentials grant for the admin audience is not in the
    // way; the agent of `interactive` has none yet.

    let mut console = console_admin(&app).await;
    let (status, html) = console.page("/grants").await;
    assert_eq!(status, 200);
    assert!(html.contains("alice"), "{html}");
    assert!(html.contains("Example IDE"));
    assert!(html.contains("mcp:read"));

    // Filters: by user name, by client; an unknown user is the field's error.
    let (_, html) = console.page("/grants?user=alice").await;
    assert!(
        html.contains("Revoke every live grant of this user"),
        "{html}"
    );
    let (status, html) = console.page("/grants?user=nobody").await;
    assert_eq!(status, 422);
    assert!(html.contains("field-invalid"));
    assert!(html.contains(r#"value="nobody""#));
    let (status, _) = console.page("/grants?status=forever").await;
    assert_eq!(status, 422);

    // Revoke the one grant: its access and refresh tokens stop.
    let gid = html_grant_id(&console.page("/grants?user=alice").await.1);
    let to = console
        .submit_ok(&format!("/grants/{gid}/revoke"), &[])
        .await;
    assert!(to.ends_with("/admin/grants?done=revoked"));
    assert_eq!(app.introspect(&s.server, &access).await["active"], false);
    let refreshed = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
            Some(&s.client),
        )
        .await;
    assert_eq!(refreshed.status(), 400);
    let (_, html) = console.page("/grants?status=revoked").await;
    assert!(html.contains("badge-off"));

    // The audit log names the admin user.
    let (_, events) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::GET,
            "/audit?kind=grant.revoked",
            None,
        )
        .await;
    assert_eq!(events["items"][0]["actor"]["id"], console.user_id.as_str());
    assert_eq!(events["items"][0]["grant_id"], gid.as_str());

    // Revoke all of a client: consent again, then end everything the client holds.
    let p = pkce();
    let url = authorize_url(&app, &s.client, &p.challenge, &[("scope", "mcp:read")]);
    let q = authorize(&app, &mut browser, &url, &s.username).await;
    let tokens: serde_json::Value = redeem(&app, &s.client, &q["code"], &p.verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let r = console
        .submit("/grants/revoke", &[("client", &s.client.client_id)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.introspect(&s.server, &access).await["active"], false);
    // Naming two holders, or none, is refused: nothing more is revoked.
    let r = console.submit("/grants/revoke", &[]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

/// The id in the first revoke form of a grants page.
fn html_grant_id(html: &str) -> String {
    html.split("/admin/grants/")
        .skip(1)
        .filter_map(|rest| rest.split_once("/revoke").map(|(id, _)| id))
        .find(|id| !id.contains('"'))
        .unwrap()
        .to_owned()
}

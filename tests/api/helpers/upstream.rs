//! Upstream identity providers: adding one and signing in through it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::browser::{Browser, hidden, location};
use crate::helpers::upstream_idp::{Idp, IdpUser, Kind};

/// Lets Warden fetch from the loopback mock provider.
pub const LOOPBACK: &[(&str, &str)] = &[("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1")];

/// The provider's default person: Carol, with a verified address at corp.example.
pub fn corp_user() -> IdpUser {
    IdpUser {
        sub: "u-123".into(),
        email: Some("Carol@Corp.Example".into()),
        email_verified: true,
        name: Some("Carol".into()),
    }
}

/// Registers `idp` as provider `id` through the admin API with `extra` settings.
pub async fn add_provider(app: &TestApp, token: &str, id: &str, idp: &Idp, extra: Value) -> Value {
    let mut body = match idp.kind {
        Kind::Oidc => json!({"id": id, "kind": "oidc", "display_name": "Corp SSO",
            "issuer": idp.issuer, "client_id": idp.client_id, "client_secret": idp.client_secret}),
        Kind::Github => json!({"id": id, "kind": "oauth2", "display_name": "GitHub",
            "authorization_endpoint": idp.authorization_endpoint(),
            "token_endpoint": idp.token_endpoint(), "userinfo_endpoint": idp.userinfo_endpoint(),
            "client_id": idp.client_id, "client_secret": idp.client_secret}),
    };
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, view) = app
        .admin_call(token, Method::POST, "/upstream-providers", Some(body))
        .await;
    assert_eq!(status, 201, "{view}");
    view
}

/// On a login page: presses the provider's button, lets the provider answer, and returns
/// Warden's response to the callback (not followed).
pub async fn via_provider(
    app: &TestApp,
    browser: &mut Browser,
    login_page: reqwest::Response,
    provider: &str,
) -> reqwest::Response {
    let redirect = press(app, browser, login_page, provider).await;
    assert_eq!(redirect.status(), 303, "{}", redirect.text().await.unwrap());
    let at_provider = browser.get(&location(&redirect)).await;
    assert_eq!(at_provider.status(), 302);
    browser.get(&location(&at_provider)).await
}

/// Presses the button of `provider` on the page (login or account); returns Warden's answer.
pub async fn press(
    app: &TestApp,
    browser: &mut Browser,
    page: reqwest::Response,
    provider: &str,
) -> reqwest::Response {
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action = format!("/login/upstream/{provider}\"");
    let start = html
        .find(&action)
        .unwrap_or_else(|| panic!("no {provider} button in {html}"));
    let form = &html[start..];
    let form = &form[..form.find("</form>").unwrap()];
    let mut fields = vec![("csrf", hidden(form, "csrf"))];
    for name in ["request", "link"] {
        if form.contains(&format!("name=\"{name}\"")) {
            fields.push((name, hidden(form, name)));
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser
        .post(
            &format!("{}/login/upstream/{provider}", app.issuer),
            &fields,
        )
        .await
}

/// Whether the browser holds a Warden session cookie.
pub fn has_session(browser: &Browser) -> bool {
    browser.cookies.keys().any(|k| k.contains("warden-session"))
}

/// Asserts an HTML failure page with `status` that mentions `needle`.
pub async fn assert_failure_page(response: reqwest::Response, status: u16, needle: &str) {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(needle), "{needle:?} not in {html}");
}

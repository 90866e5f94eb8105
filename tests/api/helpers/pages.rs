//! Checks of the pages and redirects the browser flow answers with, and signing in.

use std::collections::HashMap;

use crate::helpers::TestApp;
use crate::helpers::browser::{Browser, REDIRECT, hidden, location, query};

/// Checks an HTML error page: `status`, text/html, and no redirect. Returns the HTML.
pub async fn assert_error_page(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status, "{}", response.url());
    assert!(
        response.headers().get("location").is_none(),
        "an error page, never a redirect"
    );
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    response.text().await.unwrap()
}

/// Checks an error redirect to the client (RFC 6749 §4.1.2.1, RFC 9207); returns its query.
pub fn assert_error_redirect(
    app: &TestApp,
    response: &reqwest::Response,
    code: &str,
) -> HashMap<String, String> {
    assert_eq!(response.status(), 303, "expected a redirect with {code}");
    let target = location(response);
    assert!(target.starts_with(&format!("{REDIRECT}?")), "{target}");
    let q = query(&target);
    assert_eq!(q["error"], code, "{target}");
    assert!(!q["error_description"].is_empty(), "{target}");
    assert_eq!(q["state"], "xyz-state");
    assert_eq!(q["iss"], app.issuer);
    assert!(!q.contains_key("code"));
    q
}

/// Loads the login page at `base` (the issuer, or the server's own address), then posts
/// these credentials with its CSRF token.
pub async fn try_sign_in(
    base: &str,
    browser: &mut Browser,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser.get(&format!("{base}/login")).await;
    assert_eq!(page.status(), 200);
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    browser
        .post(
            &format!("{base}/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

/// An error page with status 400, the answer to a bad request before the redirect URI is
/// trusted.
pub async fn assert_bad_request_page(response: reqwest::Response) -> String {
    assert_error_page(response, 400).await
}

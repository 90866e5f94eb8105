//! Hostile-input sweep, security.md §5 C (cases 21–32): redirect URIs. At `/authorize` they
//! are compared exactly as registered, without normalisation, except that a loopback
//! redirect may change its port; at registration, script schemes, plain http off
//! loopback and userinfo are refused. Case 31 (a fragment at registration) is
//! `self_registration::invalid_registrations_get_exact_errors_and_store_nothing`; case 33
//! (no error ever to an unregistered URI) is in `sweep::authorize`.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::register_public;
use crate::helpers::browser::{
    Browser, STATE, authorize_url, hidden, interactive, location, pkce, query, redeem_at,
    run_to_client,
};
use crate::helpers::clients::post_register;
use crate::helpers::pages::assert_error_page;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app};

/// Asks for an authorization for `client` with each of `redirects` and expects the page
/// that refuses the redirect address every time.
async fn assert_redirects_refused(app: &TestApp, client: &TestClient, redirects: &[&str]) {
    for redirect in redirects {
        let p = pkce();
        let url = authorize_url(app, client, &p.challenge, &[("redirect_uri", redirect)]);
        let html = assert_error_page(Browser::new().get(&url).await, 400).await;
        assert!(
            html.contains("Invalid redirect address"),
            "{redirect}: {html}"
        );
    }
}

/// A port for a loopback redirect whose URL cannot be mistaken for this server's own
/// (`Browser::follow` follows redirects that start with the server's address).
fn foreign_port(app: &TestApp, preferred: u16) -> u16 {
    let mut port = preferred;
    while format!("http://127.0.0.1:{port}/").starts_with(&app.url("")) {
        port += 1;
    }
    port
}

#[tokio::test]
async fn redirect_uris_are_compared_as_registered_without_normalisation() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let with_query = app
        .create_client(
            &setup.admin_token,
            json!({"name": "Query App", "grant_types": ["authorization_code"],
                   "redirect_uris": ["https://app.example.com/cb?a=1"]}),
        )
        .await;
    let grants = app.grant_count().await;

    // Case 21 (exact-match-case): the registered URI is https://app.example.com/cb.
    assert_redirects_refused(
        &app,
        &setup.client,
        &[
            "https://app.example.com/CB",
            "https://app.example.com/Cb",
            "HTTPS://app.example.com/cb",
        ],
    )
    .await;

    // Case 22 (exact-match-trailing-slash / path-append).
    assert_redirects_refused(
        &app,
        &setup.client,
        &[
            "https://app.example.com/cb/",
            "https://app.example.com/cb/x",
            "https://app.example.com/cbx",
            "https://app.example.com/cb.",
        ],
    )
    .await;

    // Case 23 (query-added / mismatch / ok): registered with ?a=1, only ?a=1 itself goes;
    // the code is appended to the registered query.
    assert_redirects_refused(
        &app,
        &with_query,
        &[
            "https://app.example.com/cb",
            "https://app.example.com/cb?a=2",
            "https://app.example.com/cb?A=1",
            "https://app.example.com/cb?a=%31",
            "https://app.example.com/cb?a=1&b=2",
            "https://app.example.com/cb?a=1&",
        ],
    )
    .await;
    let registered = "https://app.example.com/cb?a=1";
    let p = pkce();
    let url = authorize_url(
        &app,
        &with_query,
        &p.challenge,
        &[("redirect_uri", registered)],
    );
    let target = run_to_client(&app, &mut Browser::new(), &url, "alice").await;
    assert!(
        target.starts_with(&format!("{registered}&code=")),
        "{target}"
    );
    let q = query(&target);
    assert_eq!(q["a"], "1");
    assert_eq!(q["state"], STATE);
    let response = redeem_at(&app, &with_query, &q["code"], &p.verifier, Some(registered)).await;
    assert_eq!(response.status(), 200);
    let grants = grants + 1;

    // Case 28 (userinfo-at-trick), at /authorize: a registered host in the userinfo, or
    // userinfo before a registered host, is another URI.
    assert_redirects_refused(
        &app,
        &setup.client,
        &[
            "https://app.example.com@evil.example.com/cb",
            "https://a@b@app.example.com/cb",
            "https://evil.example.com@app.example.com/cb",
            "https://app.example.com:@evil.example.com/cb",
            "https://app.example.com%40evil.example.com/cb",
            "http://evil@127.0.0.1:7777/callback",
            "http://evil@127.0.0.1:9999/callback",
            "http://127.0.0.1:7777@evil.example.com/callback",
            "http://evil.example.com\\@127.0.0.1:7777/callback",
        ],
    )
    .await;

    // Case 29 (path-traversal): no dot-segment or percent-decoding happens before the
    // comparison, for https and for loopback redirects alike.
    assert_redirects_refused(
        &app,
        &setup.client,
        &[
            "https://app.example.com/cb/..;/../evil",
            "https://app.example.com/cb/%2e%2e/evil",
            "https://app.example.com/cb/%2E%2E/evil",
            "https://app.example.com/x/../cb",
            "https://app.example.com/./cb",
            "https://app.example.com//cb",
            "https://app.example.com/%63b",
            "https://app.example.com/cb%2F..%2Fevil",
            "http://127.0.0.1:7777/x/../callback",
            "http://127.0.0.1:9999/./callback",
            "http://127.0.0.1:9999/%63allback",
            "http://127.0.0.1:9999/callback/..",
        ],
    )
    .await;
    assert_eq!(
        app.grant_count().await,
        grants,
        "only the exact request granted"
    );
}

#[tokio::test]
async fn loopback_and_localhost_redirects_may_change_only_the_port() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let native = app
        .create_client(
            &setup.admin_token,
            json!({"name": "Native", "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none",
                   "redirect_uris": ["http://127.0.0.1/callback", "http://[::1]/callback"]}),
        )
        .await;
    let p = pkce();

    // Case 24 (loopback-any-port): registered without a port, any port is accepted, and the
    // code is bound to the URI actually used.
    let v4 = format!("http://127.0.0.1:{}/callback", foreign_port(&app, 51004));
    let mut browser = Browser::new();
    let url = authorize_url(&app, &native, &p.challenge, &[("redirect_uri", &v4)]);
    let target = run_to_client(&app, &mut browser, &url, "alice").await;
    assert!(target.starts_with(&format!("{v4}?code=")), "{target}");
    let q = query(&target);
    assert_eq!(q["iss"], app.issuer);
    let response = redeem_at(&app, &native, &q["code"], &p.verifier, Some(&v4)).await;
    assert_eq!(response.status(), 200);
    for uri in ["http://[::1]:61023/callback", "http://127.0.0.1/callback"] {
        // A public native client is asked every time (RFC 8252 §8.6), whatever the port.
        let url = authorize_url(&app, &native, &p.challenge, &[("redirect_uri", uri)]);
        let target = run_to_client(&app, &mut browser, &url, "alice").await;
        assert!(target.starts_with(&format!("{uri}?code=")), "{target}");
        let q = query(&target);
        let response = redeem_at(&app, &native, &q["code"], &p.verifier, Some(uri)).await;
        assert_eq!(response.status(), 200, "{uri}");
    }
    let grants = app.grant_count().await;

    // Case 25 (loopback-port-only): only the port; not the query, path, scheme or case.
    assert_redirects_refused(
        &app,
        &native,
        &[
            "http://127.0.0.1:5000/callback?bar=foo",
            "http://127.0.0.1:5000/other",
            "https://127.0.0.1:5000/callback",
            "http://127.0.0.1:5000/callback/",
            "http://127.0.0.1:5000/Callback",
            "http://127.0.0.1:5000/callback#x",
            "http://[::1]:5000/callback?bar=foo",
        ],
    )
    .await;

    // Case 26 (loopback-lookalikes): other spellings of the loopback host, other loopback
    // addresses and hosts that merely start like one are all other URIs.
    assert_redirects_refused(
        &app,
        &native,
        &[
            "http://127.0.0.1.evil.com:80/callback",
            "http://127.0.0.1.evil.com/callback",
            "http://127.1/callback",
            "http://0x7f000001/callback",
            "http://2130706433/callback",
            "http://0177.0.0.1/callback",
            "http://127.0.0.1./callback",
            "http://127.0.0.2/callback",
            "http://[::ffff:127.0.0.1]/callback",
            "http://[0:0:0:0:0:0:0:1]/callback",
            "http://localhost/callback",
        ],
    )
    .await;

    // Case 27 (localhost-policy): the documented policy (README: "for http on 127.0.0.1,
    // [::1] or localhost only the port may differ"). A self-registered client with
    // http://localhost/callback, like VS Code or Claude Code, may use any port; its consent
    // page carries the unverified-application warning naming `localhost`.
    let ide = register_public(&app, &["http://localhost/callback"]).await;
    let moved = "http://localhost:54321/callback";
    let url = authorize_url(&app, &ide, &p.challenge, &[("redirect_uri", moved)]);
    let page = browser.get(&url).await;
    assert_eq!(page.status(), 200, "the consent page");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("This application has not been verified"),
        "{html}"
    );
    assert!(
        html.contains("<strong class=\"mono\">localhost</strong>"),
        "{html}"
    );
    assert!(
        html.contains("Registered itself with this server"),
        "{html}"
    );
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("decision", "approve".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let approved = browser
        .post(&format!("{}/consent", app.issuer), &form)
        .await;
    assert_eq!(approved.status(), 303);
    let target = location(&approved);
    assert!(target.starts_with(&format!("{moved}?code=")), "{target}");
    let q = query(&target);
    let response = redeem_at(&app, &ide, &q["code"], &p.verifier, Some(moved)).await;
    assert_eq!(response.status(), 200);
    assert_redirects_refused(
        &app,
        &ide,
        &[
            "http://127.0.0.1:54321/callback",
            "http://[::1]:54321/callback",
            "http://LOCALHOST:54321/callback",
            "http://localhost.evil.example:54321/callback",
            "https://localhost:54321/callback",
            "http://localhost:54321/callback/",
        ],
    )
    .await;
    assert_eq!(app.grant_count().await, grants + 1, "the IDE's grant only");
}

#[tokio::test]
async fn registration_refuses_script_schemes_and_plain_http_redirect_uris() {
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    // Case 30 (dangerous-scheme-registration): whatever the case, leading space or control
    // characters inside the scheme.
    // Case 32 (http-nonloopback-registration): plain http only on a loopback host.
    for uri in [
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\u{1}javascript:alert(1)",
        "JAVASCRIPT://app.example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "http://app.example.com/cb",
        "http://127.0.0.1.evil.com/cb",
        "http://localhost.evil.example/cb",
        "http://10.0.0.1/cb",
        "http:/app.example.com/cb",
    ] {
        let response = post_register(
            &app,
            &json!({"client_name": "Evil", "redirect_uris": [uri], "token_endpoint_auth_method": "none"}),
        )
        .await;
        assert_eq!(response.status(), 400, "{uri:?}");
        assert_oauth_error(response, 400, "invalid_redirect_uri").await;
    }
    let (status, page) = app
        .admin_call(
            &admin_token,
            Method::GET,
            "/clients?registration=dynamic",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn registration_refuses_userinfo_in_redirect_uris() {
    let app = spawn_app().await;
    // Case 28 (userinfo-at-trick), at registration.
    // Userinfo only misleads (`app.example.com@evil.example.com` goes to evil.example.com):
    // refused by the check the admin API shares (found by this sweep).
    let mut accepted = Vec::new();
    for uri in [
        "https://app.example.com@evil.example.com/cb",
        "https://user@app.example.com/cb",
        "https://user:pw@app.example.com/cb",
        "http://user@127.0.0.1/callback",
    ] {
        let response = post_register(
            &app,
            &json!({"client_name": "Userinfo", "redirect_uris": [uri], "token_endpoint_auth_method": "none"}),
        )
        .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if status != 400 || body["error"] != "invalid_redirect_uri" {
            accepted.push(format!("{uri} -> {status} {body}"));
        }
    }
    assert!(
        accepted.is_empty(),
        "redirect URIs with userinfo must be invalid_redirect_uri:\n{}",
        accepted.join("\n")
    );
}

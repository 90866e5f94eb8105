//! Hostile-input sweep, security.md §5 A–D (cases 1–20, 33–38): metadata and transport,
//! the authorization endpoint (untrusted requests, response types, state, resource,
//! prompt, consent, `iss`), and PKCE at `/authorize`. Redirect URI matching and
//! registration (cases 21–32) are `sweep::redirects`.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::register_public;
use crate::helpers::browser::{
    Browser, PASSWORD, REDIRECT, STATE, answer_consent, authorize, authorize_url, hidden,
    interactive, location, pkce, query, redeem_at, run_to_client, sign_in,
};
use crate::helpers::pages::assert_error_page;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app, spawn_app_with};

/// `helpers::pages::assert_error_redirect` (RFC 6749 §4.1.2.1, RFC 9207: 303 to
/// `browser::REDIRECT`, `error`, a description, `state`, `iss`, no code), and nothing else
/// that could carry a credential: no fragment, no access token.
fn assert_error_redirect(
    app: &TestApp,
    response: &reqwest::Response,
    code: &str,
) -> HashMap<String, String> {
    let q = crate::helpers::pages::assert_error_redirect(app, response, code);
    let target = location(response);
    assert!(!target.contains('#'), "no fragment: {target}");
    assert!(!q.contains_key("access_token"), "{target}");
    q
}

/// An /authorize URL with exactly these parameters, in this order.
fn raw_authorize_url(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.issuer)).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// A GET written byte for byte on a fresh connection (so the `Host` header is exactly
/// ours); returns the status, the head and the body.
async fn raw_get(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

/// Every string in a JSON value.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn metadata_is_fixed_https_and_no_plain_http_answer_is_a_redirect() {
    let issuer = "https://auth.example.com";
    let app = spawn_app_with(&[("WARDEN_ISSUER", issuer)]).await;
    assert_eq!(app.issuer, issuer);
    let own_host = format!("127.0.0.1:{}", app.port);

    // Case 1 (metadata-static-issuer): hostile Host and forwarding headers change nothing;
    // both documents are the same bytes and name no attacker host.
    let (status, _, honest) = raw_get(
        app.port,
        "/.well-known/oauth-authorization-server",
        &[("Host", &own_host)],
    )
    .await;
    assert_eq!(status, 200);
    let hostile: [&[(&str, &str)]; 3] = [
        &[("Host", "evil.example")],
        &[
            ("Host", "evil.example"),
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", "8443"),
            ("X-Forwarded-Prefix", "/evil"),
        ],
        &[
            ("Host", &own_host),
            ("Forwarded", "host=evil.example;proto=http"),
            ("X-Original-URL", "/evil"),
            ("X-Host", "evil.example"),
        ],
    ];
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        for headers in hostile {
            let (status, head, body) = raw_get(app.port, path, headers).await;
            assert_eq!(status, 200, "{path} {headers:?}: {head}");
            assert_eq!(body, honest, "{path} {headers:?}");
            assert!(!head.to_ascii_lowercase().contains("evil"), "{head}");
        }
    }

    // Case 2 (metadata-content): S256 only, code only, no implicit or password grant, RFC
    // 9207 iss advertised, a jwks_uri, and every URL absolute https under the issuer.
    let metadata: Value = serde_json::from_slice(&honest).unwrap();
    assert_eq!(metadata["issuer"], issuer);
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(metadata["response_modes_supported"], json!(["query"]));
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(metadata["jwks_uri"], format!("{issuer}/jwks.json"));
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("authorization_code")), "{grants:?}");
    for legacy in ["implicit", "password"] {
        assert!(!grants.contains(&json!(legacy)), "{grants:?}");
    }
    for (name, value) in metadata.as_object().unwrap() {
        if name.ends_with("_endpoint") || name.ends_with("_uri") {
            let url = value.as_str().unwrap();
            assert!(url.starts_with(&format!("{issuer}/")), "{name} = {url}");
        }
    }
    let mut all = Vec::new();
    strings(&metadata, &mut all);
    assert!(
        all.iter().all(|s| !s.starts_with("http://")),
        "no plain-http URL: {all:?}"
    );

    // Case 3 (no-http-credentials): Warden has no TLS listener of its own (TLS ends at the
    // proxy in front of it), so the check is that no answer to a credential-bearing request
    // is ever a redirect that would make a client resend them, and that with an https
    // issuer every response carries HSTS, so browsers never try plain http.
    let hsts = "max-age=31536000; includeSubDomains";
    let admin = app.admin_client().await;
    let resource = format!("{issuer}/admin");
    let good = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", &resource),
            ],
            Some(&admin),
        )
        .await;
    let wrong_secret = TestClient {
        client_id: admin.client_id.clone(),
        client_secret: "not-the-secret".into(),
    };
    let bad = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&wrong_secret),
        )
        .await;
    let get_token = app.get("/token").await;
    let metadata_response = app.get("/.well-known/oauth-authorization-server").await;
    let authorize_page = app.get("/authorize?client_id=nope").await;
    let login_page = app.get("/login").await;
    for (what, response) in [
        ("POST /token", &good),
        ("POST /token, wrong secret", &bad),
        ("GET /token", &get_token),
        ("metadata", &metadata_response),
        ("GET /authorize", &authorize_page),
        ("GET /login", &login_page),
    ] {
        assert!(!response.status().is_redirection(), "{what}");
        assert!(response.headers().get("location").is_none(), "{what}");
        assert_eq!(
            response.headers()["strict-transport-security"],
            hsts,
            "{what}"
        );
    }
    assert_eq!(good.status(), 200);
    assert_eq!(get_token.status(), 405);
    assert_oauth_error(bad, 401, "invalid_client").await;
}

#[tokio::test]
async fn untrusted_authorization_requests_get_pages_and_authorize_is_same_origin_only() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();

    // Case 4 (cors-authorize-none): the browser endpoints never answer cross-origin,
    // neither the preflight nor the request itself (/token and the JWKS do: see
    // discovery::browser_clients_may_call_public_endpoints_cross_origin_but_not_the_admin_api).
    let valid = authorize_url(&app, &setup.client, &p.challenge, &[]);
    for url in [
        format!("{}/authorize", app.issuer),
        format!("{}/authorize/continue", app.issuer),
        format!("{}/consent", app.issuer),
        format!("{}/login", app.issuer),
    ] {
        let preflight = app
            .http
            .request(Method::OPTIONS, &url)
            .header("origin", "https://x")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(!preflight.status().is_success(), "{url}");
        for header in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-credentials",
        ] {
            assert!(preflight.headers().get(header).is_none(), "{url}: {header}");
        }
    }
    let cross = app
        .http
        .get(&valid)
        .header("origin", "https://x")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 303);
    assert!(cross.headers().get("access-control-allow-origin").is_none());
    // Case 3 (no-http-credentials), the other half: no HSTS with a plain-http loopback issuer.
    assert!(cross.headers().get("strict-transport-security").is_none());

    // Case 5 (unknown-client): an unknown client with an attacker's redirect: a page that
    // does not even link to the attacker.
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("client_id", "nope"), ("redirect_uri", "https://evil/cb")],
    );
    let html = assert_error_page(Browser::new().get(&url).await, 400).await;
    assert!(html.contains("Unknown application"), "{html}");
    assert!(!html.contains("evil"), "{html}");

    // Case 6 (missing-redirect-multi): two registered URIs and none sent: a page.
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("redirect_uri", "")]);
    let html = assert_error_page(Browser::new().get(&url).await, 400).await;
    assert!(html.contains("redirect_uri is required"), "{html}");
    // With exactly one registered URI, Warden defaults to it (README), and the token
    // request may then omit redirect_uri too.
    let single = app
        .create_client(
            &setup.admin_token,
            json!({"name": "Single", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT]}),
        )
        .await;
    let url = authorize_url(&app, &single, &p.challenge, &[("redirect_uri", "")]);
    let q = authorize(&app, &mut Browser::new(), &url, "alice").await;
    assert_eq!(q["iss"], app.issuer);
    let response = redeem_at(&app, &single, &q["code"], &p.verifier, None).await;
    assert_eq!(response.status(), 200);
    let grants = app.grant_count().await;

    // Case 10 (duplicate-param-rejected): any repeated parameter, even with the same value,
    // is refused before anything else: a page (the redirect_uri itself may be the
    // repeated one), by GET and by POST.
    let own_state = STATE.to_owned();
    for (name, value) in [
        ("redirect_uri", REDIRECT),
        ("redirect_uri", "https://app.example.com/cb"),
        ("client_id", setup.client.client_id.as_str()),
        ("response_type", "code"),
        ("state", own_state.as_str()),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ] {
        let extra = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value)
            .finish();
        let html =
            assert_error_page(Browser::new().get(&format!("{valid}&{extra}")).await, 400).await;
        assert!(
            html.contains(&format!("the {name} parameter is repeated")),
            "{html}"
        );
    }
    let mut form: Vec<(String, String)> = url::Url::parse(&valid)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("redirect_uri".into(), "https://app.example.com/cb".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let posted = Browser::new()
        .post(&format!("{}/authorize", app.issuer), &form)
        .await;
    let html = assert_error_page(posted, 400).await;
    assert!(
        html.contains("redirect_uri parameter is repeated"),
        "{html}"
    );

    // Case 33 (error-never-to-unregistered): an unregistered redirect wins over every other
    // error: the page, never a redirect carrying the other error.
    let others: [&[(&str, &str)]; 7] = [
        &[("scope", "admin:all")],
        &[("response_type", "token")],
        &[("response_type", "")],
        &[("code_challenge", "")],
        &[("code_challenge_method", "plain")],
        &[("prompt", "none")],
        &[("resource", "https://unknown.example.com")],
    ];
    for extra in others {
        let mut pairs = vec![("redirect_uri", "https://evil.example.com/cb")];
        pairs.extend_from_slice(extra);
        let url = authorize_url(&app, &setup.client, &p.challenge, &pairs);
        let html = assert_error_page(Browser::new().get(&url).await, 400).await;
        assert!(
            html.contains("Invalid redirect address"),
            "{extra:?}: {html}"
        );
    }
    assert_eq!(
        app.grant_count().await,
        grants,
        "no refused request wrote a grant"
    );
}

#[tokio::test]
async fn response_type_state_resource_and_unknown_parameters_behave_the_same_by_get_and_post() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let p = pkce();

    // Case 7 (response-type-token-rejected): any response type but code is refused with a
    // query redirect: no fragment, no token, no code.
    for response_type in ["token", "code token", "id_token", "code id_token", "CODE"] {
        let url = authorize_url(
            &app,
            &setup.client,
            &p.challenge,
            &[("response_type", response_type)],
        );
        let response = Browser::new().get(&url).await;
        assert_error_redirect(&app, &response, "unsupported_response_type");
        assert!(!location(&response).contains("token="), "{response_type}");
    }

    // Case 8 (response-type-missing).
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("response_type", "")]);
    let response = Browser::new().get(&url).await;
    let q = assert_error_redirect(&app, &response, "invalid_request");
    assert!(q["error_description"].contains("response_type"), "{q:?}");

    // Case 19 (resource-required-and-registered): unregistered, with a fragment, relative,
    // with credentials, or more than one: invalid_target.
    for resource in [
        "https://unregistered.example/mcp",
        "https://mcp.example.com/#frag",
        "https://mcp.example.com#",
        "mcp.example.com",
        "https://user@mcp.example.com/",
    ] {
        let url = authorize_url(&app, &setup.client, &p.challenge, &[("resource", resource)]);
        let response = Browser::new().get(&url).await;
        assert_error_redirect(&app, &response, "invalid_target");
    }
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let two = format!("{url}&resource=https%3A%2F%2Fother.example.com");
    assert_error_redirect(&app, &Browser::new().get(&two).await, "invalid_target");

    // Case 9 (unknown-param-ignored) and case 15 (long-state): unknown parameters change
    // nothing, and a 2,000-character state full of reserved characters comes back whole.
    let alphabet: Vec<char> = "aZ09-._~ +/=?&#%\"<>'é".chars().collect();
    let long_state: String = (0..2000).map(|i| alphabet[i % alphabet.len()]).collect();
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[
            ("state", &long_state),
            ("extra", "foobar"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("ui_locales", "fr"),
        ],
    );
    let mut browser = Browser::new();
    let target = run_to_client(&app, &mut browser, &url, "alice").await;
    assert!(target.starts_with(&format!("{REDIRECT}?code=")), "{target}");
    let q = query(&target);
    assert_eq!(q["state"], long_state, "echoed byte for byte");
    assert_eq!(q["iss"], app.issuer);
    assert!(!q.contains_key("extra") && !q.contains_key("nonce"));
    let response = redeem_at(&app, &setup.client, &q["code"], &p.verifier, Some(REDIRECT)).await;
    assert_eq!(response.status(), 200);
    // The longest accepted state (4096 characters) is echoed whole too; a longer one is
    // refused, never cut short.
    let longest = "s".repeat(4096);
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("state", &longest)]);
    let response = browser.get(&url).await;
    assert_eq!(response.status(), 303);
    assert_eq!(query(&location(&response))["state"], longest);
    let too_long = "s".repeat(4097);
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("state", &too_long)]);
    let response = browser.get(&url).await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(target.starts_with(&format!("{REDIRECT}?")), "{target}");
    let q = query(&target);
    assert_eq!(q["error"], "invalid_request");
    assert!(!q.contains_key("state") && !q.contains_key("code"), "{q:?}");
    assert_eq!(q["iss"], app.issuer);

    // Case 20 (authorize-get-and-post): the same request as a form POST behaves as the GET.
    let valid = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let form = |url: &str| -> Vec<(String, String)> {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    let endpoint = format!("{}/authorize", app.issuer);
    let pairs = form(&valid);
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut browser = Browser::new();
    let posted = browser.post(&endpoint, &pairs).await;
    assert_eq!(posted.status(), 303);
    assert!(location(&posted).starts_with("/login?request="));
    let login = browser.follow(&app, posted).await;
    // Consent was remembered by the flow above: signing in goes straight to the client.
    let back = sign_in(&app, &mut browser, login, "alice", PASSWORD).await;
    assert_eq!(back.status(), 303);
    let q = query(&location(&back));
    assert_eq!(q["state"], STATE);
    let response = redeem_at(&app, &setup.client, &q["code"], &p.verifier, Some(REDIRECT)).await;
    assert_eq!(response.status(), 200);
    // Errors by POST are the errors by GET.
    let bad_redirect = form(&authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("redirect_uri", "https://evil.example.com/cb")],
    ));
    let bad_redirect: Vec<(&str, &str)> = bad_redirect
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let html = assert_error_page(Browser::new().post(&endpoint, &bad_redirect).await, 400).await;
    assert!(html.contains("Invalid redirect address"), "{html}");
    let token_type = form(&authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("response_type", "token")],
    ));
    let token_type: Vec<(&str, &str)> = token_type
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = Browser::new().post(&endpoint, &token_type).await;
    assert_error_redirect(&app, &response, "unsupported_response_type");
    // Not a form, or another method: a clean 4xx, never a 5xx.
    let json_body = app
        .http
        .post(&endpoint)
        .json(&json!({"client_id": setup.client.client_id}))
        .send()
        .await
        .unwrap();
    assert_error_page(json_body, 400).await;
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let response = app
            .http
            .request(method.clone(), &valid)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
    }
}

#[tokio::test]
async fn sign_in_answers_303_and_prompt_none_or_a_bad_scope_never_leaks_a_code() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let self_registered = register_public(&app, &[REDIRECT]).await;
    let p = pkce();

    // Case 18 (login-post-uses-303), with case 11's first request: the scopes in the other
    // order and every parameter reordered.
    let reordered = raw_authorize_url(
        &app,
        &[
            ("scope", "mcp:write mcp:read"),
            ("state", STATE),
            ("resource", "https://mcp.example.com/"),
            ("code_challenge_method", "S256"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &p.challenge),
            ("client_id", &setup.client.client_id),
            ("response_type", "code"),
        ],
    );
    let mut browser = Browser::new();
    let first = browser.get(&reordered).await;
    assert_eq!(first.status(), 303);
    let to_login = location(&first);
    assert!(to_login.starts_with("/login?request="), "{to_login}");
    let page = browser.get(&app.url(&to_login)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let (csrf, request) = (hidden(&html, "csrf"), hidden(&html, "request"));
    let signed = browser
        .post(
            &format!("{}/login", app.issuer),
            &[
                ("csrf", csrf.as_str()),
                ("request", request.as_str()),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        signed.status(),
        303,
        "a POST is answered 303, never 307/308"
    );
    let next = location(&signed);
    assert!(next.starts_with("/authorize/continue?request="), "{next}");
    let consent = browser.get(&app.url(&next)).await;
    assert_eq!(consent.status(), 200);
    let approved = answer_consent(&app, &mut browser, consent, true).await;
    assert_eq!(approved.status(), 303, "the consent POST too");
    let q = query(&location(&approved));
    let first_token: Value =
        redeem_at(&app, &setup.client, &q["code"], &p.verifier, Some(REDIRECT))
            .await
            .json()
            .await
            .unwrap();
    let mut scopes: Vec<&str> = first_token["scope"].as_str().unwrap().split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["mcp:read", "mcp:write"]);

    // Case 11 (scope-order-irrelevant): the usual order is the same request: consent is
    // remembered, and the token belongs to the same grant with the same scope.
    let grants = app.grant_count().await;
    let usual = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let again = browser.get(&usual).await;
    assert_eq!(again.status(), 303, "no second consent page");
    let q = query(&location(&again));
    let second_token: Value =
        redeem_at(&app, &setup.client, &q["code"], &p.verifier, Some(REDIRECT))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(second_token["scope"], first_token["scope"]);
    let gid = |token: &Value| decode_claims(token["access_token"].as_str().unwrap())["gid"].clone();
    assert_eq!(gid(&second_token), gid(&first_token));
    assert_eq!(app.grant_count().await, grants);

    // Case 16 (prompt-none-no-session): login_required goes only to a registered URI; an
    // unregistered one gets the page, and so does a self-registered client before consent.
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("prompt", "none")]);
    assert_error_redirect(&app, &Browser::new().get(&url).await, "login_required");
    let url = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[
            ("prompt", "none"),
            ("redirect_uri", "https://evil.example.com/cb"),
        ],
    );
    assert_error_page(Browser::new().get(&url).await, 400).await;
    let url = authorize_url(&app, &self_registered, &p.challenge, &[("prompt", "none")]);
    let html = assert_error_page(Browser::new().get(&url).await, 400).await;
    assert!(html.contains("login_required"), "{html}");

    // Case 17 (prompt-none-no-consent): signed in, a client alice never approved:
    // consent_required and no code; a self-registered one gets the page.
    let other = app
        .create_client(
            &setup.admin_token,
            json!({"name": "Other IDE", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT]}),
        )
        .await;
    let url = authorize_url(&app, &other, &p.challenge, &[("prompt", "none")]);
    assert_error_redirect(&app, &browser.get(&url).await, "consent_required");
    let url = authorize_url(&app, &self_registered, &p.challenge, &[("prompt", "none")]);
    let html = assert_error_page(browser.get(&url).await, 400).await;
    assert!(html.contains("consent_required"), "{html}");
    // Case 12 (invalid-scope-after-auth): a self-registered client asking for a scope that
    // does not exist is never bounced straight back to its redirect URI: a page, signed in
    // or not; its valid request goes to Warden's sign-in page, not to the client.
    let url = authorize_url(
        &app,
        &self_registered,
        &p.challenge,
        &[("scope", "admin:all")],
    );
    let html = assert_error_page(Browser::new().get(&url).await, 400).await;
    assert!(html.contains("invalid_scope"), "{html}");
    let html = assert_error_page(browser.get(&url).await, 400).await;
    assert!(html.contains("invalid_scope"), "{html}");
    let url = authorize_url(&app, &self_registered, &p.challenge, &[]);
    let response = Browser::new().get(&url).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/login?request="));
    // An administrator-registered client does get the invalid_scope redirect.
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "admin:all")]);
    assert_error_redirect(&app, &browser.get(&url).await, "invalid_scope");
    assert_eq!(app.grant_count().await, grants, "nothing granted");
}

#[tokio::test]
async fn every_authorization_response_carries_the_exact_path_issuer() {
    let app = spawn_app_with(&[("WARDEN_ISSUER", "http://127.0.0.1:{port}/tenant")]).await;
    let setup = interactive(&app, false).await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server/tenant")
        .await;
    let issuer = metadata["issuer"].as_str().unwrap().to_owned();
    assert_eq!(issuer, format!("http://127.0.0.1:{}/tenant", app.port));
    let iss_of = |target: &str| -> String {
        let values: Vec<String> = url::Url::parse(target)
            .unwrap()
            .query_pairs()
            .filter(|(k, _)| k == "iss")
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(values.len(), 1, "one iss: {target}");
        values[0].clone()
    };
    let p = pkce();
    let grants = app.grant_count().await;

    // Case 13 (deny-consent): 303 to the registered URI with access_denied, state and iss;
    // no grant, and the denied request cannot be approved afterwards.
    let mut browser = Browser::new();
    let first = browser
        .get(&authorize_url(&app, &setup.client, &p.challenge, &[]))
        .await;
    let login = browser.follow(&app, first).await;
    let consent = sign_in(&app, &mut browser, login, "alice", PASSWORD).await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    let (csrf, request) = (hidden(&html, "csrf"), hidden(&html, "request"));
    let answer = |decision: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("request", request.clone()),
            ("decision", decision.to_owned()),
        ]
    };
    let consent_url = format!("{}/consent", app.issuer);
    let deny = answer("deny");
    let deny: Vec<(&str, &str)> = deny.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let denied = browser.post(&consent_url, &deny).await;
    assert_eq!(denied.status(), 303);
    let target = location(&denied);
    assert!(target.starts_with(&format!("{REDIRECT}?")), "{target}");
    let q = query(&target);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], STATE);
    assert!(!q.contains_key("code"));
    // Case 14 (iss-on-every-response), (b): access_denied.
    assert_eq!(iss_of(&target), issuer);
    assert_eq!(app.grant_count().await, grants);
    let approve = answer("approve");
    let approve: Vec<(&str, &str)> = approve.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let late = browser.post(&consent_url, &approve).await;
    assert_error_page(late, 400).await;
    assert_eq!(app.grant_count().await, grants, "no code, no grant");

    // Case 14 (iss-on-every-response): (a) success, (c) invalid_scope, and the prompt=none
    // errors; each iss exactly the metadata issuer, path and all, nothing appended.
    let url = authorize_url(&app, &setup.client, &p.challenge, &[]);
    let target = run_to_client(&app, &mut browser, &url, "alice").await;
    assert!(query(&target).contains_key("code"));
    assert_eq!(iss_of(&target), issuer);
    let url = authorize_url(&app, &setup.client, &p.challenge, &[("scope", "mcp:admin")]);
    let response = browser.get(&url).await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert_eq!(query(&target)["error"], "invalid_scope");
    assert_eq!(iss_of(&target), issuer);
    let more = authorize_url(
        &app,
        &setup.client,
        &p.challenge,
        &[("prompt", "none"), ("scope", "mcp:read mcp:write")],
    );
    let response = browser.get(&more).await;
    let target = location(&response);
    assert_eq!(query(&target)["error"], "consent_required");
    assert_eq!(iss_of(&target), issuer);
    let response = Browser::new().get(&more).await;
    let target = location(&response);
    assert_eq!(query(&target)["error"], "login_required");
    assert_eq!(iss_of(&target), issuer);
}

#[tokio::test]
async fn authorize_requires_a_well_formed_s256_challenge_from_every_client() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let confidential = app
        .create_client(
            &setup.admin_token,
            json!({"name": "Confidential IDE", "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT]}),
        )
        .await;
    assert!(setup.client.client_secret.is_empty(), "a public client");
    let self_registered = register_public(&app, &[REDIRECT]).await;
    let grants = app.grant_count().await;
    let p = pkce();
    let c = p.challenge.as_str();

    // Case 34 (pkce-required-public): public and confidential alike; a self-registered
    // client gets the page (before its consent screen).
    let missing: [&[(&str, &str)]; 2] = [
        &[("code_challenge", "")],
        &[("code_challenge", ""), ("code_challenge_method", "")],
    ];
    for client in [&setup.client, &confidential] {
        for extra in missing {
            let url = authorize_url(&app, client, c, extra);
            let response = Browser::new().get(&url).await;
            let q = assert_error_redirect(&app, &response, "invalid_request");
            assert!(q["error_description"].contains("code_challenge"), "{q:?}");
        }
    }
    let url = authorize_url(&app, &self_registered, c, &[("code_challenge", "")]);
    let html = assert_error_page(Browser::new().get(&url).await, 400).await;
    assert!(html.contains("invalid_request"), "{html}");

    // Case 36 (pkce-unknown-method): methods are compared exactly.
    for method in ["S512", "s256", "SHA256", "S256 ", "none"] {
        let url = authorize_url(&app, &setup.client, c, &[("code_challenge_method", method)]);
        let response = Browser::new().get(&url).await;
        let q = assert_error_redirect(&app, &response, "invalid_request");
        assert!(q["error_description"].contains("must be S256"), "{q:?}");
    }

    // Case 37 (pkce-missing-method-defaults): no method means plain (RFC 7636 §4.3), which
    // is refused, and the description says so.
    let url = authorize_url(&app, &setup.client, c, &[("code_challenge_method", "")]);
    let response = Browser::new().get(&url).await;
    let q = assert_error_redirect(&app, &response, "invalid_request");
    assert!(q["error_description"].contains("plain"), "{q:?}");

    // Case 38 (pkce-malformed-challenge): exactly 43 base64url characters.
    let standard = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(p.verifier.as_bytes()))
    };
    for bad in [
        c[..42].to_owned(),
        format!("{c}A"),
        format!("{}+", &c[..42]),
        format!("{}/", &c[..42]),
        format!("{}=", &c[..42]),
        format!("{c}="),
        format!("{} ", &c[..42]),
        format!("{}.", &c[..42]),
        "A".repeat(128),
        standard,
    ] {
        let url = authorize_url(&app, &setup.client, &bad, &[]);
        let response = Browser::new().get(&url).await;
        let q = assert_error_redirect(&app, &response, "invalid_request");
        assert!(
            q["error_description"].contains("43-character"),
            "{bad}: {q:?}"
        );
    }
    // The well-formed challenge itself is accepted (on to sign-in).
    let url = authorize_url(&app, &setup.client, c, &[]);
    let response = Browser::new().get(&url).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/login?request="));
    assert_eq!(app.grant_count().await, grants, "nothing granted");
}

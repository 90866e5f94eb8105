//! MCP clients that register themselves: Client ID Metadata Documents (fetched from a
//! loopback document server with `WARDEN_DEV_ALLOW_LOOPBACK_FETCH`), dynamic registration
//! (RFC 7591) and its management protocol (RFC 7592), the clean-up of abandoned
//! registrations, and `private_key_jwt` client authentication (RFC 7523).

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{HS256, JwsHeader};
use reqwest::Method;
use serde_json::{Value, json};
use warden::domain::{AuthMethod, Registration};

use crate::helpers::assertions::{claims, es256_key, now, redeem_with_assertion, sign_es256};
use crate::helpers::browser::{
    Browser, PASSWORD, REDIRECT, authorize, authorize_url, hidden, interactive, location, pkce,
    query, redeem, sign_in,
};
use crate::helpers::clients::{
    NOT_RETRIEVED, assert_no_null, document, dynamic_clients, post_register, public, register,
};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::pages::assert_bad_request_page;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app, spawn_app_with};

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");

// ---------------------------------------------------------------------------------------
// A loopback HTTP server for metadata documents and JWK sets.

// ---------------------------------------------------------------------------------------
// Browser and registration helpers.

/// Starts an authorization, signs in when asked, and returns the consent page's HTML.
async fn consent_page(app: &TestApp, browser: &mut Browser, url: &str) -> String {
    let first = browser.get(url).await;
    let mut response = browser.follow(app, first).await;
    if response.status() == 200 && response.url().path().ends_with("/login") {
        response = sign_in(app, browser, response, "alice", PASSWORD).await;
    }
    assert_eq!(response.status(), 200, "expected the consent page");
    let html = response.text().await.unwrap();
    assert!(html.contains("name=\"decision\""), "{html}");
    html
}

/// Approves on a consent page; returns the query of the redirect to the client.
async fn approve(app: &TestApp, browser: &mut Browser, html: &str) -> HashMap<String, String> {
    let csrf = hidden(html, "csrf");
    let request = hidden(html, "request");
    let form = [
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("decision", "approve"),
    ];
    let response = browser
        .post(&format!("{}/consent", app.issuer), &form)
        .await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(target.starts_with(REDIRECT), "{target}");
    query(&target)
}

/// Metadata of a native application returning to `browser::REDIRECT`.
fn native(method: Option<&str>) -> Value {
    let mut body = json!({
        "client_name": "Native App",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "application_type": "native",
    });
    if let Some(m) = method {
        body["token_endpoint_auth_method"] = m.into();
    }
    body
}

// ---------------------------------------------------------------------------------------
// A. Client ID Metadata Documents.

#[tokio::test]
async fn a_metadata_document_client_completes_the_flow_after_an_unverified_warning() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let client = public(&client_id);

    let p = pkce();
    let url = authorize_url(&app, &client, &p.challenge, &[("scope", "mcp:read")]);
    let mut browser = Browser::new();
    let html = consent_page(&app, &mut browser, &url).await;
    assert!(html.contains("has not been verified"), "{html}");
    assert!(
        html.contains("Identified only by a metadata document"),
        "{html}"
    );
    assert!(html.contains("Doc Client"), "{html}");
    assert!(html.contains(&client_id), "{html}");
    let stored = app.state.store.client(&client_id).await.unwrap().unwrap();
    assert_eq!(stored.registration, Registration::MetadataDocument);
    assert_eq!(stored.token_endpoint_auth_method, AuthMethod::None);

    let answer = approve(&app, &mut browser, &html).await;
    assert_eq!(answer["state"], "xyz-state");
    assert_eq!(answer["iss"], app.issuer);
    let response = redeem(&app, &client, &answer["code"], &p.verifier).await;
    let status = response.status();
    let token: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "mcp:read");
    let introspected = app
        .introspect(&setup.server, token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["client_id"], client_id);
    assert_eq!(introspected["aud"], "https://mcp.example.com");
}

#[tokio::test]
async fn a_trusted_domain_drops_the_warning_and_a_blocked_domain_is_refused() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let client = public(&client_id);
    let p = pkce();
    let url = authorize_url(&app, &client, &p.challenge, &[("scope", "mcp:read")]);

    let (status, body) = app
        .admin_call(
            &setup.admin_token,
            Method::PUT,
            "/metadata-domains/127.0.0.1",
            Some(json!({"policy": "trusted"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut browser = Browser::new();
    let html = consent_page(&app, &mut browser, &url).await;
    assert!(!html.contains("has not been verified"), "{html}");
    assert!(html.contains("Published by a domain this server"), "{html}");

    let (status, body) = app
        .admin_call(
            &setup.admin_token,
            Method::PUT,
            "/metadata-domains/127.0.0.1",
            Some(json!({"policy": "blocked"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let hits = docs.hits();
    let page = assert_bad_request_page(browser.get(&url).await).await;
    assert!(page.contains("blocked"), "{page}");
    assert_eq!(docs.hits(), hits, "a blocked domain is not even fetched");
}

#[tokio::test]
async fn an_admin_can_disable_a_metadata_document_client() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let _setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let client = public(&client_id);
    let p = pkce();
    let url = authorize_url(&app, &client, &p.challenge, &[("scope", "mcp:read")]);
    let mut browser = Browser::new();
    consent_page(&app, &mut browser, &url).await;

    let output = app.cli(&["client", "disable", &client_id]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = assert_bad_request_page(browser.get(&url).await).await;
    assert!(page.contains("disabled"), "{page}");
}

#[tokio::test]
async fn bad_metadata_documents_and_client_id_urls_give_error_pages() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let p = pkce();

    let padded = |id: &str| {
        let mut doc = document(id);
        doc["padding"] = "x".repeat(6 * 1024).into();
        doc
    };
    type Make = Box<dyn Fn(&str) -> Doc>;
    let mut cases: Vec<(&str, &str, Make)> = vec![
        (
            "/large.json",
            NOT_RETRIEVED,
            Box::new(move |id| Doc::json(&padded(id))),
        ),
        (
            "/large-unannounced.json",
            NOT_RETRIEVED,
            Box::new(move |id| Doc::json(&padded(id)).without_length()),
        ),
        (
            "/slow.json",
            NOT_RETRIEVED,
            Box::new(|id| Doc::json(&document(id)).delay(Duration::from_secs(7))),
        ),
        (
            "/html.json",
            "not JSON",
            Box::new(|_| Doc::raw("text/html", "<html><body>hello</body></html>")),
        ),
        (
            "/missing.json",
            NOT_RETRIEVED,
            Box::new(|id| Doc::json(&document(id)).status(404)),
        ),
        (
            "/other.json",
            "differs from the URL",
            Box::new(|id| Doc::json(&document(&id.replace("/other.json", "/someone-else.json")))),
        ),
        (
            "/javascript.json",
            "forbidden scheme",
            Box::new(|id| {
                let mut doc = document(id);
                doc["redirect_uris"] = json!([REDIRECT, "javascript:alert(1)"]);
                Doc::json(&doc)
            }),
        ),
        (
            "/secret.json",
            "must not carry a client_secret",
            Box::new(|id| {
                let mut doc = document(id);
                doc["client_secret"] = "s3cret".into();
                Doc::json(&doc)
            }),
        ),
    ];
    let good = docs.url("/good.json");
    docs.serve("/good.json", Doc::json(&document(&good)));
    cases.push((
        "/redirect.json",
        NOT_RETRIEVED,
        Box::new(move |_| Doc::redirect(&good)),
    ));

    for (path, reason, make) in &cases {
        let client_id = docs.url(path);
        docs.serve(path, make(&client_id));
        let url = authorize_url(&app, &public(&client_id), &p.challenge, &[]);
        let started = std::time::Instant::now();
        let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
        assert!(page.contains("cannot be used"), "{path}: {page}");
        assert!(page.contains(reason), "{path}: {reason}: {page}");
        if *path == "/slow.json" {
            assert!(
                started.elapsed() < Duration::from_secs(7),
                "the fetch gives up after its time limit"
            );
        }
        assert!(
            app.state.store.client(&client_id).await.unwrap().is_none(),
            "{path}: nothing stored"
        );
    }

    // The client_id URL itself is checked before anything is fetched.
    docs.serve(
        "/client.json",
        Doc::json(&document(&docs.url("/client.json"))),
    );
    let hits = docs.hits();
    for (client_id, reason) in [
        (docs.url("/client.json#fragment"), "fragment"),
        (docs.url("/client.json?x=1"), "query"),
    ] {
        let url = authorize_url(&app, &public(&client_id), &p.challenge, &[]);
        let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
        assert!(page.contains(reason), "{client_id}: {page}");
    }
    assert_eq!(
        docs.hits(),
        hits,
        "malformed client_id URLs are not fetched"
    );
}

#[tokio::test]
async fn the_document_size_limit_holds_even_for_a_url_fetched_before_as_a_key_set() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    // A 6 KB metadata document: over the 5 KB limit for documents, under the 64 KB one
    // for key sets.
    let big = docs.url("/big.json");
    let mut doc = document(&big);
    doc["padding"] = "x".repeat(6 * 1024).into();
    docs.serve("/big.json", Doc::json(&doc));

    // A registered client names it as its jwks_uri; authenticating makes Warden fetch it.
    let key = es256_key("k");
    let mut metadata = native(Some("private_key_jwt"));
    metadata["jwks_uri"] = big.clone().into();
    let client_id = register(&app, &metadata).await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = now(&app);
    let assertion = sign_es256(&key, &claims(&client_id, &app.issuer, Some(now + 60), now));
    let response = redeem_with_assertion(&app, &client_id, "code", "verifier", &assertion).await;
    assert_eq!(response.status(), 401, "not a key set");
    assert_eq!(docs.hits(), 1);

    // As a client_id, the same URL must still be held to the document limit.
    let p = pkce();
    let url = authorize_url(&app, &public(&big), &p.challenge, &[]);
    let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
    assert!(page.contains(NOT_RETRIEVED), "{page}");
}

#[tokio::test]
async fn loopback_documents_are_refused_without_the_development_setting() {
    let docs = DocServer::start().await;
    let app = spawn_app().await;
    interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let p = pkce();
    let url = authorize_url(&app, &public(&client_id), &p.challenge, &[]);
    assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
    assert_eq!(docs.hits(), 0, "nothing was fetched");
    assert!(app.state.store.client(&client_id).await.unwrap().is_none());
}

#[tokio::test]
async fn metadata_advertises_documents_registration_and_private_key_jwt() {
    let app = spawn_app().await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(metadata["client_id_metadata_document_supported"], true);
    assert_eq!(
        metadata["registration_endpoint"],
        format!("{}/register", app.issuer)
    );
    let methods: Vec<&str> = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(methods.contains(&"private_key_jwt"), "{methods:?}");
    let algs: Vec<&str> = metadata["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!algs.is_empty());
    assert!(!algs.contains(&"none"), "{algs:?}");
    assert!(!algs.contains(&"HS256"), "{algs:?}");
    assert!(algs.contains(&"ES256"), "{algs:?}");
}

// ---------------------------------------------------------------------------------------
// B. Dynamic client registration.

#[tokio::test]
async fn a_public_client_registers_like_the_typescript_sdk() {
    let app = spawn_app().await;
    let response = post_register(
        &app,
        &json!({
            "client_name": "MCP Inspector",
            "redirect_uris": ["http://localhost:6274/oauth/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
            "scope": "mcp:read",
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_no_null(&body, &body);
    let client_id = body["client_id"].as_str().unwrap();
    assert!(!client_id.is_empty());
    assert!(body["client_id_issued_at"].is_i64(), "{body}");
    assert_eq!(
        body["redirect_uris"],
        json!(["http://localhost:6274/oauth/callback"])
    );
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["client_name"], "MCP Inspector");
    assert_eq!(body["scope"], "mcp:read");
    assert!(
        body["registration_access_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 32),
        "{body}"
    );
    assert_eq!(
        body["registration_client_uri"],
        format!("{}/register/{client_id}", app.issuer)
    );
    assert!(body.get("client_secret").is_none(), "{body}");
    assert!(body.get("client_secret_expires_at").is_none(), "{body}");
    let stored = app.state.store.client(client_id).await.unwrap().unwrap();
    assert_eq!(stored.registration, Registration::Dynamic);
    assert_eq!(stored.secret_hash, None);
}

#[tokio::test]
async fn a_registration_without_an_auth_method_gets_a_secret_and_may_step_up_its_scope() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let mut metadata = native(None);
    metadata["scope"] = "mcp:read".into();
    let body = register(&app, &metadata).await;
    assert_no_null(&body, &body);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["client_secret_expires_at"], 0);
    let client = TestClient::from_view(&body);
    assert!(!client.client_secret.is_empty(), "{body}");

    // Registered with mcp:read, authorized for more: the scope is not a ceiling.
    let p = pkce();
    let url = authorize_url(
        &app,
        &client,
        &p.challenge,
        &[("scope", "mcp:read mcp:write")],
    );
    let mut browser = Browser::new();
    let html = consent_page(&app, &mut browser, &url).await;
    assert!(html.contains("has not been verified"), "{html}");
    assert!(
        html.contains("Registered itself with this server"),
        "{html}"
    );
    let answer = approve(&app, &mut browser, &html).await;
    let response = redeem(&app, &client, &answer["code"], &p.verifier).await;
    let status = response.status();
    let token: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "mcp:read mcp:write");
    assert!(token["refresh_token"].is_string(), "{token}");
    let introspected = app
        .introspect(&setup.server, token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["client_id"], client.client_id);
}

#[tokio::test]
async fn invalid_registrations_get_exact_errors_and_store_nothing() {
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let with = |extra: Value| {
        let mut body = native(Some("none"));
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let many: Vec<String> = (0..1000).map(|i| format!("https://x/{i}")).collect();
    for (body, code) in [
        (
            with(json!({"redirect_uris": ["javascript:alert(1)"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://app.example.com/cb#frag"]})),
            "invalid_redirect_uri",
        ),
        (with(json!({"redirect_uris": many})), "invalid_redirect_uri"),
        (
            with(json!({"application_type": "web", "redirect_uris": ["http://localhost:3000/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"grant_types": ["client_credentials"]})),
            "invalid_client_metadata",
        ),
    ] {
        assert!(
            body.to_string().len() < 16 * 1024,
            "stays under the size limit"
        );
        assert_oauth_error(post_register(&app, &body).await, 400, code).await;
    }

    let raw = |content_type: &'static str, body: String| {
        app.http
            .post(format!("{}/register", app.issuer))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let not_json = raw("application/json", "{\"redirect_uris\": [".into())
        .await
        .unwrap();
    assert_oauth_error(not_json, 400, "invalid_client_metadata").await;
    let mut huge = native(Some("none"));
    huge["software_id"] = "x".repeat(17 * 1024).into();
    let too_big = raw("application/json", huge.to_string()).await.unwrap();
    assert_oauth_error(too_big, 413, "invalid_client_metadata").await;
    let plain = raw("text/plain", native(Some("none")).to_string())
        .await
        .unwrap();
    assert_oauth_error(plain, 400, "invalid_client_metadata").await;
    let form = raw(
        "application/x-www-form-urlencoded",
        "redirect_uris=https%3A%2F%2Fapp.example.com%2Fcb".into(),
    )
    .await
    .unwrap();
    assert_oauth_error(form, 400, "invalid_client_metadata").await;

    assert_eq!(
        dynamic_clients(&app, &admin_token).await,
        Vec::<Value>::new(),
        "nothing partial was stored"
    );
}

#[tokio::test]
async fn the_registration_access_token_reads_updates_and_deletes_the_client() {
    let app = spawn_app().await;
    let registered = register(&app, &native(Some("none"))).await;
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = registered["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let call = |method: Method, bearer: &str, body: Option<&Value>| {
        let mut request = app.http.request(method, &uri).bearer_auth(bearer);
        if let Some(b) = body {
            request = request.json(b);
        }
        request.send()
    };

    // Read: the same metadata as at registration, minus the credentials.
    let response = call(Method::GET, &token, None).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let read: Value = response.json().await.unwrap();
    let mut expected = registered.clone();
    expected
        .as_object_mut()
        .unwrap()
        .remove("registration_access_token");
    assert_eq!(read, expected);

    // A wrong token: 401 with a Bearer challenge.
    let wrong = call(Method::GET, "not-the-token", None).await.unwrap();
    assert_eq!(wrong.status(), 401);
    let challenge = wrong.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    // Update: new redirect URIs, visible on the next read and in use.
    let mut update = read.clone();
    update["redirect_uris"] = json!(["http://127.0.0.1:8888/new-callback"]);
    let response = call(Method::PUT, &token, Some(&update)).await.unwrap();
    let status = response.status();
    let updated: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["redirect_uris"],
        json!(["http://127.0.0.1:8888/new-callback"])
    );
    let read: Value = call(Method::GET, &token, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["redirect_uris"],
        json!(["http://127.0.0.1:8888/new-callback"])
    );
    let stored = app.state.store.client(&client_id).await.unwrap().unwrap();
    assert!(
        stored
            .redirect_uris
            .iter()
            .any(|u| u.as_str().contains("new-callback")),
        "{:?}",
        stored.redirect_uris
    );

    // The client_id cannot change.
    let mut other = read.clone();
    other["client_id"] = "someone-else".into();
    let response = call(Method::PUT, &token, Some(&other)).await.unwrap();
    assert_oauth_error(response, 400, "invalid_client_metadata").await;

    // Delete: gone, and the token with it.
    let response = call(Method::DELETE, &token, None).await.unwrap();
    assert_eq!(response.status(), 204);
    let after = call(Method::GET, &token, None).await.unwrap();
    assert_eq!(after.status(), 401);
    assert!(
        after.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(app.state.store.client(&client_id).await.unwrap().is_none());
}

#[tokio::test]
async fn registration_can_be_switched_off_or_require_an_initial_access_token() {
    let off = spawn_app_with(&[("WARDEN_REGISTRATION", "off")]).await;
    let response = post_register(&off, &native(Some("none"))).await;
    assert_eq!(response.status(), 404);
    let metadata = off
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert!(
        metadata.get("registration_endpoint").is_none(),
        "{metadata}"
    );

    const INITIAL: &str = "0123456789abcdef0123";
    let app = spawn_app_with(&[
        ("WARDEN_REGISTRATION", "token"),
        ("WARDEN_REGISTRATION_TOKEN", INITIAL),
    ])
    .await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert!(metadata["registration_endpoint"].is_string(), "{metadata}");
    let without = post_register(&app, &native(Some("none"))).await;
    assert_eq!(without.status(), 401);
    assert!(
        without.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = app
        .http
        .post(format!("{}/register", app.issuer))
        .bearer_auth("0123456789abcdef0124")
        .json(&native(Some("none")))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let with = app
        .http
        .post(format!("{}/register", app.issuer))
        .bearer_auth(INITIAL)
        .json(&native(Some("none")))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 201);
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
    let app = spawn_app_with(&[("WARDEN_REGISTRATION_RATE_LIMIT", "3")]).await;
    for _ in 0..3 {
        register(&app, &native(Some("none"))).await;
    }
    let response = post_register(&app, &native(Some("none"))).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
}

#[tokio::test]
async fn a_self_registered_client_gets_error_pages_not_redirects_before_consent() {
    let app = spawn_app().await;
    interactive(&app, true).await;
    let body = register(&app, &native(Some("none"))).await;
    let client = TestClient::from_view(&body);
    let p = pkce();
    let url = authorize_url(
        &app,
        &client,
        &p.challenge,
        &[("code_challenge_method", "plain")],
    );
    let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
    assert!(page.contains("invalid_request"), "{page}");
}

#[tokio::test]
async fn abandoned_registrations_are_deleted_but_used_ones_are_kept() {
    let app = spawn_app_with(&[
        ("WARDEN_REGISTRATION_CLEANUP_AFTER", "60"),
        // No periodic clean-up during the test: the call below does it.
        ("WARDEN_KEY_REFRESH_INTERVAL", "600"),
    ])
    .await;
    interactive(&app, true).await;
    let abandoned = register(&app, &native(Some("none"))).await;
    let abandoned_id = abandoned["client_id"].as_str().unwrap().to_owned();
    let used = TestClient::from_view(&register(&app, &native(Some("none"))).await);
    let p = pkce();
    let url = authorize_url(&app, &used, &p.challenge, &[("scope", "mcp:read")]);
    let answer = authorize(&app, &mut Browser::new(), &url, "alice").await;
    assert!(answer.contains_key("code"));

    app.clock.advance(120);
    let now = now(&app);
    let deleted = app
        .state
        .store
        .delete_abandoned_registrations(now - 60, now)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert!(
        app.state
            .store
            .client(&abandoned_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.state
            .store
            .client(&used.client_id)
            .await
            .unwrap()
            .is_some(),
        "a client with a grant is kept"
    );
}

// ---------------------------------------------------------------------------------------
// C. private_key_jwt.

/// A code for `client_id` through the browser (alice, consent approved).
async fn code_for(app: &TestApp, browser: &mut Browser, client_id: &str) -> (String, String) {
    let p = pkce();
    let url = authorize_url(
        app,
        &public(client_id),
        &p.challenge,
        &[("scope", "mcp:read")],
    );
    let answer = authorize(app, browser, &url, "alice").await;
    (answer["code"].clone(), p.verifier)
}

#[tokio::test]
async fn a_private_key_jwt_client_authenticates_once_per_valid_assertion() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let key = es256_key("key-1");
    let mut metadata = native(Some("private_key_jwt"));
    metadata["jwks"] = json!({"keys": [key.public]});
    let registered = register(&app, &metadata).await;
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert!(registered.get("client_secret").is_none(), "{registered}");
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let token_endpoint = format!("{}/token", app.issuer);
    let mut browser = Browser::new();

    // aud = the issuer.
    let (code, verifier) = code_for(&app, &mut browser, &client_id).await;
    let now = now(&app);
    let first = sign_es256(&key, &claims(&client_id, &app.issuer, Some(now + 60), now));
    let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &first).await;
    let status = response.status();
    let token: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{token}");
    let introspected = app
        .introspect(&setup.server, token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["client_id"], client_id);

    // aud = the token endpoint.
    let (code, verifier) = code_for(&app, &mut browser, &client_id).await;
    let second = sign_es256(
        &key,
        &claims(&client_id, &token_endpoint, Some(now + 60), now),
    );
    let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &second).await;
    assert_eq!(response.status(), 200);

    // Every bad assertion is invalid_client; client authentication comes before the code.
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let good_claims = || claims(&client_id, &app.issuer, Some(now + 60), now);
    let other_key = es256_key("key-1");
    let hs256 = {
        let mut header = JwsHeader::new();
        header.set_key_id("key-1");
        let signer = HS256
            .signer_from_bytes(b"a shared secret that is long enough!!")
            .unwrap();
        josekit::jwt::encode_with_signer(&good_claims(), &header, &signer).unwrap()
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "key-1"})),
        b64(&Value::Object(good_claims().claims_set().clone()))
    );
    let cases = [
        ("replayed", first.clone()),
        (
            "no exp",
            sign_es256(&key, &claims(&client_id, &app.issuer, None, now)),
        ),
        (
            "exp an hour ahead",
            sign_es256(
                &key,
                &claims(&client_id, &app.issuer, Some(now + 3600), now),
            ),
        ),
        (
            "expired",
            sign_es256(
                &key,
                &claims(&client_id, &app.issuer, Some(now - 300), now - 400),
            ),
        ),
        (
            "wrong aud",
            sign_es256(
                &key,
                &claims(&client_id, "https://other.example.com", Some(now + 60), now),
            ),
        ),
        ("another key", sign_es256(&other_key, &good_claims())),
        ("alg none", unsigned),
        ("HS256", hs256),
    ];
    for (why, assertion) in cases {
        let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &assertion).await;
        assert_eq!(response.status(), 401, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{why}: {body}");
    }

    // A good assertion gets past client authentication to the (used) code.
    let fresh = sign_es256(&key, &good_claims());
    let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &fresh).await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // Without any assertion, a private_key_jwt client cannot pass as public.
    let response = redeem(&app, &public(&client_id), &code, &verifier).await;
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn a_private_key_jwt_client_may_publish_its_keys_at_a_jwks_uri() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let key = es256_key("key-uri");
    docs.serve("/jwks.json", Doc::json(&json!({"keys": [key.public]})));
    let mut metadata = native(Some("private_key_jwt"));
    metadata["jwks_uri"] = docs.url("/jwks.json").into();
    let registered = register(&app, &metadata).await;
    assert_eq!(registered["jwks_uri"], docs.url("/jwks.json"));
    let client_id = registered["client_id"].as_str().unwrap().to_owned();

    let (code, verifier) = code_for(&app, &mut Browser::new(), &client_id).await;
    let now = now(&app);
    let assertion = sign_es256(&key, &claims(&client_id, &app.issuer, Some(now + 60), now));
    let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &assertion).await;
    let status = response.status();
    let token: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{token}");
    assert!(docs.hits() >= 1, "the key set was fetched");
}

#[tokio::test]
async fn a_key_set_that_was_unusable_is_fetched_again_once_fixed() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let key = es256_key("key-uri");
    docs.serve("/jwks.json", Doc::json(&json!({"not": "a key set"})));
    let mut metadata = native(Some("private_key_jwt"));
    metadata["jwks_uri"] = docs.url("/jwks.json").into();
    let client_id = register(&app, &metadata).await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, verifier) = code_for(&app, &mut Browser::new(), &client_id).await;
    let now = now(&app);
    let assertion =
        |now: i64| sign_es256(&key, &claims(&client_id, &app.issuer, Some(now + 60), now));
    let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &assertion(now)).await;
    assert_oauth_error(response, 401, "invalid_client").await;

    // The client fixes its key set: failures are never cached, so it is fetched again.
    docs.serve("/jwks.json", Doc::json(&json!({"keys": [key.public]})));
    let response = redeem_with_assertion(&app, &client_id, &code, &verifier, &assertion(now)).await;
    assert_eq!(docs.hits(), 2, "the unusable key set was not kept");
    let status = response.status();
    let token: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{token}");
}

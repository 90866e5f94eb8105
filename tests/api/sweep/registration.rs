//! Hostile-input sweep, security.md §5 G (cases 66–76): dynamic client registration.
//!
//! Case 76 (`jwks_uri` pointing inside the network) is checked with the other egress cases
//! in `sweep::ssrf`.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use warden::domain::{Client, RedirectUri, Registration};

use crate::helpers::browser::{
    Browser, PASSWORD, REDIRECT, authorize, authorize_url, interactive, pkce, redeem, sign_in,
    through_sign_in,
};
use crate::helpers::clients::{assert_no_null, dynamic_clients, post_register, register};
use crate::helpers::pages::assert_bad_request_page;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app, spawn_app_with};

/// A body sent as is, with any content type.
async fn post_raw(app: &TestApp, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.http
        .post(format!("{}/register", app.issuer))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A public native client returning to `browser::REDIRECT`, plus `extra` members.
fn native(extra: Value) -> Value {
    let mut body = json!({
        "client_name": "Native App",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// The stored row of the client `client_id`.
async fn stored(app: &TestApp, client_id: &str) -> Client {
    app.state.store.client(client_id).await.unwrap().unwrap()
}

/// A GET of a registration (RFC 7592) with `token` as the bearer token.
async fn read_registration(app: &TestApp, uri: &str, token: &str) -> reqwest::Response {
    app.http.get(uri).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn registration_assigns_its_own_ids_and_refuses_unsupported_or_malformed_metadata() {
    let app = spawn_app().await;
    let admin_token = app.admin_token().await;
    let mut registered = 0;

    // Case 66 (dcr-minimal-public): the catalogue's body, verbatim.
    let response = post_register(
        &app,
        &json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                "client_name": "X"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    registered += 1;
    let client_id = body["client_id"].as_str().unwrap().to_owned();
    assert!(!client_id.is_empty());
    assert!(
        !client_id.starts_with("https://") && !client_id.starts_with("http://"),
        "a server-assigned id never looks like a metadata document URL: {client_id}"
    );
    assert!(body.get("client_secret").is_none(), "{body}");
    assert!(body.get("client_secret_expires_at").is_none(), "{body}");
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
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["redirect_uris"], json!(["https://app.example/cb"]));
    let row = stored(&app, &client_id).await;
    assert_eq!(row.registration, Registration::Dynamic);
    assert_eq!(row.secret_hash, None);

    // Case 67 (dcr-no-redirect): a code client needs somewhere to return to.
    for body in [
        json!({"grant_types": ["authorization_code"], "token_endpoint_auth_method": "none", "client_name": "X"}),
        json!({"grant_types": ["authorization_code"], "token_endpoint_auth_method": "none", "redirect_uris": []}),
        json!({"grant_types": ["authorization_code"], "token_endpoint_auth_method": "none", "redirect_uris": null}),
    ] {
        assert_oauth_error(
            post_register(&app, &body).await,
            400,
            "invalid_redirect_uri",
        )
        .await;
    }

    // Case 68 (dcr-forbidden-grants): nothing but the code flow (and refresh) for itself.
    for extra in [
        json!({"grant_types": ["password"]}),
        json!({"grant_types": ["implicit"]}),
        json!({"grant_types": ["authorization_code", "password"]}),
        json!({"grant_types": ["refresh_token"]}),
        json!({"grant_types": ["client_credentials"]}),
        json!({"grant_types": ["authorization_code", "client_credentials"]}),
        json!({"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]}),
        json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]}),
        json!({"grant_types": ["urn:ietf:params:oauth:grant-type:saml2-bearer"]}),
        json!({"response_types": ["token"]}),
        json!({"response_types": ["code", "token"]}),
        json!({"response_types": ["code id_token"]}),
    ] {
        let response = post_register(&app, &native(extra.clone())).await;
        let body = assert_oauth_error(response, 400, "invalid_client_metadata").await;
        assert!(!body.to_string().contains('\n'), "{extra}: {body}");
    }

    // Case 69 (dcr-client-chooses-id): an id, subject, secret or registration token the
    // client picks is never honoured.
    let admin_client = app
        .state
        .store
        .clients_page("", 100)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.registration == Registration::Admin)
        .unwrap()
        .client_id;
    for chosen in [
        "https://attacker.example/client.json".to_owned(),
        admin_client.clone(),
        "alice".to_owned(),
    ] {
        let body = register(
            &app,
            &native(
                json!({"client_id": chosen, "sub": chosen, "client_id_issued_at": 1,
                           "registration_access_token": "chosen-by-the-client-0123456789",
                           "registration_client_uri": "https://attacker.example/manage"}),
            ),
        )
        .await;
        registered += 1;
        assert_ne!(body["client_id"], chosen, "{body}");
        assert!(body.get("sub").is_none(), "{body}");
        assert_ne!(body["client_id_issued_at"], 1, "{body}");
        assert_ne!(
            body["registration_access_token"],
            "chosen-by-the-client-0123456789"
        );
        assert_eq!(
            body["registration_client_uri"],
            format!(
                "{}/register/{}",
                app.issuer,
                body["client_id"].as_str().unwrap()
            )
        );
    }
    assert!(
        app.state
            .store
            .client("https://attacker.example/client.json")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        stored(&app, &admin_client).await.registration,
        Registration::Admin,
        "the admin client is untouched"
    );
    let (status, _) = app
        .admin_call(&admin_token, Method::GET, "/clients", None)
        .await;
    assert_eq!(status, 200, "the admin client's token still works");
    // A secret the client picks is replaced by one of ours; the chosen one opens nothing.
    let mut confidential = native(json!({"client_secret": "hunter2hunter2hunter2"}));
    confidential
        .as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    let body = register(&app, &confidential).await;
    registered += 1;
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    let secret = body["client_secret"].as_str().unwrap();
    assert_ne!(secret, "hunter2hunter2hunter2");
    assert!(secret.len() >= 43, "{secret}");
    let chosen = TestClient {
        client_id: body["client_id"].as_str().unwrap().to_owned(),
        client_secret: "hunter2hunter2hunter2".into(),
    };
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            Some(&chosen),
        )
        .await;
    assert_oauth_error(response, 401, "invalid_client").await;

    // Case 72 (dcr-size-limits): a 1 MB body, 500 redirect URIs, a 10 KB name.
    let mut huge = native(json!({}));
    huge["software_version"] = "x".repeat(1024 * 1024).into();
    let response = post_raw(&app, huge.to_string()).await;
    assert_oauth_error(response, 413, "invalid_client_metadata").await;
    let many: Vec<String> = (0..500).map(|i| format!("https://a.example/{i}")).collect();
    let response = post_register(&app, &native(json!({"redirect_uris": many}))).await;
    assert_oauth_error(response, 400, "invalid_redirect_uri").await;
    let response =
        post_register(&app, &native(json!({"client_name": "n".repeat(10 * 1024)}))).await;
    assert_oauth_error(response, 400, "invalid_client_metadata").await;

    // Case 73 (dcr-malformed-json): wrong shapes are 400 invalid_client_metadata, never 500.
    for raw in [
        "{\"redirect_uris\": [".to_owned(),
        "null".to_owned(),
        "[]".to_owned(),
        "\"https://app.example/cb\"".to_owned(),
        "{\"redirect_uris\": \"https://app.example/cb\"}".to_owned(),
        "{\"redirect_uris\": [null]}".to_owned(),
        "{\"redirect_uris\": [\"https://app.example/cb\", 7]}".to_owned(),
        "{\"redirect_uris\": [\"https://app.example/cb\"], \"grant_types\": \"authorization_code\"}"
            .to_owned(),
        "{\"redirect_uris\": [\"https://app.example/cb\"], \"client_name\": {\"a\": 1}}".to_owned(),
        "{\"redirect_uris\": [\"https://app.example/cb\"], \"jwks\": \"not a key set\"}".to_owned(),
        // Nesting deep enough to overflow a naive recursive parser, still under 16 KB.
        format!(
            "{{\"redirect_uris\": [\"https://app.example/cb\"], \"x\": {}{}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        ),
    ] {
        let response = post_raw(&app, raw.clone()).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{raw:.80}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{raw:.80}: {body}");
    }
    let response = post_raw(&app, b"{\"client_name\": \"\xff\xfe\"}".to_vec()).await;
    assert_oauth_error(response, 400, "invalid_client_metadata").await;
    // Optional members sent as null are treated as absent, and no null is ever echoed.
    let body = register(
        &app,
        &native(
            json!({"client_name": null, "scope": null, "logo_uri": null, "contacts": null,
                       "grant_types": null, "response_types": null}),
        ),
    )
    .await;
    registered += 1;
    assert_no_null(&body, &body);
    assert_eq!(body["grant_types"], json!(["authorization_code"]));

    // Nothing refused left a row behind.
    assert_eq!(
        dynamic_clients(&app, &admin_token).await.len(),
        registered,
        "only the accepted registrations are stored"
    );
}

#[tokio::test]
async fn registered_metadata_grants_no_scope_and_renders_escaped() {
    let app = spawn_app().await;
    interactive(&app, true).await;
    let mut browser = Browser::new();

    // Case 70 (dcr-scope-ceiling): the registered scope is recorded, not a grant (README:
    // clients step up later); asking for more than the resource accepts, or for the admin
    // API's scope, still fails, and the registration stored no scope ceiling of its own.
    let body = register(
        &app,
        &native(json!({"scope": "mcp:read mcp:write admin warden:admin"})),
    )
    .await;
    let client = TestClient::from_view(&body);
    let row = stored(&app, &client.client_id).await;
    assert_eq!(row.scopes, None, "no allowance beyond the resource's own");
    assert!(row.resources.is_empty());
    let p = pkce();
    for (extra, expected) in [
        (vec![("scope", "admin")], "invalid_scope"),
        (vec![("scope", "mcp:read admin")], "invalid_scope"),
        (vec![("scope", "warden:admin")], "invalid_scope"),
        (
            vec![
                ("resource", &*format!("{}/admin", app.issuer)),
                ("scope", "warden:admin"),
            ],
            "invalid_target",
        ),
    ] {
        let url = authorize_url(&app, &client, &p.challenge, &extra);
        let page =
            assert_bad_request_page(through_sign_in(&app, &mut browser, &url, "alice").await).await;
        assert!(page.contains(expected), "{extra:?}: {page}");
    }
    // Without a scope the resource's defaults apply, not the registered string.
    let url = authorize_url(&app, &client, &p.challenge, &[]);
    let consent = through_sign_in(&app, &mut browser, &url, "alice").await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(
        html.contains("<code class=\"mono small\">mcp:read</code>"),
        "{html}"
    );
    assert!(!html.contains("mcp:write"), "{html}");
    assert!(!html.contains("admin"), "{html}");
    assert_eq!(app.grant_count().await, 1, "the admin's grant only");

    // Case 71 (dcr-xss-metadata): script URIs are refused; a hostile name is stored
    // verbatim and rendered escaped under a strict CSP.
    for (field, value) in [
        ("client_uri", "javascript:alert(1)"),
        ("policy_uri", "javascript:alert(document.cookie)"),
        ("tos_uri", "data:text/html,<script>alert(1)</script>"),
        ("logo_uri", "http://app.example/logo.png"),
        ("client_uri", "JaVaScRiPt:alert(1)"),
    ] {
        let response = post_register(&app, &native(json!({ field: value }))).await;
        let body = assert_oauth_error(response, 400, "invalid_client_metadata").await;
        assert!(
            body["error_description"].as_str().unwrap().contains(field),
            "{body}"
        );
    }
    let name = "<img src=x onerror=alert(1)>\"'</script>";
    let body = register(&app, &native(json!({"client_name": name}))).await;
    assert_eq!(body["client_name"], name);
    let xss = TestClient::from_view(&body);
    let read: Value = read_registration(
        &app,
        body["registration_client_uri"].as_str().unwrap(),
        body["registration_access_token"].as_str().unwrap(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(read["client_name"], name, "stored verbatim");
    // The login page (a fresh browser) and the consent page both name the client.
    let url = authorize_url(&app, &xss, &p.challenge, &[("scope", "mcp:read")]);
    let mut fresh = Browser::new();
    let first = fresh.get(&url).await;
    let login = fresh.follow(&app, first).await;
    assert_eq!(login.status(), 200);
    assert!(login.url().path().ends_with("/login"));
    let consent = sign_in(&app, &mut fresh, login, "alice", PASSWORD).await;
    assert_eq!(consent.status(), 200);
    let csp = consent.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = consent.text().await.unwrap();
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("</script>"), "{html}");
    assert!(!html.contains("\"'"), "{html}");
    assert!(
        html.contains("img src=x onerror=alert(1)"),
        "shown, as text: {html}"
    );
}

#[tokio::test]
async fn registration_management_needs_the_clients_own_token_and_delete_ends_its_tokens() {
    let app = spawn_app().await;
    let setup = interactive(&app, true).await;
    let registered = register(&app, &native(json!({}))).await;
    let client = TestClient::from_view(&registered);
    let token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = registered["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = register(&app, &native(json!({"client_name": "Other"}))).await;
    let other_token = other["registration_access_token"].as_str().unwrap();

    // Tokens and an unredeemed code of the client, through the browser.
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &client, &p.challenge, &[("scope", "mcp:read")]);
    let answer = authorize(&app, &mut browser, &url, "alice").await;
    let response = redeem(&app, &client, &answer["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let p2 = pkce();
    let url = authorize_url(&app, &client, &p2.challenge, &[("scope", "mcp:read")]);
    let pending_code = authorize(&app, &mut browser, &url, "alice").await["code"].clone();

    // Case 74 (dcr-management-auth): a wrong, foreign, missing or mis-schemed token is 401
    // with a Bearer challenge on every method, and changes nothing.
    let update = {
        let mut u = registered.clone();
        let o = u.as_object_mut().unwrap();
        o.remove("registration_access_token");
        u["redirect_uris"] = json!(["http://127.0.0.1:9999/stolen"]);
        u
    };
    // A management request: `method` with this bearer token, the update with PUT.
    let call = |method: Method, bearer: Option<&str>, body: Option<&Value>| {
        let mut request = app.http.request(method.clone(), &uri);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        if let Some(body) = body.or((method == Method::PUT).then_some(&update)) {
            request = request.json(body);
        }
        request.send()
    };
    for (method, bearer) in [
        (Method::GET, Some("not-the-token")),
        (Method::PUT, Some("not-the-token")),
        (Method::DELETE, Some("not-the-token")),
        (Method::GET, Some(other_token)),
        (Method::PUT, Some(other_token)),
        (Method::DELETE, Some(other_token)),
        (Method::GET, None),
        (Method::PUT, None),
        (Method::DELETE, None),
    ] {
        let response = call(method.clone(), bearer, None).await.unwrap();
        assert_eq!(response.status(), 401, "{method} with {bearer:?}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
    let basic = app
        .http
        .get(&uri)
        .basic_auth(&client.client_id, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic.status(),
        401,
        "the token only works as a bearer token"
    );
    let unchanged = vec![RedirectUri::new(REDIRECT.into())];
    assert_eq!(
        stored(&app, &client.client_id).await.redirect_uris,
        unchanged
    );

    // The right token cannot slip in a script or a plain-http public redirect URI.
    for bad in ["javascript:alert(1)", "http://app.example.com/cb"] {
        let mut body = update.clone();
        body["redirect_uris"] = json!([REDIRECT, bad]);
        let response = call(Method::PUT, Some(&token), Some(&body)).await.unwrap();
        assert_oauth_error(response, 400, "invalid_redirect_uri").await;
    }
    assert_eq!(
        stored(&app, &client.client_id).await.redirect_uris,
        unchanged
    );
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);

    // DELETE with the right token: the registration, its tokens and its code are gone.
    let response = call(Method::DELETE, Some(&token), None).await.unwrap();
    assert_eq!(response.status(), 204);
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let response = call(method.clone(), Some(&token), None).await.unwrap();
        assert_eq!(response.status(), 401, "{method}");
    }
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", &client.client_id),
            ],
            None,
        )
        .await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let response = redeem(&app, &client, &pending_code, &p2.verifier).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    // The other registration is untouched.
    let response = read_registration(
        &app,
        other["registration_client_uri"].as_str().unwrap(),
        other_token,
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// Sends `n` registrations over raw connections: every request's headers first, then,
/// 300 ms later, every body. Returns each response's status and lowercased head.
async fn slow_body_burst(app: &TestApp, n: usize) -> Vec<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = format!("{}/register", &app.base[app.url("").len()..]);
    let mut sockets = Vec::new();
    for i in 0..n {
        let body = native(json!({"client_name": format!("burst {i}")})).to_string();
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            app.port,
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        sockets.push((socket, body));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for (socket, body) in &mut sockets {
        socket.write_all(body.as_bytes()).await.unwrap();
    }
    let mut answers = Vec::new();
    for (mut socket, _) in sockets {
        let mut raw = Vec::new();
        socket.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        let head = text.split("\r\n\r\n").next().unwrap().to_owned() + "\r\n";
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        answers.push((status, head));
    }
    answers
}

#[tokio::test]
async fn a_burst_of_registrations_stops_at_the_limit_and_existing_clients_keep_working() {
    const LIMIT: usize = 5;
    let app = spawn_app_with(&[("WARDEN_REGISTRATION_RATE_LIMIT", "5")]).await;
    interactive(&app, true).await;
    let admin_token = app.admin_token().await;
    let existing = TestClient::from_view(&register(&app, &native(json!({}))).await);
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(&app, &existing, &p.challenge, &[("scope", "mcp:read")]);
    assert!(
        authorize(&app, &mut browser, &url, "alice")
            .await
            .contains_key("code")
    );

    // Case 75 (dcr-rate-limit): 30 registrations at once from one address. They go over
    // raw connections that send their headers first and their bodies 300 ms later, as a
    // slow client may: every request is then in flight together (plain parallel requests
    // show the same, but by chance).
    let statuses_seen = slow_body_burst(&app, 30).await;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for (status, head) in &statuses_seen {
        if *status == 429 {
            assert!(head.contains("\r\nretry-after: "), "{head}");
        }
        *statuses.entry(*status).or_default() += 1;
    }
    assert!(
        statuses.keys().all(|s| *s == 201 || *s == 429),
        "{statuses:?}"
    );
    let after = post_register(&app, &native(json!({}))).await;
    assert_eq!(after.status(), 429, "the limit holds after the burst");

    // The client registered before keeps working (a public native client: one click on
    // the consent page, which RFC 8252 §8.6 asks for every time, then a code).
    let p = pkce();
    let url = authorize_url(&app, &existing, &p.challenge, &[("scope", "mcp:read")]);
    let answer = authorize(&app, &mut browser, &url, "alice").await;
    let response = redeem(&app, &existing, &answer["code"], &p.verifier).await;
    assert_eq!(response.status(), 200);

    // Another address has its own budget.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let response = elsewhere
        .post(format!("{}/register", app.issuer))
        .json(&native(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // Each registration is counted in one atomic step before its body is read, so a burst
    // of concurrent registrations stops at the limit (it was a read, then a write).
    let accepted = statuses.get(&201).copied().unwrap_or(0);
    assert!(
        accepted < LIMIT,
        "{accepted} of the burst were accepted on top of 1 earlier registration, limit {LIMIT}"
    );
    assert_eq!(
        dynamic_clients(&app, &admin_token).await.len(),
        2 + accepted
    );
}

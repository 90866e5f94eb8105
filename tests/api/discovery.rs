//! RFC 8414 §3 metadata, OIDC Discovery §4, and the JWKS (RFC 7517 §5).

use crate::helpers::{spawn_app, spawn_app_with};

fn assert_no_nulls(value: &serde_json::Value) {
    match value {
        serde_json::Value::Null => panic!("metadata must not contain null"),
        serde_json::Value::Array(items) => items.iter().for_each(assert_no_nulls),
        serde_json::Value::Object(map) => map.values().for_each(assert_no_nulls),
        _ => {}
    }
}

#[tokio::test]
async fn both_well_known_documents_name_the_exact_issuer_and_the_code_flow() {
    let app = spawn_app().await;
    let oauth = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let oidc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(oauth, oidc);
    assert_eq!(oauth["issuer"].as_str().unwrap(), app.issuer);
    assert_eq!(
        oauth["issuer"].as_str().unwrap(),
        app.state.settings.issuer.as_str()
    );
    assert_eq!(
        oauth["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        oauth["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        oauth["jwks_uri"].as_str().unwrap(),
        format!("{}/jwks.json", app.issuer)
    );
    assert_no_nulls(&oauth);
}

#[tokio::test]
async fn every_endpoint_in_the_metadata_answers() {
    let app = spawn_app().await;
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    for (name, value) in metadata.as_object().unwrap() {
        if name.ends_with("_endpoint") || name.ends_with("_uri") {
            let url = value.as_str().unwrap();
            let response = app.http.get(url).send().await.unwrap();
            assert_ne!(
                response.status(),
                404,
                "{name} = {url} is advertised but not served"
            );
        }
    }
}

#[tokio::test]
async fn a_path_issuer_gets_path_inserted_well_known_routes() {
    let app = spawn_app_with(&[("WARDEN_ISSUER", "http://127.0.0.1:{port}/tenant")]).await;
    assert!(app.issuer.ends_with("/tenant"));
    let inserted = app
        .get_json("/.well-known/oauth-authorization-server/tenant")
        .await;
    let oidc_inserted = app
        .get_json("/.well-known/openid-configuration/tenant")
        .await;
    let oidc_appended = app
        .get_json("/tenant/.well-known/openid-configuration")
        .await;
    assert_eq!(inserted["issuer"].as_str().unwrap(), app.issuer);
    assert_eq!(inserted, oidc_inserted);
    assert_eq!(inserted, oidc_appended);
    let jwks_uri = inserted["jwks_uri"].as_str().unwrap();
    assert_eq!(jwks_uri, format!("{}/jwks.json", app.issuer));
    let jwks = app.http.get(jwks_uri).send().await.unwrap();
    assert_eq!(jwks.status(), 200);
    // The root document belongs to no issuer here.
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn unknown_well_known_paths_are_404_not_5xx() {
    let app = spawn_app().await;
    for path in [
        "/.well-known/unknown",
        "/.well-known/oauth-authorization-server/other-tenant",
        "/.well-known/",
        "/.well-known/openid-configuration/../../etc/passwd",
        "/nothing-here",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
    }
}

#[tokio::test]
async fn discovery_documents_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/.well-known/oauth-authorization-server").await;
    let h = response.headers();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(!h["x-request-id"].is_empty());
    let echoed = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let replaced = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id!")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "bad id!");
}

const BROWSER: &str = "http://localhost:6274";

async fn preflight(
    app: &crate::helpers::TestApp,
    url: &str,
    method: &str,
    headers: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", BROWSER)
        .header("access-control-request-method", method);
    if let Some(headers) = headers {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().await.unwrap()
}

fn header_list(response: &reqwest::Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

#[tokio::test]
async fn browser_clients_may_call_public_endpoints_cross_origin_but_not_the_admin_api() {
    let app = spawn_app().await;
    for path in ["/token", "/register", "/revoke"] {
        let url = format!("{}{path}", app.issuer);
        // What the MCP Inspector asks for.
        let allowed = preflight(
            &app,
            &url,
            "POST",
            Some("authorization, content-type, mcp-protocol-version, dpop"),
        )
        .await;
        assert!(allowed.status().is_success(), "{path}");
        assert_eq!(allowed.headers()["access-control-allow-origin"], "*");
        assert_eq!(allowed.headers()["access-control-max-age"], "600");
        assert!(
            header_list(&allowed, "access-control-allow-headers").contains(&"authorization".into())
        );
        assert!(
            header_list(&allowed, "access-control-allow-methods")
                .contains(&"POST".to_ascii_lowercase())
        );
        assert!(
            allowed
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    for path in ["/.well-known/oauth-authorization-server", "/jwks.json"] {
        let response = app
            .http
            .get(app.url(path))
            .header("origin", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
        // The answer differs with and without an Origin: shared caches must know.
        assert!(
            header_list(&response, "vary").contains(&"origin".into()),
            "{path}"
        );
    }
    let token = app
        .http
        .post(format!("{}/token", app.issuer))
        .header("origin", BROWSER)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401);
    assert_eq!(token.headers()["access-control-allow-origin"], "*");
    assert!(
        header_list(&token, "access-control-expose-headers").contains(&"www-authenticate".into())
    );
    let admin = app
        .http
        .get(app.url("/admin/v1/resources"))
        .header("origin", BROWSER)
        .send()
        .await
        .unwrap();
    assert!(admin.headers().get("access-control-allow-origin").is_none());
}

/// The policy is the route table: every public resource answers a preflight, under an
/// issuer path too, and nothing else does, lookalikes included.
#[tokio::test]
async fn cors_covers_exactly_the_public_resources_under_a_path_issuer() {
    let app = spawn_app_with(&[("WARDEN_ISSUER", "http://127.0.0.1:{port}/tenant")]).await;
    let allowed = [
        ("/.well-known/oauth-authorization-server/tenant", "GET"),
        ("/.well-known/openid-configuration/tenant", "GET"),
        ("/tenant/.well-known/openid-configuration", "GET"),
        ("/tenant/jwks.json", "GET"),
        ("/tenant/resource-metadata/x", "GET"),
        ("/tenant/token", "POST"),
        ("/tenant/revoke", "POST"),
        ("/tenant/register", "POST"),
        ("/tenant/register/abc", "PUT"),
        ("/tenant/register/abc", "DELETE"),
    ];
    for (path, method) in allowed {
        let response = preflight(&app, &app.url(path), method, None).await;
        assert!(response.status().is_success(), "{method} {path}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
    }
    for path in [
        "/.well-known/oauth-authorization-server",
        "/token",
        "/tenant/introspect",
        "/tenant/authorize",
        "/tenant/x/token",
        "/tenant/register/a/b",
        "/tenant/account/grants/g1/revoke",
        "/tenant/admin/v1/register",
        "/tenant/admin/v1/resources",
        "/tenant/admin/clients",
    ] {
        let response = preflight(&app, &app.url(path), "POST", None).await;
        assert!(!response.status().is_success(), "{path}");
        for header in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
        ] {
            assert!(response.headers().get(header).is_none(), "{path}: {header}");
        }
    }
}

/// A preflight for a method or a header outside the policy is refused and grants nothing;
/// a browser would have refused the request on the missing allowance all the same.
#[tokio::test]
async fn a_preflight_outside_the_policy_grants_nothing() {
    let app = spawn_app().await;
    let token = format!("{}/token", app.issuer);
    for (method, headers) in [
        ("PATCH", None),
        ("POST", Some("x-custom")),
        ("POST", Some("content-type, cookie")),
    ] {
        let response = preflight(&app, &token, method, headers).await;
        assert_eq!(response.status(), 400, "{method} {headers:?}");
        for header in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
        ] {
            assert!(
                response.headers().get(header).is_none(),
                "{method} {headers:?}: {header}"
            );
        }
    }
}

/// `WARDEN_ISSUER_TRAILING_SLASH`: the identifier gains the slash everywhere it is compared
/// (metadata, hosted resource metadata, tokens, introspection), while discovery stays at the
/// root well-known URL (RFC 8414 §3.1 strips a terminating slash) and no endpoint gets `//`.
#[tokio::test]
async fn the_trailing_slash_issuer_is_exact_everywhere_and_endpoints_stay_put() {
    let app = spawn_app_with(&[("WARDEN_ISSUER_TRAILING_SLASH", "1")]).await;
    let issuer = format!("http://127.0.0.1:{}/", app.port);
    assert_eq!(app.issuer, issuer);
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(
        app.get_json("/.well-known/openid-configuration").await,
        metadata
    );
    for (name, value) in metadata.as_object().unwrap() {
        if let Some(url) = value
            .as_str()
            .filter(|_| name.ends_with("_endpoint") || name.ends_with("_uri"))
        {
            assert!(
                !url.contains("//token") && !url["http://".len()..].contains("//"),
                "{name} = {url}"
            );
            let response = app.http.get(url).send().await.unwrap();
            assert_ne!(response.status(), 404, "{name} = {url}");
        }
    }

    let setup = crate::helpers::setup(&app).await;
    let prm_url = setup.resource["resource_metadata"].as_str().unwrap();
    let prm: serde_json::Value = app
        .http
        .get(prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["authorization_servers"], serde_json::json!([issuer]));

    let token = app
        .client_credentials(&setup.agent, Some(&setup.resource_uri), None)
        .await;
    let access = crate::helpers::tokens::access(&token);
    assert_eq!(
        crate::helpers::tokens::decode_claims(access)["iss"],
        issuer.as_str()
    );
    let introspection = app.introspect(&setup.server, access).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["iss"], issuer.as_str());
}

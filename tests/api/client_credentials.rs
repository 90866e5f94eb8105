//! RFC 6749 §4.4 client credentials, §2.3.1 client authentication, §5.2 errors; RFC 8707
//! resource binding; RFC 9068 access tokens.

use josekit::jwk::JwkSet;
use josekit::jws::ES256;

use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestClient, assert_oauth_error, setup, spawn_app};

#[tokio::test]
async fn an_agent_gets_an_audience_bound_jwt_that_verifies_against_the_jwks() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let body = app
        .client_credentials(&s.agent, Some("https://MCP.example.com:443/mcp"), None)
        .await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(
        body["scope"], "mcp:read",
        "the catalogue's default scope applies"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        4,
        "no extra or null members: {body}"
    );

    let jwks = JwkSet::from_bytes(app.get("/jwks.json").await.bytes().await.unwrap()).unwrap();
    let token = body["access_token"].as_str().unwrap();
    let header = josekit::jwt::decode_header(token).unwrap();
    let kid = header.claim("kid").unwrap().as_str().unwrap();
    let jwk = jwks.get(kid)[0];
    let (payload, header) =
        josekit::jwt::decode_with_verifier(token, &ES256.verifier_from_jwk(jwk).unwrap()).unwrap();
    assert_eq!(header.token_type(), Some("at+jwt"));
    assert_eq!(payload.issuer(), Some(app.issuer.as_str()));
    assert_eq!(payload.subject(), Some(s.agent.client_id.as_str()));
    assert_eq!(
        payload.audience(),
        Some(vec!["https://mcp.example.com/mcp"])
    );
    assert_eq!(
        payload.claim("client_id").unwrap(),
        &serde_json::json!(s.agent.client_id)
    );
    assert_eq!(payload.claim("scope").unwrap(), "mcp:read");
    assert!(payload.jwt_id().is_some());
    assert!(payload.claim("gid").unwrap().is_string());
    let iat = payload.claim("iat").unwrap().as_i64().unwrap();
    assert_eq!(payload.claim("exp").unwrap().as_i64().unwrap(), iat + 600);
}

#[tokio::test]
async fn the_oauth2_crate_gets_a_token_as_a_real_client_would() {
    use oauth2::basic::BasicClient;
    use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
    let app = spawn_app().await;
    let s = setup(&app).await;
    let client = BasicClient::new(ClientId::new(s.agent.client_id.clone()))
        .set_client_secret(ClientSecret::new(s.agent.client_secret.clone()))
        .set_token_uri(TokenUrl::new(format!("{}/token", app.issuer)).unwrap());
    let http = crate::helpers::Oauth2Http(app.http.clone());
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("mcp:write".into()))
        .add_extra_param("resource", &s.resource_uri)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        token.expires_in(),
        Some(std::time::Duration::from_secs(600))
    );
    assert_eq!(token.scopes().unwrap()[0].as_str(), "mcp:write");
}

#[tokio::test]
async fn percent_encoded_basic_credentials_client_secret_post_and_an_agreeing_body_client_id_work()
{
    let app = spawn_app().await;
    let s = setup(&app).await;
    let form = [("grant_type", "client_credentials")];
    // Python clients urlencode each part before base64; ours are URL-safe, so encoding
    // every byte exercises the decoder.
    let encoded_id: String = s
        .agent
        .client_id
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    let response = app
        .http
        .post(format!("{}/token", app.issuer))
        .basic_auth(&encoded_id, Some(&s.agent.client_secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let post = [
        ("grant_type", "client_credentials"),
        ("client_id", &s.agent.client_id),
        ("client_secret", &s.agent.client_secret),
    ];
    assert_eq!(app.post_form("/token", &post, None).await.status(), 200);

    let both = [
        ("grant_type", "client_credentials"),
        ("client_id", &s.agent.client_id),
    ];
    assert_eq!(
        app.post_form("/token", &both, Some(&s.agent))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn scopes_are_checked_against_the_resource_and_the_client() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let body = app
        .client_credentials(&s.agent, None, Some("mcp:write mcp:read"))
        .await;
    assert_eq!(body["scope"], "mcp:read mcp:write");

    let restricted = app
        .create_client(
            &s.admin_token,
            serde_json::json!({"name": "reader", "grant_types": ["client_credentials"], "resources": [s.resource_uri], "scopes": ["mcp:read"]}),
        )
        .await;
    let before = app.grant_count().await;
    for (scope, why) in [
        ("mcp:write", "not allowed for the client"),
        ("mcp:admin", "not accepted"),
        ("bad\"scope", "syntax"),
    ] {
        let form = [("grant_type", "client_credentials"), ("scope", scope)];
        let response = app.post_form("/token", &form, Some(&restricted)).await;
        assert_oauth_error(response, 400, "invalid_scope").await;
        let _ = why;
    }
    assert_eq!(
        app.grant_count().await,
        before,
        "a refused request writes nothing"
    );
}

#[tokio::test]
async fn the_resource_selects_the_audience_and_bad_targets_are_invalid_target() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let other = app
        .create_resource(&s.admin_token, serde_json::json!({"uri": "https://other.example.com", "name": "Other", "scopes": ["mcp:read"]}))
        .await;
    let other_uri = other["uri"].as_str().unwrap();
    // The server client lists no resource: any open resource, but it must say which.
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&s.server),
        )
        .await;
    assert_oauth_error(response, 400, "invalid_target").await;
    let body = app
        .client_credentials(&s.server, Some("https://other.example.com/"), None)
        .await;
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], other_uri);

    let before = app.grant_count().await;
    for resource in [
        "https://other.example.com",       // not listed for the agent
        "https://unknown.example.com/mcp", // not registered
        "https://mcp.example.com/mcp#frag",
        "/mcp",
        "not a uri",
    ] {
        let form = [("grant_type", "client_credentials"), ("resource", resource)];
        let response = app.post_form("/token", &form, Some(&s.agent)).await;
        assert_oauth_error(response, 400, "invalid_target").await;
    }
    let two = [
        ("grant_type", "client_credentials"),
        ("resource", s.resource_uri.as_str()),
        ("resource", other_uri),
    ];
    assert_oauth_error(
        app.post_form("/token", &two, Some(&s.agent)).await,
        400,
        "invalid_target",
    )
    .await;
    assert_eq!(app.grant_count().await, before);
}

#[tokio::test]
async fn disabled_resources_and_clients_get_no_tokens() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let id = s.resource["id"].as_str().unwrap();
    let (status, _) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::POST,
            &format!("/resources/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let form = [("grant_type", "client_credentials")];
    assert_oauth_error(
        app.post_form("/token", &form, Some(&s.agent)).await,
        400,
        "invalid_target",
    )
    .await;
    app.admin_call(
        &s.admin_token,
        reqwest::Method::POST,
        &format!("/resources/{id}/enable"),
        None,
    )
    .await;
    assert_eq!(
        app.post_form("/token", &form, Some(&s.agent))
            .await
            .status(),
        200
    );

    let path = format!("/clients/{}/disable", s.agent.client_id);
    app.admin_call(&s.admin_token, reqwest::Method::POST, &path, None)
        .await;
    let response = app.post_form("/token", &form, Some(&s.agent)).await;
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client_with_a_challenge() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let form = [("grant_type", "client_credentials")];
    let wrong = TestClient {
        client_secret: format!("{}x", &s.agent.client_secret[..42]),
        ..s.agent.clone()
    };
    let short = TestClient {
        client_secret: "short".into(),
        ..s.agent.clone()
    };
    let unknown = TestClient {
        client_id: "nobody".into(),
        ..s.agent.clone()
    };
    let long = TestClient {
        client_secret: "x".repeat(5000),
        ..s.agent.clone()
    };
    for client in [&wrong, &short, &unknown] {
        let response = app.post_form("/token", &form, Some(client)).await;
        assert!(response.headers().contains_key("www-authenticate"));
        assert_oauth_error(response, 401, "invalid_client").await;
    }
    // An absurdly long Authorization header is malformed before it is wrong.
    let response = app.post_form("/token", &form, Some(&long)).await;
    assert_oauth_error(response, 400, "invalid_request").await;
    // No credentials at all.
    assert_oauth_error(
        app.post_form("/token", &form, None).await,
        401,
        "invalid_client",
    )
    .await;
}

#[tokio::test]
async fn malformed_requests_get_the_exact_rfc_error_and_write_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let before = app.grant_count().await;
    let token_url = format!("{}/token", app.issuer);
    let basic =
        |r: reqwest::RequestBuilder| r.basic_auth(&s.agent.client_id, Some(&s.agent.client_secret));

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            basic(app.http.post(&token_url)).form(&[("grant_type", "password")]),
            400,
            "unsupported_grant_type",
        ),
        (
            basic(app.http.post(&token_url)).form(&[("scope", "mcp:read")]),
            400,
            "invalid_request",
        ),
        (
            basic(app.http.post(&token_url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
        (
            basic(app.http.post(&token_url))
                .json(&serde_json::json!({"grant_type": "client_credentials"})),
            400,
            "invalid_request",
        ),
        (
            basic(app.http.post(&token_url)).body("grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
        (
            basic(app.http.post(&token_url)).form(&[
                ("grant_type", "client_credentials"),
                ("pad", &"x".repeat(20_000)),
            ]),
            413,
            "invalid_request",
        ),
        (
            app.http
                .post(&token_url)
                .header("authorization", "Basic !!!not-base64")
                .form(&[("grant_type", "client_credentials")]),
            400,
            "invalid_request",
        ),
        (
            basic(app.http.post(&token_url)).form(&[
                ("grant_type", "client_credentials"),
                ("client_secret", s.agent.client_secret.as_str()),
            ]),
            400,
            "invalid_request",
        ),
        (
            basic(app.http.post(&token_url)).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
            ]),
            400,
            "invalid_request",
        ),
    ];
    for (request, status, code) in cases {
        assert_oauth_error(request.send().await.unwrap(), status, code).await;
    }
    let get = app.http.get(&token_url).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(app.grant_count().await, before);
}

#[tokio::test]
async fn a_public_client_cannot_be_given_client_credentials() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let body = serde_json::json!({"name": "public", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"});
    let (status, error) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::POST,
            "/clients",
            Some(body),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error["field"], "grant_types");
}

#[tokio::test]
async fn an_agent_registered_with_keys_authenticates_with_private_key_jwt_and_has_no_secret() {
    use crate::helpers::assertions::{claims, es256_key, now, sign_es256};
    use reqwest::Method;
    use serde_json::json;

    let app = spawn_app().await;
    let s = setup(&app).await;
    let key = es256_key("agent-key");
    let agent = |extra: serde_json::Value| {
        let mut body = json!({"name": "jwt agent", "grant_types": ["client_credentials"],
                              "resources": [s.resource_uri], "token_endpoint_auth_method": "private_key_jwt"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, view) = app
        .admin_call(
            &s.admin_token,
            Method::POST,
            "/clients",
            Some(agent(json!({"jwks": {"keys": [key.public]}}))),
        )
        .await;
    assert_eq!(status, 201, "{view}");
    assert!(view.get("client_secret").is_none(), "{view}");
    assert_eq!(view["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(view["jwks"]["keys"][0]["kid"], "agent-key");
    let client_id = view["client_id"].as_str().unwrap();

    // SEP-1046's JWT authentication: no client_id in the body, aud the token endpoint or
    // the issuer, each assertion once.
    let token_with = |assertion: String| {
        let form = [
            ("grant_type", "client_credentials".to_owned()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", assertion),
            ("resource", s.resource_uri.clone()),
            ("scope", "mcp:read".to_owned()),
        ];
        app.http
            .post(format!("{}/token", app.issuer))
            .form(&form)
            .send()
    };
    let t = now(&app);
    let token_endpoint = format!("{}/token", app.issuer);
    for aud in [token_endpoint.as_str(), app.issuer.as_str()] {
        let response = token_with(sign_es256(&key, &claims(client_id, aud, Some(t + 60), t)))
            .await
            .unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{aud}: {body}");
        let claims = decode_claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], client_id);
        assert_eq!(claims["aud"], s.resource_uri);
    }
    let once = sign_es256(&key, &claims(client_id, &token_endpoint, Some(t + 60), t));
    assert_eq!(token_with(once.clone()).await.unwrap().status(), 200);
    let before = app.grant_count().await;
    let stranger = es256_key("agent-key");
    for refused in [
        token_with(once).await.unwrap(),
        token_with(sign_es256(
            &stranger,
            &claims(client_id, &token_endpoint, Some(t + 60), t),
        ))
        .await
        .unwrap(),
        app.post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&TestClient {
                client_id: client_id.to_owned(),
                client_secret: "no-secret-works".into(),
            }),
        )
        .await,
    ] {
        assert_oauth_error(refused, 401, "invalid_client").await;
    }
    assert_eq!(app.grant_count().await, before, "refusals issue nothing");

    // Keys are required, once, public, and published over https.
    for (extra, field) in [
        (json!({}), "jwks"),
        (
            json!({"jwks": {"keys": [key.public]}, "jwks_uri": "https://agent.example.com/jwks.json"}),
            "jwks",
        ),
        (json!({"jwks": [key.public]}), "jwks"),
        // Introspection authenticates with a secret, so a key-only client serves nothing.
        (
            json!({"jwks": {"keys": [key.public]}, "served_resources": [s.resource_uri]}),
            "served_resources",
        ),
        (
            json!({"jwks_uri": "http://agent.example.com/jwks.json"}),
            "jwks_uri",
        ),
    ] {
        let (status, error) = app
            .admin_call(
                &s.admin_token,
                Method::POST,
                "/clients",
                Some(agent(extra.clone())),
            )
            .await;
        assert_eq!(status, 422, "{extra}: {error}");
        assert_eq!(error["field"], field, "{extra}: {error}");
    }
    let (status, error) = app
        .admin_call(
            &s.admin_token,
            Method::POST,
            "/clients",
            Some(
                json!({"name": "secret agent", "grant_types": ["client_credentials"],
                        "jwks_uri": "https://agent.example.com/jwks.json"}),
            ),
        )
        .await;
    assert_eq!(status, 422, "keys are for private_key_jwt only: {error}");
}

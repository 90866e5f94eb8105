//! The admin API: RFC 6750 bearer protection, scopes, resources, clients, OpenAPI, and the
//! hosted RFC 9728 protected resource metadata.

use reqwest::Method;
use warden::admin::{AdminError, MAX_PAGE};
use warden::clock::Clock;
use warden::http::admin::{ApiError, ErrorCode};
use warden::oauth::access_token::{self, AccessTokenClaims};

use crate::helpers::{setup, spawn_app};

#[tokio::test]
async fn the_admin_api_wants_a_live_admin_token() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let url = format!("{}/admin/v1/resources", app.issuer);

    let none = app.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    // A valid Warden token, but for an MCP resource rather than the admin API.
    let mcp = app.client_credentials(&s.agent, None, None).await;
    let (status, body) = app
        .admin_call(
            mcp["access_token"].as_str().unwrap(),
            Method::GET,
            "/resources",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = app
        .admin_call("not-a-token", Method::GET, "/resources", None)
        .await;
    assert_eq!(status, 401);

    // The right audience without the scope: 403 insufficient_scope.
    let now = app.clock.now();
    let claims = AccessTokenClaims {
        iss: app.issuer.clone(),
        sub: "x".into(),
        aud: format!("{}/admin", app.issuer),
        client_id: s.agent.client_id.clone(),
        scope: "mcp:read".into(),
        iat: now,
        exp: now + 60,
        jti: "j".into(),
        gid: live_grant_of(&app, &s.admin_token).await,
        act: None,
        may_act: None,
        cnf: None,
    };
    let weak = access_token::mint(&app.state, &claims).unwrap();
    let response = app.http.get(&url).bearer_auth(&weak).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // A revoked admin grant closes the API at once.
    let (status, _) = app
        .admin_call(&s.admin_token, Method::GET, "/resources", None)
        .await;
    assert_eq!(status, 200);
    let gid = live_grant_of(&app, &s.admin_token).await;
    let event = warden::domain::AuditEvent::new(
        warden::domain::AuditKind::GrantRevoked,
        warden::domain::Actor::cli(),
        now,
    );
    app.state
        .store
        .revoke_grant(&gid, now, event)
        .await
        .unwrap();
    let (status, _) = app
        .admin_call(&s.admin_token, Method::GET, "/resources", None)
        .await;
    assert_eq!(status, 401);
}

async fn live_grant_of(app: &crate::helpers::TestApp, token: &str) -> String {
    let claims = access_token::verify(&app.state, token, app.clock.now()).unwrap();
    claims.gid
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc = app.get_json("/admin/v1/openapi.json").await;
    // Every audit kind the server writes can be filtered on and read back.
    let kinds: Vec<&str> = warden::domain::AuditKind::VARIANTS
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        doc["components"]["schemas"]["AuditKind"]["enum"],
        serde_json::json!(kinds),
        "the OpenAPI AuditKind enum and domain::AuditKind disagree"
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let dangling = dangling_refs(&doc, &doc);
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
    let documented = documented_operations(&doc);

    // The routes as `routes` registers them: a route added without documentation, or a
    // documented one that was removed, fails here.
    let served = served_operations();
    assert!(served.len() > 20, "the route parser found only {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {unserved:?}"
    );

    // And the running server agrees: every documented operation reaches a handler (no
    // 404/405) and, but for the document itself, asks for a token before it reads the
    // body (`AdminCaller` is every admin handler's first argument).
    for (method, path) in &documented {
        let url = app.url(&concrete(path));
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let has_body =
            doc["paths"][path.as_str()][method.as_str().to_lowercase()]["requestBody"].is_object();
        let mut request = app.http.request(method.clone(), &url);
        if has_body {
            request = request.json(&serde_json::json!({}));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if path == "/admin/v1/openapi.json" {
            assert_eq!(status, 200, "{method} {path}");
        } else {
            assert_eq!(status, 401, "{method} {path}");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer realm=\"warden-admin\"",
                "{method} {path}"
            );
        }
    }
}

/// The `$ref`s of `value` that name nothing in `doc`.
fn dangling_refs(doc: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Object(map) => {
            let mut dangling: Vec<String> = map
                .get("$ref")
                .and_then(|r| r.as_str())
                .filter(|r| doc.pointer(r.trim_start_matches('#')).is_none())
                .map(str::to_owned)
                .into_iter()
                .collect();
            for member in map.values() {
                dangling.extend(dangling_refs(doc, member));
            }
            dangling
        }
        serde_json::Value::Array(items) => {
            items.iter().flat_map(|v| dangling_refs(doc, v)).collect()
        }
        _ => Vec::new(),
    }
}

/// A component the document names by `$ref`, or the value itself.
fn resolve<'a>(doc: &'a serde_json::Value, value: &'a serde_json::Value) -> &'a serde_json::Value {
    match value["$ref"].as_str() {
        Some(target) => doc.pointer(target.trim_start_matches('#')).unwrap_or(value),
        None => value,
    }
}

#[tokio::test]
async fn every_error_the_admin_api_answers_with_is_documented() {
    let app = spawn_app().await;
    let doc = app.get_json("/admin/v1/openapi.json").await;
    let error_schema = &doc["components"]["schemas"]["AdminError"];
    let codes: Vec<&str> = ErrorCode::VARIANTS.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        resolve(&doc, &error_schema["properties"]["error"])["enum"],
        serde_json::json!(codes),
        "the AdminError schema's codes and ErrorCode disagree"
    );

    // Every error an operation documents is a shared response carrying the error body;
    // every guarded operation documents the token check's and the database's, and every
    // one with a body the refusals of a body.
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                if status.as_str() < "400" {
                    continue;
                }
                let name = response["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/responses/"))
                    .unwrap_or_else(|| panic!("{method} {path} {status}: not a shared response"));
                let shared = &doc["components"]["responses"][name];
                assert_eq!(
                    shared["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/AdminError",
                    "{method} {path} {status}"
                );
                documented.insert(status.clone());
            }
            if path != "/admin/v1/openapi.json" {
                for status in ["401", "403", "500", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
            }
            if op["requestBody"].is_object() {
                for status in ["400", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
            }
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "query" {
                    assert!(responses.contains_key("422"), "{method} {path} {parameter}");
                }
                if parameter["name"] == "limit" {
                    assert_eq!(parameter["schema"]["maximum"], MAX_PAGE, "{method} {path}");
                }
            }
        }
    }

    // Each code has its response, which names it, with its status; and some operation
    // answers with it.
    for code in ErrorCode::VARIANTS {
        let response = &doc["components"]["responses"][code.response_name()];
        let description = response["description"].as_str().unwrap_or_default();
        assert!(
            description.starts_with(&format!("`{}`", code.as_str())),
            "{code:?}: {response}"
        );
        let status = code.status().as_u16().to_string();
        assert!(
            documented.contains(&status),
            "no operation documents {code:?}"
        );
    }

    // And what the server sends for each failure of the service layer is that body. A new
    // `AdminError` variant does not compile here until it has a sample.
    let samples = [
        AdminError::invalid("name", "must not be empty"),
        AdminError::Conflict("exists".into()),
        AdminError::NotFound("no such scope".into()),
        AdminError::Internal(anyhow::anyhow!("disk on fire")),
    ];
    for sample in samples {
        let expected = match &sample {
            AdminError::Validation { .. } => ErrorCode::Validation,
            AdminError::Conflict(_) => ErrorCode::Conflict,
            AdminError::NotFound(_) => ErrorCode::NotFound,
            AdminError::Internal(_) => ErrorCode::ServerError,
        };
        let error = ApiError::from(sample);
        assert_eq!(error.code(), expected);
        let response = actix_web::ResponseError::error_response(&error);
        assert_eq!(response.status(), expected.status());
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], expected.as_str());
        for required in error_schema["required"].as_array().unwrap() {
            assert!(body[required.as_str().unwrap()].is_string(), "{body}");
        }
        for member in body.as_object().unwrap().keys() {
            assert!(error_schema["properties"][member].is_object(), "{member}");
        }
        assert!(documented.contains(&expected.status().as_u16().to_string()));
    }
}

type Operation = (String, String);

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn documented_operations(doc: &serde_json::Value) -> std::collections::BTreeSet<Operation> {
    let mut operations = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if HTTP_METHODS.contains(&method.as_str()) {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// Reads `src/http/admin/mod.rs`'s `routes` the way actix does: `.route("p", m(…))` (or
/// `web::m()`) is one operation, `web::resource("p")` followed by `.route(m(…))`, … is one
/// per method (`m` being `route.rs`'s guarded get, post, …). Whitespace is dropped first so
/// rustfmt's line breaks do not matter.
fn served_operations() -> std::collections::BTreeSet<Operation> {
    let source = include_str!("../../src/http/admin/mod.rs");
    let body = &source[source.find("pub fn routes").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let text: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let mut operations = std::collections::BTreeSet::new();
    let mut resource: Option<String> = None;
    let mut rest = text.as_str();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(".route(\"") {
            let (path, after) = after.split_once('"').unwrap();
            let after = after.strip_prefix(',').unwrap();
            let after = after.strip_prefix("web::").unwrap_or(after);
            let (method, after) = after.split_once('(').unwrap();
            operations.insert((method.to_uppercase(), format!("/admin/v1{path}")));
            resource = None;
            rest = after;
        } else if let Some(after) = rest.strip_prefix("web::resource(\"") {
            let (path, after) = after.split_once('"').unwrap();
            resource = Some(format!("/admin/v1{path}"));
            rest = after;
        } else if let Some((method, after)) = HTTP_METHODS
            .iter()
            .find_map(|m| Some((*m, rest.strip_prefix(&format!(".route({m}("))?)))
        {
            if let Some(path) = &resource {
                operations.insert((method.to_uppercase(), path.clone()));
            }
            rest = after;
        } else {
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
        }
    }
    operations
}

/// A documented path with every `{parameter}` filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{domain}" => "example.com",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn scopes_are_catalogue_data_with_rfc_6749_names() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (status, list) = app.admin_call(&token, Method::GET, "/scopes", None).await;
    assert_eq!(status, 200);
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["mcp:read", "mcp:write", "offline_access", "warden:admin"]
    );

    let new = serde_json::json!({"name": "mcp:tools:deploy", "description": "Deploy things"});
    let (status, created) = app
        .admin_call(&token, Method::POST, "/scopes", Some(new.clone()))
        .await;
    assert_eq!(status, 201);
    assert_eq!(created["is_default"], false);
    assert_eq!(
        app.admin_call(&token, Method::POST, "/scopes", Some(new))
            .await
            .0,
        409
    );

    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let supported = metadata["scopes_supported"].as_array().unwrap();
    assert!(supported.contains(&serde_json::json!("mcp:tools:deploy")));
    assert!(!supported.contains(&serde_json::json!("warden:admin")));
    // SEP-2207: advertised, so that MCP clients may ask to stay signed in.
    assert!(supported.contains(&serde_json::json!("offline_access")));

    for (body, field) in [
        (
            serde_json::json!({"name": "has space", "description": "d"}),
            "name",
        ),
        (
            serde_json::json!({"name": "quote\"", "description": "d"}),
            "name",
        ),
        (
            serde_json::json!({"name": "ok", "description": ""}),
            "description",
        ),
        (serde_json::json!({"description": "d"}), "name"),
        (
            serde_json::json!({"name": "ok", "description": "d", "surprise": 1}),
            "body",
        ),
    ] {
        let (status, error) = app
            .admin_call(&token, Method::POST, "/scopes", Some(body.clone()))
            .await;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{body} -> {error}"
        );
    }
    let (status, _) = app
        .admin_call(
            &token,
            Method::PATCH,
            "/scopes/mcp:tools:deploy",
            Some(serde_json::json!({"is_default": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.admin_call(&token, Method::DELETE, "/scopes/mcp:tools:deploy", None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.admin_call(&token, Method::GET, "/scopes/mcp:tools:deploy", None)
            .await
            .0,
        404
    );
    assert_eq!(
        app.admin_call(&token, Method::DELETE, "/scopes/mcp:read", None)
            .await
            .0,
        204,
        "no resource uses it yet"
    );
}

#[tokio::test]
async fn resources_are_stored_canonical_and_publish_protected_resource_metadata() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let created = app
        .create_resource(
            &s.admin_token,
            serde_json::json!({"uri": "HTTPS://Tools.Example.COM:443/", "name": "Tools", "scopes": ["mcp:read", "mcp:write"],
                               "default_scopes": ["mcp:write"], "access_token_ttl": 120}),
        )
        .await;
    assert_eq!(created["uri"], "https://tools.example.com");
    assert_eq!(created["default_scopes"], serde_json::json!(["mcp:write"]));
    assert_eq!(created["access_token_ttl"], 120);
    assert_eq!(created["any_client"], true);
    assert!(created.get("allowed_clients").is_none());

    let prm_url = created["resource_metadata"].as_str().unwrap();
    assert!(prm_url.starts_with(&app.issuer));
    let prm: serde_json::Value = app
        .http
        .get(prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        prm,
        serde_json::json!({"resource": "https://tools.example.com", "authorization_servers": [app.issuer],
                           "scopes_supported": ["mcp:read", "mcp:write"], "bearer_methods_supported": ["header"],
                           "resource_name": "Tools"})
    );

    // The same URI in another spelling is a conflict.
    let dup = serde_json::json!({"uri": "https://tools.example.com", "name": "Again", "scopes": ["mcp:read"]});
    assert_eq!(
        app.admin_call(&s.admin_token, Method::POST, "/resources", Some(dup))
            .await
            .0,
        409
    );

    for (body, field) in [
        (
            serde_json::json!({"uri": "https://x.example.com/#f", "name": "n", "scopes": ["mcp:read"]}),
            "uri",
        ),
        (
            serde_json::json!({"uri": "/relative", "name": "n", "scopes": ["mcp:read"]}),
            "uri",
        ),
        (
            serde_json::json!({"uri": format!("{}/admin", app.issuer), "name": "n", "scopes": ["mcp:read"]}),
            "uri",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "n", "scopes": []}),
            "scopes",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "n", "scopes": ["nope"]}),
            "scopes",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "n", "scopes": ["mcp:read"], "default_scopes": ["mcp:write"]}),
            "default_scopes",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "", "scopes": ["mcp:read"]}),
            "name",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "n", "scopes": ["mcp:read"], "access_token_ttl": 999999999}),
            "access_token_ttl",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "n", "scopes": ["mcp:read"], "allowed_clients": ["ghost"]}),
            "allowed_clients",
        ),
        (
            serde_json::json!({"uri": "https://x.example.com", "name": "n"}),
            "scopes",
        ),
    ] {
        let (status, error) = app
            .admin_call(
                &s.admin_token,
                Method::POST,
                "/resources",
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{body} -> {error}"
        );
    }
    let (status, _) = app
        .admin_call(&s.admin_token, Method::POST, "/resources", None)
        .await;
    assert_eq!(status, 415, "no JSON body");

    // Disabled resources publish nothing; deleting a resource clients still name is refused.
    let id = created["id"].as_str().unwrap();
    app.admin_call(
        &s.admin_token,
        Method::POST,
        &format!("/resources/{id}/disable"),
        None,
    )
    .await;
    assert_eq!(app.http.get(prm_url).send().await.unwrap().status(), 404);
    let busy = s.resource["id"].as_str().unwrap();
    assert_eq!(
        app.admin_call(
            &s.admin_token,
            Method::DELETE,
            &format!("/resources/{busy}"),
            None
        )
        .await
        .0,
        409
    );
    assert_eq!(
        app.admin_call(
            &s.admin_token,
            Method::DELETE,
            &format!("/resources/{id}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        app.admin_call(
            &s.admin_token,
            Method::GET,
            &format!("/resources/{id}"),
            None
        )
        .await
        .0,
        404
    );
    // A scope in use cannot be deleted.
    assert_eq!(
        app.admin_call(&s.admin_token, Method::DELETE, "/scopes/mcp:write", None)
            .await
            .0,
        409
    );
}

#[tokio::test]
async fn a_resource_can_be_limited_to_named_clients_and_updated() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let id = s.resource["id"].as_str().unwrap();
    let only_server = serde_json::json!({"allowed_clients": [s.server.client_id]});
    let (status, updated) = app
        .admin_call(
            &s.admin_token,
            Method::PATCH,
            &format!("/resources/{id}"),
            Some(only_server),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["any_client"], false);
    let form = [("grant_type", "client_credentials")];
    let refused = app.post_form("/token", &form, Some(&s.agent)).await;
    crate::helpers::assert_oauth_error(refused, 400, "invalid_target").await;

    let open = serde_json::json!({"allowed_clients": null, "name": "Renamed"});
    let (status, updated) = app
        .admin_call(
            &s.admin_token,
            Method::PATCH,
            &format!("/resources/{id}"),
            Some(open),
        )
        .await;
    assert_eq!((status, updated["name"].as_str()), (200, Some("Renamed")));
    assert_eq!(
        app.post_form("/token", &form, Some(&s.agent))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn clients_get_url_safe_ids_and_a_secret_shown_once_and_stored_hashed() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let body = serde_json::json!({"name": "agent", "grant_types": ["client_credentials"], "resources": ["https://MCP.example.com/mcp"], "scopes": ["mcp:read"]});
    let (status, created) = app
        .admin_call(&s.admin_token, Method::POST, "/clients", Some(body))
        .await;
    assert_eq!(status, 201);
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    for value in [id, secret] {
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{value}"
        );
    }
    assert!(!id.starts_with("https"));
    assert_eq!(secret.len(), 43);
    assert_eq!(
        created["resources"],
        serde_json::json!(["https://mcp.example.com/mcp"])
    );

    let (_, fetched) = app
        .admin_call(&s.admin_token, Method::GET, &format!("/clients/{id}"), None)
        .await;
    assert!(fetched.get("client_secret").is_none());
    let stored = app.state.store.client(id).await.unwrap().unwrap();
    assert_ne!(stored.secret_hash.as_deref(), Some(secret));
    assert!(!stored.secret_hash.unwrap().contains(secret));

    for (body, field) in [
        (
            serde_json::json!({"name": "x", "grant_types": ["password"]}),
            "grant_types",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": []}),
            "grant_types",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": ["client_credentials"], "resources": ["https://nope.example.com"]}),
            "resources",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": ["client_credentials"], "scopes": ["ghost"]}),
            "scopes",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": ["client_credentials"], "redirect_uris": ["javascript:alert(1)"]}),
            "redirect_uris",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": ["client_credentials"], "redirect_uris": ["http://evil.example.com/cb"]}),
            "redirect_uris",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}),
            "jwks",
        ),
        (
            serde_json::json!({"name": "x", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth"}),
            "token_endpoint_auth_method",
        ),
        (
            serde_json::json!({"name": "\u{0007}", "grant_types": ["client_credentials"]}),
            "name",
        ),
        (
            serde_json::json!({"grant_types": ["client_credentials"]}),
            "name",
        ),
    ] {
        let (status, error) = app
            .admin_call(&s.admin_token, Method::POST, "/clients", Some(body.clone()))
            .await;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{body} -> {error}"
        );
    }
    let (status, _) = app
        .admin_call(&s.admin_token, Method::GET, "/clients/nobody", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn listings_paginate_with_a_cursor() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    for i in 0..5 {
        app.create_resource(&token, serde_json::json!({"uri": format!("https://r{i}.example.com"), "name": "r", "scopes": ["mcp:read"]}))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/resources?limit=2".to_owned();
    loop {
        let (status, page) = app.admin_call(&token, Method::GET, &path, None).await;
        assert_eq!(status, 200);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["uri"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => path = format!("/resources?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        6,
        "five plus the built-in admin resource: {seen:?}"
    );
    let (status, error) = app
        .admin_call(&token, Method::GET, "/resources?limit=0", None)
        .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("limit")));
    let (status, _) = app
        .admin_call(&token, Method::GET, "/resources?limit=abc", None)
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn malformed_json_is_400_and_the_builtin_resource_is_protected() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let response = app
        .http
        .post(format!("{}/admin/v1/resources", app.issuer))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (_, page) = app
        .admin_call(&token, Method::GET, "/resources", None)
        .await;
    let builtin = &page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["builtin"] == true)
        .unwrap()["id"];
    let builtin = builtin.as_str().unwrap();
    assert_eq!(
        app.admin_call(
            &token,
            Method::DELETE,
            &format!("/resources/{builtin}"),
            None
        )
        .await
        .0,
        409
    );
    let rename = serde_json::json!({"name": "mine now"});
    assert_eq!(
        app.admin_call(
            &token,
            Method::PATCH,
            &format!("/resources/{builtin}"),
            Some(rename)
        )
        .await
        .0,
        409
    );
}

#[tokio::test]
async fn admins_list_self_registered_clients_apart() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let registered: serde_json::Value = app
        .http
        .post(format!("{}/register", app.issuer))
        .json(&serde_json::json!({"client_name": "Inspector", "redirect_uris": ["http://localhost:6274/oauth/callback"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, page) = app
        .admin_call(
            &s.admin_token,
            Method::GET,
            "/clients?registration=dynamic",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let ids: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].clone())
        .collect();
    assert_eq!(ids, vec![registered["client_id"].clone()]);
    assert_eq!(page["items"][0]["registration"], "dynamic");
    let (status, all) = app
        .admin_call(&s.admin_token, Method::GET, "/clients", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        4,
        "admin, agent, server and the registered one"
    );
    let (status, error) = app
        .admin_call(
            &s.admin_token,
            Method::GET,
            "/clients?registration=bogus",
            None,
        )
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("registration"))
    );
}

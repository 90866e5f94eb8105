//! `warden resource check` and `POST /admin/v1/resources/{id}/check`: Warden probes a real
//! MCP server (tests/api/helpers/mcp_server.rs) on a real port; a correct one passes every
//! point, each faulty one fails on exactly its own.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::mcp_server::{Fault, McpServer};
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const SCOPES: [&str; 2] = ["mcp:read", "mcp:write"];

async fn warden() -> TestApp {
    spawn_app_with(&[("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1")]).await
}

/// Registers `uri` with the test scopes (`mcp:read` by default); returns its id.
async fn register(app: &TestApp, uri: &str) -> String {
    register_with(app, uri, false).await
}

/// `register`, requiring DPoP for the resource when `require_dpop`.
async fn register_with(app: &TestApp, uri: &str, require_dpop: bool) -> String {
    let resource = warden::admin::resources::create(
        &app.state.store,
        &app.state.settings,
        warden::admin::resources::NewResource {
            uri: uri.into(),
            name: "notes".into(),
            description: String::new(),
            scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            default_scopes: Some(vec!["mcp:read".into()]),
            access_token_ttl: None,
            allowed_clients: None,
            enabled: None,
            require_dpop,
        },
        warden::clock::Clock::now(&*app.clock),
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
    resource.id
}

/// Runs the check through the admin API. The test server reads the wall clock, so the
/// server's frozen clock catches up first (the check's tokens live 5 s).
async fn check(app: &TestApp, id: &str) -> (u16, Value) {
    app.catch_up_with_wall_clock();
    let token = app.admin_token().await;
    app.admin_call(
        &token,
        Method::POST,
        &format!("/resources/{id}/check"),
        None,
    )
    .await
}

fn with_verdict(report: &Value, verdict: &str) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == verdict)
        .map(|f| f["point"].as_str().unwrap().to_owned())
        .collect()
}

fn finding<'a>(report: &'a Value, point: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["point"] == point)
        .unwrap_or_else(|| panic!("no finding {point} in {report:#}"))
}

fn set(points: &[&str]) -> BTreeSet<String> {
    points.iter().map(|p| (*p).to_owned()).collect()
}

#[tokio::test]
async fn a_correct_mcp_server_passes_every_point_and_the_outcome_is_stored_on_the_resource() {
    let app = warden().await;
    let server = McpServer::start(&app.issuer, &SCOPES, None).await;
    let id = register(&app, &server.uri).await;
    let started = std::time::Instant::now();
    let (status, report) = check(&app, &id).await;
    eprintln!("a whole check took {:?}", started.elapsed());
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["outcome"], "pass", "{report:#}");
    assert_eq!(with_verdict(&report, "pass").len(), 9, "{report:#}");
    assert_eq!(report["resource"], server.uri.as_str());
    assert!(
        finding(&report, "valid_token")["summary"]
            .as_str()
            .unwrap()
            .contains("ES256")
    );

    let token = app.admin_token().await;
    let (_, view) = app
        .admin_call(&token, Method::GET, &format!("/resources/{id}"), None)
        .await;
    assert_eq!(view["last_check"]["outcome"], "pass");
    assert_eq!(view["last_check"]["failed"], serde_json::json!([]));
    assert_eq!(view["last_check"]["at"], report["checked_at"]);

    // `resource show` is `resource get` and accepts the URI too.
    let shown = crate::helpers::stdout_json(&app.cli(&["resource", "show", &server.uri]));
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["last_check"]["outcome"], "pass");
}

#[tokio::test]
async fn each_faulty_server_fails_on_exactly_its_point() {
    let app = warden().await;
    for (fault, expected) in [
        (Fault::SkipsAudience, "audience"),
        (Fault::SkipsExpiry, "expired"),
        (Fault::NoResourceMetadata, "challenge"),
        (Fault::AcceptsAnyTyp, "typ"),
        (Fault::OnlyRs256, "valid_token"),
        (Fault::TrailingSlashIssuer, "metadata"),
        (Fault::IgnoresCnf, "dpop_as_bearer"),
    ] {
        let server = McpServer::start(&app.issuer, &SCOPES, Some(fault)).await;
        // Taking a DPoP-bound token as bearer fails only where DPoP is required.
        let id = register_with(&app, &server.uri, fault == Fault::IgnoresCnf).await;
        let (status, report) = check(&app, &id).await;
        assert_eq!(status, 200);
        assert_eq!(
            with_verdict(&report, "fail"),
            set(&[expected]),
            "{fault:?}: {report:#}"
        );
        assert_eq!(report["outcome"], "fail");
        let explanation = &finding(&report, expected)["explanation"];
        for part in ["wrong", "cause", "fix"] {
            assert!(
                explanation[part].as_str().is_some_and(|s| s.len() > 20),
                "{fault:?} explains {part}: {explanation:#}"
            );
        }
        let words = explanation.to_string();
        let named = match fault {
            Fault::SkipsAudience => "aud",
            Fault::SkipsExpiry => "exp",
            Fault::NoResourceMetadata => "RFC 9728 §5.1",
            Fault::AcceptsAnyTyp => "RFC 9068 §4",
            Fault::OnlyRs256 => {
                "RS256 (FastMCP's JWTVerifier default) while Warden signs with ES256"
            }
            Fault::TrailingSlashIssuer => "WARDEN_ISSUER_TRAILING_SLASH=1",
            Fault::IgnoresCnf => "RFC 9449 §7.1",
        };
        assert!(words.contains(named), "{fault:?}: {words}");
        let (_, view) = app
            .admin_call(
                &app.admin_token().await,
                Method::GET,
                &format!("/resources/{id}"),
                None,
            )
            .await;
        assert_eq!(view["last_check"]["failed"], serde_json::json!([expected]));
        server.stop().await;
    }
}

#[tokio::test]
async fn the_cli_prints_one_line_per_point_and_exits_1_when_a_point_failed() {
    let app = warden().await;
    let good = McpServer::start(&app.issuer, &SCOPES, None).await;
    register(&app, &good.uri).await;
    let output = app.cli(&["resource", "check", &good.uri]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("PASS ")).count(),
        9,
        "{text}"
    );
    assert!(text.contains("PASS 4 typ: refused with 401"), "{text}");

    let bad = McpServer::start(&app.issuer, &SCOPES, Some(Fault::AcceptsAnyTyp)).await;
    let id = register(&app, &bad.uri).await;
    let output = app.cli(&["resource", "check", &id]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(fails.len(), 1, "{text}");
    assert!(fails[0].starts_with("FAIL 4 typ: accepted"), "{text}");
    assert!(
        text.contains("what is wrong:") && text.contains("fix:"),
        "{text}"
    );

    let output = app.cli(&["resource", "check", "--json", &id]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(with_verdict(&report, "fail"), set(&["typ"]));
}

#[tokio::test]
async fn a_server_that_is_down_fails_clearly_and_the_rest_is_skipped() {
    let app = warden().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let id = register(&app, &format!("http://127.0.0.1:{port}/mcp")).await;
    let (status, report) = check(&app, &id).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(with_verdict(&report, "fail"), set(&["challenge"]));
    assert_eq!(with_verdict(&report, "skip").len(), 8);
    let challenge = finding(&report, "challenge");
    assert!(
        challenge["summary"]
            .as_str()
            .unwrap()
            .starts_with(&format!("no answer from http://127.0.0.1:{port}/mcp")),
        "{challenge:#}"
    );
    assert!(
        challenge["explanation"]["cause"]
            .as_str()
            .unwrap()
            .contains("not running")
    );
}

#[tokio::test]
async fn a_redirecting_server_fails_naming_where_it_redirects() {
    let app = warden().await;
    let docs = DocServer::start().await;
    docs.serve(
        "/mcp",
        Doc::redirect("https://login.example.com/sso?next=/mcp"),
    );
    let id = register(&app, &docs.url("/mcp")).await;
    let (status, report) = check(&app, &id).await;
    assert_eq!(status, 200);
    assert_eq!(with_verdict(&report, "fail"), set(&["challenge"]));
    let summary = finding(&report, "challenge")["summary"].as_str().unwrap();
    assert!(
        summary.contains("redirects (302) to https://login.example.com/sso?next=/mcp"),
        "{summary}"
    );
    assert_eq!(docs.hits(), 1, "the redirect was not followed");
}

#[tokio::test]
async fn loopback_servers_are_refused_without_the_dev_flag() {
    let app = spawn_app().await;
    let server = McpServer::start(&app.issuer, &SCOPES, None).await;
    let id = register(&app, &server.uri).await;
    let (status, report) = check(&app, &id).await;
    assert_eq!(status, 200);
    assert_eq!(with_verdict(&report, "fail"), set(&["challenge"]));
    let challenge = finding(&report, "challenge");
    assert!(
        challenge["summary"]
            .as_str()
            .unwrap()
            .starts_with("Warden will not connect to"),
        "{challenge:#}"
    );
    assert!(
        challenge["explanation"]["fix"]
            .as_str()
            .unwrap()
            .contains("WARDEN_DEV_ALLOW_LOOPBACK_FETCH=1")
    );
}

#[tokio::test]
async fn an_unknown_resource_is_a_clear_error_exit_2_and_404() {
    let app = warden().await;
    let output = app.cli(&["resource", "check", "https://nowhere.example.com/mcp"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no resource with id or URI \"https://nowhere.example.com/mcp\""),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    let (status, body) = check(&app, "0190a8c2-0000-7000-8000-000000000000").await;
    assert_eq!(status, 404, "{body:#}");
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn the_check_route_needs_the_admin_token_and_refuses_the_builtin_resource() {
    let app = warden().await;
    let server = McpServer::start(&app.issuer, &SCOPES, None).await;
    let id = register(&app, &server.uri).await;
    let response = app
        .http
        .post(format!("{}/admin/v1/resources/{id}/check", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, view) = app
        .admin_call(
            &app.admin_token().await,
            Method::GET,
            &format!("/resources/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(view.get("last_check").is_none(), "never checked: {view:#}");

    let builtin = app
        .state
        .store
        .resource_by_uri(&format!("{}/admin", app.issuer))
        .await
        .unwrap()
        .unwrap();
    let (status, _) = check(&app, &builtin.id).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn with_warden_issuer_trailing_slash_a_server_that_adds_the_slash_passes_and_one_without_fails()
 {
    let app = spawn_app_with(&[
        ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1"),
        ("WARDEN_ISSUER_TRAILING_SLASH", "1"),
    ])
    .await;
    assert!(app.issuer.ends_with('/'), "{}", app.issuer);
    // A FastMCP-like server: it writes the issuer with the slash (and checks `iss` so).
    let slashed = McpServer::start(&app.issuer, &SCOPES, None).await;
    let id = register(&app, &slashed.uri).await;
    let (_, report) = check(&app, &id).await;
    assert_eq!(report["outcome"], "pass", "{report:#}");
    // A server configured with the plain issuer now differs by the slash.
    let plain = McpServer::start(app.issuer.trim_end_matches('/'), &SCOPES, None).await;
    let id = register(&app, &plain.uri).await;
    let (_, report) = check(&app, &id).await;
    let failed = with_verdict(&report, "fail");
    assert!(failed.contains("metadata"), "{report:#}");
    let cause = finding(&report, "metadata")["explanation"]["cause"].to_string();
    assert!(
        cause.contains("WARDEN_ISSUER_TRAILING_SLASH=1 (for"),
        "{cause}"
    );
}

#[tokio::test]
async fn an_rs256_only_server_passes_once_warden_signs_with_rs256() {
    let app = spawn_app_with(&[
        ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1"),
        ("WARDEN_SIGNING_ALG", "RS256"),
    ])
    .await;
    let server = McpServer::start(&app.issuer, &SCOPES, Some(Fault::OnlyRs256)).await;
    let id = register(&app, &server.uri).await;
    let (_, report) = check(&app, &id).await;
    assert_eq!(report["outcome"], "pass", "{report:#}");
    assert!(
        finding(&report, "valid_token")["summary"]
            .as_str()
            .unwrap()
            .contains("RS256")
    );
}

#[tokio::test]
async fn the_check_tokens_name_no_grant_live_5_seconds_and_introspect_as_inactive() {
    let app = warden().await;
    let server = McpServer::start(&app.issuer, &SCOPES, None).await;
    let id = register(&app, &server.uri).await;
    let (_, report) = check(&app, &id).await;
    assert_eq!(report["outcome"], "pass");
    let tokens = server.tokens_seen();
    assert_eq!(
        tokens.len(),
        7,
        "audience, expired, unknown key, typ, valid, no scope, DPoP-bound"
    );

    let admin = app.admin_token().await;
    let introspector = app
        .create_client(
            &admin,
            serde_json::json!({"name": "notes server", "grant_types": ["client_credentials"], "served_resources": [server.uri]}),
        )
        .await;
    // A control: a real token for the resource is active for that introspector.
    let agent = app
        .create_client(
            &admin,
            serde_json::json!({"name": "agent", "grant_types": ["client_credentials"], "resources": [server.uri]}),
        )
        .await;
    let real = app
        .client_credentials(&agent, Some(&server.uri), None)
        .await;
    let body = app
        .introspect(&introspector, real["access_token"].as_str().unwrap())
        .await;
    assert_eq!(body["active"], true, "{body}");

    let valid = &tokens[4];
    let claims: Value = {
        use base64::Engine;
        let payload = valid.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["sub"], "warden-resource-check");
    assert_eq!(claims["client_id"], "warden-resource-check");
    assert_eq!(claims["aud"], server.uri.as_str());
    assert_eq!(claims["scope"], "mcp:read");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        5
    );
    for token in &tokens {
        let body = app.introspect(&introspector, token).await;
        assert_eq!(body, serde_json::json!({"active": false}));
    }
    let grants = app
        .state
        .store
        .grants_of_client("warden-resource-check")
        .await
        .unwrap();
    assert!(grants.is_empty());
}

#[tokio::test]
async fn a_server_that_takes_a_dpop_bound_token_as_bearer_fails_when_the_resource_requires_dpop() {
    let app = warden().await;
    let correct = McpServer::start(&app.issuer, &SCOPES, None).await;
    let id = register_with(&app, &correct.uri, true).await;
    let (status, report) = check(&app, &id).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["outcome"], "pass", "{report:#}");
    let point = finding(&report, "dpop_as_bearer");
    assert_eq!(point["verdict"], "pass", "{report:#}");
    assert_eq!(point["number"], 7);
    // The token it refused was a valid one but for its cnf.
    let bound = correct
        .tokens_seen()
        .iter()
        .filter(|t| {
            decode_claims(t)["cnf"]["jkt"]
                .as_str()
                .is_some_and(|j| j.len() == 43)
        })
        .count();
    assert_eq!(bound, 1, "one bound token was sent");

    let lax = McpServer::start(&app.issuer, &SCOPES, Some(Fault::IgnoresCnf)).await;
    let id = register_with(&app, &lax.uri, true).await;
    let (_, report) = check(&app, &id).await;
    assert_eq!(report["outcome"], "fail", "{report:#}");
    assert_eq!(with_verdict(&report, "fail"), set(&["dpop_as_bearer"]));
    let words = finding(&report, "dpop_as_bearer")["explanation"].to_string();
    assert!(words.contains("RFC 9449 §7.1"), "{words}");
    assert!(words.contains("cnf"), "{words}");

    // Not required: the same server is warned about, and the check passes.
    let also_lax = McpServer::start(&app.issuer, &SCOPES, Some(Fault::IgnoresCnf)).await;
    let id = register_with(&app, &also_lax.uri, false).await;
    let (_, report) = check(&app, &id).await;
    assert_eq!(report["outcome"], "pass", "{report:#}");
    assert_eq!(
        with_verdict(&report, "warn"),
        set(&["dpop_as_bearer"]),
        "{report:#}"
    );
}

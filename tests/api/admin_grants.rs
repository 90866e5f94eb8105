//! Grants in the admin API and the CLI: who holds which, filtered and paged, and their
//! revocation all at once for a user, a client or a resource (everything derived from each
//! grant stops, one audit event per grant).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::{
    Browser, Interactive, PASSWORD, authorize, authorize_url, interactive, pkce, redeem,
};
use crate::helpers::exchange::{self, B, issued};
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, TestClient, assert_oauth_error, spawn_app, spawn_app_with};

/// The second MCP server of these tests.
const OTHER: &str = "https://other.example.com";

/// Everyone these tests need: alice and bob, the IDE they consent to, an agent with its own
/// grant, and the servers that introspect each resource's tokens.
struct World {
    setup: Interactive,
    bob: String,
    alice: String,
    agent: TestClient,
    other_server: TestClient,
}

async fn world(app: &TestApp) -> World {
    let setup = interactive(app, false).await;
    let admin = &setup.admin_token;
    app.create_resource(
        admin,
        json!({"uri": OTHER, "name": "Other MCP", "scopes": ["mcp:read"]}),
    )
    .await;
    let other_server = app
        .create_client(
            admin,
            json!({"name": "other server", "grant_types": ["client_credentials"], "served_resources": [OTHER]}),
        )
        .await;
    let agent = app
        .create_client(
            admin,
            json!({"name": "agent", "grant_types": ["client_credentials"], "resources": [setup.resource_uri]}),
        )
        .await;
    let (status, bob) = app
        .admin_call(
            admin,
            Method::POST,
            "/users",
            Some(json!({"username": "bob", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201, "{bob}");
    World {
        alice: app.user_id("alice").await,
        bob: bob["id"].as_str().unwrap().to_owned(),
        setup,
        agent,
        other_server,
    }
}

/// `username` consents to `client` for `resource` and the code is redeemed: the token
/// response (with a refresh token).
async fn consent(
    app: &TestApp,
    client: &TestClient,
    username: &str,
    resource: &str,
    scope: &str,
) -> Value {
    let mut browser = Browser::new();
    let p = pkce();
    let url = authorize_url(
        app,
        client,
        &p.challenge,
        &[("scope", scope), ("resource", resource)],
    );
    let answer = authorize(app, &mut browser, &url, username).await;
    let response = redeem(app, client, &answer["code"], &p.verifier).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string(), "{body}");
    body
}

fn text(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap().to_owned()
}

fn grant_of(tokens: &Value) -> String {
    decode_claims(&text(tokens, "access_token"))["gid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn refresh(app: &TestApp, client: &TestClient, tokens: &Value) -> reqwest::Response {
    let token = text(tokens, "refresh_token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", &token)];
    app.post_form("/token", &form, Some(client)).await
}

async fn active(app: &TestApp, server: &TestClient, tokens: &Value) -> bool {
    app.introspect(server, &text(tokens, "access_token")).await["active"] == true
}

/// `GET /admin/v1/grants{query}`, asserting 200: the page.
async fn list(app: &TestApp, admin: &str, query: &str) -> Value {
    let (status, page) = app
        .admin_call(admin, Method::GET, &format!("/grants{query}"), None)
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn revoke_all(app: &TestApp, admin: &str, body: Value) -> (u16, Value) {
    app.admin_call(admin, Method::POST, "/grants/revoke", Some(body))
        .await
}

/// The `grant.revoked` events, newest first.
async fn revoked_events(app: &TestApp, admin: &str) -> Vec<Value> {
    let (status, page) = app
        .admin_call(
            admin,
            Method::GET,
            "/audit?kind=grant.revoked&limit=200",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_admin_sees_who_holds_which_grant_newest_first_and_filters_by_user_client_resource_and_status()
 {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = &w.setup.admin_token;
    let ide = &w.setup.client;
    let a = w.setup.resource_uri.clone();

    let alice_a = consent(&app, ide, "alice", &a, "mcp:read mcp:write").await;
    app.clock.advance(10);
    let bob_a = consent(&app, ide, "bob", &a, "mcp:read").await;
    app.clock.advance(10);
    let agent = app.client_credentials(&w.agent, Some(&a), None).await;
    app.clock.advance(10);
    let alice_other = consent(&app, ide, "alice", OTHER, "mcp:read").await;
    let (alice_a, bob_a, agent, alice_other) = (
        grant_of(&alice_a),
        grant_of(&bob_a),
        grant_of(&agent),
        grant_of(&alice_other),
    );

    let admin_client = decode_claims(admin)["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let of_admin = ids(&list(&app, admin, &format!("?client={admin_client}")).await);
    assert_eq!(
        of_admin.len(),
        1,
        "the admin API's token comes from a grant too"
    );
    let all = list(&app, admin, "").await;
    assert_eq!(
        ids(&all),
        [&*alice_other, &*agent, &*bob_a, &*alice_a, &*of_admin[0]],
        "newest first: {all}"
    );
    assert!(all.get("next").is_none(), "{all}");
    let first = all["items"][3].clone();
    assert_eq!(
        (&first["kind"], &first["client_id"], &first["client_name"]),
        (
            &json!("authorization_code"),
            &json!(ide.client_id),
            &json!("Example IDE")
        )
    );
    assert_eq!(
        (&first["subject"], &first["username"]),
        (&json!(w.alice), &json!("alice"))
    );
    assert_eq!(
        (&first["resource"], &first["resource_name"]),
        (&json!(a), &json!("Example MCP"))
    );
    assert_eq!(first["scope"], json!(["mcp:read", "mcp:write"]));
    assert!(first["created_at"].is_i64() && first["last_used_at"].is_i64());
    assert!(first.get("revoked_at").is_none(), "{first}");
    // A client's own grant: its subject is the client, no user to name.
    let own = &all["items"][1];
    assert_eq!(
        (&own["kind"], &own["subject"], own.get("username")),
        (
            &json!("client_credentials"),
            &json!(w.agent.client_id),
            None
        )
    );

    let alice = list(&app, admin, &format!("?user={}", w.alice)).await;
    assert_eq!(ids(&alice), [&*alice_other, &*alice_a]);
    let of_agent = list(&app, admin, &format!("?client={}", w.agent.client_id)).await;
    assert_eq!(ids(&of_agent), [&*agent]);
    // The client's own grant is no user's, even asked for by the client's id.
    let as_user = list(&app, admin, &format!("?user={}", w.agent.client_id)).await;
    assert_eq!(ids(&as_user), Vec::<String>::new());
    // The resource as clients send it: canonicalized first.
    let on_a = list(&app, admin, "?resource=HTTPS://MCP.example.com/").await;
    assert_eq!(ids(&on_a), [&*agent, &*bob_a, &*alice_a]);
    let both = list(
        &app,
        admin,
        &format!("?user={}&resource={}", w.alice, OTHER),
    )
    .await;
    assert_eq!(ids(&both), [&*alice_other]);
    // Empty fields (a console's form) filter nothing.
    let empty = list(&app, admin, "?user=&client=&resource=&status=").await;
    assert_eq!(ids(&empty), ids(&all));

    let (status, _) = app
        .admin_call(
            admin,
            Method::POST,
            &format!("/grants/{bob_a}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&list(&app, admin, "?status=live").await),
        [&*alice_other, &*agent, &*alice_a, &*of_admin[0]]
    );
    let revoked = list(&app, admin, "?status=revoked").await;
    assert_eq!(ids(&revoked), [&*bob_a]);
    assert!(revoked["items"][0]["revoked_at"].is_i64(), "{revoked}");
    assert_eq!(ids(&list(&app, admin, "?status=all").await), ids(&all));
    let bobs = list(&app, admin, &format!("?user={}&status=all", w.bob)).await;
    assert_eq!(ids(&bobs), [&*bob_a]);
}

#[tokio::test]
async fn grant_pages_follow_their_cursor_to_the_end_even_within_one_second() {
    let app = spawn_app().await;
    let s = crate::helpers::setup(&app).await;
    // The clock stands still: every grant has the same created_at, the id breaks the tie.
    for n in 0..4 {
        let agent = app
            .create_client(
                &s.admin_token,
                json!({"name": format!("agent {n}"), "grant_types": ["client_credentials"], "resources": [s.resource_uri]}),
            )
            .await;
        app.client_credentials(&agent, None, None).await;
    }
    let whole = ids(&list(&app, &s.admin_token, "").await);
    // Four agents' grants and the admin's own.
    assert_eq!(whole.len(), 5);
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = list(&app, &s.admin_token, &query).await;
        pages += 1;
        assert!(ids(&page).len() <= 2);
        paged.extend(ids(&page));
        match page.get("next").and_then(Value::as_str) {
            Some(next) => query = format!("?limit=2&after={next}"),
            None => break,
        }
        assert!(pages < 10, "the cursor does not advance");
    }
    assert_eq!(paged, whole);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn bad_grant_filters_and_revocation_targets_are_refused_and_revoke_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = &w.setup.admin_token;
    let tokens = consent(
        &app,
        &w.setup.client,
        "alice",
        &w.setup.resource_uri,
        "mcp:read",
    )
    .await;

    for (query, field) in [
        ("?status=expired", "status"),
        ("?status=LIVE", "status"),
        ("?resource=not%20a%20uri", "resource"),
        ("?resource=ftp://mcp.example.com", "resource"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?after=nonsense", "after"),
        ("?after=abc.def", "after"),
        ("?foo=x", "body"),
    ] {
        let (status, body) = app
            .admin_call(admin, Method::GET, &format!("/grants{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }

    for (body, field) in [
        (json!({}), "body"),
        (json!({"user": ""}), "body"),
        (
            json!({"user": w.alice, "client": w.setup.client.client_id}),
            "body",
        ),
        (json!({"client": "x", "resource": OTHER}), "body"),
        (json!({"resource": "not a uri"}), "resource"),
        (json!({"everyone": true}), "body"),
    ] {
        let (status, answer) = revoke_all(&app, admin, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    for body in [
        json!({"user": "no-such-user"}),
        json!({"client": "no-such-client"}),
        json!({"resource": "https://unknown.example.com"}),
    ] {
        let (status, answer) = revoke_all(&app, admin, body.clone()).await;
        assert_eq!(status, 404, "{body}: {answer}");
        assert_eq!(answer["error"], "not_found");
    }
    let (status, _) = app
        .admin_call(admin, Method::POST, "/grants/no-such-grant/revoke", None)
        .await;
    assert_eq!(status, 404);
    let response = app
        .http
        .post(format!("{}/admin/v1/grants/revoke", app.base))
        .bearer_auth(admin)
        .header("content-type", "application/json")
        .body("{\"user\":")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    assert!(revoked_events(&app, admin).await.is_empty());
    assert!(active(&app, &w.setup.server, &tokens).await);
    assert_eq!(refresh(&app, &w.setup.client, &tokens).await.status(), 200);
}

#[tokio::test]
async fn revoking_all_of_a_users_grants_ends_their_tokens_only_and_audits_each_grant() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = &w.setup.admin_token;
    let ide = &w.setup.client;
    let a = w.setup.resource_uri.clone();
    let alice_a = consent(&app, ide, "alice", &a, "mcp:read").await;
    let alice_other = consent(&app, ide, "alice", OTHER, "mcp:read").await;
    let bob_a = consent(&app, ide, "bob", &a, "mcp:read").await;
    let agent = app.client_credentials(&w.agent, None, None).await;

    let (status, body) = revoke_all(&app, admin, json!({"user": w.alice})).await;
    assert_eq!((status, &body), (200, &json!({"revoked": 2})));

    assert!(!active(&app, &w.setup.server, &alice_a).await);
    assert!(!active(&app, &w.other_server, &alice_other).await);
    for tokens in [&alice_a, &alice_other] {
        assert_oauth_error(refresh(&app, ide, tokens).await, 400, "invalid_grant").await;
    }
    // Bob and the agent keep theirs.
    assert!(active(&app, &w.setup.server, &bob_a).await);
    assert!(active(&app, &w.setup.server, &agent).await);
    assert_eq!(refresh(&app, ide, &bob_a).await.status(), 200);

    let events = revoked_events(&app, admin).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let mut grants: Vec<&Value> = events.iter().map(|e| &e["grant_id"]).collect();
    grants.sort_by_key(|g| g.as_str().unwrap().to_owned());
    let mut expected = [grant_of(&alice_a), grant_of(&alice_other)];
    expected.sort();
    assert_eq!(grants, [&json!(expected[0]), &json!(expected[1])]);
    let admin_client = decode_claims(admin)["client_id"].clone();
    for e in &events {
        assert_eq!(
            e["actor"],
            json!({"kind": "admin_client", "id": admin_client})
        );
        assert_eq!(
            (&e["subject"], &e["client_id"]),
            (&json!(w.alice), &json!(ide.client_id))
        );
        assert!(
            e["resource"] == json!(a) || e["resource"] == json!(OTHER),
            "{e}"
        );
        assert_eq!(e["details"], json!({"via": "revoke all for user"}));
    }

    // Again: nothing left to revoke, nothing more recorded.
    let (status, body) = revoke_all(&app, admin, json!({"user": w.alice})).await;
    assert_eq!((status, &body), (200, &json!({"revoked": 0})));
    assert_eq!(revoked_events(&app, admin).await.len(), 2);
    assert_eq!(
        list(&app, admin, &format!("?user={}", w.alice)).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn revoking_all_of_a_resources_grants_ends_user_and_client_grants_for_it_alone() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let admin = &w.setup.admin_token;
    let ide = &w.setup.client;
    let a = w.setup.resource_uri.clone();
    let alice_a = consent(&app, ide, "alice", &a, "mcp:read").await;
    let alice_other = consent(&app, ide, "alice", OTHER, "mcp:read").await;
    let agent = app.client_credentials(&w.agent, None, None).await;

    let (status, body) =
        revoke_all(&app, admin, json!({"resource": "HTTPS://MCP.example.com/"})).await;
    assert_eq!((status, &body), (200, &json!({"revoked": 2})));
    assert!(!active(&app, &w.setup.server, &alice_a).await);
    assert!(!active(&app, &w.setup.server, &agent).await);
    assert_oauth_error(refresh(&app, ide, &alice_a).await, 400, "invalid_grant").await;
    assert!(active(&app, &w.other_server, &alice_other).await);
    assert_eq!(refresh(&app, ide, &alice_other).await.status(), 200);

    let events = revoked_events(&app, admin).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!(e["resource"], json!(a));
        assert_eq!(e["details"]["via"], "revoke all for resource");
    }
    // The client's own grant names no user; the user's names alice.
    let own = events
        .iter()
        .find(|e| e["grant_id"] == json!(grant_of(&agent)))
        .unwrap();
    assert!(own.get("subject").is_none(), "{own}");
    assert_eq!(own["client_id"], json!(w.agent.client_id));
    let users = events
        .iter()
        .find(|e| e["grant_id"] == json!(grant_of(&alice_a)))
        .unwrap();
    assert_eq!(users["subject"], json!(w.alice));

    // The agent's next token starts a new grant.
    let fresh = app.client_credentials(&w.agent, None, None).await;
    assert!(active(&app, &w.setup.server, &fresh).await);
}

#[tokio::test]
async fn revoking_all_of_a_clients_grants_reaches_the_tokens_exchanged_from_them() {
    let app = spawn_app().await;
    let (fx, subject) = exchange::arrange(&app).await;
    let admin = &fx.admin_token;
    let access = text(&subject, "access_token");
    let exchanged =
        issued(exchange::exchange(&app, &fx.s, &access, &[("resource", B)]).await).await;
    assert!(active(&app, &fx.b_server, &exchanged).await);
    let child = grant_of(&exchanged);

    let (status, body) = revoke_all(&app, admin, json!({"client": fx.ide.client_id})).await;
    assert_eq!((status, &body), (200, &json!({"revoked": 1})));
    assert!(!active(&app, &fx.a_server, &subject).await);
    assert!(!active(&app, &fx.b_server, &exchanged).await);
    assert_oauth_error(refresh(&app, &fx.ide, &subject).await, 400, "invalid_grant").await;

    // The exchanged grant reads as revoked through its parent: listed so, and not revoked
    // (nor audited) a second time.
    let of_s = list(
        &app,
        admin,
        &format!("?client={}&status=revoked", fx.s.client_id),
    )
    .await;
    assert_eq!(ids(&of_s), [&*child]);
    assert_eq!(of_s["items"][0]["parent_id"], json!(grant_of(&subject)));
    assert_eq!(of_s["items"][0]["username"], "alice");
    let (status, body) = revoke_all(&app, admin, json!({"client": fx.s.client_id})).await;
    assert_eq!((status, &body), (200, &json!({"revoked": 0})));
    let events = revoked_events(&app, admin).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            &events[0]["grant_id"],
            &events[0]["subject"],
            &events[0]["details"]["via"]
        ),
        (
            &json!(grant_of(&subject)),
            &json!(fx.user_id),
            &json!("revoke all for client")
        )
    );

    // The per-client listing still answers as before.
    let (status, grants) = app
        .admin_call(
            admin,
            Method::GET,
            &format!("/clients/{}/grants", fx.ide.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(grants["items"][0]["id"], json!(grant_of(&subject)));
    assert!(grants["items"][0]["revoked_at"].is_i64());
}

#[tokio::test]
async fn the_cli_lists_and_revokes_grants_like_the_api() {
    // The CLI is another process: no cached status may outlive its revocations here.
    let app = spawn_app_with(&[("WARDEN_CACHE_TTL", "0")]).await;
    let w = world(&app).await;
    let ide = &w.setup.client;
    let a = w.setup.resource_uri.clone();
    let alice_a = consent(&app, ide, "alice", &a, "mcp:read").await;
    let bob_a = consent(&app, ide, "bob", &a, "mcp:read").await;
    let agent = app.client_credentials(&w.agent, None, None).await;

    let listed = crate::helpers::stdout_json(&app.cli(&["grant", "list"]));
    // Alice's, bob's, the agent's and the admin API caller's own.
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    let alice = crate::helpers::stdout_json(&app.cli(&["grant", "list", "--user", &w.alice]));
    assert_eq!(alice[0]["id"], json!(grant_of(&alice_a)));
    assert_eq!(alice.as_array().unwrap().len(), 1);
    let on_a = crate::helpers::stdout_json(&app.cli(&[
        "grant",
        "list",
        "--resource",
        "https://MCP.example.com/",
        "--client",
        &w.agent.client_id,
    ]));
    assert_eq!(on_a[0]["id"], json!(grant_of(&agent)));

    let bad = app.cli(&["grant", "list", "--status", "expired"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("status"));
    let neither = app.cli(&["grant", "revoke"]);
    assert!(!neither.status.success());
    let both = app.cli(&["grant", "revoke", "--user", &w.alice, "--client", "x"]);
    assert!(!both.status.success());

    let one = crate::helpers::stdout_json(&app.cli(&["grant", "revoke", &grant_of(&bob_a)]));
    assert_eq!(one["id"], json!(grant_of(&bob_a)));
    assert!(one["revoked_at"].is_i64(), "{one}");
    assert!(!active(&app, &w.setup.server, &bob_a).await);

    let all =
        crate::helpers::stdout_json(&app.cli(&["grant", "revoke", "--client", &ide.client_id]));
    assert_eq!(all, json!({"revoked": 1}));
    assert!(!active(&app, &w.setup.server, &alice_a).await);
    assert_oauth_error(refresh(&app, ide, &alice_a).await, 400, "invalid_grant").await;
    assert!(active(&app, &w.setup.server, &agent).await);

    let revoked = crate::helpers::stdout_json(&app.cli(&["grant", "list", "--status", "revoked"]));
    assert_eq!(revoked.as_array().unwrap().len(), 2, "{revoked}");
    let events = revoked_events(&app, &w.setup.admin_token).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e["actor"] == json!({"kind": "cli"})));
    assert_eq!(events[0]["details"]["via"], "revoke all for client");

    let missing = app.cli(&["grant", "revoke", "--user", "no-such-user"]);
    assert!(!missing.status.success());
}

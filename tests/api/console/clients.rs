//! Console: the Clients pages. Register (the secret shown once, in the answer to the form),
//! edit, disable, delete (its grants revoked), the listing's filters; each checked through
//! the page and through the admin API or the store, with its audit event.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::browser::location;
use crate::helpers::console::{ADMIN_PASSWORD, Console, console_admin, create_user, signed_in};
use crate::helpers::{TestApp, TestClient, setup, spawn_app};

const MCP: &str = "https://mcp.example.com/mcp";

fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The secret in a page's `.secret-once` box, if any.
fn shown_secret(html: &str) -> Option<String> {
    let start = html.find("class=\"secret-once\">")? + "class=\"secret-once\">".len();
    let end = start + html[start..].find('<')?;
    Some(html[start..end].trim().to_owned())
}

/// The client named `name`, read from the store.
async fn stored(app: &TestApp, name: &str) -> Option<warden::domain::Client> {
    app.state
        .store
        .clients_page("", 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == name)
}

async fn client_count(app: &TestApp) -> usize {
    app.state.store.clients_page("", 1000).await.unwrap().len()
}

/// Audit events of `kind` about `client_id`, through the admin API.
async fn events(app: &TestApp, token: &str, kind: &str, client_id: &str) -> Vec<Value> {
    let path = format!("/audit?kind={kind}&client={}", encoded(client_id));
    let (status, body) = app
        .admin_call(token, reqwest::Method::GET, &path, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn api_client(app: &TestApp, token: &str, client_id: &str) -> (u16, Value) {
    app.admin_call(
        token,
        reqwest::Method::GET,
        &format!("/clients/{client_id}"),
        None,
    )
    .await
}

/// The form of a confidential client_credentials client for the MCP server.
fn machine_client(name: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", name),
        ("token_endpoint_auth_method", "client_secret_basic"),
        ("grant_client_credentials", "1"),
        ("resources", MCP),
        ("scopes", "mcp:read"),
    ]
}

#[tokio::test]
async fn a_confidential_clients_secret_is_shown_once_and_works_at_the_token_endpoint() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;

    let response = console
        .submit("/clients", &machine_client("Nightly job"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "answered with the page");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    let secret = shown_secret(&html).expect("the secret is shown");
    assert!(html.contains("will not show it again"), "{html}");
    assert!(!html.contains("Created."), "no notice from a stale query");

    // Stored as a keyed hash only.
    let client = stored(&app, "Nightly job").await.unwrap();
    let hash = client.secret_hash.clone().unwrap();
    assert_ne!(hash, secret);
    assert!(!hash.contains(&secret));
    assert!(html.contains(&client.client_id));

    // The client's page never shows it again.
    let (status, page) = console
        .page(&format!("/clients/{}", client.client_id))
        .await;
    assert_eq!(status, 200);
    assert!(!page.contains(&secret));
    assert!(shown_secret(&page).is_none());
    assert!(page.contains("Nightly job") && page.contains("client_secret_basic"));

    // It works at /token, within the limits typed on the form.
    let creds = TestClient {
        client_id: client.client_id.clone(),
        client_secret: secret.clone(),
    };
    let token = app.client_credentials(&creds, Some(MCP), None).await;
    assert_eq!(token["scope"], "mcp:read");

    // The admin API sees what the form made; the audit log names the admin, no secret.
    let (status, view) = api_client(&app, &s.admin_token, &client.client_id).await;
    assert_eq!(status, 200);
    assert_eq!(view["grant_types"], json!(["client_credentials"]));
    assert_eq!(view["resources"], json!([MCP]));
    assert_eq!(view["scopes"], json!(["mcp:read"]));
    let created = events(&app, &s.admin_token, "client.created", &client.client_id).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["actor"]["id"], console.user_id);
    assert!(!created[0].to_string().contains(&secret));

    // Its page now lists the grant the token came from.
    let (_, page) = console
        .page(&format!("/clients/{}", client.client_id))
        .await;
    assert!(page.contains("client_credentials") && page.contains(MCP));
    assert!(page.contains(">live<"), "{page}");
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_its_page_follows_the_form() {
    let app = spawn_app().await;
    let mut console = console_admin(&app).await;
    let to = console
        .submit_ok(
            "/clients",
            &[
                ("name", "Desktop IDE"),
                ("token_endpoint_auth_method", "none"),
                ("grant_authorization_code", "1"),
                ("grant_refresh_token", "1"),
                (
                    "redirect_uris",
                    "http://127.0.0.1/callback\r\nhttps://ide.example.com/cb",
                ),
            ],
        )
        .await;
    let client = stored(&app, "Desktop IDE").await.unwrap();
    assert!(client.secret_hash.is_none());
    assert!(
        to.ends_with(&format!("/admin/clients/{}?done=created", client.client_id)),
        "{to}"
    );
    let redirects: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
    assert_eq!(
        redirects,
        ["http://127.0.0.1/callback", "https://ide.example.com/cb"]
    );
    let (status, page) = console
        .page(&format!("/clients/{}?done=created", client.client_id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Created."));
    assert!(shown_secret(&page).is_none());
    assert!(!page.contains("Rotate secret"), "a public client has none");
}

#[tokio::test]
async fn a_bad_redirect_uri_or_resource_comes_back_marked_with_what_was_typed() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let before = client_count(&app).await;

    let response = console
        .submit(
            "/clients",
            &[
                ("name", "Web app"),
                ("token_endpoint_auth_method", "client_secret_post"),
                ("grant_authorization_code", "1"),
                ("redirect_uris", "https://web.example.com/cb\nnot a uri"),
                ("scopes", "mcp:read mcp:write"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(
            r#"<div class="field field-invalid">
      <label for="redirect_uris">"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"name="redirect_uris" rows="3" placeholder="https://app.example.com/callback" aria-invalid="true">https://web.example.com/cb
not a uri</textarea>"#), "{html}");
    assert!(html.contains(r#"value="Web app""#));
    assert!(html.contains(r#"value="mcp:read mcp:write""#));
    assert!(html.contains(r#"<option value="client_secret_post" selected>"#));
    assert!(html.contains(r#"name="grant_authorization_code" value="1" checked"#));
    assert!(!html.contains(r#"name="grant_client_credentials" value="1" checked"#));
    assert!(shown_secret(&html).is_none());

    // An unregistered resource: its own field.
    let mut form = machine_client("Job");
    form[3] = ("resources", "https://unknown.example.com/mcp");
    let response = console.submit("/clients", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("is not a registered resource"), "{html}");
    assert!(html.contains(
        r#"id="resources" name="resources" type="text" value="https://unknown.example.com/mcp""#
    ));
    assert!(html.contains(r#"aria-invalid="true""#));

    // A public client asking for client_credentials: the grant types are at fault.
    let response = console
        .submit(
            "/clients",
            &[
                ("name", "Job"),
                ("token_endpoint_auth_method", "none"),
                ("grant_client_credentials", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("client-grants field-invalid"), "{html}");

    // Nothing stored, nothing audited.
    assert_eq!(client_count(&app).await, before);
    let (_, all) = app
        .admin_call(
            &s.admin_token,
            reqwest::Method::GET,
            "/audit?kind=client.created",
            None,
        )
        .await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"]["id"] != console.user_id.as_str()),
        "{all}"
    );
}

#[tokio::test]
async fn editing_a_client_saves_through_the_service_and_a_bad_edit_changes_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let id = s.agent.client_id.clone();
    let path = format!("/clients/{id}");

    let (status, page) = console.page(&path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"value="agent""#),
        "the form shows the stored values"
    );

    let to = console
        .submit_ok(
            &path,
            &[
                ("name", "renamed agent"),
                ("grant_client_credentials", "1"),
                ("resources", MCP),
                ("scopes", "mcp:write"),
            ],
        )
        .await;
    assert!(to.ends_with(&format!("{path}?done=saved")), "{to}");
    let (_, view) = api_client(&app, &s.admin_token, &id).await;
    assert_eq!(view["name"], "renamed agent");
    assert_eq!(view["scopes"], json!(["mcp:write"]));
    let updated = events(&app, &s.admin_token, "client.updated", &id).await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["actor"]["id"], console.user_id);

    // No grant type at all: refused on its field, nothing changed.
    let response = console
        .submit(&path, &[("name", "emptied"), ("resources", MCP)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("client-grants field-invalid"), "{html}");
    assert!(html.contains(r#"value="emptied""#));
    let (_, view) = api_client(&app, &s.admin_token, &id).await;
    assert_eq!(view["name"], "renamed agent");
    assert_eq!(view["grant_types"], json!(["client_credentials"]));

    // An unknown client: 404.
    let (status, _) = console.page("/clients/no-such-client").await;
    assert_eq!(status, 404);
    let response = console
        .submit("/clients/no-such-client", &[("name", "x")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_client_says_what_it_ends_and_revokes_its_grants() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let id = s.agent.client_id.clone();
    let token = app.client_credentials(&s.agent, Some(MCP), None).await;
    let access = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.introspect(&s.server, &access).await["active"], true);

    let (status, page) = console.page(&format!("/clients/{id}/delete")).await;
    assert_eq!(status, 200);
    assert!(page.contains("This revokes its 1 grant"), "{page}");

    let response = console
        .submit_confirmed(&format!("/clients/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/admin/clients?done=deleted"));

    assert_eq!(app.introspect(&s.server, &access).await["active"], false);
    let (status, _) = api_client(&app, &s.admin_token, &id).await;
    assert_eq!(status, 404);
    let deleted = events(&app, &s.admin_token, "client.deleted", &id).await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["actor"]["id"], console.user_id);
    let (_, list) = console.page("/clients").await;
    assert!(!list.contains(&id));
}

#[tokio::test]
async fn a_disabled_client_gets_no_token_until_it_is_enabled_again() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let id = s.agent.client_id.clone();

    let to = console
        .submit_confirmed(&format!("/clients/{id}/disable"), &[])
        .await;
    assert_eq!(to.status(), StatusCode::SEE_OTHER);
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", MCP)],
            Some(&s.agent),
        )
        .await;
    crate::helpers::assert_oauth_error(response, 401, "invalid_client").await;
    let (_, page) = console.page("/clients").await;
    assert!(page.contains("badge-off"), "{page}");

    console
        .submit_ok(&format!("/clients/{id}/enable"), &[])
        .await;
    app.client_credentials(&s.agent, Some(MCP), None).await;
    let updated = events(&app, &s.admin_token, "client.updated", &id).await;
    assert_eq!(updated.len(), 2);
    assert!(updated.iter().all(|e| e["actor"]["id"] == console.user_id));
}

#[tokio::test]
async fn the_listing_filters_by_how_clients_came_to_be() {
    use crate::helpers::clients::register;
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let dynamic = register(
        &app,
        &json!({"client_name": "Self registered", "redirect_uris": ["http://127.0.0.1/cb"],
                "token_endpoint_auth_method": "none"}),
    )
    .await;
    let dynamic_id = dynamic["client_id"].as_str().unwrap();

    let (status, all) = console.page("/clients").await;
    assert_eq!(status, 200);
    assert!(all.contains(dynamic_id) && all.contains(&s.agent.client_id));

    let (status, only) = console.page("/clients?registration=dynamic").await;
    assert_eq!(status, 200);
    assert!(only.contains(dynamic_id));
    assert!(!only.contains(&s.agent.client_id));
    assert!(only.contains(r#"<option value="dynamic" selected>"#));

    let (status, admins) = console.page("/clients?registration=admin").await;
    assert_eq!(status, 200);
    assert!(!admins.contains(dynamic_id) && admins.contains(&s.agent.client_id));

    let (status, bad) = console.page("/clients?registration=bogus").await;
    assert_eq!(status, 422);
    assert!(bad.contains("field-invalid") && bad.contains("must be admin, dynamic"));
}

#[tokio::test]
async fn a_metadata_document_client_has_its_url_as_id_and_its_page_opens() {
    use crate::helpers::browser::{Browser, authorize_url, interactive, pkce};
    use crate::helpers::clients::{document, public};
    use crate::helpers::doc_server::{Doc, DocServer};
    let docs = DocServer::start().await;
    let app = crate::helpers::spawn_app_with(crate::helpers::upstream::LOOPBACK).await;
    let setup = interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let url = authorize_url(&app, &public(&client_id), &pkce().challenge, &[]);
    assert_eq!(Browser::new().get(&url).await.status(), 303);
    let _ = setup;

    let mut console = console_admin(&app).await;
    let (status, list) = console
        .page("/clients?registration=metadata_document")
        .await;
    assert_eq!(status, 200);
    let link = format!("/admin/clients/{}", encoded(&client_id));
    assert!(list.contains(&link), "{list}");
    let (status, page) = console
        .page(&format!("/clients/{}", encoded(&client_id)))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("metadata document"));
    let response = console
        .submit_confirmed(&format!("/clients/{}/disable", encoded(&client_id)), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with(&format!("{link}?done=disabled")));
    let client = app.state.store.client(&client_id).await.unwrap().unwrap();
    assert!(!client.enabled);
}

#[tokio::test]
async fn a_stale_form_or_a_user_who_is_not_an_admin_changes_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let before = client_count(&app).await;

    // A form from an older session: the re-check page, nothing created or deleted.
    let csrf = std::mem::replace(&mut console.csrf, "stale-token".into());
    let response = console.submit("/clients", &machine_client("Stale")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("Confirm it is you"), "{html}");
    assert!(shown_secret(&html).is_none());
    let response = console
        .submit(&format!("/clients/{}/delete", s.agent.client_id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(client_count(&app).await, before);
    console.csrf = csrf;

    // An old sign-in: deleting asks for the password first.
    app.clock.advance(6 * 60);
    let response = console
        .submit(&format!("/clients/{}/delete", s.agent.client_id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(client_count(&app).await, before);

    // A signed-in user who is not an admin: 403 on pages and forms.
    create_user(&app, "bob", ADMIN_PASSWORD, false).await;
    let mut bob = Console {
        browser: signed_in(&app, "bob", ADMIN_PASSWORD).await,
        issuer: app.issuer.clone(),
        username: "bob".into(),
        user_id: String::new(),
        csrf: String::new(),
    };
    let (status, _) = bob.page("/clients").await;
    assert_eq!(status, 403);
    let (status, _) = bob.page(&format!("/clients/{}", s.agent.client_id)).await;
    assert_eq!(status, 403);
    let response = bob.submit("/clients", &machine_client("Bob's")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(client_count(&app).await, before);
}

#[tokio::test]
async fn the_listing_filters_by_last_use_and_by_never_authorized() {
    use crate::helpers::clients::register;
    let app = spawn_app().await;
    let s = setup(&app).await;
    app.client_credentials(&s.agent, Some(MCP), None).await;
    app.clock.advance(10 * 86_400);
    let mut console = console_admin(&app).await;
    let admin_token = app.admin_token().await;
    let fresh = app
        .create_client(
            &admin_token,
            json!({"name": "fresh", "grant_types": ["client_credentials"], "resources": [MCP]}),
        )
        .await;
    app.client_credentials(&fresh, Some(MCP), None).await;
    let dynamic = register(
        &app,
        &json!({"client_name": "Abandoned", "redirect_uris": ["http://127.0.0.1/cb"],
                "token_endpoint_auth_method": "none"}),
    )
    .await;
    let abandoned = dynamic["client_id"].as_str().unwrap();
    let agent = s.agent.client_id.as_str();

    let (status, recent) = console.page("/clients?used_within=7").await;
    assert_eq!(status, 200);
    assert!(recent.contains(&fresh.client_id), "{recent}");
    assert!(!recent.contains(agent) && !recent.contains(abandoned));
    assert!(
        recent.contains(r#"name="used_within" type="text" inputmode="numeric" size="5" value="7""#)
    );

    let (status, idle) = console.page("/clients?idle_for=7").await;
    assert_eq!(status, 200);
    assert!(idle.contains(agent), "{idle}");
    assert!(!idle.contains(&fresh.client_id) && !idle.contains(abandoned));

    let (status, never) = console
        .page("/clients?never_authorized=true&registration=dynamic")
        .await;
    assert_eq!(status, 200);
    assert!(never.contains(abandoned), "{never}");
    assert!(!never.contains(agent) && !never.contains(&fresh.client_id));
    assert!(never.contains(r#"name="never_authorized" value="true" checked"#));

    // The last use is shown; a client that never obtained a grant says so.
    let (_, all) = console.page("/clients").await;
    assert!(
        all.contains(&warden::http::pages::human_time(warden::clock::Clock::now(
            &*app.clock
        )))
    );
    let (_, page) = console.page(&format!("/clients/{agent}")).await;
    assert!(!page.contains("<dd>never</dd>"), "{page}");
    let (_, page) = console.page(&format!("/clients/{abandoned}")).await;
    assert!(page.contains("<dt>Last used</dt><dd>never</dd>"), "{page}");

    // A bad number of days: 422 on its field, the value kept.
    let (status, bad) = console.page("/clients?idle_for=soon").await;
    assert_eq!(status, 422);
    assert!(bad.contains("must be a whole number of days"), "{bad}");
    assert!(
        bad.contains(r#"value="soon" placeholder="days" aria-invalid="true""#),
        "{bad}"
    );
}

#[tokio::test]
async fn rotating_a_secret_shows_the_new_one_once_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut console = console_admin(&app).await;
    let id = s.agent.client_id.clone();
    let path = format!("/clients/{id}/secret");

    let (status, page) = console.page(&path).await;
    assert_eq!(status, 200);
    assert!(page.contains("stops working at once"), "{page}");

    // An old sign-in: the password first, the secret unchanged.
    app.clock.advance(6 * 60);
    let response = console.submit(&path, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.client_credentials(&s.agent, Some(MCP), None).await;

    let response = console.submit_confirmed(&path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let secret = shown_secret(&html).expect("the new secret is shown");
    assert_ne!(secret, s.agent.client_secret);
    assert!(html.contains("will not show it again"));

    let old = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", MCP)],
            Some(&s.agent),
        )
        .await;
    crate::helpers::assert_oauth_error(old, 401, "invalid_client").await;
    let new = TestClient {
        client_id: id.clone(),
        client_secret: secret.clone(),
    };
    app.client_credentials(&new, Some(MCP), None).await;

    let (_, page) = console.page(&format!("/clients/{id}")).await;
    assert!(!page.contains(&secret) && shown_secret(&page).is_none());
    let rotated = events(&app, &s.admin_token, "client.secret_rotated", &id).await;
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0]["actor"]["id"], console.user_id);
    assert!(!rotated[0].to_string().contains(&secret));

    // A public client has no secret to rotate: 409, nothing written.
    console
        .submit_ok(
            "/clients",
            &[
                ("name", "Public"),
                ("token_endpoint_auth_method", "none"),
                ("grant_authorization_code", "1"),
                ("redirect_uris", "http://127.0.0.1/cb"),
            ],
        )
        .await;
    let public = stored(&app, "Public").await.unwrap();
    let response = console
        .submit_confirmed(&format!("/clients/{}/secret", public.client_id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let public = app
        .state
        .store
        .client(&public.client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(public.secret_hash.is_none());
}

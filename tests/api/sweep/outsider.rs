//! What an outside attacker found (security issue "Close what an outside attacker found",
//! points 6 and 8): the environment cannot route fetches around the SSRF guard, and error
//! pages are neither an oracle (why a fetch failed) nor a billboard (request values).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::support::register_public;
use crate::helpers::browser::{authorize_url, interactive, pkce};
use crate::helpers::clients::{document, public};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::pages::assert_bad_request_page;
use crate::helpers::{TestApp, TestDb, free_port, serve_process, spawn_app_with, wait_ready};

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");
const GENERIC: &str = "metadata could not be retrieved";

/// Accepts and counts connections, answers nothing (a stand-in for a proxy).
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (port, connections)
}

async fn authorize_page(app: &TestApp, client_id: &str) -> String {
    let url = authorize_url(app, &public(client_id), &pkce().challenge, &[]);
    assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await
}

#[tokio::test]
async fn proxy_variables_of_the_environment_do_not_carry_metadata_fetches() {
    crate::helpers::install_crypto_provider();
    let docs = DocServer::start().await;
    let (proxy_port, proxy_connections) = counting_listener().await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let db = TestDb::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env: HashMap<String, String> = db.env().into_iter().collect();
    env.insert("WARDEN_BIND".into(), format!("127.0.0.1:{port}"));
    env.insert("WARDEN_ISSUER".into(), base.clone());
    env.insert(LOOPBACK_FETCH.0.into(), LOOPBACK_FETCH.1.into());
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        env.insert(name.into(), proxy.clone());
    }
    let _server = serve_process(&env);
    wait_ready(&base).await;

    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let mut url = url::Url::parse(&format!("{base}/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("code_challenge", pkce().challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    http.get(url.as_str()).send().await.unwrap();
    assert_eq!(
        proxy_connections.load(Ordering::SeqCst),
        0,
        "the fetch went through the environment's proxy"
    );
    assert_eq!(docs.hits(), 1, "the document was fetched directly");
}

#[tokio::test]
async fn an_egress_proxy_is_used_when_the_operator_names_one() {
    let docs = DocServer::start().await;
    let (proxy_port, proxy_connections) = counting_listener().await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let app = spawn_app_with(&[LOOPBACK_FETCH, ("WARDEN_EGRESS_PROXY", &proxy)]).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    let page = authorize_page(&app, &client_id).await;
    assert!(page.contains(GENERIC), "the silent proxy times out: {page}");
    assert_eq!(proxy_connections.load(Ordering::SeqCst), 1);
    assert_eq!(docs.hits(), 0, "nothing went around the proxy");
}

#[tokio::test]
async fn a_special_use_address_and_a_missing_document_get_the_same_generic_page() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let missing = docs.url("/missing.json");
    docs.serve("/missing.json", Doc::json(&document(&missing)).status(404));
    let inside = "https://10.1.2.3/client.json";
    let missing_page = authorize_page(&app, &missing).await;
    let inside_page = authorize_page(&app, inside).await;
    assert!(missing_page.contains(GENERIC), "{missing_page}");
    assert_eq!(missing_page, inside_page, "the page says nothing about why");
    for reason in ["404", "status", "special-use", "10.1.2.3", "private"] {
        assert!(!inside_page.contains(reason), "{reason}: {inside_page}");
        assert!(!missing_page.contains(reason), "{reason}: {missing_page}");
    }
    for client_id in [missing.as_str(), inside] {
        assert!(app.state.store.client(client_id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_failed_document_is_not_fetched_again_for_a_minute() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    docs.serve("/client.json", Doc::json(&document(&client_id)).status(500));
    authorize_page(&app, &client_id).await;
    assert_eq!(docs.hits(), 1);
    // The document is fixed at once, but Warden remembers the failure.
    docs.serve("/client.json", Doc::json(&document(&client_id)));
    for _ in 0..3 {
        let page = authorize_page(&app, &client_id).await;
        assert!(page.contains(GENERIC), "{page}");
    }
    assert_eq!(docs.hits(), 1, "a remembered failure reaches no server");

    // A minute later it is fetched again and the legitimate client works.
    app.clock.advance(61);
    let url = authorize_url(&app, &public(&client_id), &pkce().challenge, &[]);
    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(docs.hits(), 2);
    assert!(app.state.store.client(&client_id).await.unwrap().is_some());
}

#[tokio::test]
async fn error_pages_echo_at_most_a_short_quoted_excerpt_of_a_request_value() {
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let client = register_public(&app, &[crate::helpers::browser::REDIRECT]).await;
    let long = format!("{}{}", "A".repeat(64), "B".repeat(1500));
    let not_a_uri = format!("not-a-uri-{long}");
    let scopes = format!("mcp:read {long}");
    for extra in [
        ("prompt", long.as_str()),
        ("resource", not_a_uri.as_str()),
        ("scope", scopes.as_str()),
    ] {
        let url = authorize_url(&app, &client, &pkce().challenge, &[extra]);
        let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
        assert!(
            !page.contains("AB"),
            "{}: echoed past 64 characters",
            extra.0
        );
        assert!(!page.contains(&"B".repeat(10)), "{}: {page}", extra.0);
    }
    // A metadata document is the attacker's text too: its values are cut the same way.
    let docs = DocServer::start().await;
    let client_id = docs.url("/long.json");
    let mut doc = document(&client_id);
    doc["redirect_uris"] = serde_json::json!([format!("javascript:{long}")]);
    docs.serve("/long.json", Doc::json(&doc));
    let page = authorize_page(&app, &client_id).await;
    assert!(page.contains("forbidden scheme"), "{page}");
    assert!(!page.contains("AB"), "{page}");
    assert!(app.state.store.client(&client_id).await.unwrap().is_none());
    assert_eq!(
        crate::helpers::scalar(&app.db, "SELECT COUNT(*) FROM authorization_requests").await,
        0,
        "nothing stored"
    );
}

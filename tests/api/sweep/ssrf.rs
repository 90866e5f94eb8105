//! Hostile-input sweep, security.md §5 M (cases 113–118): what Warden fetches (client ID
//! metadata documents, `jwks_uri`) and what it must not. Also case 76 (G: a registered
//! `jwks_uri` inside the network).
//!
//! Tests of special-use addresses run without `WARDEN_DEV_ALLOW_LOOPBACK_FETCH`, and watch
//! plain TCP listeners on the loopback addresses named in the URLs: a refused fetch must
//! not even connect. (The document server of the other tests counts only complete HTTP
//! requests, which a TLS handshake never is.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::ES256;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{assertion_claims, sign_with};
use crate::helpers::assertions::redeem_with_assertion;
use crate::helpers::browser::{
    Browser, PASSWORD, REDIRECT, authorize_url, interactive, pkce, sign_in,
};
use crate::helpers::clients::{NOT_RETRIEVED, document, post_register, public};
use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::pages::assert_bad_request_page;
use crate::helpers::{TestApp, TestClient, setup, spawn_app, spawn_app_with};

const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");

/// A TCP listener that accepts and counts connections, and never answers.
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    async fn on(address: &str) -> Option<Listener> {
        let listener = tokio::net::TcpListener::bind(address).await.ok()?;
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
        Some(Listener { port, connections })
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// GET /authorize for the metadata-document client `client_id` (no session).
async fn authorize_document_client(app: &TestApp, client_id: &str) -> reqwest::Response {
    let p = pkce();
    let url = authorize_url(app, &public(client_id), &p.challenge, &[]);
    app.http.get(&url).send().await.unwrap()
}

/// A token request authenticated by a `private_key_jwt` assertion signed with `key` (the
/// code is made up: client authentication comes first, and needs the client's keys).
async fn authenticate_with_key(app: &TestApp, key: &Jwk, client_id: &str) -> reqwest::Response {
    let signer = ES256.signer_from_jwk(key).unwrap();
    let assertion = sign_with(&signer, "k", &assertion_claims(app, client_id));
    redeem_with_assertion(app, client_id, "made-up-code", &pkce().verifier, &assertion).await
}

/// Registers a `private_key_jwt` client whose keys are at `jwks_uri`; returns its id, or
/// `None` when registration refused the URI (allowed: refused at registration, or at
/// fetch).
async fn register_jwks_uri(app: &TestApp, jwks_uri: &str) -> Option<String> {
    let response = post_register(
        app,
        &json!({"client_name": "Key Client", "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwks_uri}),
    )
    .await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    match status {
        201 => Some(body["client_id"].as_str().unwrap().to_owned()),
        400 => {
            assert_eq!(
                body["error"], "invalid_client_metadata",
                "{jwks_uri}: {body}"
            );
            None
        }
        _ => panic!("{jwks_uri}: {status} {body}"),
    }
}

fn signing_key() -> Jwk {
    let mut key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    key.set_key_id("k");
    key.set_algorithm("ES256");
    key
}

fn public_set(key: &Jwk) -> Value {
    let mut public = key.to_public_key().unwrap();
    public.set_key_id("k");
    json!({"keys": [serde_json::to_value(public.as_ref()).unwrap()]})
}

#[tokio::test]
async fn special_use_addresses_are_refused_before_any_connection() {
    let v4 = Listener::on("127.0.0.1:0").await.unwrap();
    let v6 = Listener::on("[::1]:0").await;
    let p = v4.port;
    let q = v6.as_ref().map_or(p, |l| l.port);
    let app = spawn_app().await;
    interactive(&app, true).await;

    // Case 113 (ssrf-special-use-ips), as client ID metadata document URLs. The URL
    // parser turns odd IPv4 spellings into the address they mean (or the URL fails the
    // canonical-form rule), so every one ends at the same check.
    let mut client_ids = vec![
        format!("https://127.0.0.1:{p}/client.json"),
        format!("https://127.1:{p}/client.json"),
        format!("https://0177.0.0.1:{p}/client.json"),
        format!("https://0x7f.0.0.1:{p}/client.json"),
        format!("https://2130706433:{p}/client.json"),
        format!("https://0.0.0.0:{p}/client.json"),
        format!("https://[::ffff:127.0.0.1]:{p}/client.json"),
        format!("https://[::ffff:7f00:1]:{p}/client.json"),
        format!("https://[64:ff9b::7f00:1]:{p}/client.json"),
        format!("https://[::7f00:1]:{p}/client.json"),
        format!("https://[::1]:{q}/client.json"),
        format!("https://[::]:{q}/client.json"),
        "https://169.254.169.254/latest/meta-data/client.json".to_owned(),
        "https://10.0.0.1/client.json".to_owned(),
        "https://172.16.0.1/client.json".to_owned(),
        "https://192.168.1.1/client.json".to_owned(),
        "https://100.64.0.1/client.json".to_owned(),
        "https://[fd00::1]/client.json".to_owned(),
        "https://[fe80::1]/client.json".to_owned(),
        "https://198.18.0.1/client.json".to_owned(),
        "https://224.0.0.1/client.json".to_owned(),
    ];
    // Case 114 (ssrf-dns-rebinding), in part: a name is resolved and every address it
    // resolves to is checked before connecting (then the connection is pinned to the
    // checked address in src/fetch.rs). A resolver that changes its answer between two
    // lookups cannot be staged in this harness, so that leg is not exercised here.
    client_ids.push(format!("https://localhost:{p}/client.json"));
    for client_id in &client_ids {
        let started = Instant::now();
        let page = assert_bad_request_page(authorize_document_client(&app, client_id).await).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{client_id}: refused at once, no connection attempt"
        );
        assert!(page.contains("cannot be used"), "{client_id}: {page}");
        assert!(
            page.contains(NOT_RETRIEVED) || page.contains("canonical form"),
            "{client_id}: {page}"
        );
        assert!(
            app.state.store.client(client_id).await.unwrap().is_none(),
            "{client_id}"
        );
    }

    // Case 76 (dcr-jwks-uri-ssrf) and case 113 for `jwks_uri`: registration may record
    // the URI, but authenticating never fetches it.
    let key = signing_key();
    for jwks_uri in [
        format!("https://127.0.0.1:{p}/jwks.json"),
        format!("http://127.0.0.1:{p}/jwks.json"),
        format!("https://localhost:{p}/jwks.json"),
        format!("http://localhost:{p}/jwks.json"),
        format!("https://[::ffff:7f00:1]:{p}/jwks.json"),
        format!("https://[::1]:{q}/jwks.json"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://10.0.0.1/jwks.json".to_owned(),
        "https://10.255.255.1:8443/jwks.json".to_owned(),
    ] {
        let Some(client_id) = register_jwks_uri(&app, &jwks_uri).await else {
            continue;
        };
        let started = Instant::now();
        let response = authenticate_with_key(&app, &key, &client_id).await;
        assert!(started.elapsed() < Duration::from_secs(3), "{jwks_uri}");
        assert_eq!(response.status(), 401, "{jwks_uri}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{jwks_uri}: {body}");
    }

    // Case 118 (logo-not-fetched-or-guarded): URIs of the client's pages and logo are
    // recorded, never fetched by Warden, and not put on the consent page for the
    // browser to load either.
    let logo = format!("https://127.0.0.1:{p}/logo.png");
    let response = post_register(
        &app,
        &json!({"client_name": "Logo Client", "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none", "logo_uri": logo,
                "client_uri": format!("https://127.0.0.1:{p}/"),
                "policy_uri": format!("https://127.0.0.1:{p}/policy"),
                "tos_uri": format!("https://127.0.0.1:{p}/tos")}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["logo_uri"], logo);
    let client = TestClient::from_view(&registered);
    let challenge = pkce().challenge;
    let url = authorize_url(&app, &client, &challenge, &[("scope", "mcp:read")]);
    let mut browser = Browser::new();
    let first = browser.get(&url).await;
    let login = browser.follow(&app, first).await;
    let consent = sign_in(&app, &mut browser, login, "alice", PASSWORD).await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(html.contains("Logo Client"), "{html}");
    assert!(!html.contains(&format!("127.0.0.1:{p}")), "{html}");

    assert_eq!(v4.connections(), 0, "nothing connected to 127.0.0.1:{p}");
    if let Some(v6) = &v6 {
        assert_eq!(v6.connections(), 0, "nothing connected to [::1]:{q}");
    }
}

/// Answers every request with a 200 whose body arrives one byte every 250 ms.
async fn trickle_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..120 {
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn redirects_are_not_followed_and_slow_or_huge_documents_are_cut_off() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let s = setup(&app).await;

    // Case 115 (ssrf-redirects): a 3xx is a failure, its target never requested.
    let good = docs.url("/good.json");
    docs.serve("/good.json", Doc::json(&document(&good)));
    for (path, to, status) in [
        (
            "/to-metadata.json",
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            302,
        ),
        ("/to-good.json", good.clone(), 302),
        ("/permanent.json", good.clone(), 301),
        ("/temporary.json", good.clone(), 307),
        ("/permanent-308.json", good.clone(), 308),
    ] {
        docs.serve(path, Doc::redirect(&to).status(status));
        let hits = docs.hits();
        let page =
            assert_bad_request_page(authorize_document_client(&app, &docs.url(path)).await).await;
        assert!(page.contains(NOT_RETRIEVED), "{path}: {page}");
        assert_eq!(
            docs.hits(),
            hits + 1,
            "{path}: the target was not requested"
        );
    }
    let key = signing_key();
    docs.serve("/keys.json", Doc::json(&public_set(&key)));
    docs.serve("/keys-moved.json", Doc::redirect(&docs.url("/keys.json")));
    let client_id = register_jwks_uri(&app, &docs.url("/keys-moved.json"))
        .await
        .unwrap();
    let hits = docs.hits();
    let response = authenticate_with_key(&app, &key, &client_id).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        docs.hits(),
        hits + 1,
        "the key set behind the redirect was not fetched"
    );

    // Case 116 (ssrf-scheme-and-size): other schemes are no metadata documents at all...
    let hits = docs.hits();
    for client_id in [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_GET%20/",
        "ftp://127.0.0.1/client.json",
        "http://example.com/client.json",
        "javascript:alert(1)",
        "data:application/json,{}",
    ] {
        assert_bad_request_page(authorize_document_client(&app, client_id).await).await;
        assert!(app.state.store.client(client_id).await.unwrap().is_none());
    }
    // ...nor key set locations.
    for jwks_uri in [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/x",
        "ftp://127.0.0.1/jwks.json",
        "http://example.com/jwks.json",
    ] {
        assert_eq!(register_jwks_uri(&app, jwks_uri).await, None, "{jwks_uri}");
    }
    assert_eq!(docs.hits(), hits);
    // A 10 MB document is cut off at 5 KB, announced or not.
    let ten_mb = "x".repeat(10 * 1024 * 1024);
    docs.serve("/huge.json", Doc::raw("application/json", &ten_mb));
    docs.serve(
        "/huge-unannounced.json",
        Doc::raw("application/json", &ten_mb).without_length(),
    );
    for path in ["/huge.json", "/huge-unannounced.json"] {
        let started = Instant::now();
        let page =
            assert_bad_request_page(authorize_document_client(&app, &docs.url(path)).await).await;
        assert!(page.contains(NOT_RETRIEVED), "{path}: {page}");
        assert!(started.elapsed() < Duration::from_secs(3), "{path}");
    }
    // A server that trickles one byte every 250 ms is cut off by the total time limit
    // (5 s), and meanwhile the single worker serves everyone else.
    let trickle = trickle_server().await;
    let slow_id = format!("http://127.0.0.1:{trickle}/client.json");
    let started = Instant::now();
    let pending = {
        let (http, url) = (
            app.http.clone(),
            authorize_url(&app, &public(&slow_id), &pkce().challenge, &[]),
        );
        tokio::spawn(async move {
            let response = http.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let asked = Instant::now();
        app.get_json("/.well-known/oauth-authorization-server")
            .await;
        app.client_credentials(&s.agent, None, None).await;
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "the server is not held up by the slow fetch"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!pending.is_finished(), "the slow fetch is still running");
    let (status, page) = pending.await.unwrap();
    let took = started.elapsed();
    assert_eq!(status, 400, "{page}");
    // The cut-off (the client's whole-request timeout firing mid-body) is logged; the
    // page says only that the document could not be retrieved.
    assert!(page.contains(NOT_RETRIEVED), "{page}");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

#[tokio::test]
async fn failed_documents_are_never_cached_and_redirect_uris_come_from_the_document() {
    let docs = DocServer::start().await;
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    interactive(&app, true).await;
    let client_id = docs.url("/client.json");
    let long_cache = |doc: Doc| doc.header("cache-control", "public, max-age=3600");

    // Case 117 (cimd-id-mismatch-no-cache): a document whose client_id is not its URL
    // exactly (a trailing slash, another case), then a 500, each with a long cache
    // lifetime: each attempt is refused and nothing is cached as a client. (A failed
    // fetch, the 500, is remembered as a failure for a minute: then fetched afresh.)
    let mut fetches = 0;
    for (doc, reason) in [
        (
            long_cache(Doc::json(&document(&format!("{client_id}/")))),
            "differs from the URL",
        ),
        (
            long_cache(Doc::json(&document(
                &client_id.replace("/client.json", "/Client.json"),
            ))),
            "differs from the URL",
        ),
        (
            long_cache(Doc::json(&document(&client_id)).status(500)),
            NOT_RETRIEVED,
        ),
    ] {
        docs.serve("/client.json", doc);
        let page = assert_bad_request_page(authorize_document_client(&app, &client_id).await).await;
        fetches += 1;
        assert!(page.contains(reason), "{reason}: {page}");
        assert_eq!(docs.hits(), fetches, "fetched again, nothing cached");
        assert!(app.state.store.client(&client_id).await.unwrap().is_none());
    }

    // Fixed, the document is used once the failure is forgotten (the request goes on to
    // sign-in).
    docs.serve(
        "/client.json",
        Doc::json(&document(&client_id)).header("cache-control", "no-store"),
    );
    app.clock.advance(61);
    let response = authorize_document_client(&app, &client_id).await;
    fetches += 1;
    assert_eq!(response.status(), 303);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/login?request="),
        "{:?}",
        response.headers()["location"]
    );
    assert_eq!(docs.hits(), fetches);
    assert!(app.state.store.client(&client_id).await.unwrap().is_some());

    // Its redirect URIs, and only those, may be used.
    let p = pkce();
    let url = authorize_url(
        &app,
        &public(&client_id),
        &p.challenge,
        &[("redirect_uri", "http://127.0.0.1:7777/elsewhere")],
    );
    let page = assert_bad_request_page(app.http.get(&url).send().await.unwrap()).await;
    fetches += 1;
    assert!(page.contains("Invalid redirect address"), "{page}");

    // The stored row does not stand in for a document that now fails.
    docs.serve("/client.json", Doc::json(&document(&client_id)).status(500));
    let page = assert_bad_request_page(authorize_document_client(&app, &client_id).await).await;
    fetches += 1;
    assert!(page.contains(NOT_RETRIEVED), "{page}");
    assert_eq!(docs.hits(), fetches);
}

//! `GET /admin/v1/audit` (filters, cursor), `warden audit tail|export`, and the retention
//! purge by the maintenance tick. The events are written through the store, as the flows
//! write them; the other modules here show each flow writing its own.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use warden::domain::{Actor, AuditEvent, AuditKind};

use crate::helpers::assertions::now;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// Five events over three seconds, two in the same second; returns them oldest first.
async fn seed(app: &TestApp) -> Vec<AuditEvent> {
    let t = now(app);
    let events = vec![
        AuditEvent::new(AuditKind::SigninFailed, Actor::anonymous(), t - 3)
            .subject("u-alice")
            .source("10.0.0.1")
            .failed("wrong password"),
        AuditEvent::new(AuditKind::ConsentGiven, Actor::user("u-alice"), t - 2)
            .subject("u-alice")
            .client("ide")
            .resource("https://mcp.example.com/mcp"),
        AuditEvent::new(AuditKind::GrantRevoked, Actor::admin_client("root"), t - 1)
            .subject("u-bob")
            .client("ide")
            .grant("g-1"),
        AuditEvent::new(AuditKind::ResourceCreated, Actor::cli(), t - 1)
            .resource("https://api.example.com/v1")
            .details(json!({"name": {"before": null, "after": "API"}})),
        AuditEvent::new(AuditKind::KeyRotated, Actor::system(), t),
    ];
    for event in &events {
        app.state.store.audit(event).await.unwrap();
    }
    events
}

/// The ids `query` lists, of the `seeded` events only (getting an admin token is audited
/// too).
async fn ids(app: &TestApp, token: &str, query: &str, seeded: &[AuditEvent]) -> Vec<String> {
    let (status, page) = app
        .admin_call(token, Method::GET, &format!("/audit{query}"), None)
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .filter(|id| seeded.iter().any(|e| &e.id == id))
        .collect()
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_subject_client_resource_kind_and_time() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let e = seed(&app).await;
    let id = |i: usize| e[i].id.clone();
    let t = now(&app);

    // Newest first; the two events of one second in id order, newest first.
    assert_eq!(
        ids(&app, &token, "", &e).await,
        [id(4), id(3), id(2), id(1), id(0)]
    );
    let cases: Vec<(String, Vec<String>)> = vec![
        ("?actor=u-alice".into(), vec![id(1)]),
        ("?actor=user".into(), vec![id(1)]),
        ("?actor=admin_client:root".into(), vec![id(2)]),
        ("?actor=admin_client:someone-else".into(), vec![]),
        ("?actor=cli".into(), vec![id(3)]),
        ("?subject=u-alice".into(), vec![id(1), id(0)]),
        ("?client=ide".into(), vec![id(2), id(1)]),
        ("?client=ide&subject=u-bob".into(), vec![id(2)]),
        (
            "?resource=https%3A%2F%2Fmcp.example.com%2Fmcp".into(),
            vec![id(1)],
        ),
        ("?kind=signin.failed".into(), vec![id(0)]),
        (format!("?since={}", t - 1), vec![id(4), id(3), id(2)]),
        (format!("?until={}", t - 1), vec![id(1), id(0)]),
        (
            format!("?since={}&until={}", t - 2, t),
            vec![id(3), id(2), id(1)],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&app, &token, &query, &e).await, expected, "{query}");
    }

    // What an event looks like.
    let (_, page) = app
        .admin_call(&token, Method::GET, "/audit?kind=signin.failed", None)
        .await;
    assert_eq!(
        page["items"][0],
        json!({"id": id(0), "at": t - 3, "kind": "signin.failed",
               "actor": {"kind": "anonymous"}, "subject": "u-alice", "source": "10.0.0.1",
               "outcome": "failure", "reason": "wrong password", "details": {}})
    );

    // Bad filters are 422, naming their field where serde's message does (a number that
    // does not parse names none); a non-admin token is refused.
    for (query, field) in [
        ("?kind=sign-in", json!("kind")),
        ("?before=nonsense", json!("before")),
        ("?limit=0", json!("limit")),
        ("?limit=201", json!("limit")),
        ("?since=yesterday", Value::Null),
        ("?colour=red", json!("body")),
    ] {
        let (status, body) = app
            .admin_call(&token, Method::GET, &format!("/audit{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (status, _) = app
        .admin_call("not-a-token", Method::GET, "/audit", None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn audit_pages_cover_every_event_once_newest_first_even_within_one_second() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let mut all = seed(&app).await;
    // Three more in the newest second: the cursor must split a second between pages.
    let t = now(&app);
    for _ in 0..3 {
        let event = AuditEvent::new(AuditKind::KeyRotated, Actor::cli(), t);
        app.state.store.audit(&event).await.unwrap();
        all.push(event);
    }
    let mut expected: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
    expected.sort_by_key(|id| {
        let at = all.iter().find(|e| &e.id == id).unwrap().at;
        (std::cmp::Reverse(at), std::cmp::Reverse(id.clone()))
    });

    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let (status, page) = app
            .admin_call(&token, Method::GET, &format!("/audit{query}"), None)
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        seen.retain(|id| all.iter().any(|e| &e.id == id));
        match page.get("next").and_then(Value::as_str) {
            Some(next) => query = format!("?limit=3&before={next}"),
            None => break,
        }
        assert!(seen.len() <= expected.len(), "{seen:?}");
    }
    assert_eq!(seen, expected);
    // A filter holds across pages.
    let (_, page) = app
        .admin_call(&token, Method::GET, "/audit?limit=2&kind=key.rotated", None)
        .await;
    let next = page["next"].as_str().unwrap();
    let (_, rest) = app
        .admin_call(
            &token,
            Method::GET,
            &format!("/audit?limit=2&kind=key.rotated&before={next}"),
            None,
        )
        .await;
    let kinds: Vec<&Value> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(kinds, [&json!("key.rotated"), &json!("key.rotated")]);
}

#[tokio::test]
async fn every_kind_the_openapi_document_names_is_a_filter_the_server_accepts() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let doc = app.get_json("/admin/v1/openapi.json").await;
    let kinds = doc["components"]["schemas"]["AuditKind"]["enum"]
        .as_array()
        .unwrap();
    assert!(kinds.len() > 20, "{kinds:?}");
    for kind in kinds {
        let kind = kind.as_str().unwrap();
        let (status, body) = app
            .admin_call(&token, Method::GET, &format!("/audit?kind={kind}"), None)
            .await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(kind.parse::<AuditKind>().unwrap().as_str(), kind);
    }
}

#[tokio::test]
async fn the_maintenance_tick_purges_events_older_than_the_retention() {
    let app = spawn_app_with(&[
        ("WARDEN_AUDIT_RETENTION", "1d"),
        ("WARDEN_KEY_REFRESH_INTERVAL", "1"),
        ("WARDEN_KEY_ACTIVATION_DELAY", "1"),
    ])
    .await;
    let t = now(&app);
    let old = AuditEvent::new(AuditKind::KeyRotated, Actor::cli(), t - 86_400 - 1);
    let kept = AuditEvent::new(AuditKind::KeyRotated, Actor::cli(), t - 86_400 + 60);
    for event in [&old, &kept] {
        app.state.store.audit(event).await.unwrap();
    }
    let store = &app.state.store;
    let listed = || async {
        let page = store
            .audit_page(&Default::default(), None, 10)
            .await
            .unwrap();
        page.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    let started = Instant::now();
    while listed().await.contains(&old.id) {
        assert!(started.elapsed() < Duration::from_secs(10), "never purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed().await, vec![kept.id]);
}

/// The JSON lines a `warden audit` command printed (asserting success).
fn lines(app: &TestApp, args: &[&str]) -> Vec<Value> {
    let output = app.cli(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn warden_audit_tail_and_export_print_json_lines_oldest_first() {
    let app = spawn_app().await;
    let e = seed(&app).await;
    let id = |line: &Value| line["id"].as_str().unwrap().to_owned();

    let tail = lines(&app, &["audit", "tail", "-n", "2"]);
    assert_eq!(
        tail.iter().map(id).collect::<Vec<_>>(),
        [e[3].id.clone(), e[4].id.clone()]
    );
    assert_eq!(tail[1]["kind"], "key.rotated");
    assert_eq!(tail[1]["actor"], json!({"kind": "system"}));
    assert_eq!(lines(&app, &["audit", "tail"]).len(), 5);

    let since = (e[2].at).to_string();
    let export = lines(&app, &["audit", "export", "--since", &since]);
    let exported: Vec<String> = export.iter().map(id).collect();
    let mut expected: Vec<String> = e[2..].iter().map(|e| e.id.clone()).collect();
    expected[..2].sort();
    assert_eq!(exported, expected);
    // The test clock stands still at the wall clock's time of start-up: an hour ago
    // covers every event.
    assert_eq!(lines(&app, &["audit", "export", "--since", "1h"]).len(), 5);

    for bad in [
        vec!["audit", "export", "--since", "yesterday"],
        vec!["audit", "tail", "-n", "0"],
    ] {
        let output = app.cli(&bad);
        assert!(!output.status.success(), "{bad:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--since") || stderr.contains("-n"),
            "{stderr}"
        );
    }
}

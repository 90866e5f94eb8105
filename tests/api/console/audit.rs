//! The console's audit log: newest first, the API's filters with dates for people, and the
//! "older" link that keeps the filters.

use serde_json::json;
use warden::domain::{Actor, AuditEvent, AuditKind};
use warden::http::pages::human_time;

use super::providers::{is_marked, non_admin};
use crate::helpers::assertions::now;
use crate::helpers::console::console_admin;
use crate::helpers::{TestApp, spawn_app};

const DAY: i64 = 86_400;

/// Three events a day apart, the newest a day ago.
async fn seed(app: &TestApp) {
    let t = now(app);
    let events = [
        AuditEvent::new(AuditKind::SigninFailed, Actor::anonymous(), t - 3 * DAY)
            .subject("u-alice")
            .failed("wrong password"),
        AuditEvent::new(AuditKind::ConsentGiven, Actor::user("u-alice"), t - 2 * DAY)
            .subject("u-alice")
            .client("ide")
            .resource("https://mcp.example.com/mcp"),
        AuditEvent::new(AuditKind::ResourceCreated, Actor::cli(), t - DAY)
            .resource("https://api.example.com/v1")
            .details(json!({"name": {"before": null, "after": "API"}})),
    ];
    for event in &events {
        app.state.store.audit(event).await.unwrap();
    }
}

/// The kinds of the table's rows, top to bottom.
fn kinds(html: &str) -> Vec<String> {
    html.split(r#"<span class="tag">"#)
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect()
}

/// The page's text with askama's escapes of quotes and ampersands undone.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// `YYYY-MM-DD` of an epoch second.
fn day(t: i64) -> String {
    human_time(t)[..10].to_owned()
}

#[tokio::test]
async fn the_audit_log_shows_events_newest_first_and_filters_them_as_the_api_does() {
    let app = spawn_app().await;
    seed(&app).await;
    let mut console = console_admin(&app).await;
    let t = now(&app);

    let (status, html) = console.page("/audit").await;
    assert_eq!(status, 200);
    let all = kinds(&html);
    // The admin's own sign-in is the newest; the seeded ones follow, newest first.
    assert_eq!(all[0], "signin.succeeded", "{all:?}");
    assert_eq!(
        &all[all.len() - 3..],
        ["resource.created", "consent.given", "signin.failed"]
    );
    assert!(html.contains(&human_time(t - DAY)));
    assert!(html.contains("wrong password"));
    assert!(
        html.contains(&console.username),
        "the chrome names who is signed in"
    );
    // Details as compact JSON, escaped.
    assert!(
        unescape(&html).contains(r#"{"name":{"before":null,"after":"API"}}"#),
        "{html}"
    );
    // Every kind is a choice.
    assert!(html.contains(r#"<option value="metadata_domain.forgotten""#));

    let (_, html) = console.page("/audit?kind=signin.failed").await;
    assert_eq!(kinds(&html), ["signin.failed"]);
    assert!(html.contains(r#"<option value="signin.failed" selected>"#));
    // The CLI created the seeded resource and the console's admin account.
    let (_, html) = console.page("/audit?actor=cli").await;
    assert_eq!(kinds(&html), ["user.created", "resource.created"]);
    let (_, html) = console.page("/audit?subject=u-alice&client=ide").await;
    assert_eq!(kinds(&html), ["consent.given"]);
    let (_, html) = console
        .page("/audit?resource=https%3A%2F%2Fapi.example.com%2Fv1")
        .await;
    assert_eq!(kinds(&html), ["resource.created"]);

    // Dates are UTC days (since: at or after; until: before) or datetime-local values.
    let since = day(t - 2 * DAY);
    let until = day(t - DAY);
    let (status, html) = console
        .page(&format!("/audit?since={since}&until={until}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(kinds(&html), ["consent.given"], "{since} {until}");
    assert!(html.contains(&format!(r#"value="{since}""#)));
    let minute = human_time(t - DAY).replace(' ', "T");
    let (_, html) = console
        .page(&format!(
            "/audit?since={}&kind=resource.created",
            &minute[..16]
        ))
        .await;
    assert_eq!(kinds(&html), ["resource.created"]);

    // Bad values: 422 with the field marked and the value kept; no rows.
    let (status, html) = console.page("/audit?since=last+week&actor=cli").await;
    assert_eq!(status, 422);
    assert!(is_marked(&html, "since"), "{html}");
    assert!(html.contains(r#"value="last week""#));
    assert!(html.contains(r#"value="cli""#));
    assert!(kinds(&html).is_empty());
    let (status, html) = console.page("/audit?until=2026-02-30").await;
    assert_eq!(status, 422);
    assert!(is_marked(&html, "until"));
    let (status, html) = console.page("/audit?kind=no.such.kind").await;
    assert_eq!(status, 422);
    assert!(is_marked(&html, "kind"), "{html}");
    let (status, _) = console.page("/audit?before=not-a-cursor").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn older_pages_keep_the_filters_and_non_admins_see_nothing() {
    let app = spawn_app().await;
    let t = now(&app);
    for i in 0..55 {
        let event = AuditEvent::new(AuditKind::KeyRotated, Actor::system(), t - 100 + i)
            .details(json!({ "n": i }));
        app.state.store.audit(&event).await.unwrap();
    }
    let mut console = console_admin(&app).await;

    let (_, html) = console.page("/audit?kind=key.rotated").await;
    assert_eq!(kinds(&html).len(), 50);
    assert!(unescape(&html).contains(r#"{"n":54}"#));
    let marker = r#"href=""#;
    let older = html
        .split(marker)
        .map(|s| &s[..s.find('"').unwrap()])
        .find(|h| h.contains("/admin/audit?") && h.contains("before="))
        .expect("an older link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(older.contains("kind=key.rotated"), "{older}");
    let path = older.split("/admin").nth(1).unwrap();
    let (status, html) = console.page(path).await;
    assert_eq!(status, 200);
    let rest = kinds(&html);
    assert_eq!(rest.len(), 5, "{rest:?}");
    assert!(rest.iter().all(|k| k == "key.rotated"));
    assert!(unescape(&html).contains(r#"{"n":0}"#));
    assert!(!html.contains("before="), "the last page has no older link");

    let mut user = non_admin(&app).await;
    let (status, html) = user.page("/audit").await;
    assert_eq!(status, 403);
    assert!(!html.contains("key.rotated"));
}

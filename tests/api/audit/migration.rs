//! 0012 moves the rows of the old `exchange_audit` table into `audit_events`, and
//! `GET /admin/v1/exchanges` still shows them as they were.

use std::borrow::Cow;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestDb, spawn_app_on, with_database};

/// Migrates `db` up to (not including) `version`, as an older Warden would have.
async fn migrate_before(db: &TestDb, version: i64) {
    let mut migrator = sqlx::migrate!("./migrations");
    let older: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    migrator.migrations = Cow::Owned(older);
    match &db.postgres {
        Some((admin_url, name)) => {
            let pool = sqlx::PgPool::connect(&with_database(admin_url, name))
                .await
                .unwrap();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
        }
        None => {
            let path = db.data_dir.path().join("warden.db");
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

#[tokio::test]
async fn the_old_exchange_audit_rows_move_to_the_audit_log_and_still_list_as_exchanges() {
    let db = TestDb::new().await;
    migrate_before(&db, 12).await;
    db.exec(
        "INSERT INTO exchange_audit (id, at, client_id, subject, source, target, scope, actor, \
         outcome, reason) VALUES \
         ('0190a000-0000-7000-8000-000000000001', 1000, 'svc', 'u1', 'https://a.example/mcp', \
          'https://b.example/api', 'api:read', 'svc', 'issued', ''), \
         ('0190a000-0000-7000-8000-000000000002', 1001, 'svc', 'we\"ird\\sub', \
          'https://a.example/mcp', '', '', 'x\"y\\z', 'refused', 'invalid_target: no')",
    )
    .await;
    let app = spawn_app_on(db.clone(), &[]).await;
    let token = app.admin_token().await;

    let (status, page) = app
        .admin_call(&token, Method::GET, "/exchanges", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["items"],
        json!([
            {"id": "0190a000-0000-7000-8000-000000000002", "at": 1001, "client_id": "svc",
             "subject": "we\"ird\\sub", "source": "https://a.example/mcp", "target": "",
             "scope": "", "actor": "x\"y\\z", "outcome": "refused", "reason": "invalid_target: no"},
            {"id": "0190a000-0000-7000-8000-000000000001", "at": 1000, "client_id": "svc",
             "subject": "u1", "source": "https://a.example/mcp",
             "target": "https://b.example/api", "scope": "api:read", "actor": "svc",
             "outcome": "issued", "reason": ""},
        ])
    );
    // In the audit log they are token exchanges by the calling client.
    let (status, page) = app
        .admin_call(&token, Method::GET, "/audit?kind=token_exchange", None)
        .await;
    assert_eq!(status, 200, "{page}");
    let first = &page["items"][1];
    assert_eq!(first["actor"], json!({"kind": "client", "id": "svc"}));
    assert_eq!(first["resource"], "https://b.example/api");
    assert_eq!(first["outcome"], "success");
    assert_eq!(first["details"]["scope"], "api:read");
    assert_eq!(page["items"][0]["outcome"], "failure");
}

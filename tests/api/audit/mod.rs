//! The audit log (issue 17, point 3): what each event source writes, the listing's filters
//! and cursor, retention, the CLI, and the fold-in of the old exchange audit.

mod admin_changes;
mod listing;
mod migration;
mod signin;
mod user_flows;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

/// The events `query` (e.g. `?kind=signin.failed`) selects, newest first.
async fn events(app: &TestApp, admin_token: &str, query: &str) -> Vec<Value> {
    let path = format!("/audit?limit=200{}", query.replacen('?', "&", 1));
    let (status, page) = app.admin_call(admin_token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["items"].as_array().unwrap().clone()
}

/// The whole audit log as text holds none of `secrets`.
async fn assert_no_secret(app: &TestApp, admin_token: &str, secrets: &[&str]) {
    let text = serde_json::to_string(&events(app, admin_token, "").await).unwrap();
    for secret in secrets {
        assert!(secret.len() >= 8, "{secret:?} is too short to search for");
        assert!(
            !text.contains(secret),
            "{secret:?} is in the audit log: {text}"
        );
    }
}

//! Clients that register themselves: metadata documents and dynamic registration
//! (RFC 7591).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::browser::REDIRECT;
use crate::helpers::{TestApp, TestClient};

/// What a page says about any failed document fetch (the reason is logged, not shown).
pub const NOT_RETRIEVED: &str = "metadata could not be retrieved";

/// A valid metadata document for the public client `client_id`.
pub fn document(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Doc Client",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    })
}

/// A client known only by its id (public: no secret).
pub fn public(client_id: &str) -> TestClient {
    TestClient {
        client_id: client_id.to_owned(),
        client_secret: String::new(),
    }
}

/// A dynamic registration request (RFC 7591 §3.1) with `body` as metadata.
pub async fn post_register(app: &TestApp, body: &Value) -> reqwest::Response {
    app.http
        .post(format!("{}/register", app.issuer))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Registers dynamically (asserting 201); returns the registration response.
pub async fn register(app: &TestApp, body: &Value) -> Value {
    let response = post_register(app, body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// Asserts `value` (a part of `whole`) holds no JSON null anywhere.
pub fn assert_no_null(value: &Value, whole: &Value) {
    match value {
        Value::Null => panic!("a null in {whole}"),
        Value::Array(items) => items.iter().for_each(|v| assert_no_null(v, whole)),
        Value::Object(map) => map.values().for_each(|v| assert_no_null(v, whole)),
        _ => {}
    }
}

/// The dynamically registered clients, as the admin API lists them.
pub async fn dynamic_clients(app: &TestApp, admin_token: &str) -> Vec<Value> {
    let (status, page) = app
        .admin_call(admin_token, Method::GET, "/clients?limit=100", None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["registration"] == "dynamic")
        .cloned()
        .collect()
}

//! Dynamic client registration (RFC 7591 §2, §3) and its management protocol (RFC 7592).
//!
//! Registered clients are recorded as `dynamic`: the consent page warns about them and
//! errors are not redirected to them before the user has seen that page. The `scope` they
//! register with is recorded, not enforced: MCP clients step up later. Clients that never
//! complete an authorization are deleted after `WARDEN_REGISTRATION_CLEANUP_AFTER`.

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::crypto::random;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::domain::{Client, Registration};
use crate::oauth::client_metadata::{
    self, ClientMetadata, MetadataError, MetadataErrorKind, Origin, ValidMetadata,
};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::metadata::paths;
use crate::state::AppState;

pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Members of a RFC 7592 §2.2 update that are the server's, not the client's metadata.
const SERVER_MEMBERS: [&str; 6] = [
    "client_id",
    "client_secret",
    "registration_access_token",
    "registration_client_uri",
    "client_id_issued_at",
    "client_secret_expires_at",
];

fn bad_metadata(d: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, d.into())
}

impl From<MetadataError> for OAuthError {
    fn from(e: MetadataError) -> OAuthError {
        let code = match e.kind {
            MetadataErrorKind::InvalidRedirectUri => ErrorCode::InvalidRedirectUri,
            MetadataErrorKind::InvalidClientMetadata => ErrorCode::InvalidClientMetadata,
        };
        OAuthError::new(code, e.message)
    }
}

/// Checks a registration document without storing anything (the fuzz target's entry).
pub fn check_metadata(doc: &Value) -> Result<(), OAuthError> {
    validate(doc).map(|_| ())
}

fn validate(doc: &Value) -> Result<ValidMetadata, OAuthError> {
    let metadata = ClientMetadata::from_json(doc)?;
    Ok(client_metadata::validate(metadata, Origin::Dynamic)?)
}

/// POST /register: validates, stores, and returns the RFC 7591 §3.2.1 response.
pub async fn register(state: &AppState, doc: &Value, source: &str) -> Result<Value, OAuthError> {
    let valid = validate(doc)?;
    let now = state.clock.now();
    let secret = valid.auth_method.uses_secret().then(random::token);
    let secret_hash = secret.as_deref().map(|s| state.master_key.keyed_hash(s));
    let registration_token = random::token();
    let echo = valid.echo.clone();
    let client = Client {
        registration_token_hash: Some(random::sha256_b64(&registration_token)),
        metadata: Some(Value::Object(echo.clone()).to_string()),
        ..valid.client(
            random::token()[..22].to_owned(),
            Registration::Dynamic,
            secret_hash,
            now,
        )
    };
    let event = AuditEvent::new(AuditKind::ClientRegistered, Actor::anonymous(), now)
        .client(&client.client_id)
        .source(source)
        .details(registered(&client));
    state.store.insert_client(&client, &event).await?;
    tracing::info!(client_id = %client.client_id, "client registered dynamically");
    let mut response = response_body(state, &client, echo);
    if let Some(secret) = secret {
        response.insert("client_secret".into(), secret.into());
    }
    response.insert(
        "registration_access_token".into(),
        registration_token.into(),
    );
    Ok(Value::Object(response))
}

fn response_body(
    state: &AppState,
    client: &Client,
    mut echo: Map<String, Value>,
) -> Map<String, Value> {
    echo.insert("client_id".into(), client.client_id.clone().into());
    echo.insert("client_id_issued_at".into(), client.created_at.into());
    if client.secret_hash.is_some() {
        echo.insert("client_secret_expires_at".into(), 0.into());
    }
    echo.insert(
        "registration_client_uri".into(),
        state
            .settings
            .issuer
            .endpoint(&format!("{}/{}", paths::REGISTER, client.client_id))
            .into(),
    );
    echo
}

/// The client a registration access token manages (RFC 7592 §3): `invalid_token` otherwise,
/// the same whether the client is unknown or the token wrong.
pub async fn authorize_management(
    state: &AppState,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, OAuthError> {
    let denied = || {
        OAuthError::new(
            ErrorCode::InvalidToken,
            "the registration access token is invalid",
        )
    };
    let token = token.ok_or_else(denied)?;
    let client = state.store.client(client_id).await?.ok_or_else(denied)?;
    let expected = client.registration_token_hash.clone().ok_or_else(denied)?;
    let actual = random::sha256_b64(token);
    if !bool::from(actual.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(denied());
    }
    Ok(client)
}

/// GET /register/{id} (RFC 7592 §2.1).
pub fn read(state: &AppState, client: &Client) -> Value {
    let echo = client
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<Map<String, Value>>(m).ok())
        .unwrap_or_default();
    Value::Object(response_body(state, client, echo))
}

/// PUT /register/{id} (RFC 7592 §2.2): the new metadata replaces the old; `client_id`
/// must be the same, and a `client_secret`, if sent, must be the current one.
pub async fn update(state: &AppState, client: Client, doc: &Value) -> Result<Value, OAuthError> {
    if doc.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err(bad_metadata("client_id must be present and unchanged"));
    }
    if doc
        .get("client_secret")
        .is_some_and(|sent| !secret_matches(state, &client, sent))
    {
        return Err(bad_metadata(
            "client_secret does not match the current secret",
        ));
    }
    let mut stripped = doc.clone();
    if let Some(o) = stripped.as_object_mut() {
        for field in SERVER_MEMBERS {
            o.remove(field);
        }
    }
    let valid = validate(&stripped)?;
    if valid.auth_method.uses_secret() != client.secret_hash.is_some() {
        return Err(bad_metadata(
            "token_endpoint_auth_method cannot switch between secret and non-secret methods; register a new client",
        ));
    }
    let client = Client {
        name: valid.name,
        token_endpoint_auth_method: valid.auth_method,
        redirect_uris: valid.redirect_uris,
        grant_types: valid.grant_types,
        jwks: valid.jwks,
        jwks_uri: valid.jwks_uri,
        metadata: Some(Value::Object(valid.echo.clone()).to_string()),
        updated_at: state.clock.now(),
        ..client
    };
    let event = AuditEvent::new(
        AuditKind::ClientUpdated,
        Actor::client(&client.client_id),
        client.updated_at,
    )
    .client(&client.client_id)
    .details(registered(&client));
    state
        .store
        .update_registered_client(&client, &event)
        .await?;
    Ok(Value::Object(response_body(state, &client, valid.echo)))
}

/// What the audit log keeps of a self-registration: names and URIs, no secret.
fn registered(client: &Client) -> Value {
    serde_json::json!({
        "registration": client.registration,
        "name": client.name,
        "redirect_uris": client.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "grant_types": client.grant_types.iter().collect::<Vec<_>>(),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
    })
}

fn secret_matches(state: &AppState, client: &Client, sent: &Value) -> bool {
    match (sent.as_str(), &client.secret_hash) {
        (Some(s), Some(hash)) => bool::from(
            state
                .master_key
                .keyed_hash(s)
                .as_bytes()
                .ct_eq(hash.as_bytes()),
        ),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn code(doc: Value) -> String {
        match validate(&doc) {
            Ok(_) => "ok".into(),
            Err(e) => e.code.as_str().to_owned(),
        }
    }

    #[test]
    fn redirect_uris_follow_application_type() {
        let native = serde_json::json!({"redirect_uris": ["http://127.0.0.1:3000/cb", "com.example.app:/cb"], "application_type": "native"});
        assert_eq!(code(native), "ok");
        let web_loopback = serde_json::json!({"redirect_uris": ["http://localhost:3000/cb"], "application_type": "web"});
        assert_eq!(code(web_loopback), "invalid_redirect_uri");
        // Undeclared (the TypeScript SDK): loopback is fine, and echoed as native.
        let undeclared = serde_json::json!({"redirect_uris": ["http://localhost:3000/cb"]});
        assert_eq!(
            validate(&undeclared).unwrap().echo["application_type"],
            "native"
        );
        assert_eq!(
            code(serde_json::json!({"redirect_uris": ["https://app.example.com/cb"]})),
            "ok"
        );
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://a.example.com/cb#f",
            "/relative",
        ] {
            assert_eq!(
                code(serde_json::json!({"redirect_uris": [bad], "application_type": "native"})),
                "invalid_redirect_uri",
                "{bad}"
            );
        }
        let many: Vec<String> = (0..1000)
            .map(|i| format!("https://a.example.com/{i}"))
            .collect();
        assert_eq!(
            code(serde_json::json!({"redirect_uris": many})),
            "invalid_redirect_uri"
        );
    }

    #[test]
    fn metadata_errors_are_invalid_client_metadata() {
        let base = |extra: Value| {
            let mut doc = serde_json::json!({"redirect_uris": ["https://app.example.com/cb"]});
            doc.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            code(doc)
        };
        assert_eq!(
            base(serde_json::json!({"grant_types": ["client_credentials"]})),
            "invalid_client_metadata"
        );
        assert_eq!(
            base(serde_json::json!({"grant_types": ["password"]})),
            "invalid_client_metadata"
        );
        assert_eq!(
            base(serde_json::json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata"
        );
        assert_eq!(
            base(serde_json::json!({"token_endpoint_auth_method": "client_secret_jwt"})),
            "invalid_client_metadata"
        );
        assert_eq!(
            base(serde_json::json!({"response_types": ["token"]})),
            "invalid_client_metadata"
        );
        assert_eq!(
            base(serde_json::json!({"client_name": 7})),
            "invalid_client_metadata"
        );
        assert_eq!(
            base(serde_json::json!({"scope": "bad\"scope"})),
            "invalid_client_metadata"
        );
        assert_eq!(code(serde_json::json!([1, 2])), "invalid_client_metadata");
    }
}

//! Dynamic client registration (RFC 7591 §2, §3) and its management protocol (RFC 7592).
//!
//! Registered clients are recorded as `dynamic`: the consent page warns about them and
//! errors are not redirected to them before the user has seen that page. The `scope` they
//! register with is recorded, not enforced: MCP clients step up later. Clients that never
//! complete an authorization are deleted after `WARDEN_REGISTRATION_CLEANUP_AFTER`.

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::admin::clients::check_redirect_uri;
use crate::crypto::random;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::metadata::paths;
use crate::oauth::scope::ScopeSet;
use crate::state::AppState;
use crate::store::clients::ClientRow;

pub const MAX_REDIRECT_URIS: usize = 20;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

fn bad_metadata(d: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, d.into())
}

fn bad_redirect(d: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRedirectUri, d.into())
}

/// Metadata that passed validation, as we store and echo it (never a `null`).
struct Valid {
    echo: Map<String, Value>,
    name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    method: String,
    jwks: Option<String>,
    jwks_uri: Option<String>,
}

fn string_field(
    doc: &Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<String>, OAuthError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(bad_metadata(format!(
            "{name} must be a string of at most {max} characters"
        ))),
    }
}

fn string_list(doc: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad_metadata(format!("{name} must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad_metadata(format!("{name} must be an array of strings"))),
    }
}

/// Checks a registration document without storing anything (the fuzz target's entry).
pub fn check_metadata(doc: &Value) -> Result<(), OAuthError> {
    validate(doc).map(|_| ())
}

fn validate(doc: &Value) -> Result<Valid, OAuthError> {
    let Some(doc) = doc.as_object() else {
        return Err(bad_metadata("the body must be a JSON object"));
    };
    let mut echo = Map::new();

    // OIDC Registration defaults application_type to web, but RFC 7591 has no such member
    // and the TypeScript MCP SDK omits it while registering a loopback redirect; so the
    // strict web rule applies only when a client says it is a web application.
    let declared_type = string_field(doc, "application_type", 20)?;
    if declared_type
        .as_deref()
        .is_some_and(|t| t != "web" && t != "native")
    {
        return Err(bad_metadata("application_type must be web or native"));
    }

    let mut grant_types =
        string_list(doc, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    grant_types.sort();
    grant_types.dedup();
    for g in &grant_types {
        match g.as_str() {
            "authorization_code" | "refresh_token" => {}
            "client_credentials" => {
                return Err(bad_metadata(
                    "client_credentials clients are registered by an administrator, not dynamically",
                ));
            }
            other => {
                return Err(bad_metadata(format!(
                    "grant type {other:?} is not supported"
                )));
            }
        }
    }
    if !grant_types.iter().any(|g| g == "authorization_code") {
        return Err(bad_metadata("grant_types must include authorization_code"));
    }
    let response_types = string_list(doc, "response_types")?.unwrap_or_else(|| vec!["code".into()]);
    if response_types != ["code"] {
        return Err(bad_metadata("response_types must be [\"code\"]"));
    }

    let redirect_uris = string_list(doc, "redirect_uris")?
        .ok_or_else(|| bad_redirect("redirect_uris is required"))?;
    if redirect_uris.is_empty() {
        return Err(bad_redirect("redirect_uris must list at least one URI"));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(bad_redirect(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris are allowed"
        )));
    }
    for uri in &redirect_uris {
        if uri.len() > 2000 {
            return Err(bad_redirect(
                "a redirect URI is longer than 2000 characters",
            ));
        }
        check_redirect_uri(uri).map_err(bad_redirect)?;
        if declared_type.as_deref() == Some("web") {
            let parsed = url::Url::parse(uri).map_err(|e| bad_redirect(e.to_string()))?;
            let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if parsed.scheme() != "https" || loopback {
                return Err(bad_redirect(format!(
                    "{uri}: a web application needs https redirect URIs on a public host; register as application_type native for loopback or custom-scheme redirects"
                )));
            }
        }
    }

    let method = string_field(doc, "token_endpoint_auth_method", 40)?
        .unwrap_or_else(|| "client_secret_basic".into());
    let jwks = match doc.get("jwks") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(o)) if o.get("keys").is_some_and(Value::is_array) => {
            Some(v.to_string())
        }
        Some(_) => {
            return Err(bad_metadata(
                "jwks must be a JWK Set object with a keys array",
            ));
        }
    };
    let jwks_uri = string_field(doc, "jwks_uri", 2000)?;
    match method.as_str() {
        "client_secret_basic" | "client_secret_post" | "none" => {
            if jwks.is_some() || jwks_uri.is_some() {
                return Err(bad_metadata(
                    "jwks and jwks_uri are only for private_key_jwt",
                ));
            }
        }
        "private_key_jwt" => {
            if jwks.is_some() == jwks_uri.is_some() {
                return Err(bad_metadata(
                    "private_key_jwt needs exactly one of jwks and jwks_uri",
                ));
            }
            // Plain http only on loopback, which the fetcher itself allows only with
            // WARDEN_DEV_ALLOW_LOOPBACK_FETCH; never user information (`https://a@b/`).
            let acceptable = |u: &str| {
                url::Url::parse(u).is_ok_and(|p| {
                    let loopback =
                        matches!(p.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                    p.username().is_empty()
                        && p.password().is_none()
                        && (p.scheme() == "https" || (p.scheme() == "http" && loopback))
                })
            };
            if jwks_uri.as_deref().is_some_and(|u| !acceptable(u)) {
                return Err(bad_metadata("jwks_uri must be an https URL"));
            }
        }
        other => {
            return Err(bad_metadata(format!(
                "token_endpoint_auth_method {other:?} is not supported"
            )));
        }
    }

    let name = string_field(doc, "client_name", 200)?.filter(|n| !n.trim().is_empty());
    if let Some(scope) = string_field(doc, "scope", 1000)? {
        ScopeSet::parse(&scope).map_err(bad_metadata)?;
        echo.insert("scope".into(), scope.into());
    }
    for field in ["client_uri", "logo_uri", "tos_uri", "policy_uri"] {
        if let Some(v) = string_field(doc, field, 2000)? {
            if !v.starts_with("https://") {
                return Err(bad_metadata(format!("{field} must be an https URL")));
            }
            echo.insert(field.into(), v.into());
        }
    }
    for field in ["software_id", "software_version"] {
        if let Some(v) = string_field(doc, field, 200)? {
            echo.insert(field.into(), v.into());
        }
    }
    if let Some(contacts) = string_list(doc, "contacts")? {
        if contacts.len() > 10 {
            return Err(bad_metadata("at most 10 contacts"));
        }
        echo.insert("contacts".into(), contacts.into());
    }
    let name = name.unwrap_or_else(|| "Unnamed application".into());
    echo.insert("client_name".into(), name.clone().into());
    let application_type = declared_type.unwrap_or_else(|| {
        let public_https = redirect_uris.iter().any(|u| {
            url::Url::parse(u).is_ok_and(|p| {
                p.scheme() == "https"
                    && !matches!(p.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
            })
        });
        if public_https {
            "web".into()
        } else {
            "native".into()
        }
    });
    echo.insert("application_type".into(), application_type.into());
    echo.insert("redirect_uris".into(), redirect_uris.clone().into());
    echo.insert("grant_types".into(), grant_types.clone().into());
    echo.insert("response_types".into(), vec!["code"].into());
    echo.insert("token_endpoint_auth_method".into(), method.clone().into());
    if let Some(j) = &jwks {
        echo.insert(
            "jwks".into(),
            serde_json::from_str(j).unwrap_or(Value::Null),
        );
    }
    if let Some(u) = &jwks_uri {
        echo.insert("jwks_uri".into(), u.clone().into());
    }
    Ok(Valid {
        echo,
        name,
        redirect_uris,
        grant_types,
        method,
        jwks,
        jwks_uri,
    })
}

fn is_secret_method(method: &str) -> bool {
    method == "client_secret_basic" || method == "client_secret_post"
}

/// POST /register: validates, stores, and returns the RFC 7591 §3.2.1 response.
pub async fn register(state: &AppState, doc: &Value) -> Result<Value, OAuthError> {
    let valid = validate(doc)?;
    let now = state.clock.now();
    let secret = is_secret_method(&valid.method).then(random::token);
    let registration_token = random::token();
    let row = ClientRow {
        client_id: random::token()[..22].to_owned(),
        secret_hash: secret.as_deref().map(|s| state.master_key.keyed_hash(s)),
        name: valid.name.clone(),
        token_endpoint_auth_method: valid.method.clone(),
        redirect_uris: serde_json::to_string(&valid.redirect_uris)?,
        grant_types: valid.grant_types.join(" "),
        resources: "[]".into(),
        scopes: None,
        served_resources: "[]".into(),
        enabled: true,
        registration: "dynamic".into(),
        jwks: valid.jwks.clone(),
        jwks_uri: valid.jwks_uri.clone(),
        registration_token_hash: Some(random::sha256_b64(&registration_token)),
        metadata: Some(Value::Object(valid.echo.clone()).to_string()),
        created_at: now,
        updated_at: now,
    };
    state.store.insert_client(&row).await?;
    tracing::info!(client_id = %row.client_id, "client registered dynamically");
    let mut response = response_body(state, &row, valid.echo);
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
    row: &ClientRow,
    mut echo: Map<String, Value>,
) -> Map<String, Value> {
    echo.insert("client_id".into(), row.client_id.clone().into());
    echo.insert("client_id_issued_at".into(), row.created_at.into());
    if row.secret_hash.is_some() {
        echo.insert("client_secret_expires_at".into(), 0.into());
    }
    echo.insert(
        "registration_client_uri".into(),
        state
            .settings
            .issuer
            .endpoint(&format!("{}/{}", paths::REGISTER, row.client_id))
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
) -> Result<ClientRow, OAuthError> {
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
pub fn read(state: &AppState, client: &ClientRow) -> Value {
    let echo = client
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<Map<String, Value>>(m).ok())
        .unwrap_or_default();
    Value::Object(response_body(state, client, echo))
}

/// PUT /register/{id} (RFC 7592 §2.2): the new metadata replaces the old; `client_id`
/// must be the same, and a `client_secret`, if sent, must be the current one.
pub async fn update(state: &AppState, client: ClientRow, doc: &Value) -> Result<Value, OAuthError> {
    if doc.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err(bad_metadata("client_id must be present and unchanged"));
    }
    if let Some(sent) = doc.get("client_secret") {
        let matches = match (sent.as_str(), &client.secret_hash) {
            (Some(s), Some(hash)) => bool::from(
                state
                    .master_key
                    .keyed_hash(s)
                    .as_bytes()
                    .ct_eq(hash.as_bytes()),
            ),
            _ => false,
        };
        if !matches {
            return Err(bad_metadata(
                "client_secret does not match the current secret",
            ));
        }
    }
    let mut stripped = doc.clone();
    if let Some(o) = stripped.as_object_mut() {
        for field in [
            "client_id",
            "client_secret",
            "registration_access_token",
            "registration_client_uri",
            "client_id_issued_at",
            "client_secret_expires_at",
        ] {
            o.remove(field);
        }
    }
    let valid = validate(&stripped)?;
    if is_secret_method(&valid.method) != client.secret_hash.is_some() {
        return Err(bad_metadata(
            "token_endpoint_auth_method cannot switch between secret and non-secret methods; register a new client",
        ));
    }
    let row = ClientRow {
        name: valid.name,
        token_endpoint_auth_method: valid.method,
        redirect_uris: serde_json::to_string(&valid.redirect_uris)?,
        grant_types: valid.grant_types.join(" "),
        jwks: valid.jwks,
        jwks_uri: valid.jwks_uri,
        metadata: Some(Value::Object(valid.echo.clone()).to_string()),
        updated_at: state.clock.now(),
        ..client
    };
    state.store.update_registered_client(&row).await?;
    Ok(Value::Object(response_body(state, &row, valid.echo)))
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

//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a
//! `client_id` that is an https URL names a JSON document, fetched through the SSRF-safe
//! fetcher, that describes the client. Such a client is public (`none`) or uses
//! `private_key_jwt`; it never has a shared secret.

use serde_json::{Value, json};
use url::Url;

use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::domain::{Client, Registration};
use crate::oauth::client_metadata::{self, ClientMetadata, Origin};
use crate::oauth::domain_policy::{self, DomainTrust};
use crate::oauth::params::excerpt;
use crate::state::AppState;

/// What a page says about any failed fetch of a metadata document.
pub const NOT_RETRIEVED: &str = "the application's metadata could not be retrieved";

/// The recommended ceiling of the draft for a metadata document.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// True when `client_id` is shaped like a metadata document URL (our own ids never are).
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// The client id URL rules: https, a path, no fragment, no userinfo, no dot segments, no
/// query. Plain http only to loopback with the development setting.
pub fn check_url(client_id: &str, allow_loopback_http: bool) -> Result<Url, String> {
    let url = Url::parse(client_id).map_err(|e| format!("the client_id URL is malformed ({e})"))?;
    let loopback = crate::net::is_loopback_host(&url);
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && loopback => {}
        _ => return Err("a client_id URL must use https".into()),
    }
    if url.fragment().is_some() || client_id.contains('#') {
        return Err("a client_id URL must not contain a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a client_id URL must not contain credentials".into());
    }
    if url.query().is_some() {
        return Err("a client_id URL must not contain a query".into());
    }
    let raw_path = client_id.splitn(4, '/').nth(3).unwrap_or("");
    if raw_path.is_empty() || url.path() == "/" {
        return Err("a client_id URL must have a path".into());
    }
    let lowered = raw_path.to_ascii_lowercase();
    if lowered.split(['/', '?']).any(|seg| {
        seg == "."
            || seg == ".."
            || seg == "%2e"
            || seg == "%2e%2e"
            || seg == ".%2e"
            || seg == "%2e."
    }) {
        return Err("a client_id URL must not contain dot segments".into());
    }
    if url.as_str() != client_id {
        return Err("a client_id URL must be in canonical form".into());
    }
    Ok(url)
}

/// Fetches, validates and stores (refreshes) the client a metadata document describes.
pub async fn resolve(state: &AppState, client_id: &str) -> Result<Client, String> {
    let url = check_url(client_id, state.settings.dev_allow_loopback_fetch)?;
    let host = url.host_str().unwrap_or_default();
    let policy = domain_policy::trust_for(&state.store, host)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "metadata domain lookup failed");
            "Warden cannot check this application right now".to_owned()
        })?;
    if policy == Some(DomainTrust::Blocked) {
        return Err(format!(
            "applications from {} are blocked on this server",
            excerpt(host)
        ));
    }
    // Why a fetch failed (no such name, a special-use address, TLS, a status) is for the
    // log: on the page it would tell an outsider what Warden can see from inside.
    let body = state
        .fetcher
        .get(crate::fetch::FetchKind::ClientMetadata, client_id, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| {
            tracing::info!(client_id = %client_id, reason = %e, "client metadata document fetch failed");
            NOT_RETRIEVED.to_owned()
        })?;
    let row = match validate(client_id, &body, state.clock.now()) {
        Ok(row) => row,
        Err(e) => {
            state.fetcher.forget(client_id);
            return Err(format!("the client metadata document is invalid: {e}"));
        }
    };
    let unavailable = |e: sqlx::Error| {
        tracing::error!(error = %e, "storing a metadata-document client failed");
        "Warden cannot use this application right now".to_owned()
    };
    // The stored row carries what the document cannot: whether an admin disabled the
    // client, and when it first appeared. Write only when the document changed, so a
    // cached document costs a read, not a write, per request.
    let stored = state.store.client(client_id).await.map_err(unavailable)?;
    let unchanged = stored.as_ref().is_some_and(|s| {
        (
            &s.name,
            &s.token_endpoint_auth_method,
            &s.redirect_uris,
            &s.grant_types,
            &s.jwks,
            &s.jwks_uri,
            s.dpop_bound_access_tokens,
        ) == (
            &row.name,
            &row.token_endpoint_auth_method,
            &row.redirect_uris,
            &row.grant_types,
            &row.jwks,
            &row.jwks_uri,
            row.dpop_bound_access_tokens,
        )
    });
    if !unchanged {
        // Its first use is the client's registration.
        let first_use = stored.is_none().then(|| {
            AuditEvent::new(
                AuditKind::ClientRegistered,
                Actor::anonymous(),
                row.updated_at,
            )
            .client(&row.client_id)
            .details(json!({
                "registration": "metadata_document",
                "name": row.name,
                "redirect_uris": row.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            }))
        });
        state
            .store
            .upsert_document_client(&row, first_use.as_ref())
            .await
            .map_err(unavailable)?;
    }
    Ok(match stored {
        Some(s) => Client {
            enabled: s.enabled,
            created_at: s.created_at,
            updated_at: s.updated_at.max(row.updated_at),
            ..row
        },
        None => row,
    })
}

/// Checks a document against the draft's rules and builds the client it describes.
pub fn validate(client_id: &str, body: &[u8], now: i64) -> Result<Client, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "it is not JSON".to_owned())?;
    let Some(members) = doc.as_object() else {
        return Err("it is not a JSON object".into());
    };
    // The document's identity, before its metadata: it must name the URL it came from, and
    // a document anyone can read cannot hold a secret.
    if members.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err("its client_id differs from the URL it was fetched from".into());
    }
    if members.contains_key("client_secret") || members.contains_key("client_secret_expires_at") {
        return Err("a metadata document must not carry a client_secret".into());
    }
    let metadata = ClientMetadata::from_json(&doc).map_err(|e| e.message)?;
    let valid = client_metadata::validate(metadata, Origin::Document).map_err(|e| e.message)?;
    Ok(valid.client(
        client_id.to_owned(),
        Registration::MetadataDocument,
        None,
        now,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn client_id_urls_follow_the_draft() {
        assert!(check_url("https://app.example.com/client.json", false).is_ok());
        for bad in [
            "http://app.example.com/client.json",
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/c.json#f",
            "https://user@app.example.com/c.json",
            "https://app.example.com/a/../c.json",
            "https://app.example.com/a/./c.json",
            "https://app.example.com/a/%2e%2e/c.json",
            "https://app.example.com/c.json?x=1",
            "https://APP.example.com/c.json",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:4000/c.json", true).is_ok());
        assert!(check_url("http://127.0.0.1:4000/c.json", false).is_err());
    }

    #[test]
    fn documents_must_name_themselves_and_carry_no_secret() {
        let id = "https://app.example.com/c.json";
        let good = serde_json::json!({"client_id": id, "client_name": "App", "redirect_uris": ["http://127.0.0.1/cb"]});
        let row = validate(id, good.to_string().as_bytes(), 0).unwrap();
        assert_eq!(
            row.token_endpoint_auth_method,
            crate::domain::AuthMethod::None
        );
        assert_eq!(row.registration, Registration::MetadataDocument);
        for (doc, why) in [
            (
                serde_json::json!({"client_id": "https://other/c.json", "client_name": "A", "redirect_uris": ["https://a/cb"]}),
                "differs",
            ),
            (
                serde_json::json!({"client_id": id, "redirect_uris": ["https://a/cb"]}),
                "client_name",
            ),
            (
                serde_json::json!({"client_id": id, "client_name": "A"}),
                "redirect_uris",
            ),
            (
                serde_json::json!({"client_id": id, "client_name": "A", "redirect_uris": ["javascript:alert(1)"]}),
                "scheme",
            ),
            (
                serde_json::json!({"client_id": id, "client_name": "A", "redirect_uris": ["https://a/cb"], "client_secret": "s"}),
                "secret",
            ),
            (
                serde_json::json!({"client_id": id, "client_name": "A", "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
                "not allowed",
            ),
            (
                serde_json::json!({"client_id": id, "client_name": "A", "redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                "jwks",
            ),
        ] {
            let err = validate(id, doc.to_string().as_bytes(), 0).unwrap_err();
            assert!(err.contains(why), "{doc}: {err}");
        }
        assert!(validate(id, b"<html>", 0).unwrap_err().contains("JSON"));
    }
}

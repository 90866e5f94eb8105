//! The reads every endpoint makes, through the hot-path cache (`oauth::hot`): a client by
//! id (fetching a client metadata document when the id is an https URL), a resource by its
//! canonical URI, and whether a grant is live.

use crate::domain::Client;
use crate::domain::Resource;
use crate::state::AppState;

#[derive(Debug)]
pub enum ClientLookupError {
    /// The metadata document could not be used; the message says why.
    Document(String),
    Database(anyhow::Error),
}

/// The client named `client_id`: from the database, or, for an https URL, from its
/// metadata document (fetched, validated, and stored). `Ok(None)` means no such client.
pub async fn client(
    state: &AppState,
    client_id: &str,
) -> Result<Option<Client>, ClientLookupError> {
    if crate::oauth::cimd::is_document_url(client_id) {
        return crate::oauth::cimd::resolve(state, client_id)
            .await
            .map(Some)
            .map_err(ClientLookupError::Document);
    }
    stored_client(state, client_id)
        .await
        .map_err(|e| ClientLookupError::Database(e.into()))
}

/// A stored client, never fetched (for requests that already resolved it).
pub async fn stored_client(
    state: &AppState,
    client_id: &str,
) -> Result<Option<Client>, sqlx::Error> {
    let now = state.clock.now();
    if let Some(hit) = state.hot.client(client_id, now) {
        return Ok(Some(hit));
    }
    let found = state.store.client(client_id).await?;
    if let Some(client) = &found {
        state.hot.put_client(client, now);
    }
    Ok(found)
}

/// A resource by its canonical URI.
pub async fn resource(state: &AppState, uri: &str) -> Result<Option<Resource>, sqlx::Error> {
    let now = state.clock.now();
    if let Some(hit) = state.hot.resource_by_uri(uri, now) {
        return Ok(Some(hit));
    }
    let found = state.store.resource_by_uri(uri).await?;
    if let Some(resource) = &found {
        state.hot.put_resource_by_uri(resource, now);
    }
    Ok(found)
}

/// Whether grant `grant_id` is live (revocation, client, resource, user); only live
/// statuses are cached.
pub async fn grant_is_live(state: &AppState, grant_id: &str) -> Result<bool, sqlx::Error> {
    let now = state.clock.now();
    if state.hot.live_grant(grant_id, now).is_some() {
        return Ok(true);
    }
    Ok(match state.store.grant_status(grant_id).await? {
        Some(status) => {
            state.hot.put_grant(grant_id, &status, now);
            status.is_live()
        }
        None => false,
    })
}

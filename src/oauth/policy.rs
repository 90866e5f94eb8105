//! Which client may get which audience and scopes (RFC 8707 §2, RFC 6749 §3.3), decided
//! from the resource registry. Shared by every grant.

use crate::oauth::error::OAuthError;
use crate::oauth::resource;
use crate::oauth::scope::ScopeSet;
use crate::state::AppState;
use crate::store::clients::ClientRow;
use crate::store::resources::ResourceRow;

/// The canonical URIs of a JSON array column.
pub fn uri_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// May `client` obtain tokens for `resource`? Both sides must agree: the client lists the
/// resource (or lists none, meaning any open resource; never the built-in admin API), and
/// the resource admits any client or names this one.
pub fn client_may_use(client: &ClientRow, resource: &ResourceRow) -> bool {
    let listed = uri_list(&client.resources);
    let client_side = listed.contains(&resource.uri) || (listed.is_empty() && !resource.builtin);
    let resource_side = match &resource.allowed_clients {
        None => true,
        Some(ids) => uri_list(ids).contains(&client.client_id),
    };
    resource.enabled && client_side && resource_side
}

/// The canonical URI a request names (or implies: the client's only listed resource);
/// `None` when the client lists none and named none, so the registry must decide.
pub fn requested_uri(client: &ClientRow, requested: &[&str]) -> Result<Option<String>, OAuthError> {
    match requested {
        [] => match uri_list(&client.resources).as_slice() {
            [only] => Ok(Some(only.clone())),
            [] => Ok(None),
            _ => Err(OAuthError::invalid_target(
                "the resource parameter is required",
            )),
        },
        [one] => resource::canonicalize(one)
            .map(Some)
            .map_err(OAuthError::invalid_target),
        _ => Err(OAuthError::invalid_target("request one resource per token")),
    }
}

/// Checks that `client` may use `found` (the resource stored under `uri`, if any).
pub fn usable(
    client: &ClientRow,
    uri: &str,
    found: Option<ResourceRow>,
) -> Result<ResourceRow, OAuthError> {
    found.filter(|r| client_may_use(client, r)).ok_or_else(|| {
        OAuthError::invalid_target(format!("{uri} is not a resource this client may use"))
    })
}

/// Resolves the `resource` parameters of a request to one registered resource.
pub async fn resolve_resource(
    state: &AppState,
    client: &ClientRow,
    requested: &[&str],
) -> Result<ResourceRow, OAuthError> {
    match requested_uri(client, requested)? {
        Some(uri) => {
            let found = state.resource(&uri).await?;
            usable(client, &uri, found)
        }
        None => only_usable_resource(state, client).await,
    }
}

/// Without `resource`, a client that may use any open resource gets the one there is; with
/// several (or none) it must say which. Some MCP clients (the conformance suite's among
/// them) send no `resource` at all.
async fn only_usable_resource(
    state: &AppState,
    client: &ClientRow,
) -> Result<ResourceRow, OAuthError> {
    let candidates = state.store.resources_page("", 1000).await?;
    let mut usable = candidates.into_iter().filter(|r| client_may_use(client, r));
    match (usable.next(), usable.next()) {
        (Some(only), None) => Ok(only),
        _ => Err(OAuthError::invalid_target(
            "the resource parameter is required",
        )),
    }
}

/// The scopes to grant: the requested ones if the resource accepts them and the client may
/// ask for them, else (nothing requested) the resource's defaults that the client may have.
pub fn resolve_scope(
    client: &ClientRow,
    resource: &ResourceRow,
    requested: Option<&str>,
) -> Result<ScopeSet, OAuthError> {
    let accepted = ScopeSet::from_stored(&resource.scopes);
    let client_allowed = client.scopes.as_deref().map(ScopeSet::from_stored);
    let permitted = match &client_allowed {
        Some(allowed) => accepted.intersection(allowed),
        None => accepted,
    };
    let Some(requested) = requested else {
        let defaults = ScopeSet::from_stored(&resource.default_scopes).intersection(&permitted);
        if defaults.is_empty() {
            return Err(OAuthError::invalid_scope(
                "no scope was requested and the resource has no default scope for this client",
            ));
        }
        return Ok(defaults);
    };
    let requested = ScopeSet::parse(requested).map_err(OAuthError::invalid_scope)?;
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope("the scope parameter is empty"));
    }
    let refused: Vec<&str> = requested.difference(&permitted).collect();
    if !refused.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "not available to this client for {}: {}",
            resource.uri,
            refused.join(" ")
        )));
    }
    Ok(requested)
}

/// The access-token lifetime for `resource`, within the configured ceiling.
pub fn access_token_ttl(state: &AppState, resource: &ResourceRow) -> i64 {
    resource
        .access_token_ttl
        .unwrap_or(state.settings.access_token_ttl)
        .min(state.settings.access_token_max_ttl)
}

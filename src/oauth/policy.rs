//! Which client may get which audience and scopes (RFC 8707 §2, RFC 6749 §3.3), decided
//! from the resource registry. Shared by every grant.

use crate::domain::Client;
use crate::domain::Resource;
use crate::oauth::error::OAuthError;
use crate::oauth::resource;
use crate::oauth::scope::{self, ScopeSet};
use crate::state::AppState;

/// The canonical URIs of a JSON array column.
pub fn uri_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// May `client` obtain tokens for `resource`? Both sides must agree: the client lists the
/// resource (or lists none, meaning any open resource; never the built-in admin API), and
/// the resource admits any client or names this one.
pub fn client_may_use(client: &Client, resource: &Resource) -> bool {
    let client_side =
        client.lists_resource(&resource.uri) || (client.resources.is_empty() && !resource.builtin);
    resource.enabled && client_side && resource.admits(&client.client_id)
}

/// The canonical URI a request names (or implies: the client's only listed resource);
/// `None` when the client lists none and named none, so the registry must decide.
pub fn requested_uri(client: &Client, requested: &[&str]) -> Result<Option<String>, OAuthError> {
    match requested {
        [] => match client.resources.as_slice() {
            [only] => Ok(Some(only.as_str().to_owned())),
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
pub fn usable(client: &Client, uri: &str, found: Option<Resource>) -> Result<Resource, OAuthError> {
    found.filter(|r| client_may_use(client, r)).ok_or_else(|| {
        OAuthError::invalid_target(format!(
            "{} is not a resource this client may use",
            crate::oauth::params::excerpt(uri)
        ))
    })
}

/// Resolves the `resource` parameters of a request to one registered resource.
pub async fn resolve_resource(
    state: &AppState,
    client: &Client,
    requested: &[&str],
) -> Result<Resource, OAuthError> {
    match requested_uri(client, requested)? {
        Some(uri) => {
            let found = crate::oauth::lookup::resource(state, &uri).await?;
            usable(client, &uri, found)
        }
        None => only_usable_resource(state, client).await,
    }
}

/// Without `resource`, a client that may use any open resource gets the one there is; with
/// several (or none) it must say which. Some MCP clients (the conformance suite's among
/// them) send no `resource` at all.
async fn only_usable_resource(state: &AppState, client: &Client) -> Result<Resource, OAuthError> {
    let candidates = state.store.resources_page("", 1000).await?;
    let mut usable = candidates.into_iter().filter(|r| client_may_use(client, r));
    match (usable.next(), usable.next()) {
        (Some(only), None) => Ok(only),
        _ => Err(OAuthError::invalid_target(
            "the resource parameter is required",
        )),
    }
}

/// What `client` may hold on `resource` now: the scopes the resource accepts, within the
/// client's allowed scopes when it has a list. The resource's scopes are always in the
/// catalogue (a scope a resource accepts cannot be deleted, see `admin::scopes::delete`),
/// so this is within the catalogue too, without reading it on every token.
pub fn permitted_scopes(client: &Client, resource: &Resource) -> ScopeSet {
    let accepted = resource.scopes.clone();
    match &client.scopes {
        Some(allowed) => accepted.intersection(allowed),
        None => accepted,
    }
}

fn permitted(resource_scopes: &str, client_scopes: Option<&str>) -> ScopeSet {
    let accepted = ScopeSet::from_stored(resource_scopes);
    match client_scopes {
        Some(allowed) => accepted.intersection(&ScopeSet::from_stored(allowed)),
        None => accepted,
    }
}

/// `still_permitted` over stored columns: the store narrows live grants with it in the
/// transaction that narrows a client or a resource, so a scope taken away and given back
/// later needs the user's consent again (`store::grants::Narrow`).
pub fn narrow_stored(stored: &str, client_scopes: Option<&str>, resource_scopes: &str) -> String {
    ScopeSet::from_stored(stored)
        .intersection(&permitted(resource_scopes, client_scopes))
        .to_scope_string()
}

/// Stored consent (a grant, a refresh token, a remembered consent, a subject token's
/// scope) as it stands today: what was granted, within what the client may hold on the
/// resource now. Every grant that reuses consent goes through here, so an admin who takes
/// a scope from a client or a resource takes it from every grant at its next use, instead
/// of only refusing new authorizations. Empty means nothing is left: the grant is over.
pub fn still_permitted(stored: &ScopeSet, client: &Client, resource: &Resource) -> ScopeSet {
    stored.intersection(&permitted_scopes(client, resource))
}

/// The scopes to grant: the requested ones if the resource accepts them and the client may
/// ask for them, else (nothing requested) the resource's defaults that the client may have.
/// `offline_access` asks for a refresh token, not for access: it is set aside here (see
/// `token::issues_refresh_token`), and a request for it alone asks for the defaults.
pub fn resolve_scope(
    client: &Client,
    resource: &Resource,
    requested: Option<&str>,
) -> Result<ScopeSet, OAuthError> {
    let permitted = permitted_scopes(client, resource);
    let requested = match requested {
        Some(value) => {
            let parsed = ScopeSet::parse(value).map_err(OAuthError::invalid_scope)?;
            let rest = scope::without_offline_access(parsed.clone());
            if rest.is_empty() && !parsed.is_empty() {
                None
            } else {
                Some(rest)
            }
        }
        None => None,
    };
    let Some(requested) = requested else {
        let defaults = resource.default_scopes.intersection(&permitted);
        if defaults.is_empty() {
            return Err(OAuthError::invalid_scope(
                "no scope was requested and the resource has no default scope for this client",
            ));
        }
        return Ok(defaults);
    };
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope("the scope parameter is empty"));
    }
    let refused: Vec<&str> = requested.difference(&permitted).collect();
    if !refused.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "not available to this client for {}: {}",
            crate::oauth::params::excerpt(&resource.uri),
            crate::oauth::params::excerpt(&refused.join(" "))
        )));
    }
    Ok(requested)
}

/// The access-token lifetime for `resource`, within the configured ceiling.
pub fn access_token_ttl(state: &AppState, resource: &Resource) -> i64 {
    resource
        .access_token_ttl
        .unwrap_or(state.settings.access_token_ttl)
        .min(state.settings.access_token_max_ttl)
}

//! `warden resource check` and `POST /admin/v1/resources/{id}/check`: find the resource,
//! run the probes of `oauth::resource_check`, store the outcome on the resource.

use crate::admin::AdminError;
use crate::domain::Resource;
use crate::oauth::resource::canonicalize;
use crate::oauth::resource_check::{self, CheckReport, Prober};
use crate::store::Store;

/// Checks the resource named by id or by URI, and records the outcome.
pub async fn check(
    store: &Store,
    prober: &Prober<'_>,
    id_or_uri: &str,
) -> Result<CheckReport, AdminError> {
    let resource = find(store, id_or_uri).await?;
    if resource.builtin {
        return Err(AdminError::Conflict(
            "the built-in admin resource is Warden itself; check the MCP servers you registered"
                .into(),
        ));
    }
    let report = resource_check::run(prober, &resource).await?;
    store
        .record_resource_check(&resource.id, &report.last_check())
        .await?;
    Ok(report)
}

/// A resource by id, else by (canonical) URI.
pub async fn find(store: &Store, id_or_uri: &str) -> Result<Resource, AdminError> {
    if let Some(r) = store.resource_by_id(id_or_uri).await? {
        return Ok(r);
    }
    if let Ok(uri) = canonicalize(id_or_uri)
        && let Some(r) = store.resource_by_uri(&uri).await?
    {
        return Ok(r);
    }
    Err(AdminError::NotFound(format!(
        "no resource with id or URI {id_or_uri:?} (warden resource list shows them)"
    )))
}

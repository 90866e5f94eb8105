//! Trust decisions about the domains that host client metadata documents: `trusted`
//! drops the consent screen's warning, `blocked` refuses the domain's clients (and its
//! subdomains'); `*.example.com` names the subdomains of example.com.

use serde_json::json;

use crate::admin::AdminError;
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::oauth::domain_policy::normalise_entry;
use crate::store::Store;
use crate::store::registration::DomainPolicy;

pub use crate::store::registration::DOMAIN_POLICIES as POLICIES;

/// Stores the normalised form (case, trailing dot, IDNA), which is what requests are
/// matched in: see `oauth::domain_policy`.
fn check(domain: &str, policy: Option<&str>) -> Result<String, AdminError> {
    let Some(lowered) = normalise_entry(domain) else {
        return Err(AdminError::invalid(
            "domain",
            "must be a host name such as app.example.com, or *.example.com for its subdomains",
        ));
    };
    if let Some(p) = policy
        && !POLICIES.contains(&p)
    {
        return Err(AdminError::invalid("policy", "must be trusted or blocked"));
    }
    Ok(lowered)
}

pub async fn set(
    store: &Store,
    domain: &str,
    policy: &str,
    now: i64,
    actor: &Actor,
) -> Result<DomainPolicy, AdminError> {
    let domain = check(domain, Some(policy))?;
    let before = store
        .metadata_domains()
        .await?
        .into_iter()
        .find(|d| d.domain == domain)
        .map(|d| d.policy);
    let event = AuditEvent::new(AuditKind::MetadataDomainSet, actor.clone(), now).details(json!({
        "domain": domain,
        "policy": { "before": before, "after": policy },
    }));
    store
        .set_metadata_domain(&domain, policy, now, &event)
        .await?;
    Ok(DomainPolicy {
        domain,
        policy: policy.to_owned(),
        created_at: now,
    })
}

pub async fn forget(
    store: &Store,
    domain: &str,
    now: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let domain = check(domain, None)?;
    let event = AuditEvent::new(AuditKind::MetadataDomainForgotten, actor.clone(), now)
        .details(json!({ "domain": domain }));
    if !store.delete_metadata_domain(&domain, &event).await? {
        return Err(AdminError::NotFound(format!("no policy for {domain}")));
    }
    Ok(())
}

pub async fn list(store: &Store) -> Result<Vec<DomainPolicy>, AdminError> {
    Ok(store.metadata_domains().await?)
}

//! Enterprise identity providers trusted for ID-JAGs (the jwt-bearer grant's
//! Enterprise-Managed Authorization profile): add, list, remove.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::{AdminError, change_event, conflict_on_duplicate, key_source};
use crate::domain::{Actor, AuditEvent, AuditKind, EmailRule};
use crate::store::Store;
use crate::store::idps::IdJagIssuerRow;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIdp {
    pub issuer: String,
    pub jwks_uri: String,
    /// Default ES256 and RS256.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// link, create or refuse (the default).
    pub email_rule: Option<String>,
    /// An accepted ID-JAG also buys a refresh token (default false: the IdP decides again
    /// at each access token).
    #[serde(default)]
    pub refresh_tokens: bool,
}

#[derive(Debug, Serialize)]
pub struct IdpView {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub algorithms: Vec<String>,
    pub email_rule: &'static str,
    pub refresh_tokens: bool,
    pub created_at: i64,
}

impl From<IdJagIssuerRow> for IdpView {
    fn from(r: IdJagIssuerRow) -> IdpView {
        IdpView {
            id: r.id,
            issuer: r.issuer,
            jwks_uri: r.jwks_uri,
            algorithms: r.algorithms.split(' ').map(str::to_owned).collect(),
            email_rule: r.email_rule.as_str(),
            refresh_tokens: r.refresh_tokens,
            created_at: r.created_at,
        }
    }
}

pub async fn add(
    store: &Store,
    input: NewIdp,
    now: i64,
    actor: &Actor,
) -> Result<IdpView, AdminError> {
    key_source::https_url("issuer", &input.issuer)?;
    key_source::https_url("jwks_uri", &input.jwks_uri)?;
    let algorithms = match input.algorithms.is_empty() {
        true => vec!["ES256".to_owned(), "RS256".to_owned()],
        false => input.algorithms,
    };
    key_source::algorithms(&algorithms)?;
    let email_rule = match input.email_rule.as_deref() {
        None => EmailRule::Refuse,
        Some(rule) => rule
            .parse()
            .map_err(|_| AdminError::invalid("email_rule", "must be link, create or refuse"))?,
    };
    let row = IdJagIssuerRow {
        id: uuid::Uuid::now_v7().to_string(),
        issuer: input.issuer,
        jwks_uri: input.jwks_uri,
        algorithms: algorithms.join(" "),
        email_rule,
        refresh_tokens: input.refresh_tokens,
        created_at: now,
    };
    let event = change_event(
        AuditKind::IdJagIssuerCreated,
        actor,
        now,
        Value::Null,
        IdpView::from(row.clone()),
    );
    store
        .insert_id_jag_issuer(&row, &event)
        .await
        .map_err(|e| conflict_on_duplicate(e, format!("{} is already trusted", row.issuer)))?;
    Ok(IdpView::from(row))
}

pub async fn list(store: &Store) -> Result<Vec<IdpView>, AdminError> {
    Ok(store
        .id_jag_issuers()
        .await?
        .into_iter()
        .map(IdpView::from)
        .collect())
}

pub async fn remove(store: &Store, id: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let before = store
        .id_jag_issuers()
        .await?
        .into_iter()
        .find(|t| t.id == id);
    let event = change_event(
        AuditKind::IdJagIssuerDeleted,
        actor,
        now,
        before.map(IdpView::from),
        Value::Null,
    )
    .detail("id", id);
    let revoked = AuditEvent::new(AuditKind::GrantRevoked, actor.clone(), now)
        .detail("via", "id_jag_issuer_deleted");
    if !store.delete_id_jag_issuer(id, &event, &revoked).await? {
        return Err(AdminError::NotFound(format!(
            "no ID-JAG identity provider {id}"
        )));
    }
    Ok(())
}

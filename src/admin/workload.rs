//! Workload identity rules (SEP-1933): which platform-issued JWTs (issuer, keys, algorithms,
//! `aud`, a `sub` pattern, extra claims) authenticate which workload client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::{AdminError, change_event, key_source};
use crate::domain::{Actor, AuditKind, RequiredClaims, SubjectPattern};
use crate::store::Store;
use crate::store::workload::WorkloadRuleRow;

/// Claims the verifier checks itself; a rule may not pin them.
const RESERVED_CLAIMS: [&str; 7] = ["iss", "aud", "sub", "exp", "iat", "nbf", "jti"];
const MAX_CLAIMS: usize = 16;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkloadRule {
    /// The workload JWT's iss, exactly.
    pub issuer: String,
    /// Where the issuer's public keys are (fetched through the SSRF-safe fetcher).
    pub jwks_uri: String,
    /// A value the JWT's `aud` must contain (Warden's issuer, or what the platform sets).
    pub audience: String,
    #[serde(default = "default_algs")]
    #[schema(schema_with = key_source::algorithms_schema)]
    pub algorithms: Vec<String>,
    /// The JWT's sub, exactly, or a glob where `*` matches any run of characters.
    pub subject: String,
    /// Other claims that must be present and equal.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub claims: BTreeMap<String, Value>,
    /// An admin client with token_endpoint_auth_method none and jwt-bearer as its only
    /// grant type.
    pub client_id: String,
}

fn default_algs() -> Vec<String> {
    vec!["ES256".into(), "RS256".into()]
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkloadRule)]
pub struct WorkloadRuleView {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    #[schema(schema_with = key_source::algorithms_schema)]
    pub algorithms: Vec<String>,
    pub subject: String,
    #[schema(value_type = Object)]
    pub claims: Value,
    pub client_id: String,
    /// Unix time, seconds.
    pub created_at: i64,
}

impl From<WorkloadRuleRow> for WorkloadRuleView {
    fn from(r: WorkloadRuleRow) -> WorkloadRuleView {
        WorkloadRuleView {
            id: r.id,
            issuer: r.issuer,
            jwks_uri: r.jwks_uri,
            audience: r.audience,
            algorithms: r.algorithms.split(' ').map(str::to_owned).collect(),
            subject: r.subject,
            claims: serde_json::from_str(&r.claims).unwrap_or(Value::Null),
            client_id: r.client_id,
            created_at: r.created_at,
        }
    }
}

pub async fn add(
    store: &Store,
    input: NewWorkloadRule,
    now: i64,
    actor: &Actor,
) -> Result<WorkloadRuleView, AdminError> {
    key_source::https_url("issuer", &input.issuer)?;
    key_source::https_url("jwks_uri", &input.jwks_uri)?;
    if input.audience.is_empty() || input.audience.len() > 512 {
        return Err(AdminError::invalid(
            "audience",
            "must be 1 to 512 characters",
        ));
    }
    key_source::algorithms(&input.algorithms)?;
    let subject =
        SubjectPattern::parse(&input.subject).map_err(|m| AdminError::invalid("subject", m))?;
    if input.claims.len() > MAX_CLAIMS {
        return Err(AdminError::invalid(
            "claims",
            format!("at most {MAX_CLAIMS} claims"),
        ));
    }
    if let Some(name) = input
        .claims
        .keys()
        .find(|k| k.is_empty() || k.len() > 128 || RESERVED_CLAIMS.contains(&k.as_str()))
    {
        return Err(AdminError::invalid(
            "claims",
            format!("{name:?} cannot be required here (iss, aud and sub have their own fields)"),
        ));
    }
    let client = store
        .client(&input.client_id)
        .await?
        .ok_or_else(|| AdminError::invalid("client_id", "no such client"))?;
    if !client.is_workload_only() {
        return Err(AdminError::invalid(
            "client_id",
            "a workload client is an admin client with token_endpoint_auth_method none, \
             no keys, and urn:ietf:params:oauth:grant-type:jwt-bearer as its only grant type",
        ));
    }
    let claims = RequiredClaims::new(input.claims);
    let mut algorithms = input.algorithms;
    algorithms.dedup();
    let row = WorkloadRuleRow {
        id: uuid::Uuid::now_v7().to_string(),
        issuer: input.issuer,
        jwks_uri: input.jwks_uri,
        algorithms: algorithms.join(" "),
        audience: input.audience,
        subject: subject.as_str().to_owned(),
        claims: serde_json::to_string(&claims).map_err(anyhow::Error::from)?,
        client_id: client.client_id,
        created_at: now,
    };
    let view = WorkloadRuleView::from(row.clone());
    let event = change_event(
        AuditKind::WorkloadRuleCreated,
        actor,
        now,
        Value::Null,
        view.clone(),
    )
    .client(&row.client_id);
    store.insert_workload_rule(&row, &event).await?;
    Ok(view)
}

pub async fn list(store: &Store) -> Result<Vec<WorkloadRuleView>, AdminError> {
    Ok(store
        .workload_rules()
        .await?
        .into_iter()
        .map(WorkloadRuleView::from)
        .collect())
}

pub async fn remove(store: &Store, id: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let before = store
        .workload_rules()
        .await?
        .into_iter()
        .find(|r| r.id == id);
    let event = change_event(
        AuditKind::WorkloadRuleDeleted,
        actor,
        now,
        before.map(WorkloadRuleView::from),
        Value::Null,
    )
    .detail("id", id);
    if !store.delete_workload_rule(id, &event).await? {
        return Err(AdminError::NotFound(format!("no workload rule {id}")));
    }
    Ok(())
}

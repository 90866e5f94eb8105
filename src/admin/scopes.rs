//! The scope catalogue: names (RFC 6749 §3.3 syntax) with descriptions for end users, and
//! the hierarchy (SEP-835): what each scope implies. An implied scope must be in the
//! catalogue and the whole hierarchy must stay acyclic and bounded
//! (`Implications::check`). The built-in scopes (`warden:admin`, `offline_access`) cannot
//! be deleted, keep their meaning, and take no part in the hierarchy.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::{AdminError, change_event, check_text, conflict_on_duplicate};
use crate::domain::{Actor, AuditKind, Resource};
use crate::oauth::scope::{Implications, OFFLINE_ACCESS, is_builtin, validate_token};
use crate::store::Store;
use crate::store::scopes::ScopeRow;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScope {
    /// RFC 6749 scope-token.
    pub name: String,
    /// Shown to end users on the consent screen.
    pub description: String,
    /// Granted by default by resources that accept it.
    #[serde(default)]
    #[schema(default = false)]
    pub is_default: bool,
    /// Catalogue scopes this one implies (holding it also grants them); no cycles, at most
    /// 16 directly, chains of at most 8, 64 in all.
    #[serde(default)]
    pub implies: Vec<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeChanges {
    pub description: Option<String>,
    pub is_default: Option<bool>,
    /// Replaces what the scope implies (an empty list: nothing).
    pub implies: Option<Vec<String>>,
}

pub async fn create(
    store: &Store,
    input: NewScope,
    now: i64,
    actor: &Actor,
) -> Result<ScopeUse, AdminError> {
    validate_token(&input.name).map_err(|m| AdminError::invalid("name", m))?;
    check_text("description", &input.description, 500, true)?;
    let implies = checked_implications(store, &input.name, &input.implies).await?;
    let row = ScopeRow {
        name: input.name,
        description: input.description,
        is_default: input.is_default,
        created_at: now,
    };
    let event = change_event(
        AuditKind::ScopeCreated,
        actor,
        now,
        Value::Null,
        Audited {
            row: &row,
            implies: &implies,
        },
    )
    .detail("scope", row.name.clone());
    store
        .insert_scope(&row, &implies, &event)
        .await
        .map_err(|e| conflict_on_duplicate(e, format!("scope {} already exists", row.name)))?;
    usage(store, &row.name).await
}

/// A scope as the audit log records it: the row and what it implies.
#[derive(Serialize)]
struct Audited<'a> {
    #[serde(flatten)]
    row: &'a ScopeRow,
    implies: &'a [String],
}

/// `implies` for scope `name`, checked against the catalogue and the hierarchy as it
/// would be after the change: deduplicated, every scope known, none built in, no cycle.
async fn checked_implications(
    store: &Store,
    name: &str,
    implies: &[String],
) -> Result<Vec<String>, AdminError> {
    let mut list: Vec<String> = Vec::new();
    for implied in implies {
        if !list.contains(implied) {
            list.push(implied.clone());
        }
    }
    if list.is_empty() {
        return Ok(list);
    }
    if is_builtin(name) {
        return Err(AdminError::invalid(
            "implies",
            format!("{name} is built in and cannot imply other scopes"),
        ));
    }
    for implied in &list {
        validate_token(implied).map_err(|m| AdminError::invalid("implies", m))?;
        if implied == name {
            return Err(AdminError::invalid(
                "implies",
                format!("{name} cannot imply itself"),
            ));
        }
        if is_builtin(implied) {
            return Err(AdminError::invalid(
                "implies",
                format!("{implied} is built in and cannot be implied by another scope"),
            ));
        }
        if store.scope(implied).await?.is_none() {
            return Err(AdminError::invalid(
                "implies",
                format!("{implied} is not in the scope catalogue"),
            ));
        }
    }
    Implications::from_edges(store.scope_implications().await?)
        .with(name, &list)
        .check()
        .map_err(|m| AdminError::invalid("implies", m))?;
    Ok(list)
}

pub async fn get(store: &Store, name: &str) -> Result<ScopeRow, AdminError> {
    store
        .scope(name)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no scope {name}")))
}

pub async fn update(
    store: &Store,
    name: &str,
    changes: ScopeChanges,
    now: i64,
    actor: &Actor,
) -> Result<ScopeUse, AdminError> {
    let mut row = get(store, name).await?;
    let before = row.clone();
    let implied_before = Implications::from_edges(store.scope_implications().await?).direct(name);
    let implies = match &changes.implies {
        Some(list) => Some(checked_implications(store, name, list).await?),
        None => None,
    };
    if let Some(description) = changes.description {
        check_text("description", &description, 500, true)?;
        row.description = description;
    }
    if let Some(is_default) = changes.is_default {
        if is_default && name == OFFLINE_ACCESS {
            return Err(AdminError::invalid(
                "is_default",
                "offline_access asks for a refresh token; no resource grants it by default",
            ));
        }
        row.is_default = is_default;
    }
    let implied_after = implies.as_deref().unwrap_or(&implied_before);
    let event = change_event(
        AuditKind::ScopeUpdated,
        actor,
        now,
        Audited {
            row: &before,
            implies: &implied_before,
        },
        Audited {
            row: &row,
            implies: implied_after,
        },
    )
    .detail("scope", name);
    store
        .update_scope(
            name,
            &row.description,
            row.is_default,
            implies.as_deref(),
            &event,
        )
        .await?;
    usage(store, name).await
}

/// Refuses while a resource accepts the scope: tokens and consents would lose meaning.
pub async fn delete(store: &Store, name: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let before = get(store, name).await?;
    if is_builtin(name) {
        return Err(AdminError::Conflict(format!(
            "scope {name} is built into Warden and cannot be deleted"
        )));
    }
    let implied_by = Implications::from_edges(store.scope_implications().await?).implied_by(name);
    if !implied_by.is_empty() {
        return Err(AdminError::Conflict(format!(
            "scope {name} is implied by {}; remove the implication there first",
            implied_by.join(", ")
        )));
    }
    let users = store.resources_using_scope(name).await?;
    if !users.is_empty() {
        return Err(AdminError::Conflict(format!(
            "scope {name} is accepted by {}; remove it there first",
            users.join(", ")
        )));
    }
    let event = change_event(AuditKind::ScopeDeleted, actor, now, &before, Value::Null)
        .detail("scope", name);
    store.delete_scope(name, &event).await?;
    Ok(())
}

/// A resource that accepts a scope, as a list names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResourceRef {
    pub id: String,
    pub name: String,
}

/// A catalogue entry, its place in the hierarchy and the resources that accept it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Scope)]
pub struct ScopeUse {
    #[serde(flatten)]
    pub scope: ScopeRow,
    /// Defined by Warden (`warden:admin`, `offline_access`): not deletable, outside the
    /// hierarchy.
    pub builtin: bool,
    /// Scopes that holding this one also grants, as the admin set it (SEP-835).
    pub implies: Vec<String>,
    /// Everything it grants through implications, directly or not; tokens carry it.
    pub includes: Vec<String>,
    /// The scopes that imply this one directly.
    pub implied_by: Vec<String>,
    /// Resources that accept the scope.
    pub used_by: Vec<ResourceRef>,
}

impl ScopeUse {
    fn of(scope: ScopeRow, implications: &Implications, resources: &[Resource]) -> ScopeUse {
        let name = scope.name.as_str();
        ScopeUse {
            builtin: is_builtin(name),
            implies: implications.direct(name),
            includes: implications
                .included_in(name)
                .iter()
                .map(str::to_owned)
                .collect(),
            implied_by: implications.implied_by(name),
            used_by: users_of(name, resources),
            scope,
        }
    }
}

fn users_of(name: &str, resources: &[Resource]) -> Vec<ResourceRef> {
    resources
        .iter()
        .filter(|r| r.scopes.contains(name))
        .map(|r| ResourceRef {
            id: r.id.clone(),
            name: r.name.clone(),
        })
        .collect()
}

/// The whole catalogue (it is small), each scope with its implications and the resources
/// that accept it: three queries, however many scopes.
pub async fn catalogue(store: &Store) -> Result<Vec<ScopeUse>, AdminError> {
    let resources = store.all_resources().await?;
    let implications = Implications::from_edges(store.scope_implications().await?);
    Ok(store
        .scopes()
        .await?
        .into_iter()
        .map(|scope| ScopeUse::of(scope, &implications, &resources))
        .collect())
}

/// One scope, its implications and the resources that accept it.
pub async fn usage(store: &Store, name: &str) -> Result<ScopeUse, AdminError> {
    let scope = get(store, name).await?;
    let resources = store.all_resources().await?;
    let implications = Implications::from_edges(store.scope_implications().await?);
    Ok(ScopeUse::of(scope, &implications, &resources))
}

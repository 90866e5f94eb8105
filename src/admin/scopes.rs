//! The scope catalogue: names (RFC 6749 §3.3 syntax) with descriptions for end users.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::{AdminError, change_event, check_text, conflict_on_duplicate};
use crate::domain::{Actor, AuditKind, Resource};
use crate::oauth::scope::validate_token;
use crate::store::Store;
use crate::store::scopes::ScopeRow;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewScope {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeChanges {
    pub description: Option<String>,
    pub is_default: Option<bool>,
}

pub async fn create(
    store: &Store,
    input: NewScope,
    now: i64,
    actor: &Actor,
) -> Result<ScopeRow, AdminError> {
    validate_token(&input.name).map_err(|m| AdminError::invalid("name", m))?;
    check_text("description", &input.description, 500, true)?;
    let row = ScopeRow {
        name: input.name,
        description: input.description,
        is_default: input.is_default,
        created_at: now,
    };
    let event = change_event(AuditKind::ScopeCreated, actor, now, Value::Null, &row)
        .detail("scope", row.name.clone());
    store
        .insert_scope(&row, &event)
        .await
        .map_err(|e| conflict_on_duplicate(e, format!("scope {} already exists", row.name)))?;
    Ok(row)
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
) -> Result<ScopeRow, AdminError> {
    let mut row = get(store, name).await?;
    let before = row.clone();
    if let Some(description) = changes.description {
        check_text("description", &description, 500, true)?;
        row.description = description;
    }
    if let Some(is_default) = changes.is_default {
        row.is_default = is_default;
    }
    let event =
        change_event(AuditKind::ScopeUpdated, actor, now, &before, &row).detail("scope", name);
    store
        .update_scope(name, &row.description, row.is_default, &event)
        .await?;
    Ok(row)
}

/// Refuses while a resource accepts the scope: tokens and consents would lose meaning.
pub async fn delete(store: &Store, name: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let before = get(store, name).await?;
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
#[derive(Debug, Clone, Serialize)]
pub struct ResourceRef {
    pub id: String,
    pub name: String,
}

/// A catalogue entry and the resources that accept it.
#[derive(Debug, Serialize)]
pub struct ScopeUse {
    #[serde(flatten)]
    pub scope: ScopeRow,
    pub used_by: Vec<ResourceRef>,
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

/// The whole catalogue (it is small), each scope with the resources that accept it: two
/// queries, however many scopes.
pub async fn catalogue(store: &Store) -> Result<Vec<ScopeUse>, AdminError> {
    let resources = store.all_resources().await?;
    Ok(store
        .scopes()
        .await?
        .into_iter()
        .map(|scope| ScopeUse {
            used_by: users_of(&scope.name, &resources),
            scope,
        })
        .collect())
}

/// One scope and the resources that accept it.
pub async fn usage(store: &Store, name: &str) -> Result<ScopeUse, AdminError> {
    let scope = get(store, name).await?;
    let resources = store.all_resources().await?;
    Ok(ScopeUse {
        used_by: users_of(name, &resources),
        scope,
    })
}

//! The registry admins manage: the scope catalogue, MCP resources, clients and their
//! grants, and signing keys. The admin API and the CLI both call these functions, so both
//! validate and store alike.

pub mod audit;
pub mod clients;
pub mod domains;
pub mod exchange;
pub mod grants;
pub mod id_jag;
pub mod idps;
pub mod key_source;
pub mod keys;
pub mod resource_check;
pub mod resources;
pub mod scopes;
pub mod setup;
pub mod upstream;
pub mod users;
pub mod workload;

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::{Actor, AuditEvent, AuditKind, changed_fields};
use crate::store::is_unique_violation;

/// The most items one page of a listing returns.
pub const MAX_PAGE: i64 = 200;

#[derive(Debug)]
pub enum AdminError {
    /// 422: the named field is invalid.
    Validation {
        field: &'static str,
        message: String,
    },
    /// 409: the change conflicts with what is stored.
    Conflict(String),
    /// 404.
    NotFound(String),
    /// 500/503, logged.
    Internal(anyhow::Error),
}

impl AdminError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> AdminError {
        AdminError::Validation {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Validation { field, message } => write!(f, "{field}: {message}"),
            AdminError::Conflict(m) | AdminError::NotFound(m) => f.write_str(m),
            AdminError::Internal(e) => write!(f, "internal error: {e:#}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> AdminError {
        AdminError::Internal(e.into())
    }
}

impl From<anyhow::Error> for AdminError {
    fn from(e: anyhow::Error) -> AdminError {
        AdminError::Internal(e)
    }
}

/// Members of a view that never go into the audit log, wherever they appear.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "secret_hash",
    "client_secret_hash",
    "password",
    "password_hash",
    "registration_access_token",
    "registration_token_hash",
];

/// The audit event of an admin change: `kind` by `actor`, with the fields that differ
/// between the views `before` and `after` (`Value::Null` for a creation or deletion).
/// Secret members are dropped, should a view ever carry one.
pub(crate) fn change_event(
    kind: AuditKind,
    actor: &Actor,
    now: i64,
    before: impl Serialize,
    after: impl Serialize,
) -> AuditEvent {
    let view = |v: serde_json::Result<serde_json::Value>| {
        let mut v = v.unwrap_or(serde_json::Value::Null);
        if let Some(object) = v.as_object_mut() {
            object.retain(|k, _| !SECRET_FIELDS.contains(&k.as_str()));
        }
        v
    };
    let (before, after) = (
        view(serde_json::to_value(before)),
        view(serde_json::to_value(after)),
    );
    AuditEvent::new(kind, actor.clone(), now).details(changed_fields(&before, &after))
}

/// Maps a unique violation on insert to 409.
pub(crate) fn conflict_on_duplicate(e: sqlx::Error, what: String) -> AdminError {
    if is_unique_violation(&e) {
        AdminError::Conflict(what)
    } else {
        e.into()
    }
}

/// A page of a listing; `next` is the cursor for the following page, absent at the end.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor for the next page (pass as `after`, or `before` for the audit log); absent on
    /// the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page of up to `limit` items: a full page's last key is the cursor for the next one
    /// (one extra, empty request at the very end is the price of not counting).
    pub fn of(items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
        let next = (items.len() as i64 == limit)
            .then(|| items.last().map(key))
            .flatten();
        Page { items, next }
    }

    pub fn map<V>(self, view: impl FnMut(T) -> V) -> Page<V> {
        Page {
            items: self.items.into_iter().map(view).collect(),
            next: self.next,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size.
    // `maximum` takes only a literal: `MAX_PAGE`, as the OpenAPI test checks.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Cursor from a previous page's `next`.
    pub after: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, AdminError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(_) => Err(AdminError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            )),
        }
    }
}

/// Checks a human-readable name or description.
pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<(), AdminError> {
    if required && value.trim().is_empty() {
        return Err(AdminError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(AdminError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AdminError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// For PATCH bodies: distinguishes an absent member (`None`) from `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

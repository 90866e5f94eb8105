//! Local user accounts. Passwords are hashed with argon2id off the async workers and
//! never leave this module in clear.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::change_event;
use crate::admin::{AdminError, Page, PageQuery, conflict_on_duplicate};
use crate::crypto::password;
use crate::domain::{Actor, AuditKind, Role};
use crate::store::Store;
use crate::store::users::{UserRow, UserWrite};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub username: String,
    /// At most 1024 bytes; hashed with argon2id.
    #[schema(min_length = 8, write_only)]
    pub password: String,
    /// `admin` may use the admin console at `{issuer}/admin`; absent: `none`.
    #[serde(default)]
    #[schema(default = "none")]
    pub role: Role,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// A new password ends the user's sessions and, unless keep_grants is true, revokes
    /// their grants: refresh tokens stop working and access tokens stop introspecting
    /// active.
    #[schema(min_length = 8, write_only)]
    pub password: Option<String>,
    /// Disabling ends the user's sessions; their tokens stop introspecting active.
    pub disabled: Option<bool>,
    /// `admin` may use the admin console at `{issuer}/admin`.
    pub role: Option<Role>,
    /// With a new password: keep the user's grants (and so their tokens) alive. By default
    /// a password change revokes them, as it ends the sessions.
    #[schema(default = false)]
    pub keep_grants: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub disabled: bool,
    /// `admin` may use the admin console at `{issuer}/admin`.
    pub role: Role,
    /// Unix time, seconds.
    pub created_at: i64,
    /// Unix time, seconds.
    pub updated_at: i64,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> UserView {
        UserView {
            id: u.id,
            username: u.username,
            disabled: u.disabled,
            role: u.role,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// The longest username an account can have (sign-in refuses longer ones unread).
pub const MAX_USERNAME_BYTES: usize = 64;

fn check_username(name: &str) -> Result<(), AdminError> {
    let ok = (1..=MAX_USERNAME_BYTES).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if !ok {
        return Err(AdminError::invalid(
            "username",
            "1 to 64 characters: letters, digits, '.', '_', '-' or '@'",
        ));
    }
    Ok(())
}

async fn hash(password_in: String) -> Result<String, AdminError> {
    if password_in.chars().count() < 8 {
        return Err(AdminError::invalid(
            "password",
            "must be at least 8 characters",
        ));
    }
    if password_in.len() > password::MAX_PASSWORD_BYTES {
        return Err(AdminError::invalid(
            "password",
            format!("must be at most {} bytes", password::MAX_PASSWORD_BYTES),
        ));
    }
    let hashed = tokio::task::spawn_blocking(move || password::hash(&password_in))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(hashed)
}

/// A checked, hashed new account, not yet stored (a taken name is a 409).
pub(crate) async fn new_row(
    store: &Store,
    input: NewUser,
    now: i64,
) -> Result<UserRow, AdminError> {
    check_username(&input.username)?;
    if store.user_by_name(&input.username).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "user {} already exists",
            input.username
        )));
    }
    Ok(UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        username: input.username,
        password_hash: hash(input.password).await?,
        disabled: false,
        role: input.role,
        created_at: now,
        updated_at: now,
    })
}

pub async fn create(
    store: &Store,
    input: NewUser,
    now: i64,
    actor: &Actor,
) -> Result<UserRow, AdminError> {
    let row = new_row(store, input, now).await?;
    let event = change_event(
        AuditKind::UserCreated,
        actor,
        now,
        Value::Null,
        UserView::from(row.clone()),
    )
    .subject(&row.id);
    store
        .insert_user(&row, &event)
        .await
        .map_err(|e| conflict_on_duplicate(e, format!("user {} already exists", row.username)))?;
    Ok(row)
}

/// By id, or by username (the CLI's handle).
pub async fn get(store: &Store, id_or_name: &str) -> Result<UserRow, AdminError> {
    if let Some(u) = store.user_by_id(id_or_name).await? {
        return Ok(u);
    }
    store
        .user_by_name(id_or_name)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user {id_or_name}")))
}

pub async fn list(store: &Store, query: &PageQuery) -> Result<Page<UserRow>, AdminError> {
    let limit = query.limit()?;
    let items = store
        .users_page(query.after.as_deref().unwrap_or(""), limit)
        .await?;
    Ok(Page::of(items, limit, |u| u.username.clone()))
}

/// Whether the account can open the console now.
fn is_enabled_admin(u: &UserRow) -> bool {
    u.role == Role::Admin && !u.disabled
}

/// The one rule that keeps the console reachable: the last enabled admin cannot be
/// demoted, disabled or deleted, by the API, the CLI or the console alike. (The CLI can
/// always make a new admin, but an unreachable console should take a deliberate step.)
/// Checked by the store under a lock, in the change's transaction.
fn last_admin(u: &UserRow) -> AdminError {
    AdminError::Conflict(format!(
        "{} is the last enabled admin: make another user an admin first",
        u.username
    ))
}

/// Maps what the store found to the service's answer.
fn written(outcome: UserWrite, u: &UserRow) -> Result<(), AdminError> {
    match outcome {
        UserWrite::Done => Ok(()),
        UserWrite::NotFound => Err(AdminError::NotFound(format!("no user {}", u.username))),
        UserWrite::LastAdmin => Err(last_admin(u)),
    }
}

/// A new password or a disabled account ends the user's sessions; a new password also
/// revokes the user's grants unless `keep_grants` says otherwise (whoever knew the old
/// password may hold tokens it bought). One transaction: the password never changes
/// without the revocation.
pub async fn update(
    store: &Store,
    id_or_name: &str,
    changes: UserChanges,
    now: i64,
    actor: &Actor,
) -> Result<UserRow, AdminError> {
    let mut row = get(store, id_or_name).await?;
    let was_admin = is_enabled_admin(&row);
    let before = UserView::from(row.clone());
    let new_password = changes.password.is_some();
    let end_sessions = changes.password.is_some() || changes.disabled == Some(true);
    let revoke_grants = changes.password.is_some() && changes.keep_grants != Some(true);
    if let Some(p) = changes.password {
        row.password_hash = hash(p).await?;
    }
    if let Some(d) = changes.disabled {
        row.disabled = d;
    }
    if let Some(r) = changes.role {
        row.role = r;
    }
    let mut after = UserView::from(row.clone());
    after.updated_at = before.updated_at;
    row.updated_at = now;
    // That the password changed, never what it (or its hash) is.
    let mut event =
        change_event(AuditKind::UserUpdated, actor, now, before, after).subject(&row.id);
    if new_password {
        event = event.detail("password", "changed");
    }
    if end_sessions {
        event = event.detail("sessions", "ended");
    }
    if revoke_grants {
        event = event.detail("grants", "revoked");
    }
    let keep_an_admin = was_admin && !is_enabled_admin(&row);
    let outcome = store
        .update_user(&row, end_sessions, revoke_grants, keep_an_admin, &event)
        .await?;
    written(outcome, &row)?;
    Ok(row)
}

/// Deletes the account, its sessions, and revokes its grants.
pub async fn delete(
    store: &Store,
    id_or_name: &str,
    now: i64,
    actor: &Actor,
) -> Result<(), AdminError> {
    let row = get(store, id_or_name).await?;
    let event = change_event(
        AuditKind::UserDeleted,
        actor,
        now,
        UserView::from(row.clone()),
        Value::Null,
    )
    .subject(&row.id)
    .detail("grants", "revoked");
    let outcome = store
        .delete_user(&row.id, now, is_enabled_admin(&row), &event)
        .await?;
    written(outcome, &row)
}

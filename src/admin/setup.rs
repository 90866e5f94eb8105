//! The first admin, from a browser: while no admin account exists, `warden serve` prints a
//! one-time link (`{issuer}/admin/setup?token=…`, an hour) whose page creates one. The
//! token is random and only its SHA-256 is stored; creating the account spends every link.

use serde_json::Value;

use crate::admin::users::{NewUser, UserView, new_row};
use crate::admin::{AdminError, change_event};
use crate::crypto::random;
use crate::domain::{Actor, AuditKind, Role};
use crate::settings::Issuer;
use crate::store::Store;
use crate::store::users::UserRow;

/// How long a setup link works.
pub const SETUP_LINK_TTL: i64 = 3600;

/// The path of the setup page under the issuer.
pub const SETUP_PATH: &str = "/admin/setup";

/// A new setup link, or `None` when an admin already exists.
pub async fn issue_link(
    store: &Store,
    issuer: &Issuer,
    now: i64,
) -> Result<Option<String>, AdminError> {
    if store.any_admin().await? {
        return Ok(None);
    }
    let token = random::token();
    store
        .insert_setup_token(&random::sha256_b64(&token), now, now + SETUP_LINK_TTL)
        .await?;
    Ok(Some(format!(
        "{}?token={token}",
        issuer.endpoint(SETUP_PATH)
    )))
}

/// Does `token` still open the setup page?
pub async fn link_is_live(store: &Store, token: &str, now: i64) -> Result<bool, AdminError> {
    if token.len() != 43 {
        return Ok(false);
    }
    Ok(store
        .setup_token_live(&random::sha256_b64(token), now)
        .await?)
}

/// What a setup form achieved.
pub enum Setup {
    Created(UserRow),
    /// The link was spent, expired or unknown, or an admin exists: nothing was created.
    LinkGone,
}

/// Creates the first admin with `token`. A bad username or password is the usual 422.
pub async fn complete(
    store: &Store,
    token: &str,
    username: String,
    password: String,
    now: i64,
) -> Result<Setup, AdminError> {
    if !link_is_live(store, token, now).await? {
        return Ok(Setup::LinkGone);
    }
    let input = NewUser {
        username,
        password,
        role: Role::Admin,
    };
    let row = new_row(store, input, now).await?;
    let event = change_event(
        AuditKind::AdminSetupCompleted,
        &Actor::user(&row.id),
        now,
        Value::Null,
        UserView::from(row.clone()),
    )
    .subject(&row.id);
    if !store
        .create_first_admin(&random::sha256_b64(token), &row, &event)
        .await?
    {
        return Ok(Setup::LinkGone);
    }
    Ok(Setup::Created(row))
}

//! From an upstream identity to a Warden user: the provider's domain rule, then an
//! identity already linked, an explicit link from a signed-in user, or the provider's
//! first-sign-in rule (`create` just in time, `link-by-email`, `existing-only`). Linking by
//! email needs an address the provider marks verified (or an admin said to trust).

use super::{UpstreamError, UpstreamIdentity};
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::store::upstream::{IdentityRow, ProviderRow};
use crate::store::users::UserRow;

/// Checks the provider's domain rule; `Ok` when the address may sign in.
pub fn check_domain(p: &ProviderRow, id: &UpstreamIdentity) -> Result<(), UpstreamError> {
    if p.allowed_domains.trim().is_empty() {
        return Ok(());
    }
    let domain = id
        .email
        .as_deref()
        .filter(|_| id.email_verified)
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    match domain {
        Some(d)
            if p.allowed_domains
                .split_ascii_whitespace()
                .any(|a| a.eq_ignore_ascii_case(&d)) =>
        {
            Ok(())
        }
        _ => Err(UpstreamError::Forbidden(format!(
            "{} sign-in is limited to verified email addresses at {}.",
            p.display_name,
            p.allowed_domains
                .split_ascii_whitespace()
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The Warden user this identity signs in as (creating or linking one if the rules say so).
pub async fn resolve(
    state: &AppState,
    p: &ProviderRow,
    id: &UpstreamIdentity,
    link_user_id: Option<&str>,
) -> Result<UserRow, UpstreamError> {
    check_domain(p, id)?;
    let now = state.clock.now();
    if let Some(existing) = state.store.identity(&p.id, &id.subject).await? {
        if link_user_id.is_some_and(|u| u != existing.user_id) {
            return Err(UpstreamError::Forbidden(format!(
                "This {} account is already linked to another Warden user.",
                p.display_name
            )));
        }
        let user = live_user(state, &existing.user_id).await?;
        state
            .store
            .touch_identity(
                &p.id,
                &id.subject,
                id.email.as_deref(),
                id.name.as_deref(),
                now,
            )
            .await?;
        return Ok(user);
    }
    let row = |user_id: &str| IdentityRow {
        provider_id: p.id.clone(),
        subject: id.subject.clone(),
        user_id: user_id.to_owned(),
        email: id.email.clone(),
        name: id.name.clone(),
        created_at: now,
        last_login_at: now,
    };
    if let Some(user_id) = link_user_id {
        let user = live_user(state, user_id).await?;
        return link(state, p, row(&user.id)).await.map(|()| user);
    }
    let by_email = match (&id.email, id.email_verified) {
        (Some(email), true) if p.on_first_login != "create" => {
            state.store.user_by_name(email).await?
        }
        _ => None,
    };
    match (by_email, p.on_first_login.as_str()) {
        (Some(user), _) => {
            if user.disabled {
                return Err(disabled());
            }
            link(state, p, row(&user.id)).await.map(|()| user)
        }
        (None, "existing-only") => Err(UpstreamError::Forbidden(format!(
            "No Warden account matches this {} sign-in. Ask an administrator to create one.",
            p.display_name
        ))),
        (None, _) => create(state, p, id, now, row).await,
    }
}

async fn live_user(state: &AppState, user_id: &str) -> Result<UserRow, UpstreamError> {
    match state.store.user_by_id(user_id).await? {
        Some(u) if !u.disabled => Ok(u),
        Some(_) => Err(disabled()),
        None => Err(UpstreamError::Invalid(
            "the account no longer exists".into(),
        )),
    }
}

fn disabled() -> UpstreamError {
    UpstreamError::Forbidden("This account is disabled.".into())
}

async fn link(state: &AppState, p: &ProviderRow, row: IdentityRow) -> Result<(), UpstreamError> {
    if state.store.link_identity(&row).await? {
        tracing::info!(provider = %p.id, user_id = %row.user_id, "upstream identity linked");
        Ok(())
    } else {
        Err(UpstreamError::Forbidden(format!(
            "This {} account is already linked to another Warden user.",
            p.display_name
        )))
    }
}

/// Just-in-time account: named after the verified email when it is free and fits the
/// username rules, else after the provider and subject.
async fn create(
    state: &AppState,
    p: &ProviderRow,
    id: &UpstreamIdentity,
    now: i64,
    row: impl Fn(&str) -> IdentityRow,
) -> Result<UserRow, UpstreamError> {
    let mut candidates = Vec::new();
    if let Some(email) = id.email.as_deref().filter(|_| id.email_verified)
        && valid_username(email)
    {
        candidates.push(email.to_owned());
    }
    let fallback: String = format!("{}-{}", p.id, id.subject)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect();
    candidates.push(fallback.clone());
    candidates.push(format!(
        "{fallback}-{}",
        &crate::crypto::random::token()[..7]
    ));
    for username in candidates {
        let user = UserRow {
            id: uuid::Uuid::now_v7().to_string(),
            username,
            // No local password: the hash is empty, which no password verifies against.
            password_hash: String::new(),
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        match state
            .store
            .create_user_with_identity(&user, &row(&user.id))
            .await
        {
            Ok(()) => {
                tracing::info!(provider = %p.id, user_id = %user.id, "user created by upstream sign-in");
                return Ok(user);
            }
            Err(e) if is_unique_violation(&e) => {
                // The identity itself may have been linked by a concurrent callback.
                if let Some(existing) = state.store.identity(&p.id, &id.subject).await? {
                    return live_user(state, &existing.user_id).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(UpstreamError::Internal(anyhow::anyhow!(
        "no free username for the new account"
    )))
}

fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

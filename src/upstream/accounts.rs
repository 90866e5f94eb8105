//! From an upstream identity to a Warden user: the provider's domain rule, then an
//! identity already linked, an explicit link from a signed-in user, or the provider's
//! first-sign-in rule (`create` just in time, `link-by-email`, `existing-only`).
//!
//! Only `iss` + `sub` identify a user (OIDC Core §5.7); an email links an identity to an
//! existing account only when all of these hold, because anything less lets a provider
//! whose users choose their own email take over accounts (the "nOAuth" pattern):
//! - the provider has `allowed_domains` (it owns those domains and vouches for their
//!   addresses; `*` is the admin's explicit word that it vouches for every domain);
//! - the address is verified, ASCII, well formed (`local@domain.tld`) and in an allowed
//!   domain;
//! - the account's username is itself an address, equal up to ASCII case;
//! - the account has no identity from this provider yet (a second subject with the same
//!   address is a recycled address, not the same person).

use super::{UpstreamError, UpstreamIdentity};
use crate::domain::{OnFirstLogin, Provider};
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::store::upstream::IdentityRow;
use crate::store::users::UserRow;

/// Checks the provider's domain rule; `Ok` when the address may sign in.
pub fn check_domain(p: &Provider, id: &UpstreamIdentity) -> Result<(), UpstreamError> {
    if p.allowed_domains.trim().is_empty() {
        return Ok(());
    }
    if p.allowed_domains.trim() == ANY_DOMAIN {
        return match id.email.as_deref().filter(|_| id.email_verified) {
            Some(email) if linkable_address(email).is_some() => Ok(()),
            _ => Err(UpstreamError::Forbidden(format!(
                "{} sign-in needs a verified email address.",
                p.display_name
            ))),
        };
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
    p: &Provider,
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
        (Some(email), true) if p.on_first_login != OnFirstLogin::Create => {
            if p.allowed_domains.trim().is_empty() {
                // Refused at configuration since this rule exists; an older row may lack it.
                return Err(UpstreamError::Forbidden(format!(
                    "{} is not set up to link accounts by email (it needs allowed domains). Ask an administrator.",
                    p.display_name
                )));
            }
            match linkable_address(email) {
                Some(address) => state
                    .store
                    .user_by_name(&address)
                    .await?
                    .filter(|u| u.username.contains('@')),
                None => None,
            }
        }
        _ => None,
    };
    match (by_email, p.on_first_login) {
        (Some(user), _) => {
            if user.disabled {
                return Err(disabled());
            }
            let recycled = state
                .store
                .identities_of(&user.id)
                .await?
                .iter()
                .any(|i| i.provider_id == p.id);
            if recycled {
                return Err(UpstreamError::Forbidden(format!(
                    "The Warden account with this email is linked to another {} account already.",
                    p.display_name
                )));
            }
            link(state, p, row(&user.id)).await.map(|()| user)
        }
        (None, OnFirstLogin::ExistingOnly) => Err(UpstreamError::Forbidden(format!(
            "No Warden account matches this {} sign-in. Ask an administrator to create one.",
            p.display_name
        ))),
        (None, OnFirstLogin::Create | OnFirstLogin::LinkByEmail) => {
            create(state, p, id, now, row).await
        }
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

async fn link(state: &AppState, p: &Provider, row: IdentityRow) -> Result<(), UpstreamError> {
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
    p: &Provider,
    id: &UpstreamIdentity,
    now: i64,
    row: impl Fn(&str) -> IdentityRow,
) -> Result<UserRow, UpstreamError> {
    let mut candidates = Vec::new();
    // Named after the address only while no account has it in any case: never a twin.
    if let Some(email) = id.email.as_deref().filter(|_| id.email_verified)
        && let Some(address) = linkable_address(email).filter(|a| valid_username(a))
        && state.store.user_by_name(&address).await?.is_none()
    {
        candidates.push(address);
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
            role: crate::domain::Role::None,
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

/// `allowed_domains` of a provider trusted to vouch for every domain.
pub const ANY_DOMAIN: &str = "*";

/// The address in `email`, ASCII-lowercased, when it is one: ASCII, one `@`, a local
/// part of at most 64 bytes, and a domain of dot-separated labels of letters, digits and
/// hyphens with at least two labels. Anything else is never used to link.
pub fn linkable_address(email: &str) -> Option<String> {
    if !email.is_ascii() || email.len() > 254 {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'@' | b'"'
                        | b'\\'
                        | b'('
                        | b')'
                        | b','
                        | b':'
                        | b';'
                        | b'<'
                        | b'>'
                        | b'['
                        | b']'
                )
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (local_ok && domain_ok).then(|| email.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::linkable_address;

    #[test]
    fn only_well_formed_ascii_addresses_link() {
        assert_eq!(
            linkable_address("Bob@Corp.Example").as_deref(),
            Some("bob@corp.example")
        );
        for bad in [
            "admin",
            "admin@",
            "@corp.example",
            "bob@localhost",
            "bob@corp..example",
            "a@b@corp.example",
            "\u{212A}elvin@corp.example",
            "bob@-corp.example",
            "bo b@corp.example",
        ] {
            assert_eq!(linkable_address(bad), None, "{bad}");
        }
    }
}

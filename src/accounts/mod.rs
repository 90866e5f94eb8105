//! End users signing in: password checks (argon2id, off the async workers), throttling of
//! failed attempts (in the database, so every node counts the same), and server-side
//! sessions.
//!
//! The throttle counts per account *and address* (5), per address (20) and per account
//! from anywhere (100, the NIST SP 800-63B §5.2.2 ceiling): someone guessing from one
//! address locks out only that address, and no one gets more than 100 guesses at an
//! account per window. A browser that has signed in to the account before (a `device`
//! cookie) is counted apart, per device (5), and never meets the account-wide ceiling, so
//! guesses from many addresses cannot lock the real user out. An attempt is taken from
//! each counter before the password is checked, atomically, so a burst of parallel guesses
//! cannot all slip under the limit; a throttled attempt and a success hand their places
//! back.
//!
//! Sign-ins are audited without letting a flood write unbounded rows: a wrong password for
//! an existing account is one `signin.failed` event, bounded by the throttle (at most 100
//! per account per window, fewer per address); a throttled attempt on an existing account
//! records `signin.locked_out` at most once per account per window; attempts on usernames
//! no account has are only counted (`warden_signin_unknown_user_total`), never stored.

pub mod device;

use crate::admin::users::MAX_USERNAME_BYTES;
use crate::crypto::{password, random};
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::limits::{self, Limit};
use crate::measure::{self, SignInOutcome};
use crate::net::AddressKey;
use crate::state::AppState;
use crate::store::sessions::{self, SessionRow, SessionUser};
use crate::store::users::UserRow;

/// Failed attempts allowed within the window: per account from one address, per address,
/// and per account from anywhere.
pub const MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 100;
/// Failed attempts allowed within the window from one trusted device.
pub const MAX_FAILURES_PER_DEVICE: i64 = 5;
pub const THROTTLE_WINDOW: i64 = 15 * 60;

pub enum SignIn {
    Ok(UserRow),
    /// Wrong username or password: one message for both.
    Refused,
    /// Too many recent failures; try again after this many seconds.
    Throttled(i64),
    /// Every password hasher is busy and the queue is full: try again in a moment.
    Busy,
}

/// Checks a username and password from the client at `address`, whose browser sent the
/// device cookie `device` (if any).
///
/// Order matters for what an anonymous flood can cost: first a place at the password
/// hashers (none free: `Busy`, nothing stored, nothing hashed), then the throttle counters,
/// per address first (a throttled address adds no row per made-up username), then the
/// hash. A username longer than any account's is refused before anything is stored.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password_in: &str,
    address: AddressKey,
    device: Option<&str>,
) -> anyhow::Result<SignIn> {
    if username.len() > MAX_USERNAME_BYTES || password_in.len() > password::MAX_PASSWORD_BYTES {
        // No account has so long a name (or so long a password).
        measure::sign_in(SignInOutcome::UnknownUser);
        return Ok(SignIn::Refused);
    }
    let Some(slot) = state.passwords.admit() else {
        limits::refused(Limit::SigninBusy);
        measure::sign_in(SignInOutcome::Busy);
        return Ok(SignIn::Busy);
    };
    let now = state.clock.now();
    let window_start = now - THROTTLE_WINDOW;
    let account = username.to_ascii_lowercase();
    let trusted = device.and_then(|d| device::verify(&state.master_key, &account, d));
    let keys = match &trusted {
        Some(id) => vec![(format!("device:{id}"), MAX_FAILURES_PER_DEVICE)],
        None => vec![
            (format!("ip:{address}"), MAX_FAILURES_PER_ADDRESS),
            (format!("user:{account}"), MAX_FAILURES_PER_ACCOUNT),
            (
                // The address comes last: it never holds an `@`, so no two pairs share a key.
                format!("pair:{account}@{address}"),
                MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
            ),
        ],
    };
    for (taken, (key, limit)) in keys.iter().enumerate() {
        if state.store.take_attempt(key, now, window_start).await? > *limit {
            for (key, _) in &keys[..=taken] {
                state.store.give_back_attempt(key).await?;
            }
            limits::refused(Limit::SigninThrottle);
            measure::sign_in(SignInOutcome::Throttled);
            locked_out(state, username, address, now, window_start).await?;
            return Ok(SignIn::Throttled(THROTTLE_WINDOW));
        }
    }
    let user = state.store.user_by_name(username).await?;
    let audit = |user: &UserRow, reason: &str| {
        AuditEvent::new(AuditKind::SigninFailed, Actor::anonymous(), now)
            .subject(&user.id)
            .source(address.to_string())
            .failed(reason)
    };
    let refusal = match &user {
        None => {
            limits::UNKNOWN_USER_SIGNINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }
        Some(u) if u.disabled => Some(audit(u, "account disabled")),
        Some(u) if u.password_hash.is_empty() => Some(audit(u, "account has no password")),
        Some(u) => Some(audit(u, "wrong password")),
    };
    let matched = match user {
        // Accounts made by upstream sign-in have no password: they spend the same time.
        Some(user) if !user.disabled && !user.password_hash.is_empty() => {
            let stored = user.password_hash.clone();
            state
                .passwords
                .verify(slot, password_in, Some(&stored))
                .await
                .then_some(user)
        }
        _ => {
            state.passwords.verify(slot, password_in, None).await;
            None
        }
    };
    match matched {
        Some(user) => {
            // A success is no failure: this device, or this address, may try afresh, and
            // the shared counts get back the place this attempt took.
            match keys.as_slice() {
                [(device, _)] => state.store.clear_failures(device).await?,
                [(address, _), (account, _), (pair, _)] => {
                    state.store.clear_failures(pair).await?;
                    state.store.give_back_attempt(address).await?;
                    state.store.give_back_attempt(account).await?;
                }
                _ => {}
            }
            measure::sign_in(SignInOutcome::Success);
            Ok(SignIn::Ok(user))
        }
        None => {
            measure::sign_in(if refusal.is_some() {
                SignInOutcome::WrongPassword
            } else {
                SignInOutcome::UnknownUser
            });
            if let Some(event) = refusal {
                state.store.audit(&event).await?;
            }
            Ok(SignIn::Refused)
        }
    }
}

/// Records that an existing account met the throttle, once per account per window (every
/// further throttled attempt would otherwise be a row).
async fn locked_out(
    state: &AppState,
    username: &str,
    address: AddressKey,
    now: i64,
    window_start: i64,
) -> anyhow::Result<()> {
    let Some(user) = state.store.user_by_name(username).await? else {
        limits::UNKNOWN_USER_SIGNINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(());
    };
    let event = AuditEvent::new(AuditKind::SigninLockedOut, Actor::anonymous(), now)
        .subject(&user.id)
        .source(address.to_string())
        .failed(format!(
            "too many failed attempts within {THROTTLE_WINDOW} s"
        ));
    state.store.audit_once_since(&event, window_start).await?;
    Ok(())
}

/// Starts a session, recording `signed_in` (the sign-in that earned it) in the same
/// transaction; returns the cookie value (only its hash is stored).
pub async fn start_session(
    state: &AppState,
    user_id: &str,
    signed_in: AuditEvent,
) -> anyhow::Result<String> {
    Ok(start_session_with_csrf(state, user_id, signed_in).await?.0)
}

/// `start_session`, also returning the session's CSRF token (for a page rendered with the
/// response that sets the cookie).
pub async fn start_session_with_csrf(
    state: &AppState,
    user_id: &str,
    signed_in: AuditEvent,
) -> anyhow::Result<(String, String)> {
    let now = state.clock.now();
    let token = random::token();
    let csrf = random::token();
    let mut tx = state.store.begin().await?;
    sessions::insert_session(
        tx.conn(),
        &SessionRow {
            token_hash: random::sha256_b64(&token),
            user_id: user_id.to_owned(),
            csrf: csrf.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + state.settings.session_ttl,
            authenticated_at: now,
        },
    )
    .await?;
    tx.audit(signed_in).await?;
    tx.commit().await?;
    Ok((token, csrf))
}

/// The live session behind a cookie value, marking it used (at most once a minute, to
/// keep reads cheap).
pub async fn session(state: &AppState, cookie: &str) -> anyhow::Result<Option<SessionUser>> {
    if cookie.len() != 43 {
        return Ok(None);
    }
    let now = state.clock.now();
    let hash = random::sha256_b64(cookie);
    let found = state
        .store
        .live_session(&hash, now, now - state.settings.session_idle_ttl)
        .await?;
    if let Some(s) = &found
        && now - s.last_seen_at >= 60
    {
        state.store.touch_session(&hash, now).await?;
    }
    Ok(found)
}

pub async fn end_session(state: &AppState, cookie: &str) -> anyhow::Result<()> {
    state
        .store
        .delete_session(&random::sha256_b64(cookie))
        .await?;
    Ok(())
}

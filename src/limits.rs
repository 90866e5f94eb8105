//! Bounds on what anonymous clients can make Warden store, and the counters `/metrics`
//! shows for every bound that refused something. Per-address and global rates are
//! counted in the database (`login_throttle`, shared by every node, purged by the periodic
//! clean-up); stored-row caps read a count that is at most a second old per node, so a
//! flood costs one count query a second, not one per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::net::AddressKey;
use crate::state::AppState;

/// Every limit that can refuse a request, as its `limit` label in `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    SigninThrottle,
    SigninBusy,
    AuthorizeRate,
    AuthorizeCap,
    RegistrationRate,
    RegistrationGlobalRate,
    RegistrationUnusedCap,
}

impl Limit {
    pub const ALL: [Limit; 7] = [
        Limit::SigninThrottle,
        Limit::SigninBusy,
        Limit::AuthorizeRate,
        Limit::AuthorizeCap,
        Limit::RegistrationRate,
        Limit::RegistrationGlobalRate,
        Limit::RegistrationUnusedCap,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Limit::SigninThrottle => "signin_throttle",
            Limit::SigninBusy => "signin_busy",
            Limit::AuthorizeRate => "authorize_rate",
            Limit::AuthorizeCap => "authorize_cap",
            Limit::RegistrationRate => "registration_rate",
            Limit::RegistrationGlobalRate => "registration_global_rate",
            Limit::RegistrationUnusedCap => "registration_unused_cap",
        }
    }
}

static REFUSALS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
/// Sign-in attempts for usernames no account has: counted, never stored (the audit log
/// records failures only for existing accounts, see `accounts`).
pub static UNKNOWN_USER_SIGNINS: AtomicU64 = AtomicU64::new(0);
/// Request bodies that did not arrive within `WARDEN_BODY_TIMEOUT`.
pub static BODY_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

pub fn refused(limit: Limit) {
    REFUSALS[limit as usize].fetch_add(1, Ordering::Relaxed);
}

pub fn refusals() -> impl Iterator<Item = (Limit, u64)> {
    Limit::ALL
        .into_iter()
        .map(|l| (l, REFUSALS[l as usize].load(Ordering::Relaxed)))
}

/// The window of the unauthenticated /authorize rate.
pub const AUTHORIZE_WINDOW: i64 = 60;
/// The window of both registration rates.
pub const REGISTRATION_WINDOW: i64 = 3600;
/// The longest window any `login_throttle` key counts in: older rows are purged.
pub const LONGEST_WINDOW: i64 = REGISTRATION_WINDOW;

/// Why an anonymous request may not store anything now.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This address (or everyone together) went over a rate: retry after this many seconds.
    Rate(i64),
    /// A global cap on stored rows is reached: retry in a little while.
    Full,
}

/// May an unauthenticated browser at `address` store one more pending authorization
/// request? Takes one from its per-minute allowance.
pub async fn admit_authorization(state: &AppState, address: AddressKey) -> anyhow::Result<()> {
    let max = state.settings.limits.pending_authorizations_max;
    if state
        .pending_rows
        .get(state, Counted::PendingAuthorizations)
        .await?
        >= max
    {
        refused(Limit::AuthorizeCap);
        return Err(Refusal::Full.into());
    }
    per_minute(state, &format!("authorize:{address}")).await?;
    state.pending_rows.added(Counted::PendingAuthorizations);
    Ok(())
}

/// May an unauthenticated browser at `address` start a sign-in with an upstream provider
/// (which stores its state until the provider answers)? The same allowance as /authorize.
pub async fn admit_upstream_login(state: &AppState, address: AddressKey) -> anyhow::Result<()> {
    per_minute(state, &format!("upstream:{address}")).await
}

/// Takes one from `key`'s `WARDEN_AUTHORIZE_RATE_LIMIT` per minute.
async fn per_minute(state: &AppState, key: &str) -> anyhow::Result<()> {
    let now = state.clock.now();
    let taken = state
        .store
        .take_attempt(key, now, now - AUTHORIZE_WINDOW)
        .await?;
    if taken > state.settings.limits.authorize_rate_limit {
        refused(Limit::AuthorizeRate);
        return Err(Refusal::Rate(AUTHORIZE_WINDOW).into());
    }
    Ok(())
}

/// May the client at `address` register one more client (RFC 7591)? Counted before the
/// body is read, in one atomic step per counter, so racing requests cannot all find room.
pub async fn admit_registration(state: &AppState, address: AddressKey) -> anyhow::Result<()> {
    let limits = &state.settings.limits;
    if state
        .pending_rows
        .get(state, Counted::UnusedRegistrations)
        .await?
        >= limits.unused_registrations_max
    {
        refused(Limit::RegistrationUnusedCap);
        return Err(Refusal::Full.into());
    }
    let now = state.clock.now();
    let since = now - REGISTRATION_WINDOW;
    let mine = format!("register:{address}");
    if state.store.take_attempt(&mine, now, since).await? > state.settings.registration_rate_limit {
        refused(Limit::RegistrationRate);
        return Err(Refusal::Rate(REGISTRATION_WINDOW).into());
    }
    // `*` is no address, so this key is no one's own.
    if state.store.take_attempt("register:*", now, since).await?
        > limits.registration_global_rate_limit
    {
        state.store.give_back_attempt(&mine).await?;
        refused(Limit::RegistrationGlobalRate);
        return Err(Refusal::Rate(60).into());
    }
    state.pending_rows.added(Counted::UnusedRegistrations);
    Ok(())
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Rate(_) => f.write_str("rate limit reached"),
            Refusal::Full => f.write_str("storage cap reached"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Row counts the caps compare with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    PendingAuthorizations,
    UnusedRegistrations,
    ThrottleRows,
}

const COUNTED: usize = 3;

/// Per node: each count as last read from the database, plus what this node added since.
/// Re-read when older than `FRESH`; between reads, local additions keep the cap honest.
#[derive(Default)]
pub struct RowCounts {
    counts: Mutex<[Option<(i64, Instant)>; COUNTED]>,
}

const FRESH: Duration = Duration::from_secs(1);

impl RowCounts {
    pub async fn get(&self, state: &AppState, which: Counted) -> Result<i64, sqlx::Error> {
        let cached = self.lock()[which as usize];
        if let Some((n, at)) = cached
            && at.elapsed() < FRESH
        {
            return Ok(n);
        }
        let now = state.clock.now();
        let n = match which {
            Counted::PendingAuthorizations => state.store.count_pending_authorizations(now).await?,
            Counted::UnusedRegistrations => state.store.count_unused_registrations().await?,
            Counted::ThrottleRows => state.store.count_throttle_rows().await?,
        };
        self.lock()[which as usize] = Some((n, Instant::now()));
        Ok(n)
    }

    fn added(&self, which: Counted) {
        if let Some((n, _)) = &mut self.lock()[which as usize] {
            *n += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, [Option<(i64, Instant)>; COUNTED]> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

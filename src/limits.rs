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
    DeviceAuthorizationRate,
    DeviceAuthorizationCap,
    UserCodeGuesses,
}

impl Limit {
    pub const ALL: [Limit; 10] = [
        Limit::SigninThrottle,
        Limit::SigninBusy,
        Limit::AuthorizeRate,
        Limit::AuthorizeCap,
        Limit::RegistrationRate,
        Limit::RegistrationGlobalRate,
        Limit::RegistrationUnusedCap,
        Limit::DeviceAuthorizationRate,
        Limit::DeviceAuthorizationCap,
        Limit::UserCodeGuesses,
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
            Limit::DeviceAuthorizationRate => "device_authorization_rate",
            Limit::DeviceAuthorizationCap => "device_authorization_cap",
            Limit::UserCodeGuesses => "user_code_guesses",
        }
    }
}

static REFUSALS: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];
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
/// The window of user-code entries on the verification page: a device code's lifetime.
pub const USER_CODE_WINDOW: i64 = crate::oauth::device::DEVICE_CODE_TTL;
/// User codes one signed-in user, or one address, may enter per window.
pub const USER_CODES_PER_CALLER: i64 = 10;
/// User codes everyone together may enter per window. With at most
/// `WARDEN_PENDING_AUTHORIZATIONS_MAX` (N) live device codes, a window's guesses find one
/// with probability at most 600 N / 20^8: 2.3 × 10^-5 for N = 1,000.
pub const USER_CODES_GLOBAL: i64 = 600;
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

/// May a client at `address` start one more device authorization (RFC 8628 §3.1)? Rows
/// any public client can make Warden store: capped together with
/// `WARDEN_PENDING_AUTHORIZATIONS_MAX`, and per address with `WARDEN_AUTHORIZE_RATE_LIMIT`
/// a minute, as browsers' pending authorizations are.
pub async fn admit_device_authorization(
    state: &AppState,
    address: AddressKey,
) -> anyhow::Result<()> {
    let max = state.settings.limits.pending_authorizations_max;
    if state
        .pending_rows
        .get(state, Counted::PendingDeviceCodes)
        .await?
        >= max
    {
        refused(Limit::DeviceAuthorizationCap);
        return Err(Refusal::Full.into());
    }
    let now = state.clock.now();
    let key = format!("device:{address}");
    if state
        .store
        .take_attempt(&key, now, now - AUTHORIZE_WINDOW)
        .await?
        > state.settings.limits.authorize_rate_limit
    {
        refused(Limit::DeviceAuthorizationRate);
        return Err(Refusal::Rate(AUTHORIZE_WINDOW).into());
    }
    state.pending_rows.added(Counted::PendingDeviceCodes);
    Ok(())
}

/// The counters a user-code entry took, handed back when the code was right (only
/// wrong ones count).
pub struct UserCodeEntry {
    keys: [String; 3],
}

/// May the signed-in `user_id` at `address` enter one more user code? Each entry takes one
/// from the user's, the address's and everyone's allowance per `USER_CODE_WINDOW`
/// (stored, so every node counts alike); `UserCodeEntry::was_right` gives them back.
pub async fn admit_user_code(
    state: &AppState,
    address: AddressKey,
    user_id: &str,
) -> anyhow::Result<UserCodeEntry> {
    let now = state.clock.now();
    let since = now - USER_CODE_WINDOW;
    let keys = [
        format!("usercode:user:{user_id}"),
        format!("usercode:{address}"),
        "usercode:*".to_owned(),
    ];
    let limits = [
        USER_CODES_PER_CALLER,
        USER_CODES_PER_CALLER,
        USER_CODES_GLOBAL,
    ];
    for (i, (key, max)) in keys.iter().zip(limits).enumerate() {
        if state.store.take_attempt(key, now, since).await? > max {
            for taken in &keys[..=i] {
                state.store.give_back_attempt(taken).await?;
            }
            refused(Limit::UserCodeGuesses);
            return Err(Refusal::Rate(USER_CODE_WINDOW).into());
        }
    }
    Ok(UserCodeEntry { keys })
}

impl UserCodeEntry {
    /// The code named a pending authorization: the entry does not count.
    pub async fn was_right(self, state: &AppState) -> Result<(), sqlx::Error> {
        for key in &self.keys {
            state.store.give_back_attempt(key).await?;
        }
        Ok(())
    }
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
    PendingDeviceCodes,
}

const COUNTED: usize = 4;

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
            Counted::PendingDeviceCodes => state.store.count_pending_device_codes(now).await?,
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

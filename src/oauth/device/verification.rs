//! The user's side of a device authorization (RFC 8628 §3.3, §5.1, §5.4): a signed-in user
//! enters the user code, is shown the browser flow's consent page for it, and allows or
//! denies. Only wrong codes count against the user's, the address's and everyone's
//! allowance (`limits::admit_user_code`); input that cannot be a code is refused without a
//! lookup. A code, once entered, belongs to that user: nobody else can answer it.

use crate::domain::DeviceStatus;
use crate::limits::{self, Refusal};
use crate::net::AddressKey;
use crate::oauth::authorize::{self, ConsentPrompt, Failure, PageError};
use crate::state::AppState;

use super::user_code;

/// What entering a code leads to.
#[derive(Debug)]
pub enum Entered {
    /// The consent page for the authorization the code names.
    Consent(ConsentPrompt),
    /// The input cannot be a user code (length, alphabet).
    Malformed,
    /// No pending authorization has this code (or another user entered it first).
    Unknown,
    /// Too many wrong codes: retry after this many seconds.
    TooMany(i64),
}

pub async fn enter(
    state: &AppState,
    user_id: &str,
    address: AddressKey,
    typed: &str,
) -> Result<Entered, Failure> {
    let Some(normalised) = user_code::normalise(typed) else {
        return Ok(Entered::Malformed);
    };
    let entry = match limits::admit_user_code(state, address, user_id).await {
        Ok(entry) => entry,
        Err(e) => {
            return match e.downcast_ref::<Refusal>() {
                Some(Refusal::Rate(after)) => Ok(Entered::TooMany(*after)),
                _ => Err(Failure::from(e)),
            };
        }
    };
    let now = state.clock.now();
    let hash = user_code::hash(&normalised);
    let Some(device) = state.store.claim_device_code(&hash, user_id, now).await? else {
        return Ok(Entered::Unknown);
    };
    entry.was_right(state).await?;
    Ok(Entered::Consent(
        authorize::device_prompt(state, &device, user_id).await?,
    ))
}

/// The user's answer on the consent page for device authorization `id`.
pub async fn decide(state: &AppState, id: &str, user_id: &str, allow: bool) -> Result<(), Failure> {
    let now = state.clock.now();
    let device = match state.store.device_code(id).await? {
        Some(d) if d.status == DeviceStatus::Pending && d.expires_at > now => d,
        _ => return Err(Failure::Page(PageError::Expired)),
    };
    if device.user_id.as_deref() != Some(user_id) {
        return Err(Failure::Page(PageError::NotYours));
    }
    authorize::device_decide(state, &device, user_id, allow).await
}

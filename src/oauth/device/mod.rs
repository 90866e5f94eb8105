//! The device authorization grant (RFC 8628) for programs on machines without a browser.
//!
//! `authorization` answers `/device_authorization` (§3.1, §3.2); `verification` is the
//! user's side at `/device` (§3.3): enter the user code, see the consent page of the
//! browser flow, allow or deny; the polling token request is
//! `oauth::token::device_code` (§3.4, §3.5). The user code's rules are in `user_code`.

pub mod authorization;
pub mod user_code;
pub mod verification;

/// How long a device code and its user code live (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_TTL: i64 = 600;

/// The polling interval a new device code starts with (RFC 8628 §3.2 `interval`).
pub const POLL_INTERVAL: i64 = 5;

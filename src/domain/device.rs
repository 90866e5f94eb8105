//! Where a device authorization stands (RFC 8628 §3.4, §3.5): waiting for the user, or
//! answered. Whether it expired or was spent is in its times, not here.

/// The user's answer to a device authorization, or none yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
}

protocol_enum!(DeviceStatus, "device authorization status", {
    Pending => "pending",
    Approved => "approved",
    Denied => "denied",
});

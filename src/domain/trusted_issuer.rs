//! Issuers whose tokens Warden accepts as subject tokens in a token exchange (RFC 8693
//! §2.1): how their `sub` maps to a Warden subject.

/// What an external issuer's `sub` becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectMode {
    /// Kept, namespaced by the issuer (`{issuer}#{sub}`): never one of our users.
    Keep,
    /// The Warden user whose username is `sub`.
    Username,
}

protocol_enum!(SubjectMode, "subject mode", {
    Keep => "keep",
    Username => "username",
});

//! Enterprise identity providers whose ID-JAGs the jwt-bearer grant accepts
//! (draft-ietf-oauth-identity-assertion-authz-grant): what an unlinked subject becomes.

/// What an IdP's `sub` with no link to a Warden user becomes, by its verified `email`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailRule {
    /// Linked to the existing Warden user whose username is that email address.
    Link,
    /// As `Link`, and a new (passwordless) user is created when there is none.
    Create,
    /// Refused: only subjects already linked are accepted.
    Refuse,
}

protocol_enum!(EmailRule, "email rule", {
    Link => "link",
    Create => "create",
    Refuse => "refuse",
});

//! What a user may do beyond their own account: `admin` opens the console at
//! `{issuer}/admin`.

/// A user's role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    Admin,
    #[default]
    None,
}

protocol_enum!(Role, "role", {
    Admin => "admin",
    None => "none",
});

//! Grants (the design's §3): every token descends from one, and revoking it ends them all.

use crate::clock::UnixTime;

/// How a grant came to be: a user's consent to a client, a client acting for itself, or a
/// token exchanged for another (RFC 8693).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKind {
    AuthorizationCode,
    ClientCredentials,
    TokenExchange,
}

protocol_enum!(GrantKind, "grant kind", {
    AuthorizationCode => "authorization_code",
    ClientCredentials => "client_credentials",
    TokenExchange => "token_exchange",
});

/// Which grants a listing shows: those still in force (the default), the revoked ones
/// (itself or through the grant it was exchanged from), or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GrantState {
    #[default]
    Live,
    Revoked,
    All,
}

protocol_enum!(GrantState, "grant state", {
    Live => "live",
    Revoked => "revoked",
    All => "all",
});

impl GrantState {
    /// Whether a grant that is (or is not) revoked belongs in the listing.
    pub fn shows_live(self) -> bool {
        matches!(self, GrantState::Live | GrantState::All)
    }

    pub fn shows_revoked(self) -> bool {
        matches!(self, GrantState::Revoked | GrantState::All)
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Grant {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub kind: GrantKind,
    pub client_id: String,
    pub subject: String,
    pub resource: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// The client's name and redirect URIs when the user last consented, hashed
    /// (`oauth::authorize::consent_fingerprint`); NULL for grants that record no consent.
    pub consent_fingerprint: Option<String>,
}

/// What introspection needs to know about a token's grant, in one read.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantStatus {
    pub revoked_at: Option<UnixTime>,
    pub client_enabled: bool,
    pub resource_enabled: bool,
    /// False when the grant's user is disabled or gone (always true for client grants).
    pub user_enabled: bool,
    /// What the status depends on, so a cached copy is forgotten when one of them changes.
    pub status_client: String,
    pub status_resource: String,
    pub status_subject: String,
    pub status_parent: Option<String>,
    pub status_parent_client: Option<String>,
}

impl GrantStatus {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
            && self.client_enabled
            && self.resource_enabled
            && self.user_enabled
    }
}

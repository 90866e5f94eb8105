//! Protected resources (RFC 9728): the MCP servers Warden issues tokens for, and a user's
//! consent to a client for one of them.

use crate::clock::UnixTime;
use crate::domain::scope::ScopeSet;

/// An MCP server registered by an admin. Its canonical URI is the audience of its tokens
/// (RFC 8707 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub id: String,
    pub uri: String,
    pub name: String,
    pub description: String,
    /// The scopes it accepts.
    pub scopes: ScopeSet,
    /// The subset granted when a request names no scope.
    pub default_scopes: ScopeSet,
    pub access_token_ttl: Option<i64>,
    /// The clients it admits; `None` admits any client.
    pub allowed_clients: Option<Vec<String>>,
    pub enabled: bool,
    /// The admin API itself, created by Warden.
    pub builtin: bool,
    /// Tokens for it only with a DPoP proof (RFC 9449; advertised as RFC 9449 §5.2
    /// `dpop_bound_access_tokens_required` in its protected resource metadata).
    pub require_dpop: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// The last `resource check`, if one ran.
    pub last_check: Option<LastCheck>,
}

/// The result of a whole `resource check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    Pass,
    Fail,
}

impl CheckOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Pass => "pass",
            CheckOutcome::Fail => "fail",
        }
    }

    pub fn parse(value: &str) -> Option<CheckOutcome> {
        match value {
            "pass" => Some(CheckOutcome::Pass),
            "fail" => Some(CheckOutcome::Fail),
            _ => None,
        }
    }
}

/// What is kept of the last check: when, its outcome, and which points failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LastCheck {
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub at: UnixTime,
    pub outcome: CheckOutcome,
    /// Names of the points that failed.
    pub failed: Vec<String>,
}

impl Resource {
    /// Whether the resource's own side admits `client_id`.
    pub fn admits(&self, client_id: &str) -> bool {
        self.allowed_clients
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| id == client_id))
    }
}

/// A resource with one client's live client_credentials grant for it, if there is one.
#[derive(Clone, Debug)]
pub struct ResourceWithGrant {
    pub resource: Resource,
    pub cc_grant: Option<String>,
}

/// What a user approves on the consent page, recorded on their grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The grant's whole scope from now on (what was granted before plus this request).
    pub scope: ScopeSet,
    /// The client's name and redirect URIs as the user saw them
    /// (`oauth::authorize::consent_fingerprint`).
    pub fingerprint: String,
}

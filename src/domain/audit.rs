//! The audit log: who did what to whom, recorded in the same transaction as the change.
//! An event names its actor (a kind and, where there is one, an id), the user, client,
//! resource and grant it concerns, where the request came from, how it ended, and the
//! changed fields before and after. It never holds secrets, hashes, codes or tokens: the
//! writers put only names, ids and settings in `details`.

use serde::Serialize;
use serde_json::Value;

use crate::clock::UnixTime;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    SigninSucceeded,
    SigninFailed,
    SigninLockedOut,
    SigninUpstream,
    ConsentGiven,
    ConsentRefused,
    GrantRevoked,
    RefreshTokenReused,
    TokenExchange,
    IdJagIssued,
    IdJagPolicySet,
    IdJagPolicyDeleted,
    ClientRegistered,
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientSecretRotated,
    ResourceCreated,
    ResourceUpdated,
    ResourceDeleted,
    ScopeCreated,
    ScopeUpdated,
    ScopeDeleted,
    UserCreated,
    UserUpdated,
    UserDeleted,
    IdentityUnlinked,
    ProviderCreated,
    ProviderUpdated,
    ProviderDeleted,
    DownstreamsReplaced,
    TrustedIssuerCreated,
    TrustedIssuerDeleted,
    IdJagIssuerCreated,
    IdJagIssuerDeleted,
    IdJagSubjectLinked,
    IdJagAccepted,
    WorkloadRuleCreated,
    WorkloadRuleDeleted,
    MetadataDomainSet,
    MetadataDomainForgotten,
    KeyRotated,
    AdminSetupCompleted,
    AdminAccessDenied,
}

protocol_enum!(AuditKind, "audit event kind", {
    SigninSucceeded => "signin.succeeded",
    SigninFailed => "signin.failed",
    SigninLockedOut => "signin.locked_out",
    SigninUpstream => "signin.upstream",
    ConsentGiven => "consent.given",
    ConsentRefused => "consent.refused",
    GrantRevoked => "grant.revoked",
    RefreshTokenReused => "refresh_token.reused",
    TokenExchange => "token_exchange",
    IdJagIssued => "id_jag.issued",
    IdJagPolicySet => "id_jag.policy_set",
    IdJagPolicyDeleted => "id_jag.policy_deleted",
    ClientRegistered => "client.registered",
    ClientCreated => "client.created",
    ClientUpdated => "client.updated",
    ClientDeleted => "client.deleted",
    ClientSecretRotated => "client.secret_rotated",
    ResourceCreated => "resource.created",
    ResourceUpdated => "resource.updated",
    ResourceDeleted => "resource.deleted",
    ScopeCreated => "scope.created",
    ScopeUpdated => "scope.updated",
    ScopeDeleted => "scope.deleted",
    UserCreated => "user.created",
    UserUpdated => "user.updated",
    UserDeleted => "user.deleted",
    IdentityUnlinked => "identity.unlinked",
    ProviderCreated => "provider.created",
    ProviderUpdated => "provider.updated",
    ProviderDeleted => "provider.deleted",
    DownstreamsReplaced => "downstreams.replaced",
    TrustedIssuerCreated => "trusted_issuer.created",
    TrustedIssuerDeleted => "trusted_issuer.deleted",
    IdJagIssuerCreated => "id_jag_issuer.created",
    IdJagIssuerDeleted => "id_jag_issuer.deleted",
    IdJagSubjectLinked => "id_jag_subject.linked",
    IdJagAccepted => "id_jag.accepted",
    WorkloadRuleCreated => "workload_rule.created",
    WorkloadRuleDeleted => "workload_rule.deleted",
    MetadataDomainSet => "metadata_domain.set",
    MetadataDomainForgotten => "metadata_domain.forgotten",
    KeyRotated => "key.rotated",
    AdminSetupCompleted => "admin.setup_completed",
    AdminAccessDenied => "admin.access_denied",
});

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A signed-in end user (by user id).
    User,
    /// An OAuth client at a protocol endpoint (by client id).
    Client,
    /// A caller of the admin API (by the admin client's id).
    AdminClient,
    /// The `warden` command line, on the database directly (no id: it is not authenticated).
    Cli,
    /// Warden itself: the maintenance tick, a cascade.
    System,
    /// Someone not (yet) identified: a failed sign-in, a dynamic registration.
    Anonymous,
}

protocol_enum!(ActorKind, "audit actor kind", {
    User => "user",
    Client => "client",
    AdminClient => "admin_client",
    Cli => "cli",
    System => "system",
    Anonymous => "anonymous",
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user id or client id; absent for `cli`, `system` and `anonymous`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Actor {
    pub fn user(id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(id.into()),
        }
    }
    pub fn client(id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::Client,
            id: Some(id.into()),
        }
    }
    pub fn admin_client(id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::AdminClient,
            id: Some(id.into()),
        }
    }
    pub fn cli() -> Actor {
        Actor {
            kind: ActorKind::Cli,
            id: None,
        }
    }
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
        }
    }
    pub fn anonymous() -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            id: None,
        }
    }
}

/// How the attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

protocol_enum!(Outcome, "audit outcome", {
    Success => "success",
    Failure => "failure",
});

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// UUID v7: ordered by creation within a second.
    pub id: String,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub at: UnixTime,
    pub kind: AuditKind,
    pub actor: Actor,
    /// The user the event concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A resource URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The client address of the request, where there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub outcome: Outcome,
    /// Why it failed (empty on success).
    pub reason: String,
    /// Changed fields as `{"field": {"before": …, "after": …}}`, or other context; never
    /// secrets, hashes, codes or tokens.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl AuditEvent {
    /// A successful `kind` by `actor` at `at`, concerning nothing yet.
    pub fn new(kind: AuditKind, actor: Actor, at: UnixTime) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            kind,
            actor,
            subject: None,
            client_id: None,
            resource: None,
            grant_id: None,
            source: None,
            outcome: Outcome::Success,
            reason: String::new(),
            details: Value::Object(Default::default()),
        }
    }

    pub fn subject(mut self, user_id: impl Into<String>) -> AuditEvent {
        self.subject = Some(user_id.into()).filter(|s: &String| !s.is_empty());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> AuditEvent {
        self.client_id = Some(client_id.into()).filter(|s: &String| !s.is_empty());
        self
    }

    pub fn resource(mut self, uri: impl Into<String>) -> AuditEvent {
        self.resource = Some(uri.into()).filter(|s: &String| !s.is_empty());
        self
    }

    pub fn grant(mut self, grant_id: impl Into<String>) -> AuditEvent {
        self.grant_id = Some(grant_id.into()).filter(|s: &String| !s.is_empty());
        self
    }

    pub fn source(mut self, address: impl Into<String>) -> AuditEvent {
        self.source = Some(address.into()).filter(|s: &String| !s.is_empty());
        self
    }

    pub fn failed(mut self, reason: impl Into<String>) -> AuditEvent {
        self.outcome = Outcome::Failure;
        self.reason = reason.into();
        self
    }

    pub fn details(mut self, details: Value) -> AuditEvent {
        self.details = details;
        self
    }

    /// Adds one member to `details`.
    pub fn detail(mut self, name: &str, value: impl Into<Value>) -> AuditEvent {
        if let Some(object) = self.details.as_object_mut() {
            object.insert(name.to_owned(), value.into());
        }
        self
    }
}

/// The fields of `after` that differ from `before` (both JSON objects), as
/// `{"field": {"before": …, "after": …}}`. The caller passes views without secrets.
pub fn changed_fields(before: &Value, after: &Value) -> Value {
    let mut changed = serde_json::Map::new();
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    for (field, new) in after {
        let old = before.get(field).unwrap_or(&Value::Null);
        if old != new {
            changed.insert(
                field.clone(),
                serde_json::json!({ "before": old, "after": new }),
            );
        }
    }
    for (field, old) in before {
        if !after.contains_key(field) {
            changed.insert(
                field.clone(),
                serde_json::json!({ "before": old, "after": Value::Null }),
            );
        }
    }
    Value::Object(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_fields_lists_only_what_differs() {
        let before = json!({"name": "a", "enabled": true, "gone": 1});
        let after = json!({"name": "b", "enabled": true});
        assert_eq!(
            changed_fields(&before, &after),
            json!({"name": {"before": "a", "after": "b"}, "gone": {"before": 1, "after": null}})
        );
        assert_eq!(changed_fields(&after, &after), json!({}));
    }

    #[test]
    fn kinds_and_actors_survive_their_names() {
        for kind in [AuditKind::SigninFailed, AuditKind::KeyRotated] {
            assert_eq!(kind.as_str().parse::<AuditKind>(), Ok(kind));
        }
        assert_eq!("admin_client".parse(), Ok(ActorKind::AdminClient));
        assert!("root".parse::<ActorKind>().is_err());
    }
}

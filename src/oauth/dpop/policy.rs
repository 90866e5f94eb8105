//! Who must prove a DPoP key at the token endpoint, and which key: the one rule, for every
//! grant (RFC 9449 §5.2 client metadata `dpop_bound_access_tokens`; RFC 9449 §10
//! `dpop_jkt`; RFC 9728 §2 `dpop_bound_access_tokens_required`, which an admin sets per
//! resource as `require_dpop`).
//!
//! Each grant calls `check` once it knows the resource, before it spends or writes
//! anything, with the key its code is bound to (authorization codes only) and the key of
//! the request's verified proof. Every refusal is `invalid_dpop_proof`: RFC 9449 §5 names
//! no other code for a proof the server requires, and none for a resource's requirement
//! (that is the AS's own policy); the code tells the client what to fix, a proof, which
//! `invalid_target` or `invalid_grant` would not.

use crate::domain::{Client, Resource};
use crate::oauth::dpop::Jkt;
use crate::oauth::error::{ErrorCode, OAuthError};

/// What a token request must prove, strictest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demand<'a> {
    /// A proof made with this key: the authorization code was bound to it (RFC 9449 §10).
    Key(&'a Jkt),
    /// A proof with any key, for this reason.
    Proof(Why),
    /// Nothing: a proof binds the token, and none leaves it a bearer token.
    Nothing,
}

/// Who requires a proof when no key is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The client registered `dpop_bound_access_tokens` (RFC 9449 §5.2): a request
    /// without a proof is not from it.
    Client,
    /// An admin requires DPoP for the resource.
    Resource,
}

/// What `client`'s token request for `resource` must prove, when its code (if any) is
/// bound to `bound`.
pub fn demand<'a>(client: &Client, resource: &Resource, bound: Option<&'a Jkt>) -> Demand<'a> {
    match bound {
        Some(key) => Demand::Key(key),
        None if client.dpop_bound_access_tokens => Demand::Proof(Why::Client),
        None if resource.require_dpop => Demand::Proof(Why::Resource),
        None => Demand::Nothing,
    }
}

/// Refuses the request unless `proof` (the key of its verified DPoP proof) meets what
/// `demand` asks.
pub fn check(
    client: &Client,
    resource: &Resource,
    bound: Option<&Jkt>,
    proof: Option<&Jkt>,
) -> Result<(), OAuthError> {
    let description = match (demand(client, resource, bound), proof) {
        (Demand::Nothing, _) | (Demand::Proof(_), Some(_)) => return Ok(()),
        (Demand::Key(key), Some(proof)) if key == proof => return Ok(()),
        (Demand::Key(_), Some(_)) => {
            "the DPoP proof is signed with another key than the one the authorization request \
             named (dpop_jkt)"
        }
        (Demand::Key(_), None) => {
            "a DPoP proof is required: the authorization request bound the code to a key \
             (dpop_jkt)"
        }
        (Demand::Proof(Why::Client), None) => {
            "a DPoP proof is required: this client registered dpop_bound_access_tokens"
        }
        (Demand::Proof(Why::Resource), None) => {
            "a DPoP proof is required: tokens for this resource are DPoP-bound"
        }
    };
    Err(OAuthError::new(ErrorCode::InvalidDpopProof, description))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::{AuthMethod, GrantTypes, Registration, ScopeSet};

    fn client(bound: bool) -> Client {
        Client {
            client_id: "c".into(),
            secret_hash: None,
            name: "C".into(),
            token_endpoint_auth_method: AuthMethod::None,
            redirect_uris: Vec::new(),
            grant_types: GrantTypes::default(),
            resources: Vec::new(),
            scopes: None,
            served_resources: Vec::new(),
            enabled: true,
            registration: Registration::Admin,
            jwks: None,
            jwks_uri: None,
            registration_token_hash: None,
            metadata: None,
            dpop_bound_access_tokens: bound,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn resource(required: bool) -> Resource {
        Resource {
            id: "r".into(),
            uri: "https://mcp.example.com".into(),
            name: "R".into(),
            description: String::new(),
            scopes: ScopeSet::default(),
            default_scopes: ScopeSet::default(),
            access_token_ttl: None,
            allowed_clients: None,
            enabled: true,
            builtin: false,
            require_dpop: required,
            created_at: 0,
            updated_at: 0,
            last_check: None,
        }
    }

    fn key(c: char) -> Jkt {
        Jkt::parse(&c.to_string().repeat(43)).unwrap()
    }

    fn refusal(r: Result<(), OAuthError>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidDpopProof);
        e.description.into_owned()
    }

    #[test]
    fn nothing_is_demanded_of_a_plain_client_for_a_plain_resource() {
        let (c, r) = (client(false), resource(false));
        assert_eq!(demand(&c, &r, None), Demand::Nothing);
        assert!(check(&c, &r, None, None).is_ok());
        assert!(check(&c, &r, None, Some(&key('a'))).is_ok());
    }

    #[test]
    fn a_bound_client_or_a_requiring_resource_needs_a_proof_with_any_key() {
        for (c, r, why) in [
            (client(true), resource(false), Why::Client),
            (client(false), resource(true), Why::Resource),
            (client(true), resource(true), Why::Client),
        ] {
            assert_eq!(demand(&c, &r, None), Demand::Proof(why));
            assert!(check(&c, &r, None, Some(&key('a'))).is_ok());
            let description = refusal(check(&c, &r, None, None));
            assert!(description.contains("proof is required"), "{description}");
        }
        assert!(refusal(check(&client(true), &resource(false), None, None)).contains("client"));
        assert!(refusal(check(&client(false), &resource(true), None, None)).contains("resource"));
    }

    #[test]
    fn a_code_bound_to_a_key_takes_that_key_alone_whatever_else_is_set() {
        let bound = key('a');
        for (c, r) in [
            (client(false), resource(false)),
            (client(true), resource(true)),
        ] {
            assert_eq!(demand(&c, &r, Some(&bound)), Demand::Key(&bound));
            assert!(check(&c, &r, Some(&bound), Some(&key('a'))).is_ok());
            assert!(refusal(check(&c, &r, Some(&bound), Some(&key('b')))).contains("another key"));
            assert!(refusal(check(&c, &r, Some(&bound), None)).contains("dpop_jkt"));
        }
    }
}

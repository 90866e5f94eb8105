//! The protocol: RFC rules and flows. No actix types and no SQL text live here.

pub mod access_token;
pub mod authorize;
pub mod cimd;
pub mod client_assertion;
pub mod client_auth;
pub mod client_metadata;
pub mod device;
pub mod domain_policy;
pub mod dpop;
pub mod error;
pub mod external_token;
pub mod hot;
pub mod id_token;
pub mod introspect;
pub mod lookup;
pub mod metadata;
pub mod params;
pub mod pkce;
pub mod policy;
pub mod redirect_uri;
pub mod registration;
pub mod resource;
pub mod resource_check;
pub mod revoke;
pub mod scope;
pub mod token;

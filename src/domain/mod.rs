//! The domain model: the values the protocol decides on, as types. They are parsed once
//! (from a request, a metadata document or a stored row, in `store/`) and never compared
//! as strings afterwards. This layer sits below `store` and `oauth` and imports neither.

/// `as_str`, `FromStr`, `Display`, string serde and an OpenAPI string-enum schema (named
/// after the type) for a closed set of protocol names.
macro_rules! protocol_enum {
    ($ty:ident, $kind:literal, { $($variant:ident => $name:expr),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order declared (a form's choices, a filter's options).
            pub const VARIANTS: &'static [$ty] = &[$($ty::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::domain::UnknownValue;
            fn from_str(s: &str) -> Result<$ty, Self::Err> {
                $(if s == $name { return Ok($ty::$variant); })+
                Err($crate::domain::UnknownValue { kind: $kind, value: s.to_owned() })
            }
        }
        impl TryFrom<String> for $ty {
            type Error = $crate::domain::UnknownValue;
            fn try_from(s: String) -> Result<$ty, Self::Error> {
                s.parse()
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($name),+]))
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

pub mod audit;
pub mod client;
pub mod device;
pub mod grant;
pub mod id_jag;
pub mod provider;
pub mod resource;
pub mod role;
pub mod scope;
pub mod trusted_issuer;
pub mod workload;

pub use audit::{Actor, ActorKind, AuditEvent, AuditKind, Outcome, changed_fields};
pub use client::{
    AuthMethod, Client, GrantType, GrantTypes, RedirectUri, Registration, ResourceUri,
};
pub use device::DeviceStatus;
pub use grant::{Grant, GrantKind, GrantState, GrantStatus};
pub use id_jag::EmailRule;
pub use provider::{OnFirstLogin, Provider, ProviderKind};
pub use resource::{CheckOutcome, Consent, LastCheck, Resource, ResourceWithGrant};
pub use role::Role;
pub use scope::ScopeSet;
pub use trusted_issuer::SubjectMode;
pub use workload::{RequiredClaims, SubjectPattern};

/// The longest part of a request value any message repeats.
pub const EXCERPT_CHARS: usize = 64;

/// A request value as messages may repeat it: quoted, control characters replaced, and at
/// most `EXCERPT_CHARS` characters (then `…`), so an error page is neither a billboard for
/// whatever a link carries nor an amplifier of it.
pub fn excerpt(value: &str) -> String {
    let mut short: String = value
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().nth(EXCERPT_CHARS).is_some() {
        short.push('…');
    }
    format!("\"{short}\"")
}

/// A stored or submitted value that names no member of a closed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

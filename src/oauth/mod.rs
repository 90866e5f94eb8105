//! The protocol: RFC rules and flows. No actix types and no SQL text live here.

pub mod error;
pub mod metadata;

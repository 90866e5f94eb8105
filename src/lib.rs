//! Warden: an OAuth 2.1 authorization server for the Model Context Protocol.
//!
//! Layers: `http` (actix handlers) calls `oauth` (the protocol, no actix, no SQL), which
//! calls `store` (the only place with SQL) and `crypto` (keys, random tokens, hashing).

pub mod accounts;
pub mod admin;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod fetch;
pub mod http;
pub mod limits;
pub mod measure;
pub mod net;
pub mod oauth;
pub mod ratelimit;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod upstream;

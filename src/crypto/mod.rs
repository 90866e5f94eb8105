//! Cryptography: signing keys and their rotation, the at-rest encryption of private keys,
//! random opaque tokens and their hashes, sealed refresh-token successors. Everything here
//! is synchronous and cheap except key generation (RSA), which callers run off the async
//! workers.

pub mod foreign_jwt;
pub mod keys;
pub mod master_key;
pub mod password;
pub mod password_pool;
pub mod random;
pub mod successor;

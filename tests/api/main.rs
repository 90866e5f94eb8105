//! The integration tests: one binary, a module per flow. Each test starts a real Warden on
//! a free loopback port with a fresh database: a temporary SQLite file, or a new Postgres
//! database when `WARDEN_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod admin_api;
mod admin_grants;
mod admin_keys_and_clients;
mod audit;
mod authorization_code;
mod authorization_errors;
mod cli;
mod client_credentials;
mod compliance;
mod compliance_table;
mod consent_redirects;
mod console;
mod crash;
mod device_cookies;
mod device_grant;
mod discovery;
mod docs_snippets;
mod dpop;
mod dpop_policy;
mod health;
mod helpers;
mod hot_cache;
mod id_jag_issue;
mod id_token;
mod introspection;
mod keys;
mod log_secrets;
mod nodes;
mod offline_access;
mod outage;
mod outside_attacker;
mod rate_limits;
mod registry_cli;
mod resource_check;
mod restart;
mod scope_hierarchy;
mod self_registration;
mod startup;
mod sweep;
mod token_exchange;
mod upstream_linking;
mod upstream_login;
